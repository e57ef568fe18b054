/**
 * The metric families a replica exposes, in three dialects:
 * - `vllm-v1`: vLLM V1 as of the 0.11+ loggers (names, HELP texts, label sets, bucket lists and
 *   registration order of `vllm/v1/metrics/loggers.py`), optional `_created` samples;
 * - `vllm-v0`: the late V0 engine (`model_name` label only, `gpu_cache_usage_perc`,
 *   `time_per_output_token_seconds`, V0 bucket lists, no `_created`);
 * - `sglang`: the SGLang names an autoscaler reads (`sglang:num_running_reqs`, `token_usage`, ...).
 * Sources: reference vllm-engine-traces-gpus.md section 1 and the loggers/collector files it cites.
 */
import { Histogram } from './histogram.js';
import { formatValue as formatLe } from './exposition.js';
import type { MetricFamily, Sample } from './exposition.js';

export type MetricsFormat = 'vllm-v1' | 'vllm-v0' | 'sglang';
export const METRICS_FORMATS: readonly MetricsFormat[] = ['vllm-v1', 'vllm-v0', 'sglang'];

// --- bucket layouts -----------------------------------------------------------------------------

export const V1_TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
  80.0, 160.0, 640.0, 2560.0,
];
export const V1_ITL_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
export const V1_REQUEST_LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
  960.0, 1920.0, 7680.0,
];
export const ITERATION_TOKENS_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
export const PARAMS_N_BUCKETS = [1, 2, 5, 10, 20];

export const V0_TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
export const V0_TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
export const V0_REQUEST_LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
];
/** V0 with eager execution (with CUDA graphs V0 used the capture sizes). 8096 is vLLM's own typo. */
export const V0_ITERATION_TOKENS_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8096];

export const SGLANG_TTFT_BUCKETS = [
  0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400,
];
export const SGLANG_ITL_BUCKETS = [
  0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.06, 0.08, 0.1, 0.2, 0.4, 0.6,
  0.8, 1, 2, 4, 6, 8,
];
export const SGLANG_E2E_BUCKETS = [
  0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600, 1200, 1800, 2400,
];
export const SGLANG_QUEUE_BUCKETS = [
  0.0, 0.1, 0.2, 0.5, 1, 2, 3, 4, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 600,
  700, 800, 900, 1000, 1200, 1400, 1600, 1800, 2000, 2500, 3000,
];
export const SGLANG_RETRACTION_BUCKETS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 75, 100];

/** vLLM's `build_1_2_5_buckets(max_value)`: 1, 2, 5, 10, 20, 50, ... <= max. */
export function buckets125(max: number): number[] {
  const out: number[] = [];
  for (let e = 1; ; e *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * e > max) return out;
      out.push(m * e);
    }
  }
}

// --- raw statistics kept by the replica ---------------------------------------------------------

export type FinishReason = 'stop' | 'length' | 'abort';
export const FINISH_REASONS: readonly FinishReason[] = ['stop', 'length', 'abort'];

/** Counters and histograms a replica accumulates; renderers read them, the engine loop writes them. */
export class ReplicaStats {
  /** Prompt lengths, counted when a request produces its first token (vLLM semantics). */
  promptTokens = 0;
  /** Prompt tokens computed locally vs served from the prefix cache, at first scheduling. */
  promptTokensComputed = 0;
  promptTokensCached = 0;
  /** Requests whose whole prompt hit the cache recompute their last token. */
  promptTokensRecomputed = 0;
  generationTokens = 0;
  preemptions = 0;
  prefixQueries = 0;
  prefixHits = 0;
  readonly success: Record<FinishReason, number> = { stop: 0, length: 0, abort: 0 };
  /** Totals over finished requests (SGLang counts tokens at completion). */
  finishedPromptTokens = 0;
  finishedGenerationTokens = 0;
  finishedCachedTokens = 0;
  /** Preemptions in the last engine step (SGLang's `num_retracted_reqs` gauge). */
  lastStepPreemptions = 0;

