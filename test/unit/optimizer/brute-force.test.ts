/**
 * Cross-checks the HiGHS-backed optimizer against exhaustive search on small random instances,
 * and the post-solve check against hand-made bad allocations.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildProblem,
  checkAllocation,
  optimize,
  OptimizeOptionsSchema,
  sliceLoad,
  type GpuOption,
  type MilpSolver,
  type Problem,
} from '../../../algorithms/optimizer/index.js';
import { loadHighsSolver } from '../../../src/optimizer/highs.js';
import { ok, profile, workload } from './fixtures.js';

let highs: MilpSolver;
beforeAll(async () => {
  highs = (await loadHighsSolver()).solver;
});

/** All ways to write `total` as an ordered sum of `parts` non-negative integers. */
function compositions(total: number, parts: number): number[][] {
  if (parts === 1) return [[total]];
  const out: number[][] = [];
  for (let first = 0; first <= total; first++) {
    for (const rest of compositions(total - first, parts - 1)) out.push([first, ...rest]);
  }
  return out;
}

/** Cheapest cost by enumerating every slice assignment; `undefined` when none fits the caps. */
function bruteForce(problem: Problem): number | undefined {
  const S = problem.options.sliceFactor as number;
  const F = problem.options.unitsPerReplica;
  const G = problem.gpus.length;
  const choices = problem.buckets.map((_, b) =>
    compositions(S, G).filter((c) => c.every((x, g) => x === 0 || sliceLoad(problem, b, g) !== undefined)),
  );
  let best: number | undefined;
  const loads = new Array<number>(G).fill(0);
  const walk = (b: number): void => {
    if (b === problem.buckets.length) {
      let cost = 0;
      for (let g = 0; g < G; g++) {
        const gpu = problem.gpus[g]!;
        const units = Math.max(gpu.minReplicas * F, Math.ceil((loads[g] ?? 0) * F - 1e-9));
        if (units > gpu.maxReplicas * F) return;
        cost += (gpu.costPerHour * units) / F;
      }
      if (best === undefined || cost < best) best = cost;
      return;
    }
    for (const c of choices[b] ?? []) {
      c.forEach((x, g) => (loads[g] = (loads[g] ?? 0) + x * (sliceLoad(problem, b, g) ?? 0)));
      walk(b + 1);
      c.forEach((x, g) => (loads[g] = (loads[g] ?? 0) - x * (sliceLoad(problem, b, g) ?? 0)));
    }
  };
  walk(0);
  return best;
}

