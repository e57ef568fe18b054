import { describe, expect, it } from 'vitest';
import {
  computeStatus,
  shapeForGroup,
  significantlyDifferent,
  type TickOutcome,
} from '../../../src/controller/status.js';
import type { Decision } from '../../../src/engine/pipeline.js';
import type { TickResult } from '../../../src/engine/engine.js';
import type { InferscaleStatus } from '../../../src/api/schema.js';
import type { ResolvedPodAutoscaler } from '../../../src/api/resolved.js';

const OURS = 'autoscaling.inferscale.dev';
const AIBRIX = 'autoscaling.aibrix.ai';
const T0 = Date.parse('2026-03-01T10:00:00Z');

const pa = {
  namespace: 'ns',
  name: 'pa',
  metrics: [
    {
      type: 'pod',
      targetMetric: 'gpu_cache_usage_perc',
      targetValue: 0.5,
      targetType: 'AverageValue',
      protocol: 'http',
      path: '/metrics',
    },
  ],
} as unknown as ResolvedPodAutoscaler;

function decision(over: Partial<Decision> = {}): Decision {
  return {
    desiredReplicas: 4,
    recommendedReplicas: 4,
    reason: 'hpa above target: gpu_cache_usage_perc: usage ratio 1.3',
    algorithm: 'hpa',
    bounds: { min: 1, max: 10 },
    limited: false,
    metrics: [
      {
        metric: 'gpu_cache_usage_perc',
        recommendation: 4,
        reason: 'r',
        details: { usage: 0.65 },
        partial: false,
        errors: [],
      },
    ],
    details: {},
    ...over,
  } as Decision;
}

function tick(result: Partial<TickResult>, dryRun = false): TickOutcome {
  return {
    kind: 'tick',
    pa,
    dryRun,
    result: {
      timeMs: T0,
      currentReplicas: 3,
      desiredReplicas: 4,
      readyPods: 3,
      startingPods: 0,
      scaled: false,
      ...result,
    },
  };
}

