/**
 * The `pod` metric source: scrapes each ready pod's exposition page and derives one signal per pod.
 *
 * Unlike AIBrix (sequential, retrying inside a shared 10 s budget, `http://ip:port/metrics` whatever
 * the spec says, failures counted as 0 — W-3, W-5, W-7), it scrapes concurrently with a bound, gives
 * each pod a timeout inside the tick's budget, honours the source's protocol, port and path, reuses
 * connections, and reports a failed or garbled scrape as a missing value with the reason.
 *
 * Per (PodAutoscaler, metric source, pod) it keeps a few small snapshots so rates and window
 * quantiles can be computed (see signals.ts); pods that leave the selector are forgotten.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { PodSample } from '../../algorithms/types.js';
import type { ResolvedMetricSource } from '../api/resolved.js';
import type { MetricReading, MetricRequest, MetricSource, PodInfo } from '../engine/seams.js';
import { familiesOf, resolveTargetMetric, type ResolvedMetric } from './catalogue.js';
import { ExpositionError, formatFromContentType, parseExposition } from './exposition.js';
import { fetchBytes, FetchError, type FetchBytesResult } from './http-fetch.js';
import { endsWithEof, segmentFinder, type SegmentFinder } from './segments.js';
import { detach, evaluate, needsHistory, takeSnapshot, type Snapshot } from './signals.js';

export interface PodScraperOptions {
  /** Pods scraped at once, across all reads in flight (default 32). */
  concurrency?: number;
  /** Per-pod limit, further capped by the read's deadline (default 2000 ms). */
  timeoutMs?: number;
  /** Port when the metric source gives none (vLLM's default, 8000). */
  defaultPort?: number;
  /** Largest page accepted (default 8 MiB). */
  maxBodyBytes?: number;
  /**
   * Window of rate and quantile signals: the delta runs from the oldest snapshot at most this old
   * (or the previous one when none is). 0 means "since the previous scrape". Default 30 s.
   */
  windowMs?: number;
  /** Series with explicit timestamps older than this are stale, hence missing (default 60 s). */
  staleAfterMs?: number;
  /**
   * How long a pod's last good value stands in for a failed read. Default 0 (off): the engine applies
   * the PodAutoscaler's `metricTtlSeconds` itself, and doing it twice would double the TTL.
   */
  lastGoodTtlMs?: number;
  /** https: verify pod certificates (default true); pods serve IP-addressed certs, so a CA is usual. */
  rejectUnauthorized?: boolean;
  ca?: string | Buffer;
  /** Keep-alive agents; created when not given (and destroyed by `close`). */
  agents?: { http?: http.Agent; https?: https.Agent };
  /** Called once per pod scrape (for inferscale_scrape_* metrics). */
  onScrape?: (seconds: number, ok: boolean) => void;
}

interface PodState {
  ip: string;
  history: Snapshot[];
  lastGood?: { value: number; atMs: number };
}

interface SourceState {
  metric: ResolvedMetric;
  wantFamily: (name: string) => boolean;
  segments: SegmentFinder;
  pods: Map<string, PodState>;
  lastReadMs: number;
}

/** A pod's value (possibly its last good one) and what went wrong, if anything. */
interface PodOutcome {
  value: number | undefined;
  error?: string;
}