const instance = fc.record({
  gpus: fc.array(
    fc.record({
      cost: fc.integer({ min: 20, max: 500 }).map((c) => c / 100),
      // 0 = the type cannot serve that bucket.
      maxRps: fc.array(
        fc.oneof(
          fc.constant(0),
          fc.integer({ min: 1, max: 40 }).map((v) => v / 2),
        ),
        {
          minLength: 4,
          maxLength: 4,
        },
      ),
      min: fc.integer({ min: 0, max: 1 }),
      max: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  rps: fc.array(
    fc.integer({ min: 0, max: 60 }).map((r) => r / 4),
    { minLength: 4, maxLength: 4 },
  ),
  sliceFactor: fc.integer({ min: 1, max: 3 }),
  unitsPerReplica: fc.constantFrom(1, 10),
  headroom: fc.constantFrom(0, 0.1, 0.5),
});

describe('HiGHS against brute force', () => {
  it('property: same optimal cost, or both infeasible; every returned plan passes the check', () => {
    const grid = { input: [128, 256], output: [16, 32] };
    fc.assert(
      fc.property(instance, (inst) => {
        const gpus: GpuOption[] = inst.gpus.map((g, j) => ({
          name: `g${j}`,
          profile: profile(`g${j}`, g.cost, grid, [g.maxRps.slice(0, 2), g.maxRps.slice(2, 4)]),
          minReplicas: g.min,
          maxReplicas: g.max,
        }));
        const w = workload(grid, [inst.rps.slice(0, 2), inst.rps.slice(2, 4)]);
        const options = {
          sliceFactor: inst.sliceFactor,
          unitsPerReplica: inst.unitsPerReplica,
          headroom: inst.headroom,
        };
        const result = optimize({ gpus, load: ok(w), options }, highs);
        const built = buildProblem({ gpus, workload: w, options: OptimizeOptionsSchema.parse(options) });
        expect(result.kind).not.toBe('solver-failed');
        if (built.kind !== 'problem') {
          expect(result.kind).toBe(built.kind);
          return;
        }
        const best = bruteForce(built.problem);
        if (best === undefined) {
          expect(result).toMatchObject({ kind: 'infeasible' });
          return;
        }
        if (result.kind !== 'plan')
          throw new Error(`brute force found ${best}, optimizer said ${result.kind}: ${result.message}`);
        expect(result.plan.costPerHour).toBeCloseTo(best, 6);
        expect(result.plan.proven).toBe(true);
        expect(result.plan.gap).toBe(0);
        expect(result.plan.lowerBound).toBe(result.plan.costPerHour);
        // Without warm-started LP sessions (each LP a fresh solve): the same optimum.
        const oneShot = optimize({ gpus, load: ok(w), options }, { solve: (m, o) => highs.solve(m, o) });
        expect(oneShot.kind === 'plan' && oneShot.plan.costPerHour).toBeCloseTo(best, 6);
        // With a gap tolerance: a plan within it of the proven bound, which bounds the optimum.
        const loose = optimize({ gpus, load: ok(w), options: { ...options, mipRelGap: 0.25 } }, highs);
        if (loose.kind !== 'plan') throw new Error(`with mipRelGap 0.25: ${loose.kind}`);
        expect(loose.plan.proven).toBe(true);
        expect(loose.plan.gap).toBeLessThanOrEqual(0.25 + 1e-12);
        expect(loose.plan.lowerBound).toBeLessThanOrEqual(best + 1e-9);
        expect(loose.plan.costPerHour).toBeGreaterThanOrEqual(best - 1e-9);
        // Independent re-check of the returned plan against the problem.
        const F = inst.unitsPerReplica;
        const slices = built.problem.buckets.map((b) =>
          built.problem.gpus.map((g) => {
            const bucket = result.plan.buckets.find((x) => x.input === b.input && x.output === b.output);
            const share = bucket?.shares.find((s) => s.gpu === g.name)?.share ?? 0;
            return Math.round(share * inst.sliceFactor);
          }),
        );
        const units = result.plan.gpus.map((g) => g.units);
        expect(checkAllocation(built.problem, { slices, units })).toEqual([]);
        expect(result.plan.gpus.every((g) => g.replicas === Math.ceil(g.units / F))).toBe(true);
      }),
      { numRuns: 120, seed: 20260101 },
    );
  });
});

describe('checkAllocation', () => {
  const grid = { input: [128], output: [16, 32] };
  const gpus: GpuOption[] = [
    { name: 'a', profile: profile('a', 1, grid, [[4, 0]]), minReplicas: 1, maxReplicas: 3 },
    { name: 'b', profile: profile('b', 2, grid, [[8, 8]]) },
  ];
  const built = buildProblem({
    gpus,
    workload: workload(grid, [[4, 2]]),
    options: OptimizeOptionsSchema.parse({ sliceFactor: 2 }),
  });
  if (built.kind !== 'problem') throw new Error(built.kind);
  const problem = built.problem;
  // Buckets are listed largest first: 0 = (128, 16) at 4 rps, 1 = (128, 32) at 2 rps.

  it('accepts a valid allocation', () => {
    expect(
      checkAllocation(problem, {
        slices: [
          [2, 0],
          [0, 2],
        ],
        units: [1, 1],
      }),
    ).toEqual([]);
  });

  it('names every kind of violation', () => {
    const v = (slices: number[][], units: number[]): string =>
      checkAllocation(problem, { slices, units }).join(' | ');
    expect(
      v(
        [
          [1, 0],
          [0, 2],
        ],
        [1, 1],
      ),
    ).toMatch(/in 128 \/ out 16: 1 of 2 slices assigned/);
    expect(
      v(
        [
          [2, 0],
          [1, 1],
        ],
        [1, 1],
      ),
    ).toMatch(/in 128 \/ out 32 is assigned to a, which cannot serve it/);
    expect(
      v(
        [
          [1.5, 0.5],
          [0, 2],
        ],
        [1, 1],
      ),
    ).toMatch(/1.5 slices is not a whole number/);
    expect(
      v(
        [
          [2, 0],
          [0, 2],
        ],
        [0, 1],
      ),
    ).toMatch(/a: 0 replicas, below the minimum 1/);
    expect(
      v(
        [
          [2, 0],
          [0, 2],
        ],
        [4, 1],
      ),
    ).toMatch(/a: 4 replicas, above the maximum 3/);
    expect(
      v(
        [
          [0, 2],
          [0, 2],
        ],
        [1, 0],
      ),
    ).toMatch(/b: load needs 0.750000 units but only 0 are planned/);
    expect(
      v(
        [
          [2, 0],
          [0, 2],
        ],
        [1, 0.5],
      ),
    ).toMatch(/b: 0.5 units is not a whole number/);
    expect(v([[2, 0]], [1, 1])).toMatch(/does not match/);
  });
});
