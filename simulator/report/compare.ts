/**
 * A whole `inferscale simulate` invocation: several PodAutoscaler specs replayed on identical
 * arrivals (and identical cold-start draws), the oracle, and the JSON report that the HTML page is
 * rendered from. A spec with a `group` (an OPTIMIZER PodAutoscaler) runs as a model group: one pool
 * per GPU type behind one gateway (`runGroupSimulation`), reported like the others plus per pool. The report holds no wall-clock data, so the same inputs and seed give the same
 * bytes.
 */
import type { ResolvedPodAutoscaler } from '../../src/api/resolved.js';
import { fixedColdStart, type ColdStartSampler } from '../cluster/coldstart.js';
import { runGroupSimulation } from '../cluster/group.js';
import type { ReplicaFactory, SimRequest } from '../cluster/replica.js';
import type { RouterPolicy } from '../cluster/router.js';
import {
  DEFAULT_EPOCH_MS,
  DEFAULT_WARMUP_MS,
  runSimulation,
  type ClusterSeries,
  type ScaleEventRecord,
} from '../cluster/run.js';
import type { VerifyStats } from '../cluster/seams.js';
import { Rng } from '../traces/rng.js';
import { replicaCapacity } from './capacity.js';
import { groupRunFigures, type GroupRunDetail } from './group-report.js';
import type { GroupSetup } from './group-setup.js';
import { scheduleFor, slotNeeds } from './oracle.js';
import { round } from './stats.js';
import {
  latencyOverTime,
  loadSeries,
  requestLatencies,
  summarizeRun,
  type LatencySeries,
  type RunSummary,
  type Slo,
} from './summary.js';

export const REPORT_SCHEMA = 'inferscale.dev/simulation-report/v1';

export interface SpecToRun {
  name: string;
  source: string;
  raw?: unknown;
  pa: ResolvedPodAutoscaler;
  /** An OPTIMIZER spec's pools and profiles: the spec runs as a model group. */
  group?: GroupSetup;
}

export interface ComparisonOptions {
  trace: { name: string; requests: readonly SimRequest[]; skipped?: number; skippedErrors?: string[] };
  specs: readonly SpecToRun[];
  factory: ReplicaFactory;
  /** Builds a run's cold-start sampler from a generator seeded alike for every run. */
  coldStart: (rng: Rng) => ColdStartSampler;
  router: RouterPolicy;
  seed: number;
  tickMs: number;
  slo: Slo;
  /** Fraction of requests that must meet the SLO for the oracle's capacity (default 0.99). */
  sloGoal?: number;
  flapWindowMs?: number;
  verifyMetrics?: boolean;
  /** Compute the oracle (default true); `slotMs` defaults to the tick period. */
  oracle?: boolean;
  oracleSlotMs?: number;
  /** Capacity probe size (requests per probe), for fast tests. */
  capacityProbeRequests?: number;
  /** Keep simulating this long after the last arrival (see RunConfig.tailMs). */
  tailMs?: number;
  /** The autoscaler's first tick (see RunConfig.warmupMs). */
  warmupMs?: number;
  /** Ready replicas at time 0 for every run; default the oracle's first-slot need (within bounds). */
  initialReplicas?: number;
  epochMs?: number;
  onRunStart?: (index: number, name: string) => void;
  onProgress?: (index: number, simMs: number) => void;
}

export interface Oracle {
  slotS: number;
  /** Requests/s per replica within the SLO for `sloGoal` of requests, in a pool of `capacityPoolSize`. */
  capacityRps: number;
  /** The same for one replica alone. */
  singleReplicaRps: number;
  capacityPoolSize: number;
  /** Every probe: pool size, rate into the pool, attainment. */
  capacityProbes: { replicas: number; rps: number; attainment: number }[];
  coldStartS: number;
  minReplicas: number;
  replicaSeconds: number;
  gpuHours: number;
  costUsd: number;
  starts: number;
  peakReplicas: number;
  /** Ready replicas needed per slot. */
  needs: number[];
  /**
   * The schedule replayed on the cluster (each slot's need requested one mean cold start ahead,
   * fixed cold starts of that length): what the oracle's schedule actually achieves.
   */
  replay: {
    attainment: number | null;
    ttftP99: number | null;
    itlP99: number | null;
    replicaSeconds: number;
    costUsd: number;
  };
}

