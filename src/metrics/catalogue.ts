/**
 * The signal catalogue: what inferscale can derive from an engine's `/metrics` page, in which unit,
 * and from which families of vLLM V1, vLLM V0 and SGLang.
 *
 * A `targetMetric` may be written three ways and all resolve here: our canonical names
 * (`kv_cache_usage`, `ttft_p95`), AIBrix's registry names (`gpu_cache_usage_perc`,
 * `num_requests_waiting`) and raw engine names (`vllm:num_requests_waiting`). Anything else is read
 * as a raw family of that name, its meaning taken from the page's `# TYPE`.
 *
 * Pure data and lookups: no I/O.
 */

/** How one value is read from one page (and, for deltas, the page before it). */
export type Reader =
  /** A gauge; several series (data-parallel engines) are summed or averaged. */
  | { kind: 'gauge'; family: string; aggregate: 'sum' | 'mean'; fraction?: boolean }
  /** A counter as a per-second rate over the window, reset-aware, summed over series. */
  | { kind: 'rate'; family: string }
  /** Increase of one counter over increase of another over the window (hit rates). */
  | { kind: 'ratio'; numerator: string; denominator: string }
  /** A quantile of the observations made during the window, from histogram bucket deltas. */
  | { kind: 'quantile'; family: string; q: number }
  /** Mean of the observations made during the window: Δsum / Δcount of a histogram or summary. */
  | { kind: 'mean'; family: string }
  /** A family named by the user: gauge/untyped → sum, counter → rate, histogram/summary → mean. */
  | { kind: 'raw'; family: string };

export type Unit = 'fraction' | 'requests' | 'tokens/s' | 'requests/s' | 'seconds' | 'preemptions/s' | string;

export interface SignalDefinition {
  name: string;
  unit: Unit;
  description: string;
  /** Tried in order; the first whose families are present on the page is used. */
  readers: Reader[];
}

/** A `targetMetric` resolved to a way of reading it. */
export interface ResolvedMetric {
  /** As written by the user. */
  input: string;
  /** The canonical signal name, or the raw family name for raw metrics. */
  name: string;
  unit: Unit;
  description: string;
  readers: Reader[];
  /** Multiplier applied to the value (AIBrix's per-minute names read per-second rates × 60). */
  scale: number;
  /** How the input was recognised. */
  via: 'canonical' | 'aibrix' | 'engine' | 'raw';
}

const gauge = (family: string, aggregate: 'sum' | 'mean' = 'sum', fraction = false): Reader =>
  fraction ? { kind: 'gauge', family, aggregate, fraction } : { kind: 'gauge', family, aggregate };
const rate = (family: string): Reader => ({ kind: 'rate', family });

/** Histogram families per latency signal, newest name first. */
const LATENCY_FAMILIES: Record<'ttft' | 'itl' | 'e2e', { families: string[]; description: string }> = {
  ttft: {
    families: ['vllm:time_to_first_token_seconds', 'sglang:time_to_first_token_seconds'],
    description: 'time to first token',
  },
  itl: {
    // vLLM ≥ 0.11 renamed time_per_output_token_seconds; V0 and V1 ≤ 0.10 only have the old name.
    families: [
      'vllm:inter_token_latency_seconds',
      'vllm:time_per_output_token_seconds',
      'sglang:inter_token_latency_seconds',
    ],
    description: 'inter-token latency',
  },
  e2e: {
    families: ['vllm:e2e_request_latency_seconds', 'sglang:e2e_request_latency_seconds'],
    description: 'end-to-end request latency',
  },
};

