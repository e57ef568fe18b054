import type { AlgorithmInput, MetricSample, TargetType } from '../../../algorithms/types.js';

export const T0 = Date.UTC(2026, 7, 3, 9, 0, 0);
export const SEC = 1000;

export interface InputOptions {
  nowMs?: number;
  readyPods?: number;
  startingPods?: number;
  targetType?: TargetType;
  bounds?: { min: number; max: number };
  metric?: string;
}

/** Per-pod sample: every listed value belongs to a ready pod (`undefined` = failed read). */
export function podsInput(
  currentReplicas: number,
  target: number,
  values: readonly (number | undefined)[],
  opts: InputOptions = {},
): AlgorithmInput {
  const sample: MetricSample = {
    scope: 'pods',
    pods: values.map((value, i) => ({ pod: `pod-${i}`, ready: true, value })),
  };
  return {
    nowMs: opts.nowMs ?? T0,
    currentReplicas,
    readyPods: opts.readyPods ?? values.length,
    startingPods: opts.startingPods ?? 0,
    metric: opts.metric ?? 'm',
    target,
    targetType: opts.targetType ?? 'AverageValue',
    sample,
    bounds: opts.bounds ?? { min: 1, max: 10 },
  };
}

export function globalInput(
  currentReplicas: number,
  target: number,
  value: number | undefined,
  opts: InputOptions = {},
): AlgorithmInput {
  return {
    nowMs: opts.nowMs ?? T0,
    currentReplicas,
    readyPods: opts.readyPods ?? currentReplicas,
    startingPods: opts.startingPods ?? 0,
    metric: opts.metric ?? 'm',
    target,
    targetType: opts.targetType ?? 'Value',
    sample: { scope: 'global', value },
    bounds: opts.bounds ?? { min: 1, max: 10 },
  };
}

export function noSampleInput(
  currentReplicas: number,
  target: number,
  opts: InputOptions = {},
): AlgorithmInput {
  return {
    nowMs: opts.nowMs ?? T0,
    currentReplicas,
    readyPods: opts.readyPods ?? currentReplicas,
    startingPods: opts.startingPods ?? 0,
    metric: opts.metric ?? 'm',
    target,
    targetType: opts.targetType ?? 'AverageValue',
    sample: undefined,
    bounds: opts.bounds ?? { min: 1, max: 10 },
  };
}

export function clamp(n: number, min: number, max: number): number {
  return Math.min(Math.max(n, min), max);
}
