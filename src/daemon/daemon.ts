/**
 * `inferscale daemon`: the controller's scaling loop without the CRD. The PodAutoscalers come
 * from a file (see config.ts) instead of the apiserver; each is ticked on its own timer through the
 * same ScalingEngine and the same Kubernetes adapters (/scale, pod informer). There is no status
 * to write: decisions go to the logs, to Prometheus (`inferscale_desired_replicas`) and, unless
 * disabled, to Events on the scale target.
 *
 * The file is reloaded when it changes. A reload that fails validation changes nothing: the last
 * good configuration keeps running and the error is logged with every problem found.
 */
import { ScalingEngine } from '../engine/engine.js';
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import type { Logger } from '../observability/log.js';
import { forPodAutoscaler, silentLogger } from '../observability/log.js';
import { currentNamespace, loadKubeConfig, makeClients } from '../k8s/client.js';
import { KubePodSource } from '../k8s/pod-source.js';
import { KubeScaleTarget } from '../k8s/scale-target.js';
import { KubeEventRecorder, type EventSink } from '../k8s/events.js';
import { defaultIdentity, type LeaderElector } from '../k8s/leader.js';
import { TickScheduler } from '../controller/scheduler.js';
import type { AutoscalerMetrics } from '../controller/metrics.js';
import {
  autoscalerMetrics,
  leaderOnlyWrites,
  leaseElector,
  realClock,
  type LeaderElectionOptions,
  type ScalingLoopHandle,
  type ScalingLoopOptions,
} from '../controller/loop-parts.js';
import { recordTickMetrics, tickEvents } from '../controller/report.js';
import { loadTargets } from './config.js';
import { watchFile, type FileWatcher } from './watch.js';

export interface DaemonOptions extends ScalingLoopOptions {
  /** The targets file. */
  configPath: string;
  /** Namespace for objects that name none. Default: the kubeconfig context's namespace. */
  defaultNamespace?: string;
  /** Watch pods in this namespace only. Default: all namespaces. */
  podNamespace?: string;
  /** Optional Lease election, for running two daemons on one file. */
  leaderElection?: LeaderElectionOptions;
  /** File watching (tests shorten these). */
  watch?: { debounceMs?: number; pollMs?: number };
}

export interface ReloadResult {
  ok: boolean;
  errors: string[];
  added: string[];
  removed: string[];
  changed: string[];
}

export interface DaemonHandle extends ScalingLoopHandle {
  /** The configuration in effect (the last good one). */
  podAutoscalers(): ResolvedPodAutoscaler[];
  /** Re-reads the file now; on error keeps the current configuration. */
  reload(): Promise<ReloadResult>;
}

export async function startDaemon(o: DaemonOptions): Promise<DaemonHandle> {
  const d = new Daemon(o);
  await d.start();
  return d;
}

