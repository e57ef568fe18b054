/**
 * Renders `/metrics` pages the way vLLM (V1 and V0) and SGLang expose them through Python's
 * prometheus_client (text format 0.0.4): sorted label names, Go-style float formatting, `_created`
 * moved into a separate gauge family after its metric, histogram samples as buckets, `_count`,
 * `_sum`. Family names and labels follow /work/shared/reference §1.2, §1.3, §1.5; the bucket bounds
 * are the simulator's (simulator/model/metrics.ts), which follow the same sections.
 *
 * Used to produce test/fixtures/metrics/*.txt, by the scraper tests (counters that move between
 * scrapes) and by bench/scrape-tick.bench.ts (emulated pods).
 */
import {
  buckets125,
  ITERATION_TOKENS_BUCKETS,
  PARAMS_N_BUCKETS,
  SGLANG_E2E_BUCKETS,
  SGLANG_ITL_BUCKETS,
  SGLANG_TTFT_BUCKETS,
  V0_ITERATION_TOKENS_BUCKETS,
  V0_REQUEST_LATENCY_BUCKETS,
  V0_TPOT_BUCKETS,
  V0_TTFT_BUCKETS,
  V1_ITL_BUCKETS,
  V1_REQUEST_LATENCY_BUCKETS,
  V1_TTFT_BUCKETS,
} from '../../../../simulator/model/metrics.js';

/** A histogram held as per-bucket (non-cumulative) counts; the last slot is the +Inf bucket. */
export interface Hist {
  bounds: readonly number[];
  counts: number[];
  sum: number;
}

export function hist(bounds: readonly number[]): Hist {
  return { bounds, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0 };
}

export function observe(h: Hist, value: number, times = 1): void {
  let i = h.bounds.findIndex((b) => value <= b);
  if (i === -1) i = h.bounds.length;
  h.counts[i] = (h.counts[i] ?? 0) + times;
  h.sum += value * times;
}

/** Python `repr(float)` as prometheus_client's `floatToGoString` adjusts it. */
export function goFloat(d: number): string {
  if (d === Infinity) return '+Inf';
  if (d === -Infinity) return '-Inf';
  if (Number.isNaN(d)) return 'NaN';
  let s = pyRepr(d);
  const dot = s.indexOf('.');
  if (d > 0 && dot > 6) {
    const mantissa = `${s[0]}.${s.slice(1, dot)}${s.slice(dot + 1)}`.replace(/[0.]+$/, '');
    s = `${mantissa}e+0${dot - 1}`;
  }
  return s;
}

function pyRepr(d: number): string {
  if (Number.isInteger(d) && Math.abs(d) < 1e16) return `${d}.0`;
  let s = String(d);
  // JS writes 1e-7 as "1e-7", Python as "1e-07".
  s = s.replace(/e([+-])(\d)$/, 'e$10$2');
  if (/e\+/.test(s) && !s.includes('.')) s = s.replace('e+', '.0e+');
  return s;
}

export type LabelSet = Record<string, string>;

function labelStr(labels: LabelSet): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return (
    '{' +
    keys
      .map(
        (k) =>
          `${k}="${(labels[k] ?? '').replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`,
      )
      .join(',') +
    '}'
  );
}

/** Builds one page in prometheus_client's 0.0.4 layout. */
export class PageWriter {
  private readonly out: string[] = [];
  constructor(private readonly opts: { created: boolean; createdAt: number }) {}

  private meta(name: string, help: string, type: string): void {
    this.out.push(
      `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
      `# TYPE ${name} ${type}`,
    );
  }

  gauge(name: string, help: string, series: [LabelSet, number][]): this {
    this.meta(name, help, 'gauge');
    for (const [l, v] of series) this.out.push(`${name}${labelStr(l)} ${goFloat(v)}`);
    return this;
  }

  /** `name` without `_total`, as the Python code declares it. */
  counter(name: string, help: string, series: [LabelSet, number][]): this {
    this.meta(`${name}_total`, help, 'counter');
    for (const [l, v] of series) this.out.push(`${name}_total${labelStr(l)} ${goFloat(v)}`);
    if (this.opts.created) {
      this.meta(`${name}_created`, help, 'gauge');
      for (const [l] of series)
        this.out.push(`${name}_created${labelStr(l)} ${goFloat(this.opts.createdAt)}`);
    }
    return this;
  }

