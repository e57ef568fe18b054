/**
 * The OPTIMIZER strategy's engine on in-memory seams: several Deployments, token histograms that
 * grow as requests finish, static profiles, HiGHS. No plan means a condition and no write.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { resolvePodAutoscaler } from '../../../src/api/resolve.js';
import type { ResolvedPodAutoscaler, ScaleTargetRef } from '../../../src/api/resolved.js';
import { ManualClock, TableMetricSource } from '../../../src/engine/memory.js';
import { ModelGroupEngine, type GroupTickResult } from '../../../src/engine/model-group.js';
import type { PodInfo, PodSource, ScaleState, ScaleTarget } from '../../../src/engine/seams.js';
import type { TokenSnapshot } from '../../../src/optimizer/engine-load.js';
import { StaticProfileSource } from '../../../src/optimizer/profile-source.js';
import type {
  TokenHistogramSource,
  TokenReading,
  TokenReadRequest,
} from '../../../src/optimizer/token-scraper.js';
import { loadHighsSolver } from '../../../src/optimizer/highs.js';
import type { MilpSolver } from '../../../algorithms/optimizer/milp.js';
import { profile } from '../optimizer/fixtures.js';

const GRID = { input: [512], output: [128] };
/** A10G: 1 req/s per replica at $1; H100: 10 req/s at $4. Below 4 req/s A10Gs are cheaper. */
const PROFILES = [profile('A10G', 1, GRID, [[1]], 'llama'), profile('H100', 4, GRID, [[10]], 'llama')];

/** Deployments by name, each with its pods; `fail` makes a call throw. */
class Cluster implements ScaleTarget, PodSource {
  readonly deployments = new Map<string, { replicas: number; pods: string[] }>();
  readonly created = new Map<string, number>();
  readonly writes: Array<{ name: string; replicas: number }> = [];
  failGet = new Set<string>();
  failSet = new Set<string>();
  constructor(private readonly clock: ManualClock) {}

  add(name: string, replicas: number): void {
    this.deployments.set(name, { replicas, pods: this.podsOf(name, replicas) });
  }
  /** Pods follow the count at once (cold starts are the simulator's job); new ones are born now. */
  private podsOf(name: string, replicas: number): string[] {
    const pods = Array.from({ length: replicas }, (_, i) => `${name}-${i}`);
    for (const p of pods) if (!this.created.has(p)) this.created.set(p, this.clock.now());
    // A removed pod is gone; a later one with the same name is a new pod.
    for (const p of this.created.keys()) {
      if (p.startsWith(`${name}-`) && Number(p.slice(name.length + 1)) >= replicas) this.created.delete(p);
    }
    return pods;
  }
  async get(_ns: string, ref: ScaleTargetRef): Promise<ScaleState> {
    if (this.failGet.has(ref.name)) throw new Error(`deployments.apps "${ref.name}" is forbidden`);
    const d = this.deployments.get(ref.name);
    if (!d) throw new Error(`deployments.apps "${ref.name}" not found`);
    return { replicas: d.replicas, selector: `app=${ref.name}` };
  }
  async set(_ns: string, ref: ScaleTargetRef, replicas: number): Promise<void> {
    if (this.failSet.has(ref.name)) throw new Error('the object has been modified');
    const d = this.deployments.get(ref.name)!;
    d.replicas = replicas;
    d.pods = this.podsOf(ref.name, replicas);
    this.writes.push({ name: ref.name, replicas });
  }
  async list(namespace: string, selector: string): Promise<PodInfo[]> {
    const d = this.deployments.get(selector.replace('app=', ''));
    return (d?.pods ?? []).map((name) => ({
      name,
      namespace,
      ip: '127.0.0.2',
      phase: 'Running',
      ready: true,
      terminating: false,
      labels: {},
      createdAtMs: this.created.get(name)!,
    }));
  }
}

/** Cumulative token histograms per pod: `finish(pod, n)` adds n requests of 500 in / 100 out. */
class Tokens implements TokenHistogramSource {
  private readonly counts = new Map<string, number>();
  failing = new Set<string>();
  reads = 0;
  finish(pod: string, n: number): void {
    this.counts.set(pod, (this.counts.get(pod) ?? 0) + n);
  }
  async read(req: TokenReadRequest): Promise<TokenReading> {
    this.reads++;
    const out: TokenReading = new Map();
    for (const p of req.pods) {
      if (this.failing.has(p.name)) out.set(p.name, { error: `pod ${p.name}: connection refused` });
      else out.set(p.name, { snapshot: snapshot(this.counts.get(p.name) ?? 0) });
    }
    return out;
  }
}