const BASE_SIGNALS: SignalDefinition[] = [
  {
    name: 'kv_cache_usage',
    unit: 'fraction',
    description: 'KV-cache blocks in use, 0..1 (mean over data-parallel engines)',
    readers: [
      gauge('vllm:kv_cache_usage_perc', 'mean', true),
      gauge('vllm:gpu_cache_usage_perc', 'mean', true),
      gauge('sglang:token_usage', 'mean', true),
    ],
  },
  {
    name: 'requests_running',
    unit: 'requests',
    description: 'requests in the running batch',
    readers: [gauge('vllm:num_requests_running'), gauge('sglang:num_running_reqs')],
  },
  {
    name: 'requests_waiting',
    unit: 'requests',
    description: 'requests queued (vLLM counts preempted requests here too)',
    readers: [gauge('vllm:num_requests_waiting'), gauge('sglang:num_queue_reqs')],
  },
  {
    name: 'prompt_tokens_per_second',
    unit: 'tokens/s',
    description: 'prefill tokens processed per second',
    readers: [
      rate('vllm:prompt_tokens_total'),
      rate('sglang:prompt_tokens_total'),
      gauge('vllm:avg_prompt_throughput_toks_per_s'),
    ],
  },
  {
    name: 'generation_tokens_per_second',
    unit: 'tokens/s',
    description: 'generated tokens per second',
    readers: [
      rate('vllm:generation_tokens_total'),
      rate('sglang:generation_tokens_total'),
      gauge('vllm:avg_generation_throughput_toks_per_s'),
      gauge('sglang:gen_throughput'),
    ],
  },
  {
    name: 'requests_per_second',
    unit: 'requests/s',
    description: 'finished requests per second (all finish reasons)',
    readers: [rate('vllm:request_success_total'), rate('sglang:num_requests_total')],
  },
  {
    name: 'preemptions_per_second',
    unit: 'preemptions/s',
    description: 'preemptions per second (vLLM only; SGLang exposes no retraction counter)',
    readers: [rate('vllm:num_preemptions_total')],
  },
  {
    name: 'prefix_cache_hit_rate',
    unit: 'fraction',
    description: 'prefix-cache hits / queries over the window, 0..1 (V0 and SGLang: their own gauge)',
    readers: [
      {
        kind: 'ratio',
        numerator: 'vllm:prefix_cache_hits_total',
        denominator: 'vllm:prefix_cache_queries_total',
      },
      {
        kind: 'ratio',
        numerator: 'vllm:gpu_prefix_cache_hits_total',
        denominator: 'vllm:gpu_prefix_cache_queries_total',
      },
      gauge('vllm:gpu_prefix_cache_hit_rate', 'mean', true),
      gauge('sglang:cache_hit_rate', 'mean', true),
    ],
  },
];

for (const [short, { families, description }] of Object.entries(LATENCY_FAMILIES)) {
  BASE_SIGNALS.push({
    name: `${short}_mean`,
    unit: 'seconds',
    description: `mean ${description} over the window`,
    readers: families.map((family): Reader => ({ kind: 'mean', family })),
  });
}

/** Canonical signals (quantile signals `ttft_pNN`, `itl_pNN`, `e2e_pNN` are generated on demand). */
export const SIGNALS: ReadonlyMap<string, SignalDefinition> = new Map(BASE_SIGNALS.map((s) => [s.name, s]));

/** The quantiles listed by `inferscale scrape`; any `pNN` or `pNN.N` resolves. */
export const LISTED_QUANTILES = [50, 90, 95, 99] as const;

const QUANTILE_RE = /^(ttft|itl|e2e)_p(\d{1,3}(?:\.\d+)?)$/;

function quantileSignal(name: string): SignalDefinition | undefined {
  const m = QUANTILE_RE.exec(name);
  if (m === null) return undefined;
  const short = m[1] as keyof typeof LATENCY_FAMILIES;
  const pct = Number(m[2]);
  if (!(pct > 0 && pct < 100)) {
    throw new Error(
      `targetMetric "${name}": the percentile must be above 0 and below 100 (e.g. ${m[1]}_p95)`,
    );
  }
  const { families, description } = LATENCY_FAMILIES[short];
  return {
    name,
    unit: 'seconds',
    description: `p${m[2]} ${description} over the window`,
    readers: families.map((family): Reader => ({ kind: 'quantile', family, q: pct / 100 })),
  };
}

/** Every canonical signal name `inferscale scrape` prints, in display order. */
export function listedSignals(): SignalDefinition[] {
  const out = [...BASE_SIGNALS.filter((s) => !s.name.endsWith('_mean'))];
  for (const short of Object.keys(LATENCY_FAMILIES)) {
    for (const q of LISTED_QUANTILES) out.push(quantileSignal(`${short}_p${q}`)!);
    out.push(SIGNALS.get(`${short}_mean`)!);
  }
  return out;
}

