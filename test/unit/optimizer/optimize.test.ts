import { beforeAll, describe, expect, it } from 'vitest';
import {
  melangeGrid,
  optimize,
  profilesFromMelange,
  workloadFromDistribution,
  workloadFromMatrix,
  type GpuOption,
  type LoadEstimate,
  type MilpSolver,
  type OptimizeResult,
  type Plan,
  type Profile,
} from '../../../algorithms/optimizer/index.js';
import { loadHighsSolver } from '../../../src/optimizer/highs.js';
import { aibrixProfile, melangeExample, ok, profile, workload } from './fixtures.js';

let highs: MilpSolver;
beforeAll(async () => {
  highs = (await loadHighsSolver()).solver;
});

function plan(result: OptimizeResult): Plan {
  if (result.kind !== 'plan') throw new Error(`expected a plan, got ${result.kind}: ${result.message}`);
  return result.plan;
}

function replicas(p: Plan): Record<string, number> {
  return Object.fromEntries(p.gpus.map((g) => [g.gpu, g.replicas]));
}

describe('Mélange config_example.json (reference §1.7)', () => {
  const cfg = melangeExample();
  const gpus: GpuOption[] = profilesFromMelange(cfg).map((p) => ({ name: p.gpu, profile: p }));
  const load = (rate: number): LoadEstimate =>
    workloadFromMatrix(cfg.workload_distribution, rate, melangeGrid(cfg));

  it('slice factor 1 gives {A10G: 3, A100-80GB: 1} at 6.70', () => {
    const p = plan(optimize({ gpus, load: load(30), options: { sliceFactor: 1 } }, highs));
    expect(replicas(p)).toEqual({ A10G: 3, 'A100-80GB': 1 });
    expect(p.costPerHour).toBeCloseTo(6.7, 9);
    expect(p.proven).toBe(true);
    // Each bucket needs exactly 3 A10G, so one whole bucket goes there and three to the A100.
    // Two assignments tie at 6.70 (CBC picks the 6 req/s bucket, the reference's hand check the
    // 15 req/s one); either way every bucket is whole and the A100 is not overloaded.
    expect(p.buckets.filter((b) => b.shares[0]?.gpu === 'A10G')).toHaveLength(1);
    expect(p.buckets.every((b) => b.shares.length === 1 && b.shares[0]?.share === 1)).toBe(true);
    const a100 = p.gpus.find((g) => g.gpu === 'A100-80GB');
    expect(a100?.load).toBeLessThanOrEqual(1);
  });

  it.each([
    [30, 2, { A10G: 2, 'A100-80GB': 1 }, 5.69],
    [30, 4, { A10G: 2, 'A100-80GB': 1 }, 5.69],
    [5, 1, { A10G: 2, 'A100-80GB': 0 }, 2.02],
    [10, 1, { A10G: 0, 'A100-80GB': 1 }, 3.67],
    [20, 1, { A10G: 0, 'A100-80GB': 1 }, 3.67],
    [40, 1, { A10G: 0, 'A100-80GB': 2 }, 7.34],
    [60, 1, { A10G: 0, 'A100-80GB': 3 }, 11.01],
  ])('rate %d, slice factor %d → %o at %d', (rate, slice, expected, cost) => {
    const p = plan(optimize({ gpus, load: load(rate), options: { sliceFactor: slice } }, highs));
    expect(replicas(p)).toEqual(expected);
    expect(p.costPerHour).toBeCloseTo(cost, 9);
  });

  it('continuous slices never cost more than whole slices', () => {
    const sliced = plan(optimize({ gpus, load: load(30), options: { sliceFactor: 1 } }, highs));
    const cont = plan(optimize({ gpus, load: load(30), options: { sliceFactor: 'continuous' } }, highs));
    expect(cont.costPerHour).toBeLessThanOrEqual(sliced.costPerHour + 1e-9);
    // 1 A100 (load 1.125 → 1.0) plus 1 A10G taking a third of the 15 req/s bucket.
    expect(cont.costPerHour).toBeCloseTo(4.68, 9);
  });
});

