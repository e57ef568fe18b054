/** The OPTIMIZER strategy's spec: one PodAutoscaler per model group, one target per GPU type. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { formatIssues, resolvePodAutoscaler, type ResolveResult } from '../../../src/api/resolve.js';
import { buildCrd } from '../../../src/api/crd.js';

type Obj = Record<string, unknown>;

function group(spec: Obj = {}): Obj {
  return {
    apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
    kind: 'PodAutoscaler',
    metadata: { name: 'llama-group', namespace: 'ml' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-h100' },
      maxReplicas: 8,
      scalingStrategy: 'OPTIMIZER',
      optimizer: {
        model: 'Llama-3.1-8B',
        targets: [
          { gpu: 'H100' },
          {
            gpu: 'A10G',
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-a10g' },
            maxReplicas: 20,
            availableGpus: 12,
          },
        ],
      },
      ...spec,
    },
  };
}

const valueOf = (r: ResolveResult) => {
  if (!r.ok) throw new Error(formatIssues(r.issues));
  return r.value;
};
const issuesOf = (r: ResolveResult) => {
  if (r.ok) throw new Error('expected a rejection');
  return r.issues;
};

describe('OPTIMIZER spec', () => {
  it('resolves targets, bounds and planning defaults; metricsSources are optional', () => {
    const v = valueOf(resolvePodAutoscaler(group()));
    expect(v.strategy).toBe('OPTIMIZER');
    expect(v.metrics).toEqual([]);
    expect(v.optimizer).toEqual({
      model: 'Llama-3.1-8B',
      targets: [
        {
          gpu: 'H100',
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-h100' },
          minReplicas: 0,
          maxReplicas: 8,
        },
        {
          gpu: 'A10G',
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-a10g' },
          minReplicas: 0,
          maxReplicas: 20,
          availableGpus: 12,
        },
      ],
      headroom: 0.1,
      windowSeconds: 120,
      forecastSeconds: 180,
      sliceFactor: 4,
      hysteresis: 0.1,
      reactive: 'floor',
      reactiveStrategy: 'KPA',
      scrape: { protocol: 'http', port: 8000, path: '/metrics' },
    });
  });

  it('spec.minReplicas, when set, is every target’s default minimum', () => {
    const v = valueOf(resolvePodAutoscaler(group({ minReplicas: 1 })));
    expect(v.optimizer?.targets.map((t) => t.minReplicas)).toEqual([1, 1]);
  });

  it('takes the planning settings and the scrape endpoint as written', () => {
    const v = valueOf(
      resolvePodAutoscaler(
        group({
          optimizer: {
            targets: [{ gpu: 'H100', profile: '/profiles/h100.yaml', costPerHour: 3.5 }],
            headroom: 0.25,
            windowSeconds: 60,
            sliceFactor: 8,
            reactive: 'off',
            reactiveStrategy: 'APA',
            scrape: { port: '9000', path: 'metrics', modelName: 'llama' },
          },
        }),
      ),
    );
    expect(v.optimizer).toMatchObject({
      targets: [{ gpu: 'H100', profile: '/profiles/h100.yaml', costPerHour: 3.5 }],
      headroom: 0.25,
      windowSeconds: 60,
      sliceFactor: 8,
      reactive: 'off',
      reactiveStrategy: 'APA',
      scrape: { protocol: 'http', port: 9000, path: '/metrics', modelName: 'llama' },
    });
  });

  it.each([
    [{ optimizer: {} }, 'spec.optimizer.targets', /needs spec.optimizer.targets/],
    [{ optimizer: { targets: [] } }, 'spec.optimizer.targets', /at least one Deployment/],
    [
      { optimizer: { targets: [{ gpu: 'H100' }, { gpu: 'A10G' }] } },
      'spec.optimizer.targets',
      /only one may/,
    ],
    [
      {
        optimizer: {
          targets: [
            { gpu: 'H100' },
            { gpu: 'h100', scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'b' } },
          ],
        },
      },
      'spec.optimizer.targets[1].gpu',
      /both have gpu/,
    ],
    [
      {
        optimizer: {
          targets: [
            { gpu: 'H100' },
            {
              gpu: 'A10G',
              scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-h100' },
            },
          ],
        },
      },
      'spec.optimizer.targets[1].scaleTargetRef',
      /same Deployment\/llama-h100/,
    ],
    [
      { optimizer: { targets: [{ gpu: 'A10G', scaleTargetRef: { kind: 'Deployment', name: 'a' } }] } },
      'spec.scaleTargetRef',
      /must be one of optimizer.targets/,
    ],
    [
      { optimizer: { targets: [{ gpu: 'H100', minReplicas: 3, maxReplicas: 2 }] } },
      'spec.optimizer.targets[0].minReplicas',
      /cannot be greater/,
    ],
    [{ optimizer: { targets: [{ gpu: 'H100' }], headroom: -1 } }, 'spec.optimizer.headroom', /at least 0/],
    [
      { optimizer: { targets: [{ gpu: 'H100' }], windowSeconds: 5 } },
      'spec.optimizer.windowSeconds',
      /at least 15/,
    ],
    [
      { optimizer: { targets: [{ gpu: 'H100' }], scrape: { port: 'http' } } },
      'spec.optimizer.scrape.port',
      /port number/,
    ],
  ])('rejects %j at %s', (spec, path, message) => {
    const issues = issuesOf(resolvePodAutoscaler(group(spec)));
    const hit = issues.find((i) => i.path === path);
    expect(hit, JSON.stringify(issues)).toBeDefined();
    expect(hit?.message).toMatch(message);
  });

  it('a target’s default minimum above its maximum is reported with where both came from', () => {
    const issues = issuesOf(
      resolvePodAutoscaler(
        group({ minReplicas: 3, optimizer: { targets: [{ gpu: 'H100', maxReplicas: 2 }] } }),
      ),
    );
    expect(issues[0]).toMatchObject({
      path: 'spec.optimizer.targets[0].minReplicas',
      reason: 'InvalidBounds',
    });
    expect(issues[0]?.message).toMatch(/from spec.minReplicas/);
  });

  it('warns when metricsSources are given but the reactive floor is off', () => {
    const r = resolvePodAutoscaler(
      group({
        optimizer: { targets: [{ gpu: 'H100' }], reactive: 'off' },
        metricsSources: [
          { metricSourceType: 'pod', port: 8000, targetMetric: 'num_requests_running', targetValue: '8' },
        ],
      }),
    );
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.path)).toContain('spec.metricsSources');
  });

  it('other strategies still require metricsSources', () => {
    const spec: Obj = { ...(group().spec as Obj), scalingStrategy: 'KPA' };
    delete spec.optimizer;
    const issues = issuesOf(resolvePodAutoscaler({ ...group(), spec }));
    expect(issues.map((i) => i.reason)).toContain('MetricsConfigError');
  });

  it('the CRD encodes the same requirements as CEL rules, and the sample resolves', () => {
    const spec = (buildCrd() as any).spec.versions[0].schema.openAPIV3Schema.properties.spec; // eslint-disable-line @typescript-eslint/no-explicit-any
    const rules = (spec['x-kubernetes-validations'] as Array<{ rule: string }>).map((r) => r.rule);
    expect(rules).toContain("self.scalingStrategy == 'OPTIMIZER' || has(self.metricsSources)");
    expect(rules).toContain(
      "self.scalingStrategy != 'OPTIMIZER' || (has(self.optimizer) && has(self.optimizer.targets))",
    );
    expect(spec.properties.optimizer.properties.targets['x-kubernetes-list-type']).toBe('atomic');
    const sample = parse(readFileSync('config/samples/optimizer.yaml', 'utf8'));
    expect(valueOf(resolvePodAutoscaler(sample)).optimizer?.targets).toHaveLength(4);
  });
});
