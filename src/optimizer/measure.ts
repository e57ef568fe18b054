/**
 * Profiles measured on the simulator's vLLM replica model (`inferscale profile`).
 *
 * For one (GPU, model) deployment and one (input length, output length) cell, the highest request
 * rate one replica sustains within an SLO is found by search over the rate:
 *
 * - a **trial** at rate λ replays a seeded Poisson stream of fixed-size requests (N = λ × duration,
 *   clamped to [minRequests, maxRequests]) against a fresh replica until every request finished,
 *   then checks each SLO target (TTFT, per-request mean ITL, E2E) at its percentile twice: over all
 *   requests and over the later half by arrival. The second check catches a queue that keeps
 *   growing through the trial (an overloaded replica whose early requests still look fine);
 * - the **search** first checks a lone request (if it misses the SLO, no rate can meet it: 0), then
 *   doubles or halves from a starting guess until one rate passes and one fails, then bisects
 *   geometrically until the bracket is narrower than `tolerance`. The answer is the largest rate
 *   that passed.
 *
 * Every trial of a cell uses the same unit-rate arrival pattern scaled by 1/λ (common random
 * numbers), so a faster rate is the same stream compressed and the pass/fail outcome is close to
 * monotone in λ; a seed reproduces a profile exactly.
 */
import type { Slo, SloTarget } from '../../algorithms/optimizer/profile.js';
import { gpuSpec, modelSpec, resolveDeployment, type Deployment } from '../../simulator/model/hardware.js';
import { ReplicaModel, type ReplicaOptions, type RequestResult } from '../../simulator/model/replica.js';
import { Rng } from '../../simulator/traces/rng.js';
import type { MeasureMaxRate } from './profile-builder.js';

export interface SimMeasureOptions {
  /** Deployment and engine options of the replica (tp, max model len, …). */
  replica?: ReplicaOptions;
  /**
   * Simulated seconds of arrivals per trial (before clamping the request count). Default 60; a cell
   * whose lone request takes longer than a quarter of it gets 4 × that request's latency instead, so
   * that the replica reaches its steady batch before the trial's later half.
   */
  durationS?: number;
  /** Fewest requests per trial (sets the duration at low rates). Default 150. */
  minRequests?: number;
  /** Most requests per trial (caps the work at high rates). Default 4000. */
  maxRequests?: number;
  /** Seed of the first arrival stream. Default 1. */
  seed?: number;
  /**
   * Independent arrival streams (seeds seed, seed+1, …) per cell; the cell's rate is their median.
   * One stream's edge moves by ±10–20 % with the seed at these request counts. Default 3.
   */
  repeats?: number;
  /** Stop bisecting when hi / lo ≤ 1 + tolerance. Default 0.05. */
  tolerance?: number;
  /** Rates below this count as 0 (the cell is then excluded from planning). Default 0.005 req/s. */
  minRate?: number;
  /** The search does not go above this; a cell passing there reports it. Default 2000 req/s. */
  maxRate?: number;
}

type Resolved = Required<Omit<SimMeasureOptions, 'replica'>> & { replica: ReplicaOptions };

export interface SloCheck {
  /** Which SLO target, e.g. `ttft p90`. */
  target: string;
  /** Seconds: the statistic over all requests, and over the later half. */
  all: number;
  laterHalf: number;
  limit: number;
  ok: boolean;
}

export interface TrialResult {
  rate: number;
  requests: number;
  ok: boolean;
  checks: SloCheck[];
  /** Simulated seconds from the first arrival to the last completion. */
  simulatedSeconds: number;
  /** Completions / (last completion − first arrival): below `rate` when a backlog built up. */
  achievedRps: number;
  /** Set when the replica refused the requests (longer than max model len). */
  rejected?: string;
}

export interface CellMeasurement {
  input: number;
  output: number;
  /** Highest passing rate, req/s (median over the streams); 0 when a lone request misses the SLO. */
  maxRps: number;
  /** Each stream's answer, in seed order (one entry per repeat). */
  perSeed: number[];
  trials: TrialResult[];
  /** Why the cell is 0 or capped, when it is. */
  note?: string;
}