  histogram(name: string, help: string, series: [LabelSet, Hist][]): this {
    this.meta(name, help, 'histogram');
    for (const [l, h] of series) {
      let cum = 0;
      h.bounds.forEach((b, i) => {
        cum += h.counts[i] ?? 0;
        this.out.push(`${name}_bucket${labelStr({ ...l, le: goFloat(b) })} ${goFloat(cum)}`);
      });
      cum += h.counts[h.bounds.length] ?? 0;
      this.out.push(`${name}_bucket${labelStr({ ...l, le: '+Inf' })} ${goFloat(cum)}`);
      this.out.push(`${name}_count${labelStr(l)} ${goFloat(cum)}`);
      this.out.push(`${name}_sum${labelStr(l)} ${goFloat(h.sum)}`);
    }
    if (this.opts.created) {
      this.meta(`${name}_created`, help, 'gauge');
      for (const [l] of series)
        this.out.push(`${name}_created${labelStr(l)} ${goFloat(this.opts.createdAt)}`);
    }
    return this;
  }

  raw(lines: string[]): this {
    this.out.push(...lines);
    return this;
  }

  toString(): string {
    return this.out.join('\n') + '\n';
  }
}

/** The state of one vLLM engine (one `model_name`, one `engine` index). */
export interface EngineState {
  model: string;
  engine: string;
  running: number;
  waiting: number;
  kvUsage: number;
  promptTokens: number;
  generationTokens: number;
  success: { stop: number; length: number; abort: number };
  preemptions: number;
  prefixQueries: number;
  prefixHits: number;
  ttft: Hist;
  itl: Hist;
  e2e: Hist;
  queue: Hist;
  promptLen: Hist;
  genLen: Hist;
}

export function newEngine(model: string, engine = '0', maxModelLen = 8192): EngineState {
  return {
    model,
    engine,
    running: 0,
    waiting: 0,
    kvUsage: 0,
    promptTokens: 0,
    generationTokens: 0,
    success: { stop: 0, length: 0, abort: 0 },
    preemptions: 0,
    prefixQueries: 0,
    prefixHits: 0,
    ttft: hist(V1_TTFT_BUCKETS),
    itl: hist(V1_ITL_BUCKETS),
    e2e: hist(V1_REQUEST_LATENCY_BUCKETS),
    queue: hist(V1_REQUEST_LATENCY_BUCKETS),
    promptLen: hist(buckets125(maxModelLen)),
    genLen: hist(buckets125(maxModelLen)),
  };
}

/** Deterministic traffic for `n` finished requests (no randomness: tests need exact values). */
export function serveRequests(e: EngineState, n: number, seed = 1): void {
  for (let i = 0; i < n; i++) {
    const k = (seed * 7919 + i * 104729) % 1000; // spread 0..999
    const prompt = 50 + (k % 900);
    const gen = 20 + ((k * 3) % 400);
    e.promptTokens += prompt;
    e.generationTokens += gen;
    e.prefixQueries += prompt;
    e.prefixHits += Math.floor(prompt / 4);
    if (k % 17 === 0) e.success.length++;
    else if (k % 97 === 0) e.success.abort++;
    else e.success.stop++;
    const ttft = 0.02 + (k % 100) / 250;
    const itl = 0.012 + (k % 50) / 2000;
    observe(e.ttft, ttft);
    observe(e.itl, itl, gen - 1);
    observe(e.e2e, ttft + itl * (gen - 1));
    observe(e.queue, (k % 10) / 100);
    observe(e.promptLen, prompt);
    observe(e.genLen, gen);
  }
}

export interface RenderOptions {
  /** Emit `_created` gauges (V1 single-process does; V0 disabled them). */
  created?: boolean;
  createdAt?: number;
  /** Python GC/process collectors (absent in multiprocess mode). */
  processMetrics?: boolean;
  /** V1 ≤ 0.10 also emitted `vllm:gpu_cache_usage_perc` and `vllm:time_per_output_token_seconds`. */
  deprecated?: boolean;
  /** HTTP metrics from prometheus_fastapi_instrumentator. */
  http?: boolean;
}

