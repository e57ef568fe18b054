/**
 * HPA v2 `behavior`: stabilisation windows and scaling policies, with the exact semantics of
 * Kubernetes' normalizeDesiredReplicasWithBehaviors (horizontal.go).
 *
 * 1. Stabilise: the scale-up limit is the MIN of the recommendations within the scale-up window,
 *    the scale-down limit is the MAX of those within the scale-down window (both include the new
 *    one); the current size is moved into [upMin, downMax]. So a scale-down waits until every
 *    recommendation of the last `scaleDown.stabilizationWindowSeconds` agrees. AIBrix has the
 *    picks inverted (W-2): its 300 s "cooldown" makes scale-down more aggressive.
 * 2. Rate-limit with the policies, evaluated over their periods using the scale events that
 *    happened within them: period start = current − added + removed; a Pods policy allows ±value,
 *    a Percent policy ceil(start·(1 + v/100)) up and trunc(start·(1 − v/100)) down; selectPolicy
 *    Max takes the most permissive policy, Min the least, Disabled forbids the direction.
 * 3. Clamp to [min, max].
 *
 * The unstabilised recommendation is recorded every tick; scale events are recorded by the
 * caller after a successful write (`recordScaleEvent`), as Kubernetes does after a rescale.
 * All state is plain data.
 */
import type { Behavior, ScalingPolicy, ScalingRules } from './params.js';
import type { DecisionDetails, ReplicaBounds } from './types.js';

/** Kubernetes' defaults (pkg/apis/autoscaling/v2/defaults.go), tolerance from the 0.1 flag. */
export const DEFAULT_BEHAVIOR: Behavior = {
  scaleUp: {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ],
    tolerance: 0.1,
  },
  scaleDown: {
    stabilizationWindowSeconds: 300,
    selectPolicy: 'Max',
    policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    tolerance: 0.1,
  },
};

export interface TimedRecommendation {
  readonly atMs: number;
  readonly replicas: number;
}

export interface ScaleEvent {
  readonly atMs: number;
  /** Replicas added (scale-up list) or removed (scale-down list); always positive. */
  readonly change: number;
}

export interface BehaviorState {
  readonly recommendations: readonly TimedRecommendation[];
  readonly scaleUpEvents: readonly ScaleEvent[];
  readonly scaleDownEvents: readonly ScaleEvent[];
}

export function initialBehaviorState(): BehaviorState {
  return { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };
}

export interface Stabilized {
  replicas: number;
  /** `ScaleUpStabilized`, `ScaleDownStabilized`, or `ReadyForNewScale` when nothing changed. */
  reason: string;
  /** Lowest recommendation in the scale-up window (the new one included). */
  upRecommendation: number;
  /** Highest recommendation in the scale-down window (the new one included). */
  downRecommendation: number;
  state: BehaviorState;
}

/** Kubernetes' stabilizeRecommendationWithBehaviors. Records `desired` (unstabilised). */
export function stabilizeRecommendation(
  state: BehaviorState,
  behavior: Behavior,
  nowMs: number,
  currentReplicas: number,
  desiredReplicas: number,
): Stabilized {
  const upWindowMs = behavior.scaleUp.stabilizationWindowSeconds * 1000;
  const downWindowMs = behavior.scaleDown.stabilizationWindowSeconds * 1000;
  const upCutoff = nowMs - upWindowMs;
  const downCutoff = nowMs - downWindowMs;
  let upRecommendation = desiredReplicas;
  let downRecommendation = desiredReplicas;
  for (const rec of state.recommendations) {
    if (rec.atMs > upCutoff) upRecommendation = Math.min(rec.replicas, upRecommendation);
    if (rec.atMs > downCutoff) downRecommendation = Math.max(rec.replicas, downRecommendation);
  }
  let replicas = currentReplicas;
  if (replicas < upRecommendation) replicas = upRecommendation;
  if (replicas > downRecommendation) replicas = downRecommendation;
  // Entries older than both windows can never be candidates again (Kubernetes reuses their slot).
  const obsolete = Math.min(upCutoff, downCutoff);
  const recommendations = [
    ...state.recommendations.filter((r) => r.atMs > obsolete),
    { atMs: nowMs, replicas: desiredReplicas },
  ];
  let reason = 'ReadyForNewScale';
  if (replicas !== desiredReplicas) {
    reason = desiredReplicas >= currentReplicas ? 'ScaleUpStabilized' : 'ScaleDownStabilized';
  }
  return { replicas, reason, upRecommendation, downRecommendation, state: { ...state, recommendations } };
}

