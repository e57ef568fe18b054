/**
 * A model's workload from its engines' own token histograms.
 *
 * vLLM observes `vllm:request_prompt_tokens` and `vllm:request_generation_tokens` once per finished
 * request, in 1-2-5 buckets (1, 2, 5, 10, 20, 50, …). Over a window, the increase of each
 * histogram's `_count` is the number of requests that finished, and its buckets give the length
 * distribution. The caller (src/optimizer) computes the increases from two scrapes per pod; this
 * module turns them into requests/s per grid cell.
 *
 * Two estimation choices, both documented in docs/optimizer.md:
 * 1. Inside one histogram bucket, lengths are taken as log-uniform, and a bucket straddling two
 *    grid ticks is split between them accordingly. The open `+Inf` bucket is placed at the mean
 *    that `_sum` leaves for it (never below its lower bound).
 * 2. The two histograms are marginals: they do not say which prompt went with which output. We
 *    assume independence WITHIN each pod and sum the per-pod products across pods (a mixture of
 *    products). When deployments see different traffic (a chat deployment, a summarisation one),
 *    the mixture keeps that correlation; a single product of the summed marginals would lose it.
 *    When a router spreads one mix evenly, both estimates coincide.
 */
import { spreadInterval, type Grid, type Rounding } from './grid.js';
import { emptyWorkload, type LoadEstimate } from './workload.js';

/** The increase of one Prometheus histogram over the window. */
export interface HistogramDelta {
  /** Cumulative counts per finite upper bound `le`, ascending. A `+Inf` entry, if any, must equal `count`. */
  buckets: ReadonlyArray<{ le: number; count: number }>;
  /** Increase of `_count`: observations (finished requests) in the window. */
  count: number;
  /** Increase of `_sum`: total tokens observed in the window. */
  sum: number;
}

export interface PodTokenHistograms {
  pod: string;
  /** `undefined` when the pod's scrape failed or lacked the series: missing, not zero. */
  prompt: HistogramDelta | undefined;
  generation: HistogramDelta | undefined;
  /** Why the histograms are missing, when the caller knows (e.g. bucket layout changed). */
  problem?: string;
  /**
   * The span this pod's increase covers, when it differs from the input's `windowSeconds` (a pod
   * that started inside the window has a shorter baseline). Its rate is count / this.
   */
  windowSeconds?: number;
}

export interface HistogramLoadInput {
  pods: readonly PodTokenHistograms[];
  windowSeconds: number;
  grid: Grid;
  rounding: Rounding;
}

/** Sums per-pod independent joints (see the module comment) into one workload. */
export function workloadFromHistograms(input: HistogramLoadInput): LoadEstimate {
  const { pods, windowSeconds, grid, rounding } = input;
  if (!(windowSeconds > 0) || !Number.isFinite(windowSeconds)) {
    throw new Error(`windowSeconds must be a positive number of seconds, got ${windowSeconds}`);
  }
  const workload = emptyWorkload(grid);
  const notes: string[] = [];
  let usable = 0;
  let finished = 0;
  for (const pod of pods) {
    if (pod.problem !== undefined) {
      notes.push(`${pod.pod}: ${pod.problem}; pod left out`);
      continue;
    }
    if (pod.prompt === undefined || pod.generation === undefined) {
      notes.push(
        `${pod.pod}: ${pod.prompt === undefined ? 'prompt' : 'generation'} token histogram missing; pod left out`,
      );
      continue;
    }
    const problem = histogramProblem(pod.prompt) ?? histogramProblem(pod.generation);
    if (problem !== undefined) {
      notes.push(`${pod.pod}: ${problem}; pod left out`);
      continue;
    }
    const requests = Math.max(pod.prompt.count, pod.generation.count);
    if (requests > 0 && (pod.prompt.count === 0 || pod.generation.count === 0)) {
      notes.push(
        `${pod.pod}: prompt histogram counted ${pod.prompt.count} requests but generation histogram ${pod.generation.count}; pod left out`,
      );
      continue;
    }
    const podWindow = pod.windowSeconds ?? windowSeconds;
    if (!(podWindow > 0) || !Number.isFinite(podWindow)) {
      notes.push(`${pod.pod}: window of ${podWindow} s is not a positive duration; pod left out`);
      continue;
    }
    usable++;
    if (requests === 0) continue;
    finished += requests;
    const inShape = marginal(pod.prompt, grid.input, rounding);
    const outShape = marginal(pod.generation, grid.output, rounding);
    const rate = requests / podWindow;
    inShape.weights.forEach((pi, i) => {
      const row = workload.rps[i] as number[];
      outShape.weights.forEach((po, o) => {
        row[o] = (row[o] ?? 0) + rate * pi * po;
      });
    });
    workload.totalRps += rate;
    // A request is clamped when either length is: P(in or out beyond) = 1 − (1−a)(1−b).
    workload.clampedRps += rate * (1 - (1 - inShape.beyond) * (1 - outShape.beyond));
  }
  if (usable === 0) {
    return {
      kind: 'no-data',
      message:
        pods.length === 0
          ? 'no pods reported token histograms'
          : `no pod had usable token histograms (${notes.join('; ')})`,
    };
  }
  if (finished === 0) notes.push(`no request finished in the ${windowSeconds} s window`);
  if (workload.clampedRps > 0) {
    notes.push(
      `${workload.clampedRps.toFixed(3)} req/s are longer than the grid reaches; counted in its last ticks`,
    );
  }
  return { kind: 'ok', workload, notes };
}