export class PodScraper implements MetricSource {
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly defaultPort: number;
  private readonly maxBodyBytes: number;
  private readonly windowMs: number;
  private readonly staleAfterMs: number;
  private readonly lastGoodTtlMs: number;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly ownAgents: boolean;
  private readonly opts: PodScraperOptions;
  private readonly states = new Map<string, SourceState>();
  private readonly inflight = new Map<string, Promise<FetchBytesResult>>();
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(opts: PodScraperOptions = {}) {
    this.opts = opts;
    this.concurrency = Math.max(1, opts.concurrency ?? 32);
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.defaultPort = opts.defaultPort ?? 8000;
    this.maxBodyBytes = opts.maxBodyBytes ?? 8 * 1024 * 1024;
    this.windowMs = opts.windowMs ?? 30_000;
    this.staleAfterMs = opts.staleAfterMs ?? 60_000;
    this.lastGoodTtlMs = opts.lastGoodTtlMs ?? 0;
    this.ownAgents = opts.agents === undefined;
    // One idle connection per pod is kept: scrapes of a pod never overlap, and a tick revisits all.
    this.httpAgent =
      opts.agents?.http ?? new http.Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 1 });
    this.httpsAgent =
      opts.agents?.https ??
      new https.Agent({
        keepAlive: true,
        maxSockets: 4,
        maxFreeSockets: 1,
        rejectUnauthorized: opts.rejectUnauthorized ?? true,
        ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      });
  }

  /** The URL scraped for `pod` under `source`. */
  urlFor(pod: Pick<PodInfo, 'ip'>, source: Pick<ResolvedMetricSource, 'protocol' | 'port' | 'path'>): URL {
    const ip = pod.ip ?? '';
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const path = source.path.startsWith('/') ? source.path : `/${source.path}`;
    return new URL(`${source.protocol}://${host}:${source.port ?? this.defaultPort}${path}`);
  }

  async read(req: MetricRequest): Promise<MetricReading> {
    const { source } = req;
    if (source.type !== 'pod') {
      return { sample: undefined, errors: [`pod scraper cannot read a ${source.type} metric source`] };
    }
    let state: SourceState;
    try {
      state = this.stateFor(req);
    } catch (err) {
      return { sample: undefined, errors: [(err as Error).message] };
    }
    state.lastReadMs = req.nowMs;
    this.sweep(req.nowMs);

    // The engine passes ready pods only; a direct caller may not, and AIBrix's unfiltered list
    // (W-4) is exactly what must not happen here.
    const pods = req.pods.filter((p) => p.phase === 'Running' && p.ready && !p.terminating);
    const budgetMs = req.deadlineMs - req.nowMs;
    const started = performance.now();
    const outcomes = await Promise.all(pods.map((pod) => this.scrapePod(pod, req, state, budgetMs, started)));

    // Forget pods that left the selector (their history would be wrong if the name came back).
    const names = new Set(pods.map((p) => p.name));
    for (const name of state.pods.keys()) if (!names.has(name)) state.pods.delete(name);

    const samples: PodSample[] = [];
    const errors: string[] = [];
    outcomes.forEach((o, i) => {
      samples.push({ pod: pods[i]!.name, ready: true, value: o.value });
      // Messages quote page text; a flat copy keeps the page collectable if a caller keeps them.
      if (o.error !== undefined) errors.push(detach(o.error));
    });
    return { sample: { scope: 'pods', pods: samples }, errors };
  }

  /** Drops all state of one PodAutoscaler (it was deleted). */
  forget(owner: { namespace: string; name: string }): void {
    const prefix = `${owner.namespace}/${owner.name}|`;
    for (const key of this.states.keys()) if (key.startsWith(prefix)) this.states.delete(key);
  }

  /** Closes idle keep-alive connections of agents this scraper created. */
  close(): void {
    if (!this.ownAgents) return;
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private stateFor(req: MetricRequest): SourceState {
    const s = req.source;
    const key = `${req.owner.namespace}/${req.owner.name}|${s.targetMetric}|${s.modelName ?? ''}|${s.protocol}|${s.port ?? ''}|${s.path}`;
    let state = this.states.get(key);
    if (state === undefined) {
      const metric = resolveTargetMetric(s.targetMetric);
      const names = familiesOf(metric);
      const want = new Set(names);
      state = {
        metric,
        wantFamily: (n) => want.has(n),
        segments: segmentFinder(names),
        pods: new Map(),
        lastReadMs: req.nowMs,
      };
      this.states.set(key, state);
    }
    return state;
  }

  /** Forgets PodAutoscalers not read for a long time (deleted without `forget`). */
  private sweep(nowMs: number): void {
    const idleMs = Math.max(10 * 60_000, 4 * this.windowMs);
    for (const [key, st] of this.states) if (nowMs - st.lastReadMs > idleMs) this.states.delete(key);
  }

  private async slot(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }

  private async scrapePod(
    pod: PodInfo,
    req: MetricRequest,
    state: SourceState,
    budgetMs: number,
    started: number,
  ): Promise<PodOutcome> {
    const label = `pod ${pod.namespace}/${pod.name}`;
    if (pod.ip === undefined || pod.ip === '')
      return this.fallback(state, pod, req.nowMs, `${label}: no pod IP`);
    let podState = state.pods.get(pod.name);
    if (podState === undefined || podState.ip !== pod.ip) {
      podState = { ip: pod.ip, history: [] };
      state.pods.set(pod.name, podState);
    }
    const url = this.urlFor(pod, req.source);

    await this.slot();
    let result: FetchBytesResult;
    const t0 = performance.now();
    try {
      const remaining = budgetMs - (t0 - started);
      if (remaining <= 0) {
        return this.fallback(
          state,
          pod,
          req.nowMs,
          `${label} (${url.href}): read deadline passed before the scrape started`,
        );
      }
      result = await this.fetchShared(url, Math.max(1, Math.floor(Math.min(this.timeoutMs, remaining))));
    } catch (err) {
      this.opts.onScrape?.((performance.now() - t0) / 1000, false);
      const msg = err instanceof FetchError ? err.message : String(err);
      return this.fallback(state, pod, req.nowMs, `${label} (${url.href}): ${msg}`);
    } finally {
      this.release();
    }

    let outcome: PodOutcome;
    try {
      const page = this.parsePage(result, state);
      const snap = takeSnapshot(state.metric, page, {
        atMs: req.nowMs,
        staleAfterMs: this.staleAfterMs,
        ...(req.source.modelName !== undefined ? { modelName: req.source.modelName } : {}),
      });
      if (!snap.ok) {
        outcome = this.fallback(state, pod, req.nowMs, `${label}: ${snap.message}`);
      } else {
        const cur = snap.snapshot;
        const value = evaluate(state.metric, cur, this.baseFor(podState.history, cur.atMs));
        if (needsHistory(cur)) this.remember(podState, cur);
        if (value.ok) {
          podState.lastGood = { value: value.value, atMs: req.nowMs };
          outcome = { value: value.value };
        } else {
          // A first scrape or an empty window is expected, not an error worth a log line.
          const expected = value.reason === 'first-scrape' || value.reason === 'no-observations';
          outcome = this.fallback(state, pod, req.nowMs, expected ? undefined : `${label}: ${value.message}`);
        }
      }
    } catch (err) {
      const msg = err instanceof ExpositionError ? `unparsable page: ${err.message}` : String(err);
      outcome = this.fallback(state, pod, req.nowMs, `${label} (${url.href}): ${msg}`);
    }
    this.opts.onScrape?.((performance.now() - t0) / 1000, outcome.value !== undefined);
    return outcome;
  }

  /**
   * Decodes and parses only the wanted families' segments when their `# TYPE` lines are found (the
   * usual case), else the whole page. Either way only wanted families are parsed.
   */
  private parsePage(result: FetchBytesResult, state: SourceState): ReturnType<typeof parseExposition> {
    const declared = formatFromContentType(result.contentType);
    const segments = state.segments.extract(result.body);
    if (segments !== undefined) {
      const om = declared === 'openmetrics' || endsWithEof(result.body);
      return parseExposition(segments, {
        format: om ? 'openmetrics' : 'prometheus',
        requireEof: false,
        wantFamily: state.wantFamily,
      });
    }
    return parseExposition(result.body.toString('utf8'), { format: declared, wantFamily: state.wantFamily });
  }

  /** Several metric sources on the same pods in one tick share one request per URL. */
  private fetchShared(url: URL, timeoutMs: number): Promise<FetchBytesResult> {
    const key = url.href;
    const existing = this.inflight.get(key);
    if (existing !== undefined) return existing;
    const p = fetchBytes(url, {
      timeoutMs,
      maxBytes: this.maxBodyBytes,
      agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
    }).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private baseFor(history: Snapshot[], atMs: number): Snapshot | undefined {
    const from = atMs - this.windowMs;
    let newest: Snapshot | undefined;
    for (const s of history) {
      if (s.atMs >= atMs) continue;
      if (s.atMs >= from) return s; // oldest inside the window (history is in time order)
      newest = s;
    }
    return newest;
  }

  private remember(pod: PodState, snap: Snapshot): void {
    const from = snap.atMs - this.windowMs;
    pod.history = pod.history.filter((s) => s.atMs >= from && s.atMs < snap.atMs);
    pod.history.push(snap);
  }

  private fallback(state: SourceState, pod: PodInfo, nowMs: number, error: string | undefined): PodOutcome {
    const lg = state.pods.get(pod.name)?.lastGood;
    if (lg !== undefined && this.lastGoodTtlMs > 0 && nowMs - lg.atMs <= this.lastGoodTtlMs) {
      const age = `using its value from ${((nowMs - lg.atMs) / 1000).toFixed(0)} s ago`;
      return error === undefined ? { value: lg.value } : { value: lg.value, error: `${error} (${age})` };
    }
    return error === undefined ? { value: undefined } : { value: undefined, error };
  }
}
