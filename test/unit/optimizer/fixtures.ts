/** Shared builders for the optimizer tests. */
import { readFileSync } from 'node:fs';
import {
  AibrixProfileSchema,
  fromAibrixProfile,
  MelangeConfigSchema,
  PROFILE_KIND,
  ProfileSchema,
  type Grid,
  type LoadEstimate,
  type MelangeConfig,
  type Profile,
  type Workload,
} from '../../../algorithms/optimizer/index.js';

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
