/** The simulated gateway's series: which queries and names it answers, and the values it serves. */
import { describe, expect, it } from 'vitest';
import { RequestLog, VirtualCluster } from '../../../simulator/cluster/cluster.js';
import { fixedColdStart } from '../../../simulator/cluster/coldstart.js';
import {
  GatewayMetricSource,
  gatewayWarnings,
  parseGatewayQuery,
  promDurationMs,
} from '../../../simulator/cluster/gateway-metrics.js';
import type { SimRequest } from '../../../simulator/cluster/replica.js';
import { createRouter } from '../../../simulator/cluster/router.js';
import { VirtualClock } from '../../../simulator/cluster/seams.js';
import { resolveSpec } from '../../../simulator/cluster/specs.js';
import type { ResolvedMetricSource } from '../../../src/api/resolved.js';
import type { MetricRequest } from '../../../src/engine/seams.js';
import { fakeFactory, requests } from './support/fake-replica.js';

describe('parseGatewayQuery', () => {
  it.each([
    ['gateway_pending_requests', 'gateway_pending_requests', 'instant', 0],
    [
      'sum(gateway_pending_requests{namespace="$namespace", model="a}b"})',
      'gateway_pending_requests',
      'instant',
      0,
    ],
    ['max( gateway_requests_in_flight )', 'gateway_requests_in_flight', 'instant', 0],
    ['sum(rate(gateway_requests_total{job="gw"}[1m]))', 'gateway_requests_total', 'rate', 60_000],
    ['increase(envoy_http_downstream_rq_total[5m])', 'envoy_http_downstream_rq_total', 'increase', 300_000],
    [
      'sum(rate(inference_objective_request_total[1m30s]))',
      'inference_objective_request_total',
      'rate',
      90_000,
    ],
    ['avg(envoy_http_downstream_rq_active)', 'envoy_http_downstream_rq_active', 'instant', 0],
  ])('recognises %s', (q, name, fn, windowMs) => {
    const p = parseGatewayQuery(q);
    expect(p.ok && { name: p.query.series.name, fn: p.query.fn, windowMs: p.query.windowMs }).toEqual({
      name,
      fn,
      windowMs,
    });
  });

  it.each([
    ['sum by (pod) (gateway_pending_requests)', /grouping/],
    ['rate(gateway_pending_requests[1m])', /a gauge/],
    ['sum(vllm:num_requests_waiting)', /serves no series vllm:num_requests_waiting/],
    ['avg_over_time(gateway_pending_requests[1m])', /not a form/],
    ['gateway_requests_total / 2', /not a form/],
    ['sum(rate(gateway_requests_total[1x]))', /not a form|duration/],
    ['rate(gateway_requests_total[0s])', /not a PromQL duration/],
    ['  ', /empty/],
  ])('refuses %s, saying why', (q, why) => {
    const p = parseGatewayQuery(q);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.why).toMatch(why);
  });

  it('reads PromQL durations', () => {
    expect(promDurationMs('500ms')).toBe(500);
    expect(promDurationMs('1h30m')).toBe(5_400_000);
    expect(promDurationMs('1m2')).toBeUndefined();
    expect(promDurationMs('m')).toBeUndefined();
  });
});

/** A cluster with no ready replica (everything queues at the gateway) or one fast replica. */
function gateway(reqs: SimRequest[], initial: number) {
  const log = new RequestLog(reqs);
  const cluster = new VirtualCluster({
    factory: fakeFactory({ slots: 4, prefillMs: 100, itlMs: 10 }),
    coldStart: fixedColdStart(1000),
    router: createRouter('least-requests'),
    log,
    initialReplicas: initial,
  });
  const clock = new VirtualClock(0);
  const source = new GatewayMetricSource(cluster, reqs, clock);
  let next = 0;
  const arriveUntil = (t: number): void => {
    while (next < reqs.length && reqs[next]!.arrivalMs <= t)
      cluster.arrive(reqs[next]!, reqs[next++]!.arrivalMs);
    clock.simMs = t;
  };
  return { cluster, clock, source, arriveUntil };
}

function request(source: Partial<ResolvedMetricSource>, nowMs: number): MetricRequest {
  return {
    owner: { namespace: 'ns', name: 'pa' },
    source: {
      type: 'prometheus',
      targetMetric: 'x',
      targetValue: 1,
      targetType: 'Value',
      ...source,
    } as ResolvedMetricSource,
    pods: [],
    nowMs,
    deadlineMs: nowMs + 1000,
  };
}

