/**
 * Capacity of a replica at the SLO: the highest Poisson arrival rate, with request sizes drawn from
 * the trace, at which a pool of replicas behind the run's router keeps the SLO for at least `goal`
 * of its requests, divided by the pool size.
 *
 * A pool serves more per replica than a lone replica does (the router evens out bursts), so the
 * per-replica figure depends on the pool size. `replicaCapacity` first measures one replica, sizes
 * a pool for the trace's mean rate with it, and measures that pool: the capacity the oracle uses is
 * the one at the size the trace actually needs.
 *
 * Each search doubles then bisects the rate; every probe reuses the same random stream (common
 * random numbers), so attainment moves smoothly with the rate and the search is reproducible.
 */
import { fixedColdStart } from '../cluster/coldstart.js';
import { RequestLog, VirtualCluster } from '../cluster/cluster.js';
import type { ReplicaFactory, SimRequest } from '../cluster/replica.js';
import { createRouter, type RouterPolicy } from '../cluster/router.js';
import { Rng } from '../traces/rng.js';
import type { Slo } from './summary.js';

export interface CapacityOptions {
  factory: ReplicaFactory;
  /** Requests whose sizes are drawn (the trace). */
  sizes: readonly Pick<SimRequest, 'inputTokens' | 'outputTokens'>[];
  slo: Slo;
  /** Fraction of requests that must meet the SLO, e.g. 0.99. */
  goal: number;
  seed: number;
  /** Router in front of a pool (default least-requests). */
  router?: RouterPolicy;
  /** Requests measured per replica of the pool (default 1500 for one replica, at least 300 per replica). */
  requests?: number;
  /** Bisection steps after the doubling phase (default 8: ~0.4 % precision). */
  steps?: number;
}

export interface Probe {
  /** Arrival rate into the whole pool, req/s. */
  rps: number;
  attainment: number;
}

export interface PoolCapacity {
  replicas: number;
  /** Highest rate into the pool within the goal; undefined when even a trickle fails. */
  rps: number | undefined;
  probes: Probe[];
  note?: string;
}

const MIN_RPS = 1 / 64;
const MAX_RPS = 1e5;

function probeRequests(opts: CapacityOptions, replicas: number): number {
  return Math.max(opts.requests ?? 1500, 300 * replicas);
}

/** SLO attainment of a pool of `replicas` (ready at time 0) fed `rate` req/s. */
export function probeAttainment(opts: CapacityOptions, rate: number, replicas = 1): number {
  const measured = probeRequests(opts, replicas);
  const warmup = Math.ceil(measured / 10);
  const n = measured + warmup;
  const rng = new Rng(opts.seed);
  const reqs: SimRequest[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += rng.exp(rate) * 1000;
    const s = opts.sizes[Math.floor(rng.next() * opts.sizes.length)]!;
    reqs.push({ id: i, arrivalMs: t, inputTokens: s.inputTokens, outputTokens: s.outputTokens });
  }
  const log = new RequestLog(reqs);
  const cluster = new VirtualCluster({
    factory: opts.factory,
    coldStart: fixedColdStart(0),
    router: createRouter(opts.router ?? 'least-requests'),
    log,
    namePrefix: 'probe',
    initialReplicas: replicas,
  });
  let i = 0;
  for (;;) {
    const tI = cluster.nextEventTime();
    const tA = i < n ? reqs[i]!.arrivalMs : Infinity;
    if (tI === Infinity && tA === Infinity) break;
    if (tI <= tA) cluster.processNext(tI);
    else cluster.arrive(reqs[i++]!, tA);
  }
  let met = 0;
  for (let k = warmup; k < n; k++) {
    const r = reqs[k]!;
    const finish = log.finishMs[k]!;
    if (log.rejected[k] === 1 || Number.isNaN(finish)) continue;
    const first = log.firstTokenMs[k]!;
    const ttft = first - r.arrivalMs;
    const itl = r.outputTokens > 1 ? (finish - first) / (r.outputTokens - 1) : 0;
    if (ttft <= opts.slo.ttftMs && itl <= opts.slo.itlMs) met++;
  }
  return met / measured;
}

/** The highest rate into a pool of `replicas` that keeps the goal; the search starts at `startRps`. */
export function measurePool(
  opts: CapacityOptions,
  replicas: number,
  startRps = 0.5 * replicas,
): PoolCapacity {
  if (!(opts.goal > 0 && opts.goal <= 1)) throw new Error(`SLO goal must be in (0, 1], got ${opts.goal}`);
  if (opts.sizes.length === 0) throw new Error('capacity probe needs at least one request size');
  const probes: Probe[] = [];
  const ok = (rps: number): boolean => {
    const attainment = probeAttainment(opts, rps, replicas);
    probes.push({ rps, attainment });
    return attainment >= opts.goal;
  };
  let lo = startRps;
  let hi: number;
  if (ok(lo)) {
    hi = lo * 2;
    while (ok(hi)) {
      lo = hi;
      hi *= 2;
      if (hi > MAX_RPS) return { replicas, rps: MAX_RPS, probes, note: 'capacity above the probe limit' };
    }
  } else {
    hi = lo;
    lo /= 2;
    while (!ok(lo)) {
      hi = lo;
      lo /= 2;
      if (lo < MIN_RPS * replicas) {
        return {
          replicas,
          rps: undefined,
          probes,
          note:
            `replicas miss the SLO for more than ${((1 - opts.goal) * 100).toFixed(1)} % of requests even at ` +
            `${MIN_RPS.toFixed(3)} req/s each: the thresholds are below what the hardware does for this trace's requests`,
        };
      }
    }
  }
  for (let s = 0; s < (opts.steps ?? 8); s++) {
    const mid = (lo + hi) / 2;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return { replicas, rps: lo, probes };
}

export interface ReplicaCapacity {
  /** Requests per second per replica at the SLO goal, in a pool of `poolSize`. */
  perReplicaRps: number | undefined;
  singleRps: number | undefined;
  poolSize: number;
  probes: (Probe & { replicas: number })[];
  note?: string;
}

/** Per-replica capacity in a pool sized for `meanRps` (see the module comment). */
export function replicaCapacity(opts: CapacityOptions, meanRps: number): ReplicaCapacity {
  const single = measurePool(opts, 1);
  const probes = single.probes.map((p) => ({ ...p, replicas: 1 }));
  if (single.rps === undefined) {
    return {
      perReplicaRps: undefined,
      singleRps: undefined,
      poolSize: 1,
      probes,
      ...(single.note ? { note: single.note } : {}),
    };
  }
  const poolSize = Math.max(1, Math.round(meanRps / single.rps));
  if (poolSize === 1) return { perReplicaRps: single.rps, singleRps: single.rps, poolSize, probes };
  // A pool does at least as well per replica as one replica: start the search there.
  const pool = measurePool({ ...opts, steps: opts.steps ?? 6 }, poolSize, single.rps * poolSize);
  probes.push(...pool.probes.map((p) => ({ ...p, replicas: poolSize })));
  const perReplica = pool.rps === undefined ? single.rps : Math.max(single.rps, pool.rps / poolSize);
  return { perReplicaRps: perReplica, singleRps: single.rps, poolSize, probes };
}
