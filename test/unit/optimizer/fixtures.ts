/** Shared builders for the optimizer tests. */
import { readFileSync } from 'node:fs';
import { beforeAll } from 'vitest';
import {
  AibrixProfileSchema,
  fromAibrixProfile,
  MelangeConfigSchema,
  PROFILE_KIND,
  ProfileSchema,
  type Grid,
  type GpuOption,
  type LoadEstimate,
  type MelangeConfig,
  type MilpSolver,
  type Profile,
  type Workload,
} from '../../../algorithms/optimizer/index.js';
import { loadHighsSolver } from '../../../src/optimizer/highs.js';

export const AIBRIX_PROFILES = '/work/shared/aibrix-data/profiles';

export function aibrixProfile(file: string, gpu: string): Profile {
  const raw = AibrixProfileSchema.parse(JSON.parse(readFileSync(`${AIBRIX_PROFILES}/${file}`, 'utf8')));
  return fromAibrixProfile(raw, { model: 'llama2-7b', gpu });
}

export function melangeExample(): MelangeConfig {
  return MelangeConfigSchema.parse(
    JSON.parse(readFileSync(`${AIBRIX_PROFILES}/config_example.json`, 'utf8')),
  );
}

export function profile(
  gpu: string,
  costPerHour: number,
  grid: Grid,
  maxRps: number[][],
  model = 'm',
): Profile {
  return ProfileSchema.parse({
    kind: PROFILE_KIND,
    version: 1,
    gpu,
    model,
    costPerHour,
    slo: null,
    grid,
    maxRps,
  });
}

/** A workload with explicit per-cell rates, rows = input ticks. */
export function workload(grid: Grid, rps: number[][]): Workload {
  const totalRps = rps.flat().reduce((s, r) => s + r, 0);
  return { grid, rps, totalRps, clampedRps: 0 };
}

export function ok(w: Workload): LoadEstimate {
  return { kind: 'ok', workload: w, notes: [] };
}

/** HiGHS, loaded before the file's tests run: call the returned function inside a test. */
export function withHighs(): () => MilpSolver {
  let solver: MilpSolver | undefined;
  beforeAll(async () => {
    solver = (await loadHighsSolver()).solver;
  });
  return () => {
    if (solver === undefined) throw new Error('HiGHS is not loaded yet: call the solver inside a test');
    return solver;
  };
}

/** A GPU type serving every cell of `grid` at the same rate. */
export function uniformGpu(name: string, costPerHour: number, grid: Grid, rps: number): GpuOption {
  return {
    name,
    profile: profile(
      name,
      costPerHour,
      grid,
      grid.input.map(() => grid.output.map(() => rps)),
    ),
  };
}
