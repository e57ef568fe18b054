/**
 * The daemon's work apart from Kubernetes and the file: a configuration is applied as a diff
 * (PodAutoscalers start, stop, or tick at once with their new spec), and one tick of one
 * PodAutoscaler runs the engine its strategy needs — the per-target ScalingEngine for KPA/APA/HPA,
 * the ModelGroupEngine for OPTIMIZER — and is reported: one pino line, the controller's Prometheus
 * series, Events on the scale targets. daemon.ts wires it to the apiserver, the file watcher, the
 * scheduler and the Lease; the unit tests drive it on in-memory seams.
 */
import type { ResolvedPodAutoscaler, ScaleTargetRef } from '../api/resolved.js';
import type { GroupTickResult } from '../engine/model-group.js';
import type { Logger } from '../observability/log.js';
import { forPodAutoscaler } from '../observability/log.js';
import type { EventSink } from '../k8s/events.js';
import type { AutoscalerMetrics } from '../controller/metrics.js';
import type { DecisionStore } from './decision-store.js';
import type { LoopEngines, LoopMetricSource } from '../controller/loop-parts.js';
import {
  groupTickEvents,
  groupTotals,
  recordGroupTickMetrics,
  recordTickMetrics,
  tickEvents,
  type TickEvent,
} from '../controller/report.js';

/** Where the loop's keys tick (the TickScheduler in production). */
export interface Schedule {
  add(key: string): void;
  remove(key: string): void;
  trigger(key: string): void;
}

export interface DaemonLoopOptions {
  engines: Pick<LoopEngines, 'engine' | 'modelGroups'>;
  /** The Prometheus series. */
  stats: AutoscalerMetrics;
  /** The metric sources, whose per-PodAutoscaler state is dropped with the PodAutoscaler. */
  metrics: LoopMetricSource;
  schedule: Schedule;
  /** Events on the scale targets; none when absent. */
  events?: EventSink;
  log: Logger;
  /** `--dry-run`: every PodAutoscaler decides and reports, none writes. */
  dryRun?: boolean;
  /** `--state-file`: seeds what the configuration adds at its first tick, and checkpoints after ticks. */
  state?: Pick<DecisionStore, 'restore' | 'ticked'>;
}

export interface ConfigDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

interface Entry {
  pa: ResolvedPodAutoscaler;
  json: string;
}

export class DaemonLoop {
  private current = new Map<string, Entry>();
  /** OPTIMIZER: the last non-plan outcome per key, so its event is sent once. */
  private readonly groupProblems = new Map<string, string | undefined>();
  /**
   * Added keys not ticked yet. Their saved state is restored at the first tick, not when added: a
   * standby daemon (--leader-elect) may load its file long before it acts, and the snapshot's age
   * must be judged when it is put to use.
   */
  private readonly unrestored = new Set<string>();

  constructor(private readonly o: DaemonLoopOptions) {}

  podAutoscalers(): ResolvedPodAutoscaler[] {
    return [...this.current.values()].map((e) => e.pa);
  }

  /** Makes `pas` the running configuration; keys are `namespace/name`. */
  apply(pas: readonly ResolvedPodAutoscaler[]): ConfigDiff {
    const next = new Map(pas.map((pa) => [`${pa.namespace}/${pa.name}`, { pa, json: JSON.stringify(pa) }]));
    const diff: ConfigDiff = { added: [], removed: [], changed: [] };
    for (const [key, prior] of this.current) {
      if (next.has(key)) continue;
      diff.removed.push(key);
      this.unrestored.delete(key);
      this.o.schedule.remove(key);
      this.forget(prior.pa);
    }
    for (const [key, entry] of next) {
      const prior = this.current.get(key);
      if (!prior) diff.added.push(key);
      else if (prior.json !== entry.json) {
        diff.changed.push(key);
        // A switch between a single target and a model group leaves nothing the other engine can use.
        if (isGroup(prior.pa) !== isGroup(entry.pa)) this.forget(prior.pa);
      }
    }
    this.current = next;
    for (const key of diff.added) {
      this.unrestored.add(key);
      this.o.schedule.add(key);
    }
    for (const key of diff.changed) this.o.schedule.trigger(key);
    return diff;
  }

  /** One tick of the PodAutoscaler `key` (nothing if it is no longer configured). */
  async tick(key: string): Promise<void> {
    const entry = this.current.get(key);
    if (!entry) return;
    if (this.unrestored.delete(key)) this.o.state?.restore(entry.pa);
    const dryRun = entry.pa.dryRun || !!this.o.dryRun;
    const pa = dryRun === entry.pa.dryRun ? entry.pa : { ...entry.pa, dryRun };
    const log = forPodAutoscaler(this.o.log, pa.namespace, pa.name);
    if (isGroup(pa)) await this.tickGroup(key, pa, log);
    else await this.tickSingle(pa, log);
    this.o.state?.ticked();
  }

