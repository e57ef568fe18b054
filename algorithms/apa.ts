/**
 * APA: AIBrix's pod autoscaler, exact (apa.go), including the floating-point operation order:
 *
 *   u = average over the window of the per-tick mean over ready pods with known values
 *   ρ = u / T
 *   ρ > 1 + τ↑:  desired = min(ceil(c·ρ), ceil(r↑·c))
 *   ρ < 1 − τ↓:  desired = max(ceil(c·ρ), floor(c/r↓))
 *   otherwise:   desired = c
 *
 * ρ is computed first and then multiplied by c: `(c·u)/T` rounds differently (3·0.1/0.3 → 2).
 *
 * Deliberate differences (docs/algorithms.md):
 * - Loading guard (AIBrix #2670): while pods are starting, the scale-up estimate is based on the
 *   ready pods, E = ceil(ready·ρ), and never drops below c, so pods already coming suppress a
 *   repeat scale-up. With every pod ready this is AIBrix's formula.
 * - W-14: a global value with target type Value/AverageValue is total demand, E = ceil(value/T);
 *   AIBrix multiplies it by c and grows without bound.
 * - W-9: for such global values the up-limit is max(1, ceil(r↑·c)), so APA can leave zero.
 * - W-12: an empty window means no recommendation, never "u = 0, halve the replicas".
 * - Missing data (no fresh sample, or some ready pods unknown) never lowers the recommendation.
 */
import { coverage, fmt, missingDataHold, observe, sum, unusableTarget, type Observation } from './observe.js';
import type { ApaParams } from './params.js';
import type { AlgorithmInput, DecisionDetails, Recommendation, ScalingAlgorithm } from './types.js';
import {
  createWindow,
  pruneWindow,
  recordSample,
  resizeWindow,
  windowAverage,
  type WindowState,
} from './window.js';

/** AIBrix's defaults: the 180 s observe window, rates 2/2, tolerances 0.1/0.1. */
export const APA_DEFAULTS: ApaParams = {
  windowSeconds: 180,
  maxScaleUpRate: 2,
  maxScaleDownRate: 2,
  upTolerance: 0.1,
  downTolerance: 0.1,
};

/**
 * `perPod`: the window holds per-pod averages (pod samples, or a global Utilization).
 * `total`: the window holds total demand (a global Value or AverageValue).
 */
export type ApaMode = 'perPod' | 'total';

export interface ApaState {
  readonly window: WindowState | null;
  /** What the window's values mean; a change of meaning starts a fresh window. */
  readonly mode: ApaMode | null;
}

export function apaInitialState(): ApaState {
  return { window: null, mode: null };
}

function modeOf(obs: Observation, input: AlgorithmInput, previous: ApaMode | null): ApaMode {
  if (obs.kind === 'global') return input.targetType === 'Utilization' ? 'perPod' : 'total';
  if (obs.kind === 'pods') return 'perPod';
  return previous ?? 'perPod';
}

function valueOf(obs: Observation): number | undefined {
  if (obs.kind === 'global') return obs.value;
  if (obs.kind === 'pods') return sum(obs.known) / obs.known.length;
  return undefined;
}

interface Decision {
  desired: number;
  ratio: number | null;
  estimate: number | null;
  upLimit: number | null;
  downLimit: number | null;
  base: number;
  explain: string;
}

/** Scale down to the estimate, but by at most the down-rate: floor(c/r↓). */
function belowTarget(ratio: number, estimate: number, c: number, p: ApaParams): Decision {
  const downLimit = Math.floor(c / p.maxScaleDownRate);
  return {
    desired: Math.max(estimate, downLimit),
    ratio,
    estimate,
    upLimit: null,
    downLimit,
    base: c,
    explain: 'below target',
  };
}

function withinTolerance(ratio: number, estimate: number | null, c: number, base: number): Decision {
  return { desired: c, ratio, estimate, upLimit: null, downLimit: null, base, explain: 'within tolerance' };
}

function decidePerPod(u: number, T: number, c: number, base: number, p: ApaParams): Decision {
  const ratio = u / T;
  if (ratio > 1 + p.upTolerance) {
    const upLimit = Math.ceil(p.maxScaleUpRate * c);
    const estimate = Math.ceil(base * ratio);
    const desired = Math.max(c, Math.min(estimate, upLimit));
    const guard = base < c && estimate <= c ? `; ${c - base} pod(s) still starting cover it` : '';
    return { desired, ratio, estimate, upLimit, downLimit: null, base, explain: `above target${guard}` };
  }
  if (ratio < 1 - p.downTolerance) return belowTarget(ratio, Math.ceil(c * ratio), c, p);
  return withinTolerance(ratio, null, c, base);
}

