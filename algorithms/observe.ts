/**
 * Sorts one tick's metric sample into what the recommenders need: the ready pods' known values,
 * how many ready pods are unknown, and how many pods are not ready yet.
 *
 * A value that is not a finite non-negative number is treated as unknown (never as zero), like a
 * failed scrape: a negative queue length or a NaN utilisation is a broken reading, not idleness.
 */
import type { AlgorithmInput } from './types.js';

export interface PodsObservation {
  kind: 'pods';
  /** Known values of ready pods, in sample order. */
  known: number[];
  /** Ready pods without a usable value: listed as unknown, or counted ready but not listed. */
  missing: number;
  /** Pods that exist but are not ready: max of `startingPods` and the not-ready pods listed. */
  unready: number;
}

export interface GlobalObservation {
  kind: 'global';
  value: number;
  unready: number;
}

export interface NoObservation {
  kind: 'none';
  /** Why nothing usable arrived, for reason strings. */
  why: string;
  missing: number;
  unready: number;
}

export type Observation = PodsObservation | GlobalObservation | NoObservation;

export function usable(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && value >= 0;
}

export function observe(input: AlgorithmInput): Observation {
  const sample = input.sample;
  const startingPods = Math.max(0, input.startingPods);
  if (sample === undefined) {
    return { kind: 'none', why: 'no sample this tick', missing: input.readyPods, unready: startingPods };
  }
  if (sample.scope === 'global') {
    if (!usable(sample.value)) {
      return { kind: 'none', why: 'the global value is unknown', missing: 0, unready: startingPods };
    }
    return { kind: 'global', value: sample.value, unready: startingPods };
  }
  const known: number[] = [];
  let listedReady = 0;
  let listedUnready = 0;
  for (const pod of sample.pods) {
    if (!pod.ready) {
      listedUnready += 1;
      continue;
    }
    listedReady += 1;
    if (usable(pod.value)) known.push(pod.value);
  }
  const readyCount = Math.max(input.readyPods, listedReady);
  const missing = readyCount - known.length;
  const unready = Math.max(startingPods, listedUnready);
  if (known.length === 0) {
    const why =
      readyCount === 0 ? 'no ready pods to read' : `none of ${readyCount} ready pods reported a value`;
    return { kind: 'none', why, missing, unready };
  }
  return { kind: 'pods', known, missing, unready };
}

export function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** Compact number formatting for reason strings (no float noise such as 0.30000000000000004). */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(6)));
}
