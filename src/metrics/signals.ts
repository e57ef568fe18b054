/**
 * From parsed pages to signal values.
 *
 * Reading a signal is two steps, so the pod scraper can keep a small per-pod history instead of
 * whole pages: `takeSnapshot` keeps only the numbers one resolved metric needs from one page (one
 * reader's series, filtered by model), and `evaluate` turns the current snapshot and an earlier one
 * into a value. Rates, hit ratios, quantiles and means are computed over the window between the two
 * snapshots; a pod's first snapshot gives them no value (missing, not 0).
 *
 * Counter and histogram deltas are reset-aware per series, like Prometheus' `rate()`: a series whose
 * value went down restarted, and its increase is its current value.
 */
import type { ResolvedMetric, Reader } from './catalogue.js';
import { findFamily, valueSamples, type Exposition, type Labels, type MetricFamily } from './exposition.js';

export type MissingReason =
  /** No family of the metric on the page, or no series for the requested model. */
  | 'absent'
  /** Series of several models and no `modelName` to pick one. */
  | 'ambiguous'
  /** A delta signal with no earlier snapshot of this pod yet. */
  | 'first-scrape'
  /** A delta signal over a window with nothing in it (no requests finished, no cache queries). */
  | 'no-observations'
  /** NaN, ±Inf, a fraction outside 0..1, or a malformed histogram. */
  | 'invalid'
  /** The series carry explicit timestamps older than the staleness TTL. */
  | 'stale';

export type SignalValue =
  | { ok: true; value: number; family: string }
  | { ok: false; reason: MissingReason; message: string; family?: string };

export interface SnapshotOptions {
  /** Keep only series with this `model_name` label. */
  modelName?: string;
  /** When the page was read (ms since epoch); the window of delta signals runs between two of these. */
  atMs: number;
  /** Series whose explicit timestamps are older than this are stale. Omit to ignore timestamps. */
  staleAfterMs?: number;
}

interface HistSnap {
  les: number[];
  /** Cumulative counts per `les` entry. */
  counts: number[];
}
interface SumCount {
  sum: number;
  count: number;
}

type Part =
  | { kind: 'scalar'; series: Map<string, number> }
  | { kind: 'hist'; series: Map<string, HistSnap> }
  | { kind: 'sumcount'; series: Map<string, SumCount> };

/** What one metric needs from one page. Small: a handful of numbers per series. */
export interface Snapshot {
  atMs: number;
  /** Index of the reader used in `metric.readers`; snapshots of different readers do not mix. */
  readerIndex: number;
  mode: 'gauge' | 'rate' | 'ratio' | 'quantile' | 'mean';
  /** The family read (the numerator's for a ratio), for messages. */
  family: string;
  /** Gauge: aggregate and range check. Quantile: q. */
  aggregate?: 'sum' | 'mean';
  fraction?: boolean;
  q?: number;
  parts: Part[];
}

export type SnapshotResult =
  { ok: true; snapshot: Snapshot } | { ok: false; reason: MissingReason; message: string; family?: string };

/** True for modes that need an earlier snapshot. */
export function needsHistory(snapshot: Snapshot): boolean {
  return snapshot.mode !== 'gauge';
}

/**
 * A copy of `s` that does not point into the page: V8 slices and concatenations keep their source
 * string alive, and a snapshot outlives the page by many ticks.
 */
export function detach(s: string): string {
  return s.length === 0 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

function seriesKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let k = '';
  for (const n of names) k += n + '\u0000' + labels[n] + '\u0001';
  return detach(k);
}

type Selected<T> =
  { ok: true; items: T[] } | { ok: false; reason: MissingReason; message: string; family: string };

/** Model filter, ambiguity and staleness, shared by every kind of series. */
function select<T extends { labels: Labels; timestampMs?: number }>(
  family: string,
  items: T[],
  opts: SnapshotOptions,
): Selected<T> {
  const models = new Set<string>();
  for (const it of items) {
    const m = it.labels.model_name;
    if (m !== undefined) models.add(m);
  }
  let kept = items;
  if (opts.modelName !== undefined) {
    kept = items.filter(
      (it) => it.labels.model_name === undefined || it.labels.model_name === opts.modelName,
    );
    if (kept.length === 0) {
      return {
        ok: false,
        reason: 'absent',
        family,
        message: `${family} has no series with model_name="${opts.modelName}" (models on the page: ${[...models].join(', ')})`,
      };
    }
  } else if (models.size > 1) {
    return {
      ok: false,
      reason: 'ambiguous',
      family,
      message: `${family} has series for ${models.size} models (${[...models].join(', ')}); set modelName (--model) to pick one`,
    };
  }
  if (opts.staleAfterMs !== undefined) {
    let newest: number | undefined;
    for (const it of kept) {
      if (it.timestampMs !== undefined && (newest === undefined || it.timestampMs > newest))
        newest = it.timestampMs;
    }
    if (newest !== undefined && opts.atMs - newest > opts.staleAfterMs) {
      return {
        ok: false,
        reason: 'stale',
        family,
        message: `${family} was last updated ${((opts.atMs - newest) / 1000).toFixed(1)} s before the scrape (TTL ${(opts.staleAfterMs / 1000).toFixed(0)} s)`,
      };
    }
  }
  return { ok: true, items: kept };
}