describe('AIBrix Optimizer end-to-end, 1/100-replica units (reference §1.7)', () => {
  let a100: Profile;
  let a40: Profile;
  beforeAll(() => {
    a100 = aibrixProfile('simulator-llama2-7b-a100.json', 'a100');
    a40 = aibrixProfile('simulator-llama2-7b-a40.json', 'a40');
  });
  const run = (profiles: Profile[], cells: Array<[number, number, number]>, rate: number): OptimizeResult =>
    optimize(
      {
        gpus: profiles.map((p) => ({ name: p.gpu, profile: p })),
        load: workloadFromDistribution(
          cells.map(([input, output, weight]) => ({ input, output, weight })),
          rate,
          profiles[0]?.grid ?? { input: [1], output: [1] },
          'nearest',
        ),
        options: { unitsPerReplica: 100, sliceFactor: 4 },
      },
      highs,
    );
  const units = (r: OptimizeResult): Record<string, number> =>
    Object.fromEntries(plan(r).gpus.map((g) => [g.gpu, g.units]));

  it('A: 10 rps at in 1024 / out 128 → a40 326 (4 pods), a100 0; a100 alone 249', () => {
    const both = run([a100, a40], [[1024, 128, 1]], 10);
    expect(units(both)).toEqual({ a100: 0, a40: 326 });
    expect(plan(both).costPerHour).toBeCloseTo(0.978, 9);
    expect(plan(both).gpus.find((g) => g.gpu === 'a40')?.replicas).toBe(4);
    expect(units(run([a100], [[1024, 128, 1]], 10))).toEqual({ a100: 249 });
  });

  it('B: 8 rps in128/out32 + 2 rps in2048/out256 → a40 235', () => {
    expect(
      units(
        run(
          [a100, a40],
          [
            [128, 32, 8],
            [2048, 256, 2],
          ],
          10,
        ),
      ),
    ).toEqual({ a100: 0, a40: 235 });
  });

  it('B on the A100 alone: a zero-throughput cell is infeasible, not 200000030 units', () => {
    const r = run(
      [a100],
      [
        [128, 32, 8],
        [2048, 256, 2],
      ],
      10,
    );
    expect(r).toMatchObject({ kind: 'infeasible', reason: 'unservable' });
    expect(r.kind === 'infeasible' && r.buckets).toEqual([{ input: 2048, output: 256, rps: 2 }]);
  });

  it.each([
    ['C', [[256, 8, 1]] as Array<[number, number, number]>, 1, { a100: 0, a40: 4 }, { a100: 4 }],
    ['D', [[128, 4, 1]] as Array<[number, number, number]>, 40, { a100: 0, a40: 75 }, { a100: 65 }],
  ])('%s: matches AIBrix with both GPUs and with the A100 alone', (_name, cells, rate, both, alone) => {
    expect(units(run([a100, a40], cells, rate))).toEqual(both);
    expect(units(run([a100], cells, rate))).toEqual(alone);
  });

  it('E: README load (10 rps, in 2000 / out 128) → a40 623', () => {
    expect(units(run([a100, a40], [[2000, 128, 1]], 10))).toEqual({ a100: 0, a40: 623 });
  });

  it('F: 10 rps at in 2000 / out 512 → a40 1984; the A100 alone is infeasible, not 10⁹', () => {
    expect(units(run([a100, a40], [[2000, 512, 1]], 10))).toEqual({ a100: 0, a40: 1984 });
    expect(run([a100], [[2000, 512, 1]], 10)).toMatchObject({ kind: 'infeasible', reason: 'unservable' });
  });

  it('a zero-throughput cell excludes the pair even when the other GPU is capped', () => {
    const r = optimize(
      {
        gpus: [
          { name: 'a100', profile: a100 },
          { name: 'a40', profile: a40, maxReplicas: 1 },
        ],
        load: workloadFromDistribution(
          [
            { input: 128, output: 32, weight: 8 },
            { input: 2048, output: 256, weight: 2 },
          ],
          10,
          a100.grid,
          'nearest',
        ),
        options: { unitsPerReplica: 100 },
      },
      highs,
    );
    expect(r).toMatchObject({
      kind: 'infeasible',
      reason: 'capacity',
      message: expect.stringMatching(/a40 ≤ 1/),
    });
  });
});

