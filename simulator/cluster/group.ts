/**
 * A model group in the simulator: several GPU pools (one virtual cluster per Deployment of an
 * OPTIMIZER PodAutoscaler) behind one gateway, scaled by the production ModelGroupEngine through
 * virtual seams. Same trace, same replica model and same cold starts as the single-pool runs, so
 * the optimizer is evaluated like every other strategy.
 *
 * The gateway picks a pool per request, then the pool's own router picks a replica:
 * - `plan` (default): size-aware, as Mélange assumes: a request goes to the pools the latest plan
 *   assigned its (input, output) bucket to, in the plan's shares scaled by how much of each pool's
 *   planned capacity is ready (smooth weighted round-robin, so runs are deterministic). The rest,
 *   and a bucket the plan does not cover, goes by capacity (below). A request whose pool is
 *   saturated (every ready replica queueing) spills to a pool that can serve it and is not;
 * - `capacity`: size-aware, plan-oblivious: in proportion to ready replicas × the profile's rate for
 *   the request's bucket (with the same spill-over);
 * - `least-requests`: oblivious: the ready replica with the fewest requests in flight, any pool.
 * A request no ready replica can take waits in a gateway queue (its pool's), as in the single-pool
 * cluster. The size-aware policies judge what a pool can serve by the request's own size (the
 * profile's first measured lengths at or above it), never by its nearest bucket, which may lie
 * below it: a 5,000-token prompt counts in the 4,096 bucket but needs a type that serves 8,192.
 */
import type { ResolvedPodAutoscaler, ScaleTargetRef } from '../../src/api/resolved.js';
import { ModelGroupEngine, type GroupTickResult } from '../../src/engine/model-group.js';
import type {
  MetricReading,
  MetricRequest,
  MetricSource,
  PodInfo,
  PodSource,
  ScaleState,
  ScaleTarget,
} from '../../src/engine/seams.js';
import { silentLogger } from '../../src/observability/log.js';
import type { TokenSnapshot } from '../../src/optimizer/engine-load.js';
import { sameGpu, StaticProfileSource } from '../../src/optimizer/profile-source.js';
import type {
  TokenHistogramSource,
  TokenReading,
  TokenReadRequest,
} from '../../src/optimizer/token-scraper.js';
import { tickIndex, type Grid } from '../../algorithms/optimizer/grid.js';
import type { MilpSolver } from '../../algorithms/optimizer/milp.js';
import { profileMaxRps, type Profile } from '../../algorithms/optimizer/profile.js';
import type { HistogramDelta } from '../../algorithms/optimizer/histograms.js';
import type { Deployment } from '../model/hardware.js';
import type { Histogram } from '../model/histogram.js';
import type { ReplicaOptions } from '../model/replica.js';
import { catalogReplicaFactory, ModelReplica } from './model-adapter.js';
import type { ColdStartSampler } from './coldstart.js';
import { RequestLog, VirtualCluster, type ScaleEvent } from './cluster.js';
import type { ReplicaFactory, SimRequest } from './replica.js';
import { createRouter } from './router.js';
import { listPods, VirtualClock, VirtualMetricSource } from './seams.js';
import {
  checkRequestOrder,
  DEFAULT_EPOCH_MS,
  DEFAULT_SAMPLE_MS,
  DEFAULT_TICK_MS,
  DEFAULT_WARMUP_MS,
  emptySeries,
  runHorizon,
  sampleCluster,
  stopBefore,
  type ClusterSeries,
} from './run.js';

export type GroupRouterPolicy = 'plan' | 'capacity' | 'least-requests';
export const GROUP_ROUTER_POLICIES: readonly GroupRouterPolicy[] = ['plan', 'capacity', 'least-requests'];

// ---------------------------------------------------------------------------------------------
// Replicas that also expose their token histograms