function changeInPeriod(events: readonly ScaleEvent[], nowMs: number, periodSeconds: number): number {
  const cutoff = nowMs - periodSeconds * 1000;
  let total = 0;
  for (const e of events) if (e.atMs > cutoff) total += e.change;
  return total;
}

/**
 * The size the policies of one direction allow now, from the scale events within each policy's
 * period: period start = current − added + removed. `Max` takes the most permissive policy (the
 * highest limit up, the lowest down), `Min` the least. An empty policy list means "no limit"
 * (Kubernetes rejects an empty list at admission).
 */
function policyLimit(
  state: BehaviorState,
  rules: ScalingRules,
  nowMs: number,
  current: number,
  up: boolean,
): number {
  if (rules.selectPolicy === 'Disabled') return current;
  if (rules.policies.length === 0) return up ? Infinity : -Infinity;
  const highest = (rules.selectPolicy === 'Min') !== up;
  const pick = highest ? Math.max : Math.min;
  let result = highest ? -Infinity : Infinity;
  for (const policy of rules.policies) {
    const added = changeInPeriod(state.scaleUpEvents, nowMs, policy.periodSeconds);
    const removed = changeInPeriod(state.scaleDownEvents, nowMs, policy.periodSeconds);
    const periodStart = current - added + removed;
    result = pick(result, up ? allowedUp(policy, periodStart) : allowedDown(policy, periodStart));
  }
  return result;
}

/** A Pods policy allows +value, a Percent policy ceil(start·(1 + v/100)). */
function allowedUp(policy: ScalingPolicy, periodStart: number): number {
  return policy.type === 'Pods'
    ? periodStart + policy.value
    : Math.ceil(periodStart * (1 + policy.value / 100));
}

/** A Pods policy allows −value, a Percent policy trunc(start·(1 − v/100)). */
function allowedDown(policy: ScalingPolicy, periodStart: number): number {
  return policy.type === 'Pods'
    ? periodStart - policy.value
    : Math.trunc(periodStart * (1 - policy.value / 100));
}

/** Highest size the scale-up policies allow now (Kubernetes' calculateScaleUpLimitWithScalingRules). */
export function scaleUpLimit(
  state: BehaviorState,
  rules: ScalingRules,
  nowMs: number,
  current: number,
): number {
  return policyLimit(state, rules, nowMs, current, true);
}

/** Lowest size the scale-down policies allow now (calculateScaleDownLimitWithBehaviors). */
export function scaleDownLimit(
  state: BehaviorState,
  rules: ScalingRules,
  nowMs: number,
  current: number,
): number {
  return policyLimit(state, rules, nowMs, current, false);
}

export interface RateLimited {
  replicas: number;
  /** `ScaleUpLimit`, `TooManyReplicas`, `ScaleDownLimit`, `TooFewReplicas` or `DesiredWithinRange`. */
  reason: string;
  limit: number | null;
}

