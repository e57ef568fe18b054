import { describe, expect, it } from 'vitest';
import { createRouter, parseRouterPolicy, type Routable } from '../../../simulator/cluster/router.js';
import { fixedColdStart } from '../../../simulator/cluster/coldstart.js';
import { RequestLog, VirtualCluster } from '../../../simulator/cluster/cluster.js';
import { fakeFactory, requests } from './support/fake-replica.js';

const pod = (inFlight: number, kv: number): Routable => ({ inFlight, kvUsage: () => kv });

describe('router policies', () => {
  it('round-robin cycles through the ready replicas in order', () => {
    const r = createRouter('round-robin');
    const ready = [pod(0, 0), pod(0, 0), pod(0, 0)];
    expect(Array.from({ length: 7 }, () => r.pick(ready))).toEqual([0, 1, 2, 0, 1, 2, 0]);
    // A shrinking pool keeps cycling within the new size: next was 1 (after index 0).
    expect([r.pick(ready.slice(0, 2)), r.pick(ready.slice(0, 2)), r.pick(ready.slice(0, 2))]).toEqual([
      1, 0, 1,
    ]);
  });

  it('least-requests picks the fewest requests in flight, the oldest replica on ties', () => {
    const r = createRouter('least-requests');
    expect(r.pick([pod(3, 0), pod(1, 0.9), pod(2, 0)])).toBe(1);
    expect(r.pick([pod(2, 0), pod(2, 0), pod(5, 0)])).toBe(0);
  });

  it('least-kv picks the lowest KV usage, then the fewest requests in flight', () => {
    const r = createRouter('least-kv');
    expect(r.pick([pod(0, 0.5), pod(9, 0.2), pod(0, 0.3)])).toBe(1);
    expect(r.pick([pod(4, 0.2), pod(1, 0.2), pod(0, 0.7)])).toBe(1);
  });

  it('parses policy names and aliases and rejects unknown ones with the choices', () => {
    expect(parseRouterPolicy('RR')).toBe('round-robin');
    expect(parseRouterPolicy('least-kv-cache')).toBe('least-kv');
    expect(() => parseRouterPolicy('random')).toThrow(/round-robin, least-requests, least-kv/);
  });

  it('spreads requests over replicas through the cluster as the policy says', () => {
    for (const [policy, expected] of [
      [
        'round-robin',
        [
          [0, 3],
          [1, 4],
          [2, 5],
        ],
      ],
      // Requests 0-2 find every replica idle with nothing in flight: lowest index first, then each
      // gets one; requests 3-5 repeat the pattern.
      [
        'least-requests',
        [
          [0, 3],
          [1, 4],
          [2, 5],
        ],
      ],
    ] as const) {
      const factory = fakeFactory({ slots: 8, prefillMs: 1000, itlMs: 10 });
      const reqs = requests([[0], [1], [2], [3], [4], [5]]);
      const cluster = new VirtualCluster({
        factory,
        coldStart: fixedColdStart(0),
        router: createRouter(policy),
        log: new RequestLog(reqs),
        initialReplicas: 3,
      });
      for (const r of reqs) cluster.arrive(r, r.arrivalMs);
      const got = [0, 1, 2].map((i) => factory.made.get(`replica-${i}`)!.enqueued.map((e) => e.id));
      expect(got, policy).toEqual(expected);
    }
  });

  it('least-kv sends a burst to the replica with the least KV in use', () => {
    const factory = fakeFactory({ slots: 4, prefillMs: 1000, itlMs: 10 });
    const reqs = requests([[0], [0], [0], [0]]);
    const cluster = new VirtualCluster({
      factory,
      coldStart: fixedColdStart(0),
      router: createRouter('least-kv'),
      log: new RequestLog(reqs),
      initialReplicas: 2,
    });
    for (const r of reqs) cluster.arrive(r, 0);
    // The fake's KV is busy slots / 4, updated at once: 0→a (a .25), 1→b, 2→a, 3→b.
    expect(factory.made.get('replica-0')!.enqueued.map((e) => e.id)).toEqual([0, 2]);
    expect(factory.made.get('replica-1')!.enqueued.map((e) => e.id)).toEqual([1, 3]);
  });
});