function hasSeries(f: MetricFamily | undefined): f is MetricFamily {
  if (f === undefined) return false;
  if (f.histograms !== undefined) return f.histograms.length > 0;
  if (f.summaries !== undefined) return f.summaries.length > 0;
  return valueSamples(f).length > 0;
}

function scalarPart(f: MetricFamily, opts: SnapshotOptions): Selected<never> | { ok: true; part: Part } {
  const sel = select(f.name, valueSamples(f), opts);
  if (!sel.ok) return sel;
  const series = new Map<string, number>();
  for (const s of sel.items) series.set(seriesKey(s.labels), s.value);
  return { ok: true, part: { kind: 'scalar', series } };
}

function histPart(f: MetricFamily, opts: SnapshotOptions): Selected<never> | { ok: true; part: Part } {
  const sel = select(f.name, f.histograms ?? [], opts);
  if (!sel.ok) return sel;
  const series = new Map<string, HistSnap>();
  for (const h of sel.items) {
    series.set(seriesKey(h.labels), {
      les: h.buckets.map((b) => b.le),
      counts: h.buckets.map((b) => b.count),
    });
  }
  return { ok: true, part: { kind: 'hist', series } };
}

function sumCountPart(f: MetricFamily, opts: SnapshotOptions): Selected<never> | { ok: true; part: Part } {
  const items: { labels: Labels; timestampMs?: number; sum?: number; count?: number; inf?: number }[] =
    f.histograms !== undefined
      ? f.histograms.map((h) => ({
          ...h,
          inf: h.buckets.at(-1)?.le === Infinity ? h.buckets.at(-1)!.count : undefined,
        }))
      : (f.summaries ?? []);
  const sel = select(f.name, items, opts);
  if (!sel.ok) return sel;
  const series = new Map<string, SumCount>();
  for (const it of sel.items) {
    const count = it.count ?? it.inf;
    if (it.sum === undefined || count === undefined) {
      return {
        ok: false,
        reason: 'invalid',
        family: f.name,
        message: `${f.name} has a series without _sum or _count`,
      };
    }
    series.set(seriesKey(it.labels), { sum: it.sum, count });
  }
  return { ok: true, part: { kind: 'sumcount', series } };
}

function readerFamilies(r: Reader): string[] {
  return r.kind === 'ratio' ? [r.numerator, r.denominator] : [r.family];
}

/**
 * Keeps what `metric` needs from `page`: the first reader whose families are all on the page wins.
 * Model filtering, ambiguity and staleness are decided here, from the page alone.
 */
export function takeSnapshot(
  metric: ResolvedMetric,
  page: Exposition,
  opts: SnapshotOptions,
): SnapshotResult {
  for (let i = 0; i < metric.readers.length; i++) {
    const r = metric.readers[i]!;
    // Loops rather than map/every: this runs per pod per tick, and closures are not free here.
    const names = readerFamilies(r);
    const fams: MetricFamily[] = [];
    for (const n of names) {
      const f = findFamily(page, n);
      if (!hasSeries(f)) break;
      fams.push(f);
    }
    if (fams.length !== names.length) continue;
    const f = fams[0]!;
    const base = { atMs: opts.atMs, readerIndex: i, family: detach(f.name) };
    let mode: Snapshot['mode'];
    let parts: (Selected<never> | { ok: true; part: Part })[];
    switch (r.kind) {
      case 'gauge':
        mode = 'gauge';
        parts = [scalarPart(f, opts)];
        break;
      case 'rate':
        mode = 'rate';
        parts = [scalarPart(f, opts)];
        break;
      case 'ratio':
        mode = 'ratio';
        parts = [scalarPart(fams[0]!, opts), scalarPart(fams[1]!, opts)];
        break;
      case 'quantile':
        if (f.histograms === undefined) {
          return {
            ok: false,
            reason: 'invalid',
            family: f.name,
            message: `${f.name} is a ${f.type}, not a histogram`,
          };
        }
        mode = 'quantile';
        parts = [histPart(f, opts)];
        break;
      case 'mean':
        if (f.histograms === undefined && f.summaries === undefined) {
          return {
            ok: false,
            reason: 'invalid',
            family: f.name,
            message: `${f.name} is a ${f.type}, not a histogram or summary`,
          };
        }
        mode = 'mean';
        parts = [sumCountPart(f, opts)];
        break;
      case 'raw':
        if (f.histograms !== undefined || f.summaries !== undefined) {
          mode = 'mean';
          parts = [sumCountPart(f, opts)];
        } else {
          mode = f.type === 'counter' ? 'rate' : 'gauge';
          parts = [scalarPart(f, opts)];
        }
        break;
    }
    const out: Part[] = [];
    for (const p of parts) {
      if (!p.ok) return p;
      out.push((p as { ok: true; part: Part }).part);
    }
    const snapshot: Snapshot = { ...base, mode, parts: out };
    if (r.kind === 'gauge') {
      snapshot.aggregate = r.aggregate;
      if (r.fraction) snapshot.fraction = true;
    } else if (r.kind === 'raw' && mode === 'gauge') {
      snapshot.aggregate = 'sum';
    } else if (r.kind === 'quantile') {
      snapshot.q = r.q;
    }
    return { ok: true, snapshot };
  }
  const names = [...new Set(metric.readers.flatMap(readerFamilies))];
  return {
    ok: false,
    reason: 'absent',
    message: `no ${names.length === 1 ? 'family' : 'family of'} ${names.join(', ')} on the page`,
  };
}

