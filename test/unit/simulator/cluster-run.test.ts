import { describe, expect, it } from 'vitest';
import { catalogColdStart, fixedColdStart } from '../../../simulator/cluster/coldstart.js';
import { modelReplicaFactory } from '../../../simulator/cluster/model-adapter.js';
import type { SimRequest } from '../../../simulator/cluster/replica.js';
import { runSimulation } from '../../../simulator/cluster/run.js';
import { generatedSpec, resolveSpec } from '../../../simulator/cluster/specs.js';
import { runComparison } from '../../../simulator/report/compare.js';
import { renderHtml } from '../../../simulator/report/html.js';
import { catalog, gpuSpec, modelSpec, resolveDeployment } from '../../../simulator/model/hardware.js';
import { generateSynthetic } from '../../../simulator/traces/index.js';
import { fakeFactory } from './support/fake-replica.js';

/** `rate` req/s for `seconds`, evenly spaced, `out` output tokens each. */
function steady(rate: number, seconds: number, out: number, startMs = 0): SimRequest[] {
  const n = Math.round(rate * seconds);
  return Array.from({ length: n }, (_, id) => ({
    id,
    arrivalMs: startMs + (id * 1000) / rate,
    inputTokens: 10,
    outputTokens: out,
  }));
}

const kpa = (max = 20) =>
  resolveSpec(
    generatedSpec('KPA', { metric: 'kv_cache_usage', target: 0.5, minReplicas: 1, maxReplicas: max }),
    'test',
  );

describe('the production engine on the virtual cluster', () => {
  it('scales up under load and back down when it is gone', async () => {
    // 4 slots per replica, 5.1 s per request: 4 req/s keeps ~20 requests in flight, which is
    // 10 replicas at half their slots (target KV 0.5).
    const reqs = steady(4, 180, 501);
    const r = await runSimulation({
      name: 'kpa',
      pa: kpa(),
      requests: reqs,
      factory: fakeFactory({ slots: 4, prefillMs: 100, itlMs: 10 }),
      coldStart: fixedColdStart(10_000),
      router: 'least-requests',
      initialReplicas: 1,
      warmupMs: 0,
      tailMs: 1_800_000,
    });
    expect(r.log.completed).toBe(reqs.length);
    expect(r.truncated).toBe(false);
    expect(r.peakReplicas).toBeGreaterThanOrEqual(8);
    expect(r.scaleEvents[0]!.to).toBeGreaterThan(1);
    expect(r.scaleEvents[0]!.reason).toMatch(/kv_cache_usage/);
    const last = r.ticks.at(-1)!;
    expect(last.desired).toBe(1);
    expect(r.endMs).toBeGreaterThanOrEqual(reqs.at(-1)!.arrivalMs + 1_800_000);
    // Timeline samples are in time order and count what the cluster had.
    const t = r.timeline.timeMs;
    expect(t.every((v, i) => i === 0 || v > t[i - 1]!)).toBe(true);
    expect(Math.max(...r.timeline.ready)).toBe(r.peakReplicas);
    expect(r.tickErrors.count).toBe(0);
  });

  it('does not tick before the warm-up ends', async () => {
    const r = await runSimulation({
      name: 'warm',
      pa: kpa(),
      requests: steady(1, 100, 2),
      factory: fakeFactory(),
      coldStart: fixedColdStart(0),
      router: 'round-robin',
      warmupMs: 45_000,
      tickMs: 10_000,
    });
    expect(r.ticks[0]!.timeMs).toBe(45_000);
    expect(r.ticks[1]!.timeMs).toBe(55_000);
  });

  it('rejects unsorted traces and ids out of order with the index', async () => {
    const base = {
      name: 'x',
      pa: kpa(),
      factory: fakeFactory(),
      coldStart: fixedColdStart(0),
      router: 'round-robin' as const,
    };
    await expect(
      runSimulation({
        ...base,
        requests: [
          { id: 0, arrivalMs: 5, inputTokens: 1, outputTokens: 1 },
          { id: 1, arrivalMs: 1, inputTokens: 1, outputTokens: 1 },
        ],
      }),
    ).rejects.toThrow(/requests\[1\] arrives at 1 ms, before requests\[0\]/);
    await expect(
      runSimulation({ ...base, requests: [{ id: 3, arrivalMs: 0, inputTokens: 1, outputTokens: 1 }] }),
    ).rejects.toThrow(/requests\[0\] has id 3/);
  });
});