export interface RunReport {
  summary: RunSummary;
  /** Ready replicas at time 0. */
  initialReplicas: number;
  spec: { source: string; raw?: unknown; resolved: ResolvedPodAutoscaler };
  scaleEvents: ScaleEventRecord[];
  timeline: { timeS: number[] } & ClusterSeries;
  latency: LatencySeries;
  tickErrorExamples: string[];
  /** Metric sources the simulated gateway cannot answer (they read as missing all run), and why. */
  warnings?: string[];
  firstRejection?: string;
  verify?: VerifyStats;
  /**
   * Model-group runs only. Then `summary` and `timeline` are totals over the pools (cost and
   * GPU-hours at each pool's price and TP), `scaleEvents` lists every pool's changes (`from`/`to`
   * are that Deployment's counts), flaps are counted per pool and summed, and `costVsOracle`
   * compares with the oracle of the single GPU type (`input.deployment`), not an oracle of the mix.
   */
  group?: GroupRunDetail;
}

export interface SimulationReport {
  schema: typeof REPORT_SCHEMA;
  input: {
    trace: {
      name: string;
      requests: number;
      skipped: number;
      skippedErrors: string[];
      durationS: number;
      meanRps: number | null;
      meanInputTokens: number | null;
      meanOutputTokens: number | null;
    };
    deployment: { gpu: string; model: string; tp: number; pricePerReplicaHourUsd: number };
    coldStart: { description: string; meanS: number };
    router: RouterPolicy;
    tickS: number;
    warmupS: number;
    tailS: number;
    seed: number;
    epoch: string;
    slo: { ttftS: number; itlS: number; goal: number };
    flapWindowS: number;
    verifyMetrics: boolean;
  };
  load: { windowS: number; timeS: number[]; rps: number[] };
  oracle: Oracle | { skipped: string };
  runs: RunReport[];
}

export function isOracle(o: SimulationReport['oracle']): o is Oracle {
  return !('skipped' in o);
}

/** Timeline sampling: every 5 s, coarser for long traces (about 1,500 points at most). */
function samplePeriodMs(spanMs: number): number {
  return Math.max(5_000, Math.ceil(spanMs / 1500 / 1000) * 1000);
}

/** Windows of the load and latency series: 30 s, coarser for long traces (about 200 windows). */
function windowMsFor(spanMs: number): number {
  return Math.max(30_000, Math.ceil(spanMs / 200 / 1000) * 1000);
}

