/**
 * One simulated run: a trace replayed against the virtual cluster while the production
 * ScalingEngine ticks through the virtual seams. The request/step loop is synchronous and allocation
 * free per event; only autoscaler ticks (every `tickMs`, rare next to requests) are awaited.
 */
import type { ResolvedPodAutoscaler } from '../../src/api/resolved.js';
import { ScalingEngine } from '../../src/engine/engine.js';
import { silentLogger } from '../../src/observability/log.js';
import type { ColdStartSampler } from './coldstart.js';
import { RequestLog, VirtualCluster } from './cluster.js';
import type { ReplicaFactory, SimRequest } from './replica.js';
import { GatewayMetricSource, gatewayWarnings } from './gateway-metrics.js';
import { createRouter, type RouterPolicy } from './router.js';
import {
  VirtualClock,
  VirtualMetricSource,
  VirtualPodSource,
  VirtualScaleTarget,
  type VerifyStats,
} from './seams.js';

export interface RunConfig {
  /** Label of the run in the report. */
  name: string;
  /** The spec the production engine scales by; not used when `controller` is given. */
  pa: ResolvedPodAutoscaler;
  /**
   * A scripted replica count instead of the autoscaler, asked at every tick (the oracle's replay):
   * the engine is not run and `pa` only supplies the default initial size.
   */
  controller?: (simMs: number) => number;
  /** Sorted by arrival; ids 0..n-1 in that order. */
  requests: readonly SimRequest[];
  factory: ReplicaFactory;
  /** A fresh sampler per run, seeded alike, so every run draws the same cold starts in order. */
  coldStart: ColdStartSampler;
  router: RouterPolicy;
  /** Autoscaler period, ms (default 15 s). */
  tickMs?: number;
  /** Timeline sampling period, ms (default 5 s). */
  sampleMs?: number;
  /** Wall-clock anchor of virtual time 0, epoch ms (schedules and logs see it). */
  epochMs?: number;
  /**
   * The autoscaler's first tick (default 60 s): until then the cluster keeps its initial size, as if
   * it had been serving this load before the trace began, so no algorithm reacts to the empty
   * metrics of a cluster that has not received a request yet.
   */
  warmupMs?: number;
  /** Ready pods at time 0; default max(1, minReplicas). */
  initialReplicas?: number;
  /** Read every signal through the rendered `/metrics` page too and count disagreements. */
  verifyMetrics?: boolean;
  /**
   * Keep the cluster and the autoscaler running at least this long after the last arrival, even
   * when every request has finished, to watch the scale-down (default 0: stop at the last completion).
   */
  tailMs?: number;
  /** Give up this long after the last arrival if requests are still unfinished (default 1 h). */
  maxTailMs?: number;
  /** Called at each autoscaler tick with the virtual time, ms. */
  onProgress?: (simMs: number) => void;
}

/** One cluster's state at the timeline samples, struct-of-arrays. */
export interface ClusterSeries {
  desired: number[];
  ready: number[];
  starting: number[];
  draining: number[];
  gatewayQueue: number[];
  running: number[];
  waiting: number[];
  kvMean: number[];
}

/** Struct-of-arrays timeline, one entry per sample. */
export interface Timeline extends ClusterSeries {
  timeMs: number[];
}

export function emptySeries(): ClusterSeries {
  return {
    desired: [],
    ready: [],
    starting: [],
    draining: [],
    gatewayQueue: [],
    running: [],
    waiting: [],
    kvMean: [],
  };
}

/** Appends the cluster's state now; returns its waiting requests (gateway queue plus replica queues). */
export function sampleCluster(series: ClusterSeries, cluster: VirtualCluster): number {
  const load = cluster.load();
  const q = cluster.gatewayQueueLength;
  series.desired.push(cluster.desired);
  series.ready.push(cluster.ready.length);
  series.starting.push(cluster.startingCount);
  series.draining.push(cluster.draining);
  series.gatewayQueue.push(q);
  series.running.push(load.running);
  series.waiting.push(load.waiting);
  series.kvMean.push(load.kvMean);
  return q + load.waiting;
}

/** Ids 0..n-1 in arrival order, as the request log and the gateway index them. */
export function checkRequestOrder(requests: readonly SimRequest[]): void {
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!;
    if (r.id !== i) throw new Error(`requests[${i}] has id ${r.id}; ids must be 0..n-1 in arrival order`);
    if (i > 0 && r.arrivalMs < requests[i - 1]!.arrivalMs) {
      throw new Error(
        `requests[${i}] arrives at ${r.arrivalMs} ms, before requests[${i - 1}]; sort the trace`,
      );
    }
  }
}

