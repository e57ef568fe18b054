/**
 * The OPTIMIZER strategy's engine on in-memory seams: several Deployments, token histograms that
 * grow as requests finish, static profiles, HiGHS. No plan means a condition and no write.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelGroupEngine, type GroupTickResult } from '../../../src/engine/model-group.js';
import { StaticProfileSource } from '../../../src/optimizer/profile-source.js';
import { loadHighsSolver } from '../../../src/optimizer/highs.js';
import type { MilpSolver } from '../../../algorithms/optimizer/milp.js';
import { profile } from '../optimizer/fixtures.js';
import { GRID, PROFILES, groupPa, groupWorld } from './group-rig.js';

let solver: MilpSolver;
beforeAll(async () => {
  solver = (await loadHighsSolver()).solver;
});

function rig(a10g = 1, h100 = 0, profiles = PROFILES) {
  const world = groupWorld(a10g, h100);
  const engine = new ModelGroupEngine({
    clock: world.clock,
    pods: world.cluster,
    scale: world.cluster,
    tokens: world.tokens,
    profiles: new StaticProfileSource(profiles),
    metrics: world.metrics,
    solver: async () => solver,
  });
  return { ...world, engine };
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

  /** The group with a KPA floor on running requests, 10 per pod. */
  const withFloor = (spec: Record<string, unknown> = {}) =>
    groupPa(
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
        ...spec,
      },
    );

  it('the reactive floor raises a Deployment above the plan, and is the only signal without a plan', async () => {
    const r = rig(1, 0);
    const pa = withFloor({ kpa: { maxScaleUpRate: 10 } });
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

  it('after a switch the old type drains although overflow keeps its floor up; a burst keeps it', async () => {
    const r = rig(6, 0);
    const pa = withFloor();
    // Every A10G still has a request running (what a gateway spills or spreads to any pod).
    const running = (pod: string, n: number) =>
      r.metrics.podValues.set(pod, { 'vllm:num_requests_running': n });
    for (let i = 0; i < 6; i++) running(`llama-a10g-${i}`, 1);
    running('llama-h100-0', 5);
    await r.engine.tick(pa);
    r.serve(6, 15);
    let res = await r.engine.tick(pa);
    // 6 req/s: one H100 ($4) beats six A10Gs ($6); the A10Gs stay until it is ready.
    expect(res.targets.map((t) => [t.gpu, t.planned, t.desired])).toEqual([
      ['A10G', 0, 6],
      ['H100', 1, 1],
    ]);
    r.serve(6, 15);
    res = await r.engine.tick(pa);
    // (The KPA holds the A10Gs at 6: it lowers no count on a window younger than its own.)
    expect(res.targets.map((t) => [t.planned, t.reactive, t.desired])).toEqual([
      [0, 6, 0],
      [1, 1, 1],
    ]);
    expect(res.targets[0]?.reason).toMatch(/reactive floor 6 not applied/);
    // A burst the window has not seen: the H100's own floor rises above the plan, and the
    // capacity still there is kept.
    const burst = rig(6, 1);
    for (let i = 0; i < 6; i++)
      burst.metrics.podValues.set(`llama-a10g-${i}`, { 'vllm:num_requests_running': 1 });
    burst.metrics.podValues.set('llama-h100-0', { 'vllm:num_requests_running': 25 });
    await burst.engine.tick(pa);
    burst.serve(6, 15);
    res = await burst.engine.tick(pa);
    expect(res.targets.map((t) => [t.planned, t.reactive, t.desired])).toEqual([
      [0, 6, 6],
      [1, 4, 4],
    ]);
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

  it('a move to another type forced by growth is sized for the trend a window after it arrives', async () => {
    const r = rig(3, 0);
    // Growing the A10Gs stays within the (wide) hysteresis up to 6 A10Gs for 4 req/s of H100.
    const pa = groupPa(
      { forecastSeconds: 60, headroom: 0.1, hysteresis: 0.5 },
      { behavior: { scaleDown: { stabilizationWindowSeconds: 120 } } },
    );
    await r.engine.tick(pa);
    let moved: GroupTickResult | undefined;
    // 0.5 req/s more every 15 s: 2 req/s per minute, 6 req/s over forecast + window (180 s).
    for (let k = 1; k <= 30 && moved === undefined; k++) {
      r.serve(2 + 0.5 * k, 15);
      const res = await r.engine.tick(pa);
      if ((res.targets[1]!.planned ?? 0) > 0) moved = res;
    }
    expect(moved, 'the group never moved to the H100').toBeDefined();
    const measured = moved!.workload!.totalRps;
    // One H100 (10 req/s) would serve the load now; the trend needs two before a window is out.
    expect(measured).toBeLessThan(9);
    expect(moved!.targets[1]!.planned).toBe(2);
    expect(moved!.notes.join(' ')).toMatch(/sized for the trend a window ahead \(1×H100/);
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
