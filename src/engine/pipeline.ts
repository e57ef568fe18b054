/**
 * One tick's decision as a pure function: (resolved spec, observations, prior state) →
 * (decision, next state). The engine does the I/O around it; the simulator and `inferscale decide`
 * reach the same function through the same engine.
 *
 * Order: schedule bounds → boundary checks → per-metric recommendation → combine (max, with the
 * missing-metric guard) → scale to zero → behavior (stabilisation and rate policies) → clamp.
 */
import type { MetricSample, Recommendation, ReplicaBounds, DecisionDetails } from '../../algorithms/types.js';
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import { recommenderFor, type RecommenderState } from './recommenders.js';
import { resolveBounds } from '../../algorithms/schedules.js';
import { initialBehaviorState, applyBehavior, type BehaviorState } from '../../algorithms/behavior.js';
import { clamp } from '../../algorithms/bounds.js';

export interface PipelineState {
  /** One recommender state per metric source, in spec order. */
  metrics: RecommenderState[];
  behavior: BehaviorState;
  /** Since when every metric has been missing (fallback timer). */
  allMissingSinceMs?: number;
  /** Since when the recommendation has been zero (scale-to-zero grace timer). */
  zeroSinceMs?: number;
}

export interface MetricObservation {
  sample: MetricSample | undefined;
  /** Some pods (or the source) failed this tick: the value is incomplete. */
  partial: boolean;
  errors: string[];
}

export interface PipelineInput {
  nowMs: number;
  currentReplicas: number;
  readyPods: number;
  startingPods: number;
  observations: MetricObservation[];
}

export interface MetricOutcome {
  metric: string;
  recommendation: number | undefined;
  reason: string;
  details: DecisionDetails;
  partial: boolean;
  errors: string[];
}

export interface Decision {
  desiredReplicas: number;
  /** The combined recommendation before behavior and bounds. */
  recommendedReplicas: number | undefined;
  reason: string;
  algorithm: string;
  bounds: ReplicaBounds & { activeSchedule?: string };
  /** A bound (min/max) or a behavior policy cut the recommendation. */
  limited: boolean;
  metrics: MetricOutcome[];
  details: DecisionDetails;
  /** What the behavior stage did; absent for boundary checks, which bypass it. */
  behavior?: BehaviorOutcome;
}

/** Kubernetes' reasons from stabilisation and rate policies, for conditions and failover. */
export interface BehaviorOutcome {
  stabilizationReason: 'ScaleUpStabilized' | 'ScaleDownStabilized' | 'ReadyForNewScale';
  limitReason:
    'ScaleUpLimit' | 'ScaleDownLimit' | 'TooManyReplicas' | 'TooFewReplicas' | 'DesiredWithinRange';
  /** Lowest recommendation in the scale-up window; highest in the scale-down window. */
  upRecommendation: number;
  downRecommendation: number;
}

export function initialPipelineState(pa: ResolvedPodAutoscaler): PipelineState {
  return {
    metrics: pa.metrics.map(() => recommenderFor(pa).initialState()),
    behavior: initialBehaviorState(),
  };
}

/** Keeps per-metric state aligned when the spec's metric list changes between ticks. */
function alignState(pa: ResolvedPodAutoscaler, state: PipelineState): PipelineState {
  if (state.metrics.length === pa.metrics.length) return state;
  const fresh = initialPipelineState(pa);
  return { ...state, metrics: pa.metrics.map((_, i) => state.metrics[i] ?? fresh.metrics[i]!) };
}