const DEFAULTS: Omit<Resolved, 'replica'> = {
  durationS: 60,
  minRequests: 150,
  maxRequests: 4000,
  seed: 1,
  repeats: 3,
  tolerance: 0.05,
  minRate: 0.005,
  maxRate: 2000,
};

function resolveOptions(o: SimMeasureOptions): Resolved {
  const r: Resolved = { ...DEFAULTS, ...stripUndefined(o), replica: o.replica ?? {} };
  const positive: Array<[string, number]> = [
    ['durationS', r.durationS],
    ['tolerance', r.tolerance],
    ['minRate', r.minRate],
    ['maxRate', r.maxRate],
  ];
  for (const [name, v] of positive) {
    if (!(v > 0) || !Number.isFinite(v)) throw new Error(`${name} must be a positive number, got ${v}`);
  }
  if (!Number.isInteger(r.repeats) || r.repeats < 1 || r.repeats > 15) {
    throw new Error(`repeats must be a whole number from 1 to 15, got ${r.repeats}`);
  }
  if (!Number.isInteger(r.minRequests) || r.minRequests < 1) {
    throw new Error(`minRequests must be a whole number ≥ 1, got ${r.minRequests}`);
  }
  if (!Number.isInteger(r.maxRequests) || r.maxRequests < r.minRequests) {
    throw new Error(
      `maxRequests must be a whole number ≥ minRequests (${r.minRequests}), got ${r.maxRequests}`,
    );
  }
  if (!(r.maxRate > r.minRate)) throw new Error(`maxRate (${r.maxRate}) must exceed minRate (${r.minRate})`);
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Nearest-rank percentile (or the mean) of `values`, which it sorts in place. */
export function statistic(values: number[], percentile: SloTarget['percentile']): number {
  if (values.length === 0) return NaN;
  if (percentile === 'mean') return values.reduce((s, v) => s + v, 0) / values.length;
  values.sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((percentile / 100) * values.length));
  return values[rank - 1] as number;
}

const SLO_KEYS = ['ttft', 'itl', 'e2e'] as const;

function valueOf(key: (typeof SLO_KEYS)[number], r: RequestResult): number {
  switch (key) {
    case 'ttft':
      return r.ttftMs / 1000;
    case 'itl':
      // Per-request mean inter-token latency (Mélange's TPOT): decode time / (outputs − 1).
      return r.tpotMs / 1000;
    case 'e2e':
      return r.e2eMs / 1000;
  }
}

function describeTarget(key: string, t: SloTarget): string {
  return `${key} ${t.percentile === 'mean' ? 'mean' : `p${t.percentile}`}`;
}

/** Checks every target of `slo` over all results and over the later half (by arrival). */
export function checkSlo(results: readonly RequestResult[], slo: Slo): SloCheck[] {
  const byArrival = [...results].sort((a, b) => a.arrivalMs - b.arrivalMs || Number(a.id) - Number(b.id));
  const later = byArrival.slice(Math.floor(byArrival.length / 2));
  const checks: SloCheck[] = [];
  for (const key of SLO_KEYS) {
    const target = slo[key];
    if (target === undefined) continue;
    const all = statistic(
      byArrival.map((r) => valueOf(key, r)),
      target.percentile,
    );
    const laterHalf = statistic(
      later.map((r) => valueOf(key, r)),
      target.percentile,
    );
    checks.push({
      target: describeTarget(key, target),
      all,
      laterHalf,
      limit: target.seconds,
      ok: all <= target.seconds && laterHalf <= target.seconds,
    });
  }
  return checks;
}

/**
 * One replica's measurement context: the resolved deployment and a unit-rate arrival pattern
 * shared by every trial (common random numbers).
 */
export class ReplicaBench {
  readonly deployment: Deployment;
  private readonly opts: Resolved;
  private readonly unitArrivals: Float64Array;

  constructor(
    readonly gpu: string,
    readonly model: string,
    options: SimMeasureOptions = {},
  ) {
    this.opts = resolveOptions(options);
    this.deployment = resolveDeployment(gpuSpec(gpu), modelSpec(model), this.opts.replica);
    const rng = new Rng(this.opts.seed);
    this.unitArrivals = new Float64Array(this.opts.maxRequests);
    let t = 0;
    for (let k = 0; k < this.opts.maxRequests; k++) {
      t += rng.exp(1);
      this.unitArrivals[k] = t;
    }
  }