export async function runComparison(o: ComparisonOptions): Promise<SimulationReport> {
  const reqs = o.trace.requests;
  if (reqs.length === 0) throw new Error(`trace ${o.trace.name} has no requests`);
  if (o.specs.length === 0) throw new Error('nothing to simulate: give --pa files or --algorithms');
  const lastArrival = reqs[reqs.length - 1]!.arrivalMs;
  const sampleMs = samplePeriodMs(lastArrival);
  const windowMs = windowMsFor(lastArrival);
  const goal = o.sloGoal ?? 0.99;
  const flapWindowMs = o.flapWindowMs ?? 300_000;
  const epochMs = o.epochMs ?? DEFAULT_EPOCH_MS;

  // The oracle comes first: its need at time 0 is the default initial size of every run, so no
  // run starts cold against a load the trace already has at its first second.
  const coldStartProbe = o.coldStart(new Rng(o.seed));
  let oracle: SimulationReport['oracle'];
  if (o.oracle === false) {
    oracle = { skipped: 'disabled (--no-oracle)' };
  } else {
    const cap = replicaCapacity(
      {
        factory: o.factory,
        sizes: reqs,
        slo: o.slo,
        goal,
        seed: o.seed + 1,
        router: o.router,
        ...(o.capacityProbeRequests !== undefined ? { requests: o.capacityProbeRequests } : {}),
      },
      reqs.length / Math.max(1, lastArrival / 1000),
    );
    if (cap.perReplicaRps === undefined) {
      oracle = { skipped: cap.note ?? 'no replica capacity at this SLO' };
    } else {
      const slotMs = o.oracleSlotMs ?? o.tickMs;
      // The oracle is a schedule of the single GPU type: its floor comes from the single-pool specs.
      const single = o.specs.filter((s) => s.group === undefined);
      const minReplicas = Math.min(...(single.length > 0 ? single : o.specs).map((s) => s.pa.minReplicas));
      const needs = slotNeeds(
        reqs.map((r) => r.arrivalMs),
        lastArrival + 1,
        slotMs,
        cap.perReplicaRps,
        minReplicas,
      );
      const sched = scheduleFor(needs, slotMs, coldStartProbe.meanMs);
      const replicaSeconds = sched.replicaMs / 1000;
      oracle = {
        slotS: slotMs / 1000,
        capacityRps: round(cap.perReplicaRps, 4)!,
        singleReplicaRps: round(cap.singleRps!, 4)!,
        capacityPoolSize: cap.poolSize,
        capacityProbes: cap.probes.map((p) => ({
          replicas: p.replicas,
          rps: round(p.rps, 4)!,
          attainment: round(p.attainment, 4)!,
        })),
        coldStartS: round(coldStartProbe.meanMs / 1000, 3)!,
        minReplicas,
        replicaSeconds: round(replicaSeconds, 3)!,
        gpuHours: round((replicaSeconds * o.factory.gpusPerReplica) / 3600, 6)!,
        costUsd: round((replicaSeconds / 3600) * o.factory.pricePerReplicaHour, 6)!,
        starts: sched.starts,
        peakReplicas: sched.peak,
        needs: sched.needs,
        replay: await replayOracle(o, needs, slotMs, coldStartProbe.meanMs, flapWindowMs),
      };
    }
  }
  const oracleStart = isOracle(oracle) ? oracle.needs[0] : undefined;
  const initialFor = (pa: ResolvedPodAutoscaler): number => {
    if (o.initialReplicas !== undefined) return o.initialReplicas;
    const floor = Math.max(1, pa.minReplicas);
    return oracleStart === undefined ? floor : Math.min(pa.maxReplicas, Math.max(floor, oracleStart));
  };

  const runs: RunReport[] = [];
  for (let i = 0; i < o.specs.length; i++) {
    const spec = o.specs[i]!;
    o.onRunStart?.(i, spec.name);
    if (spec.group !== undefined) {
      const run = await runGroup(o, spec, spec.group, i, { sampleMs, windowMs, epochMs, flapWindowMs });
      if (isOracle(oracle) && oracle.costUsd > 0)
        run.summary.costVsOracle = round(run.summary.costUsd / oracle.costUsd, 4);
      runs.push(run);
      continue;
    }
    const result = await runSimulation({
      name: spec.name,
      pa: spec.pa,
      requests: reqs,
      factory: o.factory,
      coldStart: o.coldStart(new Rng(o.seed)),
      router: o.router,
      tickMs: o.tickMs,
      sampleMs,
      epochMs,
      initialReplicas: initialFor(spec.pa),
      ...(o.tailMs !== undefined ? { tailMs: o.tailMs } : {}),
      ...(o.warmupMs !== undefined ? { warmupMs: o.warmupMs } : {}),
      verifyMetrics: o.verifyMetrics ?? false,
      onProgress: (t) => o.onProgress?.(i, t),
    });
    const lat = requestLatencies(result, o.slo);
    const t = result.timeline;
    const run: RunReport = {
      summary: summarizeRun(result, lat, o.slo, flapWindowMs),
      initialReplicas: initialFor(spec.pa),
      spec: { source: spec.source, ...(spec.raw !== undefined ? { raw: spec.raw } : {}), resolved: spec.pa },
      scaleEvents: result.scaleEvents.map((e) => ({ ...e, timeMs: round(e.timeMs, 3)! })),
      timeline: {
        timeS: t.timeMs.map((v) => round(v / 1000, 3)!),
        desired: t.desired,
        ready: t.ready,
        starting: t.starting,
        draining: t.draining,
        gatewayQueue: t.gatewayQueue,
        running: t.running,
        waiting: t.waiting,
        kvMean: t.kvMean.map((v) => round(v, 4)!),
      },
      latency: latencyOverTime(reqs, lat, windowMs, result.endMs),
      tickErrorExamples: result.tickErrors.examples,
    };
    if (result.warnings.length > 0) run.warnings = result.warnings;
    if (result.log.firstRejection !== undefined) run.firstRejection = result.log.firstRejection;
    if (result.verify) run.verify = result.verify;
    if (isOracle(oracle) && oracle.costUsd > 0) {
      run.summary.costVsOracle = round(run.summary.costUsd / oracle.costUsd, 4);
    }
    runs.push(run);
  }

  let inSum = 0;
  let outSum = 0;
  for (const r of reqs) {
    inSum += r.inputTokens;
    outSum += r.outputTokens;
  }
  const load = loadSeries(reqs, windowMs, lastArrival + 1);
  return {
    schema: REPORT_SCHEMA,
    input: {
      trace: {
        name: o.trace.name,
        requests: reqs.length,
        skipped: o.trace.skipped ?? 0,
        skippedErrors: o.trace.skippedErrors ?? [],
        durationS: round(lastArrival / 1000, 3)!,
        meanRps: lastArrival > 0 ? round(reqs.length / (lastArrival / 1000), 4) : null,
        meanInputTokens: round(inSum / reqs.length, 2),
        meanOutputTokens: round(outSum / reqs.length, 2),
      },
      deployment: { ...o.factory.description, pricePerReplicaHourUsd: o.factory.pricePerReplicaHour },
      coldStart: { description: coldStartProbe.description, meanS: round(coldStartProbe.meanMs / 1000, 3)! },
      router: o.router,
      tickS: o.tickMs / 1000,
      warmupS: (o.warmupMs ?? DEFAULT_WARMUP_MS) / 1000,
      tailS: (o.tailMs ?? 0) / 1000,
      seed: o.seed,
      epoch: new Date(epochMs).toISOString(),
      slo: { ttftS: o.slo.ttftMs / 1000, itlS: o.slo.itlMs / 1000, goal },
      flapWindowS: flapWindowMs / 1000,
      verifyMetrics: o.verifyMetrics ?? false,
    },
    load: { windowS: windowMs / 1000, ...load },
    oracle,
    runs,
  };
}

