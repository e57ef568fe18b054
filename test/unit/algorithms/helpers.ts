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

/** The input every builder below shares; `sample` and the target type are what differ. */
function input(
  currentReplicas: number,
  target: number,
  sample: MetricSample | undefined,
  defaults: { readyPods: number; targetType: TargetType },
  opts: InputOptions,
): AlgorithmInput {
  return {
    nowMs: opts.nowMs ?? T0,
    currentReplicas,
    readyPods: opts.readyPods ?? defaults.readyPods,
    startingPods: opts.startingPods ?? 0,
    metric: opts.metric ?? 'm',
    target,
    targetType: opts.targetType ?? defaults.targetType,
    sample,
    bounds: opts.bounds ?? { min: 1, max: 10 },
  };
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
  return input(
    currentReplicas,
    target,
    sample,
    { readyPods: values.length, targetType: 'AverageValue' },
    opts,
  );
}

export function globalInput(
  currentReplicas: number,
  target: number,
  value: number | undefined,
  opts: InputOptions = {},
): AlgorithmInput {
  const sample: MetricSample = { scope: 'global', value };
  return input(currentReplicas, target, sample, { readyPods: currentReplicas, targetType: 'Value' }, opts);
}

export function noSampleInput(
  currentReplicas: number,
  target: number,
  opts: InputOptions = {},
): AlgorithmInput {
  return input(
    currentReplicas,
    target,
    undefined,
    { readyPods: currentReplicas, targetType: 'AverageValue' },
    opts,
  );
}

export function clamp(n: number, min: number, max: number): number {
  return Math.min(Math.max(n, min), max);
}
