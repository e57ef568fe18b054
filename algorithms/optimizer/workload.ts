/**
 * A model's load as the optimizer sees it: requests/s per (input, output) grid cell.
 *
 * Three builders, all pure:
 * - `workloadFromRequests`: a request log or trace (arrival time and both lengths per request);
 * - `workloadFromDistribution`: a list of (input, output, weight) cells and a total rate;
 * - `workloadFromHistograms` (in ./histograms.ts): the engines' own token histograms.
 */
import { z } from 'zod';
import { cellLabel, GridSchema, tickIndex, type Grid, type Rounding } from './grid.js';

export const WorkloadSchema = z.object({
  grid: GridSchema,
  /** `rps[i][o]`: requests/s whose input falls to `grid.input[i]` and output to `grid.output[o]`. */
  rps: z.array(z.array(z.number().nonnegative())),
  totalRps: z.number().nonnegative(),
  /** Part of `totalRps` longer than the grid reaches, clamped into the last ticks. */
  clampedRps: z.number().nonnegative(),
});
export type Workload = z.infer<typeof WorkloadSchema>;

/** What a load estimator produced: a workload, or a typed "nothing to go on". */
export type LoadEstimate =
  { kind: 'ok'; workload: Workload; notes: string[] } | { kind: 'no-data'; message: string };

export function emptyWorkload(grid: Grid): Workload {
  return {
    grid,
    rps: grid.input.map(() => grid.output.map(() => 0)),
    totalRps: 0,
    clampedRps: 0,
  };
}

/** Multiplies every cell by `factor` (e.g. to plan for a different total rate). */
export function scaleWorkload(workload: Workload, factor: number): Workload {
  if (!(factor >= 0) || !Number.isFinite(factor)) throw new Error(`scaleWorkload: bad factor ${factor}`);
  return {
    grid: workload.grid,
    rps: workload.rps.map((row) => row.map((r) => r * factor)),
    totalRps: workload.totalRps * factor,
    clampedRps: workload.clampedRps * factor,
  };
}

/**
 * Every cell at its highest rate over `workloads` (same grid): a load that each of them fits in.
 * A model group sizes a new mix for it, so the mix serves every estimate of the window, whichever
 * cells peaked when (planning for the peak total alone would miss a window whose long prompts
 * peaked at another time than its short ones).
 */
export function workloadEnvelope(workloads: readonly Workload[]): Workload {
  const first = workloads[0];
  if (first === undefined) throw new Error('workloadEnvelope: no workload');
  const rps = first.rps.map((row) => [...row]);
  let clampedRps = first.clampedRps;
  for (const w of workloads.slice(1)) {
    if (!sameGrid(w.grid, first.grid)) throw new Error('workloadEnvelope: workloads on different grids');
    w.rps.forEach((row, i) =>
      row.forEach((r, o) => {
        if (r > rps[i]![o]!) rps[i]![o] = r;
      }),
    );
    clampedRps = Math.max(clampedRps, w.clampedRps);
  }
  const totalRps = rps.reduce((s, row) => s + row.reduce((a, r) => a + r, 0), 0);
  return { grid: first.grid, rps, totalRps, clampedRps: Math.min(clampedRps, totalRps) };
}

export function sameGrid(a: Grid, b: Grid): boolean {
  const eq = (x: readonly number[], y: readonly number[]) =>
    x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.input, b.input) && eq(a.output, b.output);
}

/** The non-empty cells, largest first: for tables and logs. */
export function workloadCells(workload: Workload): Array<{ input: number; output: number; rps: number }> {
  const cells: Array<{ input: number; output: number; rps: number }> = [];
  workload.rps.forEach((row, i) =>
    row.forEach((rps, o) => {
      if (rps > 0)
        cells.push({ input: workload.grid.input[i] ?? 0, output: workload.grid.output[o] ?? 0, rps });
    }),
  );
  return cells.sort((a, b) => b.rps - a.rps || a.input - b.input || a.output - b.output);
}

// ---------------------------------------------------------------------------------------------
// From requests

