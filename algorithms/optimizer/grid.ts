/**
 * The (input length, output length) bucket grid shared by profiles and workloads.
 *
 * A grid is two ascending lists of token counts ("ticks"), normally powers of two. Each tick owns
 * an interval of lengths; a request lands in the cell of the tick that owns its input length and
 * the tick that owns its output length. Two ownership rules exist:
 * - `nearest` (AIBrix's rule): a length goes to the tick nearest in log2, so tick t owns
 *   (√(t_prev·t), √(t·t_next)]; the last tick owns up to half a log2 step above it.
 * - `up` (conservative): a length goes to the smallest tick ≥ it, so it is served at the
 *   throughput measured for a request at least as large.
 * Lengths beyond the last tick's interval are clamped into the last tick and reported, never
 * dropped: dropping them would under-provision silently.
 */
import { z } from 'zod';

const TicksSchema = z
  .array(z.number().int().positive())
  .min(1)
  .refine((ticks) => ticks.every((t, i) => i === 0 || t > (ticks[i - 1] ?? 0)), {
    message: 'ticks must be strictly ascending token counts',
  });

export const GridSchema = z.object({
  /** Input (prompt) length ticks, tokens, strictly ascending. */
  input: TicksSchema,
  /** Output (generation) length ticks, tokens, strictly ascending. */
  output: TicksSchema,
});
export type Grid = z.infer<typeof GridSchema>;

export const RoundingSchema = z.enum(['nearest', 'up']);
export type Rounding = z.infer<typeof RoundingSchema>;

/** Powers of two from `lo` to `hi` inclusive (both rounded to powers of two). */
export function log2Ticks(lo: number, hi: number): number[] {
  if (!(lo >= 1) || !(hi >= lo)) throw new Error(`log2Ticks: need 1 ≤ lo ≤ hi, got lo=${lo} hi=${hi}`);
  const ticks: number[] = [];
  for (let e = Math.round(Math.log2(lo)); e <= Math.round(Math.log2(hi)); e++) ticks.push(2 ** e);
  return ticks;
}

/**
 * Interval edges in tokens: tick i owns lengths in (edges[i], edges[i+1]]. `edges[0]` is 0 and the
 * last edge is where clamping starts.
 */
export function tickEdges(ticks: readonly number[], rounding: Rounding): number[] {
  const n = ticks.length;
  const edges = [0];
  for (let i = 0; i < n - 1; i++) {
    const t = ticks[i] as number;
    const next = ticks[i + 1] as number;
    edges.push(rounding === 'nearest' ? Math.sqrt(t * next) : t);
  }
  const last = ticks[n - 1] as number;
  if (rounding === 'up') edges.push(last);
  else {
    // Half a step above the last tick, with the step taken from the grid's own last spacing.
    const prev = n >= 2 ? (ticks[n - 2] as number) : last / 2;
    edges.push(last * Math.sqrt(last / prev));
  }
  return edges;
}

/** The tick index owning `tokens`, and whether it was clamped into the last tick. */
export function tickIndex(
  ticks: readonly number[],
  tokens: number,
  rounding: Rounding,
): { index: number; clamped: boolean } {
  const edges = tickEdges(ticks, rounding);
  for (let i = 0; i < ticks.length; i++) {
    if (tokens <= (edges[i + 1] as number)) return { index: i, clamped: false };
  }
  return { index: ticks.length - 1, clamped: true };
}

/**
 * Splits the integer lengths in (lo, hi] over the ticks, assuming lengths are log-uniform inside
 * the interval (the usual shape of token counts within one histogram bucket). Each integer k is
 * treated as the continuous span [k−½, k+½], so narrow intervals at small lengths are not smeared
 * across ticks they cannot reach. Returns one weight per tick (summing to 1) and the part beyond
 * the grid, which the caller clamps into the last tick.
 */
export function spreadInterval(
  ticks: readonly number[],
  lo: number,
  hi: number,
  rounding: Rounding,
): { weights: number[]; beyond: number } {
  const weights = ticks.map(() => 0);
  const a = Math.floor(lo) + 0.5;
  const b = Math.floor(hi) + 0.5;
  if (!(b > a)) return { weights, beyond: 0 };
  const edges = tickEdges(ticks, rounding).map((e) => Math.floor(e) + 0.5);
  const span = Math.log(b / a);
  let inside = 0;
  for (let i = 0; i < ticks.length; i++) {
    const from = Math.max(a, edges[i] as number);
    const to = Math.min(b, edges[i + 1] as number);
    if (to > from) {
      const w = Math.log(to / from) / span;
      weights[i] = w;
      inside += w;
    }
  }
  return { weights, beyond: Math.max(0, 1 - inside) };
}

/** A readable label for one cell, e.g. `in 1024 / out 128`. */
export function cellLabel(input: number, output: number): string {
  return `in ${input} / out ${output}`;
}
