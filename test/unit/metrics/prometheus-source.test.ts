/**
 * PrometheusSource against a fake Prometheus HTTP API, for the failure modes a real server does not
 * produce on demand (hangs, 5xx, malformed answers). The real-server test is
 * test/integration/prometheus.test.ts.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedMetricSource } from '../../../src/api/resolved.js';
import type { MetricRequest, PodInfo } from '../../../src/engine/seams.js';
import { PrometheusSource, substituteQuery } from '../../../src/metrics/prometheus-source.js';
import { readyPod } from '../../support/pod-info.js';

let server: http.Server;
let endpoint = '';
let answer: (query: string, res: http.ServerResponse) => void = () => undefined;
const queries: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams.get('query') ?? '';
    queries.push(q);
    answer(q, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const json = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};
const vector = (series: [Record<string, string>, string][]) => ({
  status: 'success',
  data: { resultType: 'vector', result: series.map(([metric, v]) => ({ metric, value: [1731220351.5, v] })) },
});

const pod = (name: string): PodInfo => readyPod(name, { namespace: 'team-a', ip: '10.0.0.1' });

function req(query: string, over: Partial<ResolvedMetricSource> = {}, pods: PodInfo[] = []): MetricRequest {
  return {
    owner: { namespace: 'team-a', name: 'llama' },
    source: {
      type: 'prometheus',
      targetMetric: 'queue',
      targetValue: 10,
      targetType: 'Value',
      protocol: 'http',
      path: '/metrics',
      query,
      ...over,
    },
    pods,
    nowMs: 1000,
    deadlineMs: 6000,
    target: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama"70b' },
  };
}

describe('PrometheusSource', () => {
  it('reads a one-series vector as a global value, with $namespace and $target substituted and escaped', async () => {
    answer = (_q, res) => json(res, 200, vector([[{}, '12.5']]));
    const source = new PrometheusSource({ endpoint });
    const r = await source.read(
      req('sum(vllm:num_requests_waiting{namespace="$namespace",deployment="$target"})'),
    );
    expect(r).toEqual({ sample: { scope: 'global', value: 12.5 }, errors: [] });
    expect(queries.at(-1)).toBe(
      'sum(vllm:num_requests_waiting{namespace="team-a",deployment="llama\\"70b"})',
    );
  });

  it('reads a by-pod vector as per-pod values', async () => {
    answer = (_q, res) =>
      json(
        res,
        200,
        vector([
          [{ pod: 'a' }, '3'],
          [{ pod: 'b' }, 'NaN'],
        ]),
      );
    const r = await new PrometheusSource({ endpoint }).read(
      req('sum by (pod)(x)', {}, [pod('a'), pod('b'), pod('c')]),
    );
    expect(r.sample).toEqual({
      scope: 'pods',
      pods: [
        { pod: 'a', ready: true, value: 3 },
        { pod: 'b', ready: true, value: undefined },
        { pod: 'c', ready: true, value: undefined },
      ],
    });
    expect(r.errors).toHaveLength(2);
  });

  it.each([
    ['an empty result', vector([]), /returned no series/],
    ['NaN', vector([[{}, 'NaN']]), /the value is NaN, not usable/],
    ['+Inf', vector([[{}, '+Inf']]), /the value is (Infinity|NaN)/],
    [
      'several series',
      vector([
        [{ a: '1' }, '1'],
        [{ a: '2' }, '2'],
      ]),
      /returned 2 series; aggregate it/,
    ],
    [
      'a NaN scalar',
      { status: 'success', data: { resultType: 'scalar', result: [1, 'NaN'] } },
      /scalar result is NaN/,
    ],
    ['a matrix', { status: 'success', data: { resultType: 'matrix', result: [] } }, /result is a matrix/],
  ])('treats %s as missing with a reason', async (_name, body, message) => {
    answer = (_q, res) => json(res, 200, body);
    const r = await new PrometheusSource({ endpoint }).read(req('q'));
    expect(r.sample).toBeUndefined();
    expect(r.errors[0]).toMatch(message);
  });

  it('reads a finite scalar', async () => {
    answer = (_q, res) =>
      json(res, 200, { status: 'success', data: { resultType: 'scalar', result: [1, '4'] } });
    expect((await new PrometheusSource({ endpoint }).read(req('scalar(4)'))).sample).toEqual({
      scope: 'global',
      value: 4,
    });
  });

  it('reports query errors, HTTP errors and timeouts', async () => {
    answer = (_q, res) =>
      json(res, 400, {
        status: 'error',
        errorType: 'bad_data',
        error: 'invalid parameter "query": parse error',
      });
    const bad = await new PrometheusSource({ endpoint }).read(req('sum('));
    expect(bad.errors[0]).toMatch(/HTTP 400 http_error: invalid parameter "query": parse error/);
    answer = () => undefined; // hang
    const slow = await new PrometheusSource({ endpoint, timeoutMs: 150 }).read(req('up'));
    expect(slow.sample).toBeUndefined();
    expect(slow.errors[0]).toMatch(
      /prometheus http:\/\/127\.0\.0\.1:\d+ query "up": .*(timeout|no answer within 150 ms)/,
    );
    const refused = await new PrometheusSource({ endpoint: 'http://127.0.0.1:1' }).read(req('up'));
    expect(refused.errors[0]).toMatch(/network_error|ECONNREFUSED/);
  });

  it('needs a query, an endpoint and, for $target, a scale target', async () => {
    const s = new PrometheusSource();
    expect((await s.read(req(''))).errors).toEqual(['prometheus metric source has no query']);
    expect((await s.read(req('up'))).errors[0]).toMatch(/no Prometheus endpoint/);
    expect(() => substituteQuery('x{d="$target"}', { namespace: 'n' })).toThrow(/uses \$target/);
    expect(substituteQuery('x{n="$namespace", m="$namespacex"}', { namespace: 'a\\b' })).toBe(
      'x{n="a\\\\b", m="$namespacex"}',
    );
  });
});
