/**
 * Raw PodAutoscaler (either API group) → `ResolvedPodAutoscaler`: defaults applied, annotations
 * folded in, AIBrix spellings mapped, every problem reported at once.
 *
 * Precedence for every setting: spec field > annotation (ours > AIBrix's > keys AIBrix ignores) >
 * default. When two of them disagree the loser is named in a warning.
 */
import { z } from 'zod';
import {
  ResolvedPodAutoscalerSchema,
  type Behavior,
  type ResolvedMetricSource,
  type ResolvedOptimizer,
  type ResolvedPodAutoscaler,
  type ScalingRules,
  type Schedule,
} from './resolved.js';
import {
  AIBRIX_API_VERSION,
  AIBRIX_GROUP,
  AIBrixPodAutoscalerSchema,
  AIBrixSpecSchema,
  DEFAULTS,
  INFERSCALE_API_VERSION,
  INFERSCALE_GROUP,
  InferscalePodAutoscalerSchema,
  InferscaleSpecSchema,
  type ApiGroup,
  type InferscaleMetricSource,
  type InferscaleSpec,
  type ObjectMeta,
} from './schema.js';
import { parseAnnotations, SETTING_TARGETS, type AnnotationSettings, type Setting } from './annotations.js';
import { parseGoFloat } from './go-parse.js';
import { Reason, annotationPath, formatPath, type Issue } from './issues.js';
import { validateSchedules } from '../../algorithms/schedules.js';
import { specProblems } from './validate.js';

export { formatIssues, type Issue } from './issues.js';

export interface ResolveOptions {
  /**
   * Decision-for-decision AIBrix parity: annotations AIBrix ignores stay ignored and the
   * `scale-to-zero` annotation has no effect, as in AIBrix.
   */
  aibrixParity?: boolean;
}

export type ResolveResult =
  | { ok: true; value: ResolvedPodAutoscaler; warnings: Issue[] }
  | { ok: false; issues: Issue[]; warnings: Issue[] };

/** Resolves one PodAutoscaler object (parsed YAML/JSON or an apiserver object). Never throws. */
export function resolvePodAutoscaler(raw: unknown, options: ResolveOptions = {}): ResolveResult {
  const warnings: Issue[] = [];
  if (!isRecord(raw)) {
    return fail(
      [
        {
          path: '',
          reason: Reason.InvalidObject,
          message: `expected a PodAutoscaler object (a mapping with apiVersion, kind, metadata and spec); got ${describe(raw)}.`,
        },
      ],
      warnings,
    );
  }
  const group = groupOf(raw.apiVersion);
  const header: Issue[] = [];
  if (!group) {
    header.push({
      path: 'apiVersion',
      reason: Reason.InvalidObject,
      message: `apiVersion must be ${AIBRIX_API_VERSION} or ${INFERSCALE_API_VERSION}; got ${describe(raw.apiVersion)}.`,
    });
  }
  if (raw.kind !== 'PodAutoscaler') {
    header.push({
      path: 'kind',
      reason: Reason.InvalidObject,
      message: `kind must be PodAutoscaler; got ${describe(raw.kind)}.`,
    });
  }
  if (!group || header.length > 0) return fail(header, warnings);

  warnings.push(...unknownFieldWarnings(raw.spec, group));

  const schema = group === AIBRIX_GROUP ? AIBrixObject : InferscaleObject;
  const parsed = schema.safeParse(
    { apiVersion: raw.apiVersion, kind: raw.kind, metadata: raw.metadata, spec: raw.spec },
    { error: friendlyMessage },
  );
  const issues = parsed.success ? [] : parsed.error.issues.map(toIssue);
  if (!parsed.success) {
    // The schema's refinement may have been skipped after some failures; run it for sure.
    for (const p of specProblems(group, raw.spec)) {
      issues.push({ path: formatPath(['spec', ...p.path]), reason: p.reason, message: p.message });
    }
  }

  const annotations = parsed.success
    ? parsed.data.metadata.annotations
    : stringRecord(raw.metadata, 'annotations');
  const ann = parseAnnotations(annotations, { aibrixParity: options.aibrixParity ?? false });
  issues.push(...ann.issues);
  warnings.push(...ann.warnings);

  if (!parsed.success || issues.length > 0) return fail(issues, warnings);

  const built = build(
    group,
    parsed.data.metadata,
    parsed.data.spec as InferscaleSpec,
    ann.settings,
    ann.sources,
    options,
  );
  warnings.push(...built.warnings);
  if (built.issues.length > 0) return fail(built.issues, warnings);

  // The resolved value is the contract with the engine: check it, and report rather than crash.
  const checked = ResolvedPodAutoscalerSchema.safeParse(built.value);
  if (!checked.success) {
    return fail(
      checked.error.issues.map((i) => ({
        path: formatPath(i.path),
        reason: Reason.InvalidSpec,
        message: `the resolved configuration is invalid at ${formatPath(i.path)}: ${i.message}. This is an inferscale bug; please report it with the manifest.`,
      })),
      warnings,
    );
  }
  return { ok: true, value: checked.data, warnings: dedupe(warnings) };
}

