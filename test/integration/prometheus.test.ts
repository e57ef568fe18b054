/**
 * PrometheusSource against Debian's real `prometheus`, started here on loopback and scraping two
 * emulated vLLM pods (127.0.0.2 and 127.0.0.3) every second.
 *
 * Install: `apt-get install -y --no-install-recommends prometheus`. The test is skipped only when
 * the binary is missing and INFERSCALE_REQUIRE_PROMETHEUS is unset; with the variable set, a missing
 * binary fails the test. Prometheus needs ~6 s before its first scrape (service discovery batching):
 * the test polls `count(up == 1)`, it does not sleep a fixed time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedMetricSource } from '../../src/api/resolved.js';
import type { MetricReading, MetricRequest, PodInfo } from '../../src/engine/seams.js';
import { PrometheusSource } from '../../src/metrics/prometheus-source.js';
import { startFakePods, type FakePods } from '../unit/metrics/support/fake-pods.js';
import { newEngine, renderVllmV1, serveRequests } from '../unit/metrics/support/vllm-page.js';
import { freeLoopbackPort } from '../support/free-port.js';

function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const binary = findBinary('prometheus');
const required = (process.env.INFERSCALE_REQUIRE_PROMETHEUS ?? '') !== '';

/** Polls `check` every 200 ms until it returns a value, for at most `limitMs`. */
async function until<T>(what: string, limitMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${limitMs} ms waiting for ${what} (${String(last)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(binary === undefined && !required)('PrometheusSource against a real Prometheus', () => {
  let prom: ChildProcess | undefined;
  let promLog = '';
  let dir = '';
  let pods: FakePods | undefined;
  let source: PrometheusSource;
  const podInfos: PodInfo[] = [];

  const metricSource = (query: string): ResolvedMetricSource => ({
    type: 'prometheus',
    targetMetric: 'q',
    targetValue: 1,
    targetType: 'Value',
    protocol: 'http',
    path: '/metrics',
    query,
  });
  const read = (query: string, withPods = false): Promise<MetricReading> => {
    const now = Date.now();
    const req: MetricRequest = {
      owner: { namespace: 'team-a', name: 'llama' },
      source: metricSource(query),
      pods: withPods ? podInfos : [],
      nowMs: now,
      deadlineMs: now + 5000,
      target: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama' },
    };
    return source.read(req);
  };
  const globalValue = (r: MetricReading): number | undefined =>
    r.sample?.scope === 'global' ? r.sample.value : undefined;

  beforeAll(async () => {
    if (binary === undefined) {
      throw new Error(
        'INFERSCALE_REQUIRE_PROMETHEUS is set but no prometheus binary is on PATH (apt-get install prometheus)',
      );
    }
    const engines = [
      newEngine('meta-llama/Llama-3.1-8B-Instruct'),
      newEngine('meta-llama/Llama-3.1-8B-Instruct'),
    ];
    engines[0]!.waiting = 2;
    engines[1]!.waiting = 5;
    // Every scrape sees 20 more finished requests, so rates and quantiles have data.
    pods = await startFakePods(2, (i) => ({
      kind: 'page',
      body: () => {
        serveRequests(engines[i]!, 20, i + 1);
        return renderVllmV1([engines[i]!]);
      },
    }));
    podInfos.push(...pods.info().map((p) => ({ ...p, namespace: 'team-a' })));

    dir = mkdtempSync(path.join(os.tmpdir(), 'inferscale-prom-'));
    const webPort = await freeLoopbackPort();
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: vllm',
      '    scrape_timeout: 900ms',
      '    static_configs:',
      ...pods.pods.flatMap((p) => [
        `      - targets: ['${p.ip}:${pods!.port}']`,
        `        labels: {pod: '${p.name}', namespace: 'team-a'}`,
      ]),
    ].join('\n');
    writeFileSync(path.join(dir, 'prometheus.yml'), config + '\n');
    prom = spawn(
      binary,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${webPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout?.on('data', (d: Buffer) => (promLog += d.toString()));
    prom.stderr?.on('data', (d: Buffer) => (promLog += d.toString()));
    const exited = new Promise<never>((_, reject) =>
      prom!.once('exit', (code) =>
        reject(new Error(`prometheus exited with ${code}: ${promLog.slice(-2000)}`)),
      ),
    );
    exited.catch(() => undefined);
    source = new PrometheusSource({ endpoint: `http://127.0.0.1:${webPort}`, timeoutMs: 2000 });

    const ready = async (): Promise<void> => {
      await until('both targets up', 30_000, async () => {
        const v = globalValue(await read('count(up == 1)'));
        return v === 2 ? true : undefined;
      });
      // rate() needs two scrapes inside its range.
      await until('a rate over two scrapes', 15_000, async () => {
        const v = globalValue(await read('sum(rate(vllm:prompt_tokens_total[5s]))'));
        return v !== undefined && v > 0 ? true : undefined;
      });
    };
    await Promise.race([ready(), exited]);
  });

  afterAll(async () => {
    if (prom !== undefined && prom.exitCode === null) {
      prom.kill('SIGTERM');
      const killer = setTimeout(() => prom?.kill('SIGKILL'), 5000);
      await once(prom, 'exit');
      clearTimeout(killer);
    }
    await pods?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('reads a gauge sum with $namespace substituted', async () => {
    const r = await read('sum(vllm:num_requests_waiting{namespace="$namespace"})');
    expect(r).toEqual({ sample: { scope: 'global', value: 7 }, errors: [] });
  });

  it('reads per-pod values from a by-pod vector', async () => {
    const r = await read('sum by (pod)(vllm:num_requests_waiting{namespace="$namespace"})', true);
    expect(r).toEqual({
      sample: {
        scope: 'pods',
        pods: [
          { pod: 'pod-0', ready: true, value: 2 },
          { pod: 'pod-1', ready: true, value: 5 },
        ],
      },
      errors: [],
    });
  });

  it('reads rates and histogram quantiles of colon-named vLLM metrics', async () => {
    const rate = globalValue(await read('sum(rate(vllm:request_success_total[5s]))'));
    expect(rate).toBeGreaterThan(0);
    const p95 = globalValue(
      await read('histogram_quantile(0.95, sum by (le)(rate(vllm:time_to_first_token_seconds_bucket[5s])))'),
    );
    expect(p95).toBeGreaterThan(0);
    expect(p95).toBeLessThanOrEqual(2560);
  });

  it('treats an empty result and NaN as missing', async () => {
    const empty = await read('sum(vllm:no_such_metric)');
    expect(empty.sample).toBeUndefined();
    expect(empty.errors[0]).toMatch(/returned no series/);
    const nanScalar = await read('0/0');
    expect(nanScalar.sample).toBeUndefined();
    expect(nanScalar.errors[0]).toMatch(/scalar result is NaN/);
    const nanVector = await read('sum(vllm:num_requests_waiting) * 0 / 0');
    expect(nanVector.sample).toBeUndefined();
    expect(nanVector.errors[0]).toMatch(/the value is NaN/);
  });

  it('refuses a multi-series result that is not by pod, and reports PromQL errors', async () => {
    const many = await read('sum by (instance)(vllm:num_requests_waiting)');
    expect(many.errors[0]).toMatch(/returned 2 series; aggregate it/);
    const bad = await read('sum(');
    expect(bad.sample).toBeUndefined();
    expect(bad.errors[0]).toMatch(/HTTP 400 http_error: .*parse error/);
  });
});
