/**
 * The PodAutoscaler object as stored in Kubernetes, for both API groups:
 *
 * - `autoscaling.aibrix.ai/v1alpha1`: AIBrix's API, field for field (reference §1.2–1.5), so an
 *   AIBrix manifest is read exactly as AIBrix's apiserver would store it.
 * - `autoscaling.inferscale.dev/v1alpha1`: ours, a superset (behavior, per-algorithm parameters,
 *   scale-to-zero, fallback, Prometheus sources, dry-run, the OPTIMIZER strategy).
 *
 * These schemas describe the object *as written*: every field stays optional where the API makes
 * it optional, and no default is filled in. Defaults live in `DEFAULTS` and are applied by
 * `resolvePodAutoscaler`, because the precedence "spec field > annotation > default" needs to know
 * what the user actually wrote (an apiserver-applied default would hide that). For the same reason
 * the generated CRD carries no OpenAPI `default`s; AIBrix's does not either.
 *
 * Per-field rules (types, enums, ranges, patterns) are zod checks with AIBrix's messages where
 * AIBrix has one. Cross-field rules (min ≤ max, panic ≤ observe after defaults, the per-source
 * requirement matrix, schedules) live in validate.ts and run as a refinement of the spec schemas.
 */
import { z } from 'zod';
import { checkSpec } from './validate.js';
import {
  AIBRIX_API_VERSION,
  AIBRIX_GROUP,
  AIBRIX_MAX_SCALING_HISTORY,
  DEFAULTS,
  INFERSCALE_API_VERSION,
  INFERSCALE_GROUP,
  INFERSCALE_MAX_SCALING_HISTORY,
  MAX_DECISION_STATE_BYTES,
  MAX_METRICS_SOURCES,
  MAX_OPTIMIZER_TARGETS,
  MAX_SCHEDULES,
  MAX_WINDOW_SECONDS,
} from './defaults.js';

export * from './defaults.js';

// ---------------------------------------------------------------------------------------------
// Small builders

type Iss = { path?: PropertyKey[] | undefined; input?: unknown };

/** Index of the list item an issue is about: `spec.metricsSources[3].port` → 3. */
function indexIn(iss: Iss, list: string): number {
  const path = iss.path ?? [];
  const at = path.indexOf(list);
  const i = at >= 0 ? path[at + 1] : undefined;
  return typeof i === 'number' ? i : 0;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'a list' : `a ${typeof value}`;
}

const int32 = (params?: Parameters<typeof z.int32>[0]) => z.int32(params);
const int64 = () => z.int();

/** A window in seconds, 1..3600, with AIBrix's messages. */
function windowSeconds(field: string, defaultValue: number) {
  const hint = `Use a whole number of seconds from 1 to ${MAX_WINDOW_SECONDS} (default ${defaultValue}).`;
  return int64()
    .min(1, { error: `${field} must be greater than 0. ${hint}` })
    .max(MAX_WINDOW_SECONDS, {
      error: `${field} must be less than or equal to ${MAX_WINDOW_SECONDS}. ${hint}`,
    });
}

/** A required non-empty string with AIBrix's "must be specified" message. */
function specifiedString(what: (iss: Iss) => string, maxLength: number) {
  return z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? `${what(iss)} must be specified`
          : `${what(iss)} must be a string; got ${show(iss.input)} (quote it in YAML)`,
    })
    .min(1, { error: (iss) => `${what(iss)} must be specified` })
    .max(maxLength, { error: (iss) => `${what(iss)} must be at most ${maxLength} characters` });
}

const rate = (field: string) =>
  z
    .number()
    .gt(1, {
      error: `${field} must be greater than 1 (2 allows doubling, or halving, per step); a rate of 1 or less would block or invert scaling.`,
    })
    .max(1000, { error: `${field} must be at most 1000.` });

const tolerance = (field: string) =>
  z
    .number()
    .min(0, { error: `${field} must be at least 0 (0.1 means ±10 % around the target).` })
    .lt(1, { error: `${field} must be less than 1 (0.1 means ±10 % around the target).` });

// ---------------------------------------------------------------------------------------------
// Metadata