/** Kubernetes' convertDesiredReplicasWithBehaviorRate: policies, then the bounds. */
export function applyRateLimits(
  state: BehaviorState,
  behavior: Behavior,
  nowMs: number,
  currentReplicas: number,
  desiredReplicas: number,
  bounds: ReplicaBounds,
): RateLimited {
  if (desiredReplicas > currentReplicas) {
    let limit = scaleUpLimit(state, behavior.scaleUp, nowMs, currentReplicas);
    // Events from a more generous earlier policy can put the limit below the current size.
    if (limit < currentReplicas) limit = currentReplicas;
    let maximum = bounds.max;
    let reason = 'TooManyReplicas';
    if (maximum > limit) {
      maximum = limit;
      reason = 'ScaleUpLimit';
    }
    if (desiredReplicas > maximum)
      return { replicas: maximum, reason, limit: Number.isFinite(limit) ? limit : null };
    return {
      replicas: desiredReplicas,
      reason: 'DesiredWithinRange',
      limit: Number.isFinite(limit) ? limit : null,
    };
  }
  if (desiredReplicas < currentReplicas) {
    let limit = scaleDownLimit(state, behavior.scaleDown, nowMs, currentReplicas);
    if (limit > currentReplicas) limit = currentReplicas;
    let minimum = bounds.min;
    let reason = 'TooFewReplicas';
    if (minimum < limit) {
      minimum = limit;
      reason = 'ScaleDownLimit';
    }
    if (desiredReplicas < minimum)
      return { replicas: minimum, reason, limit: Number.isFinite(limit) ? limit : null };
    return {
      replicas: desiredReplicas,
      reason: 'DesiredWithinRange',
      limit: Number.isFinite(limit) ? limit : null,
    };
  }
  return { replicas: desiredReplicas, reason: 'DesiredWithinRange', limit: null };
}

const REASON_TEXT: Record<string, string> = {
  ScaleUpStabilized:
    'recent recommendations were lower than current one, applying the lowest recent recommendation',
  ScaleDownStabilized:
    'recent recommendations were higher than current one, applying the highest recent recommendation',
  ReadyForNewScale: 'recommended size matches current size',
  ScaleUpLimit: 'the desired replica count is increasing faster than the maximum scale rate',
  TooManyReplicas: 'the desired replica count is more than the maximum replica count',
  ScaleDownLimit: 'the desired replica count is decreasing faster than the maximum scale rate',
  TooFewReplicas: 'the desired replica count is less than the minimum replica count',
  DesiredWithinRange: 'the desired count is within the acceptable range',
};

export interface NormalizeArgs {
  nowMs: number;
  currentReplicas: number;
  /** The combined metric recommendation, before stabilisation and bounds. */
  desiredReplicas: number;
  bounds: ReplicaBounds;
  behavior: Behavior;
  state: BehaviorState;
}

export interface Normalized {
  replicas: number;
  reason: string;
  /** Kubernetes' AbleToScale reason (stabilisation) and ScalingLimited reason (policies, bounds). */
  stabilizationReason: string;
  limitReason: string;
  details: DecisionDetails;
  state: BehaviorState;
}

/** Stabilise, rate-limit and clamp one recommendation (normalizeDesiredReplicasWithBehaviors). */
export function normalizeWithBehavior(args: NormalizeArgs): Normalized {
  const { nowMs, currentReplicas, desiredReplicas, bounds, behavior } = args;
  const stabilized = stabilizeRecommendation(args.state, behavior, nowMs, currentReplicas, desiredReplicas);
  const limited = applyRateLimits(
    stabilized.state,
    behavior,
    nowMs,
    currentReplicas,
    stabilized.replicas,
    bounds,
  );
  const parts: string[] = [];
  if (stabilized.replicas !== desiredReplicas) {
    parts.push(
      `${stabilized.reason}: ${REASON_TEXT[stabilized.reason]} (${desiredReplicas} → ${stabilized.replicas})`,
    );
  }
  if (limited.replicas !== stabilized.replicas) {
    parts.push(
      `${limited.reason}: ${REASON_TEXT[limited.reason]} (${stabilized.replicas} → ${limited.replicas})`,
    );
  }
  return {
    replicas: limited.replicas,
    reason: parts.length > 0 ? parts.join('; ') : `${REASON_TEXT.DesiredWithinRange} (${limited.replicas})`,
    stabilizationReason: stabilized.reason,
    limitReason: limited.reason,
    details: {
      recommended: desiredReplicas,
      stabilized: stabilized.replicas,
      upRecommendation: stabilized.upRecommendation,
      downRecommendation: stabilized.downRecommendation,
      rateLimit: limited.limit,
      limited: limited.replicas !== stabilized.replicas,
    },
    state: stabilized.state,
  };
}