const cond = (s: InferscaleStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe('computeStatus', () => {
  it('a successful rescale: HPA conditions, history, lastScaleTime, lastDecision, observedGeneration', () => {
    const s = computeStatus({
      group: OURS,
      generation: 7,
      nowMs: T0,
      prev: undefined,
      outcome: tick({ decision: decision(), scaled: true }),
    });
    expect(s.observedGeneration).toBe(7);
    expect(s.actualScale).toBe(3);
    expect(s.desiredScale).toBe(4);
    expect(s.lastScaleTime).toBe('2026-03-01T10:00:00.000Z');
    expect(cond(s, 'ValidSpec')).toMatchObject({
      status: 'True',
      reason: 'AsExpected',
      observedGeneration: 7,
    });
    expect(cond(s, 'AbleToScale')).toMatchObject({ status: 'True', reason: 'SucceededRescale' });
    expect(cond(s, 'ScalingActive')).toMatchObject({ status: 'True', reason: 'ValidMetricFound' });
    expect(cond(s, 'ScalingLimited')).toMatchObject({ status: 'False', reason: 'DesiredWithinRange' });
    expect(s.scalingHistory).toEqual([
      expect.objectContaining({ previousScale: 3, newScale: 4, success: true, algorithm: 'hpa' }),
    ]);
    expect(s.lastDecision).toMatchObject({ current: 3, desired: 4, algorithm: 'hpa' });
    expect(s.currentMetrics).toEqual([
      expect.objectContaining({
        metric: 'gpu_cache_usage_perc',
        value: 0.65,
        target: 0.5,
        desiredReplicas: 4,
      }),
    ]);
    expect(s.targetsSummary).toBe('0.65/0.5 gpu_cache_usage_perc');
  });

  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = computeStatus({
      group: OURS,
      nowMs: T0,
      prev: undefined,
      outcome: tick({ decision: decision(), scaled: true }),
    });
    const second = computeStatus({
      group: OURS,
      nowMs: T0 + 15_000,
      prev: first,
      outcome: tick({ decision: decision({ desiredReplicas: 4 }), currentReplicas: 4 }),
    });
    expect(cond(second, 'AbleToScale')).toMatchObject({
      status: 'True',
      reason: 'ReadyForNewScale',
      lastTransitionTime: '2026-03-01T10:00:00.000Z',
    });
    const third = computeStatus({
      group: OURS,
      nowMs: T0 + 30_000,
      prev: second,
      outcome: tick({
        decision: decision(),
        error: { stage: 'write-scale', message: 'HTTP 403: forbidden' },
      }),
    });
    expect(cond(third, 'AbleToScale')).toMatchObject({
      status: 'False',
      reason: 'FailedUpdateScale',
      lastTransitionTime: '2026-03-01T10:00:30.000Z',
    });
    expect(cond(third, 'AbleToScale')!.message).toContain('HTTP 403: forbidden');
    expect(third.scalingHistory!.at(-1)).toMatchObject({ success: false, error: 'HTTP 403: forbidden' });
    expect(third.lastScaleTime).toBe(first.lastScaleTime);
  });

  it('failed get-scale: AbleToScale=False FailedGetScale and no new actual/desired', () => {
    const prev: InferscaleStatus = { actualScale: 2, desiredScale: 2 };
    const s = computeStatus({
      group: OURS,
      nowMs: T0,
      prev,
      outcome: tick({ error: { stage: 'get-scale', message: 'HTTP 404: not found' } }),
    });
    expect(cond(s, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'FailedGetScale' });
    expect(s.actualScale).toBe(2);
  });

  it('every metric missing: ScalingActive=False FailedGetMetrics naming the errors', () => {
    const d = decision({
      desiredReplicas: 3,
      recommendedReplicas: undefined,
      reason: 'stable: metrics unavailable, holding',
      metrics: [
        {
          metric: 'm',
          recommendation: undefined,
          reason: 'no data',
          details: {},
          partial: true,
          errors: ['pod a: connection refused'],
        },
      ],
    });
    const s = computeStatus({
      group: OURS,
      nowMs: T0,
      prev: undefined,
      outcome: tick({ decision: d, desiredReplicas: 3 }),
    });
    expect(cond(s, 'ScalingActive')).toMatchObject({ status: 'False', reason: 'FailedGetMetrics' });
    expect(cond(s, 'ScalingActive')!.message).toContain('pod a: connection refused');
    expect(s.currentMetrics![0]!.value).toBeUndefined(); // missing is not 0
    expect(s.targetsSummary).toBe('<unknown>/0.5 gpu_cache_usage_perc');
  });

  it('ScalingLimited: TooManyReplicas, TooFewReplicas, ScaleUpLimit; AbleToScale ScaleDownStabilized', () => {
    const over = computeStatus({
      group: OURS,
      nowMs: T0,
      prev: undefined,
      outcome: tick({ decision: decision({ recommendedReplicas: 14, desiredReplicas: 10, limited: true }) }),
    });
    expect(cond(over, 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'TooManyReplicas' });
    const under = computeStatus({
      group: OURS,
      nowMs: T0,
      prev: undefined,
      outcome: tick({ decision: decision({ recommendedReplicas: 0, desiredReplicas: 1, limited: true }) }),
    });
    expect(cond(under, 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'TooFewReplicas' });
    const rate = computeStatus({
      group: OURS,
      nowMs: T0,
      prev: undefined,
      outcome: tick({
        decision: decision({
          recommendedReplicas: 9,
          desiredReplicas: 7,
          reason: 'x; ScaleUpLimit: the desired replica count is increasing faster (9 → 7)',
          behavior: {
            stabilizationReason: 'ReadyForNewScale',
            limitReason: 'ScaleUpLimit',
            upRecommendation: 9,
            downRecommendation: 9,
          },
        }),
      }),
    });
    expect(cond(rate, 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'ScaleUpLimit' });
    const stab = computeStatus({
      group: OURS,
      nowMs: T0,
      prev: undefined,
      outcome: tick({
        currentReplicas: 5,
        decision: decision({
          recommendedReplicas: 2,
          desiredReplicas: 5,
          reason: 'y; ScaleDownStabilized: recent recommendations were higher (2 → 5)',
          behavior: {
            stabilizationReason: 'ScaleDownStabilized',
            limitReason: 'DesiredWithinRange',
            upRecommendation: 2,
            downRecommendation: 5,
          },
        }),
      }),
    });
    expect(cond(stab, 'AbleToScale')).toMatchObject({ status: 'True', reason: 'ScaleDownStabilized' });
  });

  it('dry run: a would-be scale is in history and conditions, flagged, with no lastScaleTime', () => {
    const s = computeStatus({
      group: OURS,
      nowMs: T0,
      prev: undefined,
      outcome: tick({ decision: decision() }, true),
    });
    expect(cond(s, 'AbleToScale')).toMatchObject({ status: 'True', reason: 'DryRun' });
    expect(s.scalingHistory).toEqual([
      expect.objectContaining({ newScale: 4, success: false, dryRun: true }),
    ]);
    expect(s.lastScaleTime).toBeUndefined();
  });

  it('invalid spec: ValidSpec=False with every issue, AbleToScale=False, conflict condition removed', () => {
    const prev: InferscaleStatus = {
      conditions: [
        {
          type: 'MultiPodAutoscalerConflict',
          status: 'True',
          reason: 'MultiPodAutoscalerConflict',
          message: 'x',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    };
    const s = computeStatus({
      group: OURS,
      generation: 3,
      nowMs: T0,
      prev,
      outcome: {
        kind: 'invalid',
        issues: [
          { path: 'spec.maxReplicas', message: 'maxReplicas must be positive.', reason: 'InvalidBounds' },
          {
            path: 'spec.metricsSources',
            message: 'at least one metricsSource is required.',
            reason: 'MetricsConfigError',
          },
        ],
      },
    });
    expect(cond(s, 'ValidSpec')).toMatchObject({
      status: 'False',
      reason: 'InvalidBounds',
      observedGeneration: 3,
    });
    expect(cond(s, 'ValidSpec')!.message).toBe(
      'spec.maxReplicas: maxReplicas must be positive.; spec.metricsSources: at least one metricsSource is required.',
    );
    expect(cond(s, 'AbleToScale')).toMatchObject({ status: 'False' });
    expect(cond(s, 'MultiPodAutoscalerConflict')).toBeUndefined();
  });

  it('conflict: natural polarity for our group, AIBrix polarity for AIBrix', () => {
    const outcome: TickOutcome = {
      kind: 'conflict',
      owner: 'ns/first',
      targetKey: 'apps/Deployment/ns/vllm',
    };
    const ours = computeStatus({ group: OURS, nowMs: T0, prev: undefined, outcome });
    expect(cond(ours, 'MultiPodAutoscalerConflict')).toMatchObject({ status: 'True' });
    expect(cond(ours, 'AbleToScale')).toMatchObject({
      status: 'False',
      reason: 'MultiPodAutoscalerConflict',
    });
    const theirs = computeStatus({ group: AIBRIX, nowMs: T0, prev: undefined, outcome });
    expect(cond(theirs, 'MultiPodAutoscalerConflict')).toMatchObject({ status: 'False' });
  });

  it('history is bounded (10 ours, 5 AIBrix) and repeats fold into one entry', () => {
    let s: InferscaleStatus | undefined;
    for (let i = 0; i < 14; i++) {
      s = computeStatus({
        group: OURS,
        nowMs: T0 + i * 15_000,
        prev: s,
        outcome: tick({
          currentReplicas: i + 1,
          desiredReplicas: i + 2,
          decision: decision({ desiredReplicas: i + 2 }),
          scaled: true,
        }),
      });
    }
    expect(s!.scalingHistory).toHaveLength(10);
    expect(s!.scalingHistory![9]!.newScale).toBe(15);
    expect(shapeForGroup(AIBRIX, s!).scalingHistory).toHaveLength(5);

    const failing = tick({ decision: decision(), error: { stage: 'write-scale', message: 'boom' } });
    let f = computeStatus({ group: OURS, nowMs: T0, prev: undefined, outcome: failing });
    f = computeStatus({ group: OURS, nowMs: T0 + 15_000, prev: f, outcome: failing });
    expect(f.scalingHistory).toHaveLength(1);
  });

  it('the AIBrix shape keeps only fields AIBrix’s CRD has', () => {
    const s = computeStatus({
      group: AIBRIX,
      generation: 2,
      nowMs: T0,
      prev: undefined,
      outcome: tick({ decision: decision(), scaled: true }),
    });
    const shaped = shapeForGroup(AIBRIX, s);
    expect(Object.keys(shaped).sort()).toEqual([
      'actualScale',
      'conditions',
      'desiredScale',
      'lastScaleTime',
      'scalingHistory',
      'scheduledBounds',
    ]);
    expect(shaped.conditions!.every((c) => c.observedGeneration === undefined)).toBe(true);
    expect(shaped.scalingHistory![0]).not.toHaveProperty('algorithm');
  });

  it('significance ignores values that move every tick but not decisions', () => {
    const a = computeStatus({
      group: OURS,
      nowMs: T0,
      prev: undefined,
      outcome: tick({ decision: decision(), currentReplicas: 4 }),
    });
    const b = computeStatus({
      group: OURS,
      nowMs: T0 + 15_000,
      prev: a,
      outcome: tick({
        currentReplicas: 4,
        decision: decision({
          metrics: [
            {
              metric: 'gpu_cache_usage_perc',
              recommendation: 4,
              reason: 'r',
              details: { usage: 0.61 },
              partial: false,
              errors: [],
            },
          ],
        }),
      }),
    });
    expect(significantlyDifferent(a, b)).toBe(false);
    const c = computeStatus({
      group: OURS,
      nowMs: T0 + 30_000,
      prev: b,
      outcome: tick({ currentReplicas: 4, desiredReplicas: 6, decision: decision({ desiredReplicas: 6 }) }),
    });
    expect(significantlyDifferent(b, c)).toBe(true);
    // The decision-state snapshot moves every tick: its writes follow the checkpoint interval.
    const snap = (time: string) => ({ version: 1, time, fingerprint: 'f', data: '{}' });
    expect(significantlyDifferent(b, { ...b, decisionState: snap('2026-03-01T10:00:30Z') })).toBe(false);
    expect(
      significantlyDifferent(
        { ...b, decisionState: snap('2026-03-01T10:00:30Z') },
        { ...b, decisionState: snap('2026-03-01T10:00:45Z') },
      ),
    ).toBe(false);
  });

  it('the AIBrix group never carries the decision-state snapshot (its CRD is AIBrix’s own)', () => {
    const s: InferscaleStatus = {
      desiredScale: 2,
      decisionState: { version: 1, time: '2026-03-01T10:00:30Z', fingerprint: 'f', data: '{}' },
    };
    expect(shapeForGroup(AIBRIX, s)).toEqual({ desiredScale: 2 });
    expect(shapeForGroup(OURS, s)).toBe(s);
  });
});
