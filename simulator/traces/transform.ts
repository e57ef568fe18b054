/**
 * Trace transformations: time scaling, rate multiplication, windows, statistics. All return new
 * arrays (sorted by arrival, ids renumbered) and leave their input untouched.
 */
import { Rng } from './rng.js';
import type { TraceRequest } from './types.js';

function renumber(reqs: TraceRequest[]): TraceRequest[] {
  for (let i = 0; i < reqs.length; i++) (reqs[i] as TraceRequest).id = i;
  return reqs;
}

function copy(r: TraceRequest, arrivalMs: number): TraceRequest {
  const c: TraceRequest = { id: r.id, arrivalMs, inputTokens: r.inputTokens, outputTokens: r.outputTokens };
  if (r.hashIds) c.hashIds = r.hashIds;
  return c;
}

/**
 * Stretches (factor > 1) or compresses (factor < 1) time: arrival * factor. Compressing by k
 * multiplies the rate by 1/k and keeps the shape, on a shorter timeline.
 */
export function scaleTime(reqs: readonly TraceRequest[], factor: number): TraceRequest[] {
  if (!(Number.isFinite(factor) && factor > 0))
    throw new Error(`time scale factor must be > 0, got ${factor}`);
  return renumber(reqs.map((r) => copy(r, r.arrivalMs * factor)));
}

/**
 * Multiplies the request rate by k on the same timeline: each request is kept floor(k) times plus
 * once more with probability frac(k) (so k < 1 thins the trace); copies after the first are
 * shifted by a uniform jitter in [0, jitterMs) so they do not arrive in lockstep. Hash ids are
 * shared by copies (they ask for the same prefix).
 */
export function multiplyRate(
  reqs: readonly TraceRequest[],
  k: number,
  opts: { seed?: number; jitterMs?: number } = {},
): TraceRequest[] {
  if (!(Number.isFinite(k) && k >= 0)) throw new Error(`rate multiplier must be >= 0, got ${k}`);
  const jitter = opts.jitterMs ?? 1000;
  if (!(jitter >= 0)) throw new Error(`jitterMs must be >= 0, got ${jitter}`);
  const rng = new Rng(opts.seed ?? 1);
  const whole = Math.floor(k);
  const frac = k - whole;
  const out: TraceRequest[] = [];
  let shifted = false;
  for (const r of reqs) {
    const n = whole + (frac > 0 && rng.next() < frac ? 1 : 0);
    for (let c = 0; c < n; c++) {
      if (c === 0) out.push(copy(r, r.arrivalMs));
      else {
        out.push(copy(r, r.arrivalMs + rng.next() * jitter));
        shifted = true;
      }
    }
  }
  if (shifted) out.sort((a, b) => a.arrivalMs - b.arrivalMs);
  return renumber(out);
}

/** Requests arriving in [fromMs, toMs), re-based so the window starts at 0 (unless `rebase: false`). */
export function timeWindow(
  reqs: readonly TraceRequest[],
  fromMs: number,
  toMs: number,
  opts: { rebase?: boolean } = {},
): TraceRequest[] {
  if (!(toMs > fromMs)) throw new Error(`window end ${toMs} must be after its start ${fromMs}`);
  const base = opts.rebase === false ? 0 : fromMs;
  const out: TraceRequest[] = [];
  for (const r of reqs)
    if (r.arrivalMs >= fromMs && r.arrivalMs < toMs) out.push(copy(r, r.arrivalMs - base));
  return renumber(out);
}

/** Concatenates traces one after the other (`gapMs` after the previous trace's last arrival). */
export function concatTraces(traces: readonly (readonly TraceRequest[])[], gapMs = 0): TraceRequest[] {
  const out: TraceRequest[] = [];
  let offset = 0;
  for (const t of traces) {
    let last = 0;
    for (const r of t) {
      out.push(copy(r, r.arrivalMs + offset));
      last = r.arrivalMs;
    }
    if (t.length > 0) offset += last + gapMs;
  }
  return renumber(out);
}

export interface Quantiles {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface TraceStats {
  requests: number;
  /** First to last arrival. */
  durationS: number;
  /** requests / duration. */
  meanRate: number;
  input: Quantiles;
  output: Quantiles;
}

function quantiles(values: number[]): Quantiles {
  if (values.length === 0) return { mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))] as number;
  let sum = 0;
  for (const v of values) sum += v;
  return {
    mean: sum / values.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: values[values.length - 1] as number,
  };
}

export function traceStats(reqs: readonly TraceRequest[]): TraceStats {
  const n = reqs.length;
  const durationS =
    n > 1 ? ((reqs[n - 1] as TraceRequest).arrivalMs - (reqs[0] as TraceRequest).arrivalMs) / 1000 : 0;
  return {
    requests: n,
    durationS,
    meanRate: durationS > 0 ? n / durationS : NaN,
    input: quantiles(reqs.map((r) => r.inputTokens)),
    output: quantiles(reqs.map((r) => r.outputTokens)),
  };
}
