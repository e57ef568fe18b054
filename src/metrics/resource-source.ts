/**
 * The `resource` and `custom` metric sources, both served by the apiserver's aggregation layer.
 *
 * resource: CPU and memory from `metrics.k8s.io` (metrics-server), one list per namespace and tick
 * (AIBrix asks once per pod). CPU is millicores and memory bytes, summed over the pod's containers
 * as AIBrix does; `Utilization` (percent of requests, the HPA meaning) needs the pods' resource
 * requests, which a pod listing does not carry here: the caller supplies them through `requestsOf`,
 * and without it a Utilization target has no value (with an error saying why).
 *
 * custom: a per-pod metric from `custom.metrics.k8s.io` (e.g. prometheus-adapter), read as a
 * float. AIBrix rounds it up to an integer (W-13); 0.3 stays 0.3 here.
 *
 * Failures, missing pods and stale readings are missing values, never 0 (AIBrix W-3).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { PodSample } from '../../algorithms/types.js';
import type { MetricReading, MetricRequest, MetricSource, PodInfo } from '../engine/seams.js';
import { rawRequest } from '../k8s/client.js';

/** The GET this module needs from the apiserver. */
export interface KubeGet {
  get(path: string, timeoutMs: number): Promise<{ status: number; json: unknown; text: string }>;
}

/** A `KubeGet` through the kubeconfig's server, credentials and TLS settings. */
export function kubeGet(kc: KubeConfig): KubeGet {
  return { get: (path, timeoutMs) => rawRequest(kc, 'GET', path, { timeoutMs }) };
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes resource.Quantity (`250m`, `1.5Gi`, `12e3`, `100n`) in base units. */
export function parseQuantity(q: string): number {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+))?([a-zA-Z]*)$/.exec(q.trim());
  const mult = m === null ? undefined : SUFFIX[m[3]!];
  if (m === null || mult === undefined) throw new Error(`"${q}" is not a Kubernetes quantity`);
  return Number(m[1]) * 10 ** Number(m[2] ?? 0) * mult;
}

const PodMetricsListSchema = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string() }),
      timestamp: z.string().optional(),
      window: z.string().optional(),
      containers: z.array(z.object({ name: z.string(), usage: z.record(z.string(), z.string()) })),
    }),
  ),
});

const MetricValueListSchema = z.object({
  items: z.array(
    z.object({
      describedObject: z.object({ kind: z.string().optional(), name: z.string() }),
      timestamp: z.string().optional(),
      value: z.string(),
    }),
  ),
});

export interface ResourceRequests {
  /** Summed container requests: CPU in millicores, memory in bytes. */
  cpu?: number;
  memory?: number;
}

export interface ResourceSourceOptions {
  api: KubeGet;
  /** Per-request limit, further capped by the read's deadline (default 3000 ms). */
  timeoutMs?: number;
  /** Readings older than this are stale (default 120 s; metrics-server resolves every 15–60 s). */
  staleAfterMs?: number;
  /** Container requests of a pod, for `Utilization` targets. */
  requestsOf?: (pod: PodInfo) => ResourceRequests | undefined;
  onScrape?: (seconds: number, ok: boolean) => void;
}

function budget(req: MetricRequest, timeoutMs: number | undefined): number {
  return Math.max(1, Math.floor(Math.min(timeoutMs ?? 3000, req.deadlineMs - req.nowMs)));
}

/** Readings older than this are stale unless the options say otherwise. */
const DEFAULT_STALE_AFTER_MS = 120_000;

function failed(message: string): MetricReading {
  return { sample: undefined, errors: [message] };
}

/** Pods expected to have a value: running, ready and not on their way out. */
function serving(pod: PodInfo): boolean {
  return pod.phase === 'Running' && pod.ready && !pod.terminating;
}

/**
 * Runs one API read and reports its duration and outcome to `onScrape`; a failed read becomes a
 * reading with its message.
 */
async function timedRead<T>(
  onScrape: ((seconds: number, ok: boolean) => void) | undefined,
  read: () => Promise<T>,
): Promise<{ value: T } | { failure: MetricReading }> {
  const t0 = performance.now();
  let value: T;
  try {
    value = await read();
  } catch (err) {
    onScrape?.((performance.now() - t0) / 1000, false);
    return { failure: failed(err instanceof Error ? err.message : String(err)) };
  }
  onScrape?.((performance.now() - t0) / 1000, true);
  return { value };
}