  private async tickSingle(pa: ResolvedPodAutoscaler, log: Logger): Promise<void> {
    const started = Date.now();
    const result = await this.o.engines.engine.tick(pa);
    recordTickMetrics(this.o.stats, pa.namespace, pa.name, result, Date.now() - started, pa.dryRun);
    const d = result.decision;
    log.info(
      {
        current: result.currentReplicas,
        desired: result.desiredReplicas,
        scaled: result.scaled,
        dryRun: pa.dryRun,
        ...(d ? { reason: d.reason, algorithm: d.algorithm } : {}),
        ...(result.error ? { error: result.error } : {}),
      },
      'tick',
    );
    for (const e of tickEvents(result, pa.dryRun)) await this.event(pa, pa.scaleTargetRef, e);
  }

  private async tickGroup(key: string, pa: ResolvedPodAutoscaler, log: Logger): Promise<void> {
    const started = Date.now();
    let result: GroupTickResult;
    try {
      result = await this.o.engines.modelGroups.tick(pa);
    } catch (err) {
      this.o.stats.shared.observeTick((Date.now() - started) / 1000, false);
      log.error({ algorithm: 'optimizer', err: err instanceof Error ? err.message : String(err) }, 'tick');
      return;
    }
    recordGroupTickMetrics(this.o.stats, pa.namespace, pa.name, result, Date.now() - started);
    log.info(groupTickFields(result), 'tick');
    const { events, problem } = groupTickEvents(result, this.groupProblems.get(key));
    this.groupProblems.set(key, problem);
    // The group's own events go to spec.scaleTargetRef, the Deployment `kubectl get` would show.
    for (const e of events) await this.event(pa, e.target ?? pa.scaleTargetRef, e);
  }

  private async event(pa: ResolvedPodAutoscaler, ref: ScaleTargetRef, e: TickEvent): Promise<void> {
    if (!this.o.events) return;
    await this.o.events.record(
      { apiVersion: ref.apiVersion, kind: ref.kind, namespace: pa.namespace, name: ref.name },
      e.type,
      e.reason,
      `[PodAutoscaler ${pa.namespace}/${pa.name}] ${e.message}`,
    );
  }

  /** Drops every piece of state of a PodAutoscaler: engines, metric sources, series, events. */
  private forget(pa: ResolvedPodAutoscaler): void {
    const { namespace, name } = pa;
    this.o.engines.engine.forget(namespace, name);
    this.o.engines.modelGroups.forget(namespace, name);
    this.o.metrics.forget?.({ namespace, name });
    this.o.stats.forget(namespace, name);
    this.groupProblems.delete(`${namespace}/${name}`);
  }
}

function isGroup(pa: ResolvedPodAutoscaler): boolean {
  return pa.strategy === 'OPTIMIZER';
}

/**
 * A model group's tick line: `current`/`desired` are totals (numbers, as on a single target's
 * line); per GPU type the optimizer's plan and the counts given after floors and behavior; the
 * group's cost per hour; `reason` is PlanFound or why there is no plan (NoProfile, NoData,
 * Infeasible, SolverFailed) and `message` the detail.
 */
export function groupTickFields(r: GroupTickResult): Record<string, unknown> {
  const totals = groupTotals(r);
  const errors = r.targets.flatMap((t) =>
    t.error
      ? [{ target: t.scaleTargetRef.name, gpu: t.gpu, stage: t.error.stage, message: t.error.message }]
      : [],
  );
  return {
    algorithm: 'optimizer',
    outcome: r.outcome,
    reason: r.conditions.find((c) => c.type === 'Optimized')?.reason ?? r.outcome,
    message: r.message,
    current: totals.current,
    desired: totals.desired,
    ...(r.plan
      ? {
          plan: Object.fromEntries(r.plan.gpus.map((g) => [g.gpu, g.replicas])),
          totalRps: round(r.plan.totalRps),
        }
      : {}),
    desiredByGpu: Object.fromEntries(r.targets.map((t) => [t.gpu, t.desired ?? t.current ?? null])),
    ...(r.costPerHour !== undefined ? { costPerHour: round(r.costPerHour) } : {}),
    ...(r.currency !== undefined ? { currency: r.currency } : {}),
    scaled: r.targets.some((t) => t.scaled),
    dryRun: r.dryRun,
    ...(errors.length > 0 ? { errors } : {}),
  };
}

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
