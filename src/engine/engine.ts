/**
 * The scaling loop's imperative shell: per PodAutoscaler, each tick reads the scale target, lists
 * its pods, reads every metric source, runs the pure pipeline and writes the result. It touches the
 * world only through the four seams, so the controller, the daemon, the simulator and
 * `inferscale decide` all run this same code.
 */
import type { Logger } from '../observability/log.js';
import { forPodAutoscaler, silentLogger } from '../observability/log.js';
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import type { MetricSample, PodSample } from '../../algorithms/types.js';
import type { Clock, MetricReading, MetricSource, PodInfo, PodSource, ScaleTarget } from './seams.js';
import {
  decide,
  initialPipelineState,
  type Decision,
  type MetricObservation,
  type PipelineState,
} from './pipeline.js';

export interface EngineOptions {
  clock: Clock;
  pods: PodSource;
  metrics: MetricSource;
  scale: ScaleTarget;
  log?: Logger;
  /** Budget for all metric reads of one tick. */
  readBudgetMs?: number;
  observer?: EngineObserver;
}

/** Hooks for inferscale's own metrics and for status writers. */
export interface EngineObserver {
  onTick?(pa: ResolvedPodAutoscaler, result: TickResult): void;
}

export interface TickResult {
  timeMs: number;
  currentReplicas: number;
  desiredReplicas: number;
  readyPods: number;
  startingPods: number;
  decision?: Decision;
  /** The new size was written to the target. */
  scaled: boolean;
  /** What failed, if the tick could not decide or could not write. */
  error?: { stage: 'get-scale' | 'list-pods' | 'decide' | 'write-scale'; message: string };
}

interface LastGood {
  value: number;
  atMs: number;
}

interface PaRuntime {
  pipeline: PipelineState;
  /** Last good value per metric index and pod (or '' for a global value). */
  lastGood: Map<string, LastGood>[];
  specKey: string;
}

const GLOBAL = '';

export class ScalingEngine {
  private readonly runtimes = new Map<string, PaRuntime>();
  private readonly log: Logger;
  private readonly readBudgetMs: number;

  constructor(private readonly opts: EngineOptions) {
    this.log = opts.log ?? silentLogger();
    this.readBudgetMs = opts.readBudgetMs ?? 5_000;
  }

  /** Drops the state of a PodAutoscaler that was deleted (AIBrix leaks it, W-19). */
  forget(namespace: string, name: string): void {
    this.runtimes.delete(`${namespace}/${name}`);
  }

  /** The decision state of one PodAutoscaler, as plain JSON (for status and failover). */
  exportState(namespace: string, name: string): PipelineState | undefined {
    return this.runtimes.get(`${namespace}/${name}`)?.pipeline;
  }

  importState(pa: ResolvedPodAutoscaler, pipeline: PipelineState): void {
    this.runtimeFor(pa).pipeline = pipeline;
  }

  async tick(pa: ResolvedPodAutoscaler): Promise<TickResult> {
    const log = forPodAutoscaler(this.log, pa.namespace, pa.name);
    const nowMs = this.opts.clock.now();
    const runtime = this.runtimeFor(pa);
    const finish = (r: TickResult): TickResult => {
      this.opts.observer?.onTick?.(pa, r);
      return r;
    };

    let scale;
    try {
      scale = await this.opts.scale.get(pa.namespace, pa.scaleTargetRef);
    } catch (err) {
      const message = `reading the scale of ${pa.scaleTargetRef.kind}/${pa.scaleTargetRef.name}: ${errText(err)}`;
      log.warn({ err: message }, 'tick failed');
      return finish(emptyResult(nowMs, 0, { stage: 'get-scale', message }));
    }
    const c = scale.replicas;

    let pods: PodInfo[];
    try {
      pods = await this.opts.pods.list(pa.namespace, scale.selector);
    } catch (err) {
      const message = `listing pods for selector "${scale.selector}": ${errText(err)}`;
      log.warn({ err: message }, 'tick failed');
      return finish(emptyResult(nowMs, c, { stage: 'list-pods', message }));
    }
    const live = pods.filter((p) => !p.terminating && p.phase !== 'Succeeded' && p.phase !== 'Failed');
    const ready = live.filter((p) => p.phase === 'Running' && p.ready);
    // Pods the target asked for but that are not serving yet, created or not, are coming capacity.
    const startingPods = Math.max(live.length - ready.length, c - ready.length, 0);

    const deadlineMs = nowMs + this.readBudgetMs;
    const readings = await Promise.all(
      pa.metrics.map((source) =>
        this.opts.metrics
          .read({
            owner: { namespace: pa.namespace, name: pa.name },
            target: pa.scaleTargetRef,
            source,
            pods: ready,
            nowMs,
            deadlineMs,
          })
          .catch((err): MetricReading => ({ sample: undefined, errors: [errText(err)] })),
      ),
    );
    const observations = readings.map((r, i) =>
      withLastGood(
        r,
        scopeOf(pa.metrics[i]!.type),
        ready,
        runtime.lastGood[i]!,
        nowMs,
        pa.metricTtlSeconds * 1000,
      ),
    );

    let decision: Decision;
    try {
      const out = decide(
        pa,
        { nowMs, currentReplicas: c, readyPods: ready.length, startingPods, observations },
        runtime.pipeline,
      );
      decision = out.decision;
      runtime.pipeline = out.state;
    } catch (err) {
      const message = errText(err);
      log.error({ err: message }, 'decision failed');
      return finish(emptyResult(nowMs, c, { stage: 'decide', message }, ready.length, startingPods));
    }

    const result: TickResult = {
      timeMs: nowMs,
      currentReplicas: c,
      desiredReplicas: decision.desiredReplicas,
      readyPods: ready.length,
      startingPods,
      decision,
      scaled: false,
    };
    if (decision.desiredReplicas !== c && !pa.dryRun) {
      try {
        await this.opts.scale.set(pa.namespace, pa.scaleTargetRef, decision.desiredReplicas);
        result.scaled = true;
        log.info(
          { from: c, to: decision.desiredReplicas, reason: decision.reason, algorithm: decision.algorithm },
          'scaled',
        );
      } catch (err) {
        result.error = {
          stage: 'write-scale',
          message: `writing replicas=${decision.desiredReplicas}: ${errText(err)}`,
        };
        log.warn({ err: result.error.message }, 'scale write failed');
      }
    } else {
      log.debug({ replicas: c, reason: decision.reason }, 'no change');
    }
    return finish(result);
  }

