/**
 * The simulated gateway's own series, served to `prometheus` and `external` metric sources the way
 * a real gateway's /metrics (scraped by Prometheus, or fetched by an external source) would serve
 * them. This is what makes scale-to-zero simulate: at zero replicas there is no pod to read, and
 * only the gateway still sees demand (docs/simulator.md, "Gateway metrics").
 *
 * Three quantities, under our names and under the names of real gateways that mean the same:
 * requests waiting for a ready replica, requests received and not finished, and requests received
 * (a counter). A Prometheus query is recognised in a small PromQL subset; label matchers are
 * accepted and ignored (one gateway, one model). Anything else reads as missing, never as 0.
 */
import type { ResolvedMetricSource, ResolvedPodAutoscaler } from '../../src/api/resolved.js';
import type { MetricReading, MetricRequest, MetricSource } from '../../src/engine/seams.js';
import { externalValue } from '../../src/metrics/external-source.js';
import type { Snapshot } from '../../src/metrics/signals.js';
import type { VirtualCluster } from './cluster.js';
import type { SimRequest } from './replica.js';
import type { VirtualClock } from './seams.js';

export type GatewayQuantity = 'pending' | 'inFlight' | 'arrivals';

export interface GatewaySeries {
  name: string;
  type: 'gauge' | 'counter';
  quantity: GatewayQuantity;
  help: string;
}

export const GATEWAY_SERIES: readonly GatewaySeries[] = [
  {
    name: 'gateway_pending_requests',
    type: 'gauge',
    quantity: 'pending',
    help: 'Requests waiting at the gateway for a ready replica.',
  },
  {
    name: 'gateway_requests_in_flight',
    type: 'gauge',
    quantity: 'inFlight',
    help: 'Requests received and not finished: waiting at the gateway or at a replica.',
  },
  {
    name: 'gateway_requests_total',
    type: 'counter',
    quantity: 'arrivals',
    help: 'Requests received by the gateway.',
  },
  // Real gateways' names for the same quantities, so a spec written against one runs unchanged.
  {
    name: 'envoy_http_downstream_rq_active',
    type: 'gauge',
    quantity: 'inFlight',
    help: 'Envoy: active downstream requests.',
  },
  {
    name: 'envoy_http_downstream_rq_total',
    type: 'counter',
    quantity: 'arrivals',
    help: 'Envoy: downstream requests.',
  },
  {
    name: 'inference_objective_request_total',
    type: 'counter',
    quantity: 'arrivals',
    help: 'Gateway API inference extension (EPP): requests per objective.',
  },
  {
    name: 'inference_model_request_total',
    type: 'counter',
    quantity: 'arrivals',
    help: 'Gateway API inference extension (EPP, before v1): requests per model.',
  },
];

/** What the simulator serves, for warnings and errors. */
export const GATEWAY_SUPPORTED =
  `the simulated gateway serves ${GATEWAY_SERIES.map((s) => `${s.name} (${s.type})`).join(', ')}; ` +
  'a prometheus query may be NAME, sum(NAME{…}) (or max, min, avg) of a gauge, or ' +
  'sum(rate(NAME{…}[1m])) / sum(increase(NAME{…}[5m])) of a counter; an external source names one ' +
  'of them as its targetMetric (docs/simulator.md, "Gateway metrics")';

export interface GatewayQuery {
  series: GatewaySeries;
  fn: 'instant' | 'rate' | 'increase';
  /** The range of rate/increase, ms. */
  windowMs: number;
}

export type ParsedQuery = { ok: true; query: GatewayQuery } | { ok: false; why: string };