  readonly ttft = new Histogram(V1_TTFT_BUCKETS, V0_TTFT_BUCKETS, SGLANG_TTFT_BUCKETS);
  readonly itl = new Histogram(V1_ITL_BUCKETS, V0_TPOT_BUCKETS, SGLANG_ITL_BUCKETS);
  readonly requestTpot = new Histogram(V1_ITL_BUCKETS);
  readonly e2e = new Histogram(V1_REQUEST_LATENCY_BUCKETS, V0_REQUEST_LATENCY_BUCKETS, SGLANG_E2E_BUCKETS);
  readonly queue = new Histogram(
    V1_REQUEST_LATENCY_BUCKETS,
    V0_REQUEST_LATENCY_BUCKETS,
    SGLANG_QUEUE_BUCKETS,
  );
  readonly inference = new Histogram(V1_REQUEST_LATENCY_BUCKETS, V0_REQUEST_LATENCY_BUCKETS);
  readonly prefill = new Histogram(V1_REQUEST_LATENCY_BUCKETS, V0_REQUEST_LATENCY_BUCKETS);
  readonly decode = new Histogram(V1_REQUEST_LATENCY_BUCKETS, V0_REQUEST_LATENCY_BUCKETS);
  readonly iterationTokens = new Histogram(ITERATION_TOKENS_BUCKETS, V0_ITERATION_TOKENS_BUCKETS);
  readonly paramsN = new Histogram(PARAMS_N_BUCKETS);
  readonly retractions = new Histogram(SGLANG_RETRACTION_BUCKETS);
  readonly promptLen: Histogram;
  readonly generationLen: Histogram;
  readonly maxGenerationLen: Histogram;
  readonly paramsMaxTokens: Histogram;
  readonly prefillKvComputed: Histogram;
  readonly tokenBuckets: number[];

  constructor(maxModelLen: number) {
    this.tokenBuckets = buckets125(maxModelLen);
    this.promptLen = new Histogram(this.tokenBuckets);
    this.generationLen = new Histogram(this.tokenBuckets);
    this.maxGenerationLen = new Histogram(this.tokenBuckets);
    this.paramsMaxTokens = new Histogram(this.tokenBuckets);
    this.prefillKvComputed = new Histogram(this.tokenBuckets);
  }
}

/** Live state a renderer needs besides the accumulated statistics. */
export interface MetricsView {
  modelName: string;
  running: number;
  waiting: number;
  /** Used KV blocks / all blocks, 0-1. */
  kvUsage: number;
  usedBlocks: number;
  numGpuBlocks: number;
  blockSize: number;
  gpuMemoryUtilization: number;
  /** Epoch seconds at which the metrics were created (`_created` samples). */
  createdSec: number;
  /** Generated tokens per second over the recent window (SGLang `gen_throughput`). */
  genThroughput: number;
  stats: ReplicaStats;
}

export interface RenderOptions {
  /** vllm-v1 only: emit `*_created` samples as a single-process prometheus_client does (default true). */
  created?: boolean;
}

// --- family builders ----------------------------------------------------------------------------

type Labels = Readonly<Record<string, string>>;

function gauge(name: string, help: string, labels: Labels, value: number): MetricFamily {
  return { name, help, type: 'gauge', samples: [{ name, labels, value }] };
}

