/**
 * The PodAutoscaler controller: watches PodAutoscalers (ours, and AIBrix's with `aibrixCompat`),
 * resolves each one, and runs the ScalingEngine on it every period through the Kubernetes
 * adapters. Only the lease holder acts; a standby keeps its caches warm and takes over within one
 * lease duration, resuming from the decision state checkpointed in status (decision-state.ts), or
 * else rebuilding its stabilisation memory from the status history (rebuild.ts).
 *
 * Per PodAutoscaler tick:
 *   resolve → invalid: ValidSpec=False + a Warning event, nothing else (never a crash)
 *           → conflict (another, older PodAutoscaler owns the same target): condition, no writes
 *           → engine.tick (read /scale, list pods from the informer, read metrics, decide, write)
 *   → status (merge-patch of /status, only when something significant changed, every
 *     `statusRefreshMs`, or as a decision-state checkpoint: status-cadence.ts), Events, Prometheus
 *     series.
 *
 * Status writes do not re-trigger a tick: only a change of generation, annotations or deletion
 * does (AIBrix re-reconciles on its own status writes, so its scaling compounds, W-11).
 */
import type * as k8s from '@kubernetes/client-node';
import type { Clock } from '../engine/seams.js';
import type { ScalingEngine, TickResult } from '../engine/engine.js';
import { initialPipelineState } from '../engine/pipeline.js';
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import { resolvePodAutoscaler, formatIssues } from '../api/resolve.js';
import { AIBRIX_GROUP, INFERSCALE_GROUP, VERSION } from '../api/defaults.js';
import type { DecisionState, InferscaleStatus } from '../api/schema.js';
import type { Logger } from '../observability/log.js';
import { forPodAutoscaler, silentLogger } from '../observability/log.js';
import {
  apiErrorCode,
  errorMessage,
  loadKubeConfig,
  makeClients,
  mergePatch,
  rawRequest,
  type KubeClients,
} from '../k8s/client.js';
import { Informer } from '../k8s/informer.js';
import { KubePodSource } from '../k8s/pod-source.js';
import { KubeScaleTarget } from '../k8s/scale-target.js';
import { defaultIdentity, type LeaderElector } from '../k8s/leader.js';
import { KubeEventRecorder, type EventSink, type EventType, type InvolvedObject } from '../k8s/events.js';
import { TickScheduler } from './scheduler.js';
import { ConflictRegistry, claimedTargets } from './conflicts.js';
import {
  computeStatus,
  shapeForGroup,
  significantlyDifferent,
  type NativeHpaStatus,
  type TickOutcome,
} from './status.js';
import { buildHpa, hpaName, ownedBy, specDiffers } from './native-hpa.js';
import { behaviorStateFromStatus } from './rebuild.js';
import { decodeDecisionState, encodeDecisionState } from './decision-state.js';
import { statusWriteReason } from './status-cadence.js';
import type { AutoscalerMetrics } from './metrics.js';
import { groupTickEvents, recordGroupTickMetrics, recordTickMetrics, tickEvents } from './report.js';
import type { ModelGroupEngine } from '../engine/model-group.js';
import { computeGroupStatus } from './group-status.js';
import {
  autoscalerMetrics,
  leaderOnlyWrites,
  leaseElector,
  loopEngines,
  realClock,
  type LoopEngines,
  type LeaderElectionOptions,
  type ScalingLoopHandle,
  type ScalingLoopOptions,
} from './loop-parts.js';

export type { LeaderElectionOptions } from './loop-parts.js';

export const PLURAL = 'podautoscalers';

/** A PodAutoscaler as the apiserver returns it (plain JSON). */
export interface PodAutoscalerObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
  };
  spec?: unknown;
  status?: InferscaleStatus;
}

export interface ControllerOptions extends ScalingLoopOptions {
  /** Watch PodAutoscalers and pods in this namespace only. Default: all namespaces. */
  namespace?: string;
  /** Also serve autoscaling.aibrix.ai/v1alpha1 PodAutoscalers. */
  aibrixCompat?: boolean;
  /** Lease-based leader election; `false` runs as the only instance. */
  leaderElection: LeaderElectionOptions | false;
  /** Rewrite an unchanged status at least this often (fresh lastDecision/currentMetrics). Default 60 s. */
  statusRefreshMs?: number;
  /**
   * Also write status when the decision state changed and this long passed since the last write,
   * so that `status.decisionState` stays younger than the windows it carries. 0 turns decision
   * state persistence off (no snapshot is written or restored). Default 15 s.
   */
  stateCheckpointMs?: number;
  /** How long start waits for caches before giving up. Default 60 s. */
  syncTimeoutMs?: number;
  /**
   * `in-process` (default): the HPA strategy runs in the engine like KPA and APA. `native`: it is
   * carried out by a generated autoscaling/v2 HorizontalPodAutoscaler owned by the PodAutoscaler.
   */
  hpaMode?: 'in-process' | 'native';
}