export interface ApplyBehaviorArgs {
  nowMs: number;
  currentReplicas: number;
  /** The combined metric recommendation, before stabilisation and bounds. */
  recommendation: number;
  behavior: Behavior;
  /** Defaults to no bounds; pass them so that the recorded scale event matches the final size. */
  bounds?: ReplicaBounds;
  /**
   * Record the resulting change as a scale event, assuming the caller writes it (default true).
   * Pass false in shadow mode, or when calling `recordScaleEvent` after a successful write.
   */
  recordEvent?: boolean;
}

/**
 * The engine's one call per tick: `normalizeWithBehavior`, then (optimistically) the scale event
 * of the resulting change, as Kubernetes stores it after a successful rescale.
 */
export function applyBehavior(args: ApplyBehaviorArgs, state: BehaviorState): Normalized {
  const normalized = normalizeWithBehavior({
    nowMs: args.nowMs,
    currentReplicas: args.currentReplicas,
    desiredReplicas: args.recommendation,
    bounds: args.bounds ?? { min: 0, max: Infinity },
    behavior: args.behavior,
    state,
  });
  if (args.recordEvent === false || normalized.replicas === args.currentReplicas) return normalized;
  return {
    ...normalized,
    state: recordScaleEvent(
      normalized.state,
      args.behavior,
      args.nowMs,
      args.currentReplicas,
      normalized.replicas,
    ),
  };
}

function longestPeriodSeconds(behavior: Behavior): number {
  let longest = 0;
  for (const p of [...behavior.scaleUp.policies, ...behavior.scaleDown.policies]) {
    longest = Math.max(longest, p.periodSeconds);
  }
  return longest;
}

/**
 * Records a successful rescale from `fromReplicas` to `toReplicas` (Kubernetes' storeScaleEvent).
 * Events older than every policy period are dropped: they no longer count for any limit.
 */
export function recordScaleEvent(
  state: BehaviorState,
  behavior: Behavior,
  nowMs: number,
  fromReplicas: number,
  toReplicas: number,
): BehaviorState {
  if (toReplicas === fromReplicas) return state;
  const cutoff = nowMs - longestPeriodSeconds(behavior) * 1000;
  const keep = (events: readonly ScaleEvent[]): ScaleEvent[] => events.filter((e) => e.atMs > cutoff);
  const scaleUpEvents = keep(state.scaleUpEvents);
  const scaleDownEvents = keep(state.scaleDownEvents);
  if (toReplicas > fromReplicas) scaleUpEvents.push({ atMs: nowMs, change: toReplicas - fromReplicas });
  else scaleDownEvents.push({ atMs: nowMs, change: fromReplicas - toReplicas });
  return { ...state, scaleUpEvents, scaleDownEvents };
}

// ---------------------------------------------------------------------------------------------
// AIBrix transcription (stabilizeRecommendation, podautoscaler_controller.go:1215-1322), for
// parity vectors only: it picks the MAX over the scale-up window and the MIN over the scale-down
// window, the opposite of Kubernetes (W-2).
// ---------------------------------------------------------------------------------------------

export interface AibrixStabilizeArgs {
  nowMs: number;
  currentReplicas: number;
  recommendation: number;
  upWindowSeconds: number;
  downWindowSeconds: number;
}

export function aibrixStabilize(
  history: readonly TimedRecommendation[],
  args: AibrixStabilizeArgs,
): { replicas: number; history: TimedRecommendation[] } {
  const { nowMs, currentReplicas: c, recommendation: rec } = args;
  const purgeCutoff = nowMs - Math.max(args.upWindowSeconds, args.downWindowSeconds) * 1000;
  const kept = [...history, { atMs: nowMs, replicas: rec }].filter((e) => e.atMs > purgeCutoff);
  if (rec === c) return { replicas: c, history: kept };
  const up = rec > c;
  const cutoff = nowMs - (up ? args.upWindowSeconds : args.downWindowSeconds) * 1000;
  const candidates = kept.filter((e) => e.atMs > cutoff).map((e) => e.replicas);
  if (candidates.length === 0) return { replicas: rec, history: kept };
  return { replicas: up ? Math.max(...candidates) : Math.min(...candidates), history: kept };
}