function histogramSamples(name: string, labels: Labels, h: Histogram, layout: readonly number[]): Sample[] {
  const cum = h.cumulative(layout);
  const samples: Sample[] = layout.map((le, i) => ({
    name: `${name}_bucket`,
    labels: { ...labels, le: formatLe(le) },
    value: cum[i] as number,
  }));
  samples.push({ name: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  samples.push({ name: `${name}_count`, labels, value: h.count });
  samples.push({ name: `${name}_sum`, labels, value: h.sum });
  return samples;
}

/** Builds prometheus_client-shaped families: each counter/histogram optionally followed by its `_created` gauge. */
class FamilyList {
  readonly out: MetricFamily[] = [];
  constructor(
    private readonly createdSec: number | undefined,
    private readonly labels: Labels,
  ) {}

  gauge(name: string, help: string, value: number, extra?: Labels): void {
    this.out.push(gauge(name, help, extra ? { ...this.labels, ...extra } : this.labels, value));
  }

  counter(base: string, help: string, children: readonly { extra?: Labels; value: number }[]): void {
    const name = `${base}_total`;
    const samples = children.map((c) => ({
      name,
      labels: c.extra ? { ...this.labels, ...c.extra } : this.labels,
      value: c.value,
    }));
    this.out.push({ name, help, type: 'counter', samples });
    this.created(base, help, samples);
  }

  histogram(name: string, help: string, h: Histogram, layout: readonly number[]): void {
    this.out.push({ name, help, type: 'histogram', samples: histogramSamples(name, this.labels, h, layout) });
    this.created(name, help, [{ name, labels: this.labels, value: 0 }]);
  }

  private created(base: string, help: string, children: readonly Sample[]): void {
    if (this.createdSec === undefined) return;
    const name = `${base}_created`;
    this.out.push({
      name,
      help,
      type: 'gauge',
      samples: children.map((c) => ({ name, labels: c.labels, value: this.createdSec as number })),
    });
  }
}

/** `vllm:cache_config_info`: V1 labels it with the engine index, V0 does not. */
function cacheConfigInfo(v: MetricsView, withEngine: boolean): MetricFamily {
  return gauge(
    'vllm:cache_config_info',
    'Information of the LLMEngine CacheConfig',
    cacheConfigLabels(v, withEngine),
    1,
  );
}

function cacheConfigLabels(v: MetricsView, withEngine: boolean): Record<string, string> {
  const l: Record<string, string> = {
    block_size: String(v.blockSize),
    cache_dtype: 'auto',
    calculate_kv_scales: 'False',
    cpu_offload_gb: '0',
    enable_prefix_caching: 'True',
    gpu_memory_utilization: String(v.gpuMemoryUtilization),
    is_attention_free: 'False',
    num_cpu_blocks: 'None',
    num_gpu_blocks: String(v.numGpuBlocks),
    num_gpu_blocks_override: 'None',
    prefix_caching_hash_algo: 'sha256',
    sliding_window: 'None',
    swap_space: '4',
  };
  if (withEngine) l.engine = '0';
  return l;
}

// Families V1 and V0 share (same names, HELP texts and token buckets); each dialect places them
// in its own registration order.

function vllmLengthHistograms(f: FamilyList, s: ReplicaStats): void {
  const tb = s.tokenBuckets;
  f.histogram('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', s.promptLen, tb);
  f.histogram(
    'vllm:request_generation_tokens',
    'Number of generation tokens processed.',
    s.generationLen,
    tb,
  );
}

function vllmParamHistograms(f: FamilyList, s: ReplicaStats): void {
  const tb = s.tokenBuckets;
  f.histogram(
    'vllm:request_max_num_generation_tokens',
    'Histogram of maximum number of requested generation tokens.',
    s.maxGenerationLen,
    tb,
  );
  f.histogram('vllm:request_params_n', 'Histogram of the n request parameter.', s.paramsN, PARAMS_N_BUCKETS);
  f.histogram(
    'vllm:request_params_max_tokens',
    'Histogram of the max_tokens request parameter.',
    s.paramsMaxTokens,
    tb,
  );
}

/** Time per request phase; `rl` is the dialect's request-latency bucket list. */
function vllmPhaseHistograms(f: FamilyList, s: ReplicaStats, rl: readonly number[]): void {
  f.histogram(
    'vllm:request_queue_time_seconds',
    'Histogram of time spent in WAITING phase for request.',
    s.queue,
    rl,
  );
  f.histogram(
    'vllm:request_inference_time_seconds',
    'Histogram of time spent in RUNNING phase for request.',
    s.inference,
    rl,
  );
  f.histogram(
    'vllm:request_prefill_time_seconds',
    'Histogram of time spent in PREFILL phase for request.',
    s.prefill,
    rl,
  );
  f.histogram(
    'vllm:request_decode_time_seconds',
    'Histogram of time spent in DECODE phase for request.',
    s.decode,
    rl,
  );
}

function vllmV1(v: MetricsView, opts: RenderOptions): MetricFamily[] {
  const s = v.stats;
  const f = new FamilyList(opts.created === false ? undefined : v.createdSec, {
    model_name: v.modelName,
    engine: '0',
  });
  f.gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', v.running);
  f.gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', v.waiting);
  const sleepHelp =
    'Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is awake; ' +
    'weights_offloaded = 1 means sleep level 1; discard_all = 1 means sleep level 2.';
  f.out.push({
    name: 'vllm:engine_sleep_state',
    help: sleepHelp,
    type: 'gauge',
    samples: (['awake', 'weights_offloaded', 'discard_all'] as const).map((state) => ({
      name: 'vllm:engine_sleep_state',
      labels: { model_name: v.modelName, engine: '0', sleep_state: state },
      value: state === 'awake' ? 1 : 0,
    })),
  });
  f.gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', v.kvUsage);
  f.counter('vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', [
    { value: s.prefixQueries },
  ]);
  f.counter('vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', [
    { value: s.prefixHits },
  ]);
  f.counter(
    'vllm:external_prefix_cache_queries',
    'External prefix cache queries from KV connector cross-instance cache sharing, in terms of number of queried tokens.',
    [{ value: 0 }],
  );
  f.counter(
    'vllm:external_prefix_cache_hits',
    'External prefix cache hits from KV connector cross-instance cache sharing, in terms of number of cached tokens.',
    [{ value: 0 }],
  );
  f.counter('vllm:mm_cache_queries', 'Multi-modal cache queries, in terms of number of queried items.', [
    { value: 0 },
  ]);
  f.counter('vllm:mm_cache_hits', 'Multi-modal cache hits, in terms of number of cached items.', [
    { value: 0 },
  ]);
  f.counter('vllm:num_preemptions', 'Cumulative number of preemption from the engine.', [
    { value: s.preemptions },
  ]);
  f.counter('vllm:prompt_tokens', 'Number of prefill tokens processed.', [{ value: s.promptTokens }]);
  f.counter('vllm:prompt_tokens_by_source', 'Number of prompt tokens by source.', [
    { extra: { source: 'local_compute' }, value: s.promptTokensComputed },
    { extra: { source: 'local_cache_hit' }, value: s.promptTokensCached },
    { extra: { source: 'external_kv_transfer' }, value: 0 },
  ]);
  f.counter('vllm:prompt_tokens_cached', 'Number of cached prompt tokens (local + external).', [
    { value: s.promptTokensCached },
  ]);
  f.counter('vllm:prompt_tokens_recomputed', 'Number of cached tokens recomputed for forward pass.', [
    { value: s.promptTokensRecomputed },
  ]);
  f.counter('vllm:generation_tokens', 'Number of generation tokens processed.', [
    { value: s.generationTokens },
  ]);
  f.counter(
    'vllm:request_success',
    'Count of successfully processed requests.',
    FINISH_REASONS.map((r) => ({ extra: { finished_reason: r }, value: s.success[r] })),
  );
  vllmLengthHistograms(f, s);
  f.histogram(
    'vllm:iteration_tokens_total',
    'Histogram of number of tokens per engine_step.',
    s.iterationTokens,
    ITERATION_TOKENS_BUCKETS,
  );
  vllmParamHistograms(f, s);
  f.histogram(
    'vllm:time_to_first_token_seconds',
    'Histogram of time to first token in seconds.',
    s.ttft,
    V1_TTFT_BUCKETS,
  );
  f.histogram(
    'vllm:inter_token_latency_seconds',
    'Histogram of inter-token latency in seconds.',
    s.itl,
    V1_ITL_BUCKETS,
  );
  f.histogram(
    'vllm:request_time_per_output_token_seconds',
    'Histogram of time_per_output_token_seconds per request.',
    s.requestTpot,
    V1_ITL_BUCKETS,
  );
  const rl = V1_REQUEST_LATENCY_BUCKETS;
  f.histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', s.e2e, rl);
  vllmPhaseHistograms(f, s, rl);
  f.histogram(
    'vllm:request_prefill_kv_computed_tokens',
    'Histogram of new KV tokens computed during prefill (excluding cached tokens).',
    s.prefillKvComputed,
    s.tokenBuckets,
  );
  f.out.push(cacheConfigInfo(v, true));
  return f.out;
}

function vllmV0(v: MetricsView): MetricFamily[] {
  const s = v.stats;
  const f = new FamilyList(undefined, { model_name: v.modelName });
  f.out.push(cacheConfigInfo(v, false));
  f.gauge('vllm:num_requests_running', 'Number of requests currently running on GPU.', v.running);
  f.gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', v.waiting);
  f.gauge('vllm:num_requests_swapped', 'Number of requests swapped to CPU.', 0);
  f.gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.', v.kvUsage);
  f.gauge('vllm:cpu_cache_usage_perc', 'CPU KV-cache usage. 1 means 100 percent usage.', 0);
  f.gauge(
    'vllm:gpu_prefix_cache_hit_rate',
    'GPU prefix cache block hit rate.',
    s.prefixQueries > 0 ? s.prefixHits / s.prefixQueries : 0,
  );
  f.gauge('vllm:cpu_prefix_cache_hit_rate', 'CPU prefix cache block hit rate.', 0);
  f.counter('vllm:num_preemptions', 'Cumulative number of preemption from the engine.', [
    { value: s.preemptions },
  ]);
  f.counter('vllm:prompt_tokens', 'Number of prefill tokens processed.', [{ value: s.promptTokens }]);
  f.counter('vllm:generation_tokens', 'Number of generation tokens processed.', [
    { value: s.generationTokens },
  ]);
  f.histogram(
    'vllm:iteration_tokens_total',
    'Histogram of number of tokens per engine_step.',
    s.iterationTokens,
    V0_ITERATION_TOKENS_BUCKETS,
  );
  f.histogram(
    'vllm:time_to_first_token_seconds',
    'Histogram of time to first token in seconds.',
    s.ttft,
    V0_TTFT_BUCKETS,
  );
  f.histogram(
    'vllm:time_per_output_token_seconds',
    'Histogram of time per output token in seconds.',
    s.itl,
    V0_TPOT_BUCKETS,
  );
  const rl = V0_REQUEST_LATENCY_BUCKETS;
  f.histogram(
    'vllm:e2e_request_latency_seconds',
    'Histogram of end to end request latency in seconds.',
    s.e2e,
    rl,
  );
  vllmPhaseHistograms(f, s, rl);
  vllmLengthHistograms(f, s);
  vllmParamHistograms(f, s);
  f.counter(
    'vllm:request_success',
    'Count of successfully processed requests.',
    (['stop', 'length'] as const).map((r) => ({ extra: { finished_reason: r }, value: s.success[r] })),
  );
  return f.out;
}

function sglang(v: MetricsView): MetricFamily[] {
  const s = v.stats;
  const f = new FamilyList(undefined, {
    engine_type: 'unified',
    model_name: v.modelName,
    moe_ep_rank: '0',
    pp_rank: '0',
    tp_rank: '0',
  });
  f.gauge('sglang:num_running_reqs', 'The number of running requests.', v.running);
  f.gauge('sglang:num_used_tokens', 'The number of used tokens.', v.usedBlocks * v.blockSize);
  f.gauge('sglang:token_usage', 'The token usage.', v.kvUsage);
  f.gauge('sglang:gen_throughput', 'The generation throughput (token/s).', v.genThroughput);
  f.gauge('sglang:num_queue_reqs', 'The number of requests in the waiting queue.', v.waiting);
  f.gauge(
    'sglang:cache_hit_rate',
    'The prefix cache hit rate.',
    s.prefixQueries > 0 ? s.prefixHits / s.prefixQueries : 0,
  );
  f.gauge(
    'sglang:max_total_num_tokens',
    'Maximum total number of tokens in the KV cache pool.',
    v.numGpuBlocks * v.blockSize,
  );
  f.gauge('sglang:num_retracted_reqs', 'The number of retracted requests.', s.lastStepPreemptions);
  f.counter('sglang:num_retracted_requests', 'Total number of retracted requests.', [
    { value: s.preemptions },
  ]);
  f.histogram(
    'sglang:queue_time_seconds',
    'Histogram of queueing time in seconds.',
    s.queue,
    SGLANG_QUEUE_BUCKETS,
  );
  f.counter('sglang:prompt_tokens', 'Number of prefill tokens processed.', [
    { value: s.finishedPromptTokens },
  ]);
  f.counter('sglang:generation_tokens', 'Number of generation tokens processed.', [
    { value: s.finishedGenerationTokens },
  ]);
  f.counter('sglang:cached_tokens', 'Number of cached prompt tokens.', [{ value: s.finishedCachedTokens }]);
  f.counter('sglang:num_requests', 'Number of requests processed.', [
    { value: s.success.stop + s.success.length },
  ]);
  f.counter('sglang:num_aborted_requests', 'Number of requests aborted.', [{ value: s.success.abort }]);
  f.histogram(
    'sglang:time_to_first_token_seconds',
    'Histogram of time to first token in seconds.',
    s.ttft,
    SGLANG_TTFT_BUCKETS,
  );
  f.histogram(
    'sglang:inter_token_latency_seconds',
    'Histogram of inter-token latency in seconds.',
    s.itl,
    SGLANG_ITL_BUCKETS,
  );
  f.histogram(
    'sglang:e2e_request_latency_seconds',
    'Histogram of End-to-end request latency in seconds',
    s.e2e,
    SGLANG_E2E_BUCKETS,
  );
  f.histogram(
    'sglang:num_retractions',
    'Histogram of retraction counts per request.',
    s.retractions,
    SGLANG_RETRACTION_BUCKETS,
  );
  return f.out;
}

/** The families of one replica in the requested dialect, in exposition order. */
export function collectFamilies(
  format: MetricsFormat,
  view: MetricsView,
  opts: RenderOptions = {},
): MetricFamily[] {
  switch (format) {
    case 'vllm-v1':
      return vllmV1(view, opts);
    case 'vllm-v0':
      return vllmV0(view);
    case 'sglang':
      return sglang(view);
  }
}
