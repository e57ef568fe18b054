/**
 * One bounded HTTP(S) GET: a total time limit (connect + headers + body), a body size limit, no
 * redirects, keep-alive through the caller's agent. Shared by the pod scraper, the external source
 * and `inferscale scrape`.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import zlib from 'node:zlib';

export type FetchErrorKind = 'timeout' | 'status' | 'redirect' | 'too-large' | 'network' | 'aborted';

export class FetchError extends Error {
  readonly kind: FetchErrorKind;
  readonly status?: number;
  constructor(kind: FetchErrorKind, message: string, status?: number) {
    super(message);
    this.name = 'FetchError';
    this.kind = kind;
    if (status !== undefined) this.status = status;
  }
}

export interface FetchOptions {
  /** Whole request, from connect to the last body byte. */
  timeoutMs: number;
  /** Decoded body size limit. */
  maxBytes: number;
  agent?: http.Agent | https.Agent;
  headers?: Record<string, string>;
  /** DNS resolution hook (the SSRF guard pins the checked address with it). */
  lookup?: LookupFunction;
  /** https: verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
  ca?: string | Buffer;
  signal?: AbortSignal;
}

export interface FetchResult {
  status: number;
  contentType: string | undefined;
  body: string;
}

export interface FetchBytesResult {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

/** What we ask engines for: text 0.0.4 first (no `# EOF` needed), OpenMetrics accepted. */
export const EXPOSITION_ACCEPT =
  'text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1';

export async function fetchText(url: URL, opts: FetchOptions): Promise<FetchResult> {
  const res = await fetchBytes(url, opts);
  return { status: res.status, contentType: res.contentType, body: res.body.toString('utf8') };
}

/** Like `fetchText`, without decoding the body (the pod scraper decodes only what it needs). */
export function fetchBytes(url: URL, opts: FetchOptions): Promise<FetchBytesResult> {
  return new Promise<FetchBytesResult>((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') {
      reject(new FetchError('network', `unsupported scheme ${url.protocol} (use http or https)`));
      return;
    }
    let settled = false;
    const finish = (err: Error | undefined, result?: FetchBytesResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(result!);
    };
    // Plain options rather than the URL object: http.request would convert it on every call.
    const requestOptions: https.RequestOptions = {
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === '' ? (isHttps ? 443 : 80) : Number(url.port),
      path: url.pathname + url.search,
      method: 'GET',
      headers: { Accept: EXPOSITION_ACCEPT, 'Accept-Encoding': 'identity', ...opts.headers },
    };
    if (opts.agent !== undefined) requestOptions.agent = opts.agent;
    if (opts.lookup !== undefined) requestOptions.lookup = opts.lookup;
    if (isHttps) {
      if (opts.rejectUnauthorized !== undefined) requestOptions.rejectUnauthorized = opts.rejectUnauthorized;
      if (opts.ca !== undefined) requestOptions.ca = opts.ca;
    }
    const req = (isHttps ? https : http).request(requestOptions, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.resume();
        finish(
          new FetchError(
            'redirect',
            `HTTP ${status} redirect to ${res.headers.location ?? '(no Location)'}; redirects are not followed`,
            status,
          ),
        );
        return;
      }
      const encoding = (res.headers['content-encoding'] ?? 'identity').toLowerCase();
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > opts.maxBytes) {
          finish(new FetchError('too-large', `response larger than ${opts.maxBytes} bytes`));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (e) => finish(new FetchError('network', e.message)));
      res.on('end', () => {
        if (settled) return;
        let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        if (encoding === 'gzip' || encoding === 'deflate') {
          try {
            buf =
              encoding === 'gzip'
                ? zlib.gunzipSync(buf, { maxOutputLength: opts.maxBytes })
                : zlib.inflateSync(buf, { maxOutputLength: opts.maxBytes });
          } catch (e) {
            finish(new FetchError('too-large', `cannot decode ${encoding} body: ${(e as Error).message}`));
            return;
          }
        } else if (encoding !== 'identity') {
          finish(new FetchError('network', `unsupported Content-Encoding ${encoding}`));
          return;
        }
        if (status < 200 || status >= 300) {
          const snippet = buf.toString('utf8', 0, 200).replace(/\s+/g, ' ').trim();
          finish(new FetchError('status', `HTTP ${status}${snippet ? `: ${snippet}` : ''}`, status));
          return;
        }
        finish(undefined, { status, contentType: res.headers['content-type'], body: buf });
      });
    });
    const timer = setTimeout(
      () => {
        finish(new FetchError('timeout', `no complete response within ${opts.timeoutMs} ms`));
        req.destroy();
      },
      Math.max(0, opts.timeoutMs),
    );
    const onAbort = (): void => {
      finish(new FetchError('aborted', 'aborted'));
      req.destroy();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) => finish(new FetchError('network', describeNetworkError(e))));
    req.end();
  });
}

function describeNetworkError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listening on that port?)';
    case 'ECONNRESET':
      return 'connection reset by the server';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENOTFOUND':
      return `host not found (${e.message})`;
    default:
      return e.message;
  }
}
