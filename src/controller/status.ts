/**
 * What the controller writes to `status` after each tick, as a pure function of the previous
 * status and what happened. Conditions follow the Kubernetes HPA's vocabulary and semantics
 * (AbleToScale / ScalingActive / ScalingLimited, with the HPA's reasons), plus `ValidSpec` and the
 * multi-PodAutoscaler conflict condition; `lastTransitionTime` moves only when a condition's status
 * flips, and every condition carries `observedGeneration` (AIBrix sets neither, W-26).
 *
 * The AIBrix group's CRD has a smaller status (no lastDecision, currentMetrics, observedGeneration,
 * history of 5); `shapeForGroup` trims to it so nothing relies on the apiserver pruning.
 */
import type {
  Condition,
  InferscaleStatus,
  LastDecision,
  MetricStatus,
  ScalingDecision,
} from '../api/schema.js';
import { AIBRIX_GROUP, AIBRIX_MAX_SCALING_HISTORY, INFERSCALE_MAX_SCALING_HISTORY } from '../api/defaults.js';
import type { Issue } from '../api/issues.js';
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import type { TickResult } from '../engine/engine.js';
import type { Decision } from '../engine/pipeline.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export const ConditionType = {
  ValidSpec: 'ValidSpec',
  AbleToScale: 'AbleToScale',
  ScalingActive: 'ScalingActive',
  ScalingLimited: 'ScalingLimited',
  Conflict: 'MultiPodAutoscalerConflict',
} as const;

const MAX_MESSAGE = 2048;
const MAX_REASON_TEXT = 1024;
/** A repeated identical history entry is folded into the last one unless this much time passed. */
const HISTORY_REPEAT_MS = 5 * 60_000;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** Upserts a condition; keeps `lastTransitionTime` when the status did not change. */
export function setCondition(
  conditions: readonly Condition[],
  update: ConditionUpdate,
  nowIso: string,
  generation: number | undefined,
): Condition[] {
  const out = conditions.filter((c) => c.type !== update.type);
  const prior = conditions.find((c) => c.type === update.type);
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: clip(update.message, MAX_MESSAGE),
    lastTransitionTime: prior && prior.status === update.status ? prior.lastTransitionTime : nowIso,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  // Keep a stable order: existing position, or appended.
  const at = conditions.findIndex((c) => c.type === update.type);
  if (at < 0) out.push(next);
  else out.splice(Math.min(at, out.length), 0, next);
  return out;
}

export function removeCondition(conditions: readonly Condition[], type: string): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

/** What a generated HPA reports (native mode), in the shape its status has. */
export interface NativeHpaStatus {
  name: string;
  desiredReplicas?: number;
  currentReplicas?: number;
  lastScaleTime?: string;
  conditions?: {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    lastTransitionTime?: string;
  }[];
}

export type TickOutcome =
  | { kind: 'invalid'; issues: readonly Issue[] }
  | { kind: 'conflict'; owner: string; targetKey: string }
  | { kind: 'tick'; pa: ResolvedPodAutoscaler; result: TickResult; dryRun: boolean }
  | { kind: 'native'; hpa: NativeHpaStatus };

export interface StatusInput {
  group: string;
  generation?: number;
  nowMs: number;
  prev: InferscaleStatus | undefined;
  outcome: TickOutcome;
}