function processLines(w: PageWriter): void {
  w.raw([
    '# HELP python_gc_objects_collected_total Objects collected during gc',
    '# TYPE python_gc_objects_collected_total counter',
    'python_gc_objects_collected_total{generation="0"} 21532.0',
    'python_gc_objects_collected_total{generation="1"} 4518.0',
    'python_gc_objects_collected_total{generation="2"} 1231.0',
    '# HELP python_gc_objects_uncollectable_total Uncollectable objects found during GC',
    '# TYPE python_gc_objects_uncollectable_total counter',
    'python_gc_objects_uncollectable_total{generation="0"} 0.0',
    'python_gc_objects_uncollectable_total{generation="1"} 0.0',
    'python_gc_objects_uncollectable_total{generation="2"} 0.0',
    '# HELP python_gc_collections_total Number of times this generation was collected',
    '# TYPE python_gc_collections_total counter',
    'python_gc_collections_total{generation="0"} 2764.0',
    'python_gc_collections_total{generation="1"} 251.0',
    'python_gc_collections_total{generation="2"} 12.0',
    '# HELP python_info Python platform information',
    '# TYPE python_info gauge',
    'python_info{implementation="CPython",major="3",minor="12",patchlevel="11",version="3.12.11"} 1.0',
    '# HELP process_virtual_memory_bytes Virtual memory size in bytes.',
    '# TYPE process_virtual_memory_bytes gauge',
    'process_virtual_memory_bytes 6.9123497984e+010',
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    'process_resident_memory_bytes 3.132358656e+09',
    '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
    '# TYPE process_start_time_seconds gauge',
    'process_start_time_seconds 1.73122034562e+09',
    '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
    '# TYPE process_cpu_seconds_total counter',
    'process_cpu_seconds_total 412.37',
    '# HELP process_open_fds Number of open file descriptors.',
    '# TYPE process_open_fds gauge',
    'process_open_fds 97.0',
    '# HELP process_max_fds Maximum number of open file descriptors.',
    '# TYPE process_max_fds gauge',
    'process_max_fds 1.048576e+06',
  ]);
}

function httpLines(w: PageWriter, requests: number): void {
  w.raw([
    '# HELP http_requests_total Total number of requests by method, status and handler.',
    '# TYPE http_requests_total counter',
    `http_requests_total{handler="/v1/completions",method="POST",status="2xx"} ${goFloat(requests)}`,
    `http_requests_total{handler="/v1/chat/completions",method="POST",status="2xx"} ${goFloat(Math.floor(requests / 3))}`,
    '# HELP http_requests_created Total number of requests by method, status and handler.',
    '# TYPE http_requests_created gauge',
    'http_requests_created{handler="/v1/completions",method="POST",status="2xx"} 1.7312203512e+09',
    'http_requests_created{handler="/v1/chat/completions",method="POST",status="2xx"} 1.7312203518e+09',
  ]);
}

/** Folds a V1-bucketed histogram into other bounds: counts above the last bound go to +Inf. */
function rebucket(h: Hist, bounds: readonly number[]): Hist {
  const out = hist(bounds);
  h.bounds.forEach((b, i) => {
    let j = bounds.findIndex((x) => b <= x + 1e-12);
    if (j === -1) j = bounds.length;
    out.counts[j] = (out.counts[j] ?? 0) + (h.counts[i] ?? 0);
  });
  out.counts[bounds.length] = (out.counts[bounds.length] ?? 0) + (h.counts[h.bounds.length] ?? 0);
  out.sum = h.sum;
  return out;
}