const AIBrixObject = AIBrixPodAutoscalerSchema.omit({ status: true });
const InferscaleObject = InferscalePodAutoscalerSchema.omit({ status: true });

function fail(issues: Issue[], warnings: Issue[]): ResolveResult {
  return { ok: false, issues: dedupe(issues), warnings: dedupe(warnings) };
}

function dedupe(list: Issue[]): Issue[] {
  const seen = new Set<string>();
  return list.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function groupOf(apiVersion: unknown): ApiGroup | undefined {
  if (apiVersion === AIBRIX_API_VERSION) return AIBRIX_GROUP;
  if (apiVersion === INFERSCALE_API_VERSION) return INFERSCALE_GROUP;
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  return value === null
    ? 'null'
    : typeof value === 'object'
      ? 'an object'
      : `${typeof value} ${String(value)}`;
}

/** `raw.metadata.annotations` keeping only string values (the others are reported by the schema). */
function stringRecord(metadata: unknown, field: string): Record<string, string> | undefined {
  const value = isRecord(metadata) ? metadata[field] : undefined;
  if (!isRecord(value)) return undefined;
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

// ---------------------------------------------------------------------------------------------
// zod issues → Issue

function reasonForPath(path: readonly PropertyKey[]): string {
  if (path[0] === 'metadata')
    return path[1] === 'annotations' ? Reason.InvalidAnnotation : Reason.InvalidMetadata;
  if (path[0] !== 'spec') return Reason.InvalidObject;
  switch (path[1]) {
    case 'scaleTargetRef':
      return Reason.MissingScaleTargetRef;
    case 'minReplicas':
    case 'maxReplicas':
      return Reason.InvalidBounds;
    case 'scalingStrategy':
      return Reason.InvalidScalingStrategy;
    case 'metricsSources':
      return Reason.MetricsConfigError;
    default:
      return Reason.InvalidSpec;
  }
}

function toIssue(issue: z.core.$ZodIssue): Issue {
  const reason =
    (issue.code === 'custom' ? (issue.params?.reason as string | undefined) : undefined) ??
    reasonForPath(issue.path);
  return { path: formatPath(issue.path), reason, message: issue.message };
}

const EXPECTED: Readonly<Record<string, string>> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
};

/** Messages for checks that carry no message of their own. */
function friendlyMessage(iss: z.core.$ZodRawIssue): string | undefined {
  const field = formatPath(iss.path ?? []) || 'the object';
  const got = describe(iss.input);
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return `${field} is required.`;
      const expected = EXPECTED[iss.expected] ?? iss.expected;
      const quote =
        iss.expected === 'string' && typeof iss.input !== 'object' ? ' (quote the value in YAML)' : '';
      return `${field} must be ${expected}; got ${got}${quote}.`;
    }
    case 'invalid_value':
      return `${field} must be one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}; got ${got}.`;
    case 'too_small':
      return `${field} must be ${iss.inclusive ? 'at least' : 'greater than'} ${String(iss.minimum)}; got ${got}.`;
    case 'too_big':
      return `${field} must be ${iss.inclusive ? 'at most' : 'less than'} ${String(iss.maximum)}; got ${got}.`;
    case 'invalid_format':
      return `${field} must be a valid ${iss.format}; got ${got}.`;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Unknown fields: what the apiserver would prune

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
};

const specJsonSchemas = new Map<ApiGroup, JsonSchema>();

function specJsonSchema(group: ApiGroup): JsonSchema {
  let s = specJsonSchemas.get(group);
  if (!s) {
    const schema = group === AIBRIX_GROUP ? AIBrixSpecSchema : InferscaleSpecSchema;
    s = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as JsonSchema;
    specJsonSchemas.set(group, s);
  }
  return s;
}

