/**
 * A GPU-less vLLM replica over HTTP (`inferscale emulate`, docs/simulator-model.md "Emulator"):
 * the OpenAI completions and chat endpoints (with SSE streaming), `/metrics` in vLLM's exact
 * format, `/health`, `/v1/models`. The replica model (simulator/model) does the work; the wall
 * clock, optionally sped up, drives it: each request is enqueued at the current model time and a
 * timer advances the model to its next step end, streaming the tokens each step produced.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../observability/log.js';
import {
  ReplicaModel,
  type ReplicaEvent,
  type ReplicaOptions,
  type RequestResult,
} from '../../simulator/model/replica.js';
import { METRICS_FORMATS, type MetricsFormat } from '../../simulator/model/metrics.js';
import { PROMETHEUS_TEXT_CONTENT_TYPE } from '../../simulator/model/exposition.js';
import { Rng } from '../../simulator/traces/rng.js';
import {
  ApiError,
  badRequest,
  chunkEvent,
  completionBody,
  EMULATOR_PREFIX_BLOCK_TOKENS,
  fillerText,
  parseRequest,
  prefixHashIds,
  usage,
  type Endpoint,
  type ParsedRequest,
} from './openai.js';

export interface EmulatorOptions {
  /** GPU name or alias from config/gpus.yaml. */
  gpu: string;
  /** Model name, alias or Hugging Face id from config/models.yaml. */
  model: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port; read it from the handle). */
  port?: number;
  /** Default `vllm-v1`. */
  metricsFormat?: MetricsFormat;
  /** `--served-model-name`; default the model's Hugging Face id. */
  servedModelName?: string;
  /** Model time runs this many times faster than the wall clock (default 1). */
  speedup?: number;
  /** `/health` (and the API) answer 503 for this long after start, like an engine loading (wall ms). */
  startupDelayMs?: number;
  /** Seed of the natural output lengths (requests without max_tokens). */
  seed?: number;
  /** Deployment and engine options passed to the replica model (tp, maxModelLen, ...). */
  replica?: ReplicaOptions;
  log?: Logger;
}

export interface EmulatorHandle {
  /** `http://host:port`. */
  url: string;
  host: string;
  port: number;
  servedModelName: string;
  /** The replica model behind the server (read its snapshot in tests). */
  model: ReplicaModel;
  /**
   * Stops accepting requests, lets in-flight ones finish for up to `drainMs` (default 0), aborts
   * the rest and closes every connection.
   */
  close(opts?: { drainMs?: number }): Promise<void>;
}

/** Median and spread of response lengths when the client sets no max_tokens. */
const NATURAL_MEDIAN_TOKENS = 128;
const NATURAL_SIGMA = 0.8;
const MAX_BODY_BYTES = 32 * 1024 * 1024;

interface InFlight {
  id: string;
  endpoint: Endpoint;
  req: ParsedRequest;
  res: ServerResponse;
  created: number;
  outputTokens: number;
  finishReason: 'stop' | 'length';
  sent: number;
  done: boolean;
  /** The client asked for TIMING_REQUEST_HEADER. */
  timed: boolean;
}

/**
 * A test harness that runs the emulator faster than real time measures latency through its own
 * timers and sockets, which a busy machine stretches (×speed-up in model time). Asking with this
 * header gets the engine's own time to first token in model time, the way vLLM's TTFT histogram
 * counts it (arrival at the engine → first token), as a trailer of a streamed response or a header
 * of a plain one. Off unless asked: vLLM sends no such field.
 */
export const TIMING_REQUEST_HEADER = 'x-inferscale-timing';
export const TIMING_RESPONSE_HEADER = 'x-inferscale-model-ttft-ms';

