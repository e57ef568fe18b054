/**
 * KPA: Knative's pod autoscaler decision, on total demand.
 *
 *   observed = total demand (Σ ready pods' values, or the global value)
 *   desired  = ceil(observed / perReplicaTarget), within the tolerance band around current size
 *   stable and panic windows over `observed`; panic entered when panicDesired / readyPods ≥ θ,
 *   held for a stable window after the condition clears; never scale down while panicking.
 *
 * Differences from AIBrix (docs/algorithms.md has worked examples):
 * - W-1: AIBrix feeds the per-pod *mean* into `ceil(S/T)`, so 4 pods at 12 with target 10 give 2.
 *   Here the observed value is the total (48 → 5).
 * - W-8: panic is stateful (hold for a stable window, max-panic-pods ratchet, Knative's panic ratio
 *   on ready pods); AIBrix decides it afresh each tick, enters it whenever S ≤ 0, and its
 *   "no scale-down in panic" never applies because max panic pods is hard-wired to 0.
 * - W-12: windows prune on read; an empty window means "no data" (no recommendation), not 0.
 *
 * `kpaComputeTargetReplicasAibrix` keeps AIBrix's core maths verbatim for parity checks.
 */
import { coverage, fmt, missingDataHold, observe, sum, unusableTarget, type Observation } from './observe.js';
import type { KpaParams } from './params.js';
import type { AlgorithmInput, DecisionDetails, Recommendation, ScalingAlgorithm } from './types.js';
import {
  createWindow,
  pruneWindow,
  recordSample,
  resizeWindow,
  windowAverage,
  type WindowState,
} from './window.js';

/** AIBrix's defaults (context.go, metrics/client.go), which the resolver applies when a field is absent. */
export const KPA_DEFAULTS: KpaParams = {
  stableWindowSeconds: 180,
  panicWindowSeconds: 60,
  panicThreshold: 2,
  maxScaleUpRate: 2,
  maxScaleDownRate: 2,
  upTolerance: 0.1,
  downTolerance: 0.1,
  activationScale: 1,
};

export interface KpaState {
  /** Window over total demand; created on the first tick (its length comes from the params). */
  readonly stable: WindowState | null;
  readonly panic: WindowState | null;
  /** Knative's panicTime: the last tick the panic condition held; `null` when not panicking. */
  readonly panicSinceMs: number | null;
  /** While panicking the recommendation never drops below this (Knative's maxPanicPods). */
  readonly maxPanicPods: number;
  /**
   * False until the first recommendation. A fresh decider with more than one ready pod starts in
   * panic (Knative #4795), so that a restart with empty windows never scales down at once.
   */
  readonly started: boolean;
}

export function kpaInitialState(): KpaState {
  return { stable: null, panic: null, panicSinceMs: null, maxPanicPods: 0, started: false };
}

function ensureWindow(window: WindowState | null, seconds: number): WindowState {
  const ms = seconds * 1000;
  return window === null ? createWindow(ms) : resizeWindow(window, ms);
}

/**
 * This tick's total demand. With some ready pods unknown, the known pods' mean stands in for them
 * (extrapolation): the recording stays comparable to full ticks, and the caller refuses to scale
 * down on such a tick.
 */
function totalDemand(obs: Observation, input: AlgorithmInput): number | undefined {
  if (obs.kind === 'none') return undefined;
  if (obs.kind === 'global') {
    // A global Utilization is already an average per pod; Value/AverageValue are totals.
    return input.targetType === 'Utilization' ? obs.value * Math.max(1, input.readyPods) : obs.value;
  }
  const known = sum(obs.known);
  if (obs.missing === 0) return known;
  return (known / obs.known.length) * (obs.known.length + obs.missing);
}

/**
 * Rate limit `[down, up]` that never pushes against the wanted direction: with few ready pods the
 * up-limit can fall below the current size, and that must mean "hold", not "shrink" (pods that
 * are still loading are capacity on its way).
 */
function limit(wanted: number, current: number, down: number, up: number): number {
  let v = Math.min(Math.max(wanted, down), up);
  if (wanted >= current && v < current) v = current;
  if (wanted <= current && v > current) v = current;
  return v;
}