/** AIBrix registry names (pkg/metrics/metrics.go) and what they mean here. */
const AIBRIX: Record<string, { signal: string; scale?: number } | { raw: string[] }> = {
  num_requests_running: { signal: 'requests_running' },
  num_requests_waiting: { signal: 'requests_waiting' },
  gpu_cache_usage_perc: { signal: 'kv_cache_usage' },
  kv_cache_usage_perc: { signal: 'kv_cache_usage' },
  kv_cache_hit_rate: { signal: 'prefix_cache_hit_rate' },
  // Cumulative counters are no scaling signal; AIBrix read them raw (W-13), we read their rate.
  prompt_tokens_total: { signal: 'prompt_tokens_per_second' },
  generation_tokens_total: { signal: 'generation_tokens_per_second' },
  request_success_total: { signal: 'requests_per_second' },
  num_preemptions_total: { signal: 'preemptions_per_second' },
  avg_prompt_throughput_toks_per_s: { signal: 'prompt_tokens_per_second' },
  avg_generation_throughput_toks_per_s: { signal: 'generation_tokens_per_second' },
  // Histograms read 0 in AIBrix (W-13); here they read the window mean.
  time_to_first_token_seconds: { signal: 'ttft_mean' },
  time_per_output_token_seconds: { signal: 'itl_mean' },
  inter_token_latency_seconds: { signal: 'itl_mean' },
  e2e_request_latency_seconds: { signal: 'e2e_mean' },
  // AIBrix's PromQL-backed names (always 0 there): the same quantity from the pod's own histograms.
  p95_ttft_5m: { signal: 'ttft_p95' },
  p95_ttft_5m_pod: { signal: 'ttft_p95' },
  avg_ttft_5m_pod: { signal: 'ttft_mean' },
  p95_tpot_5m_pod: { signal: 'itl_p95' },
  avg_tpot_pod_5m: { signal: 'itl_mean' },
  avg_e2e_latency_pod: { signal: 'e2e_mean' },
  avg_requests_per_min_pod: { signal: 'requests_per_second', scale: 60 },
  avg_prompt_throughput_toks_per_min_pod: { signal: 'prompt_tokens_per_second', scale: 60 },
  avg_generation_throughput_toks_per_min_pod: { signal: 'generation_tokens_per_second', scale: 60 },
  num_requests_swapped: { raw: ['vllm:num_requests_swapped', 'sglang:num_retracted_reqs'] },
  engine_sleep_state: { raw: ['vllm:engine_sleep_state'] },
  cpu_cache_usage_perc: { raw: ['vllm:cpu_cache_usage_perc'] },
  num_prefill_prealloc_queue_reqs: { raw: ['sglang:num_prefill_prealloc_queue_reqs'] },
  num_decode_prealloc_queue_reqs: { raw: ['sglang:num_decode_prealloc_queue_reqs'] },
  prefix_cache_queries_total: { raw: ['vllm:prefix_cache_queries_total'] },
  prefix_cache_hits_total: { raw: ['vllm:prefix_cache_hits_total'] },
  external_prefix_cache_queries_total: { raw: ['vllm:external_prefix_cache_queries_total'] },
  external_prefix_cache_hits_total: { raw: ['vllm:external_prefix_cache_hits_total'] },
  request_queue_time_seconds: { raw: ['vllm:request_queue_time_seconds'] },
  request_inference_time_seconds: { raw: ['vllm:request_inference_time_seconds'] },
  request_prefill_time_seconds: { raw: ['vllm:request_prefill_time_seconds'] },
  request_decode_time_seconds: { raw: ['vllm:request_decode_time_seconds'] },
  request_time_per_output_token_seconds: { raw: ['vllm:request_time_per_output_token_seconds'] },
  request_prompt_tokens: { raw: ['vllm:request_prompt_tokens'] },
  request_generation_tokens: { raw: ['vllm:request_generation_tokens'] },
  avg_prompt_toks_per_req: { raw: ['vllm:request_prompt_tokens'] },
  avg_generation_toks_per_req: { raw: ['vllm:request_generation_tokens'] },
  iteration_tokens_total: { raw: ['vllm:iteration_tokens_total'] },
  http_requests_total: { raw: ['http_requests_total'] },
};