class Daemon implements DaemonHandle {
  readonly engine: ScalingEngine;
  readonly metrics: AutoscalerMetrics;
  private readonly log: Logger;
  private readonly pods: KubePodSource;
  private readonly scheduler: TickScheduler;
  private readonly events: EventSink | undefined;
  private readonly elector: LeaderElector | undefined;
  private readonly defaultNamespace: string;
  private current = new Map<string, { pa: ResolvedPodAutoscaler; json: string }>();
  private watcher: FileWatcher | undefined;
  private leading = false;
  private loaded = false;
  private reloadChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: DaemonOptions) {
    this.log = (o.log ?? silentLogger()).child({ component: 'daemon' });
    const kc =
      o.kubeConfig ??
      loadKubeConfig({ kubeconfig: o.kubeconfig, context: o.context, inCluster: o.inCluster });
    const clients = makeClients(kc);
    this.defaultNamespace = o.defaultNamespace ?? currentNamespace(kc);
    this.metrics = autoscalerMetrics(o.metricsRegistry);
    this.pods = new KubePodSource({
      kc,
      core: clients.core,
      namespace: o.podNamespace,
      labelSelector: o.podLabelSelector,
      log: this.log,
      informer: o.informer,
    });
    const scale =
      o.scaleTarget ?? new KubeScaleTarget({ clients, log: this.log, writeMode: o.scaleWriteMode });
    const guarded = leaderOnlyWrites(
      scale,
      () => this.leading,
      () => new Error('not the leader: writes are disabled'),
    );
    this.engine = new ScalingEngine({
      clock: o.clock ?? realClock,
      pods: this.pods,
      metrics: o.metrics,
      scale: guarded,
      log: this.log,
    });
    this.scheduler = new TickScheduler({
      periodMs: o.periodMs ?? 15_000,
      concurrency: o.concurrency,
      run: (k) => this.tick(k),
      log: this.log,
    });
    const identity = o.leaderElection?.identity ?? defaultIdentity();
    if (o.events !== false)
      this.events = new KubeEventRecorder(clients.core, 'inferscale-daemon', identity, this.log);
    if (o.leaderElection) {
      this.elector = leaseElector(clients, o.leaderElection, {
        defaultName: 'inferscale-daemon',
        identity,
        log: this.log,
        onStartedLeading: () => this.lead(),
        onStoppedLeading: () => this.standBy(),
      });
    }
  }

  podAutoscalers(): ResolvedPodAutoscaler[] {
    return [...this.current.values()].map((e) => e.pa);
  }

  ready(): boolean {
    return this.loaded && this.pods.informer.hasSynced;
  }

  isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    const first = await this.reload();
    if (!first.ok) {
      throw new Error(`invalid configuration, not starting:\n  ${first.errors.join('\n  ')}`);
    }
    this.pods.start();
    this.watcher = await watchFile(
      this.o.configPath,
      () => {
        this.log.info({ file: this.o.configPath }, 'configuration file changed; reloading');
        void this.reload();
      },
      {
        ...this.o.watch,
        onError: (err) => this.log.warn({ err: err.message }, 'file watch failed; relying on polling'),
      },
    );
    if (this.elector) this.elector.start();
    else this.lead();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    if (this.elector) await this.elector.stop();
    else await this.standBy();
    await this.scheduler.stop();
    await this.pods.stop();
    this.log.info('daemon stopped');
  }

  private lead(): void {
    this.leading = true;
    this.metrics.leader.set(1);
    this.scheduler.resume();
  }

  private async standBy(): Promise<void> {
    this.leading = false;
    this.metrics.leader.set(0);
    await this.scheduler.pause();
  }

  reload(): Promise<ReloadResult> {
    // Serialise reloads: a burst of file events must not interleave two applications.
    const next = this.reloadChain.then(() => this.reloadNow());
    this.reloadChain = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(): Promise<ReloadResult> {
    const parsed = await loadTargets(this.o.configPath, this.defaultNamespace);
    for (const w of parsed.warnings) this.log.warn({ file: this.o.configPath }, w);
    if (!parsed.ok) {
      this.metrics.configReloads.inc({ result: 'error' });
      this.log.error(
        { file: this.o.configPath, errors: parsed.errors },
        this.loaded
          ? `configuration rejected (${parsed.errors.length} problem(s)); still running the last good one`
          : `configuration rejected (${parsed.errors.length} problem(s))`,
      );
      return { ok: false, errors: parsed.errors, added: [], removed: [], changed: [] };
    }
    const next = new Map(
      parsed.podAutoscalers.map((pa) => [`${pa.namespace}/${pa.name}`, { pa, json: JSON.stringify(pa) }]),
    );
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    for (const key of this.current.keys()) {
      if (!next.has(key)) {
        removed.push(key);
        const [namespace, name] = key.split('/') as [string, string];
        this.scheduler.remove(key);
        this.engine.forget(namespace, name);
        this.o.metrics.forget?.({ namespace, name });
        this.metrics.forget(namespace, name);
      }
    }
    for (const [key, entry] of next) {
      const prior = this.current.get(key);
      if (!prior) added.push(key);
      else if (prior.json !== entry.json) changed.push(key);
    }
    this.current = next;
    for (const key of added) this.scheduler.add(key);
    for (const key of changed) this.scheduler.trigger(key);
    this.loaded = true;
    this.metrics.configReloads.inc({ result: 'success' });
    this.metrics.podAutoscalers.set({ state: 'known' }, next.size);
    this.log.info(
      { file: this.o.configPath, podAutoscalers: next.size, added, removed, changed },
      'configuration loaded',
    );
    return { ok: true, errors: [], added, removed, changed };
  }

  private async tick(key: string): Promise<void> {
    const entry = this.current.get(key);
    if (!entry || !this.leading) return;
    const dryRun = entry.pa.dryRun || !!this.o.dryRun;
    const pa = dryRun === entry.pa.dryRun ? entry.pa : { ...entry.pa, dryRun };
    const log = forPodAutoscaler(this.log, pa.namespace, pa.name);
    const started = Date.now();
    const result = await this.engine.tick(pa);
    recordTickMetrics(this.metrics, pa.namespace, pa.name, result, Date.now() - started, dryRun);
    const d = result.decision;
    log.info(
      {
        current: result.currentReplicas,
        desired: result.desiredReplicas,
        scaled: result.scaled,
        dryRun,
        ...(d ? { reason: d.reason, algorithm: d.algorithm } : {}),
        ...(result.error ? { error: result.error } : {}),
      },
      'tick',
    );
    if (!this.events) return;
    const ref = pa.scaleTargetRef;
    for (const e of tickEvents(result, dryRun)) {
      await this.events.record(
        { apiVersion: ref.apiVersion, kind: ref.kind, namespace: pa.namespace, name: ref.name },
        e.type,
        e.reason,
        `[PodAutoscaler ${pa.namespace}/${pa.name}] ${e.message}`,
      );
    }
  }
}
