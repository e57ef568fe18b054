import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { familiesOf, listedSignals, resolveTargetMetric } from '../../../src/metrics/catalogue.js';
import { parseExposition, type Exposition } from '../../../src/metrics/exposition.js';
import {
  evaluate,
  histogramQuantile,
  readSignal,
  takeSnapshot,
  type Snapshot,
} from '../../../src/metrics/signals.js';
import { fixtureEngine } from './support/gen-fixtures.js';
import {
  newEngine,
  observe,
  renderSglang,
  renderVllmV0,
  renderVllmV1,
  serveRequests,
} from './support/vllm-page.js';

const fixture = (name: string): Exposition =>
  parseExposition(readFileSync(new URL(`../../fixtures/metrics/${name}`, import.meta.url), 'utf8'));

/** Reads `metric` from `page` at `atMs`, with `prev` as the window start. */
function read(metric: string, page: Exposition, prev?: Snapshot, atMs = 10_000, modelName?: string) {
  const opts = modelName === undefined ? { atMs } : { atMs, modelName };
  return readSignal(resolveTargetMetric(metric), page, prev, opts);
}

function valueOf(r: ReturnType<typeof read>): number {
  if (!r.value.ok) throw new Error(`no value: ${r.value.reason}: ${r.value.message}`);
  return r.value.value;
}

describe('resolveTargetMetric', () => {
  it.each([
    ['kv_cache_usage', 'kv_cache_usage', 'canonical', 'fraction'],
    ['gpu_cache_usage_perc', 'kv_cache_usage', 'aibrix', 'fraction'],
    ['kv_cache_usage_perc', 'kv_cache_usage', 'aibrix', 'fraction'],
    ['vllm:gpu_cache_usage_perc', 'kv_cache_usage', 'engine', 'fraction'],
    ['sglang:token_usage', 'kv_cache_usage', 'engine', 'fraction'],
    ['num_requests_waiting', 'requests_waiting', 'aibrix', 'requests'],
    ['vllm:num_requests_waiting', 'requests_waiting', 'engine', 'requests'],
    ['sglang:num_queue_reqs', 'requests_waiting', 'engine', 'requests'],
    ['prompt_tokens_total', 'prompt_tokens_per_second', 'aibrix', 'tokens/s'],
    ['vllm:prompt_tokens_total', 'prompt_tokens_per_second', 'engine', 'tokens/s'],
    ['vllm:prompt_tokens', 'prompt_tokens_per_second', 'engine', 'tokens/s'],
    ['time_per_output_token_seconds', 'itl_mean', 'aibrix', 'seconds'],
    ['vllm:time_per_output_token_seconds', 'itl_mean', 'engine', 'seconds'],
    ['ttft_p95', 'ttft_p95', 'canonical', 'seconds'],
    ['itl_p99.9', 'itl_p99.9', 'canonical', 'seconds'],
    ['p95_ttft_5m_pod', 'ttft_p95', 'aibrix', 'seconds'],
    ['avg_requests_per_min_pod', 'requests_per_second', 'aibrix', 'requests/min'],
    ['num_requests_swapped', 'vllm:num_requests_swapped', 'aibrix', 'raw'],
    ['my_custom_queue_depth', 'my_custom_queue_depth', 'raw', 'raw'],
  ])('%s → %s (%s)', (input, name, via, unit) => {
    const m = resolveTargetMetric(input);
    expect(m.name).toBe(name);
    expect(m.via).toBe(via);
    expect(m.unit).toBe(unit);
  });

  it('tries the family the user named first, then its equivalents', () => {
    const m = resolveTargetMetric('vllm:gpu_cache_usage_perc');
    expect(m.readers.map((r) => (r.kind === 'ratio' ? r.numerator : r.family))).toEqual([
      'vllm:gpu_cache_usage_perc',
      'vllm:kv_cache_usage_perc',
      'sglang:token_usage',
    ]);
  });

  it('rejects strings that cannot be metric names', () => {
    expect(() => resolveTargetMetric('cpu usage')).toThrow(/is not a metric name/);
    expect(() => resolveTargetMetric('ttft_p100')).toThrow(/percentile must be above 0 and below 100/);
  });

  it('lists both counter spellings for the parser filter', () => {
    expect(familiesOf(resolveTargetMetric('requests_per_second'))).toEqual(
      expect.arrayContaining([
        'vllm:request_success_total',
        'vllm:request_success',
        'sglang:num_requests_total',
      ]),
    );
  });
});