/** The status after one tick (full object; the caller merge-patches it when significant). */
export function computeStatus(input: StatusInput): InferscaleStatus {
  const { nowMs, generation, outcome } = input;
  const prev = input.prev ?? {};
  const nowIso = new Date(nowMs).toISOString();
  let conditions: Condition[] = [...(prev.conditions ?? [])];
  const set = (u: ConditionUpdate) => {
    conditions = setCondition(conditions, u, nowIso, generation);
  };
  const next: InferscaleStatus = { ...prev };
  if (generation !== undefined) next.observedGeneration = generation;
  const aibrix = input.group === AIBRIX_GROUP;

  if (outcome.kind === 'invalid') {
    const first = outcome.issues[0];
    const message = outcome.issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}`).join('; ');
    set({ type: ConditionType.ValidSpec, status: 'False', reason: first?.reason ?? 'InvalidSpec', message });
    set({
      type: ConditionType.AbleToScale,
      status: 'False',
      reason: 'InvalidSpec',
      message: 'the spec is invalid; see ValidSpec',
    });
    set({
      type: ConditionType.ScalingActive,
      status: 'False',
      reason: 'InvalidSpec',
      message: 'the spec is invalid; nothing is scaled',
    });
    conditions = removeCondition(conditions, ConditionType.Conflict);
    next.conditions = conditions;
    return next;
  }

  set({ type: ConditionType.ValidSpec, status: 'True', reason: 'AsExpected', message: '' });

  if (outcome.kind === 'conflict') {
    const message = `Scaling target ${outcome.targetKey} is already controlled by PodAutoscaler ${outcome.owner}; this one does not write it`;
    // AIBrix's polarity is inverted (False = there is a conflict); its tests assert it, so the AIBrix
    // group keeps it. Our group uses the natural one.
    set({
      type: ConditionType.Conflict,
      status: aibrix ? 'False' : 'True',
      reason: 'MultiPodAutoscalerConflict',
      message,
    });
    set({ type: ConditionType.AbleToScale, status: 'False', reason: 'MultiPodAutoscalerConflict', message });
    next.conditions = conditions;
    return next;
  }
  conditions = removeCondition(conditions, ConditionType.Conflict);

  if (outcome.kind === 'native') {
    // The HPA's own conditions have the same types and meaning: copy them, as their only writer.
    const h = outcome.hpa;
    if (h.currentReplicas !== undefined) next.actualScale = h.currentReplicas;
    if (h.desiredReplicas !== undefined) next.desiredScale = h.desiredReplicas;
    if (h.lastScaleTime) next.lastScaleTime = h.lastScaleTime;
    for (const c of h.conditions ?? []) {
      if (c.status !== 'True' && c.status !== 'False' && c.status !== 'Unknown') continue;
      set({ type: c.type, status: c.status, reason: c.reason || 'Unknown', message: c.message ?? '' });
    }
    if (!h.conditions?.length) {
      set({
        type: ConditionType.AbleToScale,
        status: 'Unknown',
        reason: 'WaitingForHPA',
        message: `HorizontalPodAutoscaler ${h.name} has not reported yet`,
      });
    }
    next.conditions = conditions;
    return next;
  }

  const { result, dryRun } = outcome;
  const d = result.decision;
  const err = result.error;

  if (err?.stage === 'get-scale') {
    set({
      type: ConditionType.AbleToScale,
      status: 'False',
      reason: 'FailedGetScale',
      message: `the PodAutoscaler controller was unable to get the target's current scale: ${err.message}`,
    });
    next.conditions = conditions;
    return next;
  }

  next.actualScale = result.currentReplicas;
  next.desiredScale = result.desiredReplicas;
  if (d) {
    next.scheduledBounds = {
      effectiveMinReplicas: d.bounds.min,
      effectiveMaxReplicas: d.bounds.max,
      ...(d.bounds.activeSchedule ? { activeSchedule: d.bounds.activeSchedule } : {}),
    };
  }

  // AbleToScale
  if (err?.stage === 'write-scale') {
    set({
      type: ConditionType.AbleToScale,
      status: 'False',
      reason: 'FailedUpdateScale',
      message: `the PodAutoscaler controller was unable to update the target scale: ${err.message}`,
    });
  } else if (result.scaled) {
    set({
      type: ConditionType.AbleToScale,
      status: 'True',
      reason: 'SucceededRescale',
      message: `the PodAutoscaler controller was able to update the target scale to ${result.desiredReplicas}`,
    });
  } else if (d) {
    const stab = stabilizationReason(d);
    set({
      type: ConditionType.AbleToScale,
      status: 'True',
      reason:
        stab ?? (dryRun && d.desiredReplicas !== result.currentReplicas ? 'DryRun' : 'ReadyForNewScale'),
      message:
        stab === 'ScaleDownStabilized'
          ? 'recent recommendations were higher than current one, applying the highest recent recommendation'
          : stab === 'ScaleUpStabilized'
            ? 'recent recommendations were lower than current one, applying the lowest recent recommendation'
            : dryRun && d.desiredReplicas !== result.currentReplicas
              ? `dry run: would scale from ${result.currentReplicas} to ${d.desiredReplicas}; nothing was written`
              : 'recommended size matches current size',
    });
  } else if (err) {
    set({
      type: ConditionType.AbleToScale,
      status: 'True',
      reason: 'SucceededGetScale',
      message: "the PodAutoscaler controller was able to get the target's current scale",
    });
  }

  // ScalingActive
  if (err?.stage === 'list-pods') {
    set({
      type: ConditionType.ScalingActive,
      status: 'False',
      reason: 'FailedGetPods',
      message: `unable to list the target's pods: ${err.message}`,
    });
  } else if (err?.stage === 'decide') {
    set({
      type: ConditionType.ScalingActive,
      status: 'False',
      reason: 'FailedComputeScale',
      message: err.message,
    });
  } else if (d) {
    if (d.algorithm === 'boundary-check' && result.currentReplicas === 0 && d.desiredReplicas === 0) {
      set({
        type: ConditionType.ScalingActive,
        status: 'False',
        reason: 'ScalingDisabled',
        message: 'scaling is disabled since the replica count of the target is zero',
      });
    } else if (
      d.algorithm !== 'boundary-check' &&
      d.recommendedReplicas === undefined &&
      !/fallback/.test(d.reason)
    ) {
      const errors = d.metrics.flatMap((m) => m.errors).slice(0, 3);
      set({
        type: ConditionType.ScalingActive,
        status: 'False',
        reason: 'FailedGetMetrics',
        message: `the PodAutoscaler controller was unable to compute a replica count from any metric, holding at ${result.currentReplicas}${errors.length ? `: ${errors.join('; ')}` : ''}`,
      });
    } else {
      const names = d.metrics.filter((m) => m.recommendation !== undefined).map((m) => m.metric);
      set({
        type: ConditionType.ScalingActive,
        status: 'True',
        reason: 'ValidMetricFound',
        message:
          d.algorithm === 'boundary-check'
            ? `the current replica count is outside the bounds [${d.bounds.min}, ${d.bounds.max}]`
            : `the PodAutoscaler controller was able to successfully calculate a replica count from ${names.join(', ') || 'its fallback'}`,
      });
    }
  }

  // ScalingLimited
  if (d) set(limitCondition(d));

  // History and last decision
  const changed = d !== undefined && d.desiredReplicas !== result.currentReplicas;
  if (result.scaled || err?.stage === 'write-scale' || (dryRun && changed)) {
    const entry: ScalingDecision = {
      timestamp: nowIso,
      previousScale: result.currentReplicas,
      newScale: result.desiredReplicas,
      reason: clip(d?.reason ?? '', MAX_REASON_TEXT),
      success: result.scaled,
      ...(err?.stage === 'write-scale' ? { error: clip(err.message, MAX_REASON_TEXT) } : {}),
      ...(d ? { algorithm: d.algorithm } : {}),
      ...(dryRun ? { dryRun: true } : {}),
    };
    next.scalingHistory = appendHistory(
      prev.scalingHistory ?? [],
      entry,
      nowMs,
      aibrix ? AIBRIX_MAX_SCALING_HISTORY : INFERSCALE_MAX_SCALING_HISTORY,
    );
  }
  if (result.scaled) next.lastScaleTime = nowIso;
  if (d) {
    const last: LastDecision = {
      time: nowIso,
      current: result.currentReplicas,
      desired: d.desiredReplicas,
      reason: clip(d.reason, MAX_REASON_TEXT),
      algorithm: d.algorithm,
      details: {
        ...d.details,
        ...(d.recommendedReplicas !== undefined ? { recommendedReplicas: d.recommendedReplicas } : {}),
      },
    };
    next.lastDecision = last;
    next.currentMetrics = currentMetrics(outcome.pa, d);
    next.targetsSummary = targetsSummary(next.currentMetrics);
  }
  next.conditions = conditions;
  return next;
}

