import { describe, expect, it } from 'vitest';
import { buildHpa, ownedBy, quantity, specDiffers } from '../../../src/controller/native-hpa.js';
import type { ResolvedPodAutoscaler } from '../../../src/api/resolved.js';

const rules = (window: number, tolerance = 0.1) => ({
  stabilizationWindowSeconds: window,
  selectPolicy: 'Max' as const,
  policies: [{ type: 'Percent' as const, value: 100, periodSeconds: 15 }],
  tolerance,
});

function pa(over: Partial<ResolvedPodAutoscaler> = {}): ResolvedPodAutoscaler {
  return {
    apiGroup: 'autoscaling.inferscale.dev',
    namespace: 'ns',
    name: 'llama',
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama' },
    minReplicas: 1,
    maxReplicas: 8,
    strategy: 'HPA',
    metrics: [
      {
        type: 'pod',
        targetMetric: 'vllm:num_requests_waiting',
        targetValue: 0.5,
        targetType: 'AverageValue',
        protocol: 'http',
        path: '/metrics',
      },
    ],
    behavior: { scaleUp: rules(0), scaleDown: rules(300, 0.2) },
    schedules: [],
    scaleToZero: { enabled: false, gracePeriodSeconds: 300, activationThreshold: 0 },
    metricTtlSeconds: 30,
    dryRun: false,
    ...over,
  } as ResolvedPodAutoscaler;
}

const owner = { apiVersion: 'autoscaling.inferscale.dev/v1alpha1', name: 'llama', uid: 'u-1' };

describe('quantity', () => {
  it.each([
    [2, '2'],
    [0.5, '500m'],
    [0.125, '125m'],
    [1.5, '1500m'],
    [0.0005, '500u'],
  ])('%d → %s', (v, q) => expect(quantity(v)).toBe(q));
});

describe('buildHpa', () => {
  it('maps a pod metric to a Pods metric with an exact quantity, behavior and a controller owner reference', () => {
    const b = buildHpa(pa(), owner);
    expect(b.ok).toBe(true);
    if (!b.ok) return;
    expect(b.hpa.metadata).toMatchObject({
      name: 'llama-hpa',
      namespace: 'ns',
      ownerReferences: [{ kind: 'PodAutoscaler', uid: 'u-1', controller: true, blockOwnerDeletion: true }],
    });
    expect(b.hpa.spec?.metrics).toEqual([
      {
        type: 'Pods',
        pods: {
          metric: { name: 'vllm:num_requests_waiting' },
          target: { type: 'AverageValue', averageValue: '500m' },
        },
      },
    ]);
    expect(b.hpa.spec?.behavior?.scaleDown).toMatchObject({
      stabilizationWindowSeconds: 300,
      tolerance: '200m',
    });
    expect(b.hpa.spec?.behavior?.scaleUp?.tolerance).toBeUndefined(); // the default is left out
    expect(ownedBy(b.hpa, 'u-1')).toBe(true);
    expect(ownedBy(b.hpa, 'other')).toBe(false);
  });

  it('maps resource and external metrics by their own types', () => {
    const b = buildHpa(
      pa({
        metrics: [
          {
            type: 'resource',
            targetMetric: 'cpu',
            targetValue: 70,
            targetType: 'Utilization',
            protocol: 'http',
            path: '/metrics',
          },
          {
            type: 'external',
            targetMetric: 'queue_depth',
            targetValue: 30,
            targetType: 'Value',
            protocol: 'http',
            path: '/metrics',
          },
        ],
      }),
      owner,
    );
    expect(b.ok && b.hpa.spec?.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
      {
        type: 'External',
        external: { metric: { name: 'queue_depth' }, target: { type: 'Value', value: '30' } },
      },
    ]);
  });

  it.each([
    [{ minReplicas: 0 }, /HPAScaleToZero/],
    [
      {
        metrics: [
          {
            type: 'prometheus',
            targetMetric: 'q',
            query: 'sum(x)',
            targetValue: 1,
            targetType: 'Value',
            protocol: 'http',
            path: '/',
          },
        ],
      },
      /PromQL/,
    ],
    [
      {
        metrics: [
          {
            type: 'external',
            targetMetric: 'q',
            endpoint: 'opt:8080',
            targetValue: 1,
            targetType: 'Value',
            protocol: 'http',
            path: '/',
          },
        ],
      },
      /external\.metrics\.k8s\.io/,
    ],
  ])('refuses what an HPA cannot express, with the reason', (over, reason) => {
    const b = buildHpa(pa(over as Partial<ResolvedPodAutoscaler>), owner);
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.reason).toMatch(reason);
  });

  it('specDiffers ignores key order and absent fields, and sees real changes', () => {
    const a = buildHpa(pa(), owner);
    const b = buildHpa(pa(), owner);
    const c = buildHpa(pa({ maxReplicas: 9 }), owner);
    if (!a.ok || !b.ok || !c.ok) throw new Error('unexpected');
    const reordered = JSON.parse(
      JSON.stringify({ ...b.hpa, spec: { maxReplicas: 8, ...b.hpa.spec, extra: undefined } }),
    );
    expect(specDiffers(a.hpa, reordered)).toBe(false);
    expect(specDiffers(a.hpa, c.hpa)).toBe(true);
  });
});