describe('bounds, caps and headroom', () => {
  const grid = { input: [128], output: [16] };
  const single = (maxRps: number, cost = 1): GpuOption => ({
    name: 'g',
    profile: profile('g', cost, grid, [[maxRps]]),
  });
  const rate = (rps: number): LoadEstimate => ok(workload(grid, [[rps]]));

  it('headroom scales the rate before rounding up', () => {
    expect(replicas(plan(optimize({ gpus: [single(4)], load: rate(10) }, highs)))).toEqual({ g: 3 });
    expect(
      replicas(plan(optimize({ gpus: [single(4)], load: rate(10), options: { headroom: 0.2 } }, highs))),
    ).toEqual({ g: 3 });
    expect(
      replicas(plan(optimize({ gpus: [single(4)], load: rate(10), options: { headroom: 0.25 } }, highs))),
    ).toEqual({
      g: 4,
    });
  });

  it('minimum replicas are kept even when the load needs fewer, and their capacity is used', () => {
    const gpus: GpuOption[] = [
      { name: 'cheap', profile: profile('cheap', 1, grid, [[4]]) },
      { name: 'big', profile: profile('big', 3, grid, [[20]]), minReplicas: 1 },
    ];
    const p = plan(optimize({ gpus, load: rate(10) }, highs));
    expect(replicas(p)).toEqual({ cheap: 0, big: 1 });
    expect(p.costPerHour).toBe(3);
  });

  it('maximum and availability caps push load to other types', () => {
    const cheap = { name: 'cheap', profile: profile('cheap', 1, grid, [[4]]) };
    const big = { name: 'big', profile: profile('big', 4.5, grid, [[20]]) };
    // 10 rps: 3 cheap (3.0) beat 1 big (4.5); capped at 2 cheap, 1 big (4.5) beats 2 cheap + 1 big.
    expect(replicas(plan(optimize({ gpus: [cheap, big], load: rate(10) }, highs)))).toEqual({
      cheap: 3,
      big: 0,
    });
    expect(
      replicas(plan(optimize({ gpus: [{ ...cheap, maxReplicas: 2 }, big], load: rate(10) }, highs))),
    ).toEqual({
      cheap: 0,
      big: 1,
    });
    // 22 rps with cheap capped at 1: 1 cheap (4 rps) + 1 big (18 rps) = 5.5 beats 2 big = 9.0 when the
    // bucket may be split freely; in 4 slices of 5.5 rps one cheap replica cannot take a slice.
    const capped = [{ ...cheap, maxReplicas: 1 }, big];
    expect(
      replicas(
        plan(optimize({ gpus: capped, load: rate(22), options: { sliceFactor: 'continuous' } }, highs)),
      ),
    ).toEqual({
      cheap: 1,
      big: 1,
    });
    expect(
      replicas(plan(optimize({ gpus: capped, load: rate(22), options: { sliceFactor: 4 } }, highs))),
    ).toEqual({
      cheap: 0,
      big: 2,
    });
    const tp2 = profile('cheap', 1, grid, [[4]]);
    const avail: GpuOption[] = [{ name: 'cheap', profile: { ...tp2, gpusPerReplica: 2 }, availableGpus: 5 }];
    // 5 GPUs at 2 per replica → 2 replicas → 8 req/s max.
    expect(optimize({ gpus: avail, load: rate(10) }, highs)).toMatchObject({
      kind: 'infeasible',
      reason: 'capacity',
    });
    expect(replicas(plan(optimize({ gpus: avail, load: rate(8) }, highs)))).toEqual({ cheap: 2 });
  });

  it('a minimum above the maximum or the availability is infeasible (bounds)', () => {
    const r = optimize({ gpus: [{ ...single(4), minReplicas: 3, maxReplicas: 2 }], load: rate(1) }, highs);
    expect(r).toMatchObject({ kind: 'infeasible', reason: 'bounds', gpus: ['g'] });
    const tp = { ...single(4), minReplicas: 1, availableGpus: 1 };
    const two = { ...tp, profile: { ...(tp.profile as Profile), gpusPerReplica: 2 } };
    expect(optimize({ gpus: [two], load: rate(1) }, highs)).toMatchObject({
      kind: 'infeasible',
      reason: 'bounds',
    });
  });

  it('malformed bounds are errors that name the field', () => {
    expect(() => optimize({ gpus: [{ ...single(4), minReplicas: 1.5 }], load: rate(1) }, highs)).toThrow(
      /GPU type g: minReplicas must be a whole number/,
    );
    expect(() => optimize({ gpus: [single(4), single(2)], load: rate(1) }, highs)).toThrow(/listed twice/);
  });

  it('price overrides change the choice', () => {
    const gpus: GpuOption[] = [
      { name: 'a', profile: profile('a', 1, grid, [[4]]) },
      { name: 'b', profile: profile('b', 2, grid, [[4]]) },
    ];
    expect(replicas(plan(optimize({ gpus, load: rate(4) }, highs)))).toEqual({ a: 1, b: 0 });
    const cheaperB = [gpus[0] as GpuOption, { ...(gpus[1] as GpuOption), costPerHour: 0.5 }];
    expect(replicas(plan(optimize({ gpus: cheaperB, load: rate(4) }, highs)))).toEqual({ a: 0, b: 1 });
  });
});