export function decide(
  pa: ResolvedPodAutoscaler,
  input: PipelineInput,
  prior: PipelineState,
): { decision: Decision; state: PipelineState } {
  const state = alignState(pa, prior);
  const { nowMs, currentReplicas: c } = input;
  const resolved = resolveBounds(pa.schedules, { min: pa.minReplicas, max: pa.maxReplicas }, nowMs);
  const bounds = {
    min: resolved.min,
    max: resolved.max,
    ...(resolved.activeSchedule ? { activeSchedule: resolved.activeSchedule } : {}),
  };
  const base = { bounds, metrics: [] as MetricOutcome[], details: {} as DecisionDetails };

  // Boundary checks act before any metric work, as in AIBrix and the HPA: a target someone scaled
  // to zero by hand stays there unless scale-to-zero (or a schedule minimum) says otherwise.
  if (c === 0 && !pa.scaleToZero.enabled && !resolved.activeScheduleHasMin && bounds.min !== 0) {
    return {
      decision: {
        ...base,
        desiredReplicas: 0,
        recommendedReplicas: undefined,
        reason: 'scaling disabled: current replicas is 0',
        algorithm: 'boundary-check',
        limited: false,
      },
      state,
    };
  }
  if (c > bounds.max || c < bounds.min) {
    const desired = c > bounds.max ? bounds.max : bounds.min;
    return {
      decision: {
        ...base,
        desiredReplicas: desired,
        recommendedReplicas: desired,
        reason: c > bounds.max ? 'current replicas exceed maximum' : 'current replicas below minimum',
        algorithm: 'boundary-check',
        limited: true,
      },
      state,
    };
  }

  const recommender = recommenderFor(pa);
  const outcomes: MetricOutcome[] = [];
  const nextMetricStates: RecommenderState[] = [];
  pa.metrics.forEach((source, i) => {
    const obs = input.observations[i] ?? { sample: undefined, partial: true, errors: ['no observation'] };
    const { recommendation, state: next } = recommender.recommend(
      {
        nowMs,
        currentReplicas: c,
        readyPods: input.readyPods,
        startingPods: input.startingPods,
        metric: source.targetMetric,
        target: source.targetValue,
        targetType: source.targetType,
        sample: obs.sample,
        bounds,
      },
      pa,
      state.metrics[i]!,
    );
    nextMetricStates.push(next);
    outcomes.push(outcomeOf(source.targetMetric, recommendation, obs));
  });

  const combined = combine(outcomes, c);
  let recommended = combined.replicas;
  let reason = combined.reason;
  let allMissingSinceMs = state.allMissingSinceMs;
  let zeroSinceMs = state.zeroSinceMs;

  if (recommended === undefined) {
    allMissingSinceMs ??= nowMs;
    const fb = pa.fallback;
    if (fb?.replicas !== undefined && nowMs - allMissingSinceMs >= fb.afterSeconds * 1000) {
      recommended = fb.replicas;
      reason = `fallback: every metric missing for ${Math.round((nowMs - allMissingSinceMs) / 1000)}s`;
    }
  } else {
    allMissingSinceMs = undefined;
  }

  // At zero, only demand above the activation threshold wakes the target (KEDA's activation
  // phase): a stray request should not buy a cold start. Fallback replicas are not demand.
  const woken = combined.replicas !== undefined && combined.replicas > 0;
  if (c === 0 && bounds.min === 0 && pa.scaleToZero.enabled && woken) {
    const held = activationHold(pa.scaleToZero.activationThreshold, input.observations);
    if (held !== undefined) {
      recommended = 0;
      reason = `${reason}; ${held}`;
    }
  }

  // Scale to zero only when the bounds allow it, and only after the idle grace period; a target
  // already at zero has nothing to wait for.
  if (recommended === 0) {
    zeroSinceMs ??= nowMs;
    const graceMs = pa.scaleToZero.gracePeriodSeconds * 1000;
    if (bounds.min > 0 || (c > 0 && nowMs - zeroSinceMs < graceMs)) {
      recommended = Math.max(1, bounds.min);
      if (bounds.min === 0) reason = `${reason}; idle, scale-to-zero grace period running`;
    }
  } else {
    zeroSinceMs = undefined;
  }

  const target = recommended ?? c;
  const behaved = applyBehavior(
    // Shadow mode writes nothing, so it must not record a scale event that never happened.
    {
      nowMs,
      currentReplicas: c,
      recommendation: target,
      behavior: pa.behavior,
      bounds,
      recordEvent: !pa.dryRun,
    },
    state.behavior,
  );
  const desired = clamp(behaved.replicas, bounds);
  if (behaved.reason && behaved.replicas !== target) reason = `${reason}; ${behaved.reason}`;
  if (desired !== behaved.replicas) reason = `${reason}; clamped to [${bounds.min}, ${bounds.max}]`;

  const algorithm = pa.strategy.toLowerCase();
  const direction =
    desired > c ? `${algorithm} above target` : desired < c ? 'All metrics below target' : 'stable';
  return {
    decision: {
      desiredReplicas: desired,
      recommendedReplicas: recommended,
      reason: `${direction}: ${reason}`,
      algorithm,
      bounds,
      limited: desired !== target,
      metrics: outcomes,
      details: combined.details,
      behavior: {
        stabilizationReason: behaved.stabilizationReason as BehaviorOutcome['stabilizationReason'],
        limitReason: behaved.limitReason as BehaviorOutcome['limitReason'],
        upRecommendation: Number(behaved.details.upRecommendation),
        downRecommendation: Number(behaved.details.downRecommendation),
      },
    },
    state: { metrics: nextMetricStates, behavior: behaved.state, allMissingSinceMs, zeroSinceMs },
  };
}