const PRUNE_HINTS: Readonly<Record<string, string>> = {
  'spec.behavior': `Use apiVersion ${INFERSCALE_API_VERSION} for spec.behavior, or the autoscaling.aibrix.ai/scale-up-cooldown-window and scale-down-cooldown-window annotations.`,
  'spec.targetMetric': 'Put the metric in spec.metricsSources[].targetMetric.',
  'spec.targetValue': 'Put the target in spec.metricsSources[].targetValue.',
};

function unknownFieldWarnings(spec: unknown, group: ApiGroup): Issue[] {
  const out: Issue[] = [];
  const walk = (value: unknown, schema: JsonSchema, path: (string | number)[]): void => {
    if (Array.isArray(value) && schema.items) {
      value.forEach((v, i) => walk(v, schema.items!, [...path, i]));
      return;
    }
    if (!isRecord(value) || !schema.properties) return;
    for (const key of Object.keys(value).sort()) {
      const child = schema.properties[key];
      const at = [...path, key];
      if (child) {
        walk(value[key], child, at);
        continue;
      }
      const where = formatPath(at);
      const hint =
        PRUNE_HINTS[where] ??
        (group === AIBRIX_GROUP
          ? `Check the spelling; ${INFERSCALE_API_VERSION} has more fields.`
          : 'Check the spelling.');
      out.push({
        path: where,
        reason: Reason.UnknownField,
        message: `${where} is not a field of ${group === AIBRIX_GROUP ? AIBRIX_API_VERSION : INFERSCALE_API_VERSION} PodAutoscaler; the apiserver drops it, so it has no effect. ${hint}`,
      });
    }
  };
  walk(spec, specJsonSchema(group), ['spec']);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building the resolved object

/** apiVersions of the kinds whose replicas we know how to read and write. */
const KNOWN_KIND_API_VERSIONS: Readonly<Record<string, string>> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  StormService: 'orchestration.aibrix.ai/v1alpha1',
  RayClusterFleet: 'orchestration.aibrix.ai/v1alpha1',
};

const MIB = 1024 * 1024;

interface Built {
  value: unknown;
  issues: Issue[];
  warnings: Issue[];
}

