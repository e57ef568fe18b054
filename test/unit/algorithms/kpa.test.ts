import { describe, expect, it } from 'vitest';
import {
  KPA_DEFAULTS,
  kpaComputeTargetReplicasAibrix,
  kpaInitialState,
  kpaPanicAibrix,
  kpaRecommend,
  type KpaState,
} from '../../../algorithms/kpa.js';
import type { KpaParams } from '../../../algorithms/params.js';
import { createWindow, recordSample } from '../../../algorithms/window.js';
import { SEC, T0, clamp, globalInput, noSampleInput, podsInput } from './helpers.js';

const P: KpaParams = KPA_DEFAULTS;

/** A state that has seen the given total-demand samples and is past its first tick. */
function warm(samples: readonly [number, number][], params: KpaParams = P): KpaState {
  let stable = createWindow(params.stableWindowSeconds * SEC);
  let panic = createWindow(params.panicWindowSeconds * SEC);
  for (const [t, v] of samples) {
    stable = recordSample(stable, t, v);
    panic = recordSample(panic, t, v);
  }
  return { ...kpaInitialState(), stable, panic, started: true };
}
const WARM = warm([]);

describe('kpaComputeTargetReplicasAibrix: AIBrix kpa_test.go vectors K1–K7 (τ = 0, no clamp)', () => {
  const rows: [string, number, number, number, number, number, number, boolean, number, number, number][] = [
    // name, c, T, S, P, r↑, r↓, inPanic, maxPanicPods, activation, expected
    ['K1 stable_mode_basic_scaling', 2, 10, 20, 20, 2, 2, false, 0, 1, 2],
    ['K2 panic_mode_scaling_up', 2, 10, 30, 40, 2, 2, true, 2, 1, 4],
    ['K3 panic_mode_no_scale_down', 5, 10, 20, 20, 2, 2, true, 5, 1, 5],
    ['K4 scale_to_zero', 1, 10, 0, 0, 2, 2, false, 0, 1, 0],
    ['K5 activation_scale_from_zero', 0, 10, 15, 15, 2, 2, false, 0, 3, 3],
    ['K6 max_scale_up_rate_limit', 2, 10, 100, 100, 1.5, 2, false, 0, 1, 3],
    ['K7 max_scale_down_rate_limit', 4, 10, 5, 5, 2, 2, false, 0, 1, 2],
  ];
  it.each(rows)('%s', (_name, c, T, S, Pv, up, down, inPanic, maxPanicPods, activationScale, expected) => {
    expect(
      kpaComputeTargetReplicasAibrix({
        currentReplicas: c,
        target: T,
        stableValue: S,
        panicValue: Pv,
        maxScaleUpRate: up,
        maxScaleDownRate: down,
        upTolerance: 0,
        downTolerance: 0,
        inPanic,
        maxPanicPods,
        activationScale,
      }),
    ).toBe(expected);
  });
});

/**
 * §2.6.3 production rows: S and P are AIBrix's per-pod means. AIBrix's result comes from the
 * transcription (panic test + core + clamp); ours from the recommender fed the same pods.
 */
