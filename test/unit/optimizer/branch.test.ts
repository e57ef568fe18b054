/**
 * The branch and bound over GPU counts: its pieces (cost grain, useful units, the two rounding
 * heuristics) and its contract under a time budget and a gap tolerance.
 */
import { describe, expect, it } from 'vitest';
import {
  buildProblem,
  checkAllocation,
  costGrain,
  fitSlices,
  formulate,
  optimize,
  OptimizeOptionsSchema,
  roundedPlan,
  unitsPerSlice,
  usefulUnits,
  type GpuOption,
  type MilpSolution,
  type MilpSolver,
  type OptimizeOptionsInput,
  type Problem,
} from '../../../algorithms/optimizer/index.js';
import { ok, profile, uniformGpu, withHighs, workload } from './fixtures.js';

const solver = withHighs();

const grid = { input: [128, 256, 512], output: [16, 64] };

function problemOf(gpus: GpuOption[], rps: number[][], options: OptimizeOptionsInput = {}): Problem {
  const built = buildProblem({
    gpus,
    workload: workload(grid, rps),
    options: OptimizeOptionsSchema.parse(options),
  });
  if (built.kind !== 'problem') throw new Error(built.kind);
  return built.problem;
}

/** Three types, six loaded buckets: enough for a search of several nodes with whole slices. */
const gpus: GpuOption[] = [
  {
    name: 'small',
    profile: profile('small', 0.7, grid, [
      [3.1, 1.7],
      [2.3, 1.1],
      [1.2, 0],
    ]),
  },
  {
    name: 'mid',
    profile: profile('mid', 1.48, grid, [
      [7.3, 4.1],
      [5.9, 2.9],
      [3.3, 1.3],
    ]),
  },
  {
    name: 'big',
    profile: profile('big', 3.78, grid, [
      [19.1, 9.7],
      [13.7, 7.1],
      [8.9, 3.7],
    ]),
  },
];
const rps = [
  [7.3, 2.9],
  [4.1, 3.3],
  [2.2, 1.9],
];

/** HiGHS with every answer passed through `edit`; `cols` are the columns an LP re-solve bounded. */
function editing(edit: (answer: MilpSolution, cols?: readonly number[]) => MilpSolution): MilpSolver {
  return {
    solve: (model, opts) => edit(solver().solve(model, opts)),
    openLp: (model) => {
      const session = solver().openLp?.(model);
      if (session === undefined) throw new Error('the HiGHS adapter has no LP sessions');
      return {
        solve: (change, limit) => edit(session.solve(change, limit), change.cols),
        dispose: () => session.dispose(),
      };
    },
  };
}

describe('pieces', () => {
  it('the cost grain is the decimal step of every price per unit, if there is one', () => {
    expect(costGrain(problemOf(gpus, rps))).toBeCloseTo(0.01, 12);
    expect(costGrain(problemOf(gpus, rps, { unitsPerReplica: 100 }))).toBeCloseTo(0.0001, 12);
    const third = [uniformGpu('x', 1 / 3, grid, 1)];
    expect(costGrain(problemOf(third, rps))).toBeUndefined();
  });

  it('useful units: enough for every bucket a type can serve, within its bounds', () => {
    const p = problemOf(gpus, rps);
    // 'small' cannot serve (512, 64): its 1.9 req/s do not count. All else: Σ rps / maxRps.
    const all = 7.3 / 3.1 + 2.9 / 1.7 + 4.1 / 2.3 + 3.3 / 1.1 + 2.2 / 1.2;
    expect(usefulUnits(p, 0)).toEqual({ lower: 0, upper: Math.ceil(all) });
    const bounded = problemOf(
      [
        { ...(gpus[0] as GpuOption), minReplicas: 20 },
        { ...(gpus[1] as GpuOption), maxReplicas: 2 },
        gpus[2] as GpuOption,
      ],
      rps,
    );
    expect(usefulUnits(bounded, 0)).toEqual({ lower: 20, upper: 20 });
    expect(usefulUnits(bounded, 1)).toEqual({ lower: 0, upper: 2 });
    const y = formulate(bounded).yCol.map((c) => formulate(bounded).model.colUpper[c]);
    expect(y[1]).toBe(2);
  });

  it('roundedPlan turns shares into whole slices and buys the units they need', () => {
    const p = problemOf(gpus, rps, { sliceFactor: 2 });
    const perSlice = unitsPerSlice(p);
    const shares = p.buckets.map((_, b) => (b % 2 === 0 ? [0.6, 1.4, 0] : [0, 0.5, 1.5]));
    const plan = roundedPlan(p, perSlice, shares);
    if (plan === undefined) throw new Error('no plan');
    expect(plan.slices.every((row) => row.reduce((s, x) => s + x, 0) === 2)).toBe(true);
    expect(checkAllocation(p, plan)).toEqual([]);
    // No more units than the rounded loads need.
    const less = plan.units.map((u, g) => (g === 1 ? u - 1 : u));
    expect(checkAllocation(p, { slices: plan.slices, units: less }).join()).toMatch(/load needs/);
    // A cap the rounded loads break: no plan this way.
    const capped = problemOf(
      gpus.map((g) => ({ ...g, maxReplicas: 1 })),
      rps,
      { sliceFactor: 2 },
    );
    expect(roundedPlan(capped, unitsPerSlice(capped), shares)).toBeUndefined();
  });

  it('fitSlices re-places split buckets, then everything, and never overfills', () => {
    const two = [uniformGpu('a', 1, grid, 1), uniformGpu('b', 1, grid, 1)];
    // Loads 0.6, 0.5, 0.4, 0.3 replicas, whole buckets (S = 1): 0.6 + 0.4 and 0.5 + 0.3 fill two units.
    const p = problemOf(
      two,
      [
        [0.6, 0.5],
        [0.4, 0.3],
        [0, 0],
      ],
      { sliceFactor: 1 },
    );
    const perSlice = unitsPerSlice(p);
    const loads = p.buckets.map((b) => b.rps);
    expect(loads).toEqual([0.6, 0.5, 0.4, 0.3]);
    // Shares that keep 0.6 and 0.5 whole on a overfill it: only placing everything again helps.
    const shares = [
      [1, 0],
      [1, 0],
      [0.5, 0.5],
      [0.5, 0.5],
    ];
    const fit = fitSlices(p, perSlice, shares, [1, 1]);
    if (fit === undefined) throw new Error('no fit');
    expect(checkAllocation(p, { slices: fit, units: [1, 1] })).toEqual([]);
    // 1.8 replicas of load cannot fit in 1 + 0 units, whatever the shares say.
    expect(fitSlices(p, perSlice, shares, [1, 0])).toBeUndefined();
    expect(fitSlices(p, perSlice, shares, [0, 1])).toBeUndefined();
  });
});

