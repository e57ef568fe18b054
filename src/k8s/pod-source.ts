/**
 * PodSource over a pod informer: every tick of every PodAutoscaler filters one shared in-memory
 * cache by its target's selector, instead of listing pods from the apiserver each time. When the
 * cache cannot be trusted (never synced, or the watch has been down for longer than `maxStaleMs`)
 * the call falls back to a direct LIST, so a broken watch costs API calls, not wrong decisions.
 */
import type * as k8s from '@kubernetes/client-node';
import type { PodInfo, PodSource } from '../engine/seams.js';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import { Informer, type InformerOptions } from './informer.js';
import { parseSelector, type Selector } from './selector.js';
import { wrapApiError } from './client.js';

const PHASES = new Set<PodInfo['phase']>(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);

function toMs(t: unknown): number | undefined {
  if (t instanceof Date) return t.getTime();
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** V1Pod (typed from a LIST, or plain JSON from a watch event) → PodInfo. */
export function toPodInfo(pod: k8s.V1Pod): PodInfo {
  const meta = pod.metadata ?? {};
  const phase = PHASES.has(pod.status?.phase as PodInfo['phase'])
    ? (pod.status!.phase as PodInfo['phase'])
    : 'Unknown';
  const ready = (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const info: PodInfo = {
    name: meta.name ?? '',
    namespace: meta.namespace ?? '',
    phase,
    ready,
    terminating: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
    labels: { ...(meta.labels ?? {}) },
  };
  const ip = pod.status?.podIP;
  if (ip) info.ip = ip;
  const created = toMs(meta.creationTimestamp);
  if (created !== undefined) info.createdAtMs = created;
  return info;
}

export interface KubePodSourceOptions {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  /** Watch only this namespace; undefined watches all namespaces (needs cluster-wide pod list/watch). */
  namespace?: string;
  /** Server-side label selector for the informer (e.g. only inference pods). */
  labelSelector?: string;
  log?: Logger;
  /** Use a direct LIST when the watch has been down this long. Default 30 s. */
  maxStaleMs?: number;
  /** How long list() waits for the first sync before listing directly. Default 10 s. */
  syncTimeoutMs?: number;
  informer?: Partial<
    Pick<
      InformerOptions<k8s.V1Pod, PodInfo>,
      'relistIntervalMs' | 'watchdogMs' | 'backoff' | 'watchTimeoutSeconds'
    >
  >;
}

export class KubePodSource implements PodSource {
  readonly informer: Informer<k8s.V1Pod, PodInfo>;
  private readonly selectors = new Map<string, Selector>();
  private readonly log: Logger;
  private readonly maxStaleMs: number;
  private readonly syncTimeoutMs: number;
  /** Direct LISTs made because the cache was not usable (for metrics and tests). */
  directLists = 0;

  constructor(private readonly o: KubePodSourceOptions) {
    this.log = o.log ?? silentLogger();
    this.maxStaleMs = o.maxStaleMs ?? 30_000;
    this.syncTimeoutMs = o.syncTimeoutMs ?? 10_000;
    const ns = o.namespace;
    this.informer = new Informer<k8s.V1Pod, PodInfo>({
      name: ns ? `pods(${ns})` : 'pods',
      kc: o.kc,
      path: ns ? `/api/v1/namespaces/${encodeURIComponent(ns)}/pods` : '/api/v1/pods',
      list: () =>
        ns
          ? o.core.listNamespacedPod({ namespace: ns, labelSelector: o.labelSelector })
          : o.core.listPodForAllNamespaces({ labelSelector: o.labelSelector }),
      labelSelector: o.labelSelector,
      transform: toPodInfo,
      log: this.log,
      ...o.informer,
    });
  }

  start(): void {
    this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  async list(namespace: string, selector: string): Promise<PodInfo[]> {
    const sel = this.selector(selector);
    if (this.o.namespace !== undefined && this.o.namespace !== namespace) {
      // Outside the watched namespace: nothing cached for it.
      return this.directList(namespace, sel, `namespace ${namespace} is not watched`);
    }
    if (!this.informer.hasSynced) {
      try {
        await this.informer.waitForSync(this.syncTimeoutMs);
      } catch (err) {
        return this.directList(namespace, sel, (err as Error).message);
      }
    }
    if (!this.informer.watching && this.informer.staleForMs() > this.maxStaleMs) {
      return this.directList(
        namespace,
        sel,
        `pod watch down for ${Math.round(this.informer.staleForMs() / 1000)} s`,
      );
    }
    return this.informer.list(namespace).filter((p) => sel.matches(p.labels));
  }

  private selector(text: string): Selector {
    let sel = this.selectors.get(text);
    if (!sel) {
      // Throws SelectorParseError with the position; the engine reports it as a list-pods failure.
      sel = parseSelector(text);
      if (this.selectors.size > 1000) this.selectors.clear();
      this.selectors.set(text, sel);
    }
    return sel;
  }

  private async directList(namespace: string, sel: Selector, why: string): Promise<PodInfo[]> {
    this.directLists++;
    this.log.debug({ namespace, selector: sel.text, why }, 'listing pods directly');
    try {
      const list = await this.o.core.listNamespacedPod({ namespace, labelSelector: sel.text || undefined });
      // The server applied the selector; filter again so the outcome cannot depend on the path taken.
      return list.items.map(toPodInfo).filter((p) => sel.matches(p.labels));
    } catch (err) {
      throw wrapApiError('list pods', `namespace ${namespace} selector "${sel.text}"`, err);
    }
  }
}
