/**
 * Time-bucketed sliding window, as plain data.
 *
 * Semantics follow AIBrix's `TimeWindow` (one value per bucket, the last write in a bucket wins,
 * the window covers the closed interval [now − duration, now] at bucket resolution) with one
 * deliberate difference (AIBrix weakness W-12): every read prunes by the caller's `nowMs`, so a
 * window that stopped receiving samples empties instead of serving stale values forever, and an
 * empty window reads as `undefined`, never as 0.
 *
 * The state is an immutable plain object (JSON round-trips), so the engine can keep one per
 * PodAutoscaler and metric, persist it, and rebuild it after a failover.
 */

export interface WindowBucket {
  /** `floor(timeMs / granularityMs)`. */
  readonly index: number;
  readonly value: number;
}

export interface WindowState {
  readonly durationMs: number;
  readonly granularityMs: number;
  /** Ascending by `index`, at most one entry per index. */
  readonly buckets: readonly WindowBucket[];
}

export const DEFAULT_GRANULARITY_MS = 1000;

function checkPositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`window ${name} must be a positive finite number of milliseconds, got ${value}`);
  }
}

export function createWindow(
  durationMs: number,
  granularityMs: number = DEFAULT_GRANULARITY_MS,
): WindowState {
  checkPositive('durationMs', durationMs);
  checkPositive('granularityMs', granularityMs);
  return { durationMs, granularityMs, buckets: [] };
}

/** Index of the oldest bucket still inside the window at `nowMs`. */
function cutoffIndex(window: WindowState, nowMs: number): number {
  return Math.floor((nowMs - window.durationMs) / window.granularityMs);
}

/** Drops buckets older than the window at `nowMs`. Returns the same object when nothing changes. */
export function pruneWindow(window: WindowState, nowMs: number): WindowState {
  const cutoff = cutoffIndex(window, nowMs);
  const first = window.buckets.findIndex((b) => b.index >= cutoff);
  if (first === 0) return window;
  return { ...window, buckets: first < 0 ? [] : window.buckets.slice(first) };
}

/**
 * Records `value` at `nowMs`: overwrites the bucket of that instant, then prunes relative to
 * `nowMs` (exactly AIBrix's `Record`).
 */
export function recordSample(window: WindowState, nowMs: number, value: number): WindowState {
  if (!Number.isFinite(value)) {
    throw new RangeError(`window sample must be a finite number, got ${value}: treat it as missing instead`);
  }
  if (!Number.isFinite(nowMs)) throw new RangeError(`window time must be finite, got ${nowMs}`);
  const index = Math.floor(nowMs / window.granularityMs);
  const buckets = window.buckets.filter((b) => b.index !== index);
  const at = buckets.findIndex((b) => b.index > index);
  const entry: WindowBucket = { index, value };
  if (at < 0) buckets.push(entry);
  else buckets.splice(at, 0, entry);
  return pruneWindow({ ...window, buckets }, nowMs);
}

/** Values inside the window at `nowMs`, oldest first. */
export function windowValues(window: WindowState, nowMs: number): number[] {
  return pruneWindow(window, nowMs).buckets.map((b) => b.value);
}

export function windowSize(window: WindowState, nowMs: number): number {
  return pruneWindow(window, nowMs).buckets.length;
}

/** Unweighted mean of the buckets inside the window at `nowMs`; `undefined` when there are none. */
export function windowAverage(window: WindowState, nowMs: number): number | undefined {
  const values = windowValues(window, nowMs);
  if (values.length === 0) return undefined;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export function windowMax(window: WindowState, nowMs: number): number | undefined {
  const values = windowValues(window, nowMs);
  return values.length === 0 ? undefined : Math.max(...values);
}

export function windowMin(window: WindowState, nowMs: number): number | undefined {
  const values = windowValues(window, nowMs);
  return values.length === 0 ? undefined : Math.min(...values);
}

/**
 * Changes the window length. Unlike AIBrix (which recreates both windows empty when a duration
 * changes), the history is kept; reads prune to the new length. A granularity change re-buckets
 * by keeping the latest value per new bucket.
 */
export function resizeWindow(
  window: WindowState,
  durationMs: number,
  granularityMs: number = window.granularityMs,
): WindowState {
  checkPositive('durationMs', durationMs);
  checkPositive('granularityMs', granularityMs);
  if (durationMs === window.durationMs && granularityMs === window.granularityMs) return window;
  if (granularityMs === window.granularityMs) return { ...window, durationMs };
  const rebucketed = new Map<number, number>();
  for (const b of window.buckets) {
    rebucketed.set(Math.floor((b.index * window.granularityMs) / granularityMs), b.value);
  }
  const buckets = [...rebucketed.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, value]) => ({ index, value }));
  return { durationMs, granularityMs, buckets };
}