/** Σ per-series increase between two counter snapshots; a series that went down was reset. */
function counterIncrease(cur: Map<string, number>, prev: Map<string, number>): number {
  let total = 0;
  for (const [k, v] of cur) {
    const p = prev.get(k);
    // A series that appeared since `prev` was created (lazily, on its first event) in the window.
    if (p === undefined || v < p) total += v;
    else total += v - p;
  }
  return total;
}

function allFinite(values: Iterable<number>): boolean {
  for (const v of values) if (!Number.isFinite(v)) return false;
  return true;
}

/**
 * The value of a snapshot, given the snapshot the window starts at (`base`, same pod, earlier).
 * `base` is ignored by gauges and required by every delta mode.
 */
export function evaluate(metric: ResolvedMetric, cur: Snapshot, base: Snapshot | undefined): SignalValue {
  const family = cur.family;
  const bad = (message: string): SignalValue => ({ ok: false, reason: 'invalid', family, message });
  const scaled = (v: number): SignalValue => ({ ok: true, value: v * metric.scale, family });

  if (cur.mode === 'gauge') {
    const part = cur.parts[0]!;
    if (part.kind !== 'scalar') return bad('internal: gauge without scalar part');
    const values = [...part.series.values()];
    if (!allFinite(values)) return bad(`${family} is ${values.find((v) => !Number.isFinite(v))}`);
    let v = values.reduce((a, b) => a + b, 0);
    if (cur.aggregate === 'mean') v /= values.length;
    if (cur.fraction && (v < 0 || v > 1 + 1e-9)) {
      return bad(`${family} = ${v} is outside 0..1${v < 0 ? ' (feature disabled on the engine?)' : ''}`);
    }
    return scaled(cur.fraction ? Math.min(v, 1) : v);
  }

  if (base === undefined || base.readerIndex !== cur.readerIndex || base.mode !== cur.mode) {
    return {
      ok: false,
      reason: 'first-scrape',
      family,
      message: `${family}: ${cur.mode === 'quantile' || cur.mode === 'mean' ? 'a window quantity' : 'a rate'} needs two scrapes of the pod; this is the first`,
    };
  }
  const dt = (cur.atMs - base.atMs) / 1000;
  if (!(dt > 0)) {
    return {
      ok: false,
      reason: 'first-scrape',
      family,
      message: `${family}: no time elapsed since the previous scrape`,
    };
  }

  switch (cur.mode) {
    case 'rate': {
      const c = cur.parts[0]!;
      const p = base.parts[0]!;
      if (c.kind !== 'scalar' || p.kind !== 'scalar') return bad('internal: rate without scalar part');
      if (!allFinite(c.series.values())) return bad(`${family} has a non-finite counter value`);
      return scaled(counterIncrease(c.series, p.series) / dt);
    }
    case 'ratio': {
      const [cn, cd] = cur.parts;
      const [pn, pd] = base.parts;
      if (cn?.kind !== 'scalar' || cd?.kind !== 'scalar' || pn?.kind !== 'scalar' || pd?.kind !== 'scalar') {
        return bad('internal: ratio without scalar parts');
      }
      if (!allFinite(cn.series.values()) || !allFinite(cd.series.values())) {
        return bad(`${family} has a non-finite counter value`);
      }
      const num = counterIncrease(cn.series, pn.series);
      const den = counterIncrease(cd.series, pd.series);
      if (den === 0) {
        return {
          ok: false,
          reason: 'no-observations',
          family,
          message: `${family}: no queries in the window`,
        };
      }
      return scaled(Math.min(1, Math.max(0, num / den)));
    }
    case 'mean': {
      const c = cur.parts[0]!;
      const p = base.parts[0]!;
      if (c.kind !== 'sumcount' || p.kind !== 'sumcount') return bad('internal: mean without sum/count part');
      let sum = 0;
      let count = 0;
      for (const [k, v] of c.series) {
        if (!Number.isFinite(v.sum) || !Number.isFinite(v.count))
          return bad(`${family} has a non-finite _sum or _count`);
        const pv = p.series.get(k);
        if (pv === undefined || v.count < pv.count) {
          sum += v.sum;
          count += v.count;
        } else {
          sum += v.sum - pv.sum;
          count += v.count - pv.count;
        }
      }
      if (count === 0) {
        return {
          ok: false,
          reason: 'no-observations',
          family,
          message: `${family}: no observations in the window`,
        };
      }
      return scaled(sum / count);
    }
    case 'quantile': {
      const c = cur.parts[0]!;
      const p = base.parts[0]!;
      if (c.kind !== 'hist' || p.kind !== 'hist') return bad('internal: quantile without histogram part');
      let les: number[] | undefined;
      let merged: number[] | undefined;
      for (const [k, h] of c.series) {
        if (!allFinite(h.counts)) return bad(`${family} has a non-finite bucket count`);
        if (les === undefined) {
          les = h.les;
          merged = new Array<number>(les.length).fill(0);
        } else if (!sameBounds(les, h.les)) {
          return bad(`${family}: series have different bucket bounds and cannot be merged`);
        }
        const ph = p.series.get(k);
        const reset =
          ph === undefined || !sameBounds(ph.les, h.les) || h.counts.some((v, i) => v < (ph.counts[i] ?? 0));
        for (let i = 0; i < h.counts.length; i++) {
          merged![i]! += reset ? h.counts[i]! : h.counts[i]! - ph!.counts[i]!;
        }
      }
      if (les === undefined || merged === undefined) return bad(`${family} has no series`);
      const buckets = les.map((le, i) => ({ le, count: merged![i]! }));
      if (buckets.at(-1)?.le !== Infinity) return bad(`${family} has no +Inf bucket`);
      if (buckets.at(-1)!.count === 0) {
        return {
          ok: false,
          reason: 'no-observations',
          family,
          message: `${family}: no observations in the window`,
        };
      }
      const v = histogramQuantile(cur.q ?? 0.5, buckets);
      if (Number.isNaN(v)) return bad(`${family}: quantile undefined for these buckets`);
      return scaled(v);
    }
    default:
      return bad(`internal: unknown mode ${String(cur.mode)}`);
  }
}