describe('typed non-plan results', () => {
  const grid = { input: [128], output: [16] };
  const p = profile('g', 1, grid, [[4]], 'llama');
  const throwing: MilpSolver = {
    solve() {
      throw new Error('the solver must not be called');
    },
  };

  it('no profile on any GPU type', () => {
    const r = optimize(
      { model: 'llama', gpus: [{ name: 'g', profile: undefined }], load: ok(workload(grid, [[1]])) },
      throwing,
    );
    expect(r).toMatchObject({
      kind: 'no-profile',
      gpus: ['g'],
      message: expect.stringMatching(/no profile for model llama on any GPU type \(g\)/),
    });
    expect(optimize({ gpus: [], load: ok(workload(grid, [[1]])) }, throwing).kind).toBe('no-profile');
  });

  it('a profile for another model does not count', () => {
    const r = optimize(
      { model: 'mistral', gpus: [{ name: 'g', profile: p }], load: ok(workload(grid, [[1]])) },
      throwing,
    );
    expect(r.kind).toBe('no-profile');
  });

  it('unprofiled types are reported next to a plan', () => {
    const r = optimize(
      {
        gpus: [
          { name: 'g', profile: p },
          { name: 'h', profile: undefined },
        ],
        load: ok(workload(grid, [[1]])),
      },
      highs,
    );
    expect(r.kind === 'plan' && r.unprofiled).toEqual(['h']);
  });

  it('no data passes the estimator message through', () => {
    expect(
      optimize(
        { gpus: [{ name: 'g', profile: p }], load: { kind: 'no-data', message: 'scrapes failed' } },
        throwing,
      ),
    ).toEqual({
      kind: 'no-data',
      message: 'scrapes failed',
    });
  });

  it('an empty workload is a plan at the minimums, without calling the solver', () => {
    const r = optimize(
      { gpus: [{ name: 'g', profile: p, minReplicas: 2 }], load: ok(workload(grid, [[0]])) },
      throwing,
    );
    expect(replicas(plan(r))).toEqual({ g: 2 });
    expect(r.kind === 'plan' && r.notes.join(' ')).toMatch(/workload is empty/);
  });
});