export interface ControllerHandle extends ScalingLoopHandle {
  readonly identity: string;
  /** Runs one tick of one PodAutoscaler now (leader only); for tests and debugging. */
  reconcileNow(namespace: string, name: string, group?: string): Promise<void>;
}

export async function startController(o: ControllerOptions): Promise<ControllerHandle> {
  const c = new Controller(o);
  await c.start();
  return c;
}

interface Memory {
  uid: string | undefined;
  /** Generation + annotations seen last; a change re-triggers a tick. */
  specKey: string;
  /** Status we last wrote (fresher than the cache right after a write). */
  status?: InferscaleStatus;
  statusWrittenMs?: number;
  /** Last outcome, to send transition events once (invalid, conflict). */
  lastProblem?: string;
  warningsKey?: string;
  /** uid|generation|mode for which we checked that no stale generated HPA is left. */
  hpaCleanKey?: string;
  /** OPTIMIZER: the last non-plan outcome, to send its event once. */
  groupProblem?: string;
  /** The decision state in the status we last wrote ('' for none), to tell whether it changed. */
  stateKey?: string;
  /** The snapshot could not be encoded last time (warned once until it can again). */
  snapshotFailed?: boolean;
}

/** What a tick's status write does with `status.decisionState`. */
interface Snapshot {
  /** Undefined: remove the field (persistence off, or the state cannot be encoded). */
  value: DecisionState | undefined;
  /** The state it was taken from, as JSON ('' for none). */
  key: string;
}

/** One reconcile of one PodAutoscaler: what its steps (status, events, HPA clean-up) share. */
interface Reconciling {
  key: string;
  raw: PodAutoscalerObject;
  group: string;
  involved: InvolvedObject;
  /** Status as last written (ours, else the cache's). */
  prev: InferscaleStatus | undefined;
  generation: number | undefined;
  nowMs: number;
  log: Logger;
}

class NotLeaderError extends Error {
  constructor() {
    super('not the leader: writes are disabled on a standby');
  }
}

export class Controller implements ControllerHandle {
  readonly identity: string;
  readonly engine: ScalingEngine;
  readonly metrics: AutoscalerMetrics;
  readonly modelGroups: ModelGroupEngine;
  private readonly engines: LoopEngines;
  private readonly log: Logger;
  private readonly clients: KubeClients;
  private readonly clock: Clock;
  private readonly groups: string[];
  private readonly paInformers = new Map<string, Informer<PodAutoscalerObject, PodAutoscalerObject>>();
  private readonly pods: KubePodSource;
  private readonly scheduler: TickScheduler;
  private readonly conflicts = new ConflictRegistry();
  private readonly memory = new Map<string, Memory>();
  private readonly events: EventSink | undefined;
  private readonly elector: LeaderElector | undefined;
  private readonly statusRefreshMs: number;
  private readonly checkpointMs: number;
  private leading = false;
  private stopped = false;