function decideTotal(demand: number, T: number, c: number, p: ApaParams): Decision {
  const needed = demand / T;
  const estimate = Math.ceil(needed);
  if (c === 0) {
    const desired = estimate > 0 ? Math.min(estimate, 1) : 0;
    return {
      desired,
      ratio: null,
      estimate,
      upLimit: 1,
      downLimit: null,
      base: 0,
      explain: 'waking from zero',
    };
  }
  const ratio = needed / c;
  if (ratio > 1 + p.upTolerance) {
    const upLimit = Math.max(1, Math.ceil(p.maxScaleUpRate * c));
    return {
      desired: Math.min(estimate, upLimit),
      ratio,
      estimate,
      upLimit,
      downLimit: null,
      base: c,
      explain: 'above target',
    };
  }
  if (ratio < 1 - p.downTolerance) return belowTarget(ratio, estimate, c, p);
  return withinTolerance(ratio, estimate, c, c);
}

export function apaRecommend(
  input: AlgorithmInput,
  params: ApaParams,
  state: ApaState,
): { recommendation: Recommendation; state: ApaState } {
  const { nowMs, target: T } = input;
  const c = input.currentReplicas;
  const obs = observe(input);
  const mode = modeOf(obs, input, state.mode);
  const windowMs = params.windowSeconds * 1000;
  let window =
    state.window === null || (state.mode !== null && state.mode !== mode)
      ? createWindow(windowMs)
      : resizeWindow(state.window, windowMs);
  const value = valueOf(obs);
  if (value !== undefined) window = recordSample(window, nowMs, value);
  const windowValue = windowAverage(window, nowMs);
  window = pruneWindow(window, nowMs);
  const nextState: ApaState = { window, mode };
  const cov = coverage(obs);
  const details: DecisionDetails = {
    mode,
    sampleValue: value ?? null,
    windowValue: windowValue ?? null,
    readyPods: input.readyPods,
    startingPods: obs.unready,
    ...cov,
  };
  const badTarget = unusableTarget('apa', input);
  if (badTarget !== undefined) {
    return {
      recommendation: { replicas: undefined, reason: badTarget, details },
      state: nextState,
    };
  }
  if (windowValue === undefined) {
    const why = obs.kind === 'none' ? obs.why : 'no data';
    return {
      recommendation: {
        replicas: undefined,
        reason: `apa: no value observed in the last ${params.windowSeconds}s (${why})`,
        details: { ...details, ratio: null },
      },
      state: nextState,
    };
  }
  // Loading guard: pods that are not ready yet will serve part of the load the ready pods see.
  const base = obs.unready > 0 ? Math.min(Math.max(0, input.readyPods), c) : c;
  const d =
    mode === 'total' ? decideTotal(windowValue, T, c, params) : decidePerPod(windowValue, T, c, base, params);
  const hold = missingDataHold(cov, d.desired, c);
  const desired = hold === undefined ? d.desired : c;
  const note = hold === undefined ? '' : ` (${hold})`;
  const what = mode === 'total' ? `total demand ${fmt(windowValue)}` : `per-pod value ${fmt(windowValue)}`;
  return {
    recommendation: {
      replicas: desired,
      reason: `apa ${d.explain}: ${what} against target ${fmt(T)} → ${desired}${note}`,
      details: {
        ...details,
        ratio: d.ratio,
        estimate: d.estimate,
        base: d.base,
        upLimit: d.upLimit,
        downLimit: d.downLimit,
      },
    },
    state: nextState,
  };
}

export const apaAlgorithm: ScalingAlgorithm<ApaParams, ApaState> = {
  name: 'apa',
  initialState: apaInitialState,
  recommend: apaRecommend,
};

// ---------------------------------------------------------------------------------------------
// AIBrix transcription (apa.go:72-101), kept for parity vectors. No bounds clamp.
// ---------------------------------------------------------------------------------------------

export interface AibrixApaInputs {
  currentReplicas: number;
  target: number;
  /** The stable-window average of the per-pod mean (AIBrix's u = S). */
  value: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  upTolerance: number;
  downTolerance: number;
}

export function apaComputeTargetReplicasAibrix(i: AibrixApaInputs): number {
  const c = i.currentReplicas;
  if (!(i.target > 0)) return c;
  const ratio = i.value / i.target;
  if (ratio > 1 + i.upTolerance) {
    const upLimit = Math.ceil(i.maxScaleUpRate * c);
    return Math.min(Math.ceil(c * ratio), upLimit);
  }
  if (ratio < 1 - i.downTolerance) {
    const downLimit = Math.floor(c / i.maxScaleDownRate);
    return Math.max(Math.ceil(c * ratio), downLimit);
  }
  return c;
}