/** The replica model behind the cluster's SimReplica contract, plus its token histograms. */
export class TokenReplica extends ModelReplica {
  /** `vllm:request_prompt_tokens` / `…_generation_tokens` as the engine would expose them. */
  tokenSnapshot(): TokenSnapshot {
    const st = this.model.stats;
    const layout = st.tokenBuckets;
    const delta = (h: Histogram): HistogramDelta => {
      const cum = h.cumulative(layout);
      return {
        buckets: layout.map((le, i) => ({ le, count: cum[i] as number })),
        count: h.count,
        sum: h.sum,
      };
    };
    return { prompt: delta(st.promptLen), generation: delta(st.generationLen) };
  }
}

export type PoolFactory = ReplicaFactory;

export function poolFactory(opts: {
  gpu: string;
  model: string;
  replica?: ReplicaOptions;
  /** USD per replica-hour; default the catalogue's GPU price × TP. */
  pricePerReplicaHour?: number;
}): PoolFactory & { deployment: Deployment } {
  return catalogReplicaFactory(
    { ...opts, missingPriceHint: 'give pricePerReplicaHour' },
    (m) => new TokenReplica(m),
  );
}

// ---------------------------------------------------------------------------------------------
// Pools and the seams over them

export interface PoolConfig {
  /** The GPU type: one of the PodAutoscaler's `optimizer.targets[].gpu`. */
  gpu: string;
  factory: PoolFactory;
  coldStart: ColdStartSampler;
  /** Ready at time 0. Default the target's minReplicas. */
  initialReplicas?: number;
}

interface Pool {
  gpu: string;
  ref: ScaleTargetRef;
  cluster: VirtualCluster;
  factory: PoolFactory;
  metrics: VirtualMetricSource;
  profile: Profile | undefined;
  peakReplicas: number;
  initialReplicas: number;
}

class GroupSeams implements ScaleTarget, PodSource {
  constructor(
    private readonly pools: readonly Pool[],
    private readonly clock: VirtualClock,
  ) {}

  private poolByRef(ref: ScaleTargetRef): Pool {
    const p = this.pools.find((x) => x.ref.name === ref.name);
    if (!p) throw new Error(`no simulated Deployment ${ref.kind}/${ref.name}`);
    return p;
  }

  async get(_ns: string, ref: ScaleTargetRef): Promise<ScaleState> {
    const p = this.poolByRef(ref);
    return {
      replicas: p.cluster.desired,
      selector: `pool=${p.ref.name}`,
      statusReplicas: p.cluster.liveCount,
    };
  }

  async set(_ns: string, ref: ScaleTargetRef, replicas: number): Promise<void> {
    const p = this.poolByRef(ref);
    p.cluster.setDesired(replicas, this.clock.simMs);
    if (p.cluster.liveCount > p.peakReplicas) p.peakReplicas = p.cluster.liveCount;
  }

  async list(namespace: string, selector: string): Promise<PodInfo[]> {
    const p = this.poolByRef({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: selector.replace(/^pool=/, ''),
    });
    return listPods(p.cluster, namespace, this.clock.epochMs, 1, { pool: p.ref.name });
  }

  /** Token histograms straight from each pod's replica (what its /metrics page would show). */
  readonly tokens: TokenHistogramSource = {
    read: async (req: TokenReadRequest): Promise<TokenReading> => {
      const out: TokenReading = new Map();
      for (const info of req.pods) {
        const pod = this.pools.map((p) => p.cluster.pod(info.name)).find((x) => x !== undefined);
        const replica = pod?.replica;
        if (!(replica instanceof TokenReplica))
          out.set(info.name, { error: `pod ${info.name}: not serving` });
        else out.set(info.name, { snapshot: replica.tokenSnapshot() });
      }
      return out;
    },
  };

