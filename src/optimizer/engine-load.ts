/**
 * A model's workload from its engines' `/metrics` pages: pulls the prompt and generation token
 * histograms out of two scrapes per pod, takes their increase, and hands the per-pod increases to
 * the pure estimator (algorithms/optimizer/histograms.ts). Pods of every deployment serving the
 * model go in together; the result is the model's whole load.
 */
import type { Grid, Rounding } from '../../algorithms/optimizer/grid.js';
import {
  histogramIncrease,
  workloadFromHistograms,
  type HistogramDelta,
  type PodTokenHistograms,
} from '../../algorithms/optimizer/histograms.js';
import type { LoadEstimate } from '../../algorithms/optimizer/workload.js';
import { findFamily, type Exposition } from '../metrics/exposition.js';

/** vLLM's names; SGLang exposes `sglang:prompt_tokens_histogram`-style names only optionally. */
export const PROMPT_TOKENS_METRIC = 'vllm:request_prompt_tokens';
export const GENERATION_TOKENS_METRIC = 'vllm:request_generation_tokens';

/** Cumulative token histograms of one pod at one scrape. */
export interface TokenSnapshot {
  prompt: HistogramDelta | undefined;
  generation: HistogramDelta | undefined;
}

/**
 * One cumulative histogram from a parsed page, summed over its label sets (an engine may label by
 * engine index). With `modelName`, only series whose `model_name` label matches are kept.
 */
export function cumulativeHistogram(
  exposition: Exposition,
  metric: string,
  modelName?: string,
): HistogramDelta | undefined {
  const family = findFamily(exposition, metric);
  const series = (family?.histograms ?? []).filter(
    (s) => modelName === undefined || s.labels.model_name === undefined || s.labels.model_name === modelName,
  );
  if (series.length === 0) return undefined;
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const s of series) {
    if (s.count === undefined || s.sum === undefined) return undefined;
    count += s.count;
    sum += s.sum;
    for (const b of s.buckets) {
      if (b.le !== Infinity) byLe.set(b.le, (byLe.get(b.le) ?? 0) + b.count);
    }
  }
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c }));
  return { buckets, count, sum };
}

export function tokenSnapshot(exposition: Exposition, modelName?: string): TokenSnapshot {
  return {
    prompt: cumulativeHistogram(exposition, PROMPT_TOKENS_METRIC, modelName),
    generation: cumulativeHistogram(exposition, GENERATION_TOKENS_METRIC, modelName),
  };
}

function increase(
  earlier: HistogramDelta | undefined,
  later: HistogramDelta | undefined,
): HistogramDelta | undefined {
  if (earlier === undefined || later === undefined) return undefined;
  return histogramIncrease(earlier, later);
}

/** One pod's increase from `before` to `now`; a counter that went backwards makes it missing. */
function podIncrease(
  pod: string,
  before: TokenSnapshot,
  now: TokenSnapshot,
  windowSeconds?: number,
): PodTokenHistograms {
  try {
    return {
      pod,
      prompt: increase(before.prompt, now.prompt),
      generation: increase(before.generation, now.generation),
      ...(windowSeconds !== undefined ? { windowSeconds } : {}),
    };
  } catch (err) {
    return {
      pod,
      prompt: undefined,
      generation: undefined,
      problem: err instanceof Error ? err.message : String(err),
    };
  }
}

/**
 * Per-pod increases between two scrapes. A pod missing from either scrape, or whose bucket layout
 * changed, is reported missing (its histograms `undefined`), never as zero load.
 */
export function podIncreases(
  earlier: ReadonlyMap<string, TokenSnapshot>,
  later: ReadonlyMap<string, TokenSnapshot>,
): PodTokenHistograms[] {
  const pods: PodTokenHistograms[] = [];
  for (const [pod, now] of later) {
    const before = earlier.get(pod);
    if (before === undefined) {
      pods.push({
        pod,
        prompt: undefined,
        generation: undefined,
        problem: 'no earlier scrape to difference against',
      });
      continue;
    }
    pods.push(podIncrease(pod, before, now));
  }
  return pods;
}

/** The whole pipeline: two sets of scrapes `windowSeconds` apart → the model's workload. */
export function workloadFromScrapes(input: {
  earlier: ReadonlyMap<string, TokenSnapshot>;
  later: ReadonlyMap<string, TokenSnapshot>;
  windowSeconds: number;
  grid: Grid;
  rounding: Rounding;
}): LoadEstimate {
  return workloadFromHistograms({
    pods: podIncreases(input.earlier, input.later),
    windowSeconds: input.windowSeconds,
    grid: input.grid,
    rounding: input.rounding,
  });
}

/**
 * Per-pod history of token snapshots, for differencing over a window at every tick.
 *
 * The group's load is Σ completions / span, so the pods' increases must cover the same span: from
 * the baseline tick B (the latest tick at least `windowMs` ago, or the first tick while the
 * history is younger) to now. Per pod:
 * - its snapshot at (or, after a missed scrape, its newest before) B is its baseline;
 * - else, if it was created after B, or seen starting (live, not ready, never scraped) at or
 *   after B, it starts from zero (its engine's counters began at 0 and a pod that is not ready
 *   gets no requests), so what it finished before its first scrape counts too;
 * - else (a pod older than B first scraped later, e.g. after a controller restart) its oldest
 *   snapshot is the baseline and its rate is taken over its own shorter span;
 * - else it has no baseline yet and is reported missing, never as zero load.
 *
 * A pod that left (scaled down, draining, no longer ready) still finished its requests inside the
 * span: its increase up to its last snapshot counts until that snapshot is older than B. Without
 * both rules a switch between GPU types reads as a change of load: a new pod's short span
 * extrapolated over the window counts the traffic it took from the others twice, and a drained
 * pod's completions vanish from the sum.
 */