describe('solver answers are not taken on trust', () => {
  const grid = { input: [128, 256], output: [16] };
  const gpus: GpuOption[] = [
    { name: 'a', profile: profile('a', 1, grid, [[4], [2]]) },
    { name: 'b', profile: profile('b', 3, grid, [[20], [10]]) },
  ];
  const load = ok(workload(grid, [[3], [3]]));
  const options = { sliceFactor: 'continuous' as const };
  const tamper = (
    f: (values: number[]) => number[],
    extra: Partial<ReturnType<MilpSolver['solve']>> = {},
  ): MilpSolver => ({
    solve(model, opts) {
      const s = highs.solve(model, opts);
      return { ...s, values: s.values ? f([...s.values]) : undefined, ...extra };
    },
  });

  it('an assignment that overloads a GPU type fails the post-solve check', () => {
    // Columns: x for each (bucket, type), then y per type. Zero every y and report the matching
    // objective, so only the final check against the problem can tell.
    const r = optimize(
      { gpus, load, options },
      tamper((v) => v.map((x, i) => (i >= v.length - 2 ? 0 : x)), { objective: 0 }),
    );
    expect(r).toMatchObject({ kind: 'solver-failed', reason: 'check-failed' });
    expect(r.kind === 'solver-failed' && r.violations?.join(' ')).toMatch(/load needs .* units but only 0/);
  });

  it('an answer outside the bounds the solver was given is an error, not an endless branching', () => {
    // Half a replica more than the LP said: a fractional count, and whatever box the search then
    // asks for, the answer ignores it.
    const r = optimize(
      { gpus, load, options },
      {
        solve(model, opts) {
          const s = highs.solve(model, opts);
          const values = s.values?.map((x, i) => (i === model.colNames.length - 1 ? x + 0.5 : x));
          const objective = model.colCost.reduce((sum, c, i) => sum + c * (values?.[i] ?? 0), 0);
          return { ...s, values, objective };
        },
      },
    );
    expect(r).toMatchObject({ kind: 'solver-failed', reason: 'error' });
    expect(r.kind === 'solver-failed' && r.message).toMatch(/breaks the bounds it was given: .* units of b/);
  });

  it('a wrong reported objective fails the check', () => {
    const r = optimize(
      { gpus, load, options },
      tamper((v) => v, { objective: 0.001 }),
    );
    expect(r.kind === 'solver-failed' && r.message).toMatch(/objective 0.001 differs/);
  });

  it('a short solution vector is an error, not a plan', () => {
    expect(
      optimize(
        { gpus, load, options },
        tamper((v) => v.slice(1)),
      ),
    ).toMatchObject({ kind: 'solver-failed', reason: 'error' });
  });

  it('time limit without a solution, and solver errors, are typed', () => {
    expect(
      optimize({ gpus, load, options }, { solve: () => ({ status: 'no-solution', detail: 'timeLimit' }) }),
    ).toMatchObject({
      kind: 'solver-failed',
      reason: 'time-limit',
    });
    expect(
      optimize({ gpus, load, options }, { solve: () => ({ status: 'error', detail: 'modelError' }) }),
    ).toMatchObject({
      kind: 'solver-failed',
      reason: 'error',
      message: 'solver error: modelError',
    });
  });

  it('a time-limited incumbent is returned as an unproven plan', () => {
    const r = optimize(
      { gpus, load, options: { sliceFactor: 2 } },
      tamper((v) => v, { status: 'feasible' }),
    );
    const p = plan(r);
    expect(p.proven).toBe(false);
    expect(r.kind === 'plan' && r.notes.join(' ')).toMatch(/not proven cheapest/);
  });

  it('the time budget is passed to the solver and shared by every solve', () => {
    const seen: number[] = [];
    optimize(
      { gpus, load, options: { sliceFactor: 'continuous', timeLimitSeconds: 0.25 } },
      {
        solve(model, opts) {
          seen.push(opts.timeLimitSeconds);
          return highs.solve(model, opts);
        },
      },
    );
    expect(seen[0]).toBe(0.25);
    expect(seen.every((t, i) => t <= (seen[i - 1] ?? 0.25))).toBe(true);

    // A solver that reports the whole budget spent on its first answer is not called again.
    const calls: number[] = [];
    const r = optimize(
      { gpus, load, options: { sliceFactor: 2, timeLimitSeconds: 0.25 } },
      {
        solve(model, opts) {
          calls.push(opts.timeLimitSeconds);
          return { ...highs.solve(model, opts), runTimeSeconds: 0.25 };
        },
      },
    );
    expect(calls).toHaveLength(1);
    expect(r.kind).toBe('plan');
  });
});
