import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIssues, resolvePodAutoscaler, type ResolveResult } from '../../../src/api/resolve.js';
import { ResolvedPodAutoscalerSchema } from '../../../src/api/resolved.js';

type Obj = Record<string, unknown>;

/** A KPA PodAutoscaler of `llama` on one pod metric, in the group `apiVersion` names; `spec` overrides. */
function podAutoscaler(
  apiVersion: string,
  metricsSource: Obj,
  spec: Obj,
  annotations?: Record<string, string>,
): Obj {
  return {
    apiVersion,
    kind: 'PodAutoscaler',
    metadata: { name: 'pa', namespace: 'ns', ...(annotations ? { annotations } : {}) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama' },
      maxReplicas: 5,
      scalingStrategy: 'KPA',
      metricsSources: [metricsSource],
      ...spec,
    },
  };
}

function aibrix(spec: Obj = {}, annotations?: Record<string, string>): Obj {
  return podAutoscaler(
    'autoscaling.aibrix.ai/v1alpha1',
    {
      metricSourceType: 'pod',
      protocolType: 'http',
      port: '8000',
      path: '/metrics',
      targetMetric: 'num_requests_running',
      targetValue: '8',
    },
    spec,
    annotations,
  );
}

function ours(spec: Obj = {}, annotations?: Record<string, string>): Obj {
  return podAutoscaler(
    'autoscaling.inferscale.dev/v1alpha1',
    { metricSourceType: 'pod', port: 8000, targetMetric: 'vllm:num_requests_running', targetValue: '8' },
    spec,
    annotations,
  );
}