describe('gauges from the fixture pages', () => {
  it.each([
    ['vllm-v1.txt', 'kv_cache_usage', 0.4213],
    ['vllm-v0.txt', 'kv_cache_usage', 0.4213],
    ['sglang.txt', 'kv_cache_usage', 0.4213],
    ['vllm-v1.txt', 'requests_running', 12],
    ['vllm-v0.txt', 'requests_running', 12],
    ['sglang.txt', 'requests_running', 12],
    ['vllm-v1.txt', 'requests_waiting', 3],
    ['sglang.txt', 'num_requests_waiting', 3],
    ['vllm-v0.txt', 'prefix_cache_hit_rate', 137550 / 552000],
    ['sglang.txt', 'prefix_cache_hit_rate', 137550 / 552000],
  ])('%s: %s = %s', (page, metric, expected) => {
    expect(valueOf(read(metric, fixture(page)))).toBeCloseTo(expected, 9);
  });

  it('prefers the current V1 family when a 0.10-era page has both names', () => {
    const e = fixtureEngine();
    const page = parseExposition(
      renderVllmV1([e], { deprecated: true }).replace(
        /^vllm:gpu_cache_usage_perc\{(.*)\} .*$/m,
        'vllm:gpu_cache_usage_perc{$1} 0.99',
      ),
    );
    expect(read('kv_cache_usage', page).value).toMatchObject({
      ok: true,
      value: 0.4213,
      family: 'vllm:kv_cache_usage_perc',
    });
    expect(read('vllm:gpu_cache_usage_perc', page).value).toMatchObject({ value: 0.99 });
  });

  it('rejects a KV fraction outside 0..1 and NaN gauges as invalid, never as 0', () => {
    const text = readFileSync(new URL('../../fixtures/metrics/vllm-v1.txt', import.meta.url), 'utf8');
    const over = parseExposition(text.replace(/(vllm:kv_cache_usage_perc\{.*\}) 0.4213/, '$1 42.13'));
    expect(read('kv_cache_usage', over).value).toMatchObject({ ok: false, reason: 'invalid' });
    const nan = parseExposition(text.replace(/(vllm:num_requests_waiting\{.*\}) 3.0/, '$1 NaN'));
    expect(read('requests_waiting', nan).value).toMatchObject({
      ok: false,
      reason: 'invalid',
      message: expect.stringMatching(/NaN/),
    });
  });

  it('says absent with the families it looked for', () => {
    const r = read('kv_cache_usage', parseExposition('other_metric 1\n'));
    expect(r.value).toEqual({
      ok: false,
      reason: 'absent',
      message:
        'no family of vllm:kv_cache_usage_perc, vllm:gpu_cache_usage_perc, sglang:token_usage on the page',
    });
  });
});

