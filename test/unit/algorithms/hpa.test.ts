/**
 * Cases from Kubernetes' replica_calculator_test.go, restated in this project's sample shapes:
 * CPU levels (millicores of a 1-core request) become per-pod utilisation percents; custom-metric
 * levels (milli-units) become units; each case keeps its Kubernetes name.
 */
import { describe, expect, it } from 'vitest';
import { combineMetrics } from '../../../algorithms/combine.js';
import { HPA_DEFAULTS, hpaParamsFromBehavior, hpaRecommend, toMilli } from '../../../algorithms/hpa.js';
import { DEFAULT_BEHAVIOR } from '../../../algorithms/behavior.js';
import type { AlgorithmInput, MetricSample, TargetType } from '../../../algorithms/types.js';
import { T0, globalInput, noSampleInput } from './helpers.js';

interface Pod {
  ready?: boolean;
  value?: number;
}

/** `pods` are the pods of the target; a pod without `value` has no metric (missing). */
function input(c: number, target: number, pods: readonly Pod[], targetType: TargetType): AlgorithmInput {
  const sample: MetricSample = {
    scope: 'pods',
    pods: pods.map((p, i) => ({ pod: `p${i}`, ready: p.ready ?? true, value: p.value })),
  };
  const ready = pods.filter((p) => p.ready ?? true).length;
  return {
    nowMs: T0,
    currentReplicas: c,
    readyPods: ready,
    startingPods: pods.length - ready,
    metric: 'm',
    target,
    targetType,
    sample,
    bounds: { min: 1, max: 100 },
  };
}

const cpu = (levels: readonly (number | undefined)[], readiness?: readonly boolean[]): Pod[] =>
  levels.map((l, i) => ({ value: l === undefined ? undefined : l / 10, ready: readiness?.[i] ?? true }));
const cm = (levels: readonly (number | undefined)[], readiness?: readonly boolean[]): Pod[] =>
  levels.map((l, i) => ({ value: l === undefined ? undefined : l / 1000, ready: readiness?.[i] ?? true }));

function run(i: AlgorithmInput) {
  return hpaRecommend(i, HPA_DEFAULTS, {}).recommendation;
}

describe('hpa: Resource (Utilization) cases', () => {
  const cases: [string, number, number, Pod[], number, number?][] = [
    // name, current, target %, pods, expected replicas, expected utilisation
    ['TestReplicaCalcScaleUp', 3, 30, cpu([300, 500, 700]), 5, 50],
    ['TestReplicaCalcScaleUpUnreadyLessScale', 3, 30, cpu([300, 500, 700], [false, true, true]), 4, 60],
    ['TestReplicaCalcScaleUpUnreadyNoScale', 3, 30, cpu([400, 500, 700], [true, false, false]), 3, 40],
    ['TestReplicaCalcScaleDown', 5, 50, cpu([100, 300, 500, 250, 250]), 3, 28],
    [
      'TestReplicaCalcScaleDownIncludeUnreadyPods',
      5,
      50,
      cpu([100, 300, 500, 250, 250], [true, true, true, false, false]),
      2,
      30,
    ],
    // 1 running pod with a metric, 4 pending pods without one.
    [
      'TestReplicaCalcScaleDownExcludeUnscheduledPods',
      5,
      50,
      [{ value: 10 }, { ready: false }, { ready: false }, { ready: false }, { ready: false }],
      1,
      10,
    ],
    ['TestReplicaCalcMissingMetrics', 4, 100, cpu([400, 95, undefined, undefined]), 3, 24],
    ['TestReplicaCalcMissingMetricsNoChangeEq', 2, 100, cpu([1000, undefined]), 2, 100],
    ['TestReplicaCalcMissingMetricsNoChangeGt', 2, 100, cpu([1900, undefined]), 2, 190],
    ['TestReplicaCalcMissingMetricsNoChangeLt', 2, 100, cpu([600, undefined]), 2, 60],
    // pod 0 is unready (its 100 is ignored), pod 1 reports 450, pod 2 is missing.
    [
      'TestReplicaCalcMissingMetricsUnreadyChange',
      3,
      50,
      cpu([100, 450, undefined], [false, true, true]),
      3,
      45,
    ],
    [
      'TestReplicaCalcMissingMetricsUnreadyScaleUp',
      3,
      50,
      cpu([100, 2000, undefined], [false, true, true]),
      4,
      200,
    ],
    [
      'TestReplicaCalcMissingMetricsUnreadyScaleDown',
      4,
      50,
      cpu([100, 100, 100, undefined], [false, true, true, true]),
      3,
      10,
    ],
    // spec 2, but 3 running pods (surge); the third has no metric yet.
    ['TestReplicaCalcDuringRollingUpdateWithMaxSurge', 2, 50, cpu([100, 100, undefined]), 2, 10],
  ];
  it.each(cases)('%s', (_name, c, target, pods, expected, utilization) => {
    const r = run(input(c, target, pods, 'Utilization'));
    expect(r.replicas).toBe(expected);
    if (utilization !== undefined) expect(r.details.usage).toBe(utilization);
  });

  it('TestReplicaCalcTolerance: 102 % of target stays (requests 0.9/1.0/1.1 as percents)', () => {
    const r = run(input(3, 100, [{ value: 1010 / 9 }, { value: 103 }, { value: 1020 / 11 }], 'Utilization'));
    expect(r.replicas).toBe(3);
  });

  it('missing pods on a scale-down assume max(100 %, target) when the target is above 100 %', () => {
    // 2 ready, one at 60 % and one missing; target 150 %: the missing pod counts as 150 %.
    const r = run(input(2, 150, cpu([600, undefined]), 'Utilization'));
    expect(r.details.newUsageRatio).toBe(105 / 150);
    expect(r.replicas).toBe(2);
  });
});

