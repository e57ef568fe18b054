/**
 * Reads the engines' token histograms (`vllm:request_prompt_tokens`,
 * `vllm:request_generation_tokens`) from pods, for a model group's load estimate. One bounded GET
 * per pod, concurrently with a limit, only the two families parsed. A failed or garbled page is a
 * per-pod error, never zero load.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { PodInfo } from '../engine/seams.js';
import type { ResolvedOptimizer } from '../api/resolved.js';
import { ExpositionError, formatFromContentType, parseExposition } from '../metrics/exposition.js';
import { EXPOSITION_ACCEPT, fetchBytes } from '../metrics/http-fetch.js';
import {
  GENERATION_TOKENS_METRIC,
  PROMPT_TOKENS_METRIC,
  tokenSnapshot,
  type TokenSnapshot,
} from './engine-load.js';

export interface TokenReadRequest {
  owner: { namespace: string; name: string };
  /** Ready pods of every Deployment of the group. */
  pods: readonly PodInfo[];
  scrape: ResolvedOptimizer['scrape'];
  nowMs: number;
  deadlineMs: number;
}

/** Per pod: its cumulative token histograms, or why they could not be read. */
export type TokenReading = Map<string, { snapshot: TokenSnapshot } | { error: string }>;

/** The seam a model group reads its load through (simulator and tests plug in their own). */
export interface TokenHistogramSource {
  read(request: TokenReadRequest): Promise<TokenReading>;
}

export interface HttpTokenSourceOptions {
  /** Pods scraped at once (default 16). */
  concurrency?: number;
  /** Per-pod limit, further capped by the deadline (default 2000 ms). */
  timeoutMs?: number;
  maxBodyBytes?: number;
  rejectUnauthorized?: boolean;
}

const FAMILIES = new Set([PROMPT_TOKENS_METRIC, GENERATION_TOKENS_METRIC]);

export class HttpTokenHistogramSource implements TokenHistogramSource {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 2, maxFreeSockets: 1 });
  private readonly httpsAgent: https.Agent;

  constructor(private readonly opts: HttpTokenSourceOptions = {}) {
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 2,
      maxFreeSockets: 1,
      rejectUnauthorized: opts.rejectUnauthorized ?? true,
    });
  }

  async read(req: TokenReadRequest): Promise<TokenReading> {
    const out: TokenReading = new Map();
    const queue = [...req.pods];
    const limit = Math.max(1, this.opts.concurrency ?? 16);
    // The deadline is on the engine's clock; measure the time spent on our own.
    const started = performance.now();
    const budgetMs = req.deadlineMs - req.nowMs;
    const worker = async (): Promise<void> => {
      for (let pod = queue.shift(); pod !== undefined; pod = queue.shift()) {
        out.set(pod.name, await this.readPod(pod, req, budgetMs - (performance.now() - started)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
    return out;
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async readPod(
    pod: PodInfo,
    req: TokenReadRequest,
    remaining: number,
  ): Promise<{ snapshot: TokenSnapshot } | { error: string }> {
    if (pod.ip === undefined || pod.ip === '') return { error: `pod ${pod.name}: no pod IP` };
    const host = pod.ip.includes(':') ? `[${pod.ip}]` : pod.ip;
    const url = new URL(`${req.scrape.protocol}://${host}:${req.scrape.port}${req.scrape.path}`);
    if (remaining <= 0) return { error: `pod ${pod.name} (${url.href}): read deadline passed` };
    try {
      const res = await fetchBytes(url, {
        timeoutMs: Math.max(1, Math.min(this.opts.timeoutMs ?? 2000, remaining)),
        maxBytes: this.opts.maxBodyBytes ?? 8 * 1024 * 1024,
        agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
        headers: { accept: EXPOSITION_ACCEPT },
      });
      const page = parseExposition(res.body.toString('utf8'), {
        format: formatFromContentType(res.contentType),
        wantFamily: (f) => FAMILIES.has(f),
      });
      const snapshot = tokenSnapshot(page, req.scrape.modelName);
      if (snapshot.prompt === undefined || snapshot.generation === undefined) {
        return {
          error: `pod ${pod.name} (${url.href}): no ${snapshot.prompt === undefined ? PROMPT_TOKENS_METRIC : GENERATION_TOKENS_METRIC} histogram on the page`,
        };
      }
      return { snapshot };
    } catch (err) {
      const what =
        err instanceof ExpositionError
          ? `unparsable page: ${err.message}`
          : err instanceof Error
            ? err.message
            : String(err);
      return { error: `pod ${pod.name} (${url.href}): ${what}` };
    }
  }
}
