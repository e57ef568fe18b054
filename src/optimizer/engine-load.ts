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
    try {
      pods.push({
        pod,
        prompt: increase(before.prompt, now.prompt),
        generation: increase(before.generation, now.generation),
      });
    } catch (err) {
      pods.push({
        pod,
        prompt: undefined,
        generation: undefined,
        problem: err instanceof Error ? err.message : String(err),
      });
    }
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
 * - else, if it was created after B, it starts from zero (its engine's counters began at 0), so
 *   what it finished before its first scrape counts too;
 * - else (a pod older than B first scraped later, e.g. after a controller restart) its oldest
 *   snapshot is the baseline and its rate is taken over its own shorter span;
 * - else it has no baseline yet and is reported missing, never as zero load.
 */
export class TokenHistory {
  private readonly pods = new Map<string, Array<{ atMs: number; snap: TokenSnapshot }>>();
  /** Times at which snapshots were recorded, ascending. */
  private readonly ticks: number[] = [];

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

  /**
   * Increases up to `nowMs` (the snapshots recorded at `nowMs`) for `pods`; `failed` names pods
   * whose read failed this tick, with why. Drops snapshots no later baseline can need, and pods
   * not listed.
   */
  increases(
    nowMs: number,
    windowMs: number,
    pods: ReadonlyArray<{ name: string; createdAtMs?: number }>,
    failed: ReadonlyMap<string, string> = new Map(),
  ): PodTokenHistograms[] {
    const out: PodTokenHistograms[] = [];
    const live = new Set(pods.map((p) => p.name));
    for (const name of this.pods.keys()) if (!live.has(name)) this.pods.delete(name);
    const earlier = this.ticks.filter((t) => t < nowMs);
    let baseTick: number | undefined;
    for (const t of earlier) if (t <= nowMs - windowMs) baseTick = t;
    baseTick ??= earlier[0];
    // Ticks before the baseline will never be needed again.
    if (baseTick !== undefined) {
      const keepFrom = this.ticks.indexOf(baseTick);
      if (keepFrom > 0) this.ticks.splice(0, keepFrom);
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
      let base: { atMs: number; snap: TokenSnapshot } | undefined;
      let baseIndex = -1;
      for (let i = list.length - 2; i >= 0; i--) {
        const s = list[i] as { atMs: number; snap: TokenSnapshot };
        if (s.atMs <= baseTick) {
          base = s;
          baseIndex = i;
          break;
        }
      }
      let windowSeconds: number;
      if (base !== undefined) {
        if (baseIndex > 0) list.splice(0, baseIndex);
        windowSeconds = (nowMs - base.atMs) / 1000;
      } else if (createdAtMs !== undefined && createdAtMs >= baseTick) {
        base = { atMs: baseTick, snap: zeroSnapshot(now.snap) };
        windowSeconds = (nowMs - baseTick) / 1000;
      } else if (list.length >= 2) {
        base = list[0] as { atMs: number; snap: TokenSnapshot };
        windowSeconds = (nowMs - base.atMs) / 1000;
      } else {
        missing('first scrape of this pod: no baseline yet');
        continue;
      }
      try {
        out.push({
          pod,
          prompt: increase(base.snap.prompt, now.snap.prompt),
          generation: increase(base.snap.generation, now.snap.generation),
          windowSeconds,
        });
      } catch (err) {
        missing(err instanceof Error ? err.message : String(err));
      }
    }
    return out;
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
