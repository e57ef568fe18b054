/**
 * Instruments around the controller's seams for e2e tests: a MetricSource that records every read
 * (one per tick per metric, so its times are the tick times), a ScaleTarget that records every write
 * and can inject a concurrent writer between the read and the write, a clock running faster than
 * the wall (to pair with the emulator's speed-up), and an HTTP proxy in front of a pod's /metrics
 * that can be made to fail.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  Clock,
  MetricReading,
  MetricRequest,
  MetricSource,
  ScaleTarget,
} from '../../../src/engine/seams.js';
import type { ScaleTargetRef } from '../../../src/api/resolved.js';
import type { LoopMetricSource } from '../../../src/controller/loop-parts.js';

export interface MetricRead {
  /** The engine's clock at the tick. */
  nowMs: number;
  /** Wall clock when the read returned. */
  wallMs: number;
  owner: string;
  pods: string[];
  /** Pod values (undefined: missing) or the global value. */
  values: Record<string, number | undefined>;
  errors: string[];
}

/** Wraps a MetricSource; `reads` lists every read in order. */
export class RecordingMetricSource implements LoopMetricSource {
  readonly reads: MetricRead[] = [];
  constructor(private readonly inner: LoopMetricSource) {}

  async read(req: MetricRequest): Promise<MetricReading> {
    const r = await this.inner.read(req);
    const values: Record<string, number | undefined> = {};
    if (r.sample?.scope === 'pods') for (const p of r.sample.pods) values[p.pod] = p.value;
    else if (r.sample?.scope === 'global') values[''] = r.sample.value;
    for (const p of req.pods) if (!(p.name in values)) values[p.name] = undefined;
    this.reads.push({
      nowMs: req.nowMs,
      wallMs: Date.now(),
      owner: `${req.owner.namespace}/${req.owner.name}`,
      pods: req.pods.map((p) => p.name),
      values,
      errors: [...r.errors],
    });
    return r;
  }

  forget(owner: { namespace: string; name: string }): void {
    this.inner.forget?.(owner);
  }

  readsOf(namespace: string, name: string): MetricRead[] {
    return this.reads.filter((r) => r.owner === `${namespace}/${name}`);
  }
}

export interface ScaleSetRecord {
  wallMs: number;
  namespace: string;
  target: string;
  replicas: number;
  ok: boolean;
  error?: string;
}

/**
 * Wraps a ScaleTarget and records every set(). `beforeSet`, when given, runs between the engine's
 * read and the write (e.g. another writer bumping the target's resourceVersion).
 */
export class RecordingScaleTarget implements ScaleTarget {
  readonly sets: ScaleSetRecord[] = [];
  beforeSet: ((namespace: string, ref: ScaleTargetRef, replicas: number) => Promise<void>) | undefined;

  constructor(private readonly inner: ScaleTarget) {}

  get(namespace: string, ref: ScaleTargetRef) {
    return this.inner.get(namespace, ref);
  }

  async set(namespace: string, ref: ScaleTargetRef, replicas: number): Promise<void> {
    const hook = this.beforeSet;
    if (hook) await hook(namespace, ref, replicas);
    const rec: ScaleSetRecord = { wallMs: Date.now(), namespace, target: ref.name, replicas, ok: false };
    try {
      await this.inner.set(namespace, ref, replicas);
      rec.ok = true;
    } catch (err) {
      rec.error = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      rec.wallMs = Date.now();
      this.sets.push(rec);
    }
  }
}

/**
 * A clock whose time runs `speedup` times faster than the wall from `originMs` on: with emulators
 * at `--speedup S` and the load replayed S times faster, the controller's windows (stable, panic,
 * stabilisation, metric TTL) then span the same model time as in the simulator.
 */
export function spedUpClock(originMs: number, speedup: number): Clock {
  return { now: () => originMs + (Date.now() - originMs) * speedup };
}

export type ProxyMode = 'pass' | 'error' | 'hang';

export interface MetricsProxy {
  readonly url: string;
  mode: ProxyMode;
  /** Requests answered with the upstream page. */
  passed: number;
  /** Requests failed on purpose. */
  failed: number;
  close(): Promise<void>;
}

/**
 * Listens on `ip:port` and forwards GET /metrics to `ip:upstreamPort` (the emulator), unless `mode`
 * says to fail: `error` answers 500, `hang` never answers (the scraper's timeout fires). A pod then
 * stays Ready and keeps serving requests while its metrics are unavailable.
 */
export async function startMetricsProxy(
  ip: string,
  port: number,
  upstreamPort: number,
): Promise<MetricsProxy> {
  const hanging = new Set<http.ServerResponse>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const proxy: MetricsProxy = {
    url: `http://${ip}:${port}`,
    mode: 'pass',
    passed: 0,
    failed: 0,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req, res) => {
    if (proxy.mode === 'error') {
      proxy.failed++;
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('injected failure');
      return;
    }
    if (proxy.mode === 'hang') {
      proxy.failed++;
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    const up = http.get(
      { host: ip, port: upstreamPort, path: req.url ?? '/metrics', agent, timeout: 2_000 },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        proxy.passed++;
      },
    );
    up.on('timeout', () => up.destroy(new Error('upstream timeout')));
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: ip, port, exclusive: true }, () => resolve());
  });
  if ((server.address() as AddressInfo).port !== port) throw new Error('metrics proxy bound the wrong port');
  return proxy;
}

/** Re-exported for tests that wrap sources of their own. */
export type { MetricSource };
