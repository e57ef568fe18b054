/**
 * Every PodAutoscaler among AIBrix's samples (/work/shared/aibrix-data/samples) is either resolved
 * or rejected with the reason AIBrix gives. Other kinds in those files (Deployment, Service,
 * StormService) are not PodAutoscalers and are skipped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { resolvePodAutoscaler, type ResolveResult } from '../../../src/api/resolve.js';
import { ResolvedPodAutoscalerSchema, type ResolvedPodAutoscaler } from '../../../src/api/resolved.js';

const DIR = '/work/shared/aibrix-data/samples';

function loadSamples(): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const file of readdirSync(DIR).sort()) {
    for (const doc of parseAllDocuments(readFileSync(`${DIR}/${file}`, 'utf8'))) {
      const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (obj?.kind === 'PodAutoscaler') out.set(`${file}/${obj.metadata?.name}`, obj);
    }
  }
  return out;
}

const samples = loadSamples();

function ok(key: string, options = {}): { value: ResolvedPodAutoscaler; result: ResolveResult } {
  const result = resolvePodAutoscaler(samples.get(key), options);
  if (!result.ok) throw new Error(`${key}: ${JSON.stringify(result.issues)}`);
  return { value: result.value, result };
}
const reasons = (r: ResolveResult) => r.warnings.map((w) => w.reason);

describe('AIBrix samples', () => {
  it('finds all 16 PodAutoscalers (deploy.yaml and the nginx demo hold none)', () => {
    expect(samples.size).toBe(16);
    expect([...samples.keys()].some((k) => k.startsWith('deploy.yaml') || k.includes('demo_nginx'))).toBe(
      false,
    );
  });

  it('resolves every sample except the one AIBrix also rejects, and every result validates', () => {
    const rejected: string[] = [];
    for (const [key, obj] of samples) {
      const r = resolvePodAutoscaler(obj);
      if (r.ok) expect(ResolvedPodAutoscalerSchema.safeParse(r.value).success, key).toBe(true);
      else rejected.push(key);
    }
    expect(rejected).toEqual(['autoscaling_v1alpha1_podautoscaler.yaml/podautoscaler-example']);
  });

  it('rejects spec.targetMetric/targetValue: pruned by the apiserver, so no metricsSources (MetricsConfigError)', () => {
    const r = resolvePodAutoscaler(
      samples.get('autoscaling_v1alpha1_podautoscaler.yaml/podautoscaler-example'),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      expect.objectContaining({
        path: 'spec.metricsSources',
        reason: 'MetricsConfigError',
        message: expect.stringContaining('at least one metricsSource is required.'),
      }),
    ]);
    expect(r.warnings.map((w) => [w.path, w.reason])).toEqual([
      ['spec.targetMetric', 'UnknownField'],
      ['spec.targetValue', 'UnknownField'],
    ]);
  });

  it('apa.yaml: ignored annotations mapped (window 30 s, tolerances 0.1/0.2), pod source normalised', () => {
    const { value, result } = ok('apa.yaml/deepseek-r1-distill-llama-8b-apa');
    expect(value.apa).toEqual({
      windowSeconds: 30,
      maxScaleUpRate: 2,
      maxScaleDownRate: 2,
      upTolerance: 0.1,
      downTolerance: 0.2,
    });
    expect(value.metrics).toEqual([
      {
        type: 'pod',
        targetMetric: 'gpu_cache_usage_perc',
        targetValue: 0.5,
        targetType: 'AverageValue',
        protocol: 'http',
        port: 8000,
        path: '/metrics',
      },
    ]);
    expect(reasons(result)).toEqual(['MappedAnnotation', 'MappedAnnotation', 'MappedAnnotation']);
    // KPA/APA objects get no rate policies: AIBrix's rates live in the algorithm.
    expect(value.behavior.scaleUp.policies).toEqual([]);
    expect(value.behavior.scaleDown).toMatchObject({ stabilizationWindowSeconds: 300, tolerance: 0.2 });
  });

  it('apa.yaml in parity mode keeps AIBrix’s 180 s window and 0.1 tolerances', () => {
    const { value } = ok('apa.yaml/deepseek-r1-distill-llama-8b-apa', { aibrixParity: true });
    expect(value.apa).toMatchObject({ windowSeconds: 180, upTolerance: 0.1, downTolerance: 0.1 });
  });

  it('apa-resource.yaml: resource cpu, AverageValue 50', () => {
    const { value } = ok('apa-resource.yaml/mock-llama2-7b-hpa1');
    expect(value.metrics[0]).toMatchObject({
      type: 'resource',
      targetMetric: 'cpu',
      targetValue: 50,
      targetType: 'AverageValue',
    });
  });

  it('autoscaling_v1alpha1_kpa.yaml: windows 600/60', () => {
    const { value } = ok('autoscaling_v1alpha1_kpa.yaml/podautoscaler-example-kpa');
    expect(value.kpa).toMatchObject({ stableWindowSeconds: 600, panicWindowSeconds: 60 });
    expect(value.strategy).toBe('KPA');
  });

  it('mock_llama.yaml: rates 2, scale-down-delay 60s → scale-down window 60', () => {
    const { value } = ok('autoscaling_v1alpha1_mock_llama.yaml/podautoscaler-example-mock-llama');
    expect(value.namespace).toBe('aibrix-system');
    expect(value.kpa).toMatchObject({ maxScaleUpRate: 2, maxScaleDownRate: 2 });
    expect(value.behavior.scaleDown.stabilizationWindowSeconds).toBe(60);
  });

  it('mock_llama_apa.yaml: APA window follows observeWindowSeconds 600', () => {
    expect(
      ok('autoscaling_v1alpha1_mock_llama_apa.yaml/podautoscaler-example-mock-llama-apa').value.apa
        .windowSeconds,
    ).toBe(600);
  });

  it('external-metrics-*.yaml: external source, a global Value target', () => {
    for (const key of [
      'external-metrics-apa.yaml/deepseek-r1-distill-llama-8b-external-metrics',
      'external-metrics-kpa.yaml/deepseek-r1-distill-llama-8b-external-kpa',
    ]) {
      const { value } = ok(key);
      expect(value.metrics[0]).toMatchObject({ type: 'external', targetType: 'Value' });
      expect(value.metrics[0]!.endpoint).toBeUndefined();
    }
  });

  it('hpa.yaml: exactly the behavior AIBrix writes into its generated HPA (§2.4)', () => {
    const { value } = ok('hpa.yaml/deepseek-r1-distill-llama-8b-hpa');
    expect(value.behavior).toEqual({
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 100, periodSeconds: 60 }],
        tolerance: 0.1,
      },
      scaleDown: {
        stabilizationWindowSeconds: 300,
        selectPolicy: 'Min',
        policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }],
        tolerance: 0.1,
      },
    });
  });

  it('optimizer-kpa.yaml: domain → external with the optimizer endpoint and path', () => {
    const { value, result } = ok('optimizer-kpa.yaml/deepseek-r1-distill-llama-8b-optimizer-scaling');
    expect(value.metrics[0]).toMatchObject({
      type: 'external',
      endpoint: 'aibrix-gpu-optimizer.aibrix-system.svc.cluster.local:8080',
      path: '/metrics/default/deepseek-r1-distill-llama-8b',
      targetMetric: 'vllm:deployment_replicas',
    });
    expect(reasons(result)).toContain('Deprecated');
    expect(value.behavior.scaleDown.stabilizationWindowSeconds).toBe(0);
  });

  it('scheduled-bounds-apa.yaml: schedule in minutes, lower-case days', () => {
    const { value } = ok('scheduled-bounds-apa.yaml/deepseek-r1-distill-llama-8b-scheduled-apa');
    expect(value.schedules).toEqual([
      {
        name: 'weekday-business-hours',
        timezone: 'America/Los_Angeles',
        daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri'],
        startMinute: 540,
        endMinute: 1080,
        minReplicas: 4,
        maxReplicas: 12,
      },
    ]);
  });

  it('stormservice samples: role, mode, and the pruned spec.behavior', () => {
    const prefill = ok('stormservice-pool.yaml/ss-pool-prefill').value;
    expect(prefill).toMatchObject({
      roleName: 'prefill',
      stormServiceMode: 'pool',
      minReplicas: 2,
      maxReplicas: 20,
    });
    expect(prefill.scaleTargetRef).toEqual({
      apiVersion: 'orchestration.aibrix.ai/v1alpha1',
      kind: 'StormService',
      name: 'ss-pool',
    });
    const decode = ok('stormservice-pool.yaml/ss-pool-decode');
    expect(decode.result.warnings.map((w) => [w.path, w.reason])).toEqual([
      ['spec.behavior', 'UnknownField'],
    ]);
    expect(decode.value.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
    expect(ok('stormservice-replica.yaml/ss-replica-hpa').value.stormServiceMode).toBe('replica');
  });
});