function sameBounds(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The φ-quantile of cumulative buckets (sorted by `le`, last one `+Inf`), interpolated linearly
 * inside the bucket the rank falls in, as Prometheus' `histogram_quantile` does: the lowest bucket
 * starts at 0 (when its bound is positive), a rank in the `+Inf` bucket returns the highest finite
 * bound, and non-monotonic counts (scrape races between buckets) are flattened upward.
 */
export function histogramQuantile(q: number, buckets: readonly { le: number; count: number }[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (buckets.length < 2 || buckets.at(-1)!.le !== Infinity) return NaN;
  const counts: number[] = [];
  let max = 0;
  for (const b of buckets) {
    max = Math.max(max, b.count);
    counts.push(max);
  }
  const observations = counts.at(-1)!;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = counts.findIndex((c) => c >= rank);
  if (b === -1) b = counts.length - 1;
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.le;
  if (b === 0 && buckets[0]!.le <= 0) return buckets[0]!.le;
  let start = 0;
  const end = buckets[b]!.le;
  let count = counts[b]!;
  if (b > 0) {
    start = buckets[b - 1]!.le;
    count -= counts[b - 1]!;
    rank -= counts[b - 1]!;
  }
  if (count === 0) return end;
  return start + (end - start) * (rank / count);
}

/** Convenience for one-shot readers (CLI, external source): snapshot and evaluate together. */
export function readSignal(
  metric: ResolvedMetric,
  page: Exposition,
  base: Snapshot | undefined,
  opts: SnapshotOptions,
): { value: SignalValue; snapshot?: Snapshot } {
  const snap = takeSnapshot(metric, page, opts);
  if (!snap.ok) {
    const value: SignalValue = { ok: false, reason: snap.reason, message: snap.message };
    if (snap.family !== undefined) value.family = snap.family;
    return { value };
  }
  return { value: evaluate(metric, snap.snapshot, base), snapshot: snap.snapshot };
}