describe('§2.6.3 KPA production rows: AIBrix versus ours', () => {
  function aibrix(c: number, S: number, Pv: number, T: number, m = 1, M = 10): number {
    const inPanic = kpaPanicAibrix(S, Pv, 2);
    const r = kpaComputeTargetReplicasAibrix({
      currentReplicas: c,
      target: T,
      stableValue: S,
      panicValue: Pv,
      maxScaleUpRate: 2,
      maxScaleDownRate: 2,
      upTolerance: 0.1,
      downTolerance: 0.1,
      inPanic,
      maxPanicPods: 0,
      activationScale: 1,
    });
    return clamp(r, m, M);
  }

  /** Our result for c ready pods whose per-pod stable/panic averages are S and P. */
  function ours(
    c: number,
    S: number,
    Pv: number,
    T: number,
    m = 1,
    M = 10,
  ): { replicas: number; panic: boolean } {
    const now = T0;
    // Old samples (inside the stable window only) bring the stable average down to S.
    const samples: [number, number][] =
      S === Pv
        ? []
        : (() => {
            // n old samples of x per pod and one recent sample of P: (n·x + P)/(n + 1) = S, n = 2.
            const x = (3 * S - Pv) / 2;
            return [
              [now - 150 * SEC, x * c],
              [now - 120 * SEC, x * c],
            ];
          })();
    const { recommendation } = kpaRecommend(
      podsInput(c, T, Array<number>(c).fill(Pv), { nowMs: now, bounds: { min: m, max: M } }),
      P,
      warm(samples),
    );
    expect(recommendation.details.stableValue).toBeCloseTo(S * c, 9);
    expect(recommendation.details.panicValue).toBeCloseTo(Pv * c, 9);
    return {
      replicas: clamp(recommendation.replicas as number, m, M),
      panic: recommendation.details.panicMode as boolean,
    };
  }

  // [c, S, P, T, AIBrix, ours, note]
  const rows: [number, number, number, number, number, number, string][] = [
    [4, 0.8, 0.8, 0.5, 2, 7, 'W-1: AIBrix scales an overloaded workload down; total 3.2 needs 7'],
    [1, 0.8, 0.8, 0.5, 2, 2, 'same'],
    [4, 12, 12, 10, 2, 5, 'W-1: 4 pods at 12 = 48 → 5'],
    [4, 40, 40, 10, 4, 8, 'W-1: 160 needs 16, rate limit 2·4 = 8'],
    [10, 5, 5, 10, 5, 5, 'same (D = 5)'],
    [1, 100, 100, 10, 2, 2, 'same (U = 2)'],
    [2, 10, 30, 10, 3, 4, 'W-1: panic total 60 needs 6, limited to 4'],
    [2, 10.5, 10.5, 10, 2, 2, 'same (inside the band)'],
    [5, 20, 50, 10, 5, 10, 'W-1: totals 100/250, limited to 10'],
  ];
  it.each(rows)(
    'c=%d S=%d P=%d T=%d: AIBrix %d, ours %d (%s)',
    (c, S, Pv, T, expectedAibrix, expectedOurs) => {
      expect(aibrix(c, S, Pv, T)).toBe(expectedAibrix);
      expect(ours(c, S, Pv, T).replicas).toBe(expectedOurs);
    },
  );

  it('c=3, no load: both give 1; AIBrix calls it panic (S ≤ 0), we stay stable (W-8)', () => {
    expect(aibrix(3, 0, 0, 10)).toBe(1);
    expect(kpaPanicAibrix(0, 0, 2)).toBe(true);
    const r = ours(3, 0, 0, 10);
    expect(r).toEqual({ replicas: 1, panic: false });
  });

  it('c=1, no load, m = 0: both give 0', () => {
    expect(aibrix(1, 0, 0, 10, 0)).toBe(0);
    expect(ours(1, 0, 0, 10, 0).replicas).toBe(0);
  });

  it('c=0 with a global value of 25 at T = 10, m = 0: AIBrix 1 (U = 1), ours 2 (Knative base max(1, ready))', () => {
    expect(aibrix(0, 25, 25, 10, 0)).toBe(1);
    const { recommendation } = kpaRecommend(
      globalInput(0, 10, 25, { readyPods: 0, bounds: { min: 0, max: 10 } }),
      P,
      WARM,
    );
    expect(recommendation.replicas).toBe(2);
    expect(recommendation.details.upLimit).toBe(2);
  });
});

describe('kpa: total demand (W-1)', () => {
  it('4 pods each at 12 with target 10 → total 48 → 5 replicas', () => {
    const { recommendation } = kpaRecommend(podsInput(4, 10, [12, 12, 12, 12]), P, WARM);
    expect(recommendation.replicas).toBe(5);
    expect(recommendation.details.stableValue).toBe(48);
    expect(recommendation.details.desiredStable).toBe(5);
    expect(recommendation.details.panicMode).toBe(false);
    expect(recommendation.reason).toMatch(/stable mode/);
  });

  it('a 0..1 metric is not capped at 2 replicas', () => {
    const { recommendation } = kpaRecommend(podsInput(8, 0.5, Array<number>(8).fill(0.9)), P, WARM);
    expect(recommendation.replicas).toBe(15); // 7.2 / 0.5 = 14.4
  });

  it('a global Value is the total demand', () => {
    const { recommendation } = kpaRecommend(globalInput(3, 10, 52), P, WARM);
    expect(recommendation.replicas).toBe(6);
  });
});

