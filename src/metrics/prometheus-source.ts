/**
 * The `prometheus` metric source: one PromQL instant query per metric source and tick.
 *
 * The result must be one value (a one-element vector or a scalar), read as a global sample; or a
 * vector whose every series carries a `pod` label, read as one value per ready pod (a
 * `sum by (pod)(…)` query). An empty result, NaN or ±Inf is a missing value, never 0.
 *
 * `$namespace` and `$target` in the query are replaced by the PodAutoscaler's namespace and scale
 * target name, escaped for use inside a PromQL string literal.
 */
import { performance } from 'node:perf_hooks';
import { PrometheusDriver } from 'prometheus-query';
import type { PodSample } from '../../algorithms/types.js';
import type { MetricReading, MetricRequest, MetricSource } from '../engine/seams.js';
import { parseFloatToken } from './exposition.js';

export interface PrometheusSourceOptions {
  /** Prometheus base URL (`http://prometheus.monitoring:9090`) when the metric source gives none. */
  endpoint?: string;
  /** Per-query limit, further capped by the read's deadline (default 3000 ms). */
  timeoutMs?: number;
  /** Extra HTTP headers (e.g. `Authorization` for a managed Prometheus). */
  headers?: Record<string, string>;
  onScrape?: (seconds: number, ok: boolean) => void;
}

/** Escapes a value for a double-quoted PromQL string. */
function promString(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function substituteQuery(query: string, vars: { namespace: string; target?: string }): string {
  let out = query.replace(/\$namespace\b/g, promString(vars.namespace));
  if (/\$target\b/.test(out)) {
    if (vars.target === undefined) throw new Error('the query uses $target but the scale target is unknown');
    out = out.replace(/\$target\b/g, promString(vars.target));
  }
  return out;
}

/** Renders whatever prometheus-query threw (a plain object for HTTP and network errors). */
function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err !== null && typeof err === 'object') {
    const e = err as { errorType?: string; error?: string; httpStatus?: number };
    const status = e.httpStatus !== undefined ? `HTTP ${e.httpStatus} ` : '';
    return `${status}${e.errorType ?? 'error'}: ${e.error ?? JSON.stringify(err)}`;
  }
  return String(err);
}

interface VectorSample {
  metric?: { labels?: Record<string, string> } | null;
  value?: { value?: unknown };
}

export class PrometheusSource implements MetricSource {
  private readonly opts: PrometheusSourceOptions;
  private readonly drivers = new Map<string, PrometheusDriver>();

  constructor(opts: PrometheusSourceOptions = {}) {
    this.opts = opts;
  }

  private driver(endpoint: string): PrometheusDriver {
    let d = this.drivers.get(endpoint);
    if (d === undefined) {
      d = new PrometheusDriver({
        endpoint,
        baseURL: '/api/v1',
        timeout: this.opts.timeoutMs ?? 3000,
        ...(this.opts.headers !== undefined ? { headers: this.opts.headers } : {}),
      });
      this.drivers.set(endpoint, d);
    }
    return d;
  }

  async read(req: MetricRequest): Promise<MetricReading> {
    const { source } = req;
    const fail = (message: string): MetricReading => ({ sample: undefined, errors: [message] });
    if (source.type !== 'prometheus')
      return fail(`prometheus source cannot read a ${source.type} metric source`);
    if (source.query === undefined || source.query.trim() === '') {
      return fail('prometheus metric source has no query');
    }
    const endpoint = source.endpoint ?? this.opts.endpoint;
    if (endpoint === undefined) {
      return fail('no Prometheus endpoint: set the metric source endpoint or the controller default');
    }
    let query: string;
    try {
      query = substituteQuery(source.query, {
        namespace: req.owner.namespace,
        ...(req.target !== undefined ? { target: req.target.name } : {}),
      });
    } catch (err) {
      return fail((err as Error).message);
    }
    const budget = Math.max(1, Math.floor(Math.min(this.opts.timeoutMs ?? 3000, req.deadlineMs - req.nowMs)));
    const where = `prometheus ${endpoint} query ${JSON.stringify(query)}`;

    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let result: { resultType: string; result: unknown };
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${budget} ms`)), budget);
      });
      // Prometheus also stops evaluating at the same limit, so a runaway query does not pile up.
      result = await Promise.race([
        this.driver(endpoint).instantQuery(query, undefined, `${budget}ms`),
        timeout,
      ]);
    } catch (err) {
      this.opts.onScrape?.((performance.now() - t0) / 1000, false);
      return fail(`${where}: ${describeError(err)}`);
    } finally {
      clearTimeout(timer);
    }
    const reading = this.interpret(result, req, where);
    this.opts.onScrape?.((performance.now() - t0) / 1000, reading.errors.length === 0);
    return reading;
  }

  private interpret(
    result: { resultType: string; result: unknown },
    req: MetricRequest,
    where: string,
  ): MetricReading {
    const fail = (message: string): MetricReading => ({
      sample: undefined,
      errors: [`${where}: ${message}`],
    });
    const num = (v: unknown): number | undefined =>
      typeof v === 'number' ? v : typeof v === 'string' ? parseFloatToken(v) : undefined;
    if (result.resultType === 'scalar') {
      // prometheus-query leaves scalars raw: [timestamp, "value"].
      const raw = Array.isArray(result.result) ? result.result[1] : undefined;
      const v = num(raw);
      if (v === undefined || !Number.isFinite(v))
        return fail(`scalar result is ${String(raw)}, not a usable value`);
      return { sample: { scope: 'global', value: v }, errors: [] };
    }
    if (result.resultType !== 'vector') {
      return fail(`result is a ${result.resultType}; an instant vector or scalar is needed`);
    }
    const series = (result.result as VectorSample[]) ?? [];
    if (series.length === 0)
      return fail('the query returned no series (nothing scraped yet, or a label mismatch)');

    const labelsOf = (s: VectorSample): Record<string, string> => s.metric?.labels ?? {};
    if (series.every((s) => labelsOf(s).pod !== undefined)) {
      const byPod = new Map<string, number | undefined>();
      for (const s of series) {
        const pod = labelsOf(s).pod!;
        if (byPod.has(pod)) return fail(`several series for pod ${pod}; aggregate with sum by (pod)(…)`);
        const v = num(s.value?.value);
        byPod.set(pod, v !== undefined && Number.isFinite(v) ? v : undefined);
      }
      const errors: string[] = [];
      const pods: PodSample[] = req.pods.map((p) => {
        const v = byPod.get(p.name);
        if (v === undefined) errors.push(`${where}: no usable value for pod ${p.name}`);
        return { pod: p.name, ready: true, value: v };
      });
      return { sample: { scope: 'pods', pods }, errors };
    }
    if (series.length > 1) {
      return fail(
        `the query returned ${series.length} series; aggregate it to one value (sum(…), max(…)) or by pod (sum by (pod)(…))`,
      );
    }
    const v = num(series[0]!.value?.value);
    if (v === undefined || !Number.isFinite(v))
      return fail(`the value is ${String(series[0]!.value?.value)}, not usable`);
    return { sample: { scope: 'global', value: v }, errors: [] };
  }
}
