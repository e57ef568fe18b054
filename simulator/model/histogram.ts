/**
 * A cumulative histogram over the union of several bucket lists, so that one set of observations
 * can be rendered exactly in vLLM V1, vLLM V0 and SGLang bucket layouts (each layout's boundaries
 * are all present in the union, so every rendered cumulative count is exact).
 */
export class Histogram {
  /** Sorted, distinct, finite upper bounds. */
  readonly bounds: Float64Array;
  /** Non-cumulative counts per bucket; the last slot is the +Inf bucket. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(...layouts: readonly (readonly number[])[]) {
    const all = new Set<number>();
    for (const l of layouts) for (const b of l) if (Number.isFinite(b)) all.add(b);
    this.bounds = Float64Array.from([...all].sort((a, b) => a - b));
    this.counts = new Float64Array(this.bounds.length + 1);
  }

  /** Records `n` observations of value `v`. */
  observe(v: number, n = 1): void {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length;
    // First bound >= v (Prometheus buckets are `le`, upper-inclusive).
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((b[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    this.counts[lo] = (this.counts[lo] as number) + n;
    this.sum += v * n;
    this.count += n;
  }

  /** Cumulative counts at each of `layout`'s bounds (each must be one of this histogram's bounds). */
  cumulative(layout: readonly number[]): number[] {
    const out: number[] = [];
    let acc = 0;
    let i = 0;
    for (const le of layout) {
      while (i < this.bounds.length && (this.bounds[i] as number) <= le) {
        acc += this.counts[i] as number;
        i++;
      }
      if (i === 0 || this.bounds[i - 1] !== le) {
        throw new Error(`bucket bound ${le} is not part of this histogram's layouts`);
      }
      out.push(acc);
    }
    return out;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