/** When a run may stop: the end of the tail once the work is done, the give-up time otherwise. */
export interface RunHorizon {
  lastArrival: number;
  tailEnd: number;
  hardEnd: number;
}

export function runHorizon(
  requests: readonly SimRequest[],
  opts: { tailMs?: number; maxTailMs?: number },
): RunHorizon {
  const n = requests.length;
  const lastArrival = n > 0 ? requests[n - 1]!.arrivalMs : 0;
  const tailEnd = lastArrival + (opts.tailMs ?? 0);
  return { lastArrival, tailEnd, hardEnd: Math.max(tailEnd, lastArrival + (opts.maxTailMs ?? 3_600_000)) };
}

/**
 * The time to stop at instead of stepping to `t`, or undefined to step. A stop with work left
 * (`!done`) is a give-up at `hardEnd`: the run is truncated.
 */
export function stopBefore(t: number, done: boolean, h: RunHorizon): number | undefined {
  if (done && t > h.tailEnd) return h.tailEnd;
  if (t > h.hardEnd) return h.hardEnd;
  return undefined;
}

export interface TickRecord {
  timeMs: number;
  current: number;
  desired: number;
  ready: number;
  starting: number;
  scaled: boolean;
  reason: string;
}

export interface ScaleEventRecord {
  timeMs: number;
  from: number;
  to: number;
  reason: string;
}

export interface RunResult {
  name: string;
  pa: ResolvedPodAutoscaler;
  log: RequestLog;
  /** Virtual time the run ended: last completion, the end of the tail, or the give-up time. */
  endMs: number;
  /**
   * When the work was done: the last completion (or the last arrival if later; the give-up time if
   * requests were left). Cost is counted up to here, so a tail chosen to watch the scale-down does
   * not change it.
   */
  workEndMs: number;
  /** True when the run gave up with requests unfinished. */
  truncated: boolean;
  /** GPU time of all pods up to `workEndMs`, replica-ms. */
  replicaMs: number;
  gpusPerReplica: number;
  pricePerReplicaHour: number;
  scaleEvents: ScaleEventRecord[];
  ticks: TickRecord[];
  timeline: Timeline;
  peakGatewayQueue: number;
  /** Gateway queue plus every replica's waiting queue, at the samples. */
  peakWaiting: number;
  peakReplicas: number;
  tickErrors: { count: number; examples: string[] };
  /** Said once per run, before it starts: metric sources the simulator cannot answer, and why. */
  warnings: string[];
  verify?: VerifyStats;
}

export const DEFAULT_TICK_MS = 15_000;
export const DEFAULT_SAMPLE_MS = 5_000;
export const DEFAULT_WARMUP_MS = 60_000;
/** 2025-01-06T00:00:00Z, a Monday: schedules in specs see a plausible week. */
export const DEFAULT_EPOCH_MS = Date.UTC(2025, 0, 6);

