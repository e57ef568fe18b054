/**
 * A load generator for end-to-end tests: replays a trace (or a piecewise-constant rate schedule) as
 * OpenAI `/v1/completions` requests against the Ready pods of a workload, found through the
 * apiserver like a gateway would (a pod watch: podIP + Ready, not terminating). Streams every
 * response to time TTFT and end-to-end latency per request, so tests can compute p99 TTFT.
 *
 * Loopback only (pod addresses from the kubelet stand-in). Bounded: total requests, sending
 * duration, outstanding requests and a per-request timeout; the driver stops by itself.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import * as k8s from '@kubernetes/client-node';
import { Informer } from '../../src/k8s/informer.js';
import { errorMessage, rawRequest } from '../../src/k8s/client.js';
import { silentLogger, type Logger } from '../../src/observability/log.js';
import { HASH_BLOCK_TOKENS, type TraceRequest } from '../../simulator/traces/types.js';
import { Rng } from '../../simulator/traces/rng.js';
import { TIMING_REQUEST_HEADER, TIMING_RESPONSE_HEADER } from '../../src/emulator/server.js';
import { toStandinPod, type StandinPod } from './kubelet-standin.js';

/** One request to send: a trace request (its `id` is not needed). */
export type TimedRequest = Pick<TraceRequest, 'arrivalMs' | 'inputTokens' | 'outputTokens' | 'hashIds'>;

/** `rps` requests per second until `untilS` seconds from the start (steps in increasing order). */
export interface RateStep {
  untilS: number;
  rps: number;
}

export interface RateSchedule {
  steps: RateStep[];
  inputTokens: number;
  outputTokens: number;
  /** `uniform` (default): evenly spaced. `poisson`: exponential gaps, seeded. */
  arrivals?: 'uniform' | 'poisson';
  seed?: number;
}

export type Outcome = 'ok' | 'http-error' | 'timeout' | 'error' | 'no-pod' | 'overload' | 'aborted';

export interface RequestRecord {
  /** Position in the schedule. */
  id: number;
  /** Scheduled arrival, ms after the driver started (after timeScale). */
  arrivalMs: number;
  /** When it was actually sent (ms after start); later than arrivalMs by timer lag or pod waits. */
  sentMs?: number;
  /** `namespace/name` and address of the pod that served it. */
  pod?: string;
  ip?: string;
  outcome: Outcome;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** First token − send (what `vllm bench serve` reports); streaming only. */
  ttftMs?: number;
  /**
   * The engine's own TTFT (arrival at the engine → first token) in the emulator's model time, from
   * its timing trailer: free of the harness's socket and timer delays, which a sped-up emulator
   * multiplies.
   */
  engineTtftMs?: number;
  /** Last byte − send. */
  e2eMs?: number;
  inputTokens: number;
  outputTokens: number;
  /** Tokens received (usage.completion_tokens, else streamed chunks with text). */
  outputTokensReceived?: number;
  error?: string;
}

