/**
 * What the apiserver says happened to a workload, recorded from watches: every change of a
 * Deployment's `spec.replicas` (with its resourceVersion and the field manager that owns
 * spec.replicas), and every pod's life (first seen, Ready, terminating, gone). Replica timelines,
 * scale-up/scale-down assertions and replica-seconds are computed from this record.
 */
import * as k8s from '@kubernetes/client-node';
import { Informer } from '../../../src/k8s/informer.js';

export interface ReplicaChange {
  atMs: number;
  replicas: number;
  resourceVersion: string;
  /** The manager that last wrote spec.replicas (managedFields), when known. */
  manager: string | undefined;
}

export interface PodLife {
  name: string;
  /** First seen (wall ms), i.e. created by the ReplicaSet controller. */
  seenMs: number;
  /** First seen Ready. */
  readyMs?: number;
  /** deletionTimestamp first seen (scale-down started its drain). */
  terminatingMs?: number;
  /** Gone from the apiserver (drained and confirmed by the stand-in). */
  goneMs?: number;
}

interface DeploymentView {
  name: string;
  replicas: number;
  resourceVersion: string;
  manager: string | undefined;
}

interface PodView {
  name: string;
  ready: boolean;
  deleting: boolean;
}

function replicasManager(d: k8s.V1Deployment): string | undefined {
  // The entry whose fieldsV1 owns f:spec.f:replicas (the /scale subresource writes show up so).
  for (const m of d.metadata?.managedFields ?? []) {
    const spec = (m.fieldsV1 as { 'f:spec'?: Record<string, unknown> } | undefined)?.['f:spec'];
    if (spec && 'f:replicas' in spec) return m.manager;
  }
  return undefined;
}

export class WorkloadRecorder {
  private readonly deployments: Informer<k8s.V1Deployment, DeploymentView>;
  private readonly pods: Informer<k8s.V1Pod, PodView>;
  private readonly changes = new Map<string, ReplicaChange[]>();
  private readonly lives = new Map<string, PodLife>();

  constructor(
    kc: k8s.KubeConfig,
    readonly namespace: string,
    /** Pods of these apps (label `app`) are followed. */
    apps: string[],
  ) {
    const apps1 = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = encodeURIComponent(namespace);
    const backoff = { initialMs: 100, maxMs: 1_000 };
    this.deployments = new Informer<k8s.V1Deployment, DeploymentView>({
      name: `e2e-deployments(${namespace})`,
      kc,
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      list: () => apps1.listNamespacedDeployment({ namespace }),
      transform: (d) => ({
        name: d.metadata?.name ?? '',
        replicas: d.spec?.replicas ?? 0,
        resourceVersion: d.metadata?.resourceVersion ?? '',
        manager: replicasManager(d),
      }),
      backoff,
    });
    const selector = `app in (${apps.join(',')})`;
    this.pods = new Informer<k8s.V1Pod, PodView>({
      name: `e2e-pods(${namespace})`,
      kc,
      path: `/api/v1/namespaces/${ns}/pods`,
      list: () => core.listNamespacedPod({ namespace, labelSelector: selector }),
      labelSelector: selector,
      transform: (p) => ({
        name: p.metadata?.name ?? '',
        ready: (p.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'),
        deleting: !!p.metadata?.deletionTimestamp,
      }),
      backoff,
    });
    const onDeployment = (d: DeploymentView) => {
      const list = this.changes.get(d.name) ?? [];
      if (list.at(-1)?.replicas !== d.replicas) {
        list.push({
          atMs: Date.now(),
          replicas: d.replicas,
          resourceVersion: d.resourceVersion,
          manager: d.manager,
        });
      }
      this.changes.set(d.name, list);
    };
    this.deployments.on('add', onDeployment);
    this.deployments.on('update', onDeployment);
    const onPod = (p: PodView) => {
      const now = Date.now();
      let life = this.lives.get(p.name);
      if (!life) {
        life = { name: p.name, seenMs: now };
        this.lives.set(p.name, life);
      }
      if (p.ready && life.readyMs === undefined) life.readyMs = now;
      if (p.deleting && life.terminatingMs === undefined) life.terminatingMs = now;
    };
    this.pods.on('add', onPod);
    this.pods.on('update', onPod);
    this.pods.on('delete', (p) => {
      const life = this.lives.get(p.name);
      if (life && life.goneMs === undefined) life.goneMs = Date.now();
    });
  }

  async start(): Promise<void> {
    this.deployments.start();
    this.pods.start();
    await Promise.all([this.deployments.waitForSync(30_000), this.pods.waitForSync(30_000)]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.deployments.stop(), this.pods.stop()]);
  }

  /** spec.replicas of a Deployment over time, one entry per change (the first is its value at start). */
  replicas(deployment: string): ReplicaChange[] {
    return [...(this.changes.get(deployment) ?? [])];
  }

  /** Pods of `app` (name prefix `<app>-`), in order of appearance. */
  podLives(app: string): PodLife[] {
    return [...this.lives.values()]
      .filter((l) => l.name.startsWith(`${app}-`))
      .sort((a, b) => a.seenMs - b.seenMs);
  }

  /**
   * Pod-seconds of `app` between `fromMs` and `toMs` (wall): each pod counts from creation to gone
   * (drain included), as a GPU would be paid for.
   */
  podSeconds(app: string, fromMs: number, toMs: number): number {
    let total = 0;
    for (const l of this.podLives(app)) {
      const a = Math.max(l.seenMs, fromMs);
      const b = Math.min(l.goneMs ?? toMs, toMs);
      if (b > a) total += b - a;
    }
    return total / 1000;
  }
}

/** The largest value a timeline reaches in [fromMs, toMs]. */
export function peakBetween(changes: readonly ReplicaChange[], fromMs: number, toMs: number): number {
  let peak = valueAt(changes, fromMs);
  for (const ch of changes) if (ch.atMs >= fromMs && ch.atMs <= toMs) peak = Math.max(peak, ch.replicas);
  return peak;
}

/** The timeline's value at `tMs` (the last change at or before it; the first value before any). */
export function valueAt(changes: readonly ReplicaChange[], tMs: number): number {
  let v = changes[0]?.replicas ?? 0;
  for (const ch of changes) if (ch.atMs <= tMs) v = ch.replicas;
  return v;
}

/** `r0@+0.0s → r1@+3.2s …` relative to `t0Ms`, for failure messages and the printed report. */
export function formatTimeline(changes: readonly ReplicaChange[], t0Ms: number): string {
  return changes.map((c) => `${c.replicas}@${((c.atMs - t0Ms) / 1000).toFixed(1)}s`).join(' → ');
}