export async function runSimulation(cfg: RunConfig): Promise<RunResult> {
  const requests = cfg.requests;
  const n = requests.length;
  checkRequestOrder(requests);
  const tickMs = cfg.tickMs ?? DEFAULT_TICK_MS;
  const sampleMs = cfg.sampleMs ?? DEFAULT_SAMPLE_MS;
  if (!(tickMs > 0) || !(sampleMs > 0)) throw new Error('tick and sample periods must be > 0');
  const epochMs = cfg.epochMs ?? DEFAULT_EPOCH_MS;
  const horizon = runHorizon(requests, cfg);

  const log = new RequestLog(requests);
  const cluster = new VirtualCluster({
    factory: cfg.factory,
    coldStart: cfg.coldStart,
    router: createRouter(cfg.router),
    log,
    namePrefix: 'replica',
    initialReplicas: cfg.initialReplicas ?? Math.max(1, cfg.pa.minReplicas),
  });
  const clock = new VirtualClock(epochMs);
  const gateway = new GatewayMetricSource(cluster, requests, clock);
  const metrics = new VirtualMetricSource(cluster, clock, cfg.verifyMetrics ?? false, gateway);
  const engine = new ScalingEngine({
    clock,
    pods: new VirtualPodSource(cluster, epochMs),
    metrics,
    scale: new VirtualScaleTarget(cluster, clock),
    log: silentLogger(),
  });

  const timeline: Timeline = { timeMs: [], ...emptySeries() };
  const ticks: TickRecord[] = [];
  const scaleEvents: ScaleEventRecord[] = [];
  const tickErrors = { count: 0, examples: [] as string[] };
  let peakWaiting = 0;
  let peakReplicas = cluster.liveCount;

  const sample = (t: number): void => {
    timeline.timeMs.push(t);
    const waiting = sampleCluster(timeline, cluster);
    if (waiting > peakWaiting) peakWaiting = waiting;
  };

  let i = 0;
  let nextSample = 0;
  const warmupMs = cfg.warmupMs ?? DEFAULT_WARMUP_MS;
  if (!(warmupMs >= 0)) throw new Error(`warm-up must be >= 0 ms, got ${warmupMs}`);
  let nextTick = warmupMs;
  let now = 0;
  let truncated = false;
  let workEnd: number | undefined;
  for (;;) {
    const done = i >= n && cluster.idle();
    if (done && workEnd === undefined) workEnd = Math.max(now, horizon.lastArrival);
    if (done && now >= horizon.tailEnd) break;
    const tI = cluster.nextEventTime();
    const tA = i < n ? requests[i]!.arrivalMs : Infinity;
    let t = tI < tA ? tI : tA;
    if (nextSample < t) t = nextSample;
    if (nextTick < t) t = nextTick;
    const stop = stopBefore(t, done, horizon);
    if (stop !== undefined) {
      now = stop;
      truncated = !done;
      break;
    }
    now = t;
    clock.simMs = t;
    // At equal times: engine steps and readiness, then arrivals, then samples, then the autoscaler.
    if (tI <= t) {
      cluster.processNext(t);
    } else if (tA <= t) {
      cluster.arrive(requests[i++]!, t);
    } else if (nextSample <= t) {
      sample(t);
      nextSample += sampleMs;
    } else if (cfg.controller) {
      const current = cluster.desired;
      const want = cfg.controller(t);
      cluster.setDesired(want, t);
      const reason = 'scripted';
      ticks.push({
        timeMs: t,
        current,
        desired: want,
        ready: cluster.ready.length,
        starting: cluster.startingCount,
        scaled: want !== current,
        reason,
      });
      if (want !== current) {
        scaleEvents.push({ timeMs: t, from: current, to: want, reason });
        if (cluster.liveCount > peakReplicas) peakReplicas = cluster.liveCount;
      }
      cfg.onProgress?.(t);
      nextTick += tickMs;
    } else {
      const r = await engine.tick(cfg.pa);
      ticks.push({
        timeMs: t,
        current: r.currentReplicas,
        desired: r.desiredReplicas,
        ready: r.readyPods,
        starting: r.startingPods,
        scaled: r.scaled,
        reason: r.decision?.reason ?? r.error?.message ?? '',
      });
      if (r.scaled) {
        scaleEvents.push({
          timeMs: t,
          from: r.currentReplicas,
          to: r.desiredReplicas,
          reason: r.decision?.reason ?? '',
        });
        if (cluster.liveCount > peakReplicas) peakReplicas = cluster.liveCount;
      }
      if (r.error) {
        tickErrors.count++;
        if (tickErrors.examples.length < 10)
          tickErrors.examples.push(`${t} ms ${r.error.stage}: ${r.error.message}`);
      }
      cfg.onProgress?.(t);
      nextTick += tickMs;
    }
  }
  clock.simMs = now;
  sample(now);

  const result: RunResult = {
    name: cfg.name,
    pa: cfg.pa,
    log,
    endMs: now,
    workEndMs: workEnd ?? now,
    truncated,
    replicaMs: cluster.replicaMs(workEnd ?? now),
    gpusPerReplica: cfg.factory.gpusPerReplica,
    pricePerReplicaHour: cfg.factory.pricePerReplicaHour,
    scaleEvents,
    ticks,
    timeline,
    peakGatewayQueue: cluster.peakGatewayQueue,
    peakWaiting,
    peakReplicas,
    tickErrors,
    warnings: cfg.controller ? [] : gatewayWarnings(cfg.pa),
  };
  if (cfg.verifyMetrics) result.verify = metrics.verifyStats;
  return result;
}
