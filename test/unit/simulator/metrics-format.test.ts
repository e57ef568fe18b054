import { describe, expect, it } from 'vitest';
import { formatValue, pythonFloatRepr, renderExposition } from '../../../simulator/model/exposition.js';
import { Histogram } from '../../../simulator/model/histogram.js';
import {
  buckets125,
  SGLANG_TTFT_BUCKETS,
  V0_TPOT_BUCKETS,
  V1_ITL_BUCKETS,
  V1_REQUEST_LATENCY_BUCKETS,
  V1_TTFT_BUCKETS,
} from '../../../simulator/model/metrics.js';
import { ReplicaModel } from '../../../simulator/model/replica.js';
import { parseExposition, findFamily } from '../../../src/metrics/exposition.js';

/** A replica that served a few requests, at model time `end`. */
function servedReplica(): { m: ReplicaModel; end: number } {
  const m = new ReplicaModel('A100-80GB', 'Llama-3.1-8B', { startMs: 1_700_000_000_000 });
  let t = 1_700_000_000_000;
  for (let i = 0; i < 5; i++) {
    m.enqueue({ id: i, arrivalMs: t, inputTokens: 200 + i * 100, outputTokens: 20, maxTokens: 20 }, t);
    t += 10;
  }
  for (let e = m.nextEventTime(); e !== undefined; e = m.nextEventTime()) m.advanceTo(e);
  return { m, end: m.timeMs };
}

function lines(page: string, prefix: string): string[] {
  return page.split('\n').filter((l) => l.startsWith(prefix));
}

describe('prometheus_client number formatting', () => {
  it('writes floats like Python repr with Go-style exponents', () => {
    expect(formatValue(1)).toBe('1.0');
    expect(formatValue(0)).toBe('0.0');
    expect(formatValue(0.25)).toBe('0.25');
    expect(formatValue(123456)).toBe('123456.0');
    expect(formatValue(1234567)).toBe('1.234567e+06');
    expect(formatValue(1e6)).toBe('1e+06');
    expect(formatValue(12345678.5)).toBe('1.23456785e+07');
    expect(formatValue(1.7e9)).toBe('1.7e+09');
    expect(formatValue(1e15)).toBe('1e+015');
    expect(formatValue(1e16)).toBe('1e+16');
    expect(formatValue(0.00005)).toBe('5e-05');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(NaN)).toBe('NaN');
    expect(pythonFloatRepr(-2)).toBe('-2.0');
  });

  it('sorts labels and escapes values', () => {
    const page = renderExposition([
      {
        name: 'x_total',
        help: 'a\\b\nc',
        type: 'counter',
        samples: [{ name: 'x_total', labels: { z: '1', a: 'q"\\\n' }, value: 2 }],
      },
    ]);
    expect(page).toBe(
      '# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\nx_total{a="q\\"\\\\\\n",z="1"} 2.0\n',
    );
  });
});

describe('histograms over merged bucket layouts', () => {
  it('renders every layout exactly', () => {
    const h = new Histogram(V1_TTFT_BUCKETS, SGLANG_TTFT_BUCKETS);
    for (const v of [0.001, 0.0011, 0.1, 0.15, 0.2, 2, 2.5, 3000]) h.observe(v);
    h.observe(0.3, 4);
    expect(h.count).toBe(12);
    const v1 = h.cumulative(V1_TTFT_BUCKETS);
    expect(v1[0]).toBe(1); // le 0.001 is inclusive
    expect(v1[V1_TTFT_BUCKETS.indexOf(0.1)]).toBe(3);
    expect(v1[V1_TTFT_BUCKETS.indexOf(0.5)]).toBe(9);
    expect(v1[V1_TTFT_BUCKETS.length - 1]).toBe(11);
    const sg = h.cumulative(SGLANG_TTFT_BUCKETS);
    expect(sg[SGLANG_TTFT_BUCKETS.indexOf(0.2)]).toBe(5);
    expect(sg[SGLANG_TTFT_BUCKETS.indexOf(2)]).toBe(10);
    expect(() => h.cumulative([0.33])).toThrow(/not part/);
  });

  it('builds vLLM 1-2-5 token buckets up to max model len', () => {
    expect(buckets125(100)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(buckets125(4096)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]);
  });
});