export interface RequestRecord {
  arrivalMs: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * Which stretch of the request log sets the rate:
 * - `mean`: all of it; rate = requests / (last arrival − first arrival).
 * - `peak`: the busiest `seconds`-long sliding window; rate and shape come from its requests.
 *   Capacity planning should size for the peak, not the mean.
 */
export type RateWindow = { kind: 'mean' } | { kind: 'peak'; seconds: number };

export function workloadFromRequests(
  requests: readonly RequestRecord[],
  grid: Grid,
  options: { rounding: Rounding; window: RateWindow },
): LoadEstimate {
  for (const [n, r] of requests.entries()) {
    if (
      ![r.arrivalMs, r.inputTokens, r.outputTokens].every(Number.isFinite) ||
      r.inputTokens < 0 ||
      r.outputTokens < 0
    ) {
      throw new Error(
        `request #${n}: arrivalMs, inputTokens and outputTokens must be finite and the lengths ≥ 0 (got ${JSON.stringify(r)})`,
      );
    }
  }
  if (requests.length === 0) return { kind: 'no-data', message: 'the request log is empty' };
  const sorted = [...requests].sort((a, b) => a.arrivalMs - b.arrivalMs);
  const first = sorted[0] as RequestRecord;
  const last = sorted[sorted.length - 1] as RequestRecord;
  const spanSec = (last.arrivalMs - first.arrivalMs) / 1000;
  const notes: string[] = [];

  let chosen: readonly RequestRecord[] = sorted;
  let seconds: number;
  if (options.window.kind === 'mean') {
    if (!(spanSec > 0)) {
      return {
        kind: 'no-data',
        message: `cannot estimate a rate: ${sorted.length} request(s) all arrive at the same instant; give a peak window`,
      };
    }
    seconds = spanSec;
  } else {
    seconds = options.window.seconds;
    if (!(seconds > 0)) throw new Error(`peak window must be > 0 s, got ${seconds}`);
    if (spanSec < seconds) {
      notes.push(
        `the log spans ${spanSec.toFixed(1)} s, shorter than the ${seconds} s window: rate = all requests / window`,
      );
    } else {
      const best = busiestWindow(sorted, seconds * 1000);
      chosen = sorted.slice(best.from, best.to);
      notes.push(
        `peak ${seconds} s window starts ${((best.startMs - first.arrivalMs) / 1000).toFixed(1)} s into the log with ${chosen.length} requests`,
      );
    }
  }

  const workload = emptyWorkload(grid);
  const perRequest = 1 / seconds;
  let clamped = 0;
  for (const r of chosen) {
    const i = tickIndex(grid.input, r.inputTokens, options.rounding);
    const o = tickIndex(grid.output, r.outputTokens, options.rounding);
    const row = workload.rps[i.index] as number[];
    row[o.index] = (row[o.index] ?? 0) + perRequest;
    if (i.clamped || o.clamped) clamped++;
  }
  workload.totalRps = chosen.length * perRequest;
  workload.clampedRps = clamped * perRequest;
  if (clamped > 0) {
    notes.push(
      `${clamped} of ${chosen.length} requests are longer than the grid's last tick (${cellLabel(
        grid.input.at(-1) ?? 0,
        grid.output.at(-1) ?? 0,
      )}) and were counted there`,
    );
  }
  return { kind: 'ok', workload, notes };
}

/** Indices [from, to) of the sorted requests in the busiest window of `windowMs`. */
function busiestWindow(
  sorted: readonly RequestRecord[],
  windowMs: number,
): { from: number; to: number; startMs: number } {
  let best = { from: 0, to: 0, startMs: sorted[0]?.arrivalMs ?? 0 };
  let to = 0;
  for (let from = 0; from < sorted.length; from++) {
    const start = (sorted[from] as RequestRecord).arrivalMs;
    while (to < sorted.length && (sorted[to] as RequestRecord).arrivalMs < start + windowMs) to++;
    if (to - from > best.to - best.from) best = { from, to, startMs: start };
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// From a distribution

export const DistributionCellSchema = z.object({
  input: z.number().positive(),
  output: z.number().positive(),
  weight: z.number().nonnegative(),
});
export type DistributionCell = z.infer<typeof DistributionCellSchema>;

/** `totalRps` spread over cells in proportion to their weights (weights need not sum to 1). */
export function workloadFromDistribution(
  cells: readonly DistributionCell[],
  totalRps: number,
  grid: Grid,
  rounding: Rounding,
): LoadEstimate {
  if (!(totalRps >= 0) || !Number.isFinite(totalRps))
    throw new Error(`total rate must be ≥ 0 req/s, got ${totalRps}`);
  const weightSum = cells.reduce((s, c) => s + c.weight, 0);
  if (!(weightSum > 0))
    return { kind: 'no-data', message: 'the distribution has no cell with a positive weight' };
  const workload = emptyWorkload(grid);
  for (const cell of cells) {
    const rps = (cell.weight / weightSum) * totalRps;
    const i = tickIndex(grid.input, cell.input, rounding);
    const o = tickIndex(grid.output, cell.output, rounding);
    const row = workload.rps[i.index] as number[];
    row[o.index] = (row[o.index] ?? 0) + rps;
    if (i.clamped || o.clamped) workload.clampedRps += rps;
  }
  workload.totalRps = totalRps;
  const notes =
    workload.clampedRps > 0
      ? [`${workload.clampedRps.toFixed(3)} req/s lie beyond the grid and were counted in its last ticks`]
      : [];
  return { kind: 'ok', workload, notes };
}

/** A dense matrix (rows = input ticks, columns = output ticks) of weights, as Mélange configs give. */
export function workloadFromMatrix(
  weights: readonly (readonly number[])[],
  totalRps: number,
  grid: Grid,
): LoadEstimate {
  const cells: DistributionCell[] = [];
  weights.forEach((row, i) =>
    row.forEach((weight, o) => {
      const input = grid.input[i];
      const output = grid.output[o];
      if (input === undefined || output === undefined) {
        throw new Error(
          `weight matrix cell [${i}][${o}] lies outside the ${grid.input.length}×${grid.output.length} grid`,
        );
      }
      cells.push({ input, output, weight });
    }),
  );
  return workloadFromDistribution(cells, totalRps, grid, 'up');
}