describe('GatewayMetricSource', () => {
  const reqs = requests([[1000], [2000], [3000], [61_000], [62_000]]);

  it('serves pending, in-flight and arrival series at zero replicas', async () => {
    const g = gateway(reqs, 0);
    g.arriveUntil(62_000);
    const read = async (query: string) => (await g.source.read(request({ query }, 62_000))).sample;
    expect(await read('sum(gateway_pending_requests{model="m"})')).toEqual({ scope: 'global', value: 5 });
    expect(await read('gateway_requests_in_flight')).toEqual({ scope: 'global', value: 5 });
    // Arrivals in (2 s, 62 s]: the requests at 3, 61 and 62 s, over 60 s.
    expect(await read('sum(rate(gateway_requests_total[1m]))')).toEqual({ scope: 'global', value: 3 / 60 });
    expect(await read('increase(inference_objective_request_total[2m])')).toEqual({
      scope: 'global',
      value: 5,
    });
  });

  it('counts requests at a replica as in flight, not pending', async () => {
    const long = requests([
      [0, 1001],
      [100, 1001],
    ]);
    const g = gateway(long, 1);
    g.arriveUntil(200);
    const r = (q: string) => g.source.read(request({ query: q }, 200));
    expect((await r('gateway_pending_requests')).sample).toEqual({ scope: 'global', value: 0 });
    expect((await r('envoy_http_downstream_rq_active')).sample).toEqual({ scope: 'global', value: 2 });
  });

  it('answers an unrecognised query with missing and says what it serves', async () => {
    const g = gateway(reqs, 0);
    const r = await g.source.read(request({ query: 'sum(envoy_cluster_upstream_rq_pending_active)' }, 0));
    expect(r.sample).toBeUndefined();
    expect(r.errors[0]).toMatch(
      /prometheus query "sum\(envoy_cluster_upstream_rq_pending_active\)": .*serves no series/,
    );
    expect(r.errors[0]).toMatch(/gateway_pending_requests \(gauge\)/);
  });

  it('serves external sources a page read by the production reader: gauges as they are, counters as a rate', async () => {
    const g = gateway(reqs, 0);
    const ext = (targetMetric: string, now: number) =>
      g.source.read(
        request(
          { type: 'external', targetMetric, endpoint: 'gw:9090', path: '/metrics', modelName: 'm' },
          now,
        ),
      );
    g.arriveUntil(2000);
    expect((await ext('gateway_pending_requests', 2000)).sample).toEqual({ scope: 'global', value: 2 });
    // A counter's first read has no rate yet: missing without error, as ExternalSource reads it.
    expect(await ext('gateway_requests_total', 2000)).toEqual({
      sample: { scope: 'global', value: undefined },
      errors: [],
    });
    g.arriveUntil(62_000);
    expect((await ext('gateway_requests_total', 62_000)).sample).toEqual({ scope: 'global', value: 3 / 60 });
    expect(g.source.renderPage(62_000)).toContain(
      '# TYPE gateway_requests_total counter\ngateway_requests_total 5\n',
    );

    const bad = await ext('vllm:deployment_replicas', 62_000);
    expect(bad.sample).toBeUndefined();
    expect(bad.errors[0]).toMatch(/external targetMetric vllm:deployment_replicas: .*serves no series/);
  });
});

describe('gatewayWarnings', () => {
  const spec = (sources: unknown[], scaleToZero = true) =>
    resolveSpec(
      {
        apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
        kind: 'PodAutoscaler',
        metadata: { name: 'w', namespace: 'ns' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd' },
          maxReplicas: 4,
          scalingStrategy: 'KPA',
          scaleToZero: { enabled: scaleToZero },
          metricsSources: sources,
        },
      },
      'test',
    );
  const prom = (query: string) => ({
    metricSourceType: 'prometheus',
    endpoint: 'http://prom:9090',
    query,
    targetMetric: 'q',
    targetValue: '5',
  });

  it('is quiet for sources it answers', () => {
    expect(gatewayWarnings(spec([prom('sum(gateway_pending_requests)')]))).toEqual([]);
    expect(
      gatewayWarnings(
        spec([
          {
            metricSourceType: 'external',
            endpoint: 'gw:9090',
            targetMetric: 'gateway_requests_in_flight',
            targetValue: '8',
          },
        ]),
      ),
    ).toEqual([]);
  });

  it('names each source it cannot answer, and a scale-to-zero spec nothing can wake', () => {
    const w = gatewayWarnings(
      spec([
        prom('histogram_quantile(0.9, gateway_latency_bucket)'),
        { metricSourceType: 'pod', port: 8000, targetMetric: 'kv_cache_usage', targetValue: '0.5' },
      ]),
    );
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(
      /^metricsSources\[0\] \(prometheus query "histogram_quantile\(0\.9, gateway_latency_bucket\)"\): .*reads as missing all run \(and a missing metric holds every scale-down\); the simulated gateway serves gateway_pending_requests/,
    );
    expect(w[1]).toMatch(/scale-to-zero is enabled but no metric source reads the gateway/);
    expect(gatewayWarnings(spec([prom('foo')], false))).toHaveLength(1);
  });
});
