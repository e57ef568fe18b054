/**
 * `inferscale daemon`: the controller's scaling loop without the CRD. The PodAutoscalers come
 * from a file (see config.ts) instead of the apiserver; each is ticked on its own timer through the
 * same engines as in the controller (ScalingEngine for KPA/APA/HPA, ModelGroupEngine for OPTIMIZER;
 * see loop.ts) and the same Kubernetes adapters (/scale, pod informer). There is no status to
 * write: decisions go to the logs, to Prometheus (`inferscale_desired_replicas`) and, unless
 * disabled, to Events on the scale targets. With `--state-file` the decision state that the
 * controller keeps in status goes to a file instead (decision-store.ts).
 *
 * The file is reloaded when it changes. A reload that fails validation changes nothing: the last
 * good configuration keeps running and the error is logged with every problem found.
 */
import type { ScalingEngine } from '../engine/engine.js';
import type { ModelGroupEngine } from '../engine/model-group.js';
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import { currentNamespace, loadKubeConfig, makeClients } from '../k8s/client.js';
import { KubePodSource } from '../k8s/pod-source.js';
import { KubeScaleTarget } from '../k8s/scale-target.js';
import { KubeEventRecorder } from '../k8s/events.js';
import { defaultIdentity, type LeaderElector } from '../k8s/leader.js';
import { TickScheduler } from '../controller/scheduler.js';
import type { AutoscalerMetrics } from '../controller/metrics.js';
import {
  autoscalerMetrics,
  leaderOnlyWrites,
  leaseElector,
  loopEngines,
  realClock,
  type LeaderElectionOptions,
  type LoopEngines,
  type ScalingLoopHandle,
  type ScalingLoopOptions,
} from '../controller/loop-parts.js';
import { loadTargets } from './config.js';
import { DaemonLoop } from './loop.js';
import { watchFile, type FileWatcher } from './watch.js';
import { DecisionStore } from './decision-store.js';
import { assertStateFileWritable } from './state-file.js';

export interface DaemonOptions extends ScalingLoopOptions {
  /** The targets file. */
  configPath: string;
  /** Namespace for objects that name none. Default: the kubeconfig context's namespace. */
  defaultNamespace?: string;
  /** Watch pods in this namespace only. Default: all namespaces. */
  podNamespace?: string;
  /** Optional Lease election, for running two daemons on one file. */
  leaderElection?: LeaderElectionOptions;
  /**
   * `--state-file`: where the decision state of every KPA/APA/HPA PodAutoscaler is checkpointed
   * and restored from after a restart. Absent: no persistence (every start is cold).
   */
  stateFile?: string;
  /** `--state-checkpoint-interval` in ms (default 15 s); 0: only the checkpoint on shutdown. */
  stateCheckpointMs?: number;
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
  readonly modelGroups: ModelGroupEngine;
  readonly metrics: AutoscalerMetrics;
  private readonly log: Logger;
  private readonly pods: KubePodSource;
  private readonly engines: LoopEngines;
  private readonly scheduler: TickScheduler;
  private readonly loop: DaemonLoop;
  private readonly elector: LeaderElector | undefined;
  private readonly store: DecisionStore | undefined;
  private readonly defaultNamespace: string;
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
    this.engines = loopEngines({
      clock: o.clock ?? realClock,
      pods: this.pods,
      metrics: o.metrics,
      scale: guarded,
      log: this.log,
      tokens: o.tokens,
      profiles: o.profiles,
    });
    this.engine = this.engines.engine;
    this.modelGroups = this.engines.modelGroups;
    this.scheduler = new TickScheduler({
      periodMs: o.periodMs ?? 15_000,
      concurrency: o.concurrency,
      run: (k) => (this.leading ? this.loop.tick(k) : Promise.resolve()),
      log: this.log,
    });
    if (o.stateFile !== undefined) {
      this.store = new DecisionStore({
        path: o.stateFile,
        intervalMs: o.stateCheckpointMs ?? 15_000,
        engine: this.engine,
        clock: o.clock ?? realClock,
        log: this.log,
        podAutoscalers: () => this.loop.podAutoscalers(),
      });
    }
    const identity = o.leaderElection?.identity ?? defaultIdentity();
    this.loop = new DaemonLoop({
      engines: this.engines,
      stats: this.metrics,
      metrics: o.metrics,
      schedule: this.scheduler,
      ...(o.events !== false
        ? { events: new KubeEventRecorder(clients.core, 'inferscale-daemon', identity, this.log) }
        : {}),
      log: this.log,
      dryRun: o.dryRun,
      ...(this.store ? { state: this.store } : {}),
    });
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
    return this.loop.podAutoscalers();
  }

  ready(): boolean {
    return this.loaded && this.pods.informer.hasSynced;
  }

  isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    if (this.store) {
      await assertStateFileWritable(this.o.stateFile!);
      await this.store.load();
    }
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
    // Only the daemon that ticked has state worth keeping; a standby would overwrite the file.
    const wasLeading = this.leading;
    if (this.elector) await this.elector.stop();
    else await this.standBy();
    await this.scheduler.stop();
    if (wasLeading) await this.store?.close();
    await this.pods.stop();
    this.engines.close();
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
    const { added, removed, changed } = this.loop.apply(parsed.podAutoscalers);
    this.loaded = true;
    this.metrics.configReloads.inc({ result: 'success' });
    const count = parsed.podAutoscalers.length;
    this.metrics.podAutoscalers.set({ state: 'known' }, count);
    this.log.info(
      { file: this.o.configPath, podAutoscalers: count, added, removed, changed },
      'configuration loaded',
    );
    return { ok: true, errors: [], added, removed, changed };
  }
}