  constructor(private readonly o: ControllerOptions) {
    this.log = (o.log ?? silentLogger()).child({ component: 'controller' });
    this.clock = o.clock ?? realClock;
    const kc =
      o.kubeConfig ??
      loadKubeConfig({ kubeconfig: o.kubeconfig, context: o.context, inCluster: o.inCluster });
    this.clients = makeClients(kc);
    this.identity = o.leaderElection ? (o.leaderElection.identity ?? defaultIdentity()) : defaultIdentity();
    this.metrics = autoscalerMetrics(o.metricsRegistry);
    this.statusRefreshMs = o.statusRefreshMs ?? 60_000;
    this.checkpointMs = o.stateCheckpointMs ?? 15_000;
    this.groups = o.aibrixCompat ? [INFERSCALE_GROUP, AIBRIX_GROUP] : [INFERSCALE_GROUP];

    this.pods = new KubePodSource({
      kc,
      core: this.clients.core,
      namespace: o.namespace,
      labelSelector: o.podLabelSelector,
      log: this.log,
      informer: o.informer,
    });
    const scale =
      o.scaleTarget ??
      new KubeScaleTarget({ clients: this.clients, log: this.log, writeMode: o.scaleWriteMode });
    const guardedScale = leaderOnlyWrites(
      scale,
      () => this.leading,
      () => new NotLeaderError(),
    );
    this.engines = loopEngines({
      clock: this.clock,
      pods: this.pods,
      metrics: o.metrics,
      scale: guardedScale,
      log: this.log,
      tokens: o.tokens,
      profiles: o.profiles,
    });
    this.engine = this.engines.engine;
    this.modelGroups = this.engines.modelGroups;
    this.scheduler = new TickScheduler({
      periodMs: o.periodMs ?? 15_000,
      concurrency: o.concurrency,
      run: (key) => this.reconcile(key),
      log: this.log,
    });
    if (o.events !== false) {
      this.events = new KubeEventRecorder(
        this.clients.core,
        'inferscale-controller',
        this.identity,
        this.log,
      );
    }
    for (const group of this.groups) this.paInformers.set(group, this.makePaInformer(group));
    if (o.leaderElection) {
      this.elector = leaseElector(this.clients, o.leaderElection, {
        defaultName: 'inferscale-controller',
        identity: this.identity,
        log: this.log,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: (reason) => this.stopLeading(reason),
      });
    }
  }

  isLeader(): boolean {
    return this.leading;
  }

  ready(): boolean {
    return [...this.paInformers.values()].every((i) => i.hasSynced) && this.pods.informer.hasSynced;
  }

