import { describe, expect, it } from 'vitest';
import { fixedColdStart, catalogColdStart, coldStartPhases } from '../../../simulator/cluster/coldstart.js';
import { RequestLog, VirtualCluster } from '../../../simulator/cluster/cluster.js';
import { createRouter } from '../../../simulator/cluster/router.js';
import type { SimRequest } from '../../../simulator/cluster/replica.js';
import { catalog, gpuSpec, modelSpec, resolveDeployment } from '../../../simulator/model/hardware.js';
import { Rng } from '../../../simulator/traces/rng.js';
import { fakeFactory, requests } from './support/fake-replica.js';

/** Drives a cluster through arrivals and scripted actions up to `endMs`, in time order. */
function drive(
  cluster: VirtualCluster,
  reqs: readonly SimRequest[],
  actions: { atMs: number; run: (t: number) => void }[],
  endMs: number,
): void {
  let i = 0;
  let a = 0;
  for (;;) {
    const tI = cluster.nextEventTime();
    const tA = i < reqs.length ? reqs[i]!.arrivalMs : Infinity;
    const tX = a < actions.length ? actions[a]!.atMs : Infinity;
    const t = Math.min(tI, tA, tX);
    if (t > endMs) return;
    if (tI === t) cluster.processNext(t);
    else if (tA === t) cluster.arrive(reqs[i++]!, t);
    else actions[a++]!.run(t);
  }
}

function setup(opts: { initial: number; coldStartMs: number; reqs: SimRequest[] }) {
  // 101 tokens: first token 100 ms after start, last 1000 ms later; 1100 ms in all.
  const factory = fakeFactory({ slots: 4, prefillMs: 100, itlMs: 10 });
  const log = new RequestLog(opts.reqs);
  const cluster = new VirtualCluster({
    factory,
    coldStart: fixedColdStart(opts.coldStartMs),
    router: createRouter('least-requests'),
    log,
    initialReplicas: opts.initial,
  });
  return { factory, log, cluster };
}

describe('drain on scale-down', () => {
  it('sends nothing new to a draining replica, lets its requests finish, stops its cost when the last one does', () => {
    const reqs = requests([
      [0, 101],
      [0, 101],
      [600, 101],
      [700, 101],
    ]);
    const { factory, log, cluster } = setup({ initial: 2, coldStartMs: 0, reqs });
    drive(cluster, reqs, [{ atMs: 500, run: (t) => cluster.setDesired(1, t) }], 10_000);

    // The most recently ready replica drains (ReplicaSet order); ties by readiness: the last one.
    const drained = cluster.pods.find((p) => p.name === 'replica-1')!;
    expect(drained.phase).toBe('gone');
    expect(drained.drainMs).toBe(500);
    expect(drained.endMs).toBe(1100); // its in-flight request 1 finished at 0 + 1100
    expect(factory.made.get('replica-1')!.enqueued.map((e) => e.id)).toEqual([1]);
    expect(factory.made.get('replica-0')!.enqueued.map((e) => e.id)).toEqual([0, 2, 3]);
    expect(log.finishMs[1]).toBe(1100);
    expect(log.completed).toBe(4);
    // replica-0 costs the whole 10 s, replica-1 until 1.1 s.
    expect(cluster.replicaMs(10_000)).toBe(10_000 + 1_100);
    expect(cluster.scaleEvents).toEqual([{ timeMs: 500, from: 2, to: 1 }]);
  });

  it('an idle replica that drains is gone at once', () => {
    const reqs = requests([[0, 1]]);
    const { cluster } = setup({ initial: 3, coldStartMs: 0, reqs });
    drive(cluster, reqs, [{ atMs: 2000, run: (t) => cluster.setDesired(1, t) }], 5000);
    expect(cluster.pods.map((p) => [p.name, p.phase, p.endMs])).toEqual([
      ['replica-0', 'ready', undefined],
      ['replica-1', 'gone', 2000],
      ['replica-2', 'gone', 2000],
    ]);
    expect(cluster.replicaMs(5000)).toBe(5000 + 2000 + 2000);
  });
});

describe('cold start and the gateway queue', () => {
  it('queues requests while no replica is ready and counts the wait in their TTFT', () => {
    const reqs = requests([
      [0, 1],
      [200, 1],
      [7000, 1],
    ]);
    const { log, cluster } = setup({ initial: 0, coldStartMs: 5000, reqs });
    drive(cluster, reqs, [{ atMs: 1000, run: (t) => cluster.setDesired(1, t) }], 20_000);

    const pod = cluster.pods[0]!;
    expect(pod.createdMs).toBe(1000);
    expect(pod.readyMs).toBe(6000);
    expect(cluster.peakGatewayQueue).toBe(2);
    // Both queued requests start at 6000 s and get their first token 100 ms later.
    expect(log.firstTokenMs[0]! - reqs[0]!.arrivalMs).toBe(6100);
    expect(log.firstTokenMs[1]! - reqs[1]!.arrivalMs).toBe(5900);
    // A request after readiness is served at once.
    expect(log.firstTokenMs[2]! - reqs[2]!.arrivalMs).toBe(100);
    // GPU time runs from creation, cold start included.
    expect(cluster.replicaMs(20_000)).toBe(19_000);
  });

  it('removes a starting replica first on scale-down and charges only its start-up time', () => {
    const reqs = requests([]);
    const { cluster } = setup({ initial: 1, coldStartMs: 5000, reqs });
    drive(
      cluster,
      reqs,
      [
        { atMs: 7000, run: (t) => cluster.setDesired(2, t) },
        { atMs: 8000, run: (t) => cluster.setDesired(1, t) },
      ],
      9000,
    );
    const [ready, starting] = cluster.pods;
    expect(ready!.phase).toBe('ready');
    expect(starting!.phase).toBe('gone');
    expect(starting!.readyMs).toBeUndefined();
    expect(starting!.endMs).toBe(8000);
    expect(cluster.replicaMs(9000)).toBe(9000 + 1000);
  });

  it('draws catalogue cold starts per phase from the seeded generator, reproducibly', () => {
    const d = resolveDeployment(gpuSpec('L4'), modelSpec('Llama-3.1-8B'));
    const defaults = catalog().coldStartDefaults;
    const { phases } = coldStartPhases(d, defaults, 'cached');
    expect(phases.map((p) => p.name)).toEqual(['image pull', 'weight load', 'engine init', 'warm-up']);
    const a = catalogColdStart(d, defaults, 'cached', new Rng(7));
    const b = catalogColdStart(d, defaults, 'cached', new Rng(7));
    const drawsA = Array.from({ length: 5 }, () => a.draw());
    expect(Array.from({ length: 5 }, () => b.draw())).toEqual(drawsA);
    expect(new Set(drawsA).size).toBe(5);
    // The mean is the sum of the phase means; uncached adds node provisioning and a slower pull.
    expect(a.meanMs).toBeCloseTo(phases.reduce((s, p) => s + p.meanS, 0) * 1000, 6);
    const mean = drawsA.reduce((s, v) => s + v, 0) / 5;
    expect(mean).toBeGreaterThan(a.meanMs * 0.7);
    expect(mean).toBeLessThan(a.meanMs * 1.3);
    const uncached = catalogColdStart(d, defaults, 'uncached', new Rng(7));
    expect(uncached.meanMs - a.meanMs).toBeCloseTo(
      (defaults.nodeProvisionS + defaults.imagePullUncachedS - defaults.imagePullCachedS) * 1000,
      6,
    );
  });
});