export interface Quantiles {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadSummary {
  total: number;
  byOutcome: Partial<Record<Outcome, number>>;
  /** Requests served per pod (`namespace/name`). */
  perPod: Record<string, number>;
  ttft?: Quantiles;
  e2e?: Quantiles;
  /** ok requests / duration. */
  throughputRps: number;
}

export interface LoadResult {
  records: RequestRecord[];
  durationMs: number;
  summary: LoadSummary;
}

export interface LoadDriverOptions {
  /** Kubeconfig of the cluster (ControlPlane.kubeconfigPath), or `kc`. */
  kubeconfigPath?: string;
  kc?: k8s.KubeConfig;
  namespace: string;
  /** Pods to send to: a label selector, or a Deployment whose /scale selector is used. */
  labelSelector?: string;
  deployment?: string;
  /** A trace (arrivalMs from its start). Exactly one of `requests` and `rate`. */
  requests?: readonly TimedRequest[];
  rate?: RateSchedule;
  /** Replay this many times faster than recorded. Default 1. */
  timeScale?: number;
  /** Default `least-outstanding`. */
  balance?: 'round-robin' | 'least-outstanding';
  /** `model` field of each request; default none (the emulator then serves its own model). */
  model?: string;
  /** Default true (needed for TTFT). */
  stream?: boolean;
  /** Pod port. Default 8000. */
  port?: number;
  /** Default 30 s. */
  requestTimeoutMs?: number;
  /** The schedule is cut to this many requests. Default 10 000. */
  maxRequests?: number;
  /** Nothing is sent after this (ms after start); in-flight requests still finish. Default 120 s. */
  maxDurationMs?: number;
  /** Arrivals while this many requests are in flight are recorded as `overload`. Default 512. */
  maxOutstanding?: number;
  /** No Ready pod: `fail` (default) records `no-pod`; `wait` waits up to the request timeout. */
  noPod?: 'fail' | 'wait';
  log?: Logger;
}

export interface LoadDriver {
  /** Resolves once everything scheduled was sent (or cut by the bounds) and has finished. */
  readonly done: Promise<LoadResult>;
  /** Stop sending, abort in-flight requests (`aborted`), return the result. */
  stop(): Promise<LoadResult>;
  records(): RequestRecord[];
  outstanding(): number;
  /** Ready pods the driver currently sends to (`namespace/name` → ip). */
  readyPods(): Map<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

/** Arrivals of a rate schedule, at most `maxRequests`. Throws on a malformed schedule. */
export function rateScheduleRequests(schedule: RateSchedule, maxRequests = 10_000): TimedRequest[] {
  const { inputTokens, outputTokens } = schedule;
  if (!(Number.isInteger(inputTokens) && inputTokens >= 1)) {
    throw new Error(`rate.inputTokens must be an integer >= 1, got ${inputTokens}`);
  }
  if (!(Number.isInteger(outputTokens) && outputTokens >= 1)) {
    throw new Error(`rate.outputTokens must be an integer >= 1, got ${outputTokens}`);
  }
  const rng = new Rng(schedule.seed ?? 1);
  const out: TimedRequest[] = [];
  let fromS = 0;
  schedule.steps.forEach((step, i) => {
    if (!(Number.isFinite(step.untilS) && step.untilS > fromS)) {
      throw new Error(
        `rate.steps[${i}].untilS must be greater than the previous step's (${fromS}), got ${step.untilS}`,
      );
    }
    if (!(Number.isFinite(step.rps) && step.rps >= 0)) {
      throw new Error(`rate.steps[${i}].rps must be a number >= 0, got ${step.rps}`);
    }
    if (step.rps > 0) {
      let t = schedule.arrivals === 'poisson' ? fromS + rng.exp(step.rps) : fromS;
      while (t < step.untilS && out.length < maxRequests) {
        out.push({ arrivalMs: t * 1000, inputTokens, outputTokens });
        t += schedule.arrivals === 'poisson' ? rng.exp(step.rps) : 1 / step.rps;
      }
    }
    fromS = step.untilS;
  });
  return out;
}

/** Nearest-rank percentile (p in [0, 100]) of `values`; undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

function quantiles(values: number[]): Quantiles | undefined {
  if (values.length === 0) return undefined;
  return {
    count: values.length,
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    p50: percentile(values, 50)!,
    p90: percentile(values, 90)!,
    p99: percentile(values, 99)!,
    max: Math.max(...values),
  };
}

export function summarizeLoad(records: readonly RequestRecord[], durationMs: number): LoadSummary {
  const byOutcome: Partial<Record<Outcome, number>> = {};
  const perPod: Record<string, number> = {};
  for (const r of records) {
    byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
    if (r.outcome === 'ok' && r.pod) perPod[r.pod] = (perPod[r.pod] ?? 0) + 1;
  }
  const ok = records.filter((r) => r.outcome === 'ok');
  const summary: LoadSummary = {
    total: records.length,
    byOutcome,
    perPod,
    throughputRps: durationMs > 0 ? ok.length / (durationMs / 1000) : 0,
  };
  const ttft = quantiles(ok.flatMap((r) => (r.ttftMs !== undefined ? [r.ttftMs] : [])));
  const e2e = quantiles(ok.flatMap((r) => (r.e2eMs !== undefined ? [r.e2eMs] : [])));
  if (ttft) summary.ttft = ttft;
  if (e2e) summary.e2e = e2e;
  return summary;
}

/**
 * Prompt token ids. With hashIds, each HASH_BLOCK_TOKENS-token block is a function of its hash id,
 * so requests sharing a prefix in the trace share it on the wire (the emulator's prefix cache sees
 * it); the rest is unique to the request (its first token is the request id).
 */
export function promptTokens(id: number, inputTokens: number, hashIds?: readonly number[]): number[] {
  const out = new Array<number>(inputTokens);
  for (let k = 0; k < inputTokens; k++) {
    const h = hashIds?.[Math.floor(k / HASH_BLOCK_TOKENS)];
    out[k] =
      h !== undefined
        ? 1_000 + (((Math.imul(h + 1, 2_654_435_761) + k) >>> 0) % 30_000)
        : k === 0
          ? 100_000 + id
          : 1_000 + (((Math.imul(id + 1, 40_503) + k * 7_919) >>> 0) % 30_000);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One request

interface SendResult {
  outcome: Outcome;
  status?: number;
  ttftMs?: number;
  /** The engine's own TTFT in model time (the emulator's timing trailer), when it sent one. */
  engineTtftMs?: number;
  e2eMs?: number;
  tokens?: number;
  error?: string;
}

function sendCompletion(
  agent: http.Agent,
  ip: string,
  port: number,
  body: string,
  stream: boolean,
  timeoutMs: number,
  abort: AbortSignal,
): Promise<SendResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let settled = false;
    let ttft: number | undefined;
    let tokens = 0;
    let usageTokens: number | undefined;
    let status: number | undefined;
    const finish = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abort.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const req = http.request(
      {
        host: ip,
        port,
        path: '/v1/completions',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          [TIMING_REQUEST_HEADER]: '1',
        },
      },
      (res) => {
        status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          if (status !== 200) {
            buf = (buf + chunk).slice(0, 2_000);
            return;
          }
          if (!stream) {
            buf += chunk;
            return;
          }
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const event = buf.slice(0, i);
            buf = buf.slice(i + 2);
            for (const line of event.split('\n')) {
              if (!line.startsWith('data:')) continue;
              const data = line.slice(5).trim();
              if (data === '[DONE]') continue;
              try {
                const j = JSON.parse(data) as {
                  choices?: { text?: string }[];
                  usage?: { completion_tokens?: number } | null;
                };
                if (j.choices?.[0]?.text) {
                  ttft ??= performance.now() - t0;
                  tokens++;
                }
                if (typeof j.usage?.completion_tokens === 'number') usageTokens = j.usage.completion_tokens;
              } catch {
                /* a malformed event is counted by the token mismatch, not fatal */
              }
            }
          }
        });
        res.on('end', () => {
          const e2eMs = performance.now() - t0;
          if (status !== 200) {
            finish({ outcome: 'http-error', status, e2eMs, error: buf.slice(0, 300) });
            return;
          }
          if (!stream) {
            try {
              const j = JSON.parse(buf) as { usage?: { completion_tokens?: number } };
              usageTokens = j.usage?.completion_tokens;
            } catch {
              finish({ outcome: 'error', status, e2eMs, error: 'response is not JSON' });
              return;
            }
          }
          const r: SendResult = { outcome: 'ok', status, e2eMs, tokens: usageTokens ?? tokens };
          if (ttft !== undefined) r.ttftMs = ttft;
          const engineTtft = Number(
            res.trailers[TIMING_RESPONSE_HEADER] ?? res.headers[TIMING_RESPONSE_HEADER],
          );
          if (Number.isFinite(engineTtft)) r.engineTtftMs = engineTtft;
          finish(r);
        });
        res.on('error', (err) => finish({ outcome: 'error', status, error: err.message }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish({
        outcome: 'timeout',
        ...(status !== undefined ? { status } : {}),
        error: `no answer within ${timeoutMs} ms`,
      });
    }, timeoutMs);
    const onAbort = () => {
      req.destroy();
      finish({ outcome: 'aborted', error: 'load driver stopped' });
    };
    abort.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish({ outcome: 'error', error: err.message }));
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------
// The driver

async function resolveSelector(kc: k8s.KubeConfig, o: LoadDriverOptions): Promise<string> {
  if (o.labelSelector !== undefined && o.deployment !== undefined) {
    throw new Error('load driver: pass labelSelector or deployment, not both');
  }
  if (o.labelSelector !== undefined) return o.labelSelector;
  if (o.deployment === undefined) throw new Error('load driver: pass labelSelector or deployment');
  const p = `/apis/apps/v1/namespaces/${encodeURIComponent(o.namespace)}/deployments/${encodeURIComponent(o.deployment)}/scale`;
  const r = await rawRequest(kc, 'GET', p, { timeoutMs: 10_000 });
  const selector = (r.json as { status?: { selector?: string } } | undefined)?.status?.selector;
  if (r.status !== 200 || !selector) {
    throw new Error(
      `load driver: cannot read the selector of Deployment ${o.namespace}/${o.deployment} (HTTP ${r.status})`,
    );
  }
  return selector;
}

/** Start sending; resolves once the pod watch has synced (the first request goes out at t=0). */
export async function startLoad(o: LoadDriverOptions): Promise<LoadDriver> {
  if ((o.requests === undefined) === (o.rate === undefined)) {
    throw new Error('load driver: pass exactly one of `requests` (a trace) and `rate` (a schedule)');
  }
  const timeScale = o.timeScale ?? 1;
  if (!(Number.isFinite(timeScale) && timeScale > 0))
    throw new Error(`load driver: timeScale must be > 0, got ${timeScale}`);
  const maxRequests = o.maxRequests ?? 10_000;
  const maxDurationMs = o.maxDurationMs ?? 120_000;
  const timeoutMs = o.requestTimeoutMs ?? 30_000;
  const maxOutstanding = o.maxOutstanding ?? 512;
  const port = o.port ?? 8000;
  const stream = o.stream ?? true;
  const log = (o.log ?? silentLogger()).child({ component: 'load-driver' });

  const schedule = (o.requests ? [...o.requests] : rateScheduleRequests(o.rate!, maxRequests))
    .sort((a, b) => a.arrivalMs - b.arrivalMs)
    .slice(0, maxRequests)
    .map((r) => ({ ...r, arrivalMs: r.arrivalMs / timeScale }));
  schedule.forEach((r, i) => {
    if (!(Number.isFinite(r.arrivalMs) && r.arrivalMs >= 0)) {
      throw new Error(`load driver: request ${i} has arrivalMs ${r.arrivalMs}; must be >= 0`);
    }
    if (!(
      Number.isInteger(r.inputTokens) &&
      r.inputTokens >= 1 &&
      Number.isInteger(r.outputTokens) &&
      r.outputTokens >= 1
    )) {
      throw new Error(`load driver: request ${i} needs integer inputTokens and outputTokens >= 1`);
    }
  });

  let kc = o.kc;
  if (!kc) {
    if (!o.kubeconfigPath) throw new Error('load driver: pass kubeconfigPath or kc');
    kc = new k8s.KubeConfig();
    kc.loadFromFile(o.kubeconfigPath);
  }
  const selector = await resolveSelector(kc, o);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const informer = new Informer<k8s.V1Pod, StandinPod>({
    name: `load-driver-pods(${o.namespace})`,
    kc,
    path: `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods`,
    list: () => core.listNamespacedPod({ namespace: o.namespace, labelSelector: selector }),
    labelSelector: selector,
    transform: toStandinPod,
    log,
    backoff: { initialMs: 200, maxMs: 3_000 },
  });
  informer.start();
  try {
    await informer.waitForSync(30_000);
  } catch (err) {
    await informer.stop();
    throw err;
  }

  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const stopCtl = new AbortController();
  // Every in-flight request listens on it.
  setMaxListeners(Infinity, stopCtl.signal);
  const records: RequestRecord[] = [];
  const inflightByIp = new Map<string, number>();
  let outstanding = 0;
  let rr = 0;
  let sendingDone = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveDone: (r: LoadResult) => void = () => {};
  const done = new Promise<LoadResult>((r) => (resolveDone = r));
  const t0 = performance.now();
  let endedAt: number | undefined;

  const readyPods = (): StandinPod[] =>
    informer
      .list(o.namespace)
      .filter((p) => p.ready && p.podIP && !p.deleting)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const pick = (): StandinPod | undefined => {
    const pods = readyPods();
    if (pods.length === 0) return undefined;
    const start = rr++ % pods.length;
    if (o.balance === 'round-robin') return pods[start];
    let best: StandinPod | undefined;
    let bestLoad = Infinity;
    for (let k = 0; k < pods.length; k++) {
      const p = pods[(start + k) % pods.length]!;
      const load = inflightByIp.get(p.podIP!) ?? 0;
      if (load < bestLoad) {
        best = p;
        bestLoad = load;
      }
    }
    return best;
  };

  const result = (): LoadResult => {
    const durationMs = (endedAt ?? performance.now()) - t0;
    const sorted = [...records].sort((a, b) => a.id - b.id);
    return { records: sorted, durationMs, summary: summarizeLoad(sorted, durationMs) };
  };

  const maybeFinish = () => {
    if (!sendingDone || outstanding > 0 || endedAt !== undefined) return;
    endedAt = performance.now();
    void informer.stop();
    agent.destroy();
    resolveDone(result());
  };

  const fire = async (id: number, r: (typeof schedule)[number]) => {
    const rec: RequestRecord = {
      id,
      arrivalMs: r.arrivalMs,
      outcome: 'no-pod',
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
    };
    if (outstanding >= maxOutstanding) {
      rec.outcome = 'overload';
      rec.error = `${outstanding} requests outstanding (maxOutstanding ${maxOutstanding})`;
      records.push(rec);
      return;
    }
    outstanding++;
    try {
      let pod = pick();
      if (!pod && o.noPod === 'wait') {
        const deadline = performance.now() + timeoutMs;
        while (!pod && !stopCtl.signal.aborted && performance.now() < deadline) {
          await new Promise((res) => setTimeout(res, 50));
          pod = pick();
        }
      }
      if (!pod) {
        rec.outcome = stopCtl.signal.aborted ? 'aborted' : 'no-pod';
        return;
      }
      const ip = pod.podIP!;
      rec.pod = `${pod.namespace}/${pod.name}`;
      rec.ip = ip;
      rec.sentMs = performance.now() - t0;
      const body = JSON.stringify({
        ...(o.model !== undefined ? { model: o.model } : {}),
        prompt: promptTokens(id, r.inputTokens, r.hashIds),
        max_tokens: r.outputTokens,
        min_tokens: r.outputTokens,
        ignore_eos: true,
        stream,
        ...(stream ? { stream_options: { include_usage: true } } : {}),
      });
      inflightByIp.set(ip, (inflightByIp.get(ip) ?? 0) + 1);
      const res = await sendCompletion(agent, ip, port, body, stream, timeoutMs, stopCtl.signal);
      inflightByIp.set(ip, (inflightByIp.get(ip) ?? 1) - 1);
      rec.outcome = res.outcome;
      if (res.status !== undefined) rec.status = res.status;
      if (res.ttftMs !== undefined) rec.ttftMs = res.ttftMs;
      if (res.engineTtftMs !== undefined) rec.engineTtftMs = res.engineTtftMs;
      if (res.e2eMs !== undefined) rec.e2eMs = res.e2eMs;
      if (res.tokens !== undefined) rec.outputTokensReceived = res.tokens;
      if (res.error !== undefined) rec.error = res.error;
    } catch (err) {
      rec.outcome = 'error';
      rec.error = errorMessage(err);
    } finally {
      outstanding--;
      records.push(rec);
      maybeFinish();
    }
  };

  let next = 0;
  const tick = () => {
    timer = undefined;
    if (sendingDone) return;
    const now = performance.now() - t0;
    while (next < schedule.length && schedule[next]!.arrivalMs <= now && now < maxDurationMs) {
      void fire(next, schedule[next]!);
      next++;
    }
    const upcoming = schedule[next];
    if (!upcoming || now >= maxDurationMs || upcoming.arrivalMs >= maxDurationMs) {
      if (upcoming) log.info({ unsent: schedule.length - next, maxDurationMs }, 'maxDurationMs reached');
      sendingDone = true;
      maybeFinish();
      return;
    }
    timer = setTimeout(tick, Math.max(0, upcoming.arrivalMs - now));
  };
  tick();

  return {
    done,
    async stop() {
      sendingDone = true;
      clearTimeout(timer);
      stopCtl.abort();
      maybeFinish();
      return done;
    },
    records: () => [...records],
    outstanding: () => outstanding,
    readyPods: () => new Map(readyPods().map((p) => [`${p.namespace}/${p.name}`, p.podIP!])),
  };
}

/** startLoad, then wait until it has finished by itself. */
export async function runLoad(o: LoadDriverOptions): Promise<LoadResult> {
  return (await startLoad(o)).done;
}