export const ObjectMetaSchema = z.looseObject({
  name: z
    .string({ error: 'metadata.name is required: every PodAutoscaler needs a name.' })
    .min(1, { error: 'metadata.name must not be empty.' }),
  namespace: z.string().optional(),
  annotations: z
    .record(
      z.string(),
      z.string({
        error: (iss) =>
          `annotation values must be strings; got ${show(iss.input)}. Quote the value in YAML (e.g. "2").`,
      }),
    )
    .optional(),
  labels: z.record(z.string(), z.string()).optional(),
  generation: int64().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

// ---------------------------------------------------------------------------------------------
// Spec pieces shared by both groups

/** `corev1.ObjectReference`; AIBrix uses the whole type. Only apiVersion, kind and name are read. */
export const ObjectReferenceSchema = z
  .object(
    {
      apiVersion: z.string().max(253).optional(),
      kind: z.string().max(253).optional(),
      name: z.string().max(253).optional(),
      namespace: z.string().optional(),
      uid: z.string().optional(),
      resourceVersion: z.string().optional(),
      fieldPath: z.string().optional(),
    },
    {
      error: (iss) =>
        iss.input === undefined
          ? 'scaleTargetRef.kind and scaleTargetRef.name must be set. Add spec.scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: <deployment>}.'
          : `scaleTargetRef must be an object; got ${show(iss.input)}.`,
    },
  )
  .meta({
    description: 'The workload to scale (Deployment, StatefulSet, StormService, …).',
    // Replaced as a whole by server-side apply, as corev1.ObjectReference is.
    'x-kubernetes-map-type': 'atomic',
  });

export const SubTargetSelectorSchema = z
  .object({ roleName: z.string().max(253).optional() })
  .meta({ description: 'Scale one role of a StormService instead of the whole object.' });

const HH_MM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Three-letter English day names, any case (AIBrix lower-cases before the lookup). */
const WEEKDAY =
  /^([Ss][Uu][Nn]|[Mm][Oo][Nn]|[Tt][Uu][Ee]|[Ww][Ee][Dd]|[Tt][Hh][Uu]|[Ff][Rr][Ii]|[Ss][Aa][Tt])$/;

/** Whether `Intl` knows the IANA zone, our stand-in for Go's `time.LoadLocation`. */
export function isKnownTimeZone(zone: string): boolean {
  if (zone === 'UTC' || zone === '') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const sched = (iss: Iss) => `schedules[${indexIn(iss, 'schedules')}]`;

export const ScheduleSpecSchema = z.object({
  name: z
    .string({ error: (iss) => `${sched(iss)}: name is required` })
    .min(1, { error: (iss) => `${sched(iss)}: name is required`, abort: true })
    .max(63, { error: (iss) => `${sched(iss)}: name must be at most 63 characters` })
    .regex(DNS_LABEL, {
      error: (iss) =>
        `${sched(iss)}: name must use Kubernetes DNS label style (lower-case letters, digits and '-', e.g. "business-hours")`,
    }),
  timezone: z
    .string()
    .max(64)
    .refine(isKnownTimeZone, {
      error: (iss) =>
        `${sched(iss)}: timezone: unknown time zone ${String(iss.input)} (use an IANA name such as "America/Los_Angeles"; empty means UTC)`,
    })
    .optional()
    .meta({ description: 'IANA time zone of startTime/endTime. Default UTC. All schedules must share it.' }),
  daysOfWeek: z
    .array(
      z.string().regex(WEEKDAY, {
        error: (iss) =>
          `${sched(iss)}: daysOfWeek: unsupported weekday ${show(iss.input)} (use sun, mon, tue, wed, thu, fri, sat)`,
      }),
    )
    .min(1, { error: (iss) => `${sched(iss)}: daysOfWeek must not be empty (omit it for every day)` })
    .max(7)
    .optional()
    .meta({ description: 'Three-letter day names (any case). Default: every day.' }),
  startTime: z
    .string({ error: (iss) => `${sched(iss)}: startTime: must use HH:MM` })
    .regex(HH_MM, { error: (iss) => `${sched(iss)}: startTime: must use HH:MM (e.g. "09:00")` })
    .meta({ description: 'Local start time, HH:MM, inclusive.', maxLength: 5 }),
  endTime: z
    .string({ error: (iss) => `${sched(iss)}: endTime: must use HH:MM` })
    .regex(HH_MM, { error: (iss) => `${sched(iss)}: endTime: must use HH:MM (e.g. "18:00")` })
    .meta({
      description: 'Local end time, HH:MM, exclusive; later than startTime (no overnight windows).',
      maxLength: 5,
    }),
  minReplicas: int32().optional(),
  maxReplicas: int32().optional(),
});
export type ScheduleSpec = z.infer<typeof ScheduleSpecSchema>;

// ---------------------------------------------------------------------------------------------
// Metric sources

export const AIBRIX_SOURCE_TYPES = ['pod', 'resource', 'custom', 'external', 'domain'] as const;
export const INFERSCALE_SOURCE_TYPES = [...AIBRIX_SOURCE_TYPES, 'prometheus'] as const;

const src = (iss: Iss) => `metricsSource[${indexIn(iss, 'metricsSources')}]`;

function sourceType<T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined
        ? `${src(iss)}: metricSourceType must be specified (one of ${values.join(', ')})`
        : `${src(iss)}: unsupported metricSourceType: ${String(iss.input)} (use one of ${values.join(', ')})`,
  });
}

