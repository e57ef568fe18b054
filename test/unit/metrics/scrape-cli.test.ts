/** `inferscale scrape`: the report, its table form, and the command's output and exit status. */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { command } from '../../../src/cli/commands/scrape.js';
import { formatReport, scrapeReport, type ScrapeOptions } from '../../../src/metrics/inspect.js';
import { newEngine, renderVllmV1, serveRequests } from './support/vllm-page.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/metrics/${name}`, import.meta.url), 'utf8');

let server: http.Server;
let url = '';
let body: () => string = () => '';

beforeAll(async () => {
  server = http.createServer((_q, r) => r.end(body()));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

function opts(over: Partial<ScrapeOptions> = {}): ScrapeOptions {
  let t = 1_000_000;
  return { url, windowSeconds: 0, timeoutMs: 2000, ttlSeconds: 60, now: () => (t += 10_000), ...over };
}

describe('scrapeReport', () => {
  it('derives every canonical signal over a window between two scrapes', async () => {
    const e = newEngine('meta-llama/Llama-3.1-8B-Instruct');
    serveRequests(e, 100, 1);
    e.kvUsage = 0.5;
    body = () => renderVllmV1([e]);
    // The "sleep" between the scrapes is where traffic happens: 50 more requests.
    const sleep = async (): Promise<void> => serveRequests(e, 50, 2);
    const r = await scrapeReport(opts({ windowSeconds: 10, sleep }));
    const sig = Object.fromEntries(r.signals.map((s) => [s.name, s]));
    expect(sig.kv_cache_usage).toMatchObject({
      value: 0.5,
      unit: 'fraction',
      family: 'vllm:kv_cache_usage_perc',
    });
    expect(sig.requests_per_second?.value).toBeCloseTo(5, 9); // 50 requests in 10 s
    expect(sig.ttft_p95?.value).toBeGreaterThan(0);
    expect(sig.itl_mean?.unit).toBe('seconds');
    expect(r.models).toEqual(['meta-llama/Llama-3.1-8B-Instruct']);
    expect(r.families.find((f) => f.name === 'vllm:time_to_first_token_seconds')).toEqual({
      name: 'vllm:time_to_first_token_seconds',
      type: 'histogram',
      series: 1,
      help: 'Histogram of time to first token in seconds.',
    });
    const text = formatReport(r);
    expect(text).toMatch(/^kv_cache_usage +0\.5000 +fraction +vllm:kv_cache_usage_perc$/m);
    expect(text).toMatch(/window 10 s/);
  });

  it('says a rate needs --window on a single scrape', async () => {
    body = () => fixture('vllm-v1.txt');
    const r = await scrapeReport(opts({ metric: 'prompt_tokens_total' }));
    expect(r.metric).toMatchObject({
      input: 'prompt_tokens_total',
      name: 'prompt_tokens_per_second',
      via: 'aibrix',
      missing: { reason: 'first-scrape', message: expect.stringMatching(/pass --window <seconds>/) },
    });
  });

  it('explains absent, ambiguous and stale metrics precisely', async () => {
    body = () => fixture('vllm-v1.txt');
    const absent = await scrapeReport(opts({ metric: 'vllm:num_requests_swapped' }));
    expect(absent.metric?.missing).toEqual({
      reason: 'absent',
      message: 'no family vllm:num_requests_swapped on the page',
    });
    body = () => fixture('multi-model.txt');
    const amb = await scrapeReport(opts({ metric: 'num_requests_running' }));
    expect(amb.metric?.missing?.reason).toBe('ambiguous');
    expect(formatReport(amb)).toMatch(/several models on this page: pass --model <name>/);
    const picked = await scrapeReport(
      opts({ metric: 'num_requests_running', model: 'Qwen/Qwen2.5-7B-Instruct' }),
    );
    expect(picked.metric?.value).toBe(10);
    body = () => 'vllm:num_requests_waiting{model_name="m"} 3 1000\n';
    const stale = await scrapeReport(opts({ metric: 'requests_waiting', ttlSeconds: 30 }));
    expect(stale.metric?.missing?.reason).toBe('stale');
  });

  it('fails with the line number on a garbled page, and on a bad metric name before fetching', async () => {
    body = () => 'vllm:num_requests_waiting 1\n<html>\n';
    await expect(scrapeReport(opts())).rejects.toThrow(
      /is not a valid exposition page: line 2: expected a metric name/,
    );
    await expect(scrapeReport(opts({ metric: 'no spaces please' }))).rejects.toThrow(/is not a metric name/);
    await expect(scrapeReport(opts({ url: 'not a url' }))).rejects.toThrow(/is not a URL/);
  });
});

describe('the scrape command', () => {
  async function run(args: string[]): Promise<string> {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    await command.parseAsync(args, { from: 'user' });
    return out;
  }

  it('prints JSON with --json and exits 3 when --metric has no value', async () => {
    body = () => fixture('sglang.txt');
    const json = JSON.parse(await run([url, '--window', '0', '--json', '--metric', 'gpu_cache_usage_perc']));
    expect(json.metric).toMatchObject({ value: 0.4213, family: 'sglang:token_usage' });
    expect(process.exitCode).toBeUndefined();
    const text = await run([url, '--window', '0', '--metric', 'vllm:nope']);
    expect(text).toMatch(/vllm:nope: no value — absent: no family vllm:nope on the page/);
    expect(process.exitCode).toBe(3);
  });
});