function build(
  group: ApiGroup,
  metadata: ObjectMeta,
  // The AIBrix spec is the inferscale spec without its extra fields, so one shape covers both.
  spec: InferscaleSpec,
  ann: AnnotationSettings,
  annSources: Partial<Record<Setting, string>>,
  options: ResolveOptions,
): Built {
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  const aibrix = group === AIBRIX_GROUP;
  const namespace = metadata.namespace || 'default';

  /** spec value > annotation > default, naming the overridden annotation in a warning. */
  function choose<T>(
    specValue: T | undefined,
    specPath: string,
    setting: Setting | undefined,
    fallback: T,
  ): T {
    const annValue = setting ? (ann[setting] as T | undefined) : undefined;
    if (specValue !== undefined) {
      if (setting && annValue !== undefined && annValue !== specValue) {
        warnings.push({
          path: annotationPath(annSources[setting] ?? ''),
          reason: Reason.Overridden,
          message: `${annSources[setting]} = ${String(annValue)} is overridden by ${specPath} = ${String(specValue)}. Remove one of them.`,
        });
      }
      return specValue;
    }
    return annValue ?? fallback;
  }

  // Scale target. AIBrix does not check apiVersion (W-24) and then fails at runtime without it.
  const ref = spec.scaleTargetRef;
  const kind = ref.kind ?? '';
  let apiVersion = ref.apiVersion ?? '';
  if (apiVersion === '') {
    const known = KNOWN_KIND_API_VERSIONS[kind];
    if (known) {
      apiVersion = known;
      warnings.push({
        path: 'spec.scaleTargetRef.apiVersion',
        reason: Reason.AIBrixDifference,
        message: `scaleTargetRef.apiVersion is not set; using ${known} for kind ${kind}. Set it explicitly (AIBrix fails to find the target without it).`,
      });
    } else {
      issues.push({
        path: 'spec.scaleTargetRef.apiVersion',
        reason: Reason.MissingScaleTargetRef,
        message: `scaleTargetRef.apiVersion must be set for kind ${kind || '(unset)'}, e.g. apps/v1 for a Deployment.`,
      });
    }
  }
  if (ref.namespace && ref.namespace !== namespace) {
    if (aibrix) {
      warnings.push({
        path: 'spec.scaleTargetRef.namespace',
        reason: Reason.AIBrixDifference,
        message: `scaleTargetRef.namespace (${ref.namespace}) is ignored: the target is read and written in the PodAutoscaler's namespace (${namespace}). AIBrix reads there but writes to ${ref.namespace} (W-21).`,
      });
    } else {
      issues.push({
        path: 'spec.scaleTargetRef.namespace',
        reason: Reason.InvalidSpec,
        message: `scaleTargetRef.namespace (${ref.namespace}) differs from the PodAutoscaler's namespace (${namespace}); cross-namespace targets are not supported. Remove it, or create the PodAutoscaler in ${ref.namespace}.`,
      });
    }
  }

  const strategy = spec.scalingStrategy;
  // Only OPTIMIZER may leave metricsSources out (validate.ts): there they feed the reactive floor.
  const metrics = (spec.metricsSources ?? []).map((s, i) => resolveSource(s, i, group, strategy, warnings));

  // Scale to zero. AIBrix parses the annotation and never reads it (W-9); we honour it.
  const annScaleToZero = options.aibrixParity && aibrix ? undefined : ann.scaleToZero;
  if (options.aibrixParity && aibrix && ann.scaleToZero !== undefined) {
    warnings.push({
      path: annotationPath(annSources.scaleToZero ?? ''),
      reason: Reason.IgnoredAnnotation,
      message: 'scale-to-zero is ignored in AIBrix parity mode, as AIBrix does (W-9).',
    });
  }
  const stz = spec.scaleToZero;
  const scaleToZeroEnabled = stz?.enabled ?? annScaleToZero ?? false;
  if (stz?.enabled !== undefined && annScaleToZero !== undefined && annScaleToZero !== stz.enabled) {
    warnings.push({
      path: annotationPath(annSources.scaleToZero ?? ''),
      reason: Reason.Overridden,
      message: `${annSources.scaleToZero} is overridden by spec.scaleToZero.enabled = ${String(stz.enabled)}. Remove one of them.`,
    });
  }
  if (aibrix && annScaleToZero === true) {
    warnings.push({
      path: annotationPath(annSources.scaleToZero ?? ''),
      reason: Reason.AIBrixDifference,
      message:
        'AIBrix parses scale-to-zero but never acts on it (W-9); inferscale honours it: an idle target may go to 0 replicas (minReplicas defaults to 0).',
    });
  }
  const minReplicas = spec.minReplicas ?? (scaleToZeroEnabled ? 0 : DEFAULTS.minReplicas);
  if (scaleToZeroEnabled && minReplicas > 0) {
    warnings.push({
      path: 'spec.minReplicas',
      reason: Reason.Suspicious,
      message: `scale-to-zero is enabled but minReplicas is ${minReplicas}, so the target never goes to zero. Set minReplicas: 0 (or remove it).`,
    });
  }
  if (
    scaleToZeroEnabled &&
    metrics.every((m) => m.type === 'pod' || m.type === 'resource' || m.type === 'custom')
  ) {
    warnings.push({
      path: 'spec.metricsSources',
      reason: Reason.Suspicious,
      message:
        'scale-to-zero is enabled but every metric is read from the pods: at zero replicas there is nothing to read, so demand cannot wake the target. Add an external or prometheus source that sees demand at zero.',
    });
  }

  // Windows: the spec's fields, then the kpa.* / apa.* annotations AIBrix ignores, then defaults.
  const stableWindowSeconds = choose(
    spec.observeWindowSeconds,
    'spec.observeWindowSeconds',
    'kpaStableWindowSeconds',
    DEFAULTS.observeWindowSeconds,
  );
  const panicWindowSeconds = choose(
    spec.panicWindowSeconds,
    'spec.panicWindowSeconds',
    'kpaPanicWindowSeconds',
    DEFAULTS.panicWindowSeconds,
  );
  if (panicWindowSeconds > stableWindowSeconds) {
    // Only reachable through the window annotations: the schema checked the spec fields.
    const culprit = annSources.kpaPanicWindowSeconds ?? annSources.kpaStableWindowSeconds ?? '';
    issues.push({
      path: annotationPath(culprit),
      reason: Reason.InvalidAnnotation,
      message: `the panic window (${panicWindowSeconds}s) must not exceed the stable window (${stableWindowSeconds}s) after annotations are applied. Shorten kpa.autoscaling.aibrix.ai/panic-window or lengthen the stable window.`,
    });
  }

  const sk = spec.kpa ?? {};
  const sa = spec.apa ?? {};
  const kpa = {
    stableWindowSeconds,
    panicWindowSeconds,
    panicThreshold: choose(
      sk.panicThreshold,
      'spec.kpa.panicThreshold',
      'panicThreshold',
      DEFAULTS.panicThreshold,
    ),
    maxScaleUpRate: choose(
      sk.maxScaleUpRate,
      'spec.kpa.maxScaleUpRate',
      'maxScaleUpRate',
      DEFAULTS.maxScaleUpRate,
    ),
    maxScaleDownRate: choose(
      sk.maxScaleDownRate,
      'spec.kpa.maxScaleDownRate',
      'maxScaleDownRate',
      DEFAULTS.maxScaleDownRate,
    ),
    upTolerance: choose(sk.upTolerance, 'spec.kpa.upTolerance', 'upTolerance', DEFAULTS.tolerance),
    downTolerance: choose(sk.downTolerance, 'spec.kpa.downTolerance', 'downTolerance', DEFAULTS.tolerance),
    activationScale: sk.activationScale ?? DEFAULTS.activationScale,
  };
  const apa = {
    windowSeconds:
      sa.windowSeconds ??
      choose(
        spec.observeWindowSeconds,
        'spec.observeWindowSeconds',
        'apaWindowSeconds',
        DEFAULTS.observeWindowSeconds,
      ),
    maxScaleUpRate: choose(
      sa.maxScaleUpRate,
      'spec.apa.maxScaleUpRate',
      'maxScaleUpRate',
      DEFAULTS.maxScaleUpRate,
    ),
    maxScaleDownRate: choose(
      sa.maxScaleDownRate,
      'spec.apa.maxScaleDownRate',
      'maxScaleDownRate',
      DEFAULTS.maxScaleDownRate,
    ),
    upTolerance: choose(sa.upTolerance, 'spec.apa.upTolerance', 'upTolerance', DEFAULTS.tolerance),
    downTolerance: choose(sa.downTolerance, 'spec.apa.downTolerance', 'downTolerance', DEFAULTS.tolerance),
  };

  const behavior = aibrix ? aibrixBehavior(strategy, ann) : inferscaleBehavior(spec, strategy, ann, choose);
  for (const setting of ['scaleUpCooldownSeconds', 'scaleDownCooldownSeconds'] as const) {
    if (ann[setting] !== undefined && strategy !== 'HPA') {
      warnings.push({
        path: annotationPath(annSources[setting] ?? ''),
        reason: Reason.AIBrixDifference,
        message: `${annSources[setting]} becomes ${SETTING_TARGETS[setting]} with Kubernetes HPA semantics: a scale-${setting === 'scaleUpCooldownSeconds' ? 'up' : 'down'} waits until every recommendation of the window agrees. AIBrix picks the opposite extreme (W-2), which makes its scale-down more aggressive, not slower.`,
      });
    }
  }

  // Validated already (specProblems), with the same base bounds; any error here would be a bug.
  const scheduled = validateSchedules(spec.schedules, {
    min: spec.minReplicas ?? DEFAULTS.minReplicas,
    max: spec.maxReplicas,
  });
  for (const message of scheduled.errors)
    issues.push({ path: 'spec.schedules', reason: Reason.InvalidSpec, message });
  const schedules: Schedule[] = scheduled.schedules;

  let fallback: { afterSeconds: number; replicas?: number } | undefined;
  if (spec.fallback) {
    fallback = { afterSeconds: spec.fallback.afterSeconds ?? DEFAULTS.fallbackAfterSeconds };
    const r = spec.fallback.replicas;
    if (r !== undefined) {
      fallback.replicas = r;
      if (r < minReplicas || r > spec.maxReplicas) {
        warnings.push({
          path: 'spec.fallback.replicas',
          reason: Reason.Suspicious,
          message: `fallback.replicas (${r}) is outside [minReplicas, maxReplicas] = [${minReplicas}, ${spec.maxReplicas}]; it will be clamped.`,
        });
      }
    }
  }

  const roleName = spec.subTargetSelector?.roleName;
  let stormServiceMode: 'pool' | 'replica' | undefined;
  if (kind === 'StormService') stormServiceMode = ann.stormServiceMode ?? 'pool';
  else if (ann.stormServiceMode !== undefined) {
    warnings.push({
      path: annotationPath(annSources.stormServiceMode ?? ''),
      reason: Reason.Suspicious,
      message: `storm-service-mode only applies to StormService targets (this one is a ${kind}); it has no effect.`,
    });
  }
  if (spec.optimizer && strategy !== 'OPTIMIZER') {
    warnings.push({
      path: 'spec.optimizer',
      reason: Reason.Suspicious,
      message: `spec.optimizer is only used with scalingStrategy=OPTIMIZER (this one is ${strategy}); it has no effect.`,
    });
  }

  const optimizer =
    strategy === 'OPTIMIZER'
      ? resolveOptimizer(spec, { apiVersion, kind, name: ref.name ?? '' }, metrics.length, issues, warnings)
      : undefined;

  const value: ResolvedPodAutoscaler = {
    apiGroup: group,
    namespace,
    name: metadata.name,
    ...(metadata.generation !== undefined ? { generation: metadata.generation } : {}),
    scaleTargetRef: { apiVersion, kind, name: ref.name ?? '' },
    minReplicas,
    maxReplicas: spec.maxReplicas,
    strategy,
    metrics,
    kpa,
    apa,
    behavior,
    schedules,
    scaleToZero: {
      enabled: scaleToZeroEnabled,
      // AIBrix has no grace period: keep its immediate drop to zero for its objects.
      gracePeriodSeconds: stz?.gracePeriodSeconds ?? (aibrix ? 0 : DEFAULTS.scaleToZeroGracePeriodSeconds),
      activationThreshold: stz?.activationThreshold ?? 0,
    },
    ...(fallback ? { fallback } : {}),
    metricTtlSeconds: spec.metricTtlSeconds ?? DEFAULTS.metricTtlSeconds,
    dryRun: choose(spec.dryRun, 'spec.dryRun', 'dryRun', false),
    ...(roleName ? { roleName } : {}),
    ...(stormServiceMode ? { stormServiceMode } : {}),
    ...(optimizer ? { optimizer } : {}),
  };
  return { value, issues, warnings };
}

