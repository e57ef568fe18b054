/**
 * A model-group run in the report's terms: the same per-run figures as a single-pool run (totals
 * over the pools), plus a breakdown per GPU pool. Pure: from the run's result and latencies only.
 */
import type { GroupTickResult } from '../../src/engine/model-group.js';
import type { GroupRouterPolicy, GroupRunResult } from '../cluster/group.js';
import type { ClusterSeries, ScaleEventRecord } from '../cluster/run.js';
import { distribution, round } from './stats.js';
import {
  countFlaps,
  latencyStats,
  requestFigures,
  scaleEventCounts,
  timeWeightedMean,
  type RequestLatencies,
  type RunSummary,
  type Slo,
} from './summary.js';

/** One pool's share of a group run: the run's own figures for its requests and replicas, and more. */
export interface GroupPoolReport extends Pick<
  RunSummary,
  | 'ttft'
  | 'itl'
  | 'replicaSeconds'
  | 'gpuHours'
  | 'costUsd'
  | 'meanReplicas'
  | 'peakReplicas'
  | 'scaleEvents'
  | 'scaleUps'
  | 'scaleDowns'
  | 'flaps'
  | 'peakGatewayQueue'
> {
  gpu: string;
  deployment: string;
  model: string;
  tp: number;
  pricePerReplicaHourUsd: number;
  /** Where its profile came from; null: no profile, never planned. */
  profile: string | null;
  initialReplicas: number;
  /** Requests the gateway sent here, and their share of all. */
  requests: number;
  requestShare: number | null;
  /** Of this pool's requests, the share within both SLO bounds. */
  attainment: number | null;
  costShare: number | null;
  /** Same instants as the run's `timeline.timeS`. */
  timeline: { desired: number[]; ready: number[]; starting: number[]; draining: number[] };
}

export interface GroupRunDetail {
  model: string;
  /** The gateway's policy for choosing a pool. */
  router: GroupRouterPolicy;
  /** How the pools' initial sizes were chosen. */
  initial: string;
  pools: GroupPoolReport[];
  /** Engine ticks by outcome (plan, no-data, no-profile, infeasible, solver-failed). */
  outcomes: Record<GroupTickResult['outcome'], number>;
  /** Per tick: time, outcome, and the cheapest plan's cost and rate when there was one. */
  ticks: {
    timeS: number[];
    outcome: GroupTickResult['outcome'][];
    planCostPerHour: (number | null)[];
    plannedRps: (number | null)[];
  };
  /** Non-plan tick messages, first of each kind. */
  outcomeExamples: string[];
  notes: string[];
}

export interface GroupRunFigures {
  summary: RunSummary;
  timeline: { timeS: number[] } & ClusterSeries;
  /** Every pool's replica changes, in time order; `from`/`to` are that Deployment's counts. */
  scaleEvents: ScaleEventRecord[];
  tickErrorExamples: string[];
  firstRejection?: string;
  group: GroupRunDetail;
}

export interface GroupReportContext {
  strategyLabel: string;
  metrics: string[];
  model: string;
  router: GroupRouterPolicy;
  initial: string;
  notes: string[];
  /** Per pool, where its profile came from. */
  profileSources: Array<string | undefined>;
  flapWindowMs: number;
  slo: Slo;
}

const sum = (a: readonly number[]): number => a.reduce((x, y) => x + y, 0);