/** Engine family name → the canonical signal it feeds (built from the catalogue). */
const ENGINE_NAMES: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (const s of BASE_SIGNALS) {
    for (const r of s.readers) {
      if (r.kind === 'ratio') continue; // a hit counter alone is no hit rate: read raw
      if (!m.has(r.family)) m.set(r.family, s.name);
    }
  }
  return m;
})();

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function fromSignal(
  input: string,
  def: SignalDefinition,
  via: ResolvedMetric['via'],
  scale = 1,
): ResolvedMetric {
  return {
    input,
    name: def.name,
    unit: scale === 60 ? def.unit.replace('/s', '/min') : def.unit,
    description: def.description,
    readers: def.readers,
    scale,
    via,
  };
}

function families(r: Reader): string[] {
  return r.kind === 'ratio' ? [r.numerator, r.denominator] : [r.family];
}

/**
 * Resolves a `targetMetric`. Throws only when the name cannot be a metric name at all; an unknown
 * but well-formed name is read as a raw family (and `inferscale scrape --metric` says whether the
 * page has it).
 */
export function resolveTargetMetric(input: string): ResolvedMetric {
  const name = input.trim();
  const canonical = SIGNALS.get(name) ?? quantileSignal(name);
  if (canonical !== undefined) return fromSignal(input, canonical, 'canonical');

  const alias = AIBRIX[name];
  if (alias !== undefined) {
    if ('signal' in alias) {
      const def = SIGNALS.get(alias.signal) ?? quantileSignal(alias.signal);
      if (def === undefined) throw new Error(`internal: alias ${name} → unknown signal ${alias.signal}`);
      return fromSignal(input, def, 'aibrix', alias.scale ?? 1);
    }
    return {
      input,
      name: alias.raw[0]!,
      unit: 'raw',
      description: `raw family ${alias.raw.join(' or ')}`,
      readers: alias.raw.map((family): Reader => ({ kind: 'raw', family })),
      scale: 1,
      via: 'aibrix',
    };
  }

  if (!METRIC_NAME_RE.test(name)) {
    throw new Error(
      `targetMetric "${input}" is not a metric name: use a canonical signal (${[...SIGNALS.keys()].slice(0, 4).join(', ')}, …, ttft_p95), an AIBrix name or a raw family name`,
    );
  }

  // A raw engine name: read its signal, trying the named family first so the user gets what they
  // wrote when the page has it, and the equivalent family of another engine version otherwise.
  const withTotal = name.endsWith('_total') ? name : `${name}_total`;
  const signalName = ENGINE_NAMES.get(name) ?? ENGINE_NAMES.get(withTotal);
  if (signalName !== undefined) {
    const def = SIGNALS.get(signalName)!;
    const own = def.readers.filter((r) => families(r).some((f) => f === name || f === withTotal));
    const rest = def.readers.filter((r) => !own.includes(r));
    return { ...fromSignal(input, def, 'engine'), readers: [...own, ...rest] };
  }

  const candidates = name.includes(':') ? [name] : [name, `vllm:${name}`, `sglang:${name}`];
  return {
    input,
    name,
    unit: 'raw',
    description: `raw family ${candidates.join(' or ')}`,
    readers: candidates.map((family): Reader => ({ kind: 'raw', family })),
    scale: 1,
    via: 'raw',
  };
}

/** Every family name a resolved metric may read, for the parser's `wantFamily` filter. */
export function familiesOf(metric: ResolvedMetric): string[] {
  const out = new Set<string>();
  for (const r of metric.readers) {
    for (const f of families(r)) {
      out.add(f);
      // text 0.0.4 names counters `x_total`, OpenMetrics `x`.
      out.add(f.endsWith('_total') ? f.slice(0, -6) : `${f}_total`);
    }
  }
  return [...out];
}