describe('hpa: Pods (AverageValue) cases', () => {
  const cases: [string, number, number, Pod[], number][] = [
    ['TestReplicaCalcScaleUpCM', 3, 15, cm([20000, 10000, 30000]), 4],
    ['TestReplicaCalcScaleDownCM', 5, 20, cm([12000, 12000, 12000, 12000, 12000]), 3],
    ['TestReplicaCalcToleranceCM', 3, 20, cm([20000, 21000, 21000]), 3],
  ];
  it.each(cases)('%s', (_name, c, target, pods, expected) => {
    expect(run(input(c, target, pods, 'AverageValue')).replicas).toBe(expected);
  });

  it('usage is the integer milli-value mean (20666m for 20/21/21)', () => {
    expect(run(input(3, 20, cm([20000, 21000, 21000]), 'AverageValue')).details.usage).toBe(20.666);
  });

  // Kubernetes applies readiness rules to CPU only; we apply them to every metric (deliberate).
  it('TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale: Kubernetes 6, ours 4 (not-ready pod counts 0)', () => {
    const r = run(input(3, 15, cm([50000, 10000, 30000], [true, true, false]), 'AverageValue'));
    expect(r.replicas).toBe(4);
  });

  it('TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown: Kubernetes 7, ours 3 (only the ready pod is at target)', () => {
    const r = run(input(3, 15, cm([50000, 15000, 30000], [false, true, false]), 'AverageValue'));
    expect(r.replicas).toBe(3);
  });
});

describe('hpa: Object and External (global) cases', () => {
  const value: [string, number, number, number, number, number][] = [
    // name, current, ready, value, target, expected
    ['TestReplicaCalcScaleUpCMObject', 3, 3, 20, 15, 4],
    ['TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods', 3, 1, 50, 10, 5],
    ['TestReplicaCalcScaleDownCMObject', 5, 5, 12, 20, 3],
    ['TestReplicaCalcToleranceCMObject', 3, 3, 20.666, 20, 3],
    ['TestReplicaCalcScaleUpCMExternal', 1, 1, 8.6, 4.4, 2],
    ['TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods', 3, 1, 8.6, 4.4, 2],
    ['TestReplicaCalcScaleDownCMExternal', 5, 5, 8.6, 14.334, 3],
    ['TestReplicaCalcToleranceCMExternal', 3, 3, 8.6, 8.888, 3],
  ];
  it.each(value)('%s (Value)', (_name, c, ready, v, target, expected) => {
    expect(run(globalInput(c, target, v, { readyPods: ready, startingPods: c - ready })).replicas).toBe(
      expected,
    );
  });

  const average: [string, number, number, number, number][] = [
    ['TestReplicaCalcScaleUpCMPerPodObject', 3, 20, 5, 4],
    ['TestReplicaCalcScaleDownPerPodCMObject', 5, 6, 2, 3],
    ['TestReplicaCalcTolerancePerPodCMObject', 4, 20.166, 5, 4],
    ['TestReplicaCalcScaleUpPerPodCMExternal', 3, 8.6, 2.15, 4],
    ['TestReplicaCalcScaleDownPerPodCMExternal', 5, 8.6, 2.867, 3],
    ['TestReplicaCalcTolerancePerPodCMExternal', 3, 8.6, 2.9, 3],
  ];
  it.each(average)('%s (AverageValue)', (_name, c, v, target, expected) => {
    expect(run(globalInput(c, target, v, { targetType: 'AverageValue' })).replicas).toBe(expected);
  });

  it('from zero: a Value metric gives ceil(value / target) without tolerance', () => {
    expect(run(globalInput(0, 10, 25, { readyPods: 0 })).replicas).toBe(3);
    expect(run(globalInput(0, 10, 0, { readyPods: 0 })).replicas).toBe(0);
  });

  it('no ready pod to scale from: holds instead of ceil(r · 0) = 0 (deliberate)', () => {
    const r = run(globalInput(3, 10, 50, { readyPods: 0, startingPods: 3 }));
    expect(r.replicas).toBeUndefined();
  });

  it('Utilization of a single value is rejected with a reason', () => {
    const r = run(globalInput(3, 50, 70, { targetType: 'Utilization' }));
    expect(r.replicas).toBeUndefined();
    expect(r.reason).toMatch(/per-pod samples/);
  });
});

