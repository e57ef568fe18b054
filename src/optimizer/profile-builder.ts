/**
 * Builds a profile by measuring every grid cell. The measurement itself is injected: the future
 * `inferscale profile` command will pass one backed by the simulator's replica model, tests pass
 * a formula, and a lab could pass one that drives a real engine.
 */
import type { Grid } from '../../algorithms/optimizer/grid.js';
import { ProfileSchema, PROFILE_KIND, type Profile, type Slo } from '../../algorithms/optimizer/profile.js';
import { describeZodError } from '../api/issues.js';

/**
 * Highest request rate (req/s) one replica of `model` on `gpu` sustains with requests of exactly
 * `inputLen` prompt and `outputLen` output tokens while meeting `slo`. 0 when even the lowest rate
 * misses the SLO (the cell is then excluded from planning, never treated as a tiny capacity).
 */
export type MeasureMaxRate = (
  gpu: string,
  model: string,
  inputLen: number,
  outputLen: number,
  slo: Slo,
) => Promise<number>;

export interface BuildProfileOptions {
  gpu: string;
  model: string;
  costPerHour: number;
  currency?: string;
  gpusPerReplica?: number;
  slo: Slo;
  grid: Grid;
  measureMaxRate: MeasureMaxRate;
  /** Recorded in the profile, e.g. `inferscale profile (simulator replica model v1)`. */
  source?: string;
  /** Measurement time; injected so builds are reproducible. */
  measuredAt?: Date;
  /** Called after each cell, for progress bars. */
  onCell?: (done: number, total: number, cell: { input: number; output: number; maxRps: number }) => void;
}

export async function buildProfile(options: BuildProfileOptions): Promise<Profile> {
  const { gpu, model, slo, grid } = options;
  const total = grid.input.length * grid.output.length;
  const maxRps: number[][] = [];
  let done = 0;
  for (const input of grid.input) {
    const row: number[] = [];
    for (const output of grid.output) {
      let rate: number;
      try {
        rate = await options.measureMaxRate(gpu, model, input, output, slo);
      } catch (err) {
        throw new Error(
          `measuring ${model} on ${gpu} at input ${input} / output ${output} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      if (!Number.isFinite(rate) || rate < 0) {
        throw new Error(
          `measuring ${model} on ${gpu} at input ${input} / output ${output} returned ${rate}; expected a rate ≥ 0 req/s`,
        );
      }
      row.push(rate);
      done++;
      options.onCell?.(done, total, { input, output, maxRps: rate });
    }
    maxRps.push(row);
  }
  const parsed = ProfileSchema.safeParse({
    kind: PROFILE_KIND,
    version: 1,
    gpu,
    model,
    costPerHour: options.costPerHour,
    currency: options.currency,
    gpusPerReplica: options.gpusPerReplica,
    slo,
    grid,
    maxRps,
    source: options.source,
    measuredAt: options.measuredAt?.toISOString(),
  });
  if (!parsed.success)
    throw new Error(`built profile for ${model} on ${gpu} is invalid: ${describeZodError(parsed.error)}`);
  return parsed.data;
}
