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

/** How complete a tick's observation is, as every recommender reports it in its details. */
export interface Coverage {
  /** Ready pods without a usable value (0 for a global value). */
  missingPods: number;
  /** Some ready pods reported a value and some did not. */
  partial: boolean;
  /** Nothing usable arrived this tick. */
  stale: boolean;
}

export function coverage(obs: Observation): Coverage {
  return {
    missingPods: obs.kind === 'global' ? 0 : obs.missing,
    partial: obs.kind === 'pods' && obs.missing > 0,
    stale: obs.kind === 'none',
  };
}

/**
 * Missing data never lowers the recommendation: the note saying why `desired` is held at
 * `current`, or undefined when it is not.
 */
export function missingDataHold(c: Coverage, desired: number, current: number): string | undefined {
  if (!(c.stale || c.partial) || desired >= current) return undefined;
  return c.stale
    ? 'no fresh sample: not scaling down'
    : `${c.missingPods} ready pod(s) unknown: not scaling down`;
}

/** Why `input.target` cannot be divided by (not a positive finite number), or undefined. */
export function unusableTarget(algorithm: string, input: AlgorithmInput): string | undefined {
  const T = input.target;
  if (T > 0 && Number.isFinite(T)) return undefined;
  return `${algorithm}: target ${T} is not a positive number; fix targetValue of metric ${input.metric}`;
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