const protocolType = z
  .enum(['http', 'https'], {
    error: (iss) => `${src(iss)}: protocolType must be http or https; got ${show(iss.input)}`,
  })
  .optional();

const aibrixSourceShape = {
  metricSourceType: sourceType(AIBRIX_SOURCE_TYPES),
  protocolType,
  endpoint: z.string().max(2048).optional(),
  path: z.string().max(2048).optional(),
  port: z
    .string({
      error: (iss) => `${src(iss)}: port must be a string; got ${show(iss.input)} (quote it: "8000")`,
    })
    .optional(),
  targetMetric: specifiedString((iss) => `${src(iss)}: targetMetric`, 253),
  targetValue: specifiedString((iss) => `${src(iss)}: targetValue`, 64),
};

export const AIBrixMetricSourceSchema = z.object(aibrixSourceShape);
export type AIBrixMetricSource = z.infer<typeof AIBrixMetricSourceSchema>;

export const TARGET_TYPES = ['AverageValue', 'Value', 'Utilization'] as const;

export const InferscaleMetricSourceSchema = z.object({
  ...aibrixSourceShape,
  metricSourceType: sourceType(INFERSCALE_SOURCE_TYPES).meta({
    description:
      'pod: scrape each pod; resource: metrics.k8s.io cpu/memory; custom: custom.metrics.k8s.io; external (domain, deprecated): external.metrics.k8s.io or an HTTP endpoint; prometheus: a PromQL query.',
  }),
  port: z
    .union([z.int().min(1).max(65535), z.string()], {
      error: (iss) =>
        `${src(iss)}: port must be a port number or a string such as "8000"; got ${show(iss.input)}`,
    })
    .optional()
    .meta({ description: 'pod: the port serving the metrics. Number or numeric string.' }),
  path: z.string().max(2048).optional().meta({ description: 'HTTP path of the metrics. Default /metrics.' }),
  targetValue: specifiedString((iss) => `${src(iss)}: targetValue`, 64).meta({
    description: 'The target, as a decimal string ("0.5", "100"). Must be a finite number > 0.',
  }),
  targetType: z
    .enum(TARGET_TYPES, {
      error: (iss) =>
        `${src(iss)}: targetType must be one of ${TARGET_TYPES.join(', ')}; got ${show(iss.input)}`,
    })
    .optional()
    .meta({
      description:
        'AverageValue: per-pod target (default for pod, resource, custom). Value: total for a global value (default for external, prometheus). Utilization: percent of the resource request (resource only).',
    }),
  query: z
    .string()
    .max(8192)
    .optional()
    .meta({ description: 'prometheus: PromQL returning one value; $namespace and $target are substituted.' }),
  modelName: z.string().max(253).optional().meta({
    description: 'pod: keep only series whose model_name label equals this (pods serving several models).',
  }),
});
export type InferscaleMetricSource = z.infer<typeof InferscaleMetricSourceSchema>;

// ---------------------------------------------------------------------------------------------
// Our extra spec blocks

const policyPath = (iss: Iss) => (iss.path ?? []).filter((p) => typeof p !== 'symbol').join('.');

export const ScalingPolicySpecSchema = z.object({
  type: z.enum(['Pods', 'Percent'], {
    error: (iss) => `${policyPath(iss)}: type must be Pods or Percent; got ${show(iss.input)}`,
  }),
  value: int32().min(1, {
    error: 'policy value must be at least 1 (Pods: pods, Percent: percent of current).',
  }),
  periodSeconds: int32()
    .min(1, { error: 'periodSeconds must be at least 1.' })
    .max(1800, { error: 'periodSeconds must be at most 1800 (the HPA limit).' }),
});

