import { describe, expect, it } from 'vitest';
import {
  APA_DEFAULTS,
  apaComputeTargetReplicasAibrix,
  apaInitialState,
  apaRecommend,
  type ApaState,
} from '../../../algorithms/apa.js';
import { combineMetrics } from '../../../algorithms/combine.js';
import type { ApaParams } from '../../../algorithms/params.js';
import { SEC, T0, clamp, globalInput, noSampleInput, podsInput } from './helpers.js';

const P: ApaParams = APA_DEFAULTS;

function aibrix(c: number, T: number, u: number, up = 2, down = 2): number {
  return apaComputeTargetReplicasAibrix({
    currentReplicas: c,
    target: T,
    value: u,
    maxScaleUpRate: up,
    maxScaleDownRate: down,
    upTolerance: 0.1,
    downTolerance: 0.1,
  });
}

function ours(
  input: Parameters<typeof apaRecommend>[0],
  params: ApaParams = P,
  state: ApaState = apaInitialState(),
) {
  return apaRecommend(input, params, state).recommendation;
}

describe('apaComputeTargetReplicasAibrix: AIBrix apa_test.go vectors A1–A11 (τ = 0.1, no clamp)', () => {
  const rows: [string, number, number, number, number, number, number][] = [
    // name, c, T, u, r↑, r↓, expected
    ['A1 basic_scale_up', 2, 30, 45, 2, 2, 3],
    ['A2 scale_up_upto_ceiling', 2, 30, 35, 2, 2, 3],
    ['A3 scale_up_upto_max_scale_up', 2, 30, 90, 2, 2, 4],
    ['A4 scale_up_upto_max_scale_up_ceiling', 2, 30, 90, 2.5, 2, 5],
    ['A5 basic_scale_down', 6, 30, 20, 2, 2, 4],
    ['A6 scale_down_upto_ceiling', 6, 30, 18, 2, 2, 4],
    ['A7 scale_down_upto_max_scale_down', 6, 30, 10, 2, 2, 3],
    ['A8 scale_down_upto_max_scale_down_floor', 6, 30, 5, 2, 2.5, 2],
    ['A9 no_scaling_as_within_up_tolerance', 2, 30, 33, 2, 2, 2],
    ['A10 no_scaling_as_within_down_tolerance', 2, 30, 27, 2, 2, 2],
    ['A11 division_by_zero', 1, 0, 10, 1000, 2, 1],
  ];
  it.each(rows)('%s', (_name, c, T, u, up, down, expected) => {
    expect(aibrix(c, T, u, up, down)).toBe(expected);
  });

  it.each(rows.filter((r) => r[2] > 0))(
    '%s: the recommender agrees when every pod is ready',
    (_n, c, T, u, up, down, expected) => {
      const params = { ...P, maxScaleUpRate: up, maxScaleDownRate: down };
      // One global per-pod value keeps u exact (a mean over c equal floats can add noise).
      const r = ours(globalInput(c, T, u, { targetType: 'Utilization' }), params);
      expect(r.replicas).toBe(expected);
      expect(r.details.windowValue).toBe(u);
    },
  );

  it('operation order: ρ = u/T first, then c·ρ (3 · (0.1/0.3) = 1, not (3·0.1)/0.3 → 2)', () => {
    expect(aibrix(3, 0.3, 0.1)).toBe(1);
    expect(Math.ceil((3 * 0.1) / 0.3)).toBe(2);
    expect(ours(globalInput(3, 0.3, 0.1, { targetType: 'Utilization' })).replicas).toBe(1);
  });
});

describe('apa: full pipeline vector (autoscaler_test.go): 1 pod at 70, r↑ = 4, bounds [0, 6]', () => {
  it('gpu_cache_usage_perc T = 50 gives 2; adding cpu T = 30 gives the max, 3', () => {
    const params = { ...P, maxScaleUpRate: 4 };
    const bounds = { min: 0, max: 6 };
    const gpu = ours(podsInput(1, 50, [70], { bounds, metric: 'gpu_cache_usage_perc' }), params);
    const cpu = ours(podsInput(1, 30, [70], { bounds, metric: 'cpu' }), params);
    expect(gpu.replicas).toBe(2);
    expect(cpu.replicas).toBe(3);
    const combined = combineMetrics(
      [
        { metric: 'gpu_cache_usage_perc', recommendation: gpu },
        { metric: 'cpu', recommendation: cpu },
      ],
      1,
    );
    expect(combined.replicas).toBe(3);
    expect(combined.details.winningMetric).toBe('cpu');
  });
});