const MATCHERS = /\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\}/g;
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const AGGREGATE = /^(sum|max|min|avg)\((.*)\)$/;
const RANGE_FN = new RegExp(`^(rate|increase)\\((${NAME})\\[([0-9a-z]+)\\]\\)$`);
const INSTANT = new RegExp(`^${NAME}$`);
const DURATION_PART = /(\d+)(ms|s|m|h|d|w|y)/g;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** A PromQL duration (`30s`, `1m30s`, `500ms`) in ms, or undefined. */
export function promDurationMs(text: string): number | undefined {
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(DURATION_PART)) {
    if (m.index !== consumed) return undefined;
    consumed += m[0].length;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return consumed === text.length && total > 0 ? total : undefined;
}

/** Recognises a query in the subset the simulated gateway answers. */
export function parseGatewayQuery(query: string): ParsedQuery {
  const q = query.replace(MATCHERS, '').replace(/\s+/g, '');
  if (q === '') return { ok: false, why: 'the query is empty' };
  if (/^(sum|max|min|avg)(by|without)\(/.test(q)) {
    return { ok: false, why: 'grouping (by/without) is not served: the gateway has one series per name' };
  }
  const agg = AGGREGATE.exec(q);
  const inner = agg ? agg[2]! : q;
  const range = RANGE_FN.exec(inner);
  const name = range ? range[2]! : INSTANT.test(inner) ? inner : undefined;
  if (name === undefined) return { ok: false, why: 'not a form the simulator evaluates' };
  const series = GATEWAY_SERIES.find((s) => s.name === name);
  if (series === undefined) return { ok: false, why: `the simulated gateway serves no series ${name}` };
  if (range === null) return { ok: true, query: { series, fn: 'instant', windowMs: 0 } };
  if (series.type !== 'counter') {
    return { ok: false, why: `${range[1]}() of ${name}, a gauge: use the gauge itself` };
  }
  const windowMs = promDurationMs(range[3]!);
  if (windowMs === undefined) return { ok: false, why: `"${range[3]}" is not a PromQL duration` };
  return { ok: true, query: { series, fn: range[1] as 'rate' | 'increase', windowMs } };
}

/** The served series an external source names, or why none. */
export function externalSeries(
  targetMetric: string,
): { ok: true; series: GatewaySeries } | { ok: false; why: string } {
  const series = GATEWAY_SERIES.find((s) => s.name === targetMetric.trim());
  return series !== undefined
    ? { ok: true, series }
    : { ok: false, why: `the simulated gateway serves no series ${targetMetric}` };
}

/**
 * How the simulator reads one external/prometheus source (a query it evaluates, or the series an
 * external source reads off the page), or why it cannot: the one place both the up-front warnings
 * and every read decide it.
 */
export function describeGatewaySource(
  source: ResolvedMetricSource,
):
  | { ok: true; query: GatewayQuery }
  | { ok: true; series: GatewaySeries }
  | { ok: false; what: string; why: string } {
  if (source.type === 'prometheus') {
    const q = source.query ?? '';
    const p = parseGatewayQuery(q);
    return p.ok ? p : { ok: false, what: `prometheus query ${JSON.stringify(q)}`, why: p.why };
  }
  const e = externalSeries(source.targetMetric);
  return e.ok ? e : { ok: false, what: `external targetMetric ${source.targetMetric}`, why: e.why };
}

/**
 * What a run should say once, up front, about its gateway sources: each one the simulator cannot
 * answer (it reads as missing for the whole run), and a scale-to-zero spec that nothing can wake.
 */
export function gatewayWarnings(pa: ResolvedPodAutoscaler): string[] {
  const out: string[] = [];
  let wakes = false;
  pa.metrics.forEach((source, i) => {
    if (source.type !== 'external' && source.type !== 'prometheus') return;
    const d = describeGatewaySource(source);
    if (d.ok) {
      wakes = true;
      return;
    }
    out.push(
      `metricsSources[${i}] (${d.what}): ${d.why}, so it reads as missing all run (and a missing ` +
        `metric holds every scale-down); ${GATEWAY_SUPPORTED}`,
    );
  });
  if (pa.scaleToZero.enabled && pa.minReplicas === 0 && !wakes) {
    out.push(
      'scale-to-zero is enabled but no metric source reads the gateway: once at zero replicas nothing ' +
        'can wake the target, and requests that arrive then wait until the run gives up',
    );
  }
  return out;
}

/** Number of requests that arrived at or before `t` (arrivals at `t` precede a tick at `t`). */
function arrivedBy(requests: readonly SimRequest[], t: number): number {
  let lo = 0;
  let hi = requests.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (requests[mid]!.arrivalMs <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Answers `prometheus` and `external` sources from the gateway of one virtual cluster. Prometheus
 * values are exact at the tick (no scrape interval, no extrapolation): a gauge as it is, a rate as
 * arrivals in the window ÷ its length. External sources get the gateway's exposition page through
 * the production reader, so a counter there is a rate since the previous read, missing on the first.
 */
export class GatewayMetricSource implements MetricSource {
  /** Per source type and query (or targetMetric), how it reads: parsed once per run, not per tick. */
  private readonly described = new Map<string, ReturnType<typeof describeGatewaySource>>();
  private readonly history = new Map<string, Snapshot>();

  constructor(
    private readonly cluster: VirtualCluster,
    /** The run's requests, sorted by arrival. */
    private readonly requests: readonly SimRequest[],
    private readonly clock: VirtualClock,
  ) {}

  quantity(q: GatewayQuantity, atMs: number): number {
    const pending = this.cluster.gatewayQueueLength;
    if (q === 'pending') return pending;
    if (q === 'inFlight') return pending + this.cluster.inFlight;
    return arrivedBy(this.requests, atMs);
  }

  evaluate(q: GatewayQuery, atMs: number): number {
    if (q.fn === 'instant') return this.quantity(q.series.quantity, atMs);
    const n = arrivedBy(this.requests, atMs) - arrivedBy(this.requests, atMs - q.windowMs);
    return q.fn === 'increase' ? n : n / (q.windowMs / 1000);
  }

  /** The gateway's /metrics page (Prometheus text format), of every series or only those given. */
  renderPage(atMs: number, series: readonly GatewaySeries[] = GATEWAY_SERIES): string {
    const lines: string[] = [];
    for (const s of series) {
      lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
      lines.push(`${s.name} ${this.quantity(s.quantity, atMs)}`);
    }
    return `${lines.join('\n')}\n`;
  }

  async read(req: MetricRequest): Promise<MetricReading> {
    const { source } = req;
    const fail = (what: string, why: string): MetricReading => ({
      sample: undefined,
      errors: [`${what}: ${why}; ${GATEWAY_SUPPORTED}`],
    });
    if (source.type !== 'external' && source.type !== 'prometheus') {
      return fail(`${source.type} source`, 'not a gateway source');
    }
    const text = source.type === 'prometheus' ? (source.query ?? '') : source.targetMetric;
    const cacheKey = `${source.type}|${text}`;
    let d = this.described.get(cacheKey);
    if (d === undefined) {
      d = describeGatewaySource(source);
      this.described.set(cacheKey, d);
    }
    if (!d.ok) return fail(d.what, d.why);
    const simMs = this.clock.simMs;
    if ('query' in d)
      return { sample: { scope: 'global', value: this.evaluate(d.query, simMs) }, errors: [] };
    // One gateway serving one model: the page has no model_name label to select on. The page holds
    // only the series read, which is all the reader looks at: this runs on every tick.
    const { modelName: _ignored, ...unlabelled } = source;
    const key = `${req.owner.namespace}/${req.owner.name}|${source.targetMetric}`;
    const v = externalValue(
      this.renderPage(simMs, [d.series]),
      'text/plain; version=0.0.4',
      unlabelled,
      req.nowMs,
      this.history,
      key,
    );
    if (typeof v === 'number') return { sample: { scope: 'global', value: v }, errors: [] };
    if (v === undefined) return { sample: { scope: 'global', value: undefined }, errors: [] };
    return { sample: undefined, errors: [`external targetMetric ${source.targetMetric}: ${v.error}`] };
  }
}