function issuesOf(r: ResolveResult) {
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.value)}`);
  return r.issues;
}
function valueOf(r: ResolveResult) {
  if (!r.ok) throw new Error(formatIssues(r.issues));
  return r.value;
}
const one = (r: ResolveResult) => {
  const issues = issuesOf(r);
  expect(issues, JSON.stringify(issues)).toHaveLength(1);
  return issues[0]!;
};

describe('resolvePodAutoscaler: the object', () => {
  it.each([null, 'text', 3, []])('rejects %j with a clear message, never throws', (raw) => {
    expect(one(resolvePodAutoscaler(raw))).toMatchObject({ path: '', reason: 'InvalidObject' });
  });

  it('rejects an unknown apiVersion and kind together', () => {
    const issues = issuesOf(
      resolvePodAutoscaler({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' }),
    );
    expect(issues.map((i) => i.path)).toEqual(['apiVersion', 'kind']);
    expect(issues[0]!.message).toContain(
      'autoscaling.aibrix.ai/v1alpha1 or autoscaling.inferscale.dev/v1alpha1',
    );
  });

  it('requires metadata.name', () => {
    const obj = ours();
    obj.metadata = { namespace: 'ns' };
    expect(one(resolvePodAutoscaler(obj))).toMatchObject({
      path: 'metadata.name',
      reason: 'InvalidMetadata',
    });
  });

  it('reports every problem at once, with paths and AIBrix reasons', () => {
    const r = resolvePodAutoscaler(
      aibrix(
        {
          scaleTargetRef: { kind: 'Deployment' },
          minReplicas: 6,
          observeWindowSeconds: 30,
          scalingStrategy: 'VPA',
          metricsSources: [
            { metricSourceType: 'pod', targetMetric: 'a', targetValue: 'NaN' },
            { metricSourceType: 'resource', targetMetric: 'gpu', targetValue: '1', port: '80' },
          ],
        },
        { 'autoscaling.aibrix.ai/max-scale-up-rate': '1' },
      ),
    );
    const got = issuesOf(r).map((i) => [i.path, i.reason]);
    expect(got).toEqual(
      expect.arrayContaining([
        ['spec.scaleTargetRef', 'MissingScaleTargetRef'],
        ['spec.minReplicas', 'InvalidBounds'],
        ['spec.panicWindowSeconds', 'InvalidSpec'],
        ['spec.scalingStrategy', 'InvalidScalingStrategy'],
        ['spec.metricsSources[0].protocolType', 'MetricsConfigError'],
        ['spec.metricsSources[0].port', 'MetricsConfigError'],
        ['spec.metricsSources[0].path', 'MetricsConfigError'],
        ['spec.metricsSources[0].targetValue', 'MetricsConfigError'],
        ['spec.metricsSources[1].targetMetric', 'MetricsConfigError'],
        ['spec.metricsSources[1]', 'MetricsConfigError'],
        ['metadata.annotations["autoscaling.aibrix.ai/max-scale-up-rate"]', 'InvalidAnnotation'],
      ]),
    );
    expect(got).toHaveLength(11);
  });

  it('still runs the cross-field checks when a field has the wrong type', () => {
    const issues = issuesOf(resolvePodAutoscaler(aibrix({ maxReplicas: 1.5, observeWindowSeconds: 30 })));
    expect(issues.map((i) => i.path)).toEqual(['spec.maxReplicas', 'spec.panicWindowSeconds']);
  });

  it('tells how to quote a number where AIBrix wants a string', () => {
    const r = resolvePodAutoscaler(
      aibrix({ metricsSources: [{ metricSourceType: 'custom', targetMetric: 'q', targetValue: 0.5 }] }),
    );
    expect(one(r).message).toBe('metricsSource[0]: targetValue must be a string; got 0.5 (quote it in YAML)');
  });

  it('warns about fields the apiserver would prune, and ignores them', () => {
    const r = resolvePodAutoscaler(
      aibrix({ behavior: { scaleDown: { stabilizationWindowSeconds: 600 } }, targetMetric: 'cpu' }),
    );
    const v = valueOf(r);
    expect(v.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
    expect(r.warnings.map((w) => [w.path, w.reason])).toEqual([
      ['spec.behavior', 'UnknownField'],
      ['spec.targetMetric', 'UnknownField'],
    ]);
  });

  it('accepts the inferscale fields only under the inferscale group', () => {
    expect(valueOf(resolvePodAutoscaler(ours({ dryRun: true }))).dryRun).toBe(true);
    const r = resolvePodAutoscaler(aibrix({ dryRun: true }));
    expect(valueOf(r).dryRun).toBe(false);
    expect(r.warnings[0]).toMatchObject({ path: 'spec.dryRun', reason: 'UnknownField' });
  });

  it('every accepted result validates against ResolvedPodAutoscalerSchema (property)', () => {
    const source = fc.record({
      metricSourceType: fc.constantFrom('pod', 'external', 'custom', 'prometheus'),
      targetValue: fc.double({ min: 0.001, max: 1e6, noNaN: true }).map((v) => String(v)),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom('KPA', 'APA', 'HPA'),
        fc.array(source, { minLength: 1, maxLength: 3 }),
        fc.option(fc.integer({ min: 1, max: 3600 }), { nil: undefined }),
        (min, max, strategy, sources, observe) => {
          const r = resolvePodAutoscaler(
            ours({
              minReplicas: min,
              maxReplicas: max,
              scalingStrategy: strategy,
              ...(observe !== undefined ? { observeWindowSeconds: observe } : {}),
              metricsSources: sources.map((s) => ({
                ...s,
                targetMetric: 'm',
                ...(s.metricSourceType === 'pod' ? { port: '8000' } : {}),
                ...(s.metricSourceType === 'prometheus' ? { query: 'sum(x)' } : {}),
              })),
            }),
          );
          const expectOk = min <= max && (observe === undefined || observe >= 60);
          expect(r.ok).toBe(expectOk);
          if (r.ok) expect(ResolvedPodAutoscalerSchema.safeParse(r.value).success).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('windows (after defaults, as AIBrix)', () => {
  it('observe 30 with no panic window is invalid: the default panic window is 60', () => {
    const issue = one(resolvePodAutoscaler(aibrix({ observeWindowSeconds: 30 })));
    expect(issue).toMatchObject({ path: 'spec.panicWindowSeconds', reason: 'InvalidSpec' });
    expect(issue.message).toContain('panicWindowSeconds must be less than or equal to observeWindowSeconds.');
    expect(issue.message).toContain('panicWindowSeconds=60 (default) > observeWindowSeconds=30');
  });

  it('observe 60 with panic 120 is invalid', () => {
    expect(
      one(resolvePodAutoscaler(aibrix({ observeWindowSeconds: 60, panicWindowSeconds: 120 }))).path,
    ).toBe('spec.panicWindowSeconds');
  });

  it('observe 30 with panic 10 is valid; the windows feed KPA and APA', () => {
    const v = valueOf(resolvePodAutoscaler(aibrix({ observeWindowSeconds: 30, panicWindowSeconds: 10 })));
    expect(v.kpa).toMatchObject({ stableWindowSeconds: 30, panicWindowSeconds: 10 });
    expect(v.apa.windowSeconds).toBe(30);
  });

  it.each([
    ['observeWindowSeconds', 0, 'observeWindowSeconds must be greater than 0.'],
    ['observeWindowSeconds', 3601, 'observeWindowSeconds must be less than or equal to 3600.'],
    ['panicWindowSeconds', -1, 'panicWindowSeconds must be greater than 0.'],
    ['panicWindowSeconds', 3601, 'panicWindowSeconds must be less than or equal to 3600.'],
  ])('%s = %d: %s', (field, value, message) => {
    const issues = issuesOf(
      resolvePodAutoscaler(
        aibrix({ [field]: value, ...(field === 'panicWindowSeconds' ? { observeWindowSeconds: 3600 } : {}) }),
      ),
    );
    expect(issues[0]).toMatchObject({ path: `spec.${field}`, reason: 'InvalidSpec' });
    expect(issues[0]!.message.startsWith(message)).toBe(true);
  });

  it('the kpa.* window annotations apply only where the spec is silent, and are checked together', () => {
    const v = valueOf(
      resolvePodAutoscaler(
        aibrix(
          {},
          {
            'kpa.autoscaling.aibrix.ai/stable-window': '2m',
            'kpa.autoscaling.aibrix.ai/panic-window': '20s',
          },
        ),
      ),
    );
    expect(v.kpa).toMatchObject({ stableWindowSeconds: 120, panicWindowSeconds: 20 });
    const issue = one(resolvePodAutoscaler(aibrix({}, { 'kpa.autoscaling.aibrix.ai/panic-window': '5m' })));
    expect(issue).toMatchObject({
      path: 'metadata.annotations["kpa.autoscaling.aibrix.ai/panic-window"]',
      reason: 'InvalidAnnotation',
    });
  });
});

describe('bounds and target', () => {
  it.each([
    [{ minReplicas: -1 }, 'spec.minReplicas', 'minReplicas must not be negative.'],
    [{ maxReplicas: 0 }, 'spec.maxReplicas', 'maxReplicas must be positive.'],
    [
      { minReplicas: 6, maxReplicas: 5 },
      'spec.minReplicas',
      'minReplicas cannot be greater than maxReplicas.',
    ],
  ])('%j → %s', (spec, path, message) => {
    const issue = one(resolvePodAutoscaler(aibrix(spec)));
    expect(issue).toMatchObject({ path, reason: 'InvalidBounds' });
    expect(issue.message.startsWith(message)).toBe(true);
  });

  it('requires maxReplicas and scaleTargetRef', () => {
    const obj = aibrix();
    delete (obj.spec as Obj).maxReplicas;
    delete (obj.spec as Obj).scaleTargetRef;
    const issues = issuesOf(resolvePodAutoscaler(obj));
    expect(issues.map((i) => [i.path, i.reason])).toEqual([
      ['spec.scaleTargetRef', 'MissingScaleTargetRef'],
      ['spec.maxReplicas', 'InvalidBounds'],
    ]);
    expect(issues[0]!.message).toContain('scaleTargetRef.kind and scaleTargetRef.name must be set.');
  });

  it('defaults minReplicas to 1', () => {
    expect(valueOf(resolvePodAutoscaler(aibrix())).minReplicas).toBe(1);
  });

  it('fills a missing apiVersion for known kinds (AIBrix fails at runtime, W-24) and rejects it for others', () => {
    const r = resolvePodAutoscaler(aibrix({ scaleTargetRef: { kind: 'StatefulSet', name: 's' } }));
    expect(valueOf(r).scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 's' });
    expect(r.warnings[0]!.path).toBe('spec.scaleTargetRef.apiVersion');
    expect(
      one(resolvePodAutoscaler(aibrix({ scaleTargetRef: { kind: 'Widget', name: 'w' } }))),
    ).toMatchObject({
      path: 'spec.scaleTargetRef.apiVersion',
      reason: 'MissingScaleTargetRef',
    });
  });

  it('a foreign scaleTargetRef.namespace is a warning for AIBrix objects and an error for ours (W-21)', () => {
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', namespace: 'other' };
    expect(resolvePodAutoscaler(aibrix({ scaleTargetRef: ref })).warnings[0]!.reason).toBe(
      'AIBrixDifference',
    );
    expect(one(resolvePodAutoscaler(ours({ scaleTargetRef: ref }))).path).toBe(
      'spec.scaleTargetRef.namespace',
    );
  });

  it('roleName: not with HPA, only for StormService', () => {
    const storm = { apiVersion: 'orchestration.aibrix.ai/v1alpha1', kind: 'StormService', name: 's' };
    const hpa = one(
      resolvePodAutoscaler(
        aibrix({ scalingStrategy: 'HPA', scaleTargetRef: storm, subTargetSelector: { roleName: 'p' } }),
      ),
    );
    expect(hpa).toMatchObject({ path: 'spec.subTargetSelector.roleName', reason: 'InvalidScalingStrategy' });
    expect(hpa.message).toBe(
      'subTargetSelector.roleName is not supported with scalingStrategy=HPA; use APA or KPA for StormService role-level autoscaling.',
    );
    const deploy = one(resolvePodAutoscaler(aibrix({ subTargetSelector: { roleName: 'p' } })));
    expect(deploy.message).toContain('subTargetSelector.roleName is only supported for StormService');
    expect(
      valueOf(resolvePodAutoscaler(aibrix({ subTargetSelector: { roleName: '' } }))).roleName,
    ).toBeUndefined();
  });
});

describe('metric sources', () => {
  const src = (s: Obj) => ({ targetMetric: 'm', targetValue: '1', ...s });

  it.each([
    [
      'pod without protocolType/port/path',
      src({ metricSourceType: 'pod' }),
      [
        'protocolType is required for metricSourceType=pod.',
        'port is required for metricSourceType=pod.',
        'path is required for metricSourceType=pod.',
      ],
    ],
    [
      'resource gpu',
      src({ metricSourceType: 'resource', targetMetric: 'gpu' }),
      ["for metricSourceType=resource, targetMetric must be 'cpu' or 'memory'."],
    ],
    [
      'resource CPU (case matters)',
      src({ metricSourceType: 'resource', targetMetric: 'CPU' }),
      ["for metricSourceType=resource, targetMetric must be 'cpu' or 'memory'."],
    ],
    [
      'resource with path',
      src({ metricSourceType: 'resource', targetMetric: 'cpu', path: '/x', protocolType: 'http' }),
      ['port, endpoint, path, and protocolType are not allowed for metricSourceType=resource.'],
    ],
    [
      'external endpoint without protocol/path',
      src({ metricSourceType: 'external', endpoint: 'h:1' }),
      [
        'protocolType is required for metricSourceType=external.',
        'path is required for metricSourceType=external.',
      ],
    ],
    [
      'domain endpoint without path',
      src({ metricSourceType: 'domain', endpoint: 'h:1', protocolType: 'http' }),
      ['path is required for metricSourceType=external.'],
    ],
    [
      'unknown type',
      src({ metricSourceType: 'gpu' }),
      ['metricsSource[0]: unsupported metricSourceType: gpu'],
    ],
    [
      'empty targetMetric',
      src({ metricSourceType: 'custom', targetMetric: '' }),
      ['metricsSource[0]: targetMetric must be specified'],
    ],
    [
      'empty targetValue',
      src({ metricSourceType: 'custom', targetValue: '' }),
      ['metricsSource[0]: targetValue must be specified'],
    ],
  ])('AIBrix matrix: %s', (_name, source, messages) => {
    const issues = issuesOf(resolvePodAutoscaler(aibrix({ metricsSources: [source] })));
    expect(issues).toHaveLength(messages.length);
    messages.forEach((m, k) => expect(issues[k]!.message.startsWith(m), issues[k]!.message).toBe(true));
    expect(issues.every((i) => i.reason === 'MetricsConfigError')).toBe(true);
  });

  it('AIBrix matrix: custom and external without endpoint need nothing extra', () => {
    const v = valueOf(
      resolvePodAutoscaler(
        aibrix({
          metricsSources: [src({ metricSourceType: 'custom' }), src({ metricSourceType: 'external' })],
        }),
      ),
    );
    expect(v.metrics.map((m) => [m.type, m.targetType])).toEqual([
      ['custom', 'AverageValue'],
      ['external', 'Value'],
    ]);
  });

  it('no metricsSources → MetricsConfigError', () => {
    const obj = aibrix();
    delete (obj.spec as Obj).metricsSources;
    expect(one(resolvePodAutoscaler(obj))).toMatchObject({
      path: 'spec.metricsSources',
      reason: 'MetricsConfigError',
    });
    expect(one(resolvePodAutoscaler(aibrix({ metricsSources: [] }))).message).toBe(
      'at least one metricsSource is required.',
    );
  });

  it.each(['NaN', 'nan', 'Inf', '+Inf', '-Infinity', '1e400'])(
    'rejects a non-finite targetValue %s (W-31)',
    (value) => {
      const issue = one(
        resolvePodAutoscaler(
          aibrix({ metricsSources: [src({ metricSourceType: 'custom', targetValue: value })] }),
        ),
      );
      expect(issue).toMatchObject({
        path: 'spec.metricsSources[0].targetValue',
        reason: 'MetricsConfigError',
      });
      expect(issue.message).toContain('not a finite number');
    },
  );

  it.each([
    ['0', 'must be greater than 0'],
    ['-1', 'must be greater than 0'],
    ['abc', 'is not a number'],
    ['50%', 'is not a number'],
    [' 1', 'is not a number'],
  ])('rejects targetValue %j', (value, phrase) => {
    expect(
      one(
        resolvePodAutoscaler(
          aibrix({ metricsSources: [src({ metricSourceType: 'custom', targetValue: value })] }),
        ),
      ).message,
    ).toContain(phrase);
  });

  it('accepts Go float syntax for targetValue (hex, exponent)', () => {
    const v = valueOf(
      resolvePodAutoscaler(
        aibrix({
          metricsSources: [
            src({ metricSourceType: 'custom', targetValue: '0x1p-1' }),
            src({ metricSourceType: 'custom', targetValue: '2e1' }),
          ],
        }),
      ),
    );
    expect(v.metrics.map((m) => m.targetValue)).toEqual([0.5, 20]);
  });

  it('port must be numeric', () => {
    const issue = one(
      resolvePodAutoscaler(
        aibrix({
          metricsSources: [
            src({ metricSourceType: 'pod', protocolType: 'http', path: '/m', port: 'metrics' }),
          ],
        }),
      ),
    );
    expect(issue).toMatchObject({ path: 'spec.metricsSources[0].port', reason: 'MetricsConfigError' });
  });

  it('our group: protocol http, path /metrics by default; port number or string; port still required', () => {
    const v = valueOf(
      resolvePodAutoscaler(
        ours({
          metricsSources: [
            src({ metricSourceType: 'pod', port: '8000' }),
            src({ metricSourceType: 'pod', port: 9000, path: 'stats' }),
          ],
        }),
      ),
    );
    expect(v.metrics.map((m) => [m.protocol, m.port, m.path])).toEqual([
      ['http', 8000, '/metrics'],
      ['http', 9000, '/stats'],
    ]);
    expect(
      one(resolvePodAutoscaler(ours({ metricsSources: [src({ metricSourceType: 'pod' })] }))).message,
    ).toContain('port is required');
  });

  it('our group: prometheus needs a query and no scrape fields; query only there; targetType by source', () => {
    const prom = src({ metricSourceType: 'prometheus', query: 'sum(up)', endpoint: 'http://prom:9090' });
    expect(valueOf(resolvePodAutoscaler(ours({ metricsSources: [prom] }))).metrics[0]).toMatchObject({
      type: 'prometheus',
      query: 'sum(up)',
      endpoint: 'http://prom:9090',
      targetType: 'Value',
    });
    const issues = issuesOf(
      resolvePodAutoscaler(
        ours({
          metricsSources: [
            src({ metricSourceType: 'prometheus', port: '80' }),
            src({ metricSourceType: 'custom', query: 'x' }),
            src({ metricSourceType: 'custom', targetType: 'Utilization' }),
            src({
              metricSourceType: 'resource',
              targetMetric: 'cpu',
              targetType: 'Utilization',
              targetValue: '60',
            }),
          ],
        }),
      ),
    );
    expect(issues.map((i) => i.path)).toEqual([
      'spec.metricsSources[0].query',
      'spec.metricsSources[0]',
      'spec.metricsSources[1].query',
      'spec.metricsSources[2].targetType',
    ]);
  });

  it('domain becomes external with a deprecation warning', () => {
    const r = resolvePodAutoscaler(aibrix({ metricsSources: [src({ metricSourceType: 'domain' })] }));
    expect(valueOf(r).metrics[0]!.type).toBe('external');
    expect(r.warnings[0]).toMatchObject({
      path: 'spec.metricsSources[0].metricSourceType',
      reason: 'Deprecated',
    });
  });

  it('AIBrix HPA keeps AIBrix’s resource units: cpu as utilization percent, memory in MiB (W-14)', () => {
    const v = valueOf(
      resolvePodAutoscaler(
        aibrix({
          scalingStrategy: 'HPA',
          metricsSources: [
            src({ metricSourceType: 'resource', targetMetric: 'cpu', targetValue: '49.5' }),
            src({ metricSourceType: 'resource', targetMetric: 'memory', targetValue: '512' }),
          ],
        }),
      ),
    );
    expect(v.metrics.map((m) => [m.targetType, m.targetValue])).toEqual([
      ['Utilization', 50],
      ['AverageValue', 512 * 1024 * 1024],
    ]);
  });
});

describe('behavior, algorithm parameters and the rest', () => {
  it('our group: Kubernetes HPA behavior defaults and AIBrix algorithm defaults', () => {
    const v = valueOf(resolvePodAutoscaler(ours()));
    expect(v.behavior).toEqual({
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
        tolerance: 0.1,
      },
      scaleDown: {
        stabilizationWindowSeconds: 300,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
        tolerance: 0.1,
      },
    });
    expect(v.kpa).toEqual({
      stableWindowSeconds: 180,
      panicWindowSeconds: 60,
      panicThreshold: 2,
      maxScaleUpRate: 2,
      maxScaleDownRate: 2,
      upTolerance: 0.1,
      downTolerance: 0.1,
      activationScale: 1,
    });
    expect(v.apa).toEqual({
      windowSeconds: 180,
      maxScaleUpRate: 2,
      maxScaleDownRate: 2,
      upTolerance: 0.1,
      downTolerance: 0.1,
    });
    expect(v).toMatchObject({
      minReplicas: 1,
      metricTtlSeconds: 30,
      dryRun: false,
      schedules: [],
      scaleToZero: { enabled: false, gracePeriodSeconds: 300, activationThreshold: 0 },
    });
    expect(v.fallback).toBeUndefined();
  });

  it('spec.behavior overrides field by field; annotations fill what the spec leaves out', () => {
    const r = resolvePodAutoscaler(
      ours(
        {
          behavior: {
            scaleDown: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }], tolerance: 0.05 },
          },
        },
        {
          'autoscaling.aibrix.ai/scale-down-cooldown-window': '10m',
          'autoscaling.aibrix.ai/scale-down-tolerance': '0.2',
        },
      ),
    );
    const v = valueOf(r);
    expect(v.behavior.scaleDown).toEqual({
      stabilizationWindowSeconds: 600,
      selectPolicy: 'Max',
      policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
      tolerance: 0.05,
    });
    // The annotation tolerance still reaches KPA/APA, and its loss to the spec is reported.
    expect(v.kpa.downTolerance).toBe(0.2);
    expect(
      r.warnings.some(
        (w) => w.reason === 'Overridden' && w.message.includes('spec.behavior.scaleDown.tolerance'),
      ),
    ).toBe(true);
  });

  it('spec.kpa/spec.apa win over annotations', () => {
    const v = valueOf(
      resolvePodAutoscaler(
        ours(
          {
            kpa: { maxScaleUpRate: 3, panicThreshold: 1.5, activationScale: 2 },
            apa: { windowSeconds: 45, downTolerance: 0.3 },
          },
          { 'autoscaling.aibrix.ai/max-scale-up-rate': '5' },
        ),
      ),
    );
    expect(v.kpa).toMatchObject({ maxScaleUpRate: 3, panicThreshold: 1.5, activationScale: 2 });
    expect(v.apa).toMatchObject({ windowSeconds: 45, downTolerance: 0.3, maxScaleUpRate: 5 });
  });

  it('rate annotations map to HPA Percent policies as AIBrix does (§2.4)', () => {
    const annotations = {
      'autoscaling.aibrix.ai/max-scale-up-rate': '1.5',
      'autoscaling.aibrix.ai/max-scale-down-rate': '3',
    };
    for (const obj of [
      aibrix({ scalingStrategy: 'HPA' }, annotations),
      ours({ scalingStrategy: 'HPA' }, annotations),
    ]) {
      const v = valueOf(resolvePodAutoscaler(obj));
      expect(v.behavior.scaleUp.policies).toEqual([{ type: 'Percent', value: 50, periodSeconds: 60 }]);
      expect(v.behavior.scaleDown.policies).toEqual([{ type: 'Percent', value: 66, periodSeconds: 60 }]);
    }
  });

  it('AIBrix objects: annotations feed KPA/APA and the cooldown windows', () => {
    const v = valueOf(
      resolvePodAutoscaler(
        aibrix(
          {},
          {
            'autoscaling.aibrix.ai/max-scale-up-rate': '4',
            'autoscaling.aibrix.ai/scale-down-tolerance': '0.25',
            'autoscaling.aibrix.ai/panic-threshold': '3',
            'autoscaling.aibrix.ai/scale-up-cooldown-window': '30s',
          },
        ),
      ),
    );
    expect(v.kpa).toMatchObject({ maxScaleUpRate: 4, downTolerance: 0.25, panicThreshold: 3 });
    expect(v.apa).toMatchObject({ maxScaleUpRate: 4, downTolerance: 0.25 });
    expect(v.behavior.scaleUp.stabilizationWindowSeconds).toBe(30);
    expect(v.behavior.scaleDown.tolerance).toBe(0.25);
  });

  it('scale-to-zero: honoured on AIBrix objects (W-9) unless in parity mode; minReplicas then defaults to 0', () => {
    const annotations = { 'autoscaling.aibrix.ai/scale-to-zero': 'true' };
    const r = resolvePodAutoscaler(aibrix({}, annotations));
    expect(valueOf(r)).toMatchObject({
      minReplicas: 0,
      scaleToZero: { enabled: true, gracePeriodSeconds: 0 },
    });
    expect(r.warnings.map((w) => w.reason)).toEqual(['AIBrixDifference', 'Suspicious']); // + pod-only metrics
    const parity = resolvePodAutoscaler(aibrix({}, annotations), { aibrixParity: true });
    expect(valueOf(parity)).toMatchObject({ minReplicas: 1, scaleToZero: { enabled: false } });
  });

  it('scale-to-zero on our group: grace default, explicit minReplicas kept with a warning', () => {
    const prom = {
      metricSourceType: 'prometheus',
      query: 'sum(q)',
      targetMetric: 'q',
      targetValue: '5',
      targetType: 'AverageValue',
    };
    const v = valueOf(resolvePodAutoscaler(ours({ scaleToZero: { enabled: true }, metricsSources: [prom] })));
    expect(v).toMatchObject({
      minReplicas: 0,
      scaleToZero: { enabled: true, gracePeriodSeconds: 300, activationThreshold: 0 },
    });
    const r = resolvePodAutoscaler(
      ours({ minReplicas: 2, scaleToZero: { enabled: true }, metricsSources: [prom] }),
    );
    expect(valueOf(r).minReplicas).toBe(2);
    expect(r.warnings[0]).toMatchObject({ path: 'spec.minReplicas', reason: 'Suspicious' });
  });

  it('fallback defaults and a warning for out-of-bounds replicas', () => {
    expect(valueOf(resolvePodAutoscaler(ours({ fallback: {} }))).fallback).toEqual({ afterSeconds: 120 });
    const r = resolvePodAutoscaler(ours({ fallback: { afterSeconds: 60, replicas: 9 } }));
    expect(valueOf(r).fallback).toEqual({ afterSeconds: 60, replicas: 9 });
    expect(r.warnings[0]!.path).toBe('spec.fallback.replicas');
  });

  it('dry-run from spec or annotation; OPTIMIZER carries its block', () => {
    expect(
      valueOf(resolvePodAutoscaler(aibrix({}, { 'autoscaling.inferscale.dev/dry-run': 'true' }))).dryRun,
    ).toBe(true);
    const v = valueOf(
      resolvePodAutoscaler(
        ours({
          scalingStrategy: 'OPTIMIZER',
          optimizer: { modelGroup: 'llama', profiles: ['a100'], targets: [{ gpu: 'A100' }] },
        }),
      ),
    );
    expect(v).toMatchObject({
      strategy: 'OPTIMIZER',
      optimizer: { modelGroup: 'llama', profiles: ['a100'], targets: [{ gpu: 'A100' }] },
    });
    expect(one(resolvePodAutoscaler(aibrix({ scalingStrategy: 'OPTIMIZER' }))).reason).toBe(
      'InvalidScalingStrategy',
    );
  });

  it.each([
    [
      { behavior: { scaleUp: { stabilizationWindowSeconds: 3601 } } },
      'spec.behavior.scaleUp.stabilizationWindowSeconds',
    ],
    [
      { behavior: { scaleDown: { policies: [{ type: 'Percent', value: 0, periodSeconds: 15 }] } } },
      'spec.behavior.scaleDown.policies[0].value',
    ],
    [
      { behavior: { scaleDown: { policies: [{ type: 'Percent', value: 10, periodSeconds: 1801 }] } } },
      'spec.behavior.scaleDown.policies[0].periodSeconds',
    ],
    [{ behavior: { scaleUp: { tolerance: 1 } } }, 'spec.behavior.scaleUp.tolerance'],
    [{ kpa: { maxScaleDownRate: 1 } }, 'spec.kpa.maxScaleDownRate'],
    [{ kpa: { panicThreshold: 1 } }, 'spec.kpa.panicThreshold'],
    [{ apa: { upTolerance: -0.1 } }, 'spec.apa.upTolerance'],
    [{ scaleToZero: { gracePeriodSeconds: -1 } }, 'spec.scaleToZero.gracePeriodSeconds'],
    [{ metricTtlSeconds: -1 }, 'spec.metricTtlSeconds'],
    [{ dryRun: 'yes' }, 'spec.dryRun'],
  ])('our group rejects %j', (spec, path) => {
    expect(one(resolvePodAutoscaler(ours(spec))).path).toBe(path);
  });
});

describe('formatIssues', () => {
  it('prints one line per issue with path and reason', () => {
    expect(
      formatIssues([
        { path: 'spec.maxReplicas', message: 'maxReplicas must be positive.', reason: 'InvalidBounds' },
        { path: '', message: 'not an object.', reason: 'InvalidObject' },
      ]),
    ).toBe(
      'error: spec.maxReplicas: maxReplicas must be positive. [InvalidBounds]\nerror: (object): not an object. [InvalidObject]',
    );
    expect(formatIssues([], 'warning')).toBe('');
  });
});