export class TokenHistory {
  private readonly pods = new Map<string, Array<{ atMs: number; snap: TokenSnapshot }>>();
  /** Times at which snapshots were recorded, ascending. */
  private readonly ticks: number[] = [];
  /** Per pod seen live but not ready before its first scrape, the last such tick. */
  private readonly startingAt = new Map<string, number>();

  record(pod: string, atMs: number, snap: TokenSnapshot): void {
    if (this.ticks.length === 0 || (this.ticks[this.ticks.length - 1] as number) < atMs)
      this.ticks.push(atMs);
    let list = this.pods.get(pod);
    if (list === undefined) {
      list = [];
      this.pods.set(pod, list);
    }
    if (list.length > 0 && (list[list.length - 1] as { atMs: number }).atMs >= atMs) return;
    list.push({ atMs, snap });
  }

  /** A pod is live but not ready at `atMs`: if it was never scraped, its counters are still zero. */
  starting(pod: string, atMs: number): void {
    if (!this.pods.has(pod)) this.startingAt.set(pod, atMs);
  }

  /**
   * Increases up to `nowMs` (the snapshots recorded at `nowMs`) for the ready `pods`, then for the
   * pods that left within the span (up to their last snapshot); `failed` names pods whose read
   * failed this tick, with why. Drops snapshots no later baseline can need, and pods that left
   * before the span.
   */
  increases(
    nowMs: number,
    windowMs: number,
    pods: ReadonlyArray<{ name: string; createdAtMs?: number }>,
    failed: ReadonlyMap<string, string> = new Map(),
  ): PodTokenHistograms[] {
    const out: PodTokenHistograms[] = [];
    const live = new Set(pods.map((p) => p.name));
    const earlier = this.ticks.filter((t) => t < nowMs);
    let baseTick: number | undefined;
    for (const t of earlier) if (t <= nowMs - windowMs) baseTick = t;
    baseTick ??= earlier[0];
    // Ticks before the baseline will never be needed again.
    if (baseTick !== undefined) {
      const keepFrom = this.ticks.indexOf(baseTick);
      if (keepFrom > 0) this.ticks.splice(0, keepFrom);
    }
    for (const [name, atMs] of this.startingAt) {
      if (baseTick !== undefined && atMs < baseTick) this.startingAt.delete(name);
    }
    for (const { name: pod, createdAtMs } of pods) {
      const missing = (problem: string) =>
        out.push({ pod, prompt: undefined, generation: undefined, problem });
      const error = failed.get(pod);
      if (error !== undefined) {
        missing(error);
        continue;
      }
      const list = this.pods.get(pod) ?? [];
      const now = list[list.length - 1];
      if (now === undefined || now.atMs !== nowMs) {
        missing('not scraped this tick');
        continue;
      }
      if (baseTick === undefined) {
        missing('first scrape: no baseline yet');
        continue;
      }
      const fresh =
        (createdAtMs !== undefined && createdAtMs >= baseTick) ||
        (this.startingAt.get(pod) ?? -Infinity) >= baseTick;
      const base = this.baseline(list, baseTick, fresh);
      if (base === undefined) {
        missing('first scrape of this pod: no baseline yet');
        continue;
      }
      this.push(out, pod, base, now, nowMs);
    }
    // Pods that left: what they finished inside the span, over the whole span.
    for (const [pod, list] of this.pods) {
      if (live.has(pod)) continue;
      const last = list[list.length - 1];
      if (baseTick === undefined || last === undefined || last.atMs <= baseTick) {
        this.pods.delete(pod);
        continue;
      }
      const base = this.baseline(list, baseTick, (this.startingAt.get(pod) ?? -Infinity) >= baseTick);
      // A pod first scraped within the span without a known zero: its share of the span is unknown.
      if (base !== undefined && base.atMs <= baseTick) this.push(out, pod, base, last, nowMs);
    }
    return out;
  }

  /**
   * The snapshot at or before `baseTick` (dropping older ones), else zero at `baseTick` for a pod
   * that started within the span, else the pod's oldest snapshot if it has a later one.
   */
  private baseline(
    list: Array<{ atMs: number; snap: TokenSnapshot }>,
    baseTick: number,
    fresh: boolean,
  ): { atMs: number; snap: TokenSnapshot } | undefined {
    for (let i = list.length - 2; i >= 0; i--) {
      const s = list[i] as { atMs: number; snap: TokenSnapshot };
      if (s.atMs <= baseTick) {
        if (i > 0) list.splice(0, i);
        return s;
      }
    }
    const now = list[list.length - 1] as { atMs: number; snap: TokenSnapshot };
    if (fresh) return { atMs: baseTick, snap: zeroSnapshot(now.snap) };
    return list.length >= 2 ? (list[0] as { atMs: number; snap: TokenSnapshot }) : undefined;
  }

  private push(
    out: PodTokenHistograms[],
    pod: string,
    base: { atMs: number; snap: TokenSnapshot },
    now: { snap: TokenSnapshot },
    nowMs: number,
  ): void {
    out.push(podIncrease(pod, base.snap, now.snap, (nowMs - base.atMs) / 1000));
  }

  get size(): number {
    return this.pods.size;
  }
}

/** The same bucket layout with nothing counted: a new engine's histograms. */
function zeroSnapshot(s: TokenSnapshot): TokenSnapshot {
  const zero = (h: HistogramDelta | undefined): HistogramDelta | undefined =>
    h === undefined
      ? undefined
      : { buckets: h.buckets.map((b) => ({ le: b.le, count: 0 })), count: 0, sum: 0 };
  return { prompt: zero(s.prompt), generation: zero(s.generation) };
}
