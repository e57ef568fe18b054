/**
 * Seeded synthetic workloads (docs/traces.md): an arrival-rate shape over time, an arrival process
 * (Poisson or evenly spaced), request sizes from a distribution, optional shared prompt prefixes.
 */
import { Rng } from './rng.js';
import { sizeSampler, type SizeSpec } from './sizes.js';
import { HASH_BLOCK_TOKENS, type TraceRequest } from './types.js';

export type ArrivalShape =
  /** A fixed rate with evenly spaced arrivals (no randomness in time). */
  | { kind: 'constant'; rate: number }
  /** A fixed rate with exponential inter-arrival times. */
  | { kind: 'poisson'; rate: number }
  /** Piecewise-constant rate: `rates[i].rate` from `rates[i].atS` on; the first must be at 0. */
  | { kind: 'step'; rates: readonly { atS: number; rate: number }[] }
  /** Linear from `from` to `to` over the duration. */
  | { kind: 'ramp'; from: number; to: number }
  /**
   * Dynamo planner benchmark shape (sin_synth.py): (min+max)/2 + (max-min)/2 * sin(2 pi t / period - pi/2),
   * starting at `min`.
   */
  | { kind: 'sine'; min: number; max: number; periodS: number }
  /** A daily cycle: cosine between `min` and `max`, peaking at `peakAtS` (default 14:00) every `periodS` (default 86,400). */
  | { kind: 'diurnal'; min: number; max: number; periodS?: number; peakAtS?: number }
  /**
   * Markov-modulated Poisson process (bursty): state i emits at `rates[i]` for an exponential time
   * with mean `meanDwellS[i]`, then moves to another state (uniformly; with two states they alternate).
   */
  | { kind: 'mmpp'; rates: readonly number[]; meanDwellS: readonly number[] };

export interface SyntheticSpec {
  shape: ArrivalShape;
  durationS: number;
  /** Default: the `azure-conv` log-normal preset. */
  sizes?: SizeSpec;
  /** Default 1. */
  seed?: number;
  /**
   * Arrival process for time-varying shapes: `poisson` (default, non-homogeneous Poisson) or
   * `uniform` (deterministic: the n-th arrival where the integrated rate reaches n).
   */
  arrivals?: 'poisson' | 'uniform';
  /**
   * Shared prompt prefixes: each request picks one of `groups` prefixes (uniformly) whose first
   * `blocks` 512-token hash ids it shares; the rest of its ids are unique. Omit for no hash ids.
   */
  prefix?: { groups: number; blocks: number };
}

interface Segment {
  startS: number;
  endS: number;
  rate: number;
}

