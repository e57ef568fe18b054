/**
 * Cross-field rules of a PodAutoscaler spec: what one field's type cannot say. They run as a zod
 * refinement of the spec schemas and, because zod skips object refinements after some child
 * failures, the resolver also calls `specProblems` directly. Either way the input is the raw spec,
 * so every field is read defensively and anything of the wrong type is skipped (the schema
 * reports that already).
 *
 * Messages start with AIBrix's text where AIBrix has one (reference §1.8), then say how to fix.
 */
import type { z } from 'zod';
import { AIBRIX_GROUP, DEFAULTS, MAX_WINDOW_SECONDS, type ApiGroup } from './defaults.js';
import { parseGoFloat } from './go-parse.js';
import { Reason, type ReasonName } from './issues.js';
import { scheduleProblems } from './schedules.js';

type Ctx = z.core.$RefinementCtx<unknown>;

/** One cross-field problem; `path` is relative to `spec`. */
export interface SpecProblem {
  path: (string | number)[];
  reason: ReasonName;
  message: string;
}
type Out = SpecProblem[];

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
/** Go's zero-value view of an optional string: missing and "" are the same. */
const filled = (v: unknown): boolean => (typeof v === 'string' ? v !== '' : v !== undefined && v !== null);
const intIn = (v: unknown, min: number, max: number): v is number =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

function report(out: Out, path: (string | number)[], reason: ReasonName, message: string): void {
  out.push({ path, reason, message });
}

/**
 * Every cross-field problem of a raw spec. The resolver calls this directly as well as through the
 * schema: zod skips object refinements after some child failures (a non-integer where an integer
 * belongs), and every problem must still be reported.
 */
export function specProblems(group: ApiGroup, spec: unknown): SpecProblem[] {
  const out: Out = [];
  if (!isRecord(spec)) return out;
  checkTargetRef(spec, out);
  checkBounds(spec, out);
  checkWindows(spec, out);
  checkRole(spec, out);
  if (Array.isArray(spec.schedules)) {
    const min = Number.isInteger(spec.minReplicas) ? (spec.minReplicas as number) : undefined;
    const max = Number.isInteger(spec.maxReplicas) ? (spec.maxReplicas as number) : undefined;
    for (const p of scheduleProblems(spec.schedules, min, max))
      report(out, p.path, Reason.InvalidSpec, p.message);
  }
  checkSources(spec, group, out);
  if (group !== AIBRIX_GROUP) checkOptimizer(spec, out);
  return out;
}

/** The refinement for one group's spec schema. */
export function checkSpec(group: ApiGroup): (spec: unknown, ctx: Ctx) => void {
  return (spec, ctx) => {
    for (const p of specProblems(group, spec)) {
      ctx.addIssue({ code: 'custom', path: p.path, message: p.message, params: { reason: p.reason } });
    }
  };
}

function checkTargetRef(spec: Record<string, unknown>, out: Out): void {
  const ref = spec.scaleTargetRef;
  if (!isRecord(ref)) return;
  const missing = ['kind', 'name'].filter((k) => !filled(ref[k]));
  if (missing.length > 0) {
    report(
      out,
      ['scaleTargetRef'],
      Reason.MissingScaleTargetRef,
      `scaleTargetRef.kind and scaleTargetRef.name must be set. Missing: ${missing.join(', ')} (e.g. kind: Deployment, name: my-model).`,
    );
  }
}

function checkBounds(spec: Record<string, unknown>, out: Out): void {
  const { minReplicas: min, maxReplicas: max } = spec;
  if (intIn(min, 0, 2 ** 31) && intIn(max, 1, 2 ** 31) && max < min) {
    report(
      out,
      ['minReplicas'],
      Reason.InvalidBounds,
      `minReplicas cannot be greater than maxReplicas. Got minReplicas=${min}, maxReplicas=${max}: lower minReplicas or raise maxReplicas.`,
    );
  }
}