/** Token and request counters as V1 and V0 both write them; `reasons` are the finish reasons counted. */
function tokenCounters(
  w: PageWriter,
  engines: EngineState[],
  L: (e: EngineState) => LabelSet,
  reasons: readonly (keyof EngineState['success'])[],
): void {
  const each = (f: (e: EngineState) => number): [LabelSet, number][] => engines.map((e) => [L(e), f(e)]);
  w.counter(
    'vllm:num_preemptions',
    'Cumulative number of preemption from the engine.',
    each((e) => e.preemptions),
  );
  w.counter(
    'vllm:prompt_tokens',
    'Number of prefill tokens processed.',
    each((e) => e.promptTokens),
  );
  w.counter(
    'vllm:generation_tokens',
    'Number of generation tokens processed.',
    each((e) => e.generationTokens),
  );
  w.counter(
    'vllm:request_success',
    'Count of successfully processed requests.',
    engines.flatMap((e) =>
      reasons.map((r): [LabelSet, number] => [{ ...L(e), finished_reason: r }, e.success[r]]),
    ),
  );
}

function lengthHistograms(w: PageWriter, engines: EngineState[], L: (e: EngineState) => LabelSet): void {
  const eachH = (f: (e: EngineState) => Hist): [LabelSet, Hist][] => engines.map((e) => [L(e), f(e)]);
  w.histogram(
    'vllm:request_prompt_tokens',
    'Number of prefill tokens processed.',
    eachH((e) => e.promptLen),
  );
  w.histogram(
    'vllm:request_generation_tokens',
    'Number of generation tokens processed.',
    eachH((e) => e.genLen),
  );
}

/** A vLLM V1 page (one series per engine state; several states = several models or DP engines). */
export function renderVllmV1(engines: EngineState[], opts: RenderOptions = {}): string {
  const w = new PageWriter({ created: opts.created ?? true, createdAt: opts.createdAt ?? 1731220351.2 });
  if (opts.processMetrics ?? true) processLines(w);
  const L = (e: EngineState): LabelSet => ({ engine: e.engine, model_name: e.model });
  const each = (f: (e: EngineState) => number): [LabelSet, number][] => engines.map((e) => [L(e), f(e)]);
  const eachH = (f: (e: EngineState) => Hist): [LabelSet, Hist][] => engines.map((e) => [L(e), f(e)]);
  w.gauge(
    'vllm:num_requests_running',
    'Number of requests in model execution batches.',
    each((e) => e.running),
  );
  w.gauge(
    'vllm:num_requests_waiting',
    'Number of requests waiting to be processed.',
    each((e) => e.waiting),
  );
  if (opts.deprecated) {
    w.gauge(
      'vllm:gpu_cache_usage_perc',
      'GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead.',
      each((e) => e.kvUsage),
    );
  }
  w.gauge(
    'vllm:kv_cache_usage_perc',
    'KV-cache usage. 1 means 100 percent usage.',
    each((e) => e.kvUsage),
  );
  w.counter(
    'vllm:prefix_cache_queries',
    'Prefix cache queries, in terms of number of queried tokens.',
    each((e) => e.prefixQueries),
  );
  w.counter(
    'vllm:prefix_cache_hits',
    'Prefix cache hits, in terms of number of cached tokens.',
    each((e) => e.prefixHits),
  );
  tokenCounters(w, engines, L, ['stop', 'length', 'abort']);
  lengthHistograms(w, engines, L);
  w.histogram(
    'vllm:iteration_tokens_total',
    'Histogram of number of tokens per engine_step.',
    eachH((e) => {
      const h = hist(ITERATION_TOKENS_BUCKETS);
      h.counts[6] = e.generationTokens / 40;
      h.sum = e.generationTokens + e.promptTokens;
      return h;
    }),
  );
  w.histogram(
    'vllm:request_params_n',
    'Histogram of the n request parameter.',
    eachH((e) => {
      const h = hist(PARAMS_N_BUCKETS);
      h.counts[0] = e.ttft.counts.reduce((a, b) => a + b, 0);
      h.sum = h.counts[0];
      return h;
    }),
  );
  w.histogram(
    'vllm:time_to_first_token_seconds',
    'Histogram of time to first token in seconds.',
    eachH((e) => e.ttft),
  );
  w.histogram(
    'vllm:inter_token_latency_seconds',
    'Histogram of inter-token latency in seconds.',
    eachH((e) => e.itl),
  );
  if (opts.deprecated) {
    w.histogram(
      'vllm:time_per_output_token_seconds',
      'Histogram of time per output token in seconds.DEPRECATED: Use vllm:inter_token_latency_seconds instead.',
      eachH((e) => e.itl),
    );
  }
  w.histogram(
    'vllm:e2e_request_latency_seconds',
    'Histogram of e2e request latency in seconds.',
    eachH((e) => e.e2e),
  );
  w.histogram(
    'vllm:request_queue_time_seconds',
    'Histogram of time spent in WAITING phase for request.',
    eachH((e) => e.queue),
  );
  w.gauge(
    'vllm:cache_config_info',
    'Information of the LLMEngine CacheConfig',
    engines.map((e) => [
      {
        block_size: '16',
        cache_dtype: 'auto',
        enable_prefix_caching: 'True',
        engine: e.engine,
        gpu_memory_utilization: '0.9',
        num_gpu_blocks: '27923',
        num_cpu_blocks: 'None',
        swap_space: '4',
      },
      1,
    ]),
  );
  if (opts.http ?? true)
    httpLines(
      w,
      engines.reduce((a, e) => a + e.success.stop + e.success.length, 0),
    );
  return w.toString();
}