describe('kpa: panic mode (Knative semantics, W-8)', () => {
  const fast: KpaParams = { ...P, stableWindowSeconds: 60, panicWindowSeconds: 6 };

  it('enters panic on a spike, never scales down while panicking, holds for a stable window', () => {
    let state: KpaState = { ...kpaInitialState(), started: true };
    let c = 2;
    const at = (s: number): number => T0 + s * SEC;
    type Rec = ReturnType<typeof kpaRecommend>['recommendation'];
    const run = (from: number, to: number, total: number, check?: (r: Rec, s: number) => void): void => {
      for (let s = from; s <= to; s += 2) {
        const r = kpaRecommend(
          podsInput(c, 10, Array<number>(c).fill(total / c), { nowMs: at(s) }),
          fast,
          state,
        );
        state = r.state;
        check?.(r.recommendation, s);
        c = r.recommendation.replicas as number;
      }
    };
    run(0, 98, 20, (r) => expect(r.replicas).toBe(2));
    let peak = 0;
    run(100, 108, 100, (r) => {
      expect(r.details.panicMode).toBe(true);
      expect(r.replicas as number).toBeGreaterThanOrEqual(peak);
      peak = r.replicas as number;
    });
    expect(peak).toBe(10);
    expect(state.panicSinceMs).not.toBeNull();
    const lastOver = state.panicSinceMs as number;
    // Demand falls back, but panic holds (no scale-down) until a stable window after the last
    // over-threshold tick.
    const holdUntil = (lastOver - T0) / SEC + 60;
    run(110, holdUntil, 20, (r) => {
      expect(r.details.panicMode).toBe(true);
      expect(r.replicas).toBe(peak);
    });
    run(holdUntil + 2, holdUntil + 2, 20, (r) => {
      expect(r.details.panicMode).toBe(false);
      expect(r.replicas as number).toBeLessThan(peak);
    });
    expect(state.maxPanicPods).toBe(0);
  });

  it('while in panic, low demand does not lower the recommendation (maxPanicPods)', () => {
    const state: KpaState = { ...WARM, panicSinceMs: T0 - 10 * SEC, maxPanicPods: 5 };
    const { recommendation } = kpaRecommend(podsInput(5, 10, [4, 4, 4, 4, 4]), P, state);
    expect(recommendation.details.panicMode).toBe(true);
    expect(recommendation.details.desiredStable).toBe(2);
    expect(recommendation.replicas).toBe(5);
  });

  it('the panic threshold compares panic-desired pods with ready pods (≥ θ)', () => {
    // 2 ready pods, panic demand 40 at T = 10: 4 pods wanted, ratio exactly 2.
    const { recommendation } = kpaRecommend(podsInput(2, 10, [20, 20]), P, WARM);
    expect(recommendation.details.panicRatio).toBe(2);
    expect(recommendation.details.panicMode).toBe(true);
    expect(recommendation.replicas).toBe(4);
  });

  it('a fresh decider with more than one ready pod starts in panic (no scale-down on empty history)', () => {
    const first = kpaRecommend(podsInput(6, 10, [1, 1, 1, 1, 1, 1]), P, kpaInitialState());
    expect(first.recommendation.details.panicMode).toBe(true);
    expect(first.recommendation.replicas).toBe(6);
    expect(first.state.started).toBe(true);
    // A stable window later, with the condition never met, it leaves panic and scales down.
    const later = kpaRecommend(
      podsInput(6, 10, [1, 1, 1, 1, 1, 1], { nowMs: T0 + (P.stableWindowSeconds + 1) * SEC }),
      P,
      first.state,
    );
    expect(later.recommendation.details.panicMode).toBe(false);
    expect(later.recommendation.replicas).toBe(3);
  });

  it('a fresh decider with one ready pod starts stable', () => {
    const { recommendation } = kpaRecommend(podsInput(1, 10, [5]), P, kpaInitialState());
    expect(recommendation.details.panicMode).toBe(false);
  });
});

