/**
 * Autoscaling signals computed straight from a replica's numbers, without rendering and parsing its
 * `/metrics` page: the fast path of the virtual MetricSource. It follows the production reader
 * (src/metrics/signals.ts) rule for rule — gauges as of the last step, rates and window quantities
 * between two reads of the same pod, missing (never 0) on a pod's first read or an empty window —
 * and `--verify-metrics` checks that both paths agree.
 */
import type { ResolvedMetric } from '../../src/metrics/catalogue.js';
import { histogramQuantile } from '../../src/metrics/signals.js';
import type { HistogramView, ReplicaSignals } from './replica.js';

// vLLM V1 bucket bounds: the production reader sees these on the page, so quantiles are
// interpolated inside the same buckets.
const TTFT_LES = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
  80.0, 160.0, 640.0, 2560.0,
];
const ITL_LES = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
const E2E_LES = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
  960.0, 1920.0, 7680.0,
];

type Hist = 'ttft' | 'itl' | 'e2e';
const LAYOUTS: Record<Hist, number[]> = { ttft: TTFT_LES, itl: ITL_LES, e2e: E2E_LES };

type DirectReader =
  | { kind: 'gauge'; get: (s: ReplicaSignals) => number; fraction: boolean }
  | { kind: 'rate'; get: (s: ReplicaSignals) => number }
  | { kind: 'ratio'; num: (s: ReplicaSignals) => number; den: (s: ReplicaSignals) => number }
  | { kind: 'mean'; hist: Hist }
  | { kind: 'quantile'; hist: Hist; q: number };

const FIXED: Record<string, DirectReader> = {
  kv_cache_usage: { kind: 'gauge', get: (s) => s.kvUsage, fraction: true },
  requests_running: { kind: 'gauge', get: (s) => s.running, fraction: false },
  requests_waiting: { kind: 'gauge', get: (s) => s.waiting, fraction: false },
  prompt_tokens_per_second: { kind: 'rate', get: (s) => s.promptTokens },
  generation_tokens_per_second: { kind: 'rate', get: (s) => s.generationTokens },
  requests_per_second: { kind: 'rate', get: (s) => s.requestsFinished },
  preemptions_per_second: { kind: 'rate', get: (s) => s.preemptions },
  prefix_cache_hit_rate: { kind: 'ratio', num: (s) => s.prefixHits, den: (s) => s.prefixQueries },
  ttft_mean: { kind: 'mean', hist: 'ttft' },
  itl_mean: { kind: 'mean', hist: 'itl' },
  e2e_mean: { kind: 'mean', hist: 'e2e' },
};

const QUANTILE_RE = /^(ttft|itl|e2e)_p(\d{1,2}(?:\.\d+)?)$/;

/** The direct reader of a resolved metric, or undefined when only the page can answer (raw families). */
export function directReaderFor(metric: ResolvedMetric): DirectReader | undefined {
  if (metric.via === 'raw' || metric.unit === 'raw') return undefined;
  const fixed = FIXED[metric.name];
  if (fixed !== undefined) return fixed;
  const m = QUANTILE_RE.exec(metric.name);
  if (m === null) return undefined;
  return { kind: 'quantile', hist: m[1] as Hist, q: Number(m[2]) / 100 };
}

/** The numbers one reader needs from one read of one pod. */
export interface DirectSnapshot {
  atMs: number;
  values: number[];
}

function histOf(s: ReplicaSignals, h: Hist): HistogramView {
  return h === 'ttft' ? s.ttft : h === 'itl' ? s.itl : s.e2e;
}

export function takeDirectSnapshot(r: DirectReader, s: ReplicaSignals, atMs: number): DirectSnapshot {
  switch (r.kind) {
    case 'gauge':
      return { atMs, values: [r.get(s)] };
    case 'rate':
      return { atMs, values: [r.get(s)] };
    case 'ratio':
      return { atMs, values: [r.num(s), r.den(s)] };
    case 'mean': {
      const h = histOf(s, r.hist);
      return { atMs, values: [h.sum, h.count] };
    }
    case 'quantile': {
      const h = histOf(s, r.hist);
      return { atMs, values: [...h.cumulative(LAYOUTS[r.hist]), h.count] };
    }
  }
}

export type DirectValue = { ok: true; value: number } | { ok: false; message: string };

export function evaluateDirect(
  metric: ResolvedMetric,
  r: DirectReader,
  cur: DirectSnapshot,
  base: DirectSnapshot | undefined,
): DirectValue {
  const scaled = (v: number): DirectValue => ({ ok: true, value: v * metric.scale });
  if (r.kind === 'gauge') {
    const v = cur.values[0]!;
    if (!Number.isFinite(v)) return { ok: false, message: `${metric.name} is ${v}` };
    if (r.fraction && (v < 0 || v > 1 + 1e-9))
      return { ok: false, message: `${metric.name} = ${v} is outside 0..1` };
    return scaled(r.fraction ? Math.min(v, 1) : v);
  }
  if (base === undefined) return { ok: false, message: `${metric.name}: first read of this pod` };
  const dt = (cur.atMs - base.atMs) / 1000;
  if (!(dt > 0)) return { ok: false, message: `${metric.name}: no time elapsed since the previous read` };
  const d = (i: number): number => cur.values[i]! - base.values[i]!;
  switch (r.kind) {
    case 'rate':
      return scaled(d(0) / dt);
    case 'ratio': {
      const den = d(1);
      if (den === 0) return { ok: false, message: `${metric.name}: no queries in the window` };
      return scaled(Math.min(1, Math.max(0, d(0) / den)));
    }
    case 'mean': {
      const count = d(1);
      if (count === 0) return { ok: false, message: `${metric.name}: no observations in the window` };
      return scaled(d(0) / count);
    }
    case 'quantile': {
      const les = LAYOUTS[r.hist];
      const total = d(les.length);
      if (total === 0) return { ok: false, message: `${metric.name}: no observations in the window` };
      const buckets = les.map((le, i) => ({ le, count: d(i) }));
      buckets.push({ le: Infinity, count: total });
      return scaled(histogramQuantile(r.q, buckets));
    }
  }
}