function snapshot(n: number): TokenSnapshot {
  const les = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];
  return {
    prompt: { count: n, sum: 500 * n, buckets: les.map((le) => ({ le, count: le >= 500 ? n : 0 })) },
    generation: { count: n, sum: 100 * n, buckets: les.map((le) => ({ le, count: le >= 100 ? n : 0 })) },
  };
}

function groupPa(
  optimizer: Record<string, unknown> = {},
  spec: Record<string, unknown> = {},
): ResolvedPodAutoscaler {
  const r = resolvePodAutoscaler({
    apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
    kind: 'PodAutoscaler',
    metadata: { name: 'group', namespace: 'ns' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-a10g' },
      maxReplicas: 10,
      scalingStrategy: 'OPTIMIZER',
      // Immediate scale-down, so each tick shows the plan itself.
      behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
      optimizer: {
        model: 'llama',
        headroom: 0,
        windowSeconds: 60,
        targets: [
          { gpu: 'A10G' },
          { gpu: 'H100', scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-h100' } },
        ],
        ...optimizer,
      },
      ...spec,
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

let solver: MilpSolver;
beforeAll(async () => {
  solver = (await loadHighsSolver()).solver;
});

function rig(a10g = 1, h100 = 0, profiles = PROFILES) {
  const clock = new ManualClock(1_700_000_000_000);
  const cluster = new Cluster(clock);
  cluster.add('llama-a10g', a10g);
  cluster.add('llama-h100', h100);
  const tokens = new Tokens();
  const metrics = new TableMetricSource();
  const engine = new ModelGroupEngine({
    clock,
    pods: cluster,
    scale: cluster,
    tokens,
    profiles: new StaticProfileSource(profiles),
    metrics,
    solver: async () => solver,
  });
  /** Every ready pod finishes `rps` req/s in total, spread evenly, for `seconds`. */
  const serve = (rps: number, seconds: number) => {
    const pods = [...cluster.deployments.values()].flatMap((d) => d.pods);
    for (const p of pods) tokens.finish(p, (rps * seconds) / pods.length);
    clock.advance(seconds * 1000);
  };
  return { clock, cluster, tokens, metrics, engine, serve };
}

const condition = (r: GroupTickResult, type: string) => r.conditions.find((c) => c.type === type);

describe('ModelGroupEngine', () => {
  it('no data on the first tick (no baseline): condition NoData, nothing written', async () => {
    const r = rig(2, 0);
    const res = await r.engine.tick(groupPa());
    expect(res.outcome).toBe('no-data');
    expect(condition(res, 'Optimized')).toMatchObject({ status: 'False', reason: 'NoData' });
    expect(condition(res, 'ScalingActive')).toMatchObject({ status: 'False', reason: 'NoData' });
    expect(res.targets.map((t) => t.desired)).toEqual([2, 0]);
    expect(r.cluster.writes).toEqual([]);
  });

  it('a plan writes each Deployment its count: 3 req/s on A10Gs, 6 req/s on one H100', async () => {
    const r = rig(1, 0);
    const pa = groupPa();
    await r.engine.tick(pa);
    r.serve(3, 15);
    let res = await r.engine.tick(pa);
    expect(res.outcome).toBe('plan');
    expect(res.workload?.totalRps).toBeCloseTo(3, 9);
    expect(res.targets.map((t) => [t.gpu, t.planned, t.desired])).toEqual([
      ['A10G', 3, 3],
      ['H100', 0, 0],
    ]);
    expect(r.cluster.writes).toEqual([{ name: 'llama-a10g', replicas: 3 }]);
    expect(res.costPerHour).toBeCloseTo(3, 9);
    expect(condition(res, 'Optimized')).toMatchObject({ status: 'True', reason: 'PlanFound' });
    expect(condition(res, 'Optimized')?.message).toMatch(/3×A10G at \$3\.00\/h/);
    expect(condition(res, 'AbleToScale')).toMatchObject({ status: 'True', reason: 'SucceededRescale' });

    // The load doubles: one H100 ($4) beats six A10Gs ($6). Capacity is made before it is broken:
    // the A10Gs stay until the H100 is up, then go.
    r.serve(6, 60);
    res = await r.engine.tick(pa);
    expect(res.targets.map((t) => [t.gpu, t.planned, t.desired])).toEqual([
      ['A10G', 0, 3],
      ['H100', 1, 1],
    ]);
    expect(res.targets[0]?.reason).toMatch(/held at 3 until the new replicas are ready/);
    r.serve(6, 15);
    res = await r.engine.tick(pa);
    expect(res.targets.map((t) => [t.gpu, t.desired])).toEqual([
      ['A10G', 0],
      ['H100', 1],
    ]);
    expect(r.cluster.writes.slice(1)).toEqual([
      { name: 'llama-h100', replicas: 1 },
      { name: 'llama-a10g', replicas: 0 },
    ]);
    expect(res.message).toMatch(/cheapest mix for 6\.00 req\/s: 1×H100 at \$4\.00\/h/);
  });

  it('no profile for any target: condition NoProfile naming what is missing, nothing written', async () => {
    const r = rig(2, 0, [profile('A10G', 1, GRID, [[1]], 'other-model')]);
    const pa = groupPa();
    await r.engine.tick(pa);
    r.serve(3, 15);
    const res = await r.engine.tick(pa);
    expect(res.outcome).toBe('no-profile');
    expect(condition(res, 'Optimized')).toMatchObject({ status: 'False', reason: 'NoProfile' });
    expect(condition(res, 'Optimized')?.message).toMatch(/no profile for llama on A10G/);
    expect(r.cluster.writes).toEqual([]);
  });

  it('infeasible (capacity): the caps cannot carry the load; condition, nothing written', async () => {
    const r = rig(1, 0);
    const pa = groupPa({
      targets: [
        { gpu: 'A10G', maxReplicas: 2 },
        {
          gpu: 'H100',
          maxReplicas: 0,
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-h100' },
        },
      ],
    });
    await r.engine.tick(pa);
    r.serve(5, 15);
    const res = await r.engine.tick(pa);
    expect(res.outcome).toBe('infeasible');
    expect(res.reason).toBe('capacity');
    expect(condition(res, 'Optimized')).toMatchObject({ status: 'False', reason: 'Infeasible' });
    expect(condition(res, 'Optimized')?.message).toMatch(/A10G ≤ 2/);
    expect(r.cluster.writes).toEqual([]);
  });

  it('infeasible (unservable): a bucket no profile can serve', async () => {
    const r = rig(1, 0, [profile('A10G', 1, GRID, [[0]], 'llama'), profile('H100', 4, GRID, [[0]], 'llama')]);
    const pa = groupPa();
    await r.engine.tick(pa);
    r.serve(1, 15);
    const res = await r.engine.tick(pa);
    expect(res).toMatchObject({ outcome: 'infeasible', reason: 'unservable' });
    expect(r.cluster.writes).toEqual([]);
  });

  it('the reactive floor raises a Deployment above the plan, and is the only signal without a plan', async () => {
    const r = rig(1, 0);
    const pa = groupPa(
      {},
      {
        metricsSources: [
          {
            metricSourceType: 'pod',
            port: 8000,
            targetMetric: 'vllm:num_requests_running',
            targetValue: '10',
          },
        ],
        kpa: { maxScaleUpRate: 10 },
      },
    );
    // First tick: no data for the optimizer, but the KPA sees 50 running requests on 1 pod → 5.
    r.metrics.podValues.set('llama-a10g-0', { 'vllm:num_requests_running': 50 });
    let res = await r.engine.tick(pa);
    expect(res.outcome).toBe('no-data');
    expect(res.targets[0]).toMatchObject({ reactive: 5, desired: 5 });
    expect(condition(res, 'ScalingActive')).toMatchObject({ status: 'True', reason: 'NoDataReactiveOnly' });
    // With a plan of 3 A10Gs (3 req/s) and the floor at 5 → 5; the H100 keeps the plan's 0.
    for (let i = 0; i < 5; i++)
      r.metrics.podValues.set(`llama-a10g-${i}`, { 'vllm:num_requests_running': 10 });
    r.serve(3, 15);
    res = await r.engine.tick(pa);
    expect(res.outcome).toBe('plan');
    expect(res.targets.map((t) => [t.planned, t.reactive, t.desired])).toEqual([
      [3, 5, 5],
      [0, undefined, 0],
    ]);
    expect(res.targets[0]?.reason).toMatch(/raised to the reactive floor 5/);
  });

  it('a window without requests keeps one replica unless scale-to-zero is on', async () => {
    const r = rig(2, 1);
    const pa = groupPa();
    await r.engine.tick(pa);
    r.serve(0, 15);
    let res = await r.engine.tick(pa);
    expect(res.outcome).toBe('plan');
    // Both types serve the one cell; the A10G is cheaper.
    expect(res.targets.map((t) => t.desired)).toEqual([1, 0]);
    expect(res.targets[0]?.reason).toMatch(/never goes to zero/);

    const z = rig(2, 1);
    const pz = groupPa({}, { scaleToZero: { enabled: true, gracePeriodSeconds: 0 } });
    await z.engine.tick(pz);
    z.serve(0, 15);
    res = await z.engine.tick(pz);
    expect(res.targets.map((t) => t.desired)).toEqual([0, 0]);
  });

  it('while the load grows faster than the headroom covers, plans for its trend ahead', async () => {
    const r = rig(1, 0);
    const pa = groupPa({ forecastSeconds: 60, headroom: 0.1 });
    await r.engine.tick(pa);
    let res: GroupTickResult | undefined;
    // 0.5 req/s more every 15 s: over a 60 s window the load grows by 2 req/s.
    for (let k = 1; k <= 12; k++) {
      r.serve(0.5 * k, 15);
      res = await r.engine.tick(pa);
    }
    const measured = res!.workload!.totalRps;
    expect(res!.notes.join(' '), res!.notes.join('\n')).toMatch(
      /planning for \d+\.\d+ req\/s: the load grew from/,
    );
    // Planned above the measured load plus headroom: 1 A10G per req/s.
    expect(res!.targets[0]!.planned! + res!.targets[1]!.planned! * 10).toBeGreaterThan(measured * 1.1);
  });

  it('dry run decides and reports, writes nothing', async () => {
    const r = rig(1, 0);
    const pa = groupPa({}, { dryRun: true });
    await r.engine.tick(pa);
    r.serve(3, 15);
    const res = await r.engine.tick(pa);
    expect(res.targets[0]).toMatchObject({ planned: 3, desired: 3, scaled: false });
    expect(condition(res, 'AbleToScale')).toMatchObject({ reason: 'DryRun' });
    expect(r.cluster.writes).toEqual([]);
  });

  it('a target whose scale cannot be read is left alone; the others are still planned and written', async () => {
    const r = rig(1, 0);
    const pa = groupPa();
    await r.engine.tick(pa);
    r.serve(6, 15);
    r.cluster.failGet.add('llama-a10g');
    const res = await r.engine.tick(pa);
    expect(res.targets[0]).toMatchObject({ current: undefined, desired: undefined });
    expect(res.targets[0]?.error?.stage).toBe('get-scale');
    expect(condition(res, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'FailedGetScale' });
    // The A10G pod's histograms were not read this tick (its pods are unknown): no data at all.
    expect(res.outcome).toBe('no-data');
    expect(r.cluster.writes).toEqual([]);
  });

  it('a failed scrape is missing, not zero: the other pods still carry the estimate', async () => {
    const r = rig(2, 0);
    const pa = groupPa();
    await r.engine.tick(pa);
    r.serve(4, 15); // 2 req/s per pod
    r.tokens.failing.add('llama-a10g-1');
    const res = await r.engine.tick(pa);
    expect(res.outcome).toBe('plan');
    expect(res.workload).toMatchObject({ pods: 1 });
    expect(res.workload?.totalRps).toBeCloseTo(2, 9);
    expect(res.notes.join(' ')).toMatch(/llama-a10g-1: pod llama-a10g-1: connection refused; pod left out/);
  });

  it('a failed write is reported per target and in AbleToScale', async () => {
    const r = rig(1, 0);
    const pa = groupPa();
    await r.engine.tick(pa);
    r.serve(3, 15);
    r.cluster.failSet.add('llama-a10g');
    const res = await r.engine.tick(pa);
    expect(res.targets[0]?.error).toMatchObject({ stage: 'write-scale' });
    expect(condition(res, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'FailedUpdateScale' });
  });
});