function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, err.body());
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'BadRequestError', `request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startEmulator(opts: EmulatorOptions): Promise<EmulatorHandle> {
  const speedup = opts.speedup ?? 1;
  if (!(Number.isFinite(speedup) && speedup > 0)) throw new Error(`speedup must be > 0, got ${speedup}`);
  const format = opts.metricsFormat ?? 'vllm-v1';
  if (!METRICS_FORMATS.includes(format)) {
    throw new Error(`unknown metrics format '${String(format)}'; use one of ${METRICS_FORMATS.join(', ')}`);
  }
  const startEpoch = Date.now();
  const wall0 = performance.now();
  const readyAtWall = wall0 + (opts.startupDelayMs ?? 0);
  const modelNow = (): number => startEpoch + (performance.now() - wall0) * speedup;
  const model = new ReplicaModel(opts.gpu, opts.model, {
    ...opts.replica,
    ...(opts.servedModelName !== undefined ? { servedModelName: opts.servedModelName } : {}),
    emitTokenEvents: true,
    emitFirstTokenEvents: false,
    prefixBlockTokens: EMULATOR_PREFIX_BLOCK_TOKENS,
    startMs: startEpoch,
  });
  const served = model.servedModelName;
  const maxModelLen = model.deployment.maxModelLen;
  const rng = new Rng(opts.seed ?? 1);
  const log = opts.log;

  const inflight = new Map<string, InFlight>();
  let timer: NodeJS.Timeout | undefined;
  let closing = false;

  // --- driving the model by the wall clock ------------------------------------------------------

  function onEvent(ev: ReplicaEvent): void {
    const f = inflight.get(String(ev.id));
    if (f === undefined || f.done) return;
    if (ev.type === 'tokens') {
      if (f.req.stream) {
        const text = fillerText(f.sent, ev.total);
        f.res.write(chunkEvent(f.endpoint, f.id, f.created, served, { text }));
      }
      f.sent = ev.total;
    } else if (ev.type === 'finished') {
      finish(f, ev.result);
    } else if (ev.type === 'rejected') {
      f.done = true;
      inflight.delete(f.id);
      sendError(f.res, badRequest(ev.reason));
    }
  }

  function pump(): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    for (const ev of model.advanceTo(modelNow())) onEvent(ev);
    const next = model.nextEventTime();
    if (next !== undefined) {
      const delay = Math.max(0, (next - modelNow()) / speedup);
      timer = setTimeout(pump, delay);
    }
  }

  function finish(f: InFlight, result: RequestResult): void {
    const generated = result.outputTokens;
    f.done = true;
    inflight.delete(f.id);
    const u = usage(f.req.promptTokens, generated);
    // The model's own TTFT (arrival as enqueued → first token); none without a first token.
    const timing: Record<string, string> =
      f.timed && generated > 0 ? { [TIMING_RESPONSE_HEADER]: result.ttftMs.toFixed(3) } : {};
    if (f.req.stream) {
      f.res.write(
        chunkEvent(f.endpoint, f.id, f.created, served, { text: '', finishReason: f.finishReason }),
      );
      if (f.req.includeUsage) f.res.write(chunkEvent(f.endpoint, f.id, f.created, served, { usage: u }));
      f.res.addTrailers(timing);
      f.res.end('data: [DONE]\n\n');
    } else {
      sendJson(
        f.res,
        200,
        completionBody(f.endpoint, f.id, f.created, served, fillerText(0, generated), f.finishReason, u),
        timing,
      );
    }
  }

  // --- request handling ---------------------------------------------------------------------------

  function outputLength(p: ParsedRequest): { tokens: number; reason: 'stop' | 'length' } {
    const room = maxModelLen - p.promptTokens;
    if (p.maxTokens !== undefined) {
      if (p.minTokens > p.maxTokens) {
        throw badRequest(
          `min_tokens (${p.minTokens}) must be less than or equal to max_tokens (${p.maxTokens})`,
        );
      }
      if (p.promptTokens + p.maxTokens > maxModelLen) {
        // vLLM's wording, answered before any streaming starts.
        throw badRequest(
          `This model's maximum context length is ${maxModelLen} tokens. However, you requested ` +
            `${p.promptTokens + p.maxTokens} tokens (${p.promptTokens} in the messages, ${p.maxTokens} in the completion). ` +
            `Please reduce the length of the messages or completion.`,
        );
      }
      return { tokens: p.maxTokens, reason: 'length' };
    }
    if (room < 1) {
      throw badRequest(
        `This model's maximum context length is ${maxModelLen} tokens. However, your prompt has ${p.promptTokens} tokens.`,
      );
    }
    const natural = Math.max(1, Math.round(rng.lognormal(NATURAL_MEDIAN_TOKENS, NATURAL_SIGMA)));
    const tokens = Math.min(room, Math.max(natural, p.minTokens));
    return { tokens, reason: tokens === room ? 'length' : 'stop' };
  }

  async function handleGenerate(
    endpoint: Endpoint,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw badRequest('the request body is not valid JSON');
    }
    const p = parseRequest(endpoint, body);
    if (p.model !== undefined && p.model !== served) {
      throw new ApiError(404, 'NotFoundError', `The model \`${p.model}\` does not exist.`);
    }
    const out = outputLength(p);
    const id = `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`;
    const f: InFlight = {
      id,
      endpoint,
      req: p,
      res,
      created: Math.floor(Date.now() / 1000),
      outputTokens: out.tokens,
      finishReason: out.reason,
      sent: 0,
      done: false,
      timed: req.headers[TIMING_REQUEST_HEADER] !== undefined,
    };
    inflight.set(id, f);
    res.on('close', () => {
      if (!f.done) {
        // The client went away: vLLM aborts the request.
        f.done = true;
        inflight.delete(id);
        model.abort(id, modelNow());
        pump();
      }
    });
    if (p.stream) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        ...(f.timed ? { trailer: TIMING_RESPONSE_HEADER } : {}),
      });
      if (endpoint === 'chat')
        res.write(chunkEvent(endpoint, id, f.created, served, { role: true, text: '' }));
    }
    const now = modelNow();
    model.enqueue(
      {
        id,
        arrivalMs: now,
        inputTokens: p.promptTokens,
        outputTokens: out.tokens,
        hashIds: prefixHashIds(p.promptKey, p.promptTokens),
        ...(p.maxTokens !== undefined ? { maxTokens: p.maxTokens } : {}),
        finishReason: out.reason,
      },
      now,
    );
    pump();
  }

  function modelsBody(): string {
    const created = Math.floor(startEpoch / 1000);
    return JSON.stringify({
      object: 'list',
      data: [
        {
          id: served,
          object: 'model',
          created,
          owned_by: 'vllm',
          root: model.deployment.model.hfId,
          parent: null,
          max_model_len: maxModelLen,
          permission: [],
        },
      ],
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    if (closing) {
      res.setHeader('connection', 'close');
      sendJson(res, 503, JSON.stringify({ detail: 'server is shutting down' }));
      return;
    }
    const ready = performance.now() >= readyAtWall;
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /health':
      case 'GET /ping':
        res.writeHead(ready ? 200 : 503, { 'content-length': '0' });
        res.end();
        return;
      case 'GET /metrics': {
        pump();
        const text = model.renderMetrics(format, { nowMs: modelNow() });
        res.writeHead(200, {
          'content-type': PROMETHEUS_TEXT_CONTENT_TYPE,
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      }
      case 'GET /v1/models':
        sendJson(res, 200, modelsBody());
        return;
      case 'GET /version':
        sendJson(res, 200, JSON.stringify({ version: 'inferscale-emulator' }));
        return;
      case 'GET /load':
        sendJson(res, 200, JSON.stringify({ server_load: model.inFlight }));
        return;
      case 'POST /v1/completions':
      case 'POST /v1/chat/completions':
        if (!ready) {
          sendJson(
            res,
            503,
            new ApiError(503, 'ServiceUnavailableError', 'the engine is still starting').body(),
          );
          return;
        }
        try {
          await handleGenerate(path === '/v1/completions' ? 'completions' : 'chat', req, res);
        } catch (err) {
          if (err instanceof ApiError) sendError(res, err);
          else {
            log?.error({ err }, 'emulator request failed');
            sendError(
              res,
              new ApiError(500, 'InternalServerError', err instanceof Error ? err.message : String(err)),
            );
          }
        }
        return;
      default: {
        const known = ['/health', '/ping', '/metrics', '/v1/models', '/version', '/load'].includes(path)
          ? 'GET'
          : ['/v1/completions', '/v1/chat/completions'].includes(path)
            ? 'POST'
            : undefined;
        if (known !== undefined) {
          res.setHeader('allow', known);
          sendJson(res, 405, JSON.stringify({ detail: 'Method Not Allowed' }));
        } else sendJson(res, 404, JSON.stringify({ detail: 'Not Found' }));
      }
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log?.error({ err }, 'emulator handler failed');
      if (!res.headersSent) sendJson(res, 500, JSON.stringify({ detail: 'internal error' }));
      else res.destroy();
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  log?.info(
    {
      url,
      gpu: model.deployment.gpu.name,
      model: model.deployment.model.name,
      tp: model.deployment.tp,
      numGpuBlocks: model.deployment.numGpuBlocks,
      maxModelLen,
      servedModelName: served,
      metricsFormat: format,
      speedup,
    },
    'emulator listening',
  );

  let closed: Promise<void> | undefined;
  async function close(closeOpts: { drainMs?: number } = {}): Promise<void> {
    if (closed) return closed;
    closing = true;
    closed = (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = performance.now() + (closeOpts.drainMs ?? 0);
      while (inflight.size > 0 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const f of [...inflight.values()]) {
        f.done = true;
        inflight.delete(f.id);
        model.abort(f.id, modelNow());
        f.res.destroy();
      }
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      server.closeAllConnections();
      await stopped;
    })();
    return closed;
  }

  return { url, host, port, servedModelName: served, model, close };
}