describe('determinism', () => {
  const deployment = resolveDeployment(gpuSpec('L4'), modelSpec('Llama-3.1-8B'));
  const compare = (seed: number) =>
    runComparison({
      trace: { name: 'steady', requests: steady(3, 240, 301) },
      specs: (['KPA', 'HPA'] as const).map((s) => ({
        name: s,
        source: 'generated',
        pa: resolveSpec(
          generatedSpec(s, { metric: 'kv_cache_usage', target: 0.5, minReplicas: 1, maxReplicas: 10 }),
          s,
        ),
      })),
      factory: fakeFactory({ slots: 4, prefillMs: 100, itlMs: 10 }),
      coldStart: (rng) => catalogColdStart(deployment, catalog().coldStartDefaults, 'cached', rng),
      router: 'least-requests',
      seed,
      tickMs: 15_000,
      slo: { ttftMs: 2000, itlMs: 100 },
      capacityProbeRequests: 300,
      initialReplicas: 1,
    });

  it('gives byte-identical reports for the same seed, and other cold starts for another seed', async () => {
    const ra = await compare(3);
    const rb = await compare(3);
    const a = JSON.stringify(ra);
    const b = JSON.stringify(rb);
    expect(b).toBe(a);
    expect(await renderHtml(rb)).toBe(await renderHtml(ra));
    const c = JSON.stringify(await compare(4));
    expect(c).not.toBe(a);
  });
});

describe('--verify-metrics', () => {
  it('finds the direct and the parsed values equal for every signal kind on the replica model', async () => {
    const trace = generateSynthetic({
      shape: { kind: 'poisson', rate: 12 },
      durationS: 150,
      seed: 5,
      sizes: { kind: 'fixed', input: 1024, output: 64 },
      prefix: { groups: 4, blocks: 1 },
    });
    const metrics = [
      'kv_cache_usage',
      'num_requests_running',
      'vllm:num_requests_waiting',
      'prompt_tokens_per_second',
      'requests_per_second',
      'prefix_cache_hit_rate',
      'ttft_p95',
      'itl_mean',
      'e2e_p50',
      'avg_requests_per_min_pod',
    ];
    const pa = resolveSpec(
      {
        apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
        kind: 'PodAutoscaler',
        metadata: { name: 'verify', namespace: 'default' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'sim' },
          minReplicas: 1,
          maxReplicas: 4,
          scalingStrategy: 'HPA',
          metricsSources: metrics.map((m) => ({
            metricSourceType: 'pod',
            protocolType: 'http',
            port: '8000',
            path: '/metrics',
            targetMetric: m,
            targetValue: '1000',
          })),
        },
      },
      'verify spec',
    );
    const r = await runSimulation({
      name: 'verify',
      pa,
      requests: trace,
      factory: modelReplicaFactory({ gpu: 'A100-80GB', model: 'Llama-3.1-8B' }),
      coldStart: fixedColdStart(5_000),
      router: 'least-requests',
      initialReplicas: 2,
      warmupMs: 0,
      verifyMetrics: true,
    });
    expect(r.verify).toBeDefined();
    expect(r.verify!.examples).toEqual([]);
    expect(r.verify!.mismatches).toBe(0);
    // Every metric was compared at every tick on both pods.
    expect(r.verify!.comparisons).toBeGreaterThanOrEqual(metrics.length * 2 * 9);
  });

  it('counts and shows a disagreement when a page says something else than the replica', async () => {
    const r = await runSimulation({
      name: 'lying page',
      pa: kpa(),
      requests: steady(2, 60, 101),
      factory: fakeFactory({ slots: 4, prefillMs: 100, itlMs: 10, pageKvOffset: 0.25 }),
      coldStart: fixedColdStart(0),
      router: 'least-requests',
      warmupMs: 0,
      verifyMetrics: true,
    });
    expect(r.verify!.mismatches).toBeGreaterThan(0);
    expect(r.verify!.examples[0]).toMatchObject({ pod: 'replica-0', metric: 'kv_cache_usage' });
    const ex = r.verify!.examples[0]!;
    expect(Number(ex.parsed) - Number(ex.direct)).toBeCloseTo(0.25, 9);
  });
});