  private runtimeFor(pa: ResolvedPodAutoscaler): PaRuntime {
    const key = `${pa.namespace}/${pa.name}`;
    // A changed metric list or strategy invalidates the per-metric state (windows of other metrics).
    const specKey = `${pa.strategy}|${pa.metrics.map((m) => `${m.type}:${m.targetMetric}`).join(',')}`;
    let rt = this.runtimes.get(key);
    if (!rt || rt.specKey !== specKey) {
      rt = { pipeline: initialPipelineState(pa), lastGood: pa.metrics.map(() => new Map()), specKey };
      this.runtimes.set(key, rt);
    }
    return rt;
  }
}

/**
 * Fills failed reads from the last good value while it is younger than the TTL, records fresh
 * values, and marks the observation partial when any ready pod is still unknown.
 */
export function withLastGood(
  reading: MetricReading,
  scope: MetricSample['scope'],
  readyPods: readonly PodInfo[],
  cache: Map<string, LastGood>,
  nowMs: number,
  ttlMs: number,
): MetricObservation {
  const fresh = (key: string): number | undefined => {
    const lg = cache.get(key);
    return lg && nowMs - lg.atMs <= ttlMs ? lg.value : undefined;
  };
  const sample = reading.sample;
  if (scope === 'global') {
    let value = sample?.scope === 'global' ? sample.value : undefined;
    if (value !== undefined && Number.isFinite(value)) cache.set(GLOBAL, { value, atMs: nowMs });
    else value = fresh(GLOBAL);
    const out: MetricSample | undefined = value === undefined ? undefined : { scope: 'global', value };
    return { sample: out, partial: value === undefined, errors: reading.errors };
  }
  const byPod = new Map<string, PodSample>();
  if (sample?.scope === 'pods') for (const p of sample.pods) byPod.set(p.pod, p);
  const pods: PodSample[] = [];
  let missing = 0;
  for (const pod of readyPods) {
    const got = byPod.get(pod.name)?.value;
    let value: number | undefined;
    if (got !== undefined && Number.isFinite(got)) {
      value = got;
      cache.set(pod.name, { value: got, atMs: nowMs });
    } else {
      value = fresh(pod.name);
    }
    if (value === undefined) missing++;
    pods.push({ pod: pod.name, ready: true, value });
  }
  // Forget pods that are gone so the cache does not grow with pod churn.
  for (const key of cache.keys())
    if (key !== GLOBAL && !readyPods.some((p) => p.name === key)) cache.delete(key);
  // No ready pod with a value means no information (all starting, or every scrape failed): that is
  // unknown demand, not zero demand.
  const known = pods.length - missing;
  return {
    sample: known === 0 ? undefined : { scope: 'pods', pods },
    partial: missing > 0,
    errors: reading.errors,
  };
}

export function scopeOf(type: ResolvedPodAutoscaler['metrics'][number]['type']): MetricSample['scope'] {
  return type === 'external' || type === 'prometheus' ? 'global' : 'pods';
}

function emptyResult(
  nowMs: number,
  c: number,
  error: TickResult['error'],
  readyPods = 0,
  startingPods = 0,
): TickResult {
  return {
    timeMs: nowMs,
    currentReplicas: c,
    desiredReplicas: c,
    readyPods,
    startingPods,
    scaled: false,
    error,
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