/**
 * The OPTIMIZER block: targets with their scale targets and bounds (a target's bounds default to
 * spec.minReplicas when set, else 0, and spec.maxReplicas), planning settings with defaults.
 */
function resolveOptimizer(
  spec: InferscaleSpec,
  own: { apiVersion: string; kind: string; name: string },
  metricCount: number,
  issues: Issue[],
  warnings: Issue[],
): ResolvedOptimizer {
  const o = spec.optimizer ?? {};
  const d = DEFAULTS.optimizer;
  const targets = (o.targets ?? []).map((t, i) => {
    const at = `spec.optimizer.targets[${i}]`;
    let ref = own;
    if (t.scaleTargetRef) {
      const kind = t.scaleTargetRef.kind || 'Deployment';
      const apiVersion = t.scaleTargetRef.apiVersion || KNOWN_KIND_API_VERSIONS[kind] || '';
      const name = t.scaleTargetRef.name ?? '';
      if (name === '') {
        issues.push({
          path: `${at}.scaleTargetRef.name`,
          reason: Reason.MissingScaleTargetRef,
          message: `${at}.scaleTargetRef.name must name the Deployment of GPU type ${t.gpu}.`,
        });
      }
      if (apiVersion === '') {
        issues.push({
          path: `${at}.scaleTargetRef.apiVersion`,
          reason: Reason.MissingScaleTargetRef,
          message: `${at}.scaleTargetRef.apiVersion must be set for kind ${kind}, e.g. apps/v1 for a Deployment.`,
        });
      }
      ref = { apiVersion, kind, name };
    }
    const minReplicas = t.minReplicas ?? spec.minReplicas ?? 0;
    const maxReplicas = t.maxReplicas ?? spec.maxReplicas;
    if (minReplicas > maxReplicas) {
      issues.push({
        path: `${at}.minReplicas`,
        reason: Reason.InvalidBounds,
        message: `${at}: minReplicas ${minReplicas}${t.minReplicas === undefined ? ' (from spec.minReplicas)' : ''} exceeds maxReplicas ${maxReplicas}${t.maxReplicas === undefined ? ' (from spec.maxReplicas)' : ''}. Set the target's own bounds.`,
      });
    }
    return {
      gpu: t.gpu,
      scaleTargetRef: ref,
      ...(t.profile ? { profile: t.profile } : {}),
      minReplicas,
      maxReplicas,
      ...(t.availableGpus !== undefined ? { availableGpus: t.availableGpus } : {}),
      ...(t.costPerHour !== undefined ? { costPerHour: t.costPerHour } : {}),
    };
  });
  const reactive = o.reactive ?? d.reactive;
  if (reactive === 'off' && metricCount > 0) {
    warnings.push({
      path: 'spec.metricsSources',
      reason: Reason.Suspicious,
      message:
        'optimizer.reactive is off, so metricsSources are not used. Remove them, or set reactive: floor.',
    });
  }
  const scrape = o.scrape ?? {};
  let port: number = d.port;
  if (scrape.port !== undefined && scrape.port !== '') {
    const n = Number(scrape.port);
    if (Number.isInteger(n) && n >= 1 && n <= 65535) port = n;
    else {
      issues.push({
        path: 'spec.optimizer.scrape.port',
        reason: Reason.InvalidSpec,
        message: `optimizer.scrape.port ${JSON.stringify(scrape.port)} must be a port number from 1 to 65535.`,
      });
    }
  }
  return {
    ...(o.modelGroup ? { modelGroup: o.modelGroup } : {}),
    ...(o.profiles ? { profiles: [...o.profiles] } : {}),
    ...(o.model ? { model: o.model } : {}),
    targets,
    headroom: o.headroom ?? d.headroom,
    windowSeconds: o.windowSeconds ?? d.windowSeconds,
    forecastSeconds: o.forecastSeconds ?? d.forecastSeconds,
    sliceFactor: o.sliceFactor ?? d.sliceFactor,
    hysteresis: o.hysteresis ?? d.hysteresis,
    reactive,
    reactiveStrategy: o.reactiveStrategy ?? d.reactiveStrategy,
    scrape: {
      protocol: scrape.protocolType ?? DEFAULTS.protocol,
      port,
      path: normalisePath(scrape.path ?? DEFAULTS.path),
      ...(scrape.modelName ? { modelName: scrape.modelName } : {}),
    },
  };
}

