/**
 * The `external` metric source: one value for the whole scale target from an HTTP endpoint that
 * serves a bare number, JSON, or an exposition page (AIBrix's GPU optimizer serves
 * `vllm:deployment_replicas` at `/metrics/<namespace>/<deployment>`, which AIBrix itself never
 * reads correctly — W-6).
 *
 * Every fetch goes through the egress policy (ssrf.ts); redirects are not followed; response size
 * and time are capped. A failed fetch or a NaN is a missing value, never 0.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { ResolvedMetricSource } from '../api/resolved.js';
import type { MetricReading, MetricRequest, MetricSource } from '../engine/seams.js';
import { resolveTargetMetric } from './catalogue.js';
import { ExpositionError, formatFromContentType, parseExposition, parseFloatToken } from './exposition.js';
import { fetchText, FetchError } from './http-fetch.js';
import { evaluate, needsHistory, takeSnapshot, type Snapshot } from './signals.js';
import type { EgressPolicy } from './ssrf.js';

export interface ExternalSourceOptions {
  egress: EgressPolicy;
  /** Per-fetch limit, further capped by the read's deadline (default 3000 ms). */
  timeoutMs?: number;
  /** Default 1 MiB: a value endpoint has no business sending more. */
  maxBodyBytes?: number;
  rejectUnauthorized?: boolean;
  ca?: string | Buffer;
  onScrape?: (seconds: number, ok: boolean) => void;
}

/** `host:port` or a URL; `path` applies when the endpoint has none. `$namespace`/`$target` substituted. */
export function externalUrl(
  source: Pick<ResolvedMetricSource, 'endpoint' | 'protocol' | 'path'>,
  vars: { namespace: string; target?: string },
): URL {
  const endpoint = (source.endpoint ?? '').trim();
  if (endpoint === '') throw new Error('external metric source has no endpoint (host:port or URL)');
  const sub = (s: string): string => {
    let out = s.replace(/\$namespace\b/g, encodeURIComponent(vars.namespace));
    if (out.includes('$target')) {
      if (vars.target === undefined)
        throw new Error('the endpoint path uses $target but the scale target is unknown');
      out = out.replace(/\$target\b/g, encodeURIComponent(vars.target));
    }
    return out;
  };
  let url: URL;
  try {
    url = endpoint.includes('://') ? new URL(endpoint) : new URL(`${source.protocol}://${endpoint}`);
  } catch {
    throw new Error(`external endpoint "${endpoint}" is neither host:port nor a URL`);
  }
  if ((url.pathname === '/' || url.pathname === '') && url.search === '') {
    const path = source.path.startsWith('/') ? source.path : `/${source.path}`;
    url = new URL(sub(path), url);
  } else {
    url.pathname = sub(decodeURIComponent(url.pathname));
  }
  return url;
}

