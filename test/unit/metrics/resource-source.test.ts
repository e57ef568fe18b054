/**
 * Resource and custom metric sources against a local fake apiserver serving PodMetrics and
 * MetricValueList JSON (the real control plane used elsewhere has no metrics-server), reached
 * through a real KubeConfig.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedMetricSource } from '../../../src/api/resolved.js';
import type { MetricRequest, PodInfo } from '../../../src/engine/seams.js';
import {
  CustomMetricsSource,
  kubeGet,
  parseQuantity,
  ResourceSource,
} from '../../../src/metrics/resource-source.js';
import { readyPod } from '../../support/pod-info.js';

const NOW = Date.parse('2026-01-10T12:00:00Z');
let server: http.Server;
let routes: Record<string, () => [number, unknown]> = {};
const paths: string[] = [];
let kc: KubeConfig;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
    paths.push(path);
    const route = routes[path];
    const [status, body] = route
      ? route()
      : [404, { kind: 'Status', message: 'the server could not find the requested resource' }];
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  kc = new KubeConfig();
  kc.loadFromOptions({
    // client-node refuses plain http unless TLS verification is (vacuously) skipped.
    clusters: [
      {
        name: 'fake',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const pod = (name: string, over: Partial<PodInfo> = {}): PodInfo =>
  readyPod(name, { namespace: 'team-a', ip: '10.0.0.1', ...over });

function req(over: Partial<ResolvedMetricSource>, pods: PodInfo[]): MetricRequest {
  return {
    owner: { namespace: 'team-a', name: 'llama' },
    source: {
      type: 'resource',
      targetMetric: 'cpu',
      targetValue: 500,
      targetType: 'AverageValue',
      protocol: 'http',
      path: '/metrics',
      ...over,
    },
    pods,
    nowMs: NOW,
    deadlineMs: NOW + 5000,
  };
}

const podMetrics = (name: string, containers: [string, string][], timestamp = '2026-01-10T11:59:45Z') => ({
  metadata: { name, namespace: 'team-a' },
  timestamp,
  window: '15s',
  containers: containers.map(([cpu, memory], i) => ({ name: `c${i}`, usage: { cpu, memory } })),
});

const PODS_PATH = '/apis/metrics.k8s.io/v1beta1/namespaces/team-a/pods';

describe('parseQuantity', () => {
  it.each([
    ['250m', 0.25],
    ['1', 1],
    ['1500000n', 0.0015],
    ['100u', 0.0001],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['128Mi', 128 * 2 ** 20],
    ['12e3', 12000],
    ['1E', 1e18],
    ['2k', 2000],
    ['.5', 0.5],
  ])('%s = %s', (q, v) => expect(parseQuantity(q)).toBeCloseTo(v, 12));
  it('rejects garbage', () => {
    expect(() => parseQuantity('12 cores')).toThrow(/not a Kubernetes quantity/);
    expect(() => parseQuantity('1Qi')).toThrow(/not a Kubernetes quantity/);
  });
});

describe('ResourceSource', () => {
  it('sums container CPU in millicores and memory in bytes, per ready pod, from one list', async () => {
    routes = {
      [PODS_PATH]: () => [
        200,
        {
          kind: 'PodMetricsList',
          items: [
            podMetrics('a', [
              ['250m', '1Gi'],
              ['1500000n', '512Mi'],
            ]),
            podMetrics('b', [['2', '100Ki']]),
            podMetrics('other', [['9', '9Gi']]),
          ],
        },
      ],
    };
    paths.length = 0;
    const source = new ResourceSource({ api: kubeGet(kc) });
    const cpu = await source.read(req({}, [pod('a'), pod('b'), pod('starting', { ready: false })]));
    expect(cpu.errors).toEqual([]);
    expect(cpu.sample).toEqual({
      scope: 'pods',
      pods: [
        { pod: 'a', ready: true, value: expect.closeTo(251.5, 9) },
        { pod: 'b', ready: true, value: 2000 },
      ],
    });
    const mem = await source.read(req({ targetMetric: 'memory' }, [pod('a')]));
    expect(mem.sample).toEqual({ scope: 'pods', pods: [{ pod: 'a', ready: true, value: 1.5 * 2 ** 30 }] });
    expect(paths).toEqual([PODS_PATH, PODS_PATH]);
  });

  it('marks missing, stale and garbled pod metrics as missing values, never 0', async () => {
    routes = {
      [PODS_PATH]: () => [
        200,
        {
          items: [
            podMetrics('old', [['1', '1']], '2026-01-10T11:50:00Z'),
            podMetrics('bad', [['lots', '1']]),
          ],
        },
      ],
    };
    const r = await new ResourceSource({ api: kubeGet(kc) }).read(
      req({}, [pod('new'), pod('old'), pod('bad')]),
    );
    expect(r.sample).toEqual({
      scope: 'pods',
      pods: [
        { pod: 'new', ready: true, value: undefined },
        { pod: 'old', ready: true, value: undefined },
        { pod: 'bad', ready: true, value: undefined },
      ],
    });
    expect(r.errors).toEqual([
      'pod team-a/new: no PodMetrics yet (metrics-server has not scraped it)',
      'pod team-a/old: PodMetrics is 600 s old (stale after 120 s)',
      'pod team-a/bad: "lots" is not a Kubernetes quantity',
    ]);
  });

  it('computes Utilization from requests when given, and says why not otherwise', async () => {
    routes = { [PODS_PATH]: () => [200, { items: [podMetrics('a', [['250m', '1Gi']])] }] };
    const withRequests = new ResourceSource({ api: kubeGet(kc), requestsOf: () => ({ cpu: 500 }) });
    expect((await withRequests.read(req({ targetType: 'Utilization' }, [pod('a')]))).sample).toEqual({
      scope: 'pods',
      pods: [{ pod: 'a', ready: true, value: 50 }],
    });
    const without = await new ResourceSource({ api: kubeGet(kc) }).read(
      req({ targetType: 'Utilization' }, [pod('a')]),
    );
    expect(without.errors[0]).toMatch(/Utilization needs the pod's cpu requests/);
  });

  it('explains a missing metrics-server, HTTP errors and unsupported resources', async () => {
    routes = {};
    const source = new ResourceSource({ api: kubeGet(kc) });
    const r = await source.read(req({}, [pod('a')]));
    expect(r.sample).toBeUndefined();
    expect(r.errors[0]).toMatch(/HTTP 404: metrics.k8s.io is not served \(is metrics-server installed\?\)/);
    routes = {
      [PODS_PATH]: () => [403, { message: 'pods.metrics.k8s.io is forbidden: User "x" cannot list' }],
    };
    expect((await source.read(req({}, [pod('a')]))).errors[0]).toMatch(
      /HTTP 403: pods.metrics.k8s.io is forbidden/,
    );
    routes = { [PODS_PATH]: () => [200, { items: 'nope' }] };
    expect((await source.read(req({}, [pod('a')]))).errors[0]).toMatch(/not a PodMetricsList/);
    expect((await source.read(req({ targetMetric: 'gpu' }, [pod('a')]))).errors[0]).toMatch(
      /use cpu .* or memory/,
    );
  });
});

describe('CustomMetricsSource', () => {
  const path = (v: string) => `/apis/custom.metrics.k8s.io/${v}/namespaces/team-a/pods/*/queue_depth`;
  const custom = (pods: PodInfo[]) => req({ type: 'custom', targetMetric: 'queue_depth' }, pods);

  it('reads fractional values without rounding them up, falling back to v1beta1', async () => {
    routes = {
      [path('v1beta1')]: () => [
        200,
        {
          kind: 'MetricValueList',
          items: [
            { describedObject: { kind: 'Pod', name: 'a' }, timestamp: '2026-01-10T11:59:50Z', value: '300m' },
            { describedObject: { kind: 'Pod', name: 'b' }, timestamp: '2026-01-10T11:59:50Z', value: '4' },
          ],
        },
      ],
    };
    paths.length = 0;
    const r = await new CustomMetricsSource({ api: kubeGet(kc) }).read(
      custom([pod('a'), pod('b'), pod('c')]),
    );
    expect(r.sample).toEqual({
      scope: 'pods',
      pods: [
        { pod: 'a', ready: true, value: 0.3 },
        { pod: 'b', ready: true, value: 4 },
        { pod: 'c', ready: true, value: undefined },
      ],
    });
    expect(r.errors).toEqual(['pod team-a/c: no value of queue_depth from the custom metrics API']);
    expect(paths).toEqual([path('v1beta2'), path('v1beta1')]);
  });

  it('says when no adapter serves the metric', async () => {
    routes = {};
    const r = await new CustomMetricsSource({ api: kubeGet(kc) }).read(custom([pod('a')]));
    expect(r.sample).toBeUndefined();
    expect(r.errors[0]).toMatch(/is a custom metrics adapter installed and does it serve "queue_depth"/);
  });
});