export const ScalingRulesSpecSchema = z.object({
  stabilizationWindowSeconds: int32()
    .min(0, { error: 'stabilizationWindowSeconds must be at least 0.' })
    .max(MAX_WINDOW_SECONDS, { error: `stabilizationWindowSeconds must be at most ${MAX_WINDOW_SECONDS}.` })
    .optional()
    .meta({
      description:
        'Kubernetes HPA semantics: scale-up follows the lowest, scale-down the highest recommendation of this window.',
    }),
  selectPolicy: z
    .enum(['Max', 'Min', 'Disabled'], {
      error: (iss) => `selectPolicy must be Max, Min or Disabled; got ${show(iss.input)}`,
    })
    .optional(),
  policies: z
    .array(ScalingPolicySpecSchema)
    .min(1, { error: 'policies must list at least one policy when given (omit it for the defaults).' })
    .max(10)
    .optional()
    .meta({ description: 'Replace the default policies of this direction.' }),
  tolerance: tolerance('tolerance')
    .optional()
    .meta({ description: 'No change while |current/target − 1| ≤ tolerance. Default 0.1.' }),
});

export const BehaviorSpecSchema = z
  .object({ scaleUp: ScalingRulesSpecSchema.optional(), scaleDown: ScalingRulesSpecSchema.optional() })
  .meta({
    description:
      'HPA v2 behavior. Defaults: scaleUp window 0, policies Pods 4/15s and Percent 100/15s, selectPolicy Max; scaleDown window 300, Percent 100/15s, selectPolicy Max; tolerance 0.1.',
  });

export const KpaSpecSchema = z
  .object({
    panicThreshold: z
      .number()
      .gt(1, { error: 'kpa.panicThreshold must be greater than 1 (it is a ratio: 2 means 200 %).' })
      .max(100, { error: 'kpa.panicThreshold must be at most 100.' })
      .optional(),
    maxScaleUpRate: rate('kpa.maxScaleUpRate').optional(),
    maxScaleDownRate: rate('kpa.maxScaleDownRate').optional(),
    upTolerance: tolerance('kpa.upTolerance').optional(),
    downTolerance: tolerance('kpa.downTolerance').optional(),
    activationScale: int32().min(1, { error: 'kpa.activationScale must be at least 1.' }).optional(),
  })
  .meta({
    description:
      'KPA parameters. Windows come from observeWindowSeconds (stable) and panicWindowSeconds. Defaults: panicThreshold 2, rates 2, tolerances 0.1, activationScale 1.',
  });

export const ApaSpecSchema = z
  .object({
    windowSeconds: windowSeconds('apa.windowSeconds', DEFAULTS.observeWindowSeconds).optional(),
    maxScaleUpRate: rate('apa.maxScaleUpRate').optional(),
    maxScaleDownRate: rate('apa.maxScaleDownRate').optional(),
    upTolerance: tolerance('apa.upTolerance').optional(),
    downTolerance: tolerance('apa.downTolerance').optional(),
  })
  .meta({ description: 'APA parameters. Defaults: window = observeWindowSeconds, rates 2, tolerances 0.1.' });

export const ScaleToZeroSpecSchema = z
  .object({
    enabled: z.boolean().optional(),
    gracePeriodSeconds: int32()
      .min(0, { error: 'scaleToZero.gracePeriodSeconds must be at least 0.' })
      .max(86400, { error: 'scaleToZero.gracePeriodSeconds must be at most 86400 (one day).' })
      .optional(),
    activationThreshold: z
      .number()
      .min(0, { error: 'scaleToZero.activationThreshold must be at least 0.' })
      .optional(),
  })
  .meta({
    description:
      'Let an idle target go to zero replicas (minReplicas defaults to 0 when enabled). Defaults: enabled false, gracePeriodSeconds 300, activationThreshold 0.',
  });