function appendHistory(
  history: readonly ScalingDecision[],
  entry: ScalingDecision,
  nowMs: number,
  max: number,
): ScalingDecision[] {
  const last = history[history.length - 1];
  if (
    last &&
    last.previousScale === entry.previousScale &&
    last.newScale === entry.newScale &&
    last.success === entry.success &&
    (last.error ?? '') === (entry.error ?? '') &&
    (last.dryRun ?? false) === (entry.dryRun ?? false) &&
    nowMs - Date.parse(last.timestamp) < HISTORY_REPEAT_MS
  ) {
    return [...history]; // the same attempt again: keep one entry
  }
  return [...history, entry].slice(-max);
}

/** `ScaleUpStabilized` / `ScaleDownStabilized` when the behavior's stabilisation changed the outcome. */
export function stabilizationReason(d: Decision): 'ScaleUpStabilized' | 'ScaleDownStabilized' | undefined {
  const r = d.behavior?.stabilizationReason;
  return r === 'ScaleUpStabilized' || r === 'ScaleDownStabilized' ? r : undefined;
}

export function limitCondition(d: Decision): ConditionUpdate {
  const rec = d.recommendedReplicas;
  if (rec !== undefined && rec > d.bounds.max && d.desiredReplicas >= d.bounds.max) {
    return {
      type: ConditionType.ScalingLimited,
      status: 'True',
      reason: 'TooManyReplicas',
      message: `the desired replica count is more than the maximum replica count (${d.bounds.max})`,
    };
  }
  if (rec !== undefined && rec < d.bounds.min && d.desiredReplicas <= d.bounds.min) {
    return {
      type: ConditionType.ScalingLimited,
      status: 'True',
      reason: 'TooFewReplicas',
      message: `the desired replica count is less than the minimum replica count (${d.bounds.min})`,
    };
  }
  const policy = d.behavior?.limitReason;
  if (policy === 'ScaleUpLimit' || policy === 'ScaleDownLimit') {
    return {
      type: ConditionType.ScalingLimited,
      status: 'True',
      reason: policy,
      message:
        policy === 'ScaleUpLimit'
          ? 'the desired replica count is increasing faster than the maximum scale rate'
          : 'the desired replica count is decreasing faster than the maximum scale rate',
    };
  }
  return {
    type: ConditionType.ScalingLimited,
    status: 'False',
    reason: 'DesiredWithinRange',
    message: 'the desired count is within the acceptable range',
  };
}