  async start(): Promise<void> {
    await this.preflight();
    this.pods.start();
    for (const inf of this.paInformers.values()) inf.start();
    const timeout = this.o.syncTimeoutMs ?? 60_000;
    try {
      await Promise.all([
        this.pods.informer.waitForSync(timeout),
        ...[...this.paInformers.values()].map((i) => i.waitForSync(timeout)),
      ]);
    } catch (err) {
      await this.stop();
      throw new Error(`controller could not start: ${errorMessage(err)}`, { cause: err });
    }
    this.log.info(
      {
        identity: this.identity,
        groups: this.groups,
        namespace: this.o.namespace ?? '(all)',
        dryRun: !!this.o.dryRun,
      },
      'caches synced',
    );
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  /** Fails fast, with the fix, when a served group's CRD is not installed (instead of a sync timeout). */
  private async preflight(): Promise<void> {
    for (const group of this.groups) {
      let status: number;
      try {
        status = (await rawRequest(this.clients.kc, 'GET', `/apis/${group}/${VERSION}`)).status;
      } catch {
        continue; // unreachable apiserver: the informers retry and the sync timeout reports it
      }
      if (status === 404) {
        const hint =
          group === INFERSCALE_GROUP
            ? 'install it with `kubectl apply -k config/crd`'
            : "install AIBrix's CRD, or run without --aibrix-compat";
        throw new Error(`the apiserver does not serve ${group}/${VERSION} (no PodAutoscaler CRD): ${hint}`);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Step down first (no more writes), then release the lease, then close the watches.
    if (this.elector) await this.elector.stop();
    else await this.stopLeading('shutting down');
    await this.scheduler.stop();
    await Promise.all([this.pods.stop(), ...[...this.paInformers.values()].map((i) => i.stop())]);
    this.engines.close();
    this.log.info('controller stopped');
  }

  private startLeading(): void {
    if (this.stopped) return;
    this.leading = true;
    this.metrics.leader.set(1);
    // Memory of an earlier term may be outdated after another leader's: start from status, which
    // the last leader kept current (decision state is restored from it at each first tick).
    for (const [key, m] of this.memory) {
      delete m.status;
      delete m.statusWrittenMs;
      delete m.lastProblem;
      delete m.stateKey;
      const { namespace, name } = parseKey(key);
      this.engine.forget(namespace, name);
    }
    this.log.info({ podAutoscalers: this.scheduler.keys().length }, 'leading: ticking PodAutoscalers');
    this.scheduler.resume();
  }

  private async stopLeading(reason: string): Promise<void> {
    const was = this.leading;
    this.leading = false;
    this.metrics.leader.set(0);
    await this.scheduler.pause();
    if (was) this.log.warn({ reason }, 'not leading: ticks paused');
  }

  async reconcileNow(namespace: string, name: string, group = INFERSCALE_GROUP): Promise<void> {
    await this.reconcile(keyOf(group, namespace, name));
  }

  private makePaInformer(group: string): Informer<PodAutoscalerObject, PodAutoscalerObject> {
    const ns = this.o.namespace;
    const custom = this.clients.custom;
    const inf = new Informer<PodAutoscalerObject, PodAutoscalerObject>({
      name: `${PLURAL}.${group}`,
      kc: this.clients.kc,
      path: ns
        ? `/apis/${group}/${VERSION}/namespaces/${encodeURIComponent(ns)}/${PLURAL}`
        : `/apis/${group}/${VERSION}/${PLURAL}`,
      list: async () =>
        (ns
          ? await custom.listNamespacedCustomObject({
              group,
              version: VERSION,
              namespace: ns,
              plural: PLURAL,
            })
          : await custom.listClusterCustomObject({ group, version: VERSION, plural: PLURAL })) as {
          items: PodAutoscalerObject[];
          metadata?: { resourceVersion?: string };
        },
      transform: (raw) => raw,
      log: this.log,
      ...this.o.informer,
    });
    const onUpsert = (obj: PodAutoscalerObject) => {
      const key = keyOf(group, obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
      const specKey = `${obj.metadata?.uid}|${obj.metadata?.generation}|${JSON.stringify(obj.metadata?.annotations ?? {})}|${obj.metadata?.deletionTimestamp ?? ''}`;
      const mem = this.memory.get(key);
      if (!mem || mem.uid !== obj.metadata?.uid) {
        this.memory.set(key, { uid: obj.metadata?.uid, specKey });
        if (mem) this.forget(key, obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''); // re-created
        this.scheduler.add(key);
        this.scheduler.trigger(key);
      } else if (mem.specKey !== specKey) {
        mem.specKey = specKey;
        this.scheduler.trigger(key);
      }
      this.updateCounts();
    };
    inf.on('add', onUpsert);
    inf.on('update', onUpsert);
    inf.on('delete', (obj) => {
      const ns2 = obj.metadata?.namespace ?? '';
      const name = obj.metadata?.name ?? '';
      const key = keyOf(group, ns2, name);
      this.scheduler.remove(key);
      this.memory.delete(key);
      this.forget(key, ns2, name);
      this.log.info({ namespace: ns2, name, group }, 'PodAutoscaler deleted; state dropped');
      this.updateCounts();
    });
    return inf;
  }

  /** Drops every piece of state of a PodAutoscaler (AIBrix leaks it, W-19). */
  private forget(key: string, namespace: string, name: string): void {
    this.releaseClaims(key);
    this.engine.forget(namespace, name);
    this.modelGroups.forget(namespace, name);
    this.metrics.forget(namespace, name);
    this.o.metrics.forget?.({ namespace, name });
  }

  /** Drops `key`'s claims on scale targets; whoever else claims them is looked at again. */
  private releaseClaims(key: string): void {
    const held = this.conflicts.release(key);
    for (const other of this.conflicts.claimants(held)) this.scheduler.trigger(other);
  }

  private updateCounts(): void {
    let known = 0;
    for (const inf of this.paInformers.values()) known += inf.size;
    let invalid = 0;
    let conflict = 0;
    for (const m of this.memory.values()) {
      if (m.lastProblem?.startsWith('invalid:')) invalid++;
      else if (m.lastProblem?.startsWith('conflict:')) conflict++;
    }
    this.metrics.podAutoscalers.set({ state: 'known' }, known);
    this.metrics.podAutoscalers.set({ state: 'invalid' }, invalid);
    this.metrics.podAutoscalers.set({ state: 'conflict' }, conflict);
  }

  private async reconcile(key: string): Promise<void> {
    const { group, namespace, name } = parseKey(key);
    const raw = this.paInformers.get(group)?.get(namespace, name);
    if (!raw) {
      this.scheduler.remove(key);
      return;
    }
    if (!this.leading || this.stopped) return;
    const log = forPodAutoscaler(this.log, namespace, name);
    const mem = this.memory.get(key) ?? { uid: raw.metadata?.uid, specKey: '' };
    this.memory.set(key, mem);
    const involved: InvolvedObject = {
      apiVersion: raw.apiVersion ?? `${group}/${VERSION}`,
      kind: 'PodAutoscaler',
      namespace,
      name,
      ...(raw.metadata?.uid ? { uid: raw.metadata.uid } : {}),
    };
    const nowMs = this.clock.now();
    const prev = mem.status ?? raw.status;
    const generation = raw.metadata?.generation;
    const rc: Reconciling = { key, raw, group, involved, prev, generation, nowMs, log };

    if (raw.metadata?.deletionTimestamp) return; // being deleted: leave it alone

    const resolved = resolvePodAutoscaler(raw);
    if (!resolved.ok) {
      this.releaseClaims(key);
      this.engine.forget(namespace, name);
      const problem = `invalid:${formatIssues(resolved.issues)}`;
      if (mem.lastProblem !== problem) {
        log.warn({ issues: resolved.issues }, 'invalid PodAutoscaler; not scaling');
        await this.event(
          involved,
          'Warning',
          'InvalidSpec',
          formatIssues(resolved.issues).replace(/\n/g, '; '),
        );
        mem.lastProblem = problem;
        this.updateCounts();
      }
      await this.writeStatus(rc, { kind: 'invalid', issues: resolved.issues });
      await this.cleanupHpa(rc, 'invalid');
      return;
    }
    const pa = resolved.value;
    const warningsKey = formatIssues(resolved.warnings, 'warning');
    if (warningsKey && mem.warningsKey !== warningsKey) {
      log.warn({ warnings: resolved.warnings }, 'PodAutoscaler accepted with warnings');
      mem.warningsKey = warningsKey;
    }

    // Conflicts: the oldest PodAutoscaler on a target owns it; a model group claims every
    // Deployment it writes. A name clash across the two groups is a conflict too (the engine keys
    // its state by namespace/name).
    const claims = claimedTargets(pa);
    const dropped = this.conflicts.claim(
      key,
      claims.map((c) => c.key),
      Date.parse(raw.metadata?.creationTimestamp ?? '') || 0,
    );
    for (const other of this.conflicts.claimants(dropped, key)) this.scheduler.trigger(other);
    const conflict = this.conflicts.conflictOf(key);
    let owner = conflict?.owner;
    let tk = conflict?.target ?? claims[0]!.key;
    if (group === AIBRIX_GROUP && this.paInformers.get(INFERSCALE_GROUP)?.get(namespace, name)) {
      owner = keyOf(INFERSCALE_GROUP, namespace, name);
      tk = claims[0]!.key;
    }
    if (owner !== undefined && owner !== key) {
      const ownerName = parseKey(owner);
      const ownerText = `${ownerName.namespace}/${ownerName.name} (${ownerName.group})`;
      const problem = `conflict:${owner}`;
      if (mem.lastProblem !== problem) {
        const field = claims.find((c) => c.key === tk)?.field ?? 'spec.scaleTargetRef';
        log.warn(
          { target: tk, field, owner: ownerText },
          'scale target owned by another PodAutoscaler; not scaling',
        );
        await this.event(
          involved,
          'Warning',
          'MultiPodAutoscalerConflict',
          `Scaling target ${tk} (${field}) is already controlled by PodAutoscaler ${ownerText}; this one does not write it`,
        );
        mem.lastProblem = problem;
        this.updateCounts();
      }
      this.engine.forget(namespace, name);
      await this.writeStatus(rc, { kind: 'conflict', owner: ownerText, targetKey: tk });
      await this.cleanupHpa(rc, 'conflict');
      return;
    }
    if (mem.lastProblem !== undefined) {
      mem.lastProblem = undefined;
      this.updateCounts();
    }

    if (pa.strategy === 'OPTIMIZER') {
      await this.cleanupHpa(rc, 'in-process');
      await this.reconcileModelGroup(rc, pa);
      return;
    }

    if (this.o.hpaMode === 'native' && pa.strategy === 'HPA') {
      await this.reconcileNativeHpa(rc, pa);
      return;
    }
    await this.cleanupHpa(rc, 'in-process');

    const dryRun = pa.dryRun || !!this.o.dryRun;
    const effective: ResolvedPodAutoscaler = dryRun === pa.dryRun ? pa : { ...pa, dryRun };
    this.restoreState(effective, raw.status, nowMs, log);

    const started = Date.now();
    const result = await this.engine.tick(effective);
    recordTickMetrics(this.metrics, namespace, name, result, Date.now() - started, dryRun);
    for (const e of tickEvents(result, dryRun)) await this.event(involved, e.type, e.reason, e.message);
    // The stabilisation window's extremes go into lastDecision.details so that the next leader
    // can rebuild them (rebuild.ts).
    const b = result.decision?.behavior;
    const withExtra: TickResult =
      result.decision && b
        ? {
            ...result,
            decision: {
              ...result.decision,
              details: {
                ...result.decision.details,
                upRecommendation: b.upRecommendation,
                downRecommendation: b.downRecommendation,
              },
            },
          }
        : result;
    await this.writeStatus(
      rc,
      { kind: 'tick', pa: effective, result: withExtra, dryRun },
      this.snapshotOf(rc, mem, effective, result.timeMs),
    );
  }

  /**
   * The decision state to write with this tick's status. Undefined for the AIBrix group, whose CRD
   * (AIBrix's own) has no such field: those objects keep the rebuild from history.
   */
  private snapshotOf(
    rc: Reconciling,
    mem: Memory,
    pa: ResolvedPodAutoscaler,
    tickMs: number,
  ): Snapshot | undefined {
    if (rc.group !== INFERSCALE_GROUP) return undefined;
    const none: Snapshot = { value: undefined, key: '' };
    const state = this.checkpointMs > 0 ? this.engine.exportState(pa.namespace, pa.name) : undefined;
    if (!state) return none;
    const encoded = encodeDecisionState(pa, state, tickMs);
    if (!encoded.ok) {
      if (!mem.snapshotFailed) {
        rc.log.warn(
          { reason: encoded.reason },
          'decision state not persisted; after a failover the stabilisation state is rebuilt from status history',
        );
      }
      mem.snapshotFailed = true;
      return none;
    }
    mem.snapshotFailed = false;
    if (encoded.trimmed.length > 0) {
      rc.log.debug({ trimmed: encoded.trimmed }, 'decision state snapshot trimmed to its caps');
    }
    return { value: encoded.value, key: JSON.stringify(state) };
  }

  /**
   * Deletes the HPA generated for this PodAutoscaler when it no longer wants one (another strategy,
   * invalid, in conflict, or in-process mode): AIBrix leaves it scaling the target (W-17). Checked
   * once per uid, generation and outcome, so it costs one GET per spec change, not per tick.
   */
  private async cleanupHpa(rc: Reconciling, why: string): Promise<void> {
    const { key, raw, involved, log } = rc;
    const mem = this.memory.get(key);
    const uid = raw.metadata?.uid;
    if (!mem || !uid) return;
    const checkKey = `${uid}|${raw.metadata?.generation}|${why}`;
    if (mem.hpaCleanKey === checkKey) return;
    const { namespace, name } = parseKey(key);
    const hpa = hpaName(name);
    try {
      const live = await this.clients.autoscaling.readNamespacedHorizontalPodAutoscaler({
        name: hpa,
        namespace,
      });
      if (ownedBy(live, uid) && this.leading) {
        await this.clients.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name: hpa, namespace });
        log.info({ hpa, why }, 'deleted the generated HorizontalPodAutoscaler');
        await this.event(involved, 'Normal', 'DeletedHPA', `Deleted HorizontalPodAutoscaler ${hpa}: ${why}`);
      }
      mem.hpaCleanKey = checkKey;
    } catch (err) {
      const code = apiErrorCode(err);
      if (code === 404) mem.hpaCleanKey = checkKey;
      else if (code === 403) {
        mem.hpaCleanKey = checkKey; // no HPA rights: native mode was never used with this role
        log.debug(
          { err: errorMessage(err) },
          'cannot read HorizontalPodAutoscalers; skipping the leftover check',
        );
      } else log.warn({ hpa, err: errorMessage(err) }, 'checking for a leftover generated HPA failed');
    }
  }

  /** Native mode: keep `<pa>-hpa` equal to what the PodAutoscaler says, and mirror its status. */
  private async reconcileNativeHpa(rc: Reconciling, pa: ResolvedPodAutoscaler): Promise<void> {
    const { key, raw, group, involved, log } = rc;
    const { namespace, name } = parseKey(key);
    const api = this.clients.autoscaling;
    const uid = raw.metadata?.uid ?? '';
    const built = buildHpa(pa, { apiVersion: raw.apiVersion ?? `${group}/${VERSION}`, name, uid });
    const mem = this.memory.get(key);
    if (!built.ok) {
      const issues = [{ path: 'spec', reason: 'UnsupportedInNativeMode', message: built.reason }];
      if (mem && mem.lastProblem !== `invalid:${built.reason}`) {
        mem.lastProblem = `invalid:${built.reason}`;
        await this.event(involved, 'Warning', 'InvalidSpec', built.reason);
      }
      await this.writeStatus(rc, { kind: 'invalid', issues });
      await this.cleanupHpa(rc, 'cannot be expressed as a native HPA');
      return;
    }
    const want = built.hpa;
    const hpa = want.metadata!.name!;
    let live: k8s.V2HorizontalPodAutoscaler | undefined;
    try {
      live = await api.readNamespacedHorizontalPodAutoscaler({ name: hpa, namespace });
    } catch (err) {
      if (apiErrorCode(err) !== 404) {
        log.warn({ hpa, err: errorMessage(err) }, 'reading the generated HPA failed');
        return;
      }
    }
    try {
      if (!live) {
        live = await api.createNamespacedHorizontalPodAutoscaler({ namespace, body: want });
        log.info({ hpa }, 'created HorizontalPodAutoscaler');
        await this.event(involved, 'Normal', 'CreatedHPA', `Created HorizontalPodAutoscaler ${hpa}`);
      } else if (!ownedBy(live, uid)) {
        await this.writeStatus(rc, {
          kind: 'conflict',
          owner: `HorizontalPodAutoscaler ${namespace}/${hpa} (not generated for this PodAutoscaler)`,
          targetKey: hpa,
        });
        return;
      } else if (specDiffers(live, want)) {
        live = await api.replaceNamespacedHorizontalPodAutoscaler({
          name: hpa,
          namespace,
          body: { ...want, metadata: { ...want.metadata, resourceVersion: live.metadata?.resourceVersion } },
        });
        log.info({ hpa }, 'updated HorizontalPodAutoscaler');
      }
    } catch (err) {
      log.warn({ hpa, err: errorMessage(err) }, 'writing the generated HPA failed');
      await this.event(
        involved,
        'Warning',
        'FailedUpdateHPA',
        `HorizontalPodAutoscaler ${hpa}: ${errorMessage(err)}`,
      );
      return;
    }
    if (mem) mem.hpaCleanKey = undefined;
    const st = live.status;
    const toIso = (t: unknown) =>
      t instanceof Date ? t.toISOString() : typeof t === 'string' ? t : undefined;
    const hpaStatus: NativeHpaStatus = {
      name: hpa,
      ...(st?.desiredReplicas !== undefined ? { desiredReplicas: st.desiredReplicas } : {}),
      ...(st?.currentReplicas !== undefined ? { currentReplicas: st.currentReplicas } : {}),
      ...(toIso(st?.lastScaleTime) ? { lastScaleTime: toIso(st?.lastScaleTime) } : {}),
      conditions: (st?.conditions ?? []).map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
      })),
    };
    if (st?.desiredReplicas !== undefined) {
      this.metrics.shared.recordDecision(
        { namespace, name },
        st.desiredReplicas,
        st.currentReplicas ?? 0,
        'NativeHPA',
        false,
      );
    }
    await this.writeStatus(rc, { kind: 'native', hpa: hpaStatus });
  }

  /**
   * OPTIMIZER: one tick of the model group (every target Deployment), its events and status. Every
   * target took part in the conflict check above, so no other PodAutoscaler writes any of them.
   */
  private async reconcileModelGroup(rc: Reconciling, pa: ResolvedPodAutoscaler): Promise<void> {
    const { key, involved, prev, generation, nowMs, log } = rc;
    const dryRun = pa.dryRun || !!this.o.dryRun;
    let result;
    const started = Date.now();
    try {
      result = await this.modelGroups.tick(dryRun === pa.dryRun ? pa : { ...pa, dryRun });
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'model group tick failed');
      return;
    }
    recordGroupTickMetrics(this.metrics, pa.namespace, pa.name, result, Date.now() - started);
    const mem = this.memory.get(key);
    const { events, problem } = groupTickEvents(result, mem?.groupProblem);
    if (mem) mem.groupProblem = problem;
    for (const e of events) await this.event(involved, e.type, e.reason, e.message);
    const next = computeGroupStatus({ generation, nowMs, prev, result });
    const due = mem?.statusWrittenMs === undefined || nowMs - mem.statusWrittenMs >= this.statusRefreshMs;
    if (!due && !significantlyDifferent(prev ?? {}, next)) return;
    await this.patchStatus(rc, mem, next);
  }

  /**
   * A new leader (or a restarted one) seeds the engine from status: the checkpointed decision state
   * when it is usable, else the stabilisation memory rebuilt from the history.
   */
  private restoreState(
    pa: ResolvedPodAutoscaler,
    status: InferscaleStatus | undefined,
    nowMs: number,
    log: Logger,
  ): void {
    if (this.engine.exportState(pa.namespace, pa.name) !== undefined) return;
    let unused: string | undefined;
    if (this.checkpointMs > 0 && pa.apiGroup === INFERSCALE_GROUP) {
      const snap = decodeDecisionState(status?.decisionState, pa, nowMs);
      if (snap.ok) {
        this.engine.importState(pa, snap.state);
        log.info(
          {
            restoredFrom: 'status.decisionState',
            ageMs: snap.ageMs,
            recommendations: snap.state.behavior.recommendations.length,
          },
          'restored decision state (windows, panic state, timers, stabilisation) from status.decisionState',
        );
        return;
      }
      unused = snap.reason;
      if (status?.decisionState !== undefined) {
        log[snap.severity]({ reason: snap.reason }, 'status.decisionState not used');
      }
    }
    const behavior = behaviorStateFromStatus(status, pa.behavior, nowMs);
    if (!behavior) {
      log.info({ restoredFrom: 'nothing', snapshot: unused }, 'no decision state in status; starting fresh');
      return;
    }
    try {
      this.engine.importState(pa, { ...initialPipelineState(pa), behavior });
      log.info(
        {
          restoredFrom: 'status history',
          snapshot: unused,
          recommendations: behavior.recommendations.length,
          scaleEvents: behavior.scaleUpEvents.length + behavior.scaleDownEvents.length,
        },
        'restored stabilisation state from status history; metric windows start empty',
      );
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'could not restore decision state from status; starting fresh');
    }
  }

  private async writeStatus(rc: Reconciling, outcome: TickOutcome, snapshot?: Snapshot): Promise<void> {
    const { key, group, prev, generation, nowMs } = rc;
    const mem = this.memory.get(key);
    const next = shapeForGroup(group, computeStatus({ group, generation, nowMs, prev, outcome }));
    if (snapshot) {
      delete next.decisionState;
      if (snapshot.value) next.decisionState = snapshot.value;
    }
    // Refresh a tick's status now and then (lastDecision, currentMetrics move every tick); an
    // invalid or conflicting PodAutoscaler's status only changes with its problem.
    const why = statusWriteReason({
      nowMs,
      lastWrittenMs: mem?.statusWrittenMs,
      ticked: outcome.kind === 'tick',
      significant: significantlyDifferent(shapeForGroup(group, prev ?? {}), next),
      stateChanged: snapshot !== undefined && snapshot.key !== mem?.stateKey,
      refreshMs: this.statusRefreshMs,
      checkpointMs: this.checkpointMs,
    });
    if (why === undefined) return;
    // A merge patch keeps what it does not mention: an outdated snapshot must be removed explicitly.
    const remove = snapshot && !snapshot.value && prev?.decisionState !== undefined ? ['decisionState'] : [];
    if ((await this.patchStatus(rc, mem, next, remove)) && mem && snapshot) mem.stateKey = snapshot.key;
  }

  /**
   * Leader only: merge-patches /status (`remove`: fields to delete) and remembers what was written.
   * False when nothing was written (a failure is logged).
   */
  private async patchStatus(
    rc: Reconciling,
    mem: Memory | undefined,
    next: InferscaleStatus,
    remove: readonly string[] = [],
  ): Promise<boolean> {
    if (!this.leading) return false;
    const { key, raw, group, nowMs, log } = rc;
    const { namespace, name } = parseKey(key);
    const status = { ...next, ...Object.fromEntries(remove.map((f) => [f, null])) };
    try {
      await this.clients.custom.patchNamespacedCustomObjectStatus(
        { group, version: VERSION, namespace, plural: PLURAL, name, body: { status } },
        mergePatch,
      );
      if (mem && mem.uid === raw.metadata?.uid) {
        mem.status = next;
        mem.statusWrittenMs = nowMs;
      }
      return true;
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'status write failed');
      return false;
    }
  }

  private async event(obj: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    if (!this.events || !this.leading) return;
    await this.events.record(obj, type, reason, message);
  }
}

function keyOf(group: string, namespace: string, name: string): string {
  return `${group}|${namespace}/${name}`;
}

function parseKey(key: string): { group: string; namespace: string; name: string } {
  const bar = key.indexOf('|');
  const slash = key.indexOf('/', bar + 1);
  return { group: key.slice(0, bar), namespace: key.slice(bar + 1, slash), name: key.slice(slash + 1) };
}
