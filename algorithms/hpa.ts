/**
 * The Kubernetes HPA v2 replica calculator (pkg/controller/podautoscaler/replica_calculator.go),
 * computed from one tick's sample. Stateless: HPA has no metric windows; its stabilisation and
 * rate policies live in behavior.ts.
 *
 * Per-pod samples (Pods/Resource metrics), usage ratio r = usage / target:
 * - usage is the mean over ready pods with a value, in milli-units with integer division
 *   (AverageValue), or the truncated integer percent (Utilization; pod values are percent of
 *   request);
 * - no missing and no not-ready pods: within tolerance → current, else ceil(r · known pods);
 * - otherwise rebalance: missing pods count as the target (100 %, or the target when it is above
 *   100 % for Utilization) on a scale-down and as 0 on a scale-up; not-ready pods count as 0 on a
 *   scale-up and are ignored on a scale-down; if the rebalanced ratio is within tolerance or
 *   flips direction → current; if ceil(r' · pods considered) moves against r' → current.
 * Global samples (Object/External metrics):
 * - Value: r = value / target; current 0 → ceil(r); within tolerance → current;
 *   else ceil(r · ready pods).
 * - AverageValue: r = value / (target · current); outside tolerance → ceil(value / target).
 * Tolerance is per direction: within ⇔ 1 − τ↓ ≤ r ≤ 1 + τ↑ (KEP-4951).
 *
 * Deliberate simplification: Kubernetes applies the not-ready rules to CPU only (and only during
 * the CPU initialisation period); here every not-ready pod is treated that way, since a not-ready
 * inference pod is loading weights whatever the metric. A target with no ready pod at all holds
 * instead of computing ceil(r · 0) = 0.
 */
import { fmt, observe, sum } from './observe.js';
import type { Behavior } from './params.js';
import type { AlgorithmInput, DecisionDetails, Recommendation, ScalingAlgorithm } from './types.js';

/** Per-direction tolerances (behavior.scaleUp/scaleDown.tolerance), named like KPA's and APA's. */
export interface HpaParams {
  upTolerance: number;
  downTolerance: number;
}

/** `--horizontal-pod-autoscaler-tolerance` default. */
export const HPA_DEFAULTS: HpaParams = { upTolerance: 0.1, downTolerance: 0.1 };

export function hpaParamsFromBehavior(behavior: Behavior): HpaParams {
  return { upTolerance: behavior.scaleUp.tolerance, downTolerance: behavior.scaleDown.tolerance };
}

/** HPA keeps no state of its own between ticks. */
export type HpaState = Readonly<Record<string, never>>;

export function hpaInitialState(): HpaState {
  return {};
}

/**
 * A Kubernetes quantity's milli-value: rounded up (resource.Quantity.MilliValue), after dropping
 * binary floating-point noise so that 0.1 is 100m, not 101m.
 */
export function toMilli(value: number): number {
  return Math.ceil(Number((value * 1000).toPrecision(12)));
}

function within(ratio: number, p: HpaParams): boolean {
  return 1.0 - p.downTolerance <= ratio && ratio <= 1.0 + p.upTolerance;
}

function result(replicas: number | undefined, reason: string, details: DecisionDetails): Recommendation {
  return { replicas, reason: `hpa: ${reason}`, details };
}

/** Mean usage and its ratio to the target, with the integer arithmetic Kubernetes uses. */
function usageRatio(
  values: readonly number[],
  T: number,
  utilization: boolean,
): { usage: number; ratio: number } {
  if (utilization) {
    // (Σ usage · 100) / Σ requests with integer division; with per-pod percents and equal requests
    // that is the truncated mean percent.
    const usage = Math.floor(Number((sum(values) / values.length).toPrecision(12)));
    return { usage, ratio: usage / T };
  }
  const usage = Math.floor(sum(values.map(toMilli)) / values.length);
  return { usage: usage / 1000, ratio: usage / toMilli(T) };
}