  /** The reactive floor's reads go to the pool that owns the pods. */
  readonly metrics: MetricSource = {
    read: async (req: MetricRequest): Promise<MetricReading> => {
      const pool = this.pools.find((p) => req.pods.some((pod) => p.cluster.pod(pod.name) !== undefined));
      if (pool === undefined) return { sample: undefined, errors: ['no pod of any pool in the request'] };
      return pool.metrics.read(req);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The gateway

class GroupGateway {
  private readonly routes = new Map<string, Array<{ pool: number; weight: number }>>();
  private readonly credit = new Map<string, Float64Array>();
  /** Requests sent to each pool. */
  readonly sent: number[];
  /** Per request id, the pool it was sent to. */
  readonly poolOf: Uint8Array;

  constructor(
    private readonly policy: GroupRouterPolicy,
    private readonly pools: readonly Pool[],
    private readonly grid: Grid,
    requests: number,
  ) {
    this.sent = pools.map(() => 0);
    this.poolOf = new Uint8Array(requests);
  }

  /** Takes the latest plan's bucket assignment and how many replicas it planned per pool. */
  update(tick: GroupTickResult): void {
    if (tick.plan === undefined) return;
    this.routes.clear();
    this.planned = this.pools.map((p) => tick.plan!.gpus.find((g) => g.gpu === p.gpu)?.replicas ?? 0);
    for (const b of tick.plan.buckets) {
      const key = this.key(b.input, b.output);
      const weights = b.shares
        .map((s) => ({ pool: this.pools.findIndex((p) => p.gpu === s.gpu), weight: s.share }))
        .filter((w) => w.pool >= 0 && w.weight > 0);
      this.routes.set(key, weights);
    }
  }

  private planned: number[] = [];

  route(req: SimRequest, t: number): void {
    let i: number;
    if (this.policy === 'least-requests') i = this.leastRequests();
    else {
      // Once per request: the pick and the spill both weigh every pool by it.
      const key = this.key(req.inputTokens, req.outputTokens);
      const rates = this.rates(req);
      i = this.pick(key, rates);
      if (this.saturated(i)) i = this.spill(key, rates, i);
    }
    this.sent[i] = (this.sent[i] ?? 0) + 1;
    this.poolOf[req.id] = i;
    this.pools[i]!.cluster.arrive(req, t);
  }

  private key(input: number, output: number): string {
    const i = tickIndex(this.grid.input, input, 'nearest').index;
    const o = tickIndex(this.grid.output, output, 'nearest').index;
    return `${i}:${o}`;
  }

  /** A size-aware pick: `key` is the request's bucket, `rates` a replica's rate per pool for it. */
  private pick(key: string, rates: readonly number[]): number {
    const byCapacity = (): Array<{ pool: number; weight: number }> =>
      this.pools
        .map((p, pool) => ({ pool, weight: p.cluster.ready.length * rates[pool]! }))
        .filter((w) => w.weight > 0);
    if (this.policy === 'plan') {
      // A pool takes its planned share scaled by how much of its planned capacity is ready; the
      // rest of the bucket (pools still starting) goes by ready capacity.
      const shares = (this.routes.get(key) ?? []).map((w) => {
        const planned = this.planned[w.pool] ?? 0;
        const ready = this.pools[w.pool]!.cluster.ready.length;
        const able = rates[w.pool]! > 0;
        return { pool: w.pool, weight: planned > 0 && able ? w.weight * Math.min(1, ready / planned) : 0 };
      });
      const covered = shares.reduce((a, w) => a + w.weight, 0);
      if (covered > 0) {
        const leftover = Math.max(0, 1 - covered);
        const cap = leftover > 1e-9 ? byCapacity() : [];
        const capTotal = cap.reduce((a, w) => a + w.weight, 0);
        const weights = new Map<number, number>();
        for (const w of shares) if (w.weight > 0) weights.set(w.pool, (weights.get(w.pool) ?? 0) + w.weight);
        for (const w of cap)
          weights.set(w.pool, (weights.get(w.pool) ?? 0) + (leftover * w.weight) / capTotal);
        return this.weighted(
          key,
          [...weights].map(([pool, weight]) => ({ pool, weight })),
        );
      }
    }
    const cap = byCapacity();
    if (cap.length > 0) return this.weighted(`cap:${key}`, cap);
    // Nothing ready can serve it: queue where capacity is coming (or the plan wants it).
    const planned = this.routes.get(key) ?? [];
    if (planned.length > 0) return planned.reduce((a, b) => (b.weight > a.weight ? b : a)).pool;
    const able = this.pools.findIndex((p, pool) => rates[pool]! > 0 && p.cluster.liveCount > 0);
    if (able >= 0) return able;
    const any = this.pools.findIndex((p) => p.cluster.ready.length > 0);
    return any >= 0 ? any : 0;
  }

  /** Every ready replica of the pool has a queue (or none is ready): it is past its capacity. */
  private saturated(pool: number): boolean {
    const ready = this.pools[pool]!.cluster.ready;
    if (ready.length === 0) return true;
    for (const pod of ready) {
      const r = pod.replica;
      if (!(r instanceof TokenReplica) || r.model.numWaiting === 0) return false;
    }
    return true;
  }

  /**
   * The chosen pool is saturated (its planned capacity is still starting, or the load outgrew the
   * plan): send the request to another pool that can serve its bucket and has no queue, by ready
   * capacity, as a load-aware gateway would; else keep the choice.
   */
  private spill(key: string, rates: readonly number[], chosen: number): number {
    const free = this.pools
      .map((p, pool) => ({
        pool,
        weight: pool === chosen || this.saturated(pool) ? 0 : p.cluster.ready.length * rates[pool]!,
      }))
      .filter((w) => w.weight > 0);
    return free.length > 0 ? this.weighted(`spill:${key}`, free) : chosen;
  }

  /**
   * Per pool, a replica's rate in its profile for the request's own size: the first measured
   * lengths at or above it (`profileMaxRps`), not the nearest tick, which may lie below it. A pool
   * whose profile does not reach the request cannot serve it within the SLO and is never offered it.
   */
  private rates(req: SimRequest): number[] {
    return this.pools.map((p) =>
      p.profile ? profileMaxRps(p.profile, req.inputTokens, req.outputTokens) : 0,
    );
  }

  /** Smooth weighted round-robin (nginx's): deterministic and evenly interleaved. */
  private weighted(key: string, weights: ReadonlyArray<{ pool: number; weight: number }>): number {
    let credit = this.credit.get(key);
    if (credit === undefined) {
      credit = new Float64Array(this.pools.length);
      this.credit.set(key, credit);
    }
    let total = 0;
    let best = weights[0]!.pool;
    for (const w of weights) {
      credit[w.pool] = (credit[w.pool] as number) + w.weight;
      total += w.weight;
      if ((credit[w.pool] as number) > (credit[best] as number)) best = w.pool;
    }
    credit[best] = (credit[best] as number) - total;
    return best;
  }

  private leastRequests(): number {
    let best = -1;
    let bestLoad = Infinity;
    this.pools.forEach((p, i) => {
      for (const pod of p.cluster.ready) {
        if (pod.inFlight < bestLoad) {
          bestLoad = pod.inFlight;
          best = i;
        }
      }
    });
    if (best >= 0) return best;
    const starting = this.pools.findIndex((p) => p.cluster.liveCount > 0);
    return starting >= 0 ? starting : 0;
  }
}

// ---------------------------------------------------------------------------------------------
// The run

export interface GroupRunConfig {
  name: string;
  /** An OPTIMIZER PodAutoscaler; its targets name the pools (by GPU type). */
  pa: ResolvedPodAutoscaler;
  pools: readonly PoolConfig[];
  profiles: readonly Profile[];
  /** Sorted by arrival; ids 0..n-1. */
  requests: readonly SimRequest[];
  router?: GroupRouterPolicy;
  /** Replica router inside each pool (default least-requests). */
  poolRouter?: 'round-robin' | 'least-requests' | 'least-kv';
  tickMs?: number;
  sampleMs?: number;
  warmupMs?: number;
  epochMs?: number;
  /**
   * Keep the pools and the engine running at least this long after the last arrival, even when
   * every request has finished, to watch the scale-down (default 0; cost stops at the last completion).
   */
  tailMs?: number;
  maxTailMs?: number;
  solver?: () => Promise<MilpSolver>;
  onTick?: (tick: GroupTickResult, simMs: number) => void;
}

export interface GroupPoolResult {
  gpu: string;
  deployment: string;
  pricePerReplicaHour: number;
  /** GPU time of the pool's pods up to the end of the work, replica-ms. */
  replicaMs: number;
  costUsd: number;
  peakReplicas: number;
  /** Requests the gateway sent to this pool. */
  requests: number;
  /** Of those, the share within the SLO (filled by `summarizeGroupRun`). */
  attainment?: number;
  gpusPerReplica: number;
  /** Ready at time 0. */
  initialReplicas: number;
  /** Every change of the Deployment's replica count. */
  scaleEvents: ScaleEvent[];
  /** Longest queue of requests routed to this pool while none of its replicas was ready. */
  peakGatewayQueue: number;
}

/** One pool's state at each timeline sample (same instants as `GroupRunResult.timeline.timeMs`). */
export type GroupPoolTimeline = ClusterSeries;

export interface GroupTickRecord {
  timeMs: number;
  outcome: GroupTickResult['outcome'];
  message: string;
  desired: Array<number | undefined>;
  planCostPerHour?: number;
  totalRps?: number;
}

export interface GroupRunResult {
  name: string;
  log: RequestLog;
  /** Per request id, the index of the pool it went to. */
  poolOf: Uint8Array;
  endMs: number;
  workEndMs: number;
  truncated: boolean;
  pools: GroupPoolResult[];
  costUsd: number;
  ticks: GroupTickRecord[];
  /** Per sample: time and ready+starting replicas per pool, and each pool's detail. */
  timeline: { timeMs: number[]; replicas: number[][]; pools: GroupPoolTimeline[] };
  outcomes: Record<GroupTickResult['outcome'], number>;
  /** The first 20 target errors (scale reads/writes), and how many there were in all. */
  tickErrors: string[];
  tickErrorCount: number;
}

export async function runGroupSimulation(cfg: GroupRunConfig): Promise<GroupRunResult> {
  const opt = cfg.pa.optimizer;
  if (cfg.pa.strategy !== 'OPTIMIZER' || opt === undefined) {
    throw new Error(`${cfg.name}: a group run needs an OPTIMIZER PodAutoscaler`);
  }
  const requests = cfg.requests;
  checkRequestOrder(requests);
  const epochMs = cfg.epochMs ?? DEFAULT_EPOCH_MS;
  const clock = new VirtualClock(epochMs);
  const log = new RequestLog(requests);
  const pools: Pool[] = opt.targets.map((t) => {
    const pc = cfg.pools.find((p) => sameGpu(p.gpu, t.gpu));
    if (pc === undefined)
      throw new Error(`${cfg.name}: no pool configured for target ${t.gpu} (${t.scaleTargetRef.name})`);
    const cluster = new VirtualCluster({
      factory: pc.factory,
      coldStart: pc.coldStart,
      router: createRouter(cfg.poolRouter ?? 'least-requests'),
      log,
      namePrefix: t.scaleTargetRef.name,
      initialReplicas: pc.initialReplicas ?? t.minReplicas,
    });
    return {
      gpu: t.gpu,
      ref: t.scaleTargetRef,
      cluster,
      factory: pc.factory,
      metrics: new VirtualMetricSource(cluster, clock),
      profile: cfg.profiles.find(
        (p) => sameGpu(p.gpu, t.gpu) && (opt.model === undefined || p.model === opt.model),
      ),
      peakReplicas: cluster.liveCount,
      initialReplicas: cluster.liveCount,
    };
  });
  const grid = unionGrid(pools.flatMap((p) => (p.profile ? [p.profile] : [])));
  const seams = new GroupSeams(pools, clock);
  const engine = new ModelGroupEngine({
    clock,
    pods: seams,
    scale: seams,
    tokens: seams.tokens,
    metrics: seams.metrics,
    profiles: new StaticProfileSource(cfg.profiles),
    ...(cfg.solver ? { solver: cfg.solver } : {}),
    log: silentLogger(),
  });
  if (pools.length > 255) throw new Error(`${cfg.name}: at most 255 pools`);
  const gateway = new GroupGateway(cfg.router ?? 'plan', pools, grid, requests.length);

  const tickMs = cfg.tickMs ?? DEFAULT_TICK_MS;
  const sampleMs = cfg.sampleMs ?? DEFAULT_SAMPLE_MS;
  const n = requests.length;
  const horizon = runHorizon(requests, cfg);
  const ticks: GroupTickRecord[] = [];
  const timeline: GroupRunResult['timeline'] = {
    timeMs: [],
    replicas: pools.map(() => []),
    pools: pools.map(() => emptySeries()),
  };
  const outcomes: GroupRunResult['outcomes'] = {
    plan: 0,
    'no-profile': 0,
    'no-data': 0,
    infeasible: 0,
    'solver-failed': 0,
  };
  const tickErrors: string[] = [];
  let tickErrorCount = 0;
  const idle = () => pools.every((p) => p.cluster.idle());
  const sample = (t: number) => {
    timeline.timeMs.push(t);
    pools.forEach((p, i) => {
      timeline.replicas[i]!.push(p.cluster.liveCount);
      sampleCluster(timeline.pools[i]!, p.cluster);
    });
  };

  let i = 0;
  let now = 0;
  let nextSample = 0;
  let nextTick = cfg.warmupMs ?? DEFAULT_WARMUP_MS;
  let truncated = false;
  let workEnd: number | undefined;
  for (;;) {
    const done = i >= n && idle();
    if (done && workEnd === undefined) workEnd = Math.max(now, horizon.lastArrival);
    if (done && now >= horizon.tailEnd) break;
    let tI = Infinity;
    let poolI = -1;
    pools.forEach((p, k) => {
      const t = p.cluster.nextEventTime();
      if (t < tI) {
        tI = t;
        poolI = k;
      }
    });
    const tA = i < n ? requests[i]!.arrivalMs : Infinity;
    const t = Math.min(tI, tA, nextSample, nextTick);
    const stop = stopBefore(t, done, horizon);
    if (stop !== undefined) {
      now = stop;
      truncated = !done;
      break;
    }
    now = t;
    clock.simMs = t;
    if (tI <= t) pools[poolI]!.cluster.processNext(t);
    else if (tA <= t) gateway.route(requests[i++]!, t);
    else if (nextSample <= t) {
      sample(t);
      nextSample += sampleMs;
    } else {
      const r = await engine.tick(cfg.pa);
      outcomes[r.outcome]++;
      gateway.update(r);
      ticks.push({
        timeMs: t,
        outcome: r.outcome,
        message: r.message,
        desired: r.targets.map((x) => x.desired),
        ...(r.plan ? { planCostPerHour: r.plan.costPerHour, totalRps: r.plan.totalRps } : {}),
      });
      for (const x of r.targets) {
        if (!x.error) continue;
        tickErrorCount++;
        if (tickErrors.length < 20) tickErrors.push(`${t} ms ${x.gpu} ${x.error.stage}: ${x.error.message}`);
      }
      for (const p of pools) if (p.cluster.liveCount > p.peakReplicas) p.peakReplicas = p.cluster.liveCount;
      cfg.onTick?.(r, t);
      nextTick += tickMs;
    }
  }
  clock.simMs = now;
  sample(now);
  const end = workEnd ?? now;
  const poolResults = pools.map((p, k): GroupPoolResult => {
    const replicaMs = p.cluster.replicaMs(end);
    return {
      gpu: p.gpu,
      deployment: p.ref.name,
      pricePerReplicaHour: p.factory.pricePerReplicaHour,
      replicaMs,
      costUsd: (replicaMs / 3_600_000) * p.factory.pricePerReplicaHour,
      peakReplicas: p.peakReplicas,
      requests: gateway.sent[k] ?? 0,
      gpusPerReplica: p.factory.gpusPerReplica,
      initialReplicas: p.initialReplicas,
      scaleEvents: [...p.cluster.scaleEvents],
      peakGatewayQueue: p.cluster.peakGatewayQueue,
    };
  });
  return {
    name: cfg.name,
    log,
    poolOf: gateway.poolOf,
    endMs: now,
    workEndMs: end,
    truncated,
    pools: poolResults,
    costUsd: poolResults.reduce((s, p) => s + p.costUsd, 0),
    ticks,
    timeline,
    outcomes,
    tickErrors,
    tickErrorCount,
  };
}

/** Every profile's ticks, merged (the gateway's buckets; the engine plans on the same union). */
export function unionGrid(profiles: readonly Profile[]): Grid {
  if (profiles.length === 0) return { input: [1], output: [1] };
  const input = [...new Set(profiles.flatMap((p) => p.grid.input))].sort((a, b) => a - b);
  const output = [...new Set(profiles.flatMap((p) => p.grid.output))].sort((a, b) => a - b);
  return { input, output };
}

// ---------------------------------------------------------------------------------------------
// Figures

export interface SloSpec {
  /** Seconds. */
  ttft: number;
  /** Seconds: each request's mean inter-token latency. */
  itl: number;
  /** Percentile the SLO is stated at (90 for the checked-in profiles). */
  percentile: number;
}

export interface GroupRunSummary {
  name: string;
  requests: number;
  completed: number;
  rejected: number;
  ttftP: number;
  itlP: number;
  /** Share of requests with TTFT ≤ slo.ttft and mean ITL ≤ slo.itl. */
  attainment: number;
  /** The SLO percentiles hold (p-th TTFT and p-th ITL within bounds). */
  meetsSlo: boolean;
  costUsd: number;
  hours: number;
  costPerHour: number;
  pools: GroupPoolResult[];
  truncated: boolean;
}

export function summarizeGroupRun(run: GroupRunResult, slo: SloSpec): GroupRunSummary {
  const log = run.log;
  const ttft: number[] = [];
  const itl: number[] = [];
  let ok = 0;
  let rejected = 0;
  let completed = 0;
  const poolOk = run.pools.map(() => 0);
  const poolN = run.pools.map(() => 0);
  for (let k = 0; k < log.requests.length; k++) {
    const req = log.requests[k]!;
    const pool = run.poolOf[k] ?? 0;
    poolN[pool] = (poolN[pool] ?? 0) + 1;
    if (log.rejected[k] === 1) {
      rejected++;
      continue;
    }
    const first = log.firstTokenMs[k]!;
    const fin = log.finishMs[k]!;
    if (Number.isNaN(fin)) {
      // Unfinished at give-up: counts as a miss at an infinite latency.
      ttft.push(Infinity);
      itl.push(Infinity);
      continue;
    }
    completed++;
    const t = (first - req.arrivalMs) / 1000;
    const i = req.outputTokens > 1 ? (fin - first) / 1000 / (req.outputTokens - 1) : 0;
    ttft.push(t);
    itl.push(i);
    if (t <= slo.ttft && i <= slo.itl) {
      ok++;
      poolOk[pool] = (poolOk[pool] ?? 0) + 1;
    }
  }
  const pct = (v: number[]): number => {
    if (v.length === 0) return NaN;
    v.sort((a, b) => a - b);
    return v[Math.max(0, Math.ceil((slo.percentile / 100) * v.length) - 1)]!;
  };
  const ttftP = pct(ttft);
  const itlP = pct(itl);
  const hours = (run.workEndMs - 0) / 3_600_000;
  return {
    name: run.name,
    requests: log.requests.length,
    completed,
    rejected,
    ttftP,
    itlP,
    attainment: ttft.length > 0 ? ok / ttft.length : NaN,
    meetsSlo: ttftP <= slo.ttft && itlP <= slo.itl,
    costUsd: run.costUsd,
    hours,
    costPerHour: hours > 0 ? run.costUsd / hours : NaN,
    pools: run.pools.map((p, k) => ({
      ...p,
      ...(poolN[k]! > 0 ? { attainment: poolOk[k]! / poolN[k]! } : {}),
    })),
    truncated: run.truncated,
  };
}