/** AIBrix compares the windows after defaults: observe 30 with no panic window is invalid (60 > 30). */
function checkWindows(spec: Record<string, unknown>, out: Out): void {
  const observe = spec.observeWindowSeconds ?? DEFAULTS.observeWindowSeconds;
  const panic = spec.panicWindowSeconds ?? DEFAULTS.panicWindowSeconds;
  if (!intIn(observe, 1, MAX_WINDOW_SECONDS) || !intIn(panic, 1, MAX_WINDOW_SECONDS)) return;
  if (panic > observe) {
    const describe = (v: number, field: string) =>
      `${field}=${v}${spec[field] === undefined ? ' (default)' : ''}`;
    report(
      out,
      ['panicWindowSeconds'],
      Reason.InvalidSpec,
      `panicWindowSeconds must be less than or equal to observeWindowSeconds. Got ${describe(panic, 'panicWindowSeconds')} > ${describe(observe, 'observeWindowSeconds')}: set panicWindowSeconds to at most ${observe}, or raise observeWindowSeconds.`,
    );
  }
}

function checkRole(spec: Record<string, unknown>, out: Out): void {
  const selector = spec.subTargetSelector;
  if (!isRecord(selector) || !filled(selector.roleName)) return;
  if (spec.scalingStrategy === 'HPA') {
    report(
      out,
      ['subTargetSelector', 'roleName'],
      Reason.InvalidScalingStrategy,
      'subTargetSelector.roleName is not supported with scalingStrategy=HPA; use APA or KPA for StormService role-level autoscaling.',
    );
  }
  const kind = isRecord(spec.scaleTargetRef) ? spec.scaleTargetRef.kind : undefined;
  if (typeof kind === 'string' && kind !== '' && kind !== 'StormService') {
    report(
      out,
      ['subTargetSelector', 'roleName'],
      Reason.InvalidSpec,
      `subTargetSelector.roleName is only supported for StormService (scaleTargetRef.kind is ${kind}). Remove subTargetSelector, or target the StormService.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Metric sources: the requirement matrix of reference §1.3, then our additions.

const RESOURCE_FORBIDDEN = ['port', 'endpoint', 'path', 'protocolType'] as const;
const PROMETHEUS_FORBIDDEN = ['port', 'path', 'protocolType'] as const;

function checkSources(spec: Record<string, unknown>, group: ApiGroup, out: Out): void {
  const sources = spec.metricsSources;
  // With OPTIMIZER the metrics only feed the optional reactive floor.
  if (sources === undefined && spec.scalingStrategy === 'OPTIMIZER') return;
  if (sources === undefined) {
    report(
      out,
      ['metricsSources'],
      Reason.MetricsConfigError,
      'at least one metricsSource is required. Add spec.metricsSources, e.g. [{metricSourceType: pod, protocolType: http, port: "8000", path: /metrics, targetMetric: num_requests_running, targetValue: "8"}].',
    );
    return;
  }
  if (!Array.isArray(sources)) return;
  sources.forEach((source, i) => {
    if (!isRecord(source)) return;
    const at = (field?: string) => (field ? ['metricsSources', i, field] : ['metricsSources', i]);
    const bad = (field: string | undefined, message: string) =>
      report(out, at(field), Reason.MetricsConfigError, message);
    const type = source.metricSourceType;

    checkTargetValue(source.targetValue, i, bad);
    if (typeof source.port === 'string' && source.port !== '' && !validPort(source.port)) {
      bad(
        'port',
        `metricsSource[${i}]: port ${JSON.stringify(source.port)} must be a port number from 1 to 65535 (named ports are not resolved).`,
      );
    }

    if (type === 'resource') {
      if (source.targetMetric !== 'cpu' && source.targetMetric !== 'memory' && filled(source.targetMetric)) {
        bad(
          'targetMetric',
          `for metricSourceType=resource, targetMetric must be 'cpu' or 'memory'. Got ${JSON.stringify(source.targetMetric)} (case matters).`,
        );
      }
      const present = RESOURCE_FORBIDDEN.filter((f) => filled(source[f]));
      if (present.length > 0) {
        bad(
          undefined,
          `port, endpoint, path, and protocolType are not allowed for metricSourceType=resource. Remove ${present.join(', ')}.`,
        );
      }
    }

    if (group === AIBRIX_GROUP) {
      if (type === 'pod') {
        for (const field of ['protocolType', 'port', 'path'] as const) {
          if (!filled(source[field])) {
            bad(field, `${field} is required for metricSourceType=pod. ${POD_HINT[field]}`);
          }
        }
      }
      if ((type === 'external' || type === 'domain') && filled(source.endpoint)) {
        for (const field of ['protocolType', 'path'] as const) {
          if (!filled(source[field])) {
            bad(
              field,
              `${field} is required for metricSourceType=external. ${field === 'path' ? 'Add the path served by the endpoint, e.g. path: /metrics/<namespace>/<deployment>.' : 'Add protocolType: http.'}`,
            );
          }
        }
      }
      return;
    }

    // Our group: protocolType defaults to http and path to /metrics; the port cannot be guessed.
    if (type === 'pod' && !filled(source.port)) {
      bad('port', 'port is required for metricSourceType=pod. ' + POD_HINT.port);
    }
    if (type === 'prometheus') {
      if (!filled(source.query)) {
        bad(
          'query',
          'query is required for metricSourceType=prometheus. Add a PromQL expression returning one value, e.g. sum(vllm:num_requests_waiting{namespace="$namespace"}).',
        );
      }
      const present = PROMETHEUS_FORBIDDEN.filter((f) => filled(source[f]));
      if (present.length > 0) {
        bad(
          undefined,
          `port, path, and protocolType are not allowed for metricSourceType=prometheus (set endpoint to the Prometheus base URL instead). Remove ${present.join(', ')}.`,
        );
      }
    } else if (filled(source.query)) {
      bad(
        'query',
        `query is only used by metricSourceType=prometheus. Remove it, or change metricSourceType.`,
      );
    }
    checkTargetType(type, source.targetType, (m) => bad('targetType', `metricsSource[${i}]: ${m}`));
  });
}

/**
 * OPTIMIZER: the targets are required, name distinct Deployments and GPU types, and at most one
 * may leave its scaleTargetRef to spec.scaleTargetRef, which must be one of them.
 */
function checkOptimizer(spec: Record<string, unknown>, out: Out): void {
  const opt = spec.optimizer;
  if (spec.scalingStrategy !== 'OPTIMIZER') return;
  const example =
    'e.g. optimizer: {targets: [{gpu: A10G, scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llama-a10g}}, {gpu: H100, scaleTargetRef: {…, name: llama-h100}}]}';
  if (!isRecord(opt) || opt.targets === undefined) {
    report(
      out,
      ['optimizer', 'targets'],
      Reason.InvalidSpec,
      `scalingStrategy OPTIMIZER needs spec.optimizer.targets: one entry per Deployment (GPU type) of the model, ${example}.`,
    );
    return;
  }
  if (!Array.isArray(opt.targets)) return;
  const own = isRecord(spec.scaleTargetRef) ? refKey(spec.scaleTargetRef) : undefined;
  const refs = new Map<string, number>();
  const gpus = new Map<string, number>();
  let inherited = 0;
  opt.targets.forEach((t, i) => {
    if (!isRecord(t)) return;
    const key = isRecord(t.scaleTargetRef) ? refKey(t.scaleTargetRef) : own;
    if (!isRecord(t.scaleTargetRef)) inherited++;
    if (key !== undefined) {
      const prior = refs.get(key);
      if (prior !== undefined) {
        report(
          out,
          ['optimizer', 'targets', i, 'scaleTargetRef'],
          Reason.InvalidSpec,
          `optimizer.targets[${i}] scales the same ${key} as optimizer.targets[${prior}]; each Deployment appears once.`,
        );
      } else refs.set(key, i);
    }
    if (typeof t.gpu === 'string' && t.gpu !== '') {
      const g = t.gpu.toLowerCase();
      const prior = gpus.get(g);
      if (prior !== undefined) {
        report(
          out,
          ['optimizer', 'targets', i, 'gpu'],
          Reason.InvalidSpec,
          `optimizer.targets[${i}] and optimizer.targets[${prior}] both have gpu ${t.gpu}; the plan is per GPU type, so give each type one Deployment.`,
        );
      } else gpus.set(g, i);
    }
    const min = t.minReplicas;
    const max = t.maxReplicas;
    if (intIn(min, 0, 2 ** 31) && intIn(max, 0, 2 ** 31) && min > max) {
      report(
        out,
        ['optimizer', 'targets', i, 'minReplicas'],
        Reason.InvalidBounds,
        `optimizer.targets[${i}]: minReplicas (${min}) cannot be greater than maxReplicas (${max}).`,
      );
    }
  });
  if (inherited > 1) {
    report(
      out,
      ['optimizer', 'targets'],
      Reason.InvalidSpec,
      `${inherited} optimizer.targets leave out scaleTargetRef; only one may (it then scales spec.scaleTargetRef). Give the others their Deployment.`,
    );
  }
  if (own !== undefined && !refs.has(own)) {
    report(
      out,
      ['scaleTargetRef'],
      Reason.InvalidSpec,
      `with OPTIMIZER, spec.scaleTargetRef (${own}) must be one of optimizer.targets (leave one target's scaleTargetRef out to use it).`,
    );
  }
}

function refKey(ref: Record<string, unknown>): string | undefined {
  return typeof ref.name === 'string' && ref.name !== ''
    ? `${typeof ref.kind === 'string' && ref.kind !== '' ? ref.kind : 'Deployment'}/${ref.name}`
    : undefined;
}

const POD_HINT = {
  protocolType: 'Add protocolType: http.',
  port: 'Add the port serving the engine metrics, e.g. port: "8000".',
  path: 'Add path: /metrics.',
} as const;

function validPort(port: string): boolean {
  return /^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;
}

function checkTargetValue(value: unknown, i: number, bad: (field: string, message: string) => void): void {
  if (typeof value !== 'string' || value === '') return;
  const parsed = parseGoFloat(value);
  const fix = 'Write a positive decimal number such as "0.5" or "100".';
  if (!parsed.ok) {
    bad('targetValue', `metricsSource[${i}]: targetValue ${JSON.stringify(value)} is not a number. ${fix}`);
  } else if (!Number.isFinite(parsed.value)) {
    bad(
      'targetValue',
      `metricsSource[${i}]: targetValue ${JSON.stringify(value)} is not a finite number (NaN and Inf would freeze or zero every decision). ${fix}`,
    );
  } else if (parsed.value <= 0) {
    bad(
      'targetValue',
      `metricsSource[${i}]: targetValue must be greater than 0; got ${JSON.stringify(value)}. ${fix}`,
    );
  }
}

/** Which target types make sense for which source (HPA v2's own pairing, plus Prometheus). */
export const ALLOWED_TARGET_TYPES: Readonly<Record<string, readonly string[]>> = {
  pod: ['AverageValue'],
  custom: ['AverageValue'],
  resource: ['AverageValue', 'Utilization'],
  external: ['Value', 'AverageValue'],
  domain: ['Value', 'AverageValue'],
  prometheus: ['Value', 'AverageValue'],
};

function checkTargetType(type: unknown, targetType: unknown, bad: (message: string) => void): void {
  if (typeof type !== 'string' || typeof targetType !== 'string') return;
  const allowed = ALLOWED_TARGET_TYPES[type];
  if (allowed && !allowed.includes(targetType)) {
    bad(
      `targetType ${targetType} is not supported for metricSourceType=${type}; use ${allowed.join(' or ')}${type === 'pod' || type === 'custom' ? ' (per-pod values are averaged)' : ''}.`,
    );
  }
}