  get options(): Readonly<Resolved> {
    return this.opts;
  }

  /** Requests a trial at `rate` sends over `durationS` (default: the configured duration). */
  requestsAt(rate: number, durationS = this.opts.durationS): number {
    const n = Math.round(rate * durationS);
    return Math.min(this.opts.maxRequests, Math.max(this.opts.minRequests, n));
  }

  /** Replays `count` requests (default `requestsAt(rate)`) of one size at `rate` and checks `slo`. */
  trial(input: number, output: number, rate: number, slo: Slo, count = this.requestsAt(rate)): TrialResult {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new Error(`trial rate must be > 0 req/s, got ${rate}`);
    const n = Math.min(count, this.unitArrivals.length);
    const replica = new ReplicaModel(this.deployment.gpu, this.deployment.model, {
      ...this.opts.replica,
      emitFirstTokenEvents: false,
    });
    const results: RequestResult[] = [];
    let rejected: string | undefined;
    const firstArrival = ((this.unitArrivals[0] as number) / rate) * 1000;
    let lastEnd = firstArrival;
    const collect = (events: ReturnType<ReplicaModel['advanceTo']>): void => {
      for (const e of events) {
        if (e.type === 'finished') {
          results.push(e.result);
          if (e.timeMs > lastEnd) lastEnd = e.timeMs;
        } else if (e.type === 'rejected') rejected ??= e.reason;
      }
    };
    for (let k = 0; k < n; k++) {
      const at = ((this.unitArrivals[k] as number) / rate) * 1000;
      // Finish every step due before this arrival, then hand the request over.
      for (
        let next = replica.nextEventTime();
        next !== undefined && next < at;
        next = replica.nextEventTime()
      ) {
        collect(replica.advanceTo(next));
      }
      replica.enqueue({ id: k, arrivalMs: at, inputTokens: input, outputTokens: output }, at);
    }
    for (let next = replica.nextEventTime(); next !== undefined; next = replica.nextEventTime()) {
      collect(replica.advanceTo(next));
    }
    collect(replica.advanceTo(replica.timeMs));
    const simulatedSeconds = (lastEnd - firstArrival) / 1000;
    if (rejected !== undefined) {
      return { rate, requests: n, ok: false, checks: [], simulatedSeconds, achievedRps: 0, rejected };
    }
    if (results.length !== n) {
      throw new Error(`internal: ${n} requests sent at ${rate} req/s but ${results.length} finished`);
    }
    const checks = checkSlo(results, slo);
    return {
      rate,
      requests: n,
      ok: checks.every((c) => c.ok),
      checks,
      simulatedSeconds,
      achievedRps: simulatedSeconds > 0 ? n / simulatedSeconds : Infinity,
    };
  }

