/** Order statistics used by the report. Nearest-rank quantiles: hand-checkable, no interpolation. */

/** Nearest-rank q-quantile (0 < q <= 1) of ascending values; NaN when empty. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sorted[rank - 1]!;
}

export interface Distribution {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Summary of `values` (any order; finite values only are kept). Values are returned as given. */
export function distribution(values: ArrayLike<number>): Distribution {
  const kept = new Float64Array(values.length);
  let n = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      kept[n++] = v;
      sum += v;
    }
  }
  const sorted = kept.subarray(0, n).sort();
  return {
    count: n,
    mean: n === 0 ? NaN : sum / n,
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p99: quantileSorted(sorted, 0.99),
    max: n === 0 ? NaN : sorted[n - 1]!,
  };
}

/** Rounds for JSON: fixed significant decimals, NaN/±Inf become null. */
export function round(v: number, digits = 4): number | null {
  if (!Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