describe('vLLM V1 /metrics', () => {
  it('exposes the V1 families with vLLM types, labels and buckets', () => {
    const { m, end } = servedReplica();
    const page = m.renderMetrics('vllm-v1', { nowMs: end });
    const ex = parseExposition(page);
    const type = (n: string) => findFamily(ex, n)?.type;
    for (const g of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc']) {
      expect(type(g)).toBe('gauge');
    }
    for (const c of [
      'vllm:prompt_tokens_total',
      'vllm:generation_tokens_total',
      'vllm:request_success_total',
      'vllm:num_preemptions_total',
      'vllm:prefix_cache_queries_total',
      'vllm:prefix_cache_hits_total',
    ]) {
      expect(type(c)).toBe('counter');
    }
    expect(type('vllm:gpu_cache_usage_perc')).toBeUndefined();
    expect(type('vllm:time_per_output_token_seconds')).toBeUndefined();
    const ttft = findFamily(ex, 'vllm:time_to_first_token_seconds');
    expect(ttft?.type).toBe('histogram');
    const series = ttft?.histograms?.[0];
    expect(series?.labels).toEqual({ engine: '0', model_name: 'meta-llama/Llama-3.1-8B-Instruct' });
    expect(series?.buckets.map((b) => b.le)).toEqual([...V1_TTFT_BUCKETS, Infinity]);
    expect(series?.count).toBe(5);
    // prometheus_client's text format writes `_created` as its own gauge family.
    expect(findFamily(ex, 'vllm:time_to_first_token_seconds_created')?.samples[0]?.value).toBe(1_700_000_000);
    const itl = findFamily(ex, 'vllm:inter_token_latency_seconds')?.histograms?.[0];
    expect(itl?.buckets.map((b) => b.le)).toEqual([...V1_ITL_BUCKETS, Infinity]);
    expect(itl?.count).toBe(5 * 19);
    const e2e = findFamily(ex, 'vllm:e2e_request_latency_seconds')?.histograms?.[0];
    expect(e2e?.buckets.map((b) => b.le)).toEqual([...V1_REQUEST_LATENCY_BUCKETS, Infinity]);
    const prompt = findFamily(ex, 'vllm:request_prompt_tokens')?.histograms?.[0];
    expect(prompt?.buckets.map((b) => b.le)).toEqual([...buckets125(131072), Infinity]);
    expect(prompt?.sum).toBe(200 + 300 + 400 + 500 + 600);
    expect(lines(page, 'vllm:request_success_total{')).toEqual([
      'vllm:request_success_total{engine="0",finished_reason="stop",model_name="meta-llama/Llama-3.1-8B-Instruct"} 5.0',
      'vllm:request_success_total{engine="0",finished_reason="length",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0',
      'vllm:request_success_total{engine="0",finished_reason="abort",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0',
    ]);
    expect(lines(page, 'vllm:generation_tokens_total{')).toEqual([
      'vllm:generation_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0',
    ]);
    expect(page).toContain('# TYPE vllm:generation_tokens_created gauge\n');
    expect(page).toMatch(
      /vllm:cache_config_info\{block_size="16",.*engine="0",.*num_gpu_blocks="25720".*\} 1\.0\n$/,
    );
    expect(page).toContain(
      'vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0',
    );
    expect(page).toContain(
      'vllm:request_params_max_tokens_bucket{engine="0",le="20.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 5.0',
    );
  });

  it('omits _created samples on request', () => {
    const { m } = servedReplica();
    expect(m.renderMetrics('vllm-v1', { created: false })).not.toContain('_created');
  });
});

describe('other dialects', () => {
  it('vLLM V0: model_name only, gpu_cache_usage_perc, time_per_output_token_seconds', () => {
    const { m } = servedReplica();
    const page = m.renderMetrics('vllm-v0');
    const ex = parseExposition(page);
    expect(findFamily(ex, 'vllm:gpu_cache_usage_perc')?.type).toBe('gauge');
    expect(findFamily(ex, 'vllm:num_requests_swapped')?.type).toBe('gauge');
    expect(findFamily(ex, 'vllm:kv_cache_usage_perc')).toBeUndefined();
    const tpot = findFamily(ex, 'vllm:time_per_output_token_seconds')?.histograms?.[0];
    expect(tpot?.labels).toEqual({ model_name: 'meta-llama/Llama-3.1-8B-Instruct' });
    expect(tpot?.buckets.map((b) => b.le)).toEqual([...V0_TPOT_BUCKETS, Infinity]);
    expect(page).not.toContain('engine="0"');
    expect(page).not.toContain('_created');
  });

  it('SGLang: sglang: names and its own buckets', () => {
    const { m, end } = servedReplica();
    const ex = parseExposition(m.renderMetrics('sglang', { nowMs: end }));
    expect(findFamily(ex, 'sglang:num_running_reqs')?.type).toBe('gauge');
    expect(findFamily(ex, 'sglang:num_queue_reqs')?.type).toBe('gauge');
    expect(findFamily(ex, 'sglang:token_usage')?.type).toBe('gauge');
    expect(findFamily(ex, 'sglang:num_requests_total')?.samples[0]?.value).toBe(5);
    expect(findFamily(ex, 'sglang:generation_tokens_total')?.samples[0]?.value).toBe(100);
    expect(findFamily(ex, 'sglang:gen_throughput')?.samples[0]?.value).toBeGreaterThan(0);
    const ttft = findFamily(ex, 'sglang:time_to_first_token_seconds')?.histograms?.[0];
    expect(ttft?.buckets.map((b) => b.le)).toEqual([...SGLANG_TTFT_BUCKETS, Infinity]);
    expect(ttft?.labels.engine_type).toBe('unified');
  });
});
