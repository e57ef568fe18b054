/**
 * The pod scraper against emulated pods on loopback (127.0.0.2…), with injected faults.
 *
 * The HTTPS certificate in test/fixtures/metrics/tls was made with:
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 \
 *     -subj "/CN=inferscale test pod" -addext "subjectAltName=IP:127.0.0.1,…,IP:127.0.0.8,DNS:localhost" \
 *     -keyout pod.key -out pod.crt
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedMetricSource } from '../../../src/api/resolved.js';
import type { MetricReading, MetricRequest, PodInfo } from '../../../src/engine/seams.js';
import { PodScraper } from '../../../src/metrics/pod-scraper.js';
import { startFakePods, type FakePods } from './support/fake-pods.js';
import { newEngine, renderVllmV1, serveRequests, type EngineState } from './support/vllm-page.js';

const tls = {
  key: readFileSync(new URL('../../fixtures/metrics/tls/pod.key', import.meta.url), 'utf8'),
  cert: readFileSync(new URL('../../fixtures/metrics/tls/pod.crt', import.meta.url), 'utf8'),
};

let fakes: FakePods | undefined;
let scraper: PodScraper | undefined;
afterEach(async () => {
  scraper?.close();
  await fakes?.close();
  fakes = undefined;
  scraper = undefined;
});

function source(over: Partial<ResolvedMetricSource> = {}): ResolvedMetricSource {
  return {
    type: 'pod',
    targetMetric: 'requests_waiting',
    targetValue: 5,
    targetType: 'AverageValue',
    protocol: 'http',
    path: '/metrics',
    port: fakes!.port,
    ...over,
  };
}

function request(src: ResolvedMetricSource, pods: PodInfo[], nowMs: number, budgetMs = 5000): MetricRequest {
  return { owner: { namespace: 'ns', name: 'pa' }, source: src, pods, nowMs, deadlineMs: nowMs + budgetMs };
}

function values(r: MetricReading): (number | undefined)[] {
  if (r.sample?.scope !== 'pods') throw new Error('expected a pods sample');
  return r.sample.pods.map((p) => p.value);
}

function engineWith(waiting: number): EngineState {
  const e = newEngine('meta-llama/Llama-3.1-8B-Instruct');
  e.waiting = waiting;
  return e;
}

describe('PodScraper', () => {
  it('scrapes every ready pod concurrently and returns one value per pod', async () => {
    const engines = [2, 4, 9].map(engineWith);
    fakes = await startFakePods(3, (i) => ({ kind: 'page', body: () => renderVllmV1([engines[i]!]) }));
    scraper = new PodScraper();
    const r = await scraper.read(request(source(), fakes.info(), 1000));
    expect(r.errors).toEqual([]);
    expect(r.sample).toEqual({
      scope: 'pods',
      pods: [
        { pod: 'pod-0', ready: true, value: 2 },
        { pod: 'pod-1', ready: true, value: 4 },
        { pod: 'pod-2', ready: true, value: 9 },
      ],
    });
  });

  it('reports timeouts, 500s, garbage, NaN and redirects as missing values with reasons, never 0', async () => {
    const good = engineWith(7);
    const nanPage = renderVllmV1([engineWith(1)]).replace(/(vllm:num_requests_waiting\{.*\}) 1.0/, '$1 NaN');
    fakes = await startFakePods(6, (i) => {
      switch (i) {
        case 0:
          return { kind: 'page', body: () => renderVllmV1([good]) };
        case 1:
          return { kind: 'status', status: 500, body: 'Internal Server Error' };
        case 2:
          return { kind: 'page', body: () => '<html><body>Welcome to nginx!</body></html>' };
        case 3:
          return { kind: 'hang' };
        case 4:
          return { kind: 'page', body: () => nanPage };
        default:
          return { kind: 'status', status: 302, headers: { Location: 'http://169.254.169.254/' } };
      }
    });
    scraper = new PodScraper({ timeoutMs: 300 });
    const r = await scraper.read(request(source(), fakes.info(), 1000));
    expect(values(r)).toEqual([7, undefined, undefined, undefined, undefined, undefined]);
    expect(r.errors).toHaveLength(5);
    expect(r.errors[0]).toMatch(
      /^pod ns\/pod-1 \(http:\/\/127\.0\.0\.3:\d+\/metrics\): HTTP 500: Internal Server Error$/,
    );
    expect(r.errors[1]).toMatch(/pod-2 .*unparsable page: line 1: expected a metric name/);
    expect(r.errors[2]).toMatch(/pod-3 .*no complete response within 300 ms/);
    expect(r.errors[3]).toMatch(/pod-4: vllm:num_requests_waiting is NaN/);
    expect(r.errors[4]).toMatch(
      /pod-5 .*HTTP 302 redirect to http:\/\/169\.254\.169\.254\/; redirects are not followed/,
    );
    expect(fakes.pods[5]!.requests).toBe(1);
  });

  it('caps each pod at the read deadline, inside the tick budget', async () => {
    fakes = await startFakePods(1, () => ({ kind: 'hang' }));
    scraper = new PodScraper({ timeoutMs: 10_000 });
    const r = await scraper.read(request(source(), fakes.info(), 1000, 200));
    expect(values(r)).toEqual([undefined]);
    expect(r.errors[0]).toMatch(/no complete response within (1\d\d|200) ms/);
  });

  it('scrapes only ready, running, non-terminating pods', async () => {
    fakes = await startFakePods(4, () => ({ kind: 'page', body: () => renderVllmV1([engineWith(1)]) }));
    scraper = new PodScraper();
    const pods = fakes.info([{}, { ready: false }, { terminating: true }, { phase: 'Pending' }]);
    const r = await scraper.read(request(source(), pods, 1000));
    expect(r.sample).toEqual({ scope: 'pods', pods: [{ pod: 'pod-0', ready: true, value: 1 }] });
    expect(fakes.pods.map((p) => p.requests)).toEqual([1, 0, 0, 0]);
  });

  it('computes rates from the previous scrape of each pod, reset-aware', async () => {
    const e = newEngine('m');
    serveRequests(e, 100, 1);
    fakes = await startFakePods(1, () => ({ kind: 'page', body: () => renderVllmV1([e]) }));
    scraper = new PodScraper({ windowMs: 0 });
    const src = source({ targetMetric: 'vllm:prompt_tokens_total' });
    const first = await scraper.read(request(src, fakes.info(), 10_000));
    expect(values(first)).toEqual([undefined]); // first scrape: no rate yet, and not an error
    expect(first.errors).toEqual([]);
    const before = e.promptTokens;
    serveRequests(e, 30, 2);
    const second = await scraper.read(request(src, fakes.info(), 20_000));
    expect(values(second)[0]).toBeCloseTo((e.promptTokens - before) / 10, 9);
    // The engine restarts: counters start again from a small value.
    const restarted = newEngine('m');
    serveRequests(restarted, 5, 3);
    fakes.pods[0]!.behaviour = { kind: 'page', body: () => renderVllmV1([restarted]) };
    const third = await scraper.read(request(src, fakes.info(), 25_000));
    expect(values(third)[0]).toBeCloseTo(restarted.promptTokens / 5, 9);
  });

  it('uses the oldest snapshot inside the window as the rate base', async () => {
    const e = newEngine('m');
    fakes = await startFakePods(1, () => ({ kind: 'page', body: () => renderVllmV1([e]) }));
    scraper = new PodScraper({ windowMs: 30_000 });
    const src = source({ targetMetric: 'prompt_tokens_per_second' });
    const t = [0, 10_000, 20_000, 30_000, 40_000];
    const got: (number | undefined)[] = [];
    for (const [i, at] of t.entries()) {
      e.promptTokens = i * 1000; // 100 tokens/s
      if (i === 4) e.promptTokens = 3000 + 4000; // 400 tokens/s in the last 10 s
      got.push(values(await scraper.read(request(src, fakes.info(), at)))[0]);
    }
    // 10 s, 20 s, 30 s windows, then 30 s from t=10 s: (7000-1000)/30
    expect(got).toEqual([undefined, 100, 100, 100, 200]);
  });

  it('filters by modelName and refuses to guess between models', async () => {
    const a = engineWith(3);
    const b = newEngine('Qwen/Qwen2.5-7B-Instruct');
    b.waiting = 8;
    fakes = await startFakePods(1, () => ({ kind: 'page', body: () => renderVllmV1([a, b]) }));
    scraper = new PodScraper();
    const ambiguous = await scraper.read(request(source(), fakes.info(), 1000));
    expect(values(ambiguous)).toEqual([undefined]);
    expect(ambiguous.errors[0]).toMatch(/has series for 2 models .* set modelName/);
    const picked = await scraper.read(
      request(source({ modelName: 'Qwen/Qwen2.5-7B-Instruct' }), fakes.info(), 2000),
    );
    expect(values(picked)).toEqual([8]);
  });

  it('marks stale series missing and, when enabled, keeps the last good value for its TTL only', async () => {
    fakes = await startFakePods(1, () => ({
      kind: 'page',
      body: () => 'vllm:num_requests_waiting 6 5000\n',
    }));
    scraper = new PodScraper({ staleAfterMs: 10_000, lastGoodTtlMs: 20_000 });
    const fresh = await scraper.read(request(source(), fakes.info(), 10_000));
    expect(values(fresh)).toEqual([6]);
    fakes.pods[0]!.behaviour = { kind: 'status', status: 503 };
    const failed = await scraper.read(request(source(), fakes.info(), 25_000));
    expect(values(failed)).toEqual([6]);
    expect(failed.errors[0]).toMatch(/HTTP 503 \(using its value from 15 s ago\)/);
    const expired = await scraper.read(request(source(), fakes.info(), 31_000));
    expect(values(expired)).toEqual([undefined]);
    // The page answers again, but its series are 26 s old: stale.
    fakes.pods[0]!.behaviour = { kind: 'page', body: () => 'vllm:num_requests_waiting 6 5000\n' };
    const stale = await scraper.read(request(source(), fakes.info(), 31_000));
    expect(values(stale)).toEqual([undefined]);
    expect(stale.errors[0]).toMatch(/last updated 26\.0 s before the scrape \(TTL 10 s\)/);
  });

  it('honours the source protocol, port and path, and verifies certificates', async () => {
    fakes = await startFakePods(2, () => ({ kind: 'page', body: () => renderVllmV1([engineWith(5)]) }), tls);
    const src = source({ protocol: 'https', path: '/prometheus/metrics' });
    scraper = new PodScraper({ ca: tls.cert });
    const ok = await scraper.read(request(src, fakes.info(), 1000));
    expect(values(ok)).toEqual([5, 5]);
    expect(fakes.pods[0]!.paths).toEqual(['/prometheus/metrics']);
    scraper.close();
    scraper = new PodScraper();
    const untrusted = await scraper.read(request(src, fakes.info(), 1000));
    expect(values(untrusted)).toEqual([undefined, undefined]);
    expect(untrusted.errors[0]).toMatch(/https:\/\/127\.0\.0\.2:\d+\/prometheus\/metrics\): .*certificate/);
  });

  it('reuses connections across ticks (keep-alive)', async () => {
    fakes = await startFakePods(2, () => ({ kind: 'page', body: () => renderVllmV1([engineWith(1)]) }));
    scraper = new PodScraper();
    for (let t = 0; t < 5; t++) await scraper.read(request(source(), fakes.info(), 1000 * (t + 1)));
    expect(fakes.pods.map((p) => p.requests)).toEqual([5, 5]);
    expect(fakes.pods.map((p) => p.connections)).toEqual([1, 1]);
  });

  it('bounds concurrency across all reads in flight', async () => {
    fakes = await startFakePods(6, () => ({
      kind: 'delay',
      ms: 30,
      body: () => 'vllm:num_requests_waiting 1\n',
    }));
    scraper = new PodScraper({ concurrency: 2 });
    const reads = await Promise.all([
      scraper.read(request(source(), fakes.info().slice(0, 3), 1000)),
      scraper.read({
        ...request(source(), fakes.info().slice(3), 1000),
        owner: { namespace: 'ns', name: 'other' },
      }),
    ]);
    expect(reads.flatMap(values)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(fakes.maxInFlight).toBe(2);
  });

  it('shares one request per pod between metric sources read in the same tick', async () => {
    fakes = await startFakePods(1, () => ({
      kind: 'delay',
      ms: 20,
      body: () => renderVllmV1([engineWith(4)]),
    }));
    scraper = new PodScraper();
    const [w, k] = await Promise.all([
      scraper.read(request(source(), fakes.info(), 1000)),
      scraper.read(request(source({ targetMetric: 'gpu_cache_usage_perc' }), fakes.info(), 1000)),
    ]);
    expect(values(w)).toEqual([4]);
    expect(values(k)).toEqual([0]);
    expect(fakes.pods[0]!.requests).toBe(1);
  });

  it('reports a connection refused and a pod without IP', async () => {
    scraper = new PodScraper({ timeoutMs: 1000 });
    const pods: PodInfo[] = [
      {
        name: 'gone',
        namespace: 'ns',
        ip: '127.0.0.9',
        phase: 'Running',
        ready: true,
        terminating: false,
        labels: {},
      },
      { name: 'noip', namespace: 'ns', phase: 'Running', ready: true, terminating: false, labels: {} },
    ];
    const r = await scraper.read(request({ ...sourceNoFakes(), port: 1 }, pods, 1000));
    expect(values(r)).toEqual([undefined, undefined]);
    expect(r.errors).toEqual([
      'pod ns/gone (http://127.0.0.9:1/metrics): connection refused (nothing listening on that port?)',
      'pod ns/noip: no pod IP',
    ]);
  });

  it('rejects non-pod sources and unusable metric names without throwing', async () => {
    scraper = new PodScraper();
    const r = await scraper.read(request({ ...sourceNoFakes(), type: 'external' }, [], 1000));
    expect(r).toEqual({ sample: undefined, errors: ['pod scraper cannot read a external metric source'] });
    const bad = await scraper.read(request({ ...sourceNoFakes(), targetMetric: 'not a name' }, [], 1000));
    expect(bad.sample).toBeUndefined();
    expect(bad.errors[0]).toMatch(/is not a metric name/);
  });
});

function sourceNoFakes(): ResolvedMetricSource {
  return {
    type: 'pod',
    targetMetric: 'requests_waiting',
    targetValue: 5,
    targetType: 'AverageValue',
    protocol: 'http',
    path: '/metrics',
  };
}
