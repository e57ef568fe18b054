/**
 * A scriptable loopback HTTP "apiserver" for informer and adapter unit tests: each test decides
 * what LIST and WATCH requests get, including the failure modes client-node's ListWatch mishandles
 * (500 on watch, streams closed at once, silent streams, 410 Gone).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';

export interface WatchStream {
  query: URLSearchParams;
  send(type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR', object: unknown): void;
  end(): void;
  readonly closed: boolean;
}

export interface FakeApiserverHandlers {
  /** LIST: respond with a status and body (default 200 and the body). */
  list?: (url: URL) => { status?: number; body: unknown };
  /** WATCH: respond with a status code, or 200 and a stream that the test drives. */
  watch?: (stream: WatchStream) => number | void;
  /** Anything else. */
  other?: (req: http.IncomingMessage, url: URL, body: string) => { status: number; body: unknown };
}

export interface FakeApiserver {
  url: string;
  kc: k8s.KubeConfig;
  requests: { method: string; url: string; watch: boolean }[];
  streams: WatchStream[];
  handlers: FakeApiserverHandlers;
  close(): Promise<void>;
}

export async function startFakeApiserver(handlers: FakeApiserverHandlers = {}): Promise<FakeApiserver> {
  const requests: FakeApiserver['requests'] = [];
  const streams: WatchStream[] = [];
  const open = new Set<http.ServerResponse>();
  const state = { handlers };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const watch = url.searchParams.get('watch') === 'true';
    requests.push({ method: req.method ?? 'GET', url: url.pathname + url.search, watch });
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const json = (status: number, payload: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (watch) {
        let closed = false;
        const stream: WatchStream = {
          query: url.searchParams,
          send(type, object) {
            if (!closed) res.write(`${JSON.stringify({ type, object })}\n`);
          },
          end() {
            if (closed) return;
            closed = true;
            open.delete(res);
            res.end();
          },
          get closed() {
            return closed;
          },
        };
        res.on('close', () => {
          closed = true;
          open.delete(res);
        });
        const status = state.handlers.watch?.(stream) ?? 200;
        if (status !== 200)
          return json(status, { kind: 'Status', code: status, message: `watch failed with ${status}` });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        res.flushHeaders();
        open.add(res);
        streams.push(stream);
        return;
      }
      if (req.method === 'GET' && state.handlers.list && !state.handlers.other) {
        const r = state.handlers.list(url);
        return json(r.status ?? 200, r.body);
      }
      if (state.handlers.other) {
        const r = state.handlers.other(req, url, body);
        return json(r.status, r.body);
      }
      if (req.method === 'GET' && state.handlers.list) {
        const r = state.handlers.list(url);
        return json(r.status ?? 200, r.body);
      }
      json(404, { kind: 'Status', code: 404, message: 'not found' });
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return {
    url,
    kc,
    requests,
    streams,
    get handlers() {
      return state.handlers;
    },
    set handlers(h: FakeApiserverHandlers) {
      state.handlers = h;
    },
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export function pod(
  name: string,
  rv: string,
  opts: {
    labels?: Record<string, string>;
    ready?: boolean;
    phase?: string;
    ip?: string;
    namespace?: string;
    deleting?: boolean;
  } = {},
): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: opts.namespace ?? 'ns',
      resourceVersion: rv,
      labels: opts.labels ?? { app: 'llm' },
      creationTimestamp: '2026-01-01T00:00:00Z' as unknown as Date,
      ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:01:00Z' as unknown as Date } : {}),
    },
    status: {
      phase: opts.phase ?? 'Running',
      ...(opts.ip ? { podIP: opts.ip } : {}),
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    },
  };
}