/** A vLLM V0 page: `model_name` only, no `_created`, V0 names and bucket lists. */
export function renderVllmV0(engines: EngineState[], opts: RenderOptions = {}): string {
  const w = new PageWriter({ created: false, createdAt: 0 });
  if (opts.processMetrics ?? true) processLines(w);
  const L = (e: EngineState): LabelSet => ({ model_name: e.model });
  const each = (f: (e: EngineState) => number): [LabelSet, number][] => engines.map((e) => [L(e), f(e)]);
  const eachH = (f: (e: EngineState) => Hist): [LabelSet, Hist][] => engines.map((e) => [L(e), f(e)]);
  w.gauge(
    'vllm:num_requests_running',
    'Number of requests currently running on GPU.',
    each((e) => e.running),
  );
  w.gauge(
    'vllm:num_requests_swapped',
    'Number of requests swapped to CPU.',
    each(() => 0),
  );
  w.gauge(
    'vllm:num_requests_waiting',
    'Number of requests waiting to be processed.',
    each((e) => e.waiting),
  );
  w.gauge(
    'vllm:gpu_cache_usage_perc',
    'GPU KV-cache usage. 1 means 100 percent usage.',
    each((e) => e.kvUsage),
  );
  w.gauge(
    'vllm:cpu_cache_usage_perc',
    'CPU KV-cache usage. 1 means 100 percent usage.',
    each(() => 0),
  );
  w.gauge(
    'vllm:gpu_prefix_cache_hit_rate',
    'GPU prefix cache block hit rate.',
    each((e) => (e.prefixQueries === 0 ? 0 : e.prefixHits / e.prefixQueries)),
  );
  w.gauge(
    'vllm:cpu_prefix_cache_hit_rate',
    'CPU prefix cache block hit rate.',
    each(() => -1),
  );
  tokenCounters(w, engines, L, ['stop', 'length']);
  w.histogram(
    'vllm:iteration_tokens_total',
    'Histogram of number of tokens per engine_step.',
    eachH((e) => {
      const h = hist(V0_ITERATION_TOKENS_BUCKETS);
      h.counts[6] = e.generationTokens / 40;
      h.sum = e.generationTokens + e.promptTokens;
      return h;
    }),
  );
  w.histogram(
    'vllm:time_to_first_token_seconds',
    'Histogram of time to first token in seconds.',
    eachH((e) => rebucket(e.ttft, V0_TTFT_BUCKETS)),
  );
  w.histogram(
    'vllm:time_per_output_token_seconds',
    'Histogram of time per output token in seconds.',
    eachH((e) => rebucket(e.itl, V0_TPOT_BUCKETS)),
  );
  w.histogram(
    'vllm:e2e_request_latency_seconds',
    'Histogram of end to end request latency in seconds.',
    eachH((e) => rebucket(e.e2e, V0_REQUEST_LATENCY_BUCKETS)),
  );
  w.histogram(
    'vllm:request_queue_time_seconds',
    'Histogram of time spent in WAITING phase for request.',
    eachH((e) => rebucket(e.queue, V0_REQUEST_LATENCY_BUCKETS)),
  );
  lengthHistograms(w, engines, L);
  w.gauge('vllm:cache_config_info', 'Information of the LLMEngine CacheConfig', [
    [
      {
        block_size: '16',
        cache_dtype: 'auto',
        enable_prefix_caching: 'False',
        gpu_memory_utilization: '0.9',
        num_cpu_blocks: '2048',
        num_gpu_blocks: '27923',
        swap_space: '4',
      },
      1,
    ],
  ]);
  if (opts.http ?? true)
    httpLines(
      w,
      engines.reduce((a, e) => a + e.success.stop + e.success.length, 0),
    );
  return w.toString();
}