export class ExternalSource implements MetricSource {
  private readonly opts: ExternalSourceOptions;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 1 });
  private readonly httpsAgent: https.Agent;
  /** Previous snapshots of exposition endpoints, for counters and histograms. */
  private readonly history = new Map<string, Snapshot>();

  constructor(opts: ExternalSourceOptions) {
    this.opts = opts;
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 4,
      maxFreeSockets: 1,
      rejectUnauthorized: opts.rejectUnauthorized ?? true,
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  async read(req: MetricRequest): Promise<MetricReading> {
    const { source } = req;
    const fail = (message: string): MetricReading => ({ sample: undefined, errors: [message] });
    if (source.type !== 'external') return fail(`external source cannot read a ${source.type} metric source`);
    let url: URL;
    try {
      url = externalUrl(source, {
        namespace: req.owner.namespace,
        ...(req.target !== undefined ? { target: req.target.name } : {}),
      });
    } catch (err) {
      return fail((err as Error).message);
    }
    const denied = this.opts.egress.checkUrl(url);
    if (denied !== undefined) return fail(`external endpoint ${url.href}: ${denied}`);

    const t0 = performance.now();
    const timeoutMs = Math.max(
      1,
      Math.floor(Math.min(this.opts.timeoutMs ?? 3000, req.deadlineMs - req.nowMs)),
    );
    let body: string;
    let contentType: string | undefined;
    try {
      const res = await fetchText(url, {
        timeoutMs,
        maxBytes: this.opts.maxBodyBytes ?? 1024 * 1024,
        agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
        lookup: this.opts.egress.lookup,
        headers: { Accept: 'text/plain, application/json;q=0.9, */*;q=0.1' },
      });
      body = res.body;
      contentType = res.contentType;
    } catch (err) {
      this.opts.onScrape?.((performance.now() - t0) / 1000, false);
      return fail(`external endpoint ${url.href}: ${err instanceof FetchError ? err.message : String(err)}`);
    }
    const key = `${req.owner.namespace}/${req.owner.name}|${source.targetMetric}|${url.href}`;
    const value = externalValue(body, contentType, source, req.nowMs, this.history, key);
    this.opts.onScrape?.((performance.now() - t0) / 1000, typeof value === 'number');
    if (typeof value !== 'number') {
      return value === undefined
        ? { sample: { scope: 'global', value: undefined }, errors: [] }
        : fail(`external endpoint ${url.href}: ${value.error}`);
    }
    return { sample: { scope: 'global', value }, errors: [] };
  }
}

/**
 * The value in an external endpoint's response: a bare number, JSON (`targetMetric` or `value`
 * field), or an exposition page read with the catalogue (counters as a rate since the previous
 * response stored in `history` under `key`). A number, undefined for an expected gap (first read of
 * a counter), or an error. Shared with the simulator's virtual gateway, which serves a page.
 */
export function externalValue(
  body: string,
  contentType: string | undefined,
  source: ResolvedMetricSource,
  nowMs: number,
  history: Map<string, Snapshot>,
  key: string,
): number | undefined | { error: string } {
  const trimmed = body.trim();
  const finite = (v: number, what: string): number | { error: string } =>
    Number.isFinite(v) ? v : { error: `${what} is ${v}, not a usable value` };
  const bare = parseFloatToken(trimmed);
  if (bare !== undefined && !trimmed.includes('\n')) return finite(bare, 'the response');

  if ((contentType ?? '').includes('json') || trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      return { error: `invalid JSON: ${(err as Error).message}` };
    }
    const pick = (v: unknown): number | undefined =>
      typeof v === 'number' ? v : typeof v === 'string' ? parseFloatToken(v.trim()) : undefined;
    let v = pick(json);
    if (v === undefined && json !== null && typeof json === 'object' && !Array.isArray(json)) {
      const o = json as Record<string, unknown>;
      v = pick(o[source.targetMetric]) ?? pick(o.value);
    }
    if (v === undefined) {
      return { error: `JSON response has no number, "${source.targetMetric}" or "value" field` };
    }
    return finite(v, `"${source.targetMetric}"`);
  }

  let metric;
  try {
    metric = resolveTargetMetric(source.targetMetric);
  } catch (err) {
    return { error: (err as Error).message };
  }
  try {
    const page = parseExposition(body, { format: formatFromContentType(contentType) });
    const snap = takeSnapshot(metric, page, {
      atMs: nowMs,
      ...(source.modelName !== undefined ? { modelName: source.modelName } : {}),
    });
    if (!snap.ok) return { error: snap.message };
    const v = evaluate(metric, snap.snapshot, history.get(key));
    if (needsHistory(snap.snapshot)) history.set(key, snap.snapshot);
    if (v.ok) return v.value;
    return v.reason === 'first-scrape' || v.reason === 'no-observations' ? undefined : { error: v.message };
  } catch (err) {
    return {
      error:
        err instanceof ExpositionError
          ? `neither a number, JSON nor an exposition page: ${err.message}`
          : String(err),
    };
  }
}