describe('kpa: loading guard and missing data', () => {
  it('pods still starting hold the size instead of adding more for the same demand', () => {
    // spec 4, 2 ready at 25 each (total 50 → 5 wanted), 2 starting: the up-limit on 2 ready pods is 4.
    const loading = kpaRecommend(podsInput(4, 10, [25, 25], { readyPods: 2, startingPods: 2 }), P, WARM);
    expect(loading.recommendation.replicas).toBe(4);
    // The same demand with every pod ready asks for 5.
    const ready = kpaRecommend(podsInput(4, 10, [12.5, 12.5, 12.5, 12.5]), P, WARM);
    expect(ready.recommendation.replicas).toBe(5);
  });

  it('busy ready pods do not push the size above what covers the demand', () => {
    const { recommendation } = kpaRecommend(
      podsInput(6, 10, [25, 25], { readyPods: 2, startingPods: 4 }),
      P,
      WARM,
    );
    expect(recommendation.replicas as number).toBeLessThanOrEqual(6);
  });

  it('unknown ready pods: the known mean stands in for them, and no scale-down', () => {
    const up = kpaRecommend(podsInput(4, 10, [12, 12, 12, undefined]), P, WARM);
    expect(up.recommendation.details.totalDemand).toBe(48);
    expect(up.recommendation.details.partial).toBe(true);
    expect(up.recommendation.replicas).toBe(5);
    const down = kpaRecommend(podsInput(4, 10, [1, 1, 1, undefined]), P, WARM);
    expect(down.recommendation.replicas).toBe(4);
    expect(down.recommendation.reason).toMatch(/unknown: not scaling down/);
  });

  it('no sample: recommends from the window but never below the current size', () => {
    const state = warm([[T0 - 10 * SEC, 10]]);
    const { recommendation } = kpaRecommend(noSampleInput(4, 10), P, state);
    expect(recommendation.details.stale).toBe(true);
    expect(recommendation.replicas).toBe(4);
  });

  it('no sample and an empty window: no recommendation (never a silent 0)', () => {
    const { recommendation } = kpaRecommend(noSampleInput(4, 10), P, WARM);
    expect(recommendation.replicas).toBeUndefined();
    expect(recommendation.reason).toMatch(/no demand observed/);
  });

  it('negative or NaN readings count as unknown', () => {
    const { recommendation } = kpaRecommend(podsInput(2, 10, [Number.NaN, -3]), P, WARM);
    expect(recommendation.replicas).toBeUndefined();
  });

  it('a bad target is reported, not computed', () => {
    const { recommendation } = kpaRecommend(podsInput(2, 0, [1, 1]), P, WARM);
    expect(recommendation.replicas).toBeUndefined();
    expect(recommendation.reason).toMatch(/targetValue/);
  });
});

describe('kpa: activation scale and state', () => {
  it('activation scale lifts a non-zero recommendation', () => {
    const { recommendation } = kpaRecommend(
      globalInput(0, 10, 5, { readyPods: 0 }),
      { ...P, activationScale: 3 },
      WARM,
    );
    expect(recommendation.replicas).toBe(3);
  });

  it('state round-trips through JSON with identical results', () => {
    const a = kpaRecommend(podsInput(3, 10, [12, 14, 9]), P, kpaInitialState());
    const b = JSON.parse(JSON.stringify(a.state)) as KpaState;
    const next = podsInput(3, 10, [20, 20, 20], { nowMs: T0 + 5 * SEC });
    expect(kpaRecommend(next, P, b)).toEqual(kpaRecommend(next, P, a.state));
  });
});