export const FallbackSpecSchema = z
  .object({
    afterSeconds: int32()
      .min(1, { error: 'fallback.afterSeconds must be at least 1.' })
      .max(86400, { error: 'fallback.afterSeconds must be at most 86400.' })
      .optional(),
    replicas: int32().min(0, { error: 'fallback.replicas must be at least 0.' }).optional(),
  })
  .meta({
    description:
      'When every metric has been missing for afterSeconds (default 120), scale to replicas; without replicas, hold the current size.',
  });

const tgt = (iss: Iss) => `optimizer.targets[${indexIn(iss, 'targets')}]`;

export const OptimizerTargetSpecSchema = z
  .object({
    gpu: z
      .string({
        error: (iss) => `${tgt(iss)}: gpu is required (the GPU type, e.g. A10G, matching its profile)`,
      })
      .min(1, { error: (iss) => `${tgt(iss)}: gpu must not be empty` })
      .max(63)
      .meta({ description: 'GPU type of this Deployment, e.g. A10G; its profile is looked up by it.' }),
    scaleTargetRef: ObjectReferenceSchema.optional().meta({
      description: 'The Deployment of this GPU type. Default: spec.scaleTargetRef (for one target only).',
      'x-kubernetes-map-type': 'atomic',
    }),
    profile: z.string().max(1024).optional().meta({
      description:
        'Profile file of this GPU type (path on the controller). Default: looked up by model and gpu in optimizer.profiles.',
    }),
    minReplicas: int32()
      .min(0, { error: (iss) => `${tgt(iss)}: minReplicas must be at least 0` })
      .optional()
      .meta({
        description:
          'Replicas this Deployment keeps whatever the load. Default: spec.minReplicas if set, else 0.',
      }),
    maxReplicas: int32()
      .min(0, { error: (iss) => `${tgt(iss)}: maxReplicas must be at least 0` })
      .optional()
      .meta({ description: 'Upper bound of this Deployment. Default: spec.maxReplicas.' }),
    availableGpus: int32()
      .min(0, { error: (iss) => `${tgt(iss)}: availableGpus must be at least 0` })
      .optional()
      .meta({
        description: 'GPUs of this type that can be had; caps replicas at availableGpus / GPUs per replica.',
      }),
    costPerHour: z
      .number()
      .positive({ error: (iss) => `${tgt(iss)}: costPerHour must be greater than 0` })
      .optional()
      .meta({ description: "Price of one replica per hour; overrides the profile's." }),
  })
  .meta({ description: 'One Deployment of the model group: a GPU type and its scale target.' });