/** An SGLang page (`--enable-metrics`): scheduler gauges carry rank labels, tokenizer metrics do not. */
export function renderSglang(engines: EngineState[], opts: RenderOptions = {}): string {
  const w = new PageWriter({ created: opts.created ?? true, createdAt: opts.createdAt ?? 1731220351.2 });
  if (opts.processMetrics ?? true) processLines(w);
  const S = (e: EngineState): LabelSet => ({
    engine_type: 'unified',
    model_name: e.model,
    moe_ep_rank: '0',
    pp_rank: '0',
    tp_rank: '0',
  });
  const T = (e: EngineState): LabelSet => ({ model_name: e.model });
  const sg = (f: (e: EngineState) => number): [LabelSet, number][] => engines.map((e) => [S(e), f(e)]);
  const tg = (f: (e: EngineState) => number): [LabelSet, number][] => engines.map((e) => [T(e), f(e)]);
  w.gauge(
    'sglang:num_running_reqs',
    'The number of running requests.',
    sg((e) => e.running),
  );
  w.gauge(
    'sglang:num_used_tokens',
    'The number of used tokens.',
    sg((e) => Math.round(e.kvUsage * 446112)),
  );
  w.gauge(
    'sglang:token_usage',
    'The token usage.',
    sg((e) => e.kvUsage),
  );
  w.gauge(
    'sglang:gen_throughput',
    'The generation throughput (token/s).',
    sg(() => 1532.7),
  );
  w.gauge(
    'sglang:num_queue_reqs',
    'The number of requests in the waiting queue.',
    sg((e) => e.waiting),
  );
  w.gauge(
    'sglang:cache_hit_rate',
    'The prefix cache hit rate.',
    sg((e) => (e.prefixQueries === 0 ? 0 : e.prefixHits / e.prefixQueries)),
  );
  w.gauge(
    'sglang:max_total_num_tokens',
    'Maximum total number of tokens in the KV cache pool.',
    sg(() => 446112),
  );
  w.gauge(
    'sglang:num_retracted_reqs',
    'The number of retracted requests.',
    sg((e) => e.preemptions % 3),
  );
  w.counter(
    'sglang:prompt_tokens',
    'Number of prefill tokens processed.',
    tg((e) => e.promptTokens),
  );
  w.counter(
    'sglang:generation_tokens',
    'Number of generation tokens processed.',
    tg((e) => e.generationTokens),
  );
  w.counter(
    'sglang:cached_tokens',
    'Number of cached prompt tokens.',
    tg((e) => e.prefixHits),
  );
  w.counter(
    'sglang:num_requests',
    'Number of requests processed.',
    tg((e) => e.success.stop + e.success.length + e.success.abort),
  );
  w.counter(
    'sglang:num_aborted_requests',
    'Number of requests aborted.',
    tg((e) => e.success.abort),
  );
  const th = (f: (e: EngineState) => Hist): [LabelSet, Hist][] => engines.map((e) => [T(e), f(e)]);
  w.histogram(
    'sglang:time_to_first_token_seconds',
    'Histogram of time to first token in seconds.',
    th((e) => rebucket(e.ttft, SGLANG_TTFT_BUCKETS)),
  );
  w.histogram(
    'sglang:inter_token_latency_seconds',
    'Histogram of inter-token latency in seconds.',
    th((e) => rebucket(e.itl, SGLANG_ITL_BUCKETS)),
  );
  w.histogram(
    'sglang:e2e_request_latency_seconds',
    'Histogram of End-to-end request latency in seconds',
    th((e) => rebucket(e.e2e, SGLANG_E2E_BUCKETS)),
  );
  return w.toString();
}