function resolveSource(
  s: InferscaleMetricSource,
  i: number,
  group: ApiGroup,
  strategy: string,
  warnings: Issue[],
): ResolvedMetricSource {
  const at = `spec.metricsSources[${i}]`;
  const type = s.metricSourceType === 'domain' ? 'external' : s.metricSourceType;
  if (s.metricSourceType === 'domain') {
    warnings.push({
      path: `${at}.metricSourceType`,
      reason: Reason.Deprecated,
      message: 'metricSourceType "domain" is deprecated and treated as "external"; write external.',
    });
  }
  // Validated by the schema: a finite number > 0.
  let targetValue = (parseGoFloat(s.targetValue) as { value: number }).value;
  let targetType: ResolvedMetricSource['targetType'] =
    s.targetType ?? (type === 'external' || type === 'prometheus' ? 'Value' : 'AverageValue');

  // AIBrix's HPA strategy reads a resource target its own way (§2.4, W-14): cpu as a percentage of
  // the request, memory in MiB. Keep that meaning for its objects.
  if (group === AIBRIX_GROUP && strategy === 'HPA' && type === 'resource') {
    if (s.targetMetric === 'cpu') {
      targetType = 'Utilization';
      targetValue = Math.ceil(targetValue);
    } else if (s.targetMetric === 'memory') {
      targetValue = targetValue * MIB;
    }
    warnings.push({
      path: `${at}.targetValue`,
      reason: Reason.AIBrixDifference,
      message:
        s.targetMetric === 'cpu'
          ? 'with scalingStrategy=HPA a cpu targetValue is a percentage of the CPU request (as in AIBrix); KPA/APA read it as millicores per pod.'
          : 'with scalingStrategy=HPA a memory targetValue is in MiB (as in AIBrix); KPA/APA read it as bytes per pod.',
    });
  }

  const path = normalisePath(s.path ?? DEFAULTS.path);
  if (group === AIBRIX_GROUP && type === 'pod' && (path !== DEFAULTS.path || s.protocolType === 'https')) {
    warnings.push({
      path: at,
      reason: Reason.AIBrixDifference,
      message: `AIBrix always scrapes http://<pod>:<port>/metrics and ignores protocolType and path (W-5); inferscale scrapes ${s.protocolType ?? 'http'}://<pod>:<port>${path}.`,
    });
  }
  if (group === AIBRIX_GROUP && type === 'external' && s.endpoint) {
    warnings.push({
      path: `${at}.path`,
      reason: Reason.AIBrixDifference,
      message: `AIBrix ignores path and fetches /metrics from the endpoint (W-6); inferscale fetches ${path}.`,
    });
  }

  const port = typeof s.port === 'string' ? (s.port === '' ? undefined : Number(s.port)) : s.port;
  return {
    type,
    targetMetric: s.targetMetric,
    targetValue,
    targetType,
    protocol: s.protocolType ?? 'http',
    ...(port !== undefined ? { port } : {}),
    path,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...(s.query ? { query: s.query } : {}),
    ...(s.modelName ? { modelName: s.modelName } : {}),
  };
}