/** The body of a 2xx answer as `schema` describes it; anything else throws, naming the path. */
function parseBody<T>(
  path: string,
  res: { status: number; json: unknown; text: string },
  schema: z.ZodType<T>,
  kind: string,
): T {
  if (res.status < 200 || res.status >= 300) throw new Error(statusMessage(path, res.status, res.text));
  const parsed = schema.safeParse(res.json);
  if (!parsed.success) throw new Error(`${path}: not a ${kind}: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

function statusMessage(what: string, status: number, text: string): string {
  let detail = text.slice(0, 200);
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') detail = m;
  } catch {
    // not JSON
  }
  return `${what}: HTTP ${status}${detail ? `: ${detail}` : ''}`;
}

export class ResourceSource implements MetricSource {
  constructor(private readonly opts: ResourceSourceOptions) {}

  async read(req: MetricRequest): Promise<MetricReading> {
    const { source } = req;
    if (source.type !== 'resource')
      return failed(`resource source cannot read a ${source.type} metric source`);
    const resource = source.targetMetric.trim().toLowerCase();
    if (resource !== 'cpu' && resource !== 'memory') {
      return failed(
        `resource metric "${source.targetMetric}" is not supported: use cpu (millicores) or memory (bytes)`,
      );
    }
    const path = `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(req.owner.namespace)}/pods`;
    const read = await timedRead(this.opts.onScrape, async () => {
      const res = await this.opts.api.get(path, budget(req, this.opts.timeoutMs));
      if (res.status === 404) {
        throw new Error(`${path}: HTTP 404: metrics.k8s.io is not served (is metrics-server installed?)`);
      }
      return parseBody(path, res, PodMetricsListSchema, 'PodMetricsList');
    });
    if ('failure' in read) return read.failure;

    const byName = new Map(read.value.items.map((i) => [i.metadata.name, i]));
    const staleAfterMs = this.opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    const errors: string[] = [];
    const pods: PodSample[] = [];
    for (const pod of req.pods.filter(serving)) {
      const item = byName.get(pod.name);
      const missing = (why: string): void => {
        errors.push(`pod ${pod.namespace}/${pod.name}: ${why}`);
        pods.push({ pod: pod.name, ready: true, value: undefined });
      };
      if (item === undefined) {
        missing('no PodMetrics yet (metrics-server has not scraped it)');
        continue;
      }
      if (item.timestamp !== undefined) {
        const age = req.nowMs - Date.parse(item.timestamp);
        if (Number.isFinite(age) && age > staleAfterMs) {
          missing(
            `PodMetrics is ${(age / 1000).toFixed(0)} s old (stale after ${(staleAfterMs / 1000).toFixed(0)} s)`,
          );
          continue;
        }
      }
      let usage = 0;
      try {
        for (const c of item.containers) {
          const q = c.usage[resource];
          if (q === undefined) throw new Error(`container ${c.name} reports no ${resource} usage`);
          usage += resource === 'cpu' ? parseQuantity(q) * 1000 : parseQuantity(q);
        }
      } catch (err) {
        missing((err as Error).message);
        continue;
      }
      if (item.containers.length === 0) {
        missing('PodMetrics lists no containers');
        continue;
      }
      if (source.targetType === 'Utilization') {
        const request = this.opts.requestsOf?.(pod)?.[resource];
        if (request === undefined || !(request > 0)) {
          missing(
            `Utilization needs the pod's ${resource} requests, which are not available; set container requests and give the resource source a requestsOf lookup, or use AverageValue (${resource === 'cpu' ? 'millicores' : 'bytes'})`,
          );
          continue;
        }
        pods.push({ pod: pod.name, ready: true, value: (usage / request) * 100 });
      } else {
        pods.push({ pod: pod.name, ready: true, value: usage });
      }
    }
    return { sample: { scope: 'pods', pods }, errors };
  }
}

export interface CustomMetricsSourceOptions {
  api: KubeGet;
  timeoutMs?: number;
  staleAfterMs?: number;
  onScrape?: (seconds: number, ok: boolean) => void;
}

export class CustomMetricsSource implements MetricSource {
  constructor(private readonly opts: CustomMetricsSourceOptions) {}

  async read(req: MetricRequest): Promise<MetricReading> {
    const { source } = req;
    if (source.type !== 'custom') return failed(`custom source cannot read a ${source.type} metric source`);
    const ns = encodeURIComponent(req.owner.namespace);
    const metric = encodeURIComponent(source.targetMetric.trim());
    const read = await timedRead(this.opts.onScrape, async () => {
      let lastError = '';
      for (const version of ['v1beta2', 'v1beta1']) {
        const path = `/apis/custom.metrics.k8s.io/${version}/namespaces/${ns}/pods/*/${metric}`;
        const res = await this.opts.api.get(path, budget(req, this.opts.timeoutMs));
        if (res.status === 404) {
          lastError = statusMessage(path, res.status, res.text);
          continue;
        }
        return parseBody(path, res, MetricValueListSchema, 'MetricValueList');
      }
      throw new Error(
        `${lastError} (is a custom metrics adapter installed and does it serve "${source.targetMetric}"?)`,
      );
    });
    if ('failure' in read) return read.failure;
    const byName = new Map(read.value.items.map((i) => [i.describedObject.name, i]));
    const staleAfterMs = this.opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    const errors: string[] = [];
    const pods: PodSample[] = [];
    for (const pod of req.pods.filter(serving)) {
      const item = byName.get(pod.name);
      let value: number | undefined;
      let why: string | undefined;
      if (item === undefined) why = `no value of ${source.targetMetric} from the custom metrics API`;
      else {
        const age = item.timestamp !== undefined ? req.nowMs - Date.parse(item.timestamp) : 0;
        if (Number.isFinite(age) && age > staleAfterMs)
          why = `value is ${(age / 1000).toFixed(0)} s old (stale)`;
        else {
          try {
            value = parseQuantity(item.value);
          } catch (err) {
            why = (err as Error).message;
          }
        }
      }
      if (why !== undefined) errors.push(`pod ${pod.namespace}/${pod.name}: ${why}`);
      pods.push({ pod: pod.name, ready: true, value });
    }
    return { sample: { scope: 'pods', pods }, errors };
  }
}
