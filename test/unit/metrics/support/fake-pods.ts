/**
 * Emulated engine pods on loopback for scraper tests: one HTTP(S) server per pod, each on its own
 * 127.0.0.x address and all on the same port (pods differ by IP, as in a cluster). Each pod's
 * behaviour can be switched between scrapes to inject faults.
 */
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { PodInfo } from '../../../../src/engine/seams.js';
import { readyPod } from '../../../support/pod-info.js';

export type Behaviour =
  | { kind: 'page'; body: () => string; contentType?: string }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'delay'; ms: number; body: () => string };

export interface FakePod {
  name: string;
  ip: string;
  behaviour: Behaviour;
  requests: number;
  paths: string[];
  connections: number;
}

export interface FakePods {
  port: number;
  pods: FakePod[];
  /** Max requests being served at once across all pods. */
  maxInFlight: number;
  info(overrides?: Partial<PodInfo>[]): PodInfo[];
  close(): Promise<void>;
}

export async function startFakePods(
  count: number,
  initial: (i: number) => Behaviour,
  tls?: { key: string; cert: string },
): Promise<FakePods> {
  const servers: http.Server[] = [];
  const sockets = new Set<Socket>();
  const pods: FakePod[] = [];
  let port = 0;
  let inFlight = 0;
  const state = { maxInFlight: 0 };
  for (let i = 0; i < count; i++) {
    const pod: FakePod = {
      name: `pod-${i}`,
      ip: `127.0.0.${i + 2}`,
      behaviour: initial(i),
      requests: 0,
      paths: [],
      connections: 0,
    };
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      pod.requests++;
      pod.paths.push(req.url ?? '');
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      const b = pod.behaviour;
      switch (b.kind) {
        case 'page':
          res.writeHead(200, { 'Content-Type': b.contentType ?? 'text/plain; version=0.0.4; charset=utf-8' });
          res.end(b.body());
          break;
        case 'status':
          res.writeHead(b.status, b.headers);
          res.end(b.body ?? '');
          break;
        case 'hang':
          break; // never answer; the client's timeout must fire
        case 'delay':
          setTimeout(() => {
            res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
            res.end(b.body());
          }, b.ms);
          break;
      }
    };
    const server = tls
      ? https.createServer({ key: tls.key, cert: tls.cert }, handler)
      : http.createServer(handler);
    server.on('connection', (s: Socket) => {
      pod.connections++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    server.listen(port, pod.ip);
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    servers.push(server);
    pods.push(pod);
  }
  return {
    port,
    pods,
    get maxInFlight() {
      return state.maxInFlight;
    },
    info(overrides = []) {
      return pods.map((p, i) => readyPod(p.name, { namespace: 'ns', ip: p.ip, ...overrides[i] }));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
