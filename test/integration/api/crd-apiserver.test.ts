/**
 * The generated CRD on a real kube-apiserver: it is accepted as a structural schema with CEL rules
 * that compile within the cost budget, our samples are admitted and survive a round trip, and the
 * apiserver rejects what `resolvePodAutoscaler` rejects (the CEL rules and the resolver agree).
 * AIBrix's own CRD is installed next to it to check its samples the same way.
 *
 * Skips (with a message) when the control-plane binaries are missing, like the other integration
 * tests; see docs/controlplane.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { controlPlaneSkipReason, startControlPlane, type ControlPlane } from '../../support/controlplane.js';
import { buildCrd } from '../../../src/api/crd.js';
import { resolvePodAutoscaler } from '../../../src/api/resolve.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[crd-apiserver.test] SKIPPED: ${skipReason}`);

const OURS = '/apis/autoscaling.inferscale.dev/v1alpha1/namespaces/default/podautoscalers';
const AIBRIX = '/apis/autoscaling.aibrix.ai/v1alpha1/namespaces/default/podautoscalers';
const AIBRIX_DATA = '/work/shared/aibrix-data';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function base(name: string, spec: Obj): Obj {
  return {
    apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
    kind: 'PodAutoscaler',
    metadata: { name, namespace: 'default' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama' },
      maxReplicas: 4,
      scalingStrategy: 'KPA',
      metricsSources: [
        { metricSourceType: 'pod', port: '8000', targetMetric: 'num_requests_running', targetValue: '8' },
      ],
      ...spec,
    },
  };
}

const source = (s: Obj) => ({
  metricSourceType: 'pod',
  port: '8000',
  targetMetric: 'm',
  targetValue: '1',
  ...s,
});

/** Objects both the apiserver (CEL) and the resolver must refuse, with a phrase of the message. */
const INVALID: [name: string, spec: Obj, apiserverSays: string][] = [
  ['min-gt-max', { minReplicas: 5, maxReplicas: 3 }, 'minReplicas cannot be greater than maxReplicas'],
  [
    'observe-30',
    { observeWindowSeconds: 30 },
    'panicWindowSeconds must be less than or equal to observeWindowSeconds',
  ],
  [
    'panic-120',
    { observeWindowSeconds: 60, panicWindowSeconds: 120 },
    'panicWindowSeconds must be less than',
  ],
  [
    'no-target-name',
    { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment' } },
    'scaleTargetRef.kind and scaleTargetRef.name must be set',
  ],
  [
    'hpa-role',
    {
      scalingStrategy: 'HPA',
      scaleTargetRef: { apiVersion: 'x/v1', kind: 'StormService', name: 's' },
      subTargetSelector: { roleName: 'prefill' },
    },
    'not supported with scalingStrategy=HPA',
  ],
  ['role-not-storm', { subTargetSelector: { roleName: 'prefill' } }, 'only supported for StormService'],
  ['no-sources', { metricsSources: undefined }, 'at least one metricsSource is required'],
  [
    'pod-no-port',
    { metricsSources: [source({ port: undefined })] },
    'port is required for metricSourceType=pod',
  ],
  [
    'resource-gpu',
    { metricsSources: [source({ metricSourceType: 'resource', port: undefined, targetMetric: 'gpu' })] },
    "targetMetric must be 'cpu' or 'memory'",
  ],
  [
    'resource-port',
    { metricsSources: [source({ metricSourceType: 'resource', targetMetric: 'cpu' })] },
    'not allowed for metricSourceType=resource',
  ],
  [
    'prom-no-query',
    { metricsSources: [source({ metricSourceType: 'prometheus', port: undefined })] },
    'query is required for metricSourceType=prometheus',
  ],
  [
    'query-on-pod',
    { metricsSources: [source({ query: 'up' })] },
    'query is only used by metricSourceType=prometheus',
  ],
  [
    'value-on-pod',
    { metricsSources: [source({ targetType: 'Value' })] },
    'targetType Utilization is only for resource',
  ],
  [
    'nan-target',
    { metricsSources: [source({ targetValue: 'NaN' })] },
    'targetValue must be a positive decimal',
  ],
  [
    'inf-target',
    { metricsSources: [source({ targetValue: 'Inf' })] },
    'targetValue must be a positive decimal',
  ],
  [
    'zero-target',
    { metricsSources: [source({ targetValue: '0' })] },
    'targetValue must be a positive decimal',
  ],
  [
    'start-after-end',
    { schedules: [{ name: 'a', startTime: '18:00', endTime: '09:00', minReplicas: 2 }] },
    'startTime must be earlier than endTime',
  ],
  [
    'no-sched-bounds',
    { schedules: [{ name: 'a', startTime: '09:00', endTime: '18:00' }] },
    'at least one of minReplicas or maxReplicas',
  ],
  [
    'mixed-tz',
    {
      schedules: [
        { name: 'a', startTime: '01:00', endTime: '02:00', minReplicas: 2 },
        { name: 'b', timezone: 'Europe/Paris', startTime: '03:00', endTime: '04:00', minReplicas: 2 },
      ],
    },
    'mixed timezone values are not supported',
  ],
  [
    'dup-sched',
    {
      schedules: [
        { name: 'a', startTime: '01:00', endTime: '02:00', minReplicas: 2 },
        { name: 'a', startTime: '03:00', endTime: '04:00', minReplicas: 2 },
      ],
    },
    'Duplicate value',
  ],
  [
    'bad-hhmm',
    { schedules: [{ name: 'a', startTime: '9:00', endTime: '18:00', minReplicas: 2 }] },
    'should match',
  ],
  ['bad-strategy', { scalingStrategy: 'VPA' }, 'Unsupported value'],
  ['window-0', { observeWindowSeconds: 0 }, 'should be greater than or equal to 1'],
  ['rate-1', { kpa: { maxScaleUpRate: 1 } }, 'should be greater than 1'],
  ['tolerance-1', { behavior: { scaleDown: { tolerance: 1 } } }, 'should be less than 1'],
];

describe.skipIf(skipReason !== undefined)('PodAutoscaler CRDs on a real apiserver', () => {
  let cp: ControlPlane;

  async function installCrd(crd: Obj): Promise<void> {
    const res = await cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    expect(res.status, res.text).toBe(201);
    await vi.waitFor(
      async () => {
        const got = await cp.request<Obj>(
          'GET',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        );
        const conditions: Obj[] = got.body.status?.conditions ?? [];
        expect(conditions.find((c) => c.type === 'NonStructuralSchema')).toBeUndefined();
        expect(conditions.find((c) => c.type === 'Established')?.status).toBe('True');
      },
      { timeout: 30_000, interval: 200 },
    );
    // Discovery of the new resource can lag behind Established.
    const plural = `/apis/${crd.spec.group}/v1alpha1/namespaces/default/podautoscalers`;
    await vi.waitFor(async () => expect((await cp.request('GET', plural)).status).toBe(200), {
      timeout: 30_000,
      interval: 200,
    });
  }

  beforeAll(async () => {
    cp = await startControlPlane({ controllerManager: false });
    await installCrd(buildCrd());
    await installCrd(
      parse(readFileSync(`${AIBRIX_DATA}/crd/autoscaling.aibrix.ai_podautoscalers.yaml`, 'utf8')),
    );
  }, 180_000);

  afterAll(async () => {
    await cp?.stop();
  }, 60_000);

  it('admits every config/samples object, which still resolves after the round trip', async () => {
    const files = readdirSync('config/samples').filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const obj = parse(readFileSync(`config/samples/${f}`, 'utf8')) as Obj;
      const created = await cp.request<Obj>('POST', OURS, obj);
      expect(created.status, `${f}: ${created.text}`).toBe(201);
      const stored = await cp.request<Obj>('GET', `${OURS}/${obj.metadata.name}`);
      const r = resolvePodAutoscaler(stored.body);
      expect(r.ok, `${f}: ${JSON.stringify(r)}`).toBe(true);
      const fromFile = resolvePodAutoscaler(obj);
      expect(fromFile.ok).toBe(true);
      // The apiserver sets metadata.generation; everything else must be identical.
      if (r.ok && fromFile.ok) expect({ ...r.value, generation: undefined }).toEqual(fromFile.value);
    }
  });

  it('rejects what the resolver rejects', async () => {
    for (const [name, spec, phrase] of INVALID) {
      const obj = base(`bad-${name}`, spec);
      expect(resolvePodAutoscaler(obj).ok, `resolver accepts ${name}`).toBe(false);
      const res = await cp.request('POST', OURS, obj);
      expect(res.status, `${name}: ${res.text}`).toBe(422);
      expect(res.text, name).toContain(phrase);
    }
  });

  it('accepts a status written through the status subresource', async () => {
    const obj = base('with-status', {});
    expect((await cp.request('POST', OURS, obj)).status).toBe(201);
    const stored = await cp.request<Obj>('GET', `${OURS}/with-status`);
    const now = '2026-01-02T03:04:05Z';
    stored.body.status = {
      desiredScale: 3,
      actualScale: 2,
      observedGeneration: 1,
      lastScaleTime: now,
      targetsSummary: '9/8 num_requests_running',
      conditions: [
        { type: 'ValidSpec', status: 'True', reason: 'AsExpected', message: '', lastTransitionTime: now },
      ],
      scalingHistory: [
        {
          timestamp: now,
          previousScale: 2,
          newScale: 3,
          reason: 'kpa above target',
          success: true,
          algorithm: 'kpa',
        },
      ],
      scheduledBounds: { effectiveMinReplicas: 1, effectiveMaxReplicas: 4 },
      lastDecision: {
        time: now,
        current: 2,
        desired: 3,
        reason: 'kpa above target',
        algorithm: 'kpa',
        details: { stable: 9.5, panic: false, note: 'x', none: null },
      },
      currentMetrics: [
        {
          metric: 'num_requests_running',
          sourceType: 'pod',
          value: 9.5,
          target: 8,
          targetType: 'AverageValue',
          desiredReplicas: 3,
        },
      ],
    };
    const res = await cp.request<Obj>('PUT', `${OURS}/with-status/status`, stored.body);
    expect(res.status, res.text).toBe(200);
    expect(res.body.status.lastDecision.details).toEqual({
      stable: 9.5,
      panic: false,
      note: 'x',
      none: null,
    });
  });

  it('admits every AIBrix sample under AIBrix CRD; the stored object resolves as the file does, minus pruned fields', async () => {
    for (const f of readdirSync(`${AIBRIX_DATA}/samples`).sort()) {
      for (const doc of parseAllDocuments(readFileSync(`${AIBRIX_DATA}/samples/${f}`, 'utf8'))) {
        const obj = doc.toJS() as Obj | null;
        if (obj?.kind !== 'PodAutoscaler') continue;
        const ns = obj.metadata.namespace ?? 'default';
        await cp.request('POST', '/api/v1/namespaces', { metadata: { name: ns } }); // 409 when it exists
        const collection = AIBRIX.replace('/namespaces/default/', `/namespaces/${ns}/`);
        const created = await cp.request<Obj>('POST', collection, obj);
        expect(created.status, `${f}: ${created.text}`).toBe(201);
        const stored = (await cp.request<Obj>('GET', `${collection}/${obj.metadata.name}`)).body;
        const fromFile = resolvePodAutoscaler(obj);
        const fromServer = resolvePodAutoscaler(stored);
        expect(fromServer.ok, f).toBe(fromFile.ok);
        if (fromFile.ok && fromServer.ok)
          expect({ ...fromServer.value, generation: undefined }).toEqual(fromFile.value);
        // Whatever we warned was pruned is gone from the stored object.
        for (const w of fromFile.warnings.filter((x) => x.reason === 'UnknownField')) {
          const field = w.path.replace(/^spec\./, '');
          expect(stored.spec[field], `${f}: ${w.path}`).toBeUndefined();
        }
      }
    }
  });
});
