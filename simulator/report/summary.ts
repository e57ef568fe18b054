/**
 * Per-run figures: SLO attainment, latency percentiles, GPU time and cost, scale events and flaps,
 * peak queues, and the time series the charts draw.
 */
import type { RunResult } from '../cluster/run.js';
import type { SimRequest } from '../cluster/replica.js';
import { distribution, quantileSorted, round, type Distribution } from './stats.js';

export interface Slo {
  /** Time to first token threshold, ms (gateway wait included). */
  ttftMs: number;
  /** Mean inter-token latency threshold per request, ms. */
  itlMs: number;
}

/** Latency per request, ms; NaN where the request did not complete (or was refused). */
export interface RequestLatencies {
  ttftMs: Float64Array;
  itlMs: Float64Array;
  e2eMs: Float64Array;
  /** 1 when the request met both thresholds. */
  met: Uint8Array;
}

export function requestLatencies(run: Pick<RunResult, 'log'>, slo: Slo): RequestLatencies {
  const reqs = run.log.requests;
  const n = reqs.length;
  const ttft = new Float64Array(n);
  const itl = new Float64Array(n);
  const e2e = new Float64Array(n);
  const met = new Uint8Array(n);
  const { firstTokenMs, finishMs, rejected } = run.log;
  for (let i = 0; i < n; i++) {
    const r = reqs[i]!;
    const f = finishMs[i]!;
    if (Number.isNaN(f) || rejected[i] === 1) {
      ttft[i] = NaN;
      itl[i] = NaN;
      e2e[i] = NaN;
      continue;
    }
    const first = firstTokenMs[i]!;
    ttft[i] = first - r.arrivalMs;
    e2e[i] = f - r.arrivalMs;
    itl[i] = r.outputTokens > 1 ? (f - first) / (r.outputTokens - 1) : 0;
    met[i] = ttft[i]! <= slo.ttftMs && itl[i]! <= slo.itlMs ? 1 : 0;
  }
  return { ttftMs: ttft, itlMs: itl, e2eMs: e2e, met };
}

export interface LatencyStats {
  /** Seconds. */
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface RunSummary {
  name: string;
  strategy: string;
  metrics: string[];
  requests: number;
  completed: number;
  /** Refused by the replica (e.g. longer than the max model length). */
  rejected: number;
  /** Still queued or running when the run gave up. */
  unfinished: number;
  slo: {
    /** Fraction of all requests that completed within both thresholds. */
    attainment: number | null;
    ttftAttainment: number | null;
    itlAttainment: number | null;
  };
  ttft: LatencyStats;
  itl: LatencyStats;
  e2e: LatencyStats;
  /** Until the last completion: the span cost is counted over. */
  durationS: number;
  replicaSeconds: number;
  gpuHours: number;
  costUsd: number;
  /** Filled in when an oracle was computed. */
  costVsOracle: number | null;
  meanReplicas: number | null;
  peakReplicas: number;
  scaleEvents: number;
  scaleUps: number;
  scaleDowns: number;
  /** Scale events reversing the previous one's direction within the flap window. */
  flaps: number;
  peakGatewayQueue: number;
  peakWaiting: number;
  tickErrors: number;
  truncated: boolean;
}

export function latencyStats(d: Distribution): LatencyStats {
  const s = (v: number): number | null => round(v / 1000, 4);
  return { mean: s(d.mean), p50: s(d.p50), p90: s(d.p90), p99: s(d.p99), max: s(d.max) };
}

/** Direction reversals within `windowMs` of the previous scale event. */
export function countFlaps(
  events: readonly { timeMs: number; from: number; to: number }[],
  windowMs: number,
): number {
  let flaps = 0;
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1]!;
    const b = events[i]!;
    const da = Math.sign(a.to - a.from);
    const db = Math.sign(b.to - b.from);
    if (da !== 0 && db !== 0 && da !== db && b.timeMs - a.timeMs <= windowMs) flaps++;
  }
  return flaps;
}

/** What became of a run's requests: how many were served, refused or left, SLO attainment, latencies. */
export function requestFigures(
  log: Pick<RunResult['log'], 'requests' | 'completed' | 'rejectedCount'>,
  lat: RequestLatencies,
  slo: Slo,
): Pick<RunSummary, 'requests' | 'completed' | 'rejected' | 'unfinished' | 'slo' | 'ttft' | 'itl' | 'e2e'> {
  const n = log.requests.length;
  let ttftOk = 0;
  let itlOk = 0;
  let met = 0;
  for (let i = 0; i < n; i++) {
    if (lat.ttftMs[i]! <= slo.ttftMs) ttftOk++;
    if (lat.itlMs[i]! <= slo.itlMs) itlOk++;
    met += lat.met[i]!;
  }
  const frac = (k: number): number | null => (n === 0 ? null : round(k / n, 6));
  return {
    requests: n,
    completed: log.completed - log.rejectedCount,
    rejected: log.rejectedCount,
    unfinished: n - log.completed,
    slo: { attainment: frac(met), ttftAttainment: frac(ttftOk), itlAttainment: frac(itlOk) },
    ttft: latencyStats(distribution(lat.ttftMs)),
    itl: latencyStats(distribution(lat.itlMs)),
    e2e: latencyStats(distribution(lat.e2eMs)),
  };
}

