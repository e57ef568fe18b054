/**
 * The health and metrics HTTP server of the controller and the daemon:
 *   GET /metrics  inferscale's registry (text format 0.0.4)
 *   GET /healthz  200 while the process serves requests (liveness)
 *   GET /readyz   200 when `ready()` says so, else 503 (readiness: caches synced, leader or standby)
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultMetrics, type InferscaleMetrics } from './metrics.js';

export interface HealthServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Default 0.0.0.0: the kubelet and Prometheus reach the pod IP. */
  host?: string;
  ready: () => boolean;
  metrics?: InferscaleMetrics;
}

export interface HealthServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const metrics = opts.metrics ?? defaultMetrics();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    const text = (status: number, body: string): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    switch (path) {
      case '/healthz':
        text(200, 'ok\n');
        return;
      case '/readyz': {
        let ready = false;
        try {
          ready = opts.ready();
        } catch {
          ready = false;
        }
        text(ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n');
        return;
      }
      case '/metrics':
        metrics.render().then(
          ({ contentType, body }) => {
            res.writeHead(200, { 'Content-Type': contentType });
            res.end(req.method === 'HEAD' ? undefined : body);
          },
          (err: unknown) =>
            text(500, `collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
        );
        return;
      default:
        text(404, 'not found: try /metrics, /healthz or /readyz\n');
    }
  });
  // Scrapers and probes open short connections; do not let an idle one hold shutdown up.
  server.keepAliveTimeout = 5000;
  server.listen(opts.port, opts.host ?? '0.0.0.0');
  try {
    await once(server, 'listening'); // rejects on 'error'
  } catch (err) {
    throw new Error(
      `health server cannot listen on ${opts.host ?? '0.0.0.0'}:${opts.port}: ${(err as Error).message}`,
    );
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    port: addr.port,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