describe('multi-model pages', () => {
  const page = fixture('multi-model.txt');

  it('refuses to guess between models (AIBrix takes the first series)', () => {
    const r = read('requests_running', page);
    expect(r.value).toMatchObject({ ok: false, reason: 'ambiguous' });
    expect(!r.value.ok && r.value.message).toMatch(
      /meta-llama\/Llama-3.1-8B-Instruct, Qwen\/Qwen2.5-7B-Instruct/,
    );
  });

  it('filters by model_name and sums data-parallel engines (mean for the KV fraction)', () => {
    expect(valueOf(read('requests_running', page, undefined, 1, 'Qwen/Qwen2.5-7B-Instruct'))).toBe(10);
    expect(valueOf(read('requests_waiting', page, undefined, 1, 'Qwen/Qwen2.5-7B-Instruct'))).toBe(1);
    expect(valueOf(read('kv_cache_usage', page, undefined, 1, 'Qwen/Qwen2.5-7B-Instruct'))).toBeCloseTo(
      0.3,
      12,
    );
    expect(valueOf(read('requests_running', page, undefined, 1, 'meta-llama/Llama-3.1-8B-Instruct'))).toBe(
      12,
    );
  });

  it('says which models exist when the requested one is not there', () => {
    const r = read('requests_running', page, undefined, 1, 'mistral');
    expect(r.value).toMatchObject({ ok: false, reason: 'absent' });
    expect(!r.value.ok && r.value.message).toMatch(
      /no series with model_name="mistral" \(models on the page: meta-llama/,
    );
  });
});

describe('rates and window quantities', () => {
  function pages(render: (e: ReturnType<typeof newEngine>[]) => string) {
    const e = newEngine('m');
    serveRequests(e, 100, 1);
    e.preemptions = 5;
    const first = parseExposition(render([e]));
    const before = { ...e, success: { ...e.success } };
    serveRequests(e, 50, 2);
    e.preemptions = 8;
    const second = parseExposition(render([e]));
    return { first, second, before, after: e };
  }

  it('is missing on the first scrape, then a per-second rate over the window', () => {
    const { first, second, before, after } = pages((e) => renderVllmV1(e));
    const r1 = read('prompt_tokens_per_second', first, undefined, 0);
    expect(r1.value).toMatchObject({ ok: false, reason: 'first-scrape' });
    const r2 = read('prompt_tokens_per_second', second, r1.snapshot, 10_000);
    expect(valueOf(r2)).toBeCloseTo((after.promptTokens - before.promptTokens) / 10, 9);
    // request rate sums the finished_reason series
    const q1 = read('requests_per_second', first, undefined, 0);
    expect(valueOf(read('requests_per_second', second, q1.snapshot, 5_000))).toBeCloseTo(10, 9);
    const p1 = read('preemptions_per_second', first, undefined, 0);
    expect(valueOf(read('preemptions_per_second', second, p1.snapshot, 2_000))).toBeCloseTo(1.5, 9);
  });

  it.each([
    ['V1', (e: ReturnType<typeof newEngine>[]) => renderVllmV1(e)],
    ['V0', (e: ReturnType<typeof newEngine>[]) => renderVllmV0(e)],
    ['SGLang', (e: ReturnType<typeof newEngine>[]) => renderSglang(e)],
  ])('derives token and request rates from %s counters', (_n, render) => {
    const { first, second } = pages(render);
    const a = read('generation_tokens_per_second', first, undefined, 0);
    const v = valueOf(read('generation_tokens_per_second', second, a.snapshot, 10_000));
    expect(v).toBeGreaterThan(0);
    const ra = read('requests_per_second', first, undefined, 0);
    // V0 pages omit the abort series; SGLang counts every request.
    expect(valueOf(read('requests_per_second', second, ra.snapshot, 10_000))).toBeGreaterThan(4.5);
  });

  it('treats a counter that went down as a restart (reset-aware)', () => {
    const e = newEngine('m');
    serveRequests(e, 100, 1);
    const before = parseExposition(renderVllmV1([e]));
    const fresh = newEngine('m');
    serveRequests(fresh, 10, 3);
    const after = parseExposition(renderVllmV1([fresh]));
    const a = read('prompt_tokens_per_second', before, undefined, 0);
    expect(valueOf(read('prompt_tokens_per_second', after, a.snapshot, 10_000))).toBeCloseTo(
      fresh.promptTokens / 10,
      9,
    );
    const h = read('ttft_mean', before, undefined, 0);
    expect(valueOf(read('ttft_mean', after, h.snapshot, 10_000))).toBeCloseTo(fresh.ttft.sum / 10, 9);
  });

  it('computes window quantiles from histogram deltas, not since process start', () => {
    const e = newEngine('m');
    // 1000 slow requests before the window...
    observe(e.ttft, 30, 1000);
    const first = parseExposition(renderVllmV1([e]));
    // ...then 100 fast ones in it: 50 in (0.04, 0.06], 50 in (0.06, 0.08].
    observe(e.ttft, 0.05, 50);
    observe(e.ttft, 0.07, 50);
    const second = parseExposition(renderVllmV1([e]));
    const a = read('ttft_p50', first, undefined, 0);
    expect(valueOf(read('ttft_p50', second, a.snapshot, 1000))).toBeCloseTo(0.06, 12);
    const b = read('ttft_p95', first, undefined, 0);
    // rank 95 of 100: 45/50 into (0.06, 0.08]
    expect(valueOf(read('ttft_p95', second, b.snapshot, 1000))).toBeCloseTo(0.06 + 0.02 * (45 / 50), 12);
    const m = read('ttft_mean', first, undefined, 0);
    expect(valueOf(read('ttft_mean', second, m.snapshot, 1000))).toBeCloseTo(0.06, 12);
  });

  it('is missing (no observations) when nothing finished in the window', () => {
    const e = newEngine('m');
    serveRequests(e, 10, 1);
    const page = parseExposition(renderVllmV1([e]));
    const a = read('ttft_p95', page, undefined, 0);
    expect(read('ttft_p95', page, a.snapshot, 1000).value).toMatchObject({
      ok: false,
      reason: 'no-observations',
    });
    const h = read('prefix_cache_hit_rate', page, undefined, 0);
    expect(read('prefix_cache_hit_rate', page, h.snapshot, 1000).value).toMatchObject({
      reason: 'no-observations',
    });
  });

  it('reads the V1 prefix-cache hit rate as Δhits / Δqueries', () => {
    const e = newEngine('m');
    e.prefixQueries = 1000;
    e.prefixHits = 900;
    const first = parseExposition(renderVllmV1([e]));
    e.prefixQueries += 400;
    e.prefixHits += 100;
    const second = parseExposition(renderVllmV1([e]));
    const a = read('prefix_cache_hit_rate', first, undefined, 0);
    expect(valueOf(read('prefix_cache_hit_rate', second, a.snapshot, 1000))).toBeCloseTo(0.25, 12);
  });

  it('reads ITL from the pre-0.11 name when the new one is absent', () => {
    const e = newEngine('m');
    serveRequests(e, 20, 1);
    const old = renderVllmV1([e], { deprecated: true }).replace(
      /^vllm:inter_token_latency_seconds.*\n/gm,
      '',
    );
    const r = read('itl_p90', parseExposition(old), undefined, 0);
    expect(r.snapshot?.family).toBe('vllm:time_per_output_token_seconds');
  });

  it('applies the per-minute scale of AIBrix names', () => {
    const { first, second } = pages((e) => renderVllmV1(e));
    const a = read('avg_requests_per_min_pod', first, undefined, 0);
    expect(valueOf(read('avg_requests_per_min_pod', second, a.snapshot, 5_000))).toBeCloseTo(600, 9);
  });

  it('reads raw families by their page type', () => {
    const page = parseExposition(
      '# TYPE q gauge\nq{a="1"} 2\nq{a="2"} 3\n# TYPE c counter\nc_total 10\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n',
    );
    expect(valueOf(read('q', page))).toBe(5);
    const later = parseExposition(
      '# TYPE q gauge\nq 1\n# TYPE c counter\nc_total 30\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 4\nh_sum 13\nh_count 4\n',
    );
    const c = read('c', page, undefined, 0);
    expect(valueOf(read('c', later, c.snapshot, 2000))).toBe(10);
    const h = read('h', page, undefined, 0);
    expect(valueOf(read('h', later, h.snapshot, 2000))).toBe(5);
  });

  it('marks series with old explicit timestamps as stale', () => {
    const page = parseExposition('vllm:num_requests_waiting{model_name="m"} 4 1000\n');
    const m = resolveTargetMetric('requests_waiting');
    expect(readSignal(m, page, undefined, { atMs: 100_000, staleAfterMs: 30_000 }).value).toMatchObject({
      ok: false,
      reason: 'stale',
    });
    expect(readSignal(m, page, undefined, { atMs: 20_000, staleAfterMs: 30_000 }).value).toMatchObject({
      ok: true,
      value: 4,
    });
  });

  it('does not compare snapshots of different readers (engine upgraded between scrapes)', () => {
    const m = resolveTargetMetric('itl_p50');
    const e = newEngine('m');
    serveRequests(e, 20, 1);
    const oldPage = parseExposition(
      renderVllmV1([e], { deprecated: true }).replace(/^vllm:inter_token_latency_seconds.*\n/gm, ''),
    );
    const newPage = parseExposition(renderVllmV1([e]));
    const a = takeSnapshot(m, oldPage, { atMs: 0 });
    const b = takeSnapshot(m, newPage, { atMs: 1000 });
    if (!a.ok || !b.ok) throw new Error('snapshot failed');
    expect(evaluate(m, b.snapshot, a.snapshot)).toMatchObject({ ok: false, reason: 'first-scrape' });
  });
});

describe('histogramQuantile (Prometheus semantics)', () => {
  const b = (pairs: [number, number][]) => pairs.map(([le, count]) => ({ le, count }));
  it('interpolates linearly inside the bucket, starting the first bucket at 0', () => {
    expect(
      histogramQuantile(
        0.5,
        b([
          [1, 10],
          [2, 20],
          [Infinity, 20],
        ]),
      ),
    ).toBe(1);
    expect(
      histogramQuantile(
        0.25,
        b([
          [1, 10],
          [2, 20],
          [Infinity, 20],
        ]),
      ),
    ).toBe(0.5);
    expect(
      histogramQuantile(
        0.75,
        b([
          [1, 10],
          [2, 20],
          [Infinity, 20],
        ]),
      ),
    ).toBe(1.5);
  });
  it('returns the highest finite bound when the rank falls in +Inf', () => {
    expect(
      histogramQuantile(
        0.99,
        b([
          [1, 10],
          [2, 20],
          [Infinity, 100],
        ]),
      ),
    ).toBe(2);
  });
  it('handles edge cases like Prometheus', () => {
    expect(
      histogramQuantile(
        -0.1,
        b([
          [1, 1],
          [Infinity, 1],
        ]),
      ),
    ).toBe(-Infinity);
    expect(
      histogramQuantile(
        1.1,
        b([
          [1, 1],
          [Infinity, 1],
        ]),
      ),
    ).toBe(Infinity);
    expect(histogramQuantile(0.5, b([[1, 1]]))).toBeNaN();
    expect(
      histogramQuantile(
        0.5,
        b([
          [1, 0],
          [Infinity, 0],
        ]),
      ),
    ).toBeNaN();
    expect(
      histogramQuantile(
        0.5,
        b([
          [1, 1],
          [2, 2],
        ]),
      ),
    ).toBeNaN(); // no +Inf bucket
    expect(
      histogramQuantile(
        0.5,
        b([
          [-1, 10],
          [0, 10],
          [Infinity, 10],
        ]),
      ),
    ).toBe(-1);
    // non-monotonic counts are flattened upward: (1,10),(2,8→10),(3,20)
    expect(
      histogramQuantile(
        0.75,
        b([
          [1, 10],
          [2, 8],
          [3, 20],
          [Infinity, 20],
        ]),
      ),
    ).toBe(2.5);
  });
});

describe('listedSignals', () => {
  it('lists every canonical signal with its unit', () => {
    const names = listedSignals().map((s) => `${s.name} [${s.unit}]`);
    expect(names).toEqual(
      expect.arrayContaining([
        'kv_cache_usage [fraction]',
        'requests_running [requests]',
        'requests_waiting [requests]',
        'prompt_tokens_per_second [tokens/s]',
        'generation_tokens_per_second [tokens/s]',
        'requests_per_second [requests/s]',
        'ttft_p95 [seconds]',
        'itl_p99 [seconds]',
        'e2e_p50 [seconds]',
        'preemptions_per_second [preemptions/s]',
        'prefix_cache_hit_rate [fraction]',
      ]),
    );
  });
});