describe('search', () => {
  it('counts whole slices cannot fill are excluded with every smaller count, and the search goes on', () => {
    // Three buckets of 2/3 replica, whole (S = 1). One A and one B (2.00/h) carry them as shares,
    // so the very first LP is whole, but each holds one bucket; one C with an A or a B (2.05) holds
    // two. Only the rest of the first box, C ≥ 1 or more, has the cheapest plan: 2 C (2.10).
    const rates = [
      [2, 0],
      [2, 0],
      [2, 0],
    ];
    const flat = (name: string, cost: number, max?: number): GpuOption => ({
      ...uniformGpu(name, cost, grid, 3),
      maxReplicas: max,
    });
    const lps: number[][] = [];
    const watching = editing((answer, cols) => {
      if (cols) lps.push(cols.map((col) => answer.values?.[col] ?? NaN));
      return answer;
    });
    const r = optimize(
      {
        gpus: [flat('A', 1, 1), flat('B', 1, 1), flat('C', 1.05)],
        load: ok(workload(grid, rates)),
        options: { sliceFactor: 1 },
      },
      watching,
    );
    expect(lps[0]?.map((v) => Math.round(v * 1e6) / 1e6 + 0)).toEqual([1, 1, 0]);
    if (r.kind !== 'plan') throw new Error(r.kind);
    expect(r.plan.costPerHour).toBeCloseTo(2.1, 9);
    expect(r.plan.gpus.map((g) => g.replicas)).toEqual([0, 0, 2]);
    expect(r.plan.proven).toBe(true);
  });
});

describe('search contract', () => {
  const exact = (options: OptimizeOptionsInput): number => {
    const r = optimize({ gpus, load: ok(workload(grid, rps)), options }, solver());
    if (r.kind !== 'plan') throw new Error(r.kind);
    expect(r.plan.proven).toBe(true);
    expect(r.plan.gap).toBe(0);
    expect(r.plan.lowerBound).toBe(r.plan.costPerHour);
    return r.plan.costPerHour;
  };

  it('a budget that runs out mid-search gives the best plan so far with a proven lower bound', () => {
    for (const sliceFactor of [1, 3, 'continuous'] as const) {
      const best = exact({ sliceFactor });
      const outcomes = new Set<string>();
      for (let budget = 1; budget <= 60; budget++) {
        // Every solver call reports one second: the budget is a count of calls.
        const slow = editing((answer) => ({ ...answer, runTimeSeconds: 1 }));
        const r = optimize(
          { gpus, load: ok(workload(grid, rps)), options: { sliceFactor, timeLimitSeconds: budget } },
          slow,
        );
        if (r.kind === 'plan') {
          expect(r.plan.lowerBound).toBeLessThanOrEqual(best + 1e-9);
          expect(r.plan.costPerHour).toBeGreaterThanOrEqual(best - 1e-9);
          expect(r.plan.gap).toBeCloseTo((r.plan.costPerHour - r.plan.lowerBound) / r.plan.costPerHour, 12);
          if (r.plan.proven) expect(r.plan.costPerHour).toBeCloseTo(best, 9);
          else expect(r.notes.join(' ')).toMatch(/not proven cheapest \(at most .* above the lower bound/);
          outcomes.add(r.plan.proven ? 'proven' : 'unproven');
        } else {
          expect(r).toMatchObject({ kind: 'solver-failed', reason: 'time-limit' });
          outcomes.add('none');
        }
      }
      // The instance is big enough for the budget to bite, and small enough to finish.
      expect(outcomes.has('proven')).toBe(true);
      expect(outcomes.has('unproven') || outcomes.has('none')).toBe(true);
    }
  });

  it('mipRelGap: the search may stop early, and the plan says how far from the bound it is', () => {
    const best = exact({ sliceFactor: 2 });
    const r = optimize(
      { gpus, load: ok(workload(grid, rps)), options: { sliceFactor: 2, mipRelGap: 0.5 } },
      solver(),
    );
    if (r.kind !== 'plan') throw new Error(r.kind);
    expect(r.plan.proven).toBe(true);
    expect(r.plan.gap).toBeLessThanOrEqual(0.5);
    expect(r.plan.lowerBound).toBeLessThanOrEqual(best + 1e-9);
    expect(r.plan.costPerHour).toBeGreaterThanOrEqual(best - 1e-9);
  });
});
