/** The HiGHS adapter's warm-started LP sessions against fresh solves of the same LP. */
import { describe, expect, it } from 'vitest';
import {
  buildProblem,
  formulate,
  OptimizeOptionsSchema,
  type LpSession,
  type MilpModel,
} from '../../../algorithms/optimizer/index.js';
import { profile, withHighs, workload } from './fixtures.js';

const highs = withHighs();

function session(model: MilpModel): LpSession {
  const opened = highs().openLp?.(model);
  if (opened === undefined) throw new Error('the HiGHS adapter has no LP sessions');
  return opened;
}

const grid = { input: [128, 512, 2048], output: [16, 64, 256] };

function relaxation(): { model: MilpModel; yCol: number[] } {
  const speeds = [0.4, 1, 2.5];
  const built = buildProblem({
    gpus: speeds.map((speed, g) => ({
      name: `g${g}`,
      profile: profile(
        `g${g}`,
        [0.7, 1.48, 3.78][g] as number,
        grid,
        grid.input.map((i) => grid.output.map((o) => (speed * 4000) / (i * 0.6 + o * 8 + 200))),
      ),
    })),
    workload: workload(grid, [
      [3.1, 2.2, 0.7],
      [1.9, 1.3, 0.4],
      [0.8, 0.5, 0.2],
    ]),
    options: OptimizeOptionsSchema.parse({}),
  });
  if (built.kind !== 'problem') throw new Error(built.kind);
  const { model, yCol } = formulate(built.problem, { relaxSlices: true });
  return { model, yCol };
}

/** A deterministic stream in [0, 1). */
function stream(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe('HiGHS LP sessions', () => {
  it('re-solves after bound changes agree with fresh solves, infeasible boxes included', () => {
    const { model, yCol } = relaxation();
    const lp = session(model);
    const next = stream(7);
    const statuses = new Set<string>();
    try {
      for (let k = 0; k < 60; k++) {
        const lower = yCol.map(() => Math.floor(next() * 4));
        // Every fifth box caps every type at its lower bound: usually too little for the load.
        const upper = lower.map((l) => (k % 5 === 4 ? l : l + Math.floor(next() * 12)));
        const warm = lp.solve({ cols: yCol, lower, upper }, 10);
        const fresh = highs().solve(
          {
            ...model,
            integer: model.integer.map(() => false),
            colLower: model.colLower.map((v, c) => lower[yCol.indexOf(c)] ?? v),
            colUpper: model.colUpper.map((v, c) => upper[yCol.indexOf(c)] ?? v),
          },
          { timeLimitSeconds: 10, mipRelGap: 0 },
        );
        expect(warm.status).toBe(fresh.status);
        statuses.add(warm.status);
        if (warm.status === 'optimal') {
          expect(warm.objective).toBeCloseTo(fresh.objective ?? NaN, 7);
          yCol.forEach((col, g) => {
            const v = warm.values?.[col] ?? NaN;
            expect(v).toBeGreaterThanOrEqual((lower[g] as number) - 1e-7);
            expect(v).toBeLessThanOrEqual((upper[g] as number) + 1e-7);
          });
        }
      }
    } finally {
      lp.dispose();
    }
    expect([...statuses].sort()).toEqual(['infeasible', 'optimal']);
  });

  it("each re-solve gets its own time limit: HiGHS's clock is cumulative over a model's life", () => {
    const { model, yCol } = relaxation();
    const lp = session(model);
    // Each solve takes well under a millisecond; a per-solve limit far above that keeps a loaded
    // machine from failing one solve on its own, while the total spent runs to three limits, which
    // a cumulative clock would have refused long before.
    const limitSeconds = 0.15;
    let spent = 0;
    try {
      for (let k = 0; spent < 3 * limitSeconds; k++) {
        const lower = yCol.map((_, g) => (g === k % yCol.length ? 1 + (k % 5) : 0));
        const upper = yCol.map(() => 100);
        const r = lp.solve({ cols: yCol, lower, upper }, limitSeconds);
        expect(r.status).toBe('optimal');
        spent += r.runTimeSeconds ?? 0.001;
      }
    } finally {
      lp.dispose();
    }
  });
});