function histogramProblem(h: HistogramDelta): string | undefined {
  if (![h.count, h.sum].every((v) => Number.isFinite(v) && v >= 0)) {
    return `count/sum increase is negative or not finite (count ${h.count}, sum ${h.sum}): counter reset inside the window?`;
  }
  let prevLe = -Infinity;
  let prevCount = 0;
  for (const b of h.buckets) {
    if (!(b.le > prevLe)) return `bucket bounds are not ascending at le=${b.le}`;
    if (!(b.count >= prevCount) || !Number.isFinite(b.count)) {
      return `bucket le=${b.le} holds ${b.count}, less than the bucket below (${prevCount}): not a cumulative increase`;
    }
    if (b.le === Infinity && b.count !== h.count)
      return `+Inf bucket (${b.count}) differs from count (${h.count})`;
    prevLe = b.le;
    prevCount = b.count;
  }
  if (prevCount > h.count) return `a bucket holds ${prevCount}, more than count (${h.count})`;
  return undefined;
}

/** The share of observations per tick (plus the share beyond the grid). */
function marginal(
  h: HistogramDelta,
  ticks: readonly number[],
  rounding: Rounding,
): { weights: number[]; beyond: number } {
  const weights = ticks.map(() => 0);
  let beyond = 0;
  const add = (mass: number, lo: number, hi: number): void => {
    if (mass <= 0) return;
    const spread = spreadInterval(ticks, lo, hi, rounding);
    spread.weights.forEach((w, i) => (weights[i] = (weights[i] ?? 0) + mass * w));
    // Mass beyond the grid is clamped into the last tick, and reported.
    weights[ticks.length - 1] = (weights[ticks.length - 1] ?? 0) + mass * spread.beyond;
    beyond += mass * spread.beyond;
  };
  const finite = h.buckets.filter((b) => b.le !== Infinity);
  let lo = 0;
  let below = 0;
  let finiteSum = 0;
  for (const b of finite) {
    const n = b.count - below;
    add(n / h.count, lo, b.le);
    finiteSum += n * logUniformMean(lo, b.le);
    lo = b.le;
    below = b.count;
  }
  const overflow = h.count - below;
  if (overflow > 0) {
    // The open bucket's mean is what `_sum` leaves after the finite buckets' estimated share.
    const residualMean = (h.sum - finiteSum) / overflow;
    const at = Math.max(Math.floor(lo) + 1, Number.isFinite(residualMean) ? Math.round(residualMean) : 0);
    add(overflow / h.count, at - 1, at);
  }
  return { weights, beyond };
}

/** Mean integer length in (lo, hi] under the same log-uniform model `spreadInterval` uses. */
function logUniformMean(lo: number, hi: number): number {
  const a = Math.floor(lo) + 0.5;
  const b = Math.floor(hi) + 0.5;
  if (!(b > a)) return hi;
  return (b - a) / Math.log(b / a);
}

/**
 * The increase of a cumulative histogram between two scrapes of one pod. A drop in `_count` or in
 * any bucket means the engine restarted (counter reset): like Prometheus's `increase()`, the later
 * snapshot is then the whole increase. Bucket bounds must match between the two scrapes.
 */
export function histogramIncrease(earlier: HistogramDelta, later: HistogramDelta): HistogramDelta {
  const sameBounds =
    earlier.buckets.length === later.buckets.length &&
    earlier.buckets.every((b, i) => b.le === later.buckets[i]?.le);
  if (!sameBounds) {
    throw new Error(
      `histogram bucket bounds changed between scrapes (${earlier.buckets.map((b) => b.le).join(',')} → ${later.buckets
        .map((b) => b.le)
        .join(',')}); the engine was reconfigured, take a fresh baseline`,
    );
  }
  const reset =
    later.count < earlier.count ||
    later.sum < earlier.sum ||
    later.buckets.some((b, i) => b.count < (earlier.buckets[i]?.count ?? 0));
  if (reset) return { buckets: later.buckets.map((b) => ({ ...b })), count: later.count, sum: later.sum };
  return {
    buckets: later.buckets.map((b, i) => ({ le: b.le, count: b.count - (earlier.buckets[i]?.count ?? 0) })),
    count: later.count - earlier.count,
    sum: later.sum - earlier.sum,
  };
}