function checkRate(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${name} must be a finite rate >= 0 req/s, got ${v}`);
}

/** The instantaneous rate (req/s) at t seconds, and its maximum over [0, duration]. */
function rateFunction(shape: ArrivalShape, durationS: number): { rate: (t: number) => number; max: number } {
  switch (shape.kind) {
    case 'ramp': {
      checkRate('ramp.from', shape.from);
      checkRate('ramp.to', shape.to);
      const { from, to } = shape;
      return { rate: (t) => from + ((to - from) * t) / durationS, max: Math.max(from, to) };
    }
    case 'sine': {
      checkRate('sine.min', shape.min);
      checkRate('sine.max', shape.max);
      if (shape.max < shape.min) throw new Error('sine.max must be >= sine.min');
      if (!(shape.periodS > 0)) throw new Error('sine.periodS must be > 0');
      const mid = (shape.min + shape.max) / 2;
      const amp = (shape.max - shape.min) / 2;
      const w = (2 * Math.PI) / shape.periodS;
      return { rate: (t) => mid + amp * Math.sin(w * t - Math.PI / 2), max: shape.max };
    }
    case 'diurnal': {
      checkRate('diurnal.min', shape.min);
      checkRate('diurnal.max', shape.max);
      if (shape.max < shape.min) throw new Error('diurnal.max must be >= diurnal.min');
      const period = shape.periodS ?? 86_400;
      if (!(period > 0)) throw new Error('diurnal.periodS must be > 0');
      const peak = shape.peakAtS ?? (14 * 3600 * period) / 86_400;
      const mid = (shape.min + shape.max) / 2;
      const amp = (shape.max - shape.min) / 2;
      const w = (2 * Math.PI) / period;
      return { rate: (t) => mid + amp * Math.cos(w * (t - peak)), max: shape.max };
    }
    default:
      throw new Error(`internal: ${shape.kind} is piecewise constant`);
  }
}

/** Piecewise-constant shapes as segments over [0, duration]. */
function segments(shape: ArrivalShape, durationS: number, rng: Rng): Segment[] | undefined {
  switch (shape.kind) {
    case 'constant':
    case 'poisson':
      checkRate(`${shape.kind}.rate`, shape.rate);
      return [{ startS: 0, endS: durationS, rate: shape.rate }];
    case 'step': {
      const rs = shape.rates;
      if (rs.length === 0 || (rs[0] as { atS: number }).atS !== 0) {
        throw new Error('step.rates must start with an entry at atS = 0');
      }
      const out: Segment[] = [];
      for (let i = 0; i < rs.length; i++) {
        const cur = rs[i] as { atS: number; rate: number };
        checkRate(`step.rates[${i}].rate`, cur.rate);
        const next = rs[i + 1];
        if (next !== undefined && !(next.atS > cur.atS))
          throw new Error('step.rates must have increasing atS');
        const end = Math.min(next?.atS ?? durationS, durationS);
        if (cur.atS < durationS) out.push({ startS: cur.atS, endS: end, rate: cur.rate });
      }
      return out;
    }
    case 'mmpp': {
      const { rates, meanDwellS } = shape;
      if (rates.length < 1 || rates.length !== meanDwellS.length) {
        throw new Error('mmpp.rates and mmpp.meanDwellS must be non-empty and of equal length');
      }
      rates.forEach((r, i) => checkRate(`mmpp.rates[${i}]`, r));
      if (!meanDwellS.every((d) => d > 0)) throw new Error('mmpp.meanDwellS must all be > 0');
      const out: Segment[] = [];
      let state = 0;
      let t = 0;
      while (t < durationS) {
        const dwell = rng.exp(1 / (meanDwellS[state] as number));
        const end = Math.min(t + dwell, durationS);
        out.push({ startS: t, endS: end, rate: rates[state] as number });
        t = end;
        if (rates.length > 1) {
          const k = Math.floor(rng.next() * (rates.length - 1));
          state = k >= state ? k + 1 : k;
        }
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** Arrival times in seconds, increasing, within [0, duration). */
export function arrivalTimes(
  shape: ArrivalShape,
  durationS: number,
  rng: Rng,
  process: 'poisson' | 'uniform' = 'poisson',
): number[] {
  if (!(Number.isFinite(durationS) && durationS > 0))
    throw new Error(`durationS must be > 0, got ${durationS}`);
  const out: number[] = [];
  const evenly = shape.kind === 'constant' || (shape.kind !== 'poisson' && process === 'uniform');
  const segs = segments(shape, durationS, rng);
  if (segs) {
    if (evenly) {
      // The n-th arrival where the integrated rate reaches n (starting at n = 0 at t = 0).
      let acc = 0;
      let nextN = 0;
      for (const s of segs) {
        if (s.rate <= 0) continue;
        const endAcc = acc + s.rate * (s.endS - s.startS);
        while (nextN < endAcc) {
          out.push(s.startS + (nextN - acc) / s.rate);
          nextN++;
        }
        acc = endAcc;
      }
      return out;
    }
    for (const s of segs) {
      if (s.rate <= 0) continue;
      let t = s.startS + rng.exp(s.rate);
      while (t < s.endS) {
        out.push(t);
        t += rng.exp(s.rate);
      }
    }
    return out;
  }
  const { rate, max } = rateFunction(shape, durationS);
  if (max <= 0) return out;
  if (evenly) {
    // Integrate with the trapezoid rule on a fine grid and invert linearly.
    const dt = Math.min(0.05, durationS / 1e5);
    let acc = 0;
    let nextN = 0;
    let prevRate = Math.max(0, rate(0));
    for (let t = 0; t < durationS; t += dt) {
      const t1 = Math.min(t + dt, durationS);
      const r1 = Math.max(0, rate(t1));
      const inc = ((prevRate + r1) / 2) * (t1 - t);
      while (nextN < acc + inc) {
        out.push(t + ((nextN - acc) / inc) * (t1 - t));
        nextN++;
      }
      acc += inc;
      prevRate = r1;
    }
    return out;
  }
  // Thinning (Lewis & Shedler): candidates at the maximum rate, kept with probability rate(t)/max.
  let t = rng.exp(max);
  while (t < durationS) {
    if (rng.next() * max < rate(t)) out.push(t);
    t += rng.exp(max);
  }
  return out;
}

/** Generates a synthetic trace; the same spec and seed always give the same requests. */
export function generateSynthetic(spec: SyntheticSpec): TraceRequest[] {
  const root = new Rng(spec.seed ?? 1);
  const timeRng = root.fork();
  const sizeRng = root.fork();
  const prefixRng = root.fork();
  const times = arrivalTimes(spec.shape, spec.durationS, timeRng, spec.arrivals);
  const sample = sizeSampler(spec.sizes ?? { kind: 'preset', name: 'azure-conv' });
  const prefix = spec.prefix;
  if (
    prefix !== undefined &&
    !(Number.isInteger(prefix.groups) && prefix.groups >= 1 && prefix.blocks >= 0)
  ) {
    throw new Error('prefix.groups must be an integer >= 1 and prefix.blocks >= 0');
  }
  // Group g's shared ids are g * blocks .. g * blocks + blocks - 1; unique ids follow them all.
  let nextUnique = prefix ? prefix.groups * prefix.blocks : 0;
  const out: TraceRequest[] = new Array(times.length);
  for (let i = 0; i < times.length; i++) {
    const { inputTokens, outputTokens } = sample(sizeRng);
    const r: TraceRequest = { id: i, arrivalMs: (times[i] as number) * 1000, inputTokens, outputTokens };
    if (prefix) {
      const n = Math.ceil(inputTokens / HASH_BLOCK_TOKENS);
      const g = Math.floor(prefixRng.next() * prefix.groups);
      const shared = Math.min(prefix.blocks, n);
      const ids = new Array<number>(n);
      for (let k = 0; k < shared; k++) ids[k] = g * prefix.blocks + k;
      for (let k = shared; k < n; k++) ids[k] = nextUnique++;
      r.hashIds = ids;
    }
    out[i] = r;
  }
  return out;
}

/** The Dynamo planner benchmark trace (reference peers.md section 4 row 1): 600 s, 5 -> 20 req/s, period 150 s, ISL/OSL 3000/150. */
export function dynamoSineSpec(seed = 1): SyntheticSpec {
  return {
    shape: { kind: 'sine', min: 5, max: 20, periodS: 150 },
    durationS: 600,
    sizes: { kind: 'fixed', input: 3000, output: 150 },
    seed,
  };
}