/** AIBrix samples write `path: metrics`; a URL path starts with a slash. */
function normalisePath(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

/** §2.4: the Percent policies AIBrix derives from the rates; at least 1 % so the API accepts them. */
function upPercent(rate: number): number {
  return Math.max(1, Math.trunc((rate - 1) * 100));
}
function downPercent(rate: number): number {
  return Math.max(1, Math.trunc((1 - 1 / rate) * 100));
}

/**
 * AIBrix objects: with HPA, exactly the behavior AIBrix writes into its generated HPA (§2.4).
 * With KPA/APA, AIBrix has no policies (its rates live in the algorithm), so none here either
 * (an empty list means no limit); the cooldown windows become stabilisation windows.
 */
function aibrixBehavior(strategy: string, ann: AnnotationSettings): Behavior {
  const hpa = strategy === 'HPA';
  const up = ann.maxScaleUpRate ?? DEFAULTS.maxScaleUpRate;
  const down = ann.maxScaleDownRate ?? DEFAULTS.maxScaleDownRate;
  return {
    scaleUp: {
      stabilizationWindowSeconds: ann.scaleUpCooldownSeconds ?? DEFAULTS.scaleUpCooldownSeconds,
      selectPolicy: 'Max',
      policies: hpa ? [{ type: 'Percent', value: upPercent(up), periodSeconds: 60 }] : [],
      tolerance: ann.upTolerance ?? DEFAULTS.tolerance,
    },
    scaleDown: {
      stabilizationWindowSeconds: ann.scaleDownCooldownSeconds ?? DEFAULTS.scaleDownCooldownSeconds,
      selectPolicy: hpa ? 'Min' : 'Max',
      policies: hpa ? [{ type: 'Percent', value: downPercent(down), periodSeconds: 60 }] : [],
      tolerance: ann.downTolerance ?? DEFAULTS.tolerance,
    },
  };
}

/**
 * Our objects: Kubernetes HPA defaults, then annotations (cooldowns, tolerances, and for the HPA
 * strategy the rate → Percent mapping of §2.4), then `spec.behavior` field by field.
 */
function inferscaleBehavior(
  spec: InferscaleSpec,
  strategy: string,
  ann: AnnotationSettings,
  choose: <T>(specValue: T | undefined, specPath: string, setting: Setting | undefined, fallback: T) => T,
): Behavior {
  const direction = (dir: 'scaleUp' | 'scaleDown'): ScalingRules => {
    const base = DEFAULTS.behavior[dir];
    const given = spec.behavior?.[dir];
    const up = dir === 'scaleUp';
    const rate = up ? ann.maxScaleUpRate : ann.maxScaleDownRate;
    const annPolicies =
      strategy === 'HPA' && rate !== undefined
        ? [{ type: 'Percent' as const, value: up ? upPercent(rate) : downPercent(rate), periodSeconds: 60 }]
        : undefined;
    return {
      stabilizationWindowSeconds: choose(
        given?.stabilizationWindowSeconds,
        `spec.behavior.${dir}.stabilizationWindowSeconds`,
        up ? 'scaleUpCooldownSeconds' : 'scaleDownCooldownSeconds',
        base.stabilizationWindowSeconds,
      ),
      selectPolicy: given?.selectPolicy ?? base.selectPolicy,
      policies: given?.policies ?? annPolicies ?? base.policies.map((p) => ({ ...p })),
      tolerance: choose(
        given?.tolerance,
        `spec.behavior.${dir}.tolerance`,
        up ? 'upTolerance' : 'downTolerance',
        base.tolerance,
      ),
    };
  };
  return { scaleUp: direction('scaleUp'), scaleDown: direction('scaleDown') };
}