  /**
   * The highest rate within the SLO for one cell. `guess` (req/s) starts the bracket search; a
   * neighbouring cell's answer is a good one and saves trials.
   */
  measureCell(input: number, output: number, slo: Slo, guess?: number): CellMeasurement {
    const { tolerance, minRate, maxRate } = this.opts;
    const trials: TrialResult[] = [];
    const cell = (maxRps: number, note?: string): CellMeasurement => ({
      input,
      output,
      maxRps,
      perSeed: [maxRps],
      trials,
      ...(note !== undefined ? { note } : {}),
    });

    // A lone request (no queueing, no batching): if it misses the SLO, no rate meets it.
    const solo = this.trial(input, output, minRate, slo, 1);
    trials.push(solo);
    if (solo.rejected !== undefined) return cell(0, `refused by the replica: ${solo.rejected}`);
    if (!solo.ok) {
      const failed = solo.checks.filter((c) => !c.ok).map((c) => `${c.target} ${fmtS(c.all)} > ${c.limit} s`);
      return cell(0, `a lone request misses the SLO (${failed.join(', ')})`);
    }
    const durationS = Math.max(this.opts.durationS, LIFETIMES * solo.simulatedSeconds);
    const run = (rate: number): TrialResult => {
      const t = this.trial(input, output, rate, slo, this.requestsAt(rate, durationS));
      trials.push(t);
      return t;
    };

    let lo = 0;
    let hi = Infinity;
    let rate = Math.min(maxRate, Math.max(minRate, guess !== undefined && guess > 0 ? guess : 1));
    // Bracket: double after a pass, halve after a fail, until both ends are known.
    for (;;) {
      const t = run(rate);
      if (t.ok) {
        lo = rate;
        if (hi !== Infinity) break;
        if (rate >= maxRate) return cell(maxRate, `passes at the search ceiling of ${maxRate} req/s`);
        rate = Math.min(maxRate, rate * 2);
      } else {
        hi = rate;
        if (lo > 0) break;
        if (rate <= minRate) return cell(0, `misses the SLO even at ${minRate} req/s`);
        rate = Math.max(minRate, rate / 2);
      }
    }
    while (hi / lo > 1 + tolerance) {
      const mid = Math.sqrt(lo * hi);
      if (run(mid).ok) lo = mid;
      else hi = mid;
    }
    return cell(lo);
  }
}

/** A trial spans at least this many lone-request latencies (see `durationS`). */
const LIFETIMES = 4;

function fmtS(v: number): string {
  return `${v.toPrecision(3)} s`;
}

/** Median of a non-empty list (the mean of the middle two for an even count). */
function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/**
 * One cell measured on `repeats` independent arrival streams; the answer is the median. A lone
 * request is deterministic, so a cell at 0 is 0 on every stream and measured once.
 */
export function measureCellRepeated(
  benches: readonly ReplicaBench[],
  input: number,
  output: number,
  slo: Slo,
  guess?: number,
): CellMeasurement {
  const first = benches[0];
  if (first === undefined) throw new Error('measureCellRepeated: no bench given');
  const results = [first.measureCell(input, output, slo, guess)];
  const head = results[0] as CellMeasurement;
  if (head.maxRps > 0) {
    for (const bench of benches.slice(1)) results.push(bench.measureCell(input, output, slo, head.maxRps));
  }
  const perSeed = results.map((r) => r.maxRps);
  return {
    input,
    output,
    maxRps: median(perSeed),
    perSeed,
    trials: results.flatMap((r) => r.trials),
    ...(head.note !== undefined ? { note: head.note } : {}),
  };
}

/** The benches of one deployment: one per arrival stream (seed, seed + 1, …). */
export function replicaBenches(gpu: string, model: string, options: SimMeasureOptions = {}): ReplicaBench[] {
  const { seed, repeats } = resolveOptions(options);
  return Array.from(
    { length: repeats },
    (_, k) => new ReplicaBench(gpu, model, { ...options, seed: seed + k }),
  );
}

/**
 * A `MeasureMaxRate` for `buildProfile` backed by the replica model. Cells are measured in the
 * order `buildProfile` asks (row by row); each starts its search from the last answer in the same
 * row (or the row above), which roughly halves the trials.
 */
export function simulatorMeasure(
  options: SimMeasureOptions = {},
  onCell?: (m: CellMeasurement, gpu: string) => void,
): MeasureMaxRate {
  const benches = new Map<string, ReplicaBench[]>();
  const lastInRow = new Map<string, number>();
  const firstOfRow = new Map<string, number>();
  return async (gpu, model, inputLen, outputLen, slo) => {
    const key = `${gpu}|${model}`;
    let set = benches.get(key);
    if (set === undefined) {
      set = replicaBenches(gpu, model, options);
      benches.set(key, set);
    }
    const rowKey = `${key}|${inputLen}`;
    const guess = lastInRow.get(rowKey) ?? firstOfRow.get(key);
    const m = measureCellRepeated(set, inputLen, outputLen, slo, guess);
    if (m.maxRps > 0) {
      if (!lastInRow.has(rowKey)) firstOfRow.set(key, m.maxRps);
      lastInRow.set(rowKey, m.maxRps);
    }
    onCell?.(m, gpu);
    return m.maxRps;
  };
}
