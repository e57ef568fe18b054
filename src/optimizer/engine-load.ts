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