export function groupRunFigures(
  run: GroupRunResult,
  lat: RequestLatencies,
  ctx: GroupReportContext,
): GroupRunFigures {
  const n = run.log.requests.length;
  const tl = run.timeline;
  const pools = run.pools;
  const samples = tl.timeMs.length;
  const total = (
    field: 'desired' | 'ready' | 'starting' | 'draining' | 'gatewayQueue' | 'running' | 'waiting',
  ) => Array.from({ length: samples }, (_, i) => sum(pools.map((_, k) => tl.pools[k]![field][i]!)));
  const ready = total('ready');
  const kvMean = Array.from({ length: samples }, (_, i) => {
    const r = ready[i]!;
    if (r === 0) return 0;
    return round(sum(pools.map((_, k) => tl.pools[k]!.kvMean[i]! * tl.pools[k]!.ready[i]!)) / r, 4)!;
  });
  const timeline: GroupRunFigures['timeline'] = {
    timeS: tl.timeMs.map((v) => round(v / 1000, 3)!),
    desired: total('desired'),
    ready,
    starting: total('starting'),
    draining: total('draining'),
    gatewayQueue: total('gatewayQueue'),
    running: total('running'),
    waiting: total('waiting'),
    kvMean,
  };

  // Per-request figures split by pool.
  const poolTtft = pools.map(() => [] as number[]);
  const poolItl = pools.map(() => [] as number[]);
  const poolMet = pools.map(() => 0);
  const poolN = pools.map(() => 0);
  for (let i = 0; i < n; i++) {
    const k = run.poolOf[i] ?? 0;
    poolN[k]!++;
    poolMet[k]! += lat.met[i]!;
    poolTtft[k]!.push(lat.ttftMs[i]!);
    poolItl[k]!.push(lat.itlMs[i]!);
  }

  const reasonAt = new Map(run.ticks.map((t) => [t.timeMs, t.message]));
  const scaleEvents: ScaleEventRecord[] = pools
    .flatMap((p) =>
      p.scaleEvents.map((e) => ({
        timeMs: round(e.timeMs, 3)!,
        from: e.from,
        to: e.to,
        reason: `${p.deployment} (${p.gpu}): ${reasonAt.get(e.timeMs) ?? ''}`,
      })),
    )
    .sort((a, b) => a.timeMs - b.timeMs);

  const replicaMs = sum(pools.map((p) => p.replicaMs));
  const costUsd = sum(pools.map((p) => p.costUsd));
  const poolReports: GroupPoolReport[] = pools.map((p, k) => {
    const ptl = tl.pools[k]!;
    const poolFlaps = countFlaps(p.scaleEvents, ctx.flapWindowMs);
    let peak = p.initialReplicas;
    for (const c of tl.replicas[k]!) peak = Math.max(peak, c);
    return {
      gpu: p.gpu,
      deployment: p.deployment,
      model: ctx.model,
      tp: p.gpusPerReplica,
      pricePerReplicaHourUsd: p.pricePerReplicaHour,
      profile: ctx.profileSources[k] ?? null,
      initialReplicas: p.initialReplicas,
      requests: p.requests,
      requestShare: n > 0 ? round(p.requests / n, 4) : null,
      attainment: poolN[k]! > 0 ? round(poolMet[k]! / poolN[k]!, 6) : null,
      ttft: latencyStats(distribution(poolTtft[k]!)),
      itl: latencyStats(distribution(poolItl[k]!)),
      replicaSeconds: round(p.replicaMs / 1000, 3)!,
      gpuHours: round((p.replicaMs * p.gpusPerReplica) / 3_600_000, 6)!,
      costUsd: round(p.costUsd, 6)!,
      costShare: costUsd > 0 ? round(p.costUsd / costUsd, 4) : null,
      meanReplicas: timeWeightedMean(
        tl.timeMs,
        (i) => ptl.ready[i]! + ptl.starting[i]! + ptl.draining[i]!,
        run.workEndMs,
      ),
      peakReplicas: Math.max(p.peakReplicas, peak),
      ...scaleEventCounts(p.scaleEvents),
      flaps: poolFlaps,
      peakGatewayQueue: p.peakGatewayQueue,
      timeline: { desired: ptl.desired, ready: ptl.ready, starting: ptl.starting, draining: ptl.draining },
    };
  });

  let peakReplicas = sum(pools.map((p) => p.initialReplicas));
  let peakQueue = Math.max(0, ...pools.map((p) => p.peakGatewayQueue));
  let peakWaiting = 0;
  for (let i = 0; i < samples; i++) {
    peakReplicas = Math.max(peakReplicas, sum(pools.map((_, k) => tl.replicas[k]![i]!)));
    peakQueue = Math.max(peakQueue, timeline.gatewayQueue[i]!);
    peakWaiting = Math.max(peakWaiting, timeline.gatewayQueue[i]! + timeline.waiting[i]!);
  }
  const summary: RunSummary = {
    name: run.name,
    strategy: ctx.strategyLabel,
    metrics: ctx.metrics,
    ...requestFigures(run.log, lat, ctx.slo),
    durationS: round(run.workEndMs / 1000, 3)!,
    replicaSeconds: round(replicaMs / 1000, 3)!,
    gpuHours: round(sum(pools.map((p) => p.replicaMs * p.gpusPerReplica)) / 3_600_000, 6)!,
    costUsd: round(costUsd, 6)!,
    costVsOracle: null,
    meanReplicas: timeWeightedMean(
      tl.timeMs,
      (i) => timeline.ready[i]! + timeline.starting[i]! + timeline.draining[i]!,
      run.workEndMs,
    ),
    peakReplicas,
    ...scaleEventCounts(scaleEvents),
    flaps: sum(poolReports.map((p) => p.flaps)),
    peakGatewayQueue: peakQueue,
    peakWaiting,
    tickErrors: run.tickErrorCount,
    truncated: run.truncated,
  };

  const outcomeExamples: string[] = [];
  const seen = new Set<string>();
  for (const t of run.ticks) {
    if (t.outcome === 'plan' || seen.has(t.outcome)) continue;
    seen.add(t.outcome);
    outcomeExamples.push(`${round(t.timeMs / 1000, 1)} s ${t.outcome}: ${t.message}`);
  }
  const out: GroupRunFigures = {
    summary,
    timeline,
    scaleEvents,
    tickErrorExamples: run.tickErrors.slice(0, 10),
    group: {
      model: ctx.model,
      router: ctx.router,
      initial: ctx.initial,
      pools: poolReports,
      outcomes: run.outcomes,
      ticks: {
        timeS: run.ticks.map((t) => round(t.timeMs / 1000, 3)!),
        outcome: run.ticks.map((t) => t.outcome),
        planCostPerHour: run.ticks.map((t) =>
          t.planCostPerHour === undefined ? null : round(t.planCostPerHour, 4),
        ),
        plannedRps: run.ticks.map((t) => (t.totalRps === undefined ? null : round(t.totalRps, 4))),
      },
      outcomeExamples,
      notes: ctx.notes,
    },
  };
  if (run.log.firstRejection !== undefined) out.firstRejection = run.log.firstRejection;
  return out;
}