/** One model-group spec on the same arrivals; pool k draws its cold starts from seed + k. */
async function runGroup(
  o: ComparisonOptions,
  spec: SpecToRun,
  g: GroupSetup,
  index: number,
  p: { sampleMs: number; windowMs: number; epochMs: number; flapWindowMs: number },
): Promise<RunReport> {
  const reqs = o.trace.requests;
  const result = await runGroupSimulation({
    name: spec.name,
    pa: spec.pa,
    profiles: g.profiles,
    requests: reqs,
    router: g.router,
    poolRouter: o.router,
    tickMs: o.tickMs,
    sampleMs: p.sampleMs,
    epochMs: p.epochMs,
    ...(o.warmupMs !== undefined ? { warmupMs: o.warmupMs } : {}),
    ...(o.tailMs !== undefined ? { tailMs: o.tailMs } : {}),
    solver: g.solver,
    pools: g.pools.map((pool, k) => ({
      gpu: pool.gpu,
      factory: pool.factory,
      coldStart: pool.coldStart(new Rng(o.seed + k)),
      initialReplicas: pool.initialReplicas,
    })),
    onTick: (_tick, simMs) => o.onProgress?.(index, simMs),
  });
  const lat = requestLatencies(result, o.slo);
  const opt = spec.pa.optimizer!;
  const notes = [...g.notes];
  if (o.verifyMetrics)
    notes.push('--verify-metrics does not cover group runs (their token histograms are read directly)');
  const f = groupRunFigures(result, lat, {
    strategyLabel: spec.pa.strategy,
    metrics: [
      `optimizer over ${opt.targets.map((t) => t.gpu).join(', ')} (headroom ${opt.headroom})`,
      ...(opt.reactive === 'floor'
        ? spec.pa.metrics.map((m) => `${opt.reactiveStrategy} floor ${m.targetMetric}=${m.targetValue}`)
        : []),
    ],
    model: g.model,
    router: g.router,
    initial: g.initial,
    notes,
    profileSources: g.pools.map((pool) => pool.profileSource),
    flapWindowMs: p.flapWindowMs,
    slo: o.slo,
  });
  const run: RunReport = {
    summary: f.summary,
    initialReplicas: g.pools.reduce((a, pool) => a + pool.initialReplicas, 0),
    spec: { source: spec.source, ...(spec.raw !== undefined ? { raw: spec.raw } : {}), resolved: spec.pa },
    scaleEvents: f.scaleEvents,
    timeline: f.timeline,
    latency: latencyOverTime(reqs, lat, p.windowMs, result.endMs),
    tickErrorExamples: f.tickErrorExamples,
    group: f.group,
  };
  if (f.firstRejection !== undefined) run.firstRejection = f.firstRejection;
  return run;
}

/**
 * Replays the oracle's need curve on the virtual cluster: at each slot boundary the replica count is
 * the highest need within one cold start ahead, so replicas are ready when their slot begins.
 */
async function replayOracle(
  o: ComparisonOptions,
  needs: readonly number[],
  slotMs: number,
  coldStartMs: number,
  flapWindowMs: number,
): Promise<Oracle['replay']> {
  const want = (t: number): number => {
    const first = Math.floor(t / slotMs);
    const last = Math.min(needs.length - 1, Math.floor((t + coldStartMs) / slotMs));
    let m = 0;
    for (let k = first; k <= last; k++) m = Math.max(m, needs[k] ?? 0);
    return m;
  };
  const result = await runSimulation({
    name: 'oracle replay',
    pa: o.specs[0]!.pa,
    controller: want,
    requests: o.trace.requests,
    factory: o.factory,
    coldStart: fixedColdStart(coldStartMs),
    router: o.router,
    tickMs: slotMs,
    warmupMs: 0,
    initialReplicas: needs[0] ?? 1,
  });
  const s = summarizeRun(result, requestLatencies(result, o.slo), o.slo, flapWindowMs);
  return {
    attainment: s.slo.attainment,
    ttftP99: s.ttft.p99,
    itlP99: s.itl.p99,
    replicaSeconds: s.replicaSeconds,
    costUsd: s.costUsd,
  };
}