export function kpaRecommend(
  input: AlgorithmInput,
  params: KpaParams,
  state: KpaState,
): { recommendation: Recommendation; state: KpaState } {
  const { nowMs, target: T } = input;
  const c = input.currentReplicas;
  let stable = ensureWindow(state.stable, params.stableWindowSeconds);
  let panic = ensureWindow(state.panic, params.panicWindowSeconds);
  const obs = observe(input);
  const demand = totalDemand(obs, input);
  if (demand !== undefined) {
    stable = recordSample(stable, nowMs, demand);
    panic = recordSample(panic, nowMs, demand);
  }
  const stableValue = windowAverage(stable, nowMs);
  const panicWindowValue = windowAverage(panic, nowMs);
  stable = pruneWindow(stable, nowMs);
  panic = pruneWindow(panic, nowMs);
  const cov = coverage(obs);
  const base: DecisionDetails = {
    totalDemand: demand ?? null,
    readyPods: input.readyPods,
    startingPods: obs.unready,
    knownPods: obs.kind === 'pods' ? obs.known.length : null,
    ...cov,
  };

  const badTarget = unusableTarget('kpa', input);
  if (badTarget !== undefined) {
    return {
      recommendation: { replicas: undefined, reason: badTarget, details: base },
      state: { ...state, stable, panic },
    };
  }
  if (stableValue === undefined) {
    const why = obs.kind === 'none' ? obs.why : 'no data';
    return {
      recommendation: {
        replicas: undefined,
        reason: `kpa: no demand observed in the last ${params.stableWindowSeconds}s (${why})`,
        details: { ...base, stableValue: null, panicValue: null, panicMode: state.panicSinceMs !== null },
      },
      state: { ...state, stable, panic },
    };
  }
  const panicValue = panicWindowValue ?? stableValue;

  // Knative bases the rate limits and the panic ratio on ready pods, never below 1.
  const readyBase = Math.max(1, input.readyPods);
  const up = Math.ceil(params.maxScaleUpRate * readyBase);
  const down = Math.floor(readyBase / params.maxScaleDownRate);
  const hi = T * (1 + params.upTolerance);
  const lo = T * (1 - params.downTolerance);
  const inBand = (total: number): boolean => c > 0 && total / c >= lo && total / c <= hi;
  const rawStable = Math.ceil(stableValue / T);
  const rawPanic = Math.ceil(panicValue / T);
  let desiredStable = limit(inBand(stableValue) ? c : rawStable, c, down, up);
  let desiredPanic = limit(inBand(panicValue) ? c : rawPanic, c, down, up);
  const a = params.activationScale;
  if (a > 1) {
    if (rawStable > 0 && a > desiredStable) desiredStable = a;
    if (rawPanic > 0 && a > desiredPanic) desiredPanic = a;
  }

  let panicSinceMs = state.panicSinceMs;
  let maxPanicPods = state.maxPanicPods;
  if (!state.started && input.readyPods > 1) {
    panicSinceMs = nowMs;
    maxPanicPods = input.readyPods;
  }
  const panicRatio = rawPanic / readyBase;
  const overThreshold = panicRatio >= params.panicThreshold;
  if (overThreshold) {
    panicSinceMs = nowMs;
  } else if (panicSinceMs !== null && panicSinceMs + params.stableWindowSeconds * 1000 < nowMs) {
    panicSinceMs = null;
    maxPanicPods = 0;
  }
  const panicMode = panicSinceMs !== null;

  let desired = desiredStable;
  const notes: string[] = [];
  if (panicMode) {
    desired = Math.max(desiredStable, desiredPanic);
    if (desired > maxPanicPods) maxPanicPods = desired;
    else if (desired < maxPanicPods) notes.push(`holding ${maxPanicPods}: no scale-down while panicking`);
    desired = maxPanicPods;
  }
  const hold = missingDataHold(cov, desired, c);
  if (hold !== undefined) {
    notes.push(hold);
    desired = c;
  }

  const reason = panicMode
    ? `kpa panic mode: panic-window demand ${fmt(panicValue)} needs ${rawPanic} replica(s) at ${fmt(T)} each ` +
      `(${fmt(panicRatio)}× ${readyBase} ready) → ${desired}`
    : `kpa stable mode: demand ${fmt(stableValue)} at ${fmt(T)} per replica` +
      (inBand(stableValue) ? ` is within tolerance of ${c} replica(s)` : ` needs ${rawStable}`) +
      ` → ${desired}`;
  return {
    recommendation: {
      replicas: desired,
      reason: notes.length > 0 ? `${reason} (${notes.join('; ')})` : reason,
      details: {
        ...base,
        stableValue,
        panicValue,
        panicMode,
        panicRatio,
        desiredStable,
        desiredPanic,
        upLimit: up,
        downLimit: down,
        maxPanicPods,
      },
    },
    state: { stable, panic, panicSinceMs, maxPanicPods, started: true },
  };
}

export const kpaAlgorithm: ScalingAlgorithm<KpaParams, KpaState> = {
  name: 'kpa',
  initialState: kpaInitialState,
  recommend: kpaRecommend,
};

// ---------------------------------------------------------------------------------------------
// AIBrix transcription (kpa.go), kept for parity vectors. Not used by the recommender above.
// ---------------------------------------------------------------------------------------------

export interface AibrixKpaInputs {
  currentReplicas: number;
  target: number;
  /** Stable-window average of the per-pod mean (AIBrix's S). */
  stableValue: number;
  /** Panic-window average of the per-pod mean (AIBrix's P). */
  panicValue: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  upTolerance: number;
  downTolerance: number;
  inPanic: boolean;
  /** Always 0 in AIBrix production (context.go). */
  maxPanicPods: number;
  /** Always 1 in AIBrix production (context.go). */
  activationScale: number;
}

/** AIBrix `computeTargetReplicas` (kpa.go:100-190), same operation order, no bounds clamp. */
export function kpaComputeTargetReplicasAibrix(i: AibrixKpaInputs): number {
  const c = i.currentReplicas;
  const T = i.target;
  if (!(T > 0)) return c;
  const R = Math.max(0, c);
  const U = Math.max(1, Math.ceil(i.maxScaleUpRate * R));
  const D = Math.floor(R / i.maxScaleDownRate);
  const hi = T * (1 + i.upTolerance);
  const lo = T * (1 - i.downTolerance);
  const dS = i.stableValue > hi || i.stableValue < lo ? Math.ceil(i.stableValue / T) : c;
  const dP = i.panicValue > hi || i.panicValue < lo ? Math.ceil(i.panicValue / T) : c;
  let DS = Math.min(Math.max(dS, D), U);
  let DP = Math.min(Math.max(dP, D), U);
  const a = i.activationScale;
  if (a > 1) {
    if (a > DS && DS > 0) DS = a;
    if (a > DP && DP > 0) DP = a;
  }
  if (!i.inPanic) return DS;
  const X = Math.max(DS, DP);
  let K = i.maxPanicPods;
  if (X > K) K = X;
  return K;
}

/** AIBrix's stateless panic test (kpa.go:50-58, 91-96): strict ">" and S ≤ 0 forces panic. */
export function kpaPanicAibrix(stableValue: number, panicValue: number, panicThreshold: number): boolean {
  return stableValue <= 0 || panicValue / stableValue > panicThreshold;
}