function podsReplicas(
  known: number[],
  missing: number,
  unready: number,
  input: AlgorithmInput,
  p: HpaParams,
): Recommendation {
  const c = input.currentReplicas;
  const T = input.target;
  const utilization = input.targetType === 'Utilization';
  const { usage, ratio } = usageRatio(known, T, utilization);
  const details: DecisionDetails = {
    usage,
    usageRatio: ratio,
    readyPods: known.length + missing,
    missingPods: missing,
    unreadyPods: unready,
  };
  const scaleUpWithUnready = unready > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && missing === 0) {
    if (within(ratio, p)) {
      return result(c, `usage ratio ${fmt(ratio)} is within tolerance → ${c}`, details);
    }
    const replicas = Math.ceil(ratio * known.length);
    return result(replicas, `usage ratio ${fmt(ratio)} over ${known.length} pod(s) → ${replicas}`, details);
  }
  const values = [...known];
  if (missing > 0) {
    if (ratio < 1.0) {
      const assumed = utilization ? Math.max(100, T) : T;
      for (let i = 0; i < missing; i++) values.push(assumed);
    } else if (ratio > 1.0) {
      for (let i = 0; i < missing; i++) values.push(0);
    }
  }
  if (scaleUpWithUnready) for (let i = 0; i < unready; i++) values.push(0);
  const rebalanced = usageRatio(values, T, utilization).ratio;
  const withNew = { ...details, newUsageRatio: rebalanced, podsConsidered: values.length };
  if (within(rebalanced, p) || (ratio < 1.0 && rebalanced > 1.0) || (ratio > 1.0 && rebalanced < 1.0)) {
    return result(
      c,
      `usage ratio ${fmt(ratio)} becomes ${fmt(rebalanced)} once ${missing} missing and ` +
        `${scaleUpWithUnready ? unready : 0} not-ready pod(s) are accounted for: no change → ${c}`,
      withNew,
    );
  }
  const replicas = Math.ceil(rebalanced * values.length);
  if ((rebalanced < 1.0 && replicas > c) || (rebalanced > 1.0 && replicas < c)) {
    return result(c, `rebalanced count ${replicas} would move against the usage ratio → ${c}`, withNew);
  }
  return result(
    replicas,
    `usage ratio ${fmt(ratio)}, rebalanced ${fmt(rebalanced)} over ${values.length} pod(s) → ${replicas}`,
    withNew,
  );
}

function globalReplicas(value: number, unready: number, input: AlgorithmInput, p: HpaParams): Recommendation {
  const c = input.currentReplicas;
  const T = input.target;
  const base: DecisionDetails = {
    usage: value,
    readyPods: input.readyPods,
    missingPods: 0,
    unreadyPods: unready,
  };
  if (input.targetType === 'AverageValue') {
    const ratio = c === 0 ? Infinity : toMilli(value) / (toMilli(T) * c);
    const details = { ...base, usageRatio: Number.isFinite(ratio) ? ratio : null };
    if (within(ratio, p))
      return result(c, `average value ratio ${fmt(ratio)} is within tolerance → ${c}`, details);
    const replicas = Math.ceil(toMilli(value) / toMilli(T));
    return result(replicas, `value ${fmt(value)} at ${fmt(T)} per pod → ${replicas}`, details);
  }
  // Value (Utilization is not defined for a single value; see hpaRecommend).
  const ratio = toMilli(value) / toMilli(T);
  const details = { ...base, usageRatio: ratio };
  if (c === 0) {
    const replicas = Math.ceil(ratio);
    return result(replicas, `usage ratio ${fmt(ratio)} from zero → ${replicas}`, details);
  }
  if (within(ratio, p)) return result(c, `usage ratio ${fmt(ratio)} is within tolerance → ${c}`, details);
  if (input.readyPods <= 0) {
    return result(undefined, `usage ratio ${fmt(ratio)} but no ready pod to scale from: holding`, details);
  }
  const replicas = Math.ceil(ratio * input.readyPods);
  return result(
    replicas,
    `usage ratio ${fmt(ratio)} over ${input.readyPods} ready pod(s) → ${replicas}`,
    details,
  );
}

export function hpaRecommend(
  input: AlgorithmInput,
  params: HpaParams,
  state: HpaState,
): { recommendation: Recommendation; state: HpaState } {
  const T = input.target;
  if (!(T > 0) || !Number.isFinite(T)) {
    return {
      recommendation: result(
        undefined,
        `target ${T} is not a positive number; fix targetValue of ${input.metric}`,
        {},
      ),
      state,
    };
  }
  const obs = observe(input);
  let recommendation: Recommendation;
  if (obs.kind === 'none') {
    recommendation = result(undefined, `no usable metric for ${input.metric}: ${obs.why}`, {
      readyPods: input.readyPods,
      missingPods: obs.missing,
      unreadyPods: obs.unready,
      usageRatio: null,
    });
  } else if (obs.kind === 'global') {
    recommendation =
      input.targetType === 'Utilization'
        ? result(undefined, `Utilization needs per-pod samples, ${input.metric} is a single value`, {
            readyPods: input.readyPods,
            missingPods: 0,
            usageRatio: null,
          })
        : globalReplicas(obs.value, obs.unready, input, params);
  } else if (input.targetType === 'Value') {
    // A Value target on per-pod samples compares their sum with the target, like an Object metric.
    // Unknown pods make that sum a lower bound: it may justify a scale-up, never a scale-down.
    const r = globalReplicas(sum(obs.known), obs.unready, input, params);
    const held = obs.missing > 0 && r.replicas !== undefined && r.replicas < input.currentReplicas;
    recommendation = held
      ? result(input.currentReplicas, `${obs.missing} ready pod(s) unknown: not scaling down`, {
          ...r.details,
          missingPods: obs.missing,
        })
      : { ...r, details: { ...r.details, missingPods: obs.missing } };
  } else {
    recommendation = podsReplicas(obs.known, obs.missing, obs.unready, input, params);
  }
  return { recommendation, state };
}

export const hpaAlgorithm: ScalingAlgorithm<HpaParams, HpaState> = {
  name: 'hpa',
  initialState: hpaInitialState,
  recommend: hpaRecommend,
};