const VALUE_KEYS = ['usage', 'windowValue', 'stableValue', 'sampleValue', 'totalDemand', 'value'];

function currentMetrics(pa: ResolvedPodAutoscaler, d: Decision): MetricStatus[] {
  return pa.metrics.map((source, i) => {
    const outcome = d.metrics[i];
    const entry: MetricStatus = {
      metric: source.targetMetric,
      sourceType: source.type as MetricStatus['sourceType'],
      target: source.targetValue,
      targetType: source.targetType,
    };
    if (!outcome) return entry;
    // The observed value as the algorithm saw it; absent (never 0) when the metric was missing.
    for (const k of VALUE_KEYS) {
      const v = outcome.details[k];
      if (typeof v === 'number' && Number.isFinite(v)) {
        entry.value = v;
        break;
      }
    }
    if (outcome.recommendation !== undefined) entry.desiredReplicas = outcome.recommendation;
    const notes = [...(outcome.partial ? ['partial'] : []), ...outcome.errors.slice(0, 2)];
    if (notes.length) entry.message = clip(notes.join('; '), 512);
    return entry;
  });
}

function targetsSummary(metrics: readonly MetricStatus[]): string {
  return metrics
    .map((m) => `${m.value === undefined ? '<unknown>' : round(m.value)}/${round(m.target)} ${m.metric}`)
    .join(', ');
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(3).replace(/\.?0+$/, '');
}

/** Drops what the AIBrix CRD's status does not have. */
export function shapeForGroup(group: string, status: InferscaleStatus): InferscaleStatus {
  if (group !== AIBRIX_GROUP) return status;
  const { lastScaleTime, desiredScale, actualScale, conditions, scalingHistory, scheduledBounds } = status;
  const out: InferscaleStatus = {};
  if (lastScaleTime !== undefined) out.lastScaleTime = lastScaleTime;
  if (desiredScale !== undefined) out.desiredScale = desiredScale;
  if (actualScale !== undefined) out.actualScale = actualScale;
  if (conditions !== undefined) out.conditions = conditions.map(({ observedGeneration: _g, ...c }) => c);
  if (scalingHistory !== undefined) {
    out.scalingHistory = scalingHistory
      .slice(-AIBRIX_MAX_SCALING_HISTORY)
      .map(({ algorithm: _a, dryRun: _d, ...h }) => h);
  }
  if (scheduledBounds !== undefined) out.scheduledBounds = scheduledBounds;
  return out;
}

/**
 * Whether a new status is worth a write. Values that move every tick (the decision time, the
 * current metric values, the decision-state snapshot) do not count on their own; the caller also
 * refreshes and checkpoints periodically (status-cadence.ts).
 */
export function significantlyDifferent(a: InferscaleStatus | undefined, b: InferscaleStatus): boolean {
  return JSON.stringify(stable(a ?? {})) !== JSON.stringify(stable(b));
}

function stable(s: InferscaleStatus): unknown {
  const { lastDecision, currentMetrics: cm, targetsSummary: _ts, decisionState: _ds, ...rest } = s;
  return {
    ...rest,
    lastDecision: lastDecision
      ? { desired: lastDecision.desired, algorithm: lastDecision.algorithm }
      : undefined,
    currentMetrics: cm?.map((m) => ({
      ...m,
      value: m.value === undefined ? undefined : 'set',
      message: undefined,
    })),
  };
}