/** How many scale events a run (or one pool) had, and how many of them went up and down. */
export function scaleEventCounts(
  events: readonly { from: number; to: number }[],
): Pick<RunSummary, 'scaleEvents' | 'scaleUps' | 'scaleDowns'> {
  return {
    scaleEvents: events.length,
    scaleUps: events.filter((e) => e.to > e.from).length,
    scaleDowns: events.filter((e) => e.to < e.from).length,
  };
}

/**
 * Time-weighted mean of `count(i)` (the value from sample i to sample i + 1) over the samples up to
 * `endMs`: the mean replicas of a run. Null for a run shorter than one sample.
 */
export function timeWeightedMean(
  timeMs: readonly number[],
  count: (i: number) => number,
  endMs: number,
): number | null {
  let area = 0;
  for (let i = 1; i < timeMs.length && timeMs[i - 1]! < endMs; i++)
    area += (Math.min(timeMs[i]!, endMs) - timeMs[i - 1]!) * count(i - 1);
  const span = Math.min(timeMs.at(-1) ?? 0, endMs) - (timeMs[0] ?? 0);
  return span > 0 ? round(area / span, 4) : null;
}

export function summarizeRun(
  run: RunResult,
  lat: RequestLatencies,
  slo: Slo,
  flapWindowMs: number,
): RunSummary {
  const replicaSeconds = run.replicaMs / 1000;
  const t = run.timeline;
  return {
    name: run.name,
    strategy: run.pa.strategy,
    metrics: run.pa.metrics.map((m) => `${m.targetMetric}=${m.targetValue}`),
    ...requestFigures(run.log, lat, slo),
    durationS: round(run.workEndMs / 1000, 3)!,
    replicaSeconds: round(replicaSeconds, 3)!,
    gpuHours: round((replicaSeconds * run.gpusPerReplica) / 3600, 6)!,
    costUsd: round((replicaSeconds / 3600) * run.pricePerReplicaHour, 6)!,
    costVsOracle: null,
    meanReplicas: timeWeightedMean(
      t.timeMs,
      (i) => t.ready[i]! + t.starting[i]! + t.draining[i]!,
      run.workEndMs,
    ),
    peakReplicas: run.peakReplicas,
    ...scaleEventCounts(run.scaleEvents),
    flaps: countFlaps(run.scaleEvents, flapWindowMs),
    peakGatewayQueue: run.peakGatewayQueue,
    peakWaiting: run.peakWaiting,
    tickErrors: run.tickErrors.count,
    truncated: run.truncated,
  };
}

/** Latency by arrival window: what the "latency over time" chart draws. */
export interface LatencySeries {
  /** Window start, s. */
  timeS: number[];
  count: number[];
  ttftP50: (number | null)[];
  ttftP99: (number | null)[];
  itlP99: (number | null)[];
  attainment: (number | null)[];
}

export function latencyOverTime(
  requests: readonly SimRequest[],
  lat: RequestLatencies,
  windowMs: number,
  endMs: number,
): LatencySeries {
  const windows = Math.max(1, Math.ceil(endMs / windowMs));
  const out: LatencySeries = { timeS: [], count: [], ttftP50: [], ttftP99: [], itlP99: [], attainment: [] };
  let i = 0;
  const n = requests.length;
  for (let w = 0; w < windows; w++) {
    const end = (w + 1) * windowMs;
    const ttft: number[] = [];
    const itl: number[] = [];
    let met = 0;
    let count = 0;
    while (i < n && requests[i]!.arrivalMs < end) {
      count++;
      met += lat.met[i]!;
      if (!Number.isNaN(lat.ttftMs[i]!)) ttft.push(lat.ttftMs[i]!);
      if (!Number.isNaN(lat.itlMs[i]!)) itl.push(lat.itlMs[i]!);
      i++;
    }
    ttft.sort((a, b) => a - b);
    itl.sort((a, b) => a - b);
    const s = (v: number): number | null => round(v / 1000, 4);
    out.timeS.push(round((w * windowMs) / 1000, 3)!);
    out.count.push(count);
    out.ttftP50.push(s(quantileSorted(ttft, 0.5)));
    out.ttftP99.push(s(quantileSorted(ttft, 0.99)));
    out.itlP99.push(s(quantileSorted(itl, 0.99)));
    out.attainment.push(count === 0 ? null : round(met / count, 4));
  }
  return out;
}

/** Arrivals per second in windows of `windowMs`: the load line of the charts. */
export function loadSeries(
  requests: readonly SimRequest[],
  windowMs: number,
  endMs: number,
): { timeS: number[]; rps: number[] } {
  const windows = Math.max(1, Math.ceil(endMs / windowMs));
  const counts = new Array<number>(windows).fill(0);
  for (const r of requests) {
    const w = Math.min(windows - 1, Math.floor(r.arrivalMs / windowMs));
    counts[w]!++;
  }
  return {
    timeS: counts.map((_, w) => round((w * windowMs) / 1000, 3)!),
    rps: counts.map((c) => round(c / (windowMs / 1000), 4)!),
  };
}