describe('hpa: tolerance per direction and edge cases', () => {
  it('1 − τ↓ ≤ r ≤ 1 + τ↑ is "within" (KEP-4951 isWithin)', () => {
    const params = { upTolerance: 0.05, downTolerance: 0.3 };
    // r = 0.75: within a 30 % down tolerance.
    expect(
      hpaRecommend(input(4, 20, cm([15000, 15000, 15000, 15000]), 'AverageValue'), params, {}).recommendation
        .replicas,
    ).toBe(4);
    // r = 1.1: outside a 5 % up tolerance.
    expect(
      hpaRecommend(input(4, 20, cm([22000, 22000, 22000, 22000]), 'AverageValue'), params, {}).recommendation
        .replicas,
    ).toBe(5);
  });

  it('tolerances come from behavior', () => {
    expect(hpaParamsFromBehavior(DEFAULT_BEHAVIOR)).toEqual(HPA_DEFAULTS);
  });

  it('no metric for any ready pod: invalid (replicas undefined)', () => {
    expect(run(input(3, 10, cm([undefined, undefined, undefined]), 'AverageValue')).replicas).toBeUndefined();
    expect(run(noSampleInput(3, 10)).replicas).toBeUndefined();
  });

  it('details carry usageRatio, readyPods and missingPods', () => {
    const d = run(input(4, 100, cpu([400, 95, undefined, undefined]), 'Utilization')).details;
    expect(d).toMatchObject({ usageRatio: 0.24, readyPods: 4, missingPods: 2, newUsageRatio: 0.62 });
  });

  it('toMilli rounds up like Quantity.MilliValue and ignores float noise', () => {
    expect(toMilli(0.1)).toBe(100);
    expect(toMilli(8.6)).toBe(8600);
    expect(toMilli(0.0001)).toBe(1);
    expect(toMilli(20.666)).toBe(20666);
  });
});

describe('combineMetrics (computeReplicasForMetrics)', () => {
  const rec = (replicas: number | undefined, reason = 'x') => ({ replicas, reason, details: {} });

  it('takes the max; the first in spec order wins ties', () => {
    const r = combineMetrics(
      [
        { metric: 'a', recommendation: rec(3, 'a-reason') },
        { metric: 'b', recommendation: rec(5) },
        { metric: 'c', recommendation: rec(5) },
      ],
      4,
    );
    expect(r.replicas).toBe(5);
    expect(r.details.winningMetric).toBe('b');
  });

  it('an invalid metric blocks a scale-down (TestNoScaleDownOneMetricInvalid)', () => {
    const r = combineMetrics(
      [
        { metric: 'cpu', recommendation: rec(3) },
        { metric: 'qps', recommendation: rec(undefined, 'scrape failed') },
      ],
      5,
    );
    expect(r.replicas).toBeUndefined();
    expect(r.reason).toMatch(/not scaling down/);
    expect(r.details.wouldBe).toBe(3);
  });

  it('an invalid metric does not block a scale-up (TestScaleUpOneMetricEmpty)', () => {
    const r = combineMetrics(
      [
        { metric: 'cpu', recommendation: rec(4) },
        { metric: 'qps', recommendation: rec(undefined) },
      ],
      3,
    );
    expect(r.replicas).toBe(4);
  });

  it('all invalid: no recommendation, with the first error', () => {
    const r = combineMetrics([{ metric: 'qps', recommendation: rec(undefined, 'boom') }], 3);
    expect(r.replicas).toBeUndefined();
    expect(r.reason).toMatch(/all 1 metric\(s\) invalid.*boom/);
  });
});