describe('§2.6.3 APA production rows (clamp [1, 10] unless m = 0)', () => {
  // Per-pod rows: every pod ready, so ours equals AIBrix.
  const rows: [number, number, number, number][] = [
    [4, 0.8, 0.5, 7],
    [4, 0.2, 0.5, 2],
    [4, 0.47, 0.5, 4],
    [4, 0.56, 0.5, 5],
    [3, 0, 0.5, 1],
    [1, 70, 30, 2],
    [1, 100, 40, 2],
    [2, 100, 40, 4],
    [4, 100, 40, 8],
  ];
  it.each(rows)('per-pod: c=%d u=%d T=%d → %d (AIBrix and ours)', (c, u, T, expected) => {
    expect(clamp(aibrix(c, T, u), 1, 10)).toBe(expected);
    const r = ours(podsInput(c, T, Array<number>(c).fill(u)));
    expect(clamp(r.replicas as number, 1, 10)).toBe(expected);
  });

  it('global value 100 at T = 40: AIBrix grows 1 → 2 → 4 → 8 → 10 (W-14); ours settles at ceil(100/40) = 3', () => {
    let cA = 1;
    let cO = 1;
    const aSeq: number[] = [];
    const oSeq: number[] = [];
    let state = apaInitialState();
    for (let i = 0; i < 5; i++) {
      cA = clamp(aibrix(cA, 40, 100), 1, 10);
      aSeq.push(cA);
      const out = apaRecommend(globalInput(cO, 40, 100, { nowMs: T0 + i * 10 * SEC }), P, state);
      state = out.state;
      cO = clamp(out.recommendation.replicas as number, 1, 10);
      oSeq.push(cO);
    }
    expect(aSeq).toEqual([2, 4, 8, 10, 10]);
    expect(oSeq).toEqual([2, 3, 3, 3, 3]);
  });

  it("c = 0, global value 100, m = 0: AIBrix cannot leave zero (U' = 0, W-9); ours goes to 1", () => {
    expect(clamp(aibrix(0, 40, 100), 0, 10)).toBe(0);
    const r = ours(globalInput(0, 40, 100, { readyPods: 0, bounds: { min: 0, max: 10 } }));
    expect(r.replicas).toBe(1);
    const idle = ours(globalInput(0, 40, 0, { readyPods: 0, bounds: { min: 0, max: 10 } }));
    expect(idle.replicas).toBe(0);
  });
});

describe('apa: loading guard (AIBrix #2670)', () => {
  it('starting pods suppress a repeat scale-up: 2 ready at 1.5× target, 2 starting → hold 4 (AIBrix: 6)', () => {
    const r = ours(podsInput(4, 10, [15, 15], { readyPods: 2, startingPods: 2 }));
    expect(aibrix(4, 10, 15)).toBe(6);
    expect(r.replicas).toBe(4);
    expect(r.details.base).toBe(2);
    expect(r.reason).toMatch(/still starting/);
  });

  it('demand beyond what the starting pods will serve still scales up, from the ready base', () => {
    const r = ours(podsInput(4, 10, [30, 30], { readyPods: 2, startingPods: 2 }));
    expect(r.replicas).toBe(6);
    expect(r.details.estimate).toBe(6);
  });

  it("with every pod ready the result is AIBrix's", () => {
    expect(ours(podsInput(4, 10, [15, 15, 15, 15])).replicas).toBe(aibrix(4, 10, 15));
  });

  it('not-ready pods listed in the sample do not pull the mean down', () => {
    const input = podsInput(4, 10, [15, 15], { readyPods: 2, startingPods: 2 });
    if (input.sample?.scope !== 'pods') throw new Error('expected pods');
    const withUnready = {
      ...input,
      sample: {
        scope: 'pods' as const,
        pods: [
          ...input.sample.pods,
          { pod: 'new-0', ready: false, value: 0 },
          { pod: 'new-1', ready: false, value: 0 },
        ],
      },
    };
    expect(ours(withUnready).details.windowValue).toBe(15);
  });
});

describe('apa: windows and missing data', () => {
  it('u is the window average of per-tick means', () => {
    let state = apaInitialState();
    let r;
    for (const [s, values] of [
      [0, [10, 20]],
      [10, [30, 30]],
      [20, [40, 50]],
    ] as const) {
      ({ recommendation: r, state } = apaRecommend(
        podsInput(2, 30, values, { nowMs: T0 + s * SEC }),
        P,
        state,
      ));
    }
    expect(r?.details.windowValue).toBe(30); // (15 + 30 + 45) / 3
    expect(r?.replicas).toBe(2);
  });

  it('some ready pods unknown: mean over the known ones, never a scale-down', () => {
    const r = ours(podsInput(2, 10, [5, undefined]));
    expect(r.details.windowValue).toBe(5);
    expect(r.details.partial).toBe(true);
    expect(r.replicas).toBe(2);
    const up = ours(podsInput(2, 10, [30, undefined]));
    expect(up.replicas).toBe(4);
  });

  it('no sample: decides from the window, never below current', () => {
    const first = apaRecommend(podsInput(4, 10, [2, 2, 2, 2]), P, apaInitialState());
    expect(first.recommendation.replicas).toBe(2);
    const stale = apaRecommend(noSampleInput(4, 10, { nowMs: T0 + 5 * SEC }), P, first.state);
    expect(stale.recommendation.details.stale).toBe(true);
    expect(stale.recommendation.replicas).toBe(4);
  });

  it('an empty window gives no recommendation, not u = 0 (W-12)', () => {
    const r = ours(noSampleInput(4, 10));
    expect(r.replicas).toBeUndefined();
    const expired = apaRecommend(podsInput(4, 10, [2, 2, 2, 2]), P, apaInitialState()).state;
    const later = apaRecommend(noSampleInput(4, 10, { nowMs: T0 + (P.windowSeconds + 1) * SEC }), P, expired);
    expect(later.recommendation.replicas).toBeUndefined();
  });

  it('switching between per-pod and total meaning starts a fresh window', () => {
    const a = apaRecommend(podsInput(2, 10, [50, 50]), P, apaInitialState());
    const b = apaRecommend(globalInput(2, 10, 20, { nowMs: T0 + SEC }), P, a.state);
    expect(b.recommendation.details.windowValue).toBe(20);
    expect(b.state.mode).toBe('total');
  });

  it('state round-trips through JSON', () => {
    const a = apaRecommend(podsInput(3, 10, [12, 14, 9]), P, apaInitialState());
    const copy = JSON.parse(JSON.stringify(a.state)) as ApaState;
    const next = podsInput(3, 10, [20, 20, 20], { nowMs: T0 + 5 * SEC });
    expect(apaRecommend(next, P, copy)).toEqual(apaRecommend(next, P, a.state));
  });
});
