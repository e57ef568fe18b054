/**
 * Scale to zero on the virtual cluster: the production engine takes an idle target to zero after
 * the grace period and wakes it when the gateway's queue passes the activation threshold, read
 * through a `prometheus` or `external` source exactly as configured against a real gateway.
 */
import { describe, expect, it } from 'vitest';
import { fixedColdStart } from '../../../simulator/cluster/coldstart.js';
import type { SimRequest } from '../../../simulator/cluster/replica.js';
import { runSimulation, type RunResult } from '../../../simulator/cluster/run.js';
import { resolveSpec } from '../../../simulator/cluster/specs.js';
import { runComparison } from '../../../simulator/report/compare.js';
import { renderHtml } from '../../../simulator/report/html.js';
import { fakeFactory } from './support/fake-replica.js';

const COLD_START_MS = 30_000;
const GRACE_S = 120;
const THRESHOLD = 2;

/** Arrival times in seconds → requests of 11 output tokens (200 ms on an idle fake replica). */
function arrivals(seconds: readonly number[]): SimRequest[] {
  return seconds.map((s, id) => ({ id, arrivalMs: s * 1000, inputTokens: 10, outputTokens: 11 }));
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * A minute of 1 req/s, twenty quiet minutes, then two requests (at or below the threshold of 2
 * until the tick at 1215 s), a third at 1220 s (the tick at 1230 s wakes the target), and a minute
 * more at 1 req/s.
 */
const TRACE = arrivals([...range(0, 59), 1201, 1202, 1220, ...range(1221, 1280)]);

const PROMETHEUS = {
  metricSourceType: 'prometheus',
  endpoint: 'http://prometheus.monitoring:9090',
  query: 'sum(gateway_pending_requests{namespace="$namespace", model="llama"})',
  targetMetric: 'gateway_pending_requests',
  targetValue: '10',
  targetType: 'AverageValue',
};
const EXTERNAL = {
  metricSourceType: 'external',
  endpoint: 'gateway.default:9090',
  path: '/metrics',
  targetMetric: 'gateway_pending_requests',
  targetValue: '10',
};
const KV = { metricSourceType: 'pod', port: 8000, targetMetric: 'kv_cache_usage', targetValue: '0.5' };

function spec(wake: Record<string, unknown>, name = 'stz') {
  return {
    apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
    kind: 'PodAutoscaler',
    metadata: { name, namespace: 'default' },
    spec: {
      scalingStrategy: 'KPA',
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-8b' },
      maxReplicas: 4,
      scaleToZero: { enabled: true, gracePeriodSeconds: GRACE_S, activationThreshold: THRESHOLD },
      behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
      metricsSources: [wake, KV],
    },
  };
}

function run(
  raw: unknown,
  trace: SimRequest[] = TRACE,
  extra: { initialReplicas?: number; maxTailMs?: number } = {},
) {
  return runSimulation({
    name: 'stz',
    pa: resolveSpec(raw, 'test'),
    requests: trace,
    factory: fakeFactory({ slots: 4, prefillMs: 100, itlMs: 10 }),
    coldStart: fixedColdStart(COLD_START_MS),
    router: 'least-requests',
    warmupMs: 0,
    initialReplicas: extra.initialReplicas ?? 1,
    tailMs: 300_000,
    ...(extra.maxTailMs !== undefined ? { maxTailMs: extra.maxTailMs } : {}),
  });
}

const tickAt = (r: RunResult, s: number) => r.ticks.find((t) => t.timeMs === s * 1000)!;

describe.each([
  ['prometheus', PROMETHEUS],
  ['external', EXTERNAL],
])('scale to zero woken by a %s source on the gateway queue', (_kind, wake) => {
  it('goes to zero after the grace period, wakes past the threshold, and serves what queued', async () => {
    const r = await run(spec(wake));
    expect(r.warnings).toEqual([]);
    expect(r.tickErrors.count).toBe(0);

    // To zero exactly one grace period after the first tick that recommended zero.
    const toZero = r.scaleEvents.find((e) => e.to === 0)!;
    expect(toZero).toBeDefined();
    const graceStart = r.ticks.find((t) => /grace period running/.test(t.reason))!;
    expect(toZero.timeMs - graceStart.timeMs).toBe(GRACE_S * 1000);
    expect(toZero.timeMs).toBeLessThan(1_200_000);
    for (const t of r.ticks.filter((x) => x.timeMs > toZero.timeMs && x.timeMs < 1_230_000))
      expect([t.current, t.desired]).toEqual([0, 0]);

    // Two requests waiting is not more than the threshold: held at zero, with the reason.
    expect(tickAt(r, 1215).reason).toMatch(/does not exceed scaleToZero\.activationThreshold 2/);
    // Three is: 0 → 1 at the next tick.
    const wakeEvent = r.scaleEvents.find((e) => e.from === 0)!;
    expect(wakeEvent.timeMs).toBe(1_230_000);
    expect(wakeEvent.to).toBeGreaterThanOrEqual(1);

    // Everything is served; what queued at zero waited for the cold start, and its TTFT says so.
    expect(r.truncated).toBe(false);
    expect(r.log.completed).toBe(TRACE.length);
    const readyMs = wakeEvent.timeMs + COLD_START_MS;
    const queued = TRACE.filter((q) => q.arrivalMs > toZero.timeMs && q.arrivalMs < readyMs);
    expect(queued.length).toBe(3 + 39);
    for (const q of queued) {
      const ttft = r.log.firstTokenMs[q.id]! - q.arrivalMs;
      expect(ttft).toBeGreaterThanOrEqual(readyMs - q.arrivalMs);
    }
    expect(
      r.log.firstTokenMs[TRACE.findIndex((q) => q.arrivalMs === 1_201_000)]! - 1_201_000,
    ).toBeGreaterThanOrEqual(29_000 + COLD_START_MS);
    expect(r.peakGatewayQueue).toBe(queued.length);
  });
});

describe('scale to zero without a gateway source the simulator answers', () => {
  const UNKNOWN = { ...PROMETHEUS, query: 'sum(envoy_cluster_upstream_rq_pending_active{cluster="llama"})' };

  it('warns once, up front, naming the source and what is served; the missing source holds the scale-down', async () => {
    const r = await run(spec(UNKNOWN));
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toMatch(
      /^metricsSources\[0\] \(prometheus query "sum\(envoy_cluster_upstream_rq_pending_active\{cluster=\\"llama\\"\}\)"\): the simulated gateway serves no series envoy_cluster_upstream_rq_pending_active, so it reads as missing all run \(and a missing metric holds every scale-down\); the simulated gateway serves gateway_pending_requests \(gauge\)/,
    );
    expect(r.warnings[1]).toMatch(/nothing can wake the target/);
    // Unknown is never zero: with the wake source missing the target never leaves one replica.
    expect(r.scaleEvents.filter((e) => e.to === 0)).toEqual([]);
    expect(r.ticks.some((t) => /scale-down held: some metrics missing/.test(t.reason))).toBe(true);
    expect(r.log.completed).toBe(TRACE.length);
  });

  it('a run that starts at zero queues until it gives up, and the report says why', async () => {
    const raw = spec(UNKNOWN);
    const report = await runComparison({
      trace: { name: 'burst', requests: arrivals(range(0, 9)) },
      specs: [{ name: 'stz', source: 'test', raw, pa: resolveSpec(raw, 'test') }],
      factory: fakeFactory(),
      coldStart: () => fixedColdStart(COLD_START_MS),
      router: 'least-requests',
      seed: 1,
      tickMs: 15_000,
      slo: { ttftMs: 2000, itlMs: 100 },
      oracle: false,
      warmupMs: 0,
      initialReplicas: 0,
    });
    const run0 = report.runs[0]!;
    expect(run0.summary.unfinished).toBe(10);
    expect(run0.summary.truncated).toBe(true);
    expect(run0.warnings).toHaveLength(2);
    const html = await renderHtml(report);
    expect(html).toContain('nothing can wake the target');
    expect(html).toContain('envoy_cluster_upstream_rq_pending_active');
  });
});

describe('a target that starts at zero', () => {
  it('stays there while nothing waits, with no grace-period wake, then wakes on demand', async () => {
    const r = await run(spec(PROMETHEUS), arrivals([600, 601, 602, ...range(603, 640)]), {
      initialReplicas: 0,
    });
    for (const t of r.ticks.filter((x) => x.timeMs < 600_000)) expect(t.desired).toBe(0);
    // Three waiting by the tick at 615 s.
    expect(r.scaleEvents[0]).toMatchObject({ timeMs: 615_000, from: 0 });
    expect(r.log.completed).toBe(41);
  });
});