export const OptimizerSpecSchema = z
  .object({
    modelGroup: z
      .string()
      .max(253)
      .optional()
      .meta({ description: 'Name of the model group (status and logs).' }),
    profiles: z
      .array(z.string().max(1024))
      .max(64)
      .optional()
      .meta({ description: 'Profile files or directories on the controller. Default [config/profiles].' }),
    model: z.string().max(253).optional().meta({
      description: "Model name in the profiles (their `model` field). Default: the profiles' only model.",
    }),
    targets: z
      .array(OptimizerTargetSpecSchema)
      .min(1, { error: 'optimizer.targets must list at least one Deployment' })
      .max(MAX_OPTIMIZER_TARGETS, {
        error: `optimizer.targets lists at most ${MAX_OPTIMIZER_TARGETS} Deployments`,
      })
      .optional()
      .meta({ description: 'The Deployments serving the model, one per GPU type. Required with OPTIMIZER.' }),
    headroom: z
      .number()
      .min(0, { error: 'optimizer.headroom must be at least 0 (0.1 plans for 10 % above the measured load)' })
      .max(10, { error: 'optimizer.headroom must be at most 10' })
      .optional()
      .meta({ description: 'Plan for load × (1 + headroom). Default 0.1.' }),
    windowSeconds: int32()
      .min(15, { error: 'optimizer.windowSeconds must be at least 15' })
      .max(MAX_WINDOW_SECONDS, { error: `optimizer.windowSeconds must be at most ${MAX_WINDOW_SECONDS}` })
      .optional()
      .meta({ description: 'Window over which the token histograms give the load. Default 120.' }),
    forecastSeconds: int32()
      .min(0, { error: 'optimizer.forecastSeconds must be at least 0 (0: plan for the measured load only)' })
      .max(MAX_WINDOW_SECONDS, { error: `optimizer.forecastSeconds must be at most ${MAX_WINDOW_SECONDS}` })
      .optional()
      .meta({
        description:
          'While the load grows, plan for its trend over the last window extrapolated this far ahead (new replicas take a cold start to arrive). Default 180.',
      }),
    sliceFactor: int32()
      .min(1, { error: 'optimizer.sliceFactor must be at least 1' })
      .max(64, { error: 'optimizer.sliceFactor must be at most 64' })
      .optional()
      .meta({ description: "Slices per load bucket (Mélange's slice factor). Default 4." }),
    hysteresis: z
      .number()
      .min(0, { error: 'optimizer.hysteresis must be at least 0 (0 always moves to the cheapest mix)' })
      .max(1, { error: 'optimizer.hysteresis must be at most 1' })
      .optional()
      .meta({
        description:
          'Keep the current mix, or only add replicas to it, while that costs at most this fraction more than the cheapest mix: moving load between GPU types costs cold starts. Default 0.1.',
      }),
    reactive: z
      .enum(['floor', 'off'], {
        error: (iss) => `optimizer.reactive must be floor or off; got ${show(iss.input)}`,
      })
      .optional()
      .meta({
        description:
          'floor (default): with metricsSources, each Deployment also runs reactiveStrategy and never gets fewer replicas than it asks; off: the optimizer alone.',
      }),
    reactiveStrategy: z
      .enum(['KPA', 'APA', 'HPA'], {
        error: (iss) => `optimizer.reactiveStrategy must be KPA, APA or HPA; got ${show(iss.input)}`,
      })
      .optional()
      .meta({ description: 'Algorithm of the reactive floor. Default KPA.' }),
    scrape: z
      .object({
        protocolType: z.enum(['http', 'https']).optional(),
        port: z.union([z.int().min(1).max(65535), z.string()]).optional(),
        path: z.string().max(2048).optional(),
        modelName: z.string().max(253).optional(),
      })
      .optional()
      .meta({
        description:
          "Where the engines' token histograms (vllm:request_prompt_tokens, …) are read. Defaults: http, port 8000, /metrics.",
      }),
  })
  .meta({
    description:
      "OPTIMIZER strategy: the cheapest mix of the targets (one Deployment per GPU type) that serves the load within the profiles' SLO.",
  });

// ---------------------------------------------------------------------------------------------
// Spec

const replicas = {
  minReplicas: int32()
    .min(0, { error: 'minReplicas must not be negative. Use 0 to allow scaling to zero, or 1 or more.' })
    .optional()
    .meta({ description: 'Lower bound. Default 1 (0 with scaleToZero.enabled).' }),
  maxReplicas: int32({
    error: (iss) =>
      iss.input === undefined
        ? 'maxReplicas is required: set spec.maxReplicas to the largest number of replicas allowed.'
        : `maxReplicas must be an integer; got ${show(iss.input)}.`,
  })
    .min(1, { error: 'maxReplicas must be positive. Set it to 1 or more.' })
    .meta({ description: 'Upper bound.' }),
};

const windows = {
  observeWindowSeconds: windowSeconds('observeWindowSeconds', DEFAULTS.observeWindowSeconds)
    .optional()
    .meta({ description: 'Stable metric window (KPA stable window, APA window). Default 180.' }),
  panicWindowSeconds: windowSeconds('panicWindowSeconds', DEFAULTS.panicWindowSeconds)
    .optional()
    .meta({ description: 'KPA panic window, ≤ observeWindowSeconds. Default 60.' }),
};

function strategy<T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined
        ? `scalingStrategy is required. Set spec.scalingStrategy to one of ${values.join('/')}.`
        : `Unsupported scalingStrategy; must be one of ${values.join('/')}. Got ${show(iss.input)}.`,
  });
}

export const AIBRIX_STRATEGIES = ['HPA', 'KPA', 'APA'] as const;
export const INFERSCALE_STRATEGIES = [...AIBRIX_STRATEGIES, 'OPTIMIZER'] as const;

const aibrixSpecShape = {
  scaleTargetRef: ObjectReferenceSchema,
  subTargetSelector: SubTargetSelectorSchema.optional(),
  ...replicas,
  schedules: z
    .array(ScheduleSpecSchema)
    .min(1, { error: 'schedules must not be empty (omit the field instead)' })
    .optional()
    .meta({ description: 'Time-of-day replica-bound overrides.' }),
  metricsSources: z
    .array(AIBrixMetricSourceSchema)
    .min(1, { error: 'at least one metricsSource is required.' })
    .optional(),
  ...windows,
  scalingStrategy: strategy(AIBRIX_STRATEGIES),
};