/**
 * Why a target at zero stays there although a metric recommends replicas, or undefined to wake it:
 * every global value seen this tick is at or below `activationThreshold` (strict ">" wakes, as in
 * KEDA). Without any global value (pod metrics only, or every wake source missing) the threshold
 * has nothing to compare and the recommendation stands.
 */
function activationHold(threshold: number, observations: readonly MetricObservation[]): string | undefined {
  let demand: number | undefined;
  for (const o of observations) {
    const v = o.sample?.scope === 'global' ? o.sample.value : undefined;
    if (v !== undefined && Number.isFinite(v) && (demand === undefined || v > demand)) demand = v;
  }
  if (demand === undefined || demand > threshold) return undefined;
  return `at zero: demand ${demand} does not exceed scaleToZero.activationThreshold ${threshold}`;
}

function outcomeOf(metric: string, rec: Recommendation, obs: MetricObservation): MetricOutcome {
  return {
    metric,
    recommendation: rec.replicas,
    reason: rec.reason,
    details: rec.details,
    partial: obs.partial,
    errors: obs.errors,
  };
}

/**
 * Max over metrics, as the HPA does; unknown is never zero: a metric that could not be computed,
 * or was computed from a partial set of pods, forbids scaling below the current size.
 */
function combine(
  outcomes: readonly MetricOutcome[],
  current: number,
): { replicas: number | undefined; reason: string; details: DecisionDetails } {
  const known = outcomes.filter((o) => o.recommendation !== undefined);
  const details: DecisionDetails = {};
  for (const o of outcomes) {
    for (const [k, v] of Object.entries(o.details)) details[outcomes.length > 1 ? `${o.metric}.${k}` : k] = v;
  }
  if (known.length === 0) {
    const why = outcomes
      .flatMap((o) => o.errors)
      .slice(0, 3)
      .join('; ');
    return { replicas: undefined, reason: `metrics unavailable, holding${why ? ` (${why})` : ''}`, details };
  }
  let best = known[0]!;
  for (const o of known) if (o.recommendation! > best.recommendation!) best = o;
  const incomplete = outcomes.some((o) => o.recommendation === undefined || o.partial);
  let replicas = best.recommendation!;
  let reason = `${best.metric}: ${best.reason}`;
  if (incomplete && replicas < current) {
    replicas = current;
    reason = `${reason}; scale-down held: some metrics missing`;
  }
  return { replicas, reason, details };
}
