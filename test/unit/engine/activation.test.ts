/** Leaving zero: scaleToZero.activationThreshold gates the wake, and a target at zero waits for no grace. */
import { describe, expect, it } from 'vitest';
import { resolvePodAutoscaler } from '../../../src/api/resolve.js';
import type { ResolvedPodAutoscaler } from '../../../src/api/resolved.js';
import { decide, initialPipelineState, type MetricObservation } from '../../../src/engine/pipeline.js';

function pa(
  scaleToZero: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): ResolvedPodAutoscaler {
  const r = resolvePodAutoscaler({
    apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
    kind: 'PodAutoscaler',
    metadata: { name: 'pa', namespace: 'ns' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llm' },
      maxReplicas: 10,
      scalingStrategy: 'KPA',
      scaleToZero,
      metricsSources: [
        {
          metricSourceType: 'prometheus',
          endpoint: 'http://prom:9090',
          query: 'sum(gateway_pending_requests)',
          targetMetric: 'pending',
          targetValue: '10',
        },
      ],
      ...extra,
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const global = (value: number | undefined): MetricObservation => ({
  sample: value === undefined ? undefined : { scope: 'global', value },
  partial: value === undefined,
  errors: [],
});

function tick(spec: ResolvedPodAutoscaler, c: number, value: number | undefined, nowMs = 1_000_000) {
  return decide(
    spec,
    { nowMs, currentReplicas: c, readyPods: c, startingPods: 0, observations: [global(value)] },
    initialPipelineState(spec),
  ).decision;
}

describe('activation threshold at zero replicas', () => {
  const spec = pa({ enabled: true, activationThreshold: 2 });

  it('holds zero while the demand does not exceed the threshold, and says so', () => {
    const d = tick(spec, 0, 2);
    expect(d.recommendedReplicas).toBe(0);
    expect(d.desiredReplicas).toBe(0);
    expect(d.reason).toMatch(/at zero: demand 2 does not exceed scaleToZero.activationThreshold 2/);
  });

  it('wakes once the demand exceeds it (strict ">", as KEDA)', () => {
    expect(tick(spec, 0, 3).desiredReplicas).toBe(1);
    expect(tick(pa({ enabled: true }), 0, 1).desiredReplicas).toBe(1);
  });

  it('does not gate a running target', () => {
    // 2 waiting at one replica is a recommendation of 1 whatever the threshold.
    expect(tick(spec, 1, 2).desiredReplicas).toBe(1);
  });

  it('does not gate the fallback, which is no demand', () => {
    const fb = pa({ enabled: true, activationThreshold: 5 }, { fallback: { afterSeconds: 60, replicas: 1 } });
    let state = initialPipelineState(fb);
    let desired = -1;
    for (const nowMs of [0, 30_000, 60_000]) {
      const out = decide(
        fb,
        { nowMs, currentReplicas: 0, readyPods: 0, startingPods: 0, observations: [global(undefined)] },
        state,
      );
      state = out.state;
      desired = out.decision.desiredReplicas;
    }
    expect(desired).toBe(1);
  });

  it('a target already at zero with no demand stays there: the grace period is for going to zero', () => {
    const d = tick(pa({ enabled: true, gracePeriodSeconds: 300 }), 0, 0);
    expect(d.desiredReplicas).toBe(0);
    expect(d.reason).not.toMatch(/grace/);
    // From one replica the grace period still runs.
    const up = tick(pa({ enabled: true, gracePeriodSeconds: 300 }), 1, 0);
    expect(up.desiredReplicas).toBe(1);
    expect(up.reason).toMatch(/grace period running/);
  });
});