/** Runs the cross-field checks even when some fields failed, so every problem is reported. */
const always = { when: () => true };

export const AIBrixSpecSchema = z.object(aibrixSpecShape).superRefine(checkSpec(AIBRIX_GROUP), always);
export type AIBrixSpec = z.infer<typeof AIBrixSpecSchema>;

export const InferscaleSpecSchema = z
  .object({
    ...aibrixSpecShape,
    schedules: aibrixSpecShape.schedules.unwrap().max(MAX_SCHEDULES).optional(),
    metricsSources: z
      .array(InferscaleMetricSourceSchema)
      .min(1, { error: 'at least one metricsSource is required.' })
      .max(MAX_METRICS_SOURCES, { error: `at most ${MAX_METRICS_SOURCES} metricsSources are supported.` })
      .optional()
      .meta({ description: 'One or more metrics; the largest recommendation wins.' }),
    scalingStrategy: strategy(INFERSCALE_STRATEGIES),
    behavior: BehaviorSpecSchema.optional(),
    kpa: KpaSpecSchema.optional(),
    apa: ApaSpecSchema.optional(),
    scaleToZero: ScaleToZeroSpecSchema.optional(),
    fallback: FallbackSpecSchema.optional(),
    optimizer: OptimizerSpecSchema.optional(),
    dryRun: z
      .boolean()
      .optional()
      .meta({ description: 'Shadow mode: decide and report in status, never write replicas.' }),
    metricTtlSeconds: int32()
      .min(0, { error: 'metricTtlSeconds must be at least 0.' })
      .max(MAX_WINDOW_SECONDS, { error: `metricTtlSeconds must be at most ${MAX_WINDOW_SECONDS}.` })
      .optional()
      .meta({
        description: "How long a pod's last good reading may stand in for a failed scrape. Default 30.",
      }),
  })
  .superRefine(checkSpec(INFERSCALE_GROUP), always);
export type InferscaleSpec = z.infer<typeof InferscaleSpecSchema>;

// ---------------------------------------------------------------------------------------------
// Status

const dateTime = () => z.iso.datetime({ offset: true });

/** `metav1.Condition`, with the apiserver's patterns and limits. */
export const ConditionSchema = z.object({
  type: z
    .string()
    .max(316)
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
    ),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: int64().min(0).optional(),
  lastTransitionTime: dateTime(),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
  message: z.string().max(32768),
});
export type Condition = z.infer<typeof ConditionSchema>;

const scalingDecisionShape = {
  timestamp: dateTime(),
  previousScale: int32(),
  newScale: int32(),
  reason: z.string(),
  success: z.boolean(),
  error: z.string().optional(),
};

export const ScheduledBoundsSchema = z.object({
  activeSchedule: z.string().optional(),
  effectiveMinReplicas: int32(),
  effectiveMaxReplicas: int32(),
});

export const AIBrixStatusSchema = z.object({
  lastScaleTime: dateTime().optional(),
  desiredScale: int32().optional(),
  actualScale: int32().optional(),
  conditions: z.array(ConditionSchema).optional(),
  scalingHistory: z.array(z.object(scalingDecisionShape)).max(AIBRIX_MAX_SCALING_HISTORY).optional(),
  scheduledBounds: ScheduledBoundsSchema.optional(),
});
export type AIBrixStatus = z.infer<typeof AIBrixStatusSchema>;

export const ScalingDecisionSchema = z.object({
  ...scalingDecisionShape,
  algorithm: z.string().optional(),
  /** Decided in dry-run: nothing was written. */
  dryRun: z.boolean().optional(),
});
export type ScalingDecision = z.infer<typeof ScalingDecisionSchema>;

export const DecisionDetailsSchema = z
  .record(z.string(), z.union([z.number(), z.boolean(), z.string(), z.null()]))
  .meta({ 'x-kubernetes-preserve-unknown-fields': true });

export const LastDecisionSchema = z.object({
  time: dateTime(),
  current: int32().optional(),
  desired: int32(),
  reason: z.string(),
  algorithm: z.string(),
  details: DecisionDetailsSchema.optional(),
});
export type LastDecision = z.infer<typeof LastDecisionSchema>;

export const MetricStatusSchema = z.object({
  metric: z.string(),
  sourceType: z.enum(INFERSCALE_SOURCE_TYPES),
  /** Absent when the metric was missing this tick (never reported as 0). */
  value: z.number().optional(),
  target: z.number(),
  targetType: z.enum(TARGET_TYPES),
  desiredReplicas: int32().optional(),
  message: z.string().optional(),
});
export type MetricStatus = z.infer<typeof MetricStatusSchema>;

/** OPTIMIZER strategy: the model group's last plan. */
export const OptimizerStatusSchema = z.object({
  modelGroup: z.string().optional(),
  model: z.string().optional(),
  /** plan, no-profile, no-data, infeasible or solver-failed. */
  outcome: z.enum(['plan', 'no-profile', 'no-data', 'infeasible', 'solver-failed']),
  /** The mix and its cost, or why there is no plan. */
  message: z.string(),
  /** When a plan was last found. */
  lastPlanTime: dateTime().optional(),
  /** What the group costs per hour with the replicas it was given (Σ replicas × price). */
  costPerHour: z.number().optional(),
  currency: z.string().optional(),
  /** Load the plan was made for, req/s (headroom not included). */
  totalRps: z.number().optional(),
  targets: z
    .array(
      z.object({
        gpu: z.string(),
        /** The Deployment (scale target) name. */
        name: z.string(),
        current: int32().optional(),
        planned: int32().optional(),
        desired: int32().optional(),
      }),
    )
    .max(MAX_OPTIMIZER_TARGETS),
});
export type OptimizerStatus = z.infer<typeof OptimizerStatusSchema>;

/**
 * The decision (analyzer) state at `time`, for the next leader after a failover: metric windows,
 * panic state, timers and stabilisation memory. `data` is opaque to users; its format is owned by
 * src/controller/decision-state.ts and named by `version`.
 */
export const DecisionStateSchema = z.object({
  version: int32().min(1),
  time: dateTime(),
  /** Strategy, target, metric list and window lengths the state was built for. */
  fingerprint: z.string().max(64),
  data: z.string().max(MAX_DECISION_STATE_BYTES),
});
export type DecisionState = z.infer<typeof DecisionStateSchema>;

export const InferscaleStatusSchema = z.object({
  ...AIBrixStatusSchema.shape,
  observedGeneration: int64().optional(),
  scalingHistory: z.array(ScalingDecisionSchema).max(INFERSCALE_MAX_SCALING_HISTORY).optional(),
  lastDecision: LastDecisionSchema.optional(),
  currentMetrics: z.array(MetricStatusSchema).max(MAX_METRICS_SOURCES).optional(),
  /** `kubectl get` Targets column, e.g. `0.62/0.5 gpu_cache_usage_perc`. */
  targetsSummary: z.string().optional(),
  /** OPTIMIZER strategy only: the chosen mix and its cost. */
  optimizer: OptimizerStatusSchema.optional(),
  /** In-process KPA, APA and HPA: the decision state, checkpointed for failover. */
  decisionState: DecisionStateSchema.optional(),
});
export type InferscaleStatus = z.infer<typeof InferscaleStatusSchema>;

// ---------------------------------------------------------------------------------------------
// Whole objects

export const AIBrixPodAutoscalerSchema = z.object({
  apiVersion: z.literal(AIBRIX_API_VERSION),
  kind: z.literal('PodAutoscaler'),
  metadata: ObjectMetaSchema,
  spec: AIBrixSpecSchema,
  status: AIBrixStatusSchema.optional(),
});
export type AIBrixPodAutoscaler = z.infer<typeof AIBrixPodAutoscalerSchema>;

export const InferscalePodAutoscalerSchema = z.object({
  apiVersion: z.literal(INFERSCALE_API_VERSION),
  kind: z.literal('PodAutoscaler'),
  metadata: ObjectMetaSchema,
  spec: InferscaleSpecSchema,
  status: InferscaleStatusSchema.optional(),
});
export type InferscalePodAutoscaler = z.infer<typeof InferscalePodAutoscalerSchema>;

export const PodAutoscalerSchema = z.discriminatedUnion('apiVersion', [
  AIBrixPodAutoscalerSchema,
  InferscalePodAutoscalerSchema,
]);
export type PodAutoscaler = z.infer<typeof PodAutoscalerSchema>;
