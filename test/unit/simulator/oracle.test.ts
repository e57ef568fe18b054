import { describe, expect, it } from 'vitest';
import { scheduleFor, slotNeeds } from '../../../simulator/report/oracle.js';
import { measurePool, probeAttainment, replicaCapacity } from '../../../simulator/report/capacity.js';
import { fakeFactory } from './support/fake-replica.js';

const S = 1000;

describe('oracle: replicas needed per slot', () => {
  it('is ceil(arrivals / (capacity × slot)), at least minReplicas', () => {
    // Capacity 1 req/s, 10 s slots: 10 per replica per slot.
    const arrivals = [
      ...Array.from({ length: 10 }, (_, i) => i * 900), // slot 0: 10 → 1
      ...Array.from({ length: 25 }, (_, i) => 10_000 + i * 300), // slot 1: 25 → 3
      // slot 2: nothing → minReplicas
      ...Array.from({ length: 11 }, (_, i) => 30_000 + i * 500), // slot 3: 11 → 2
    ];
    expect(slotNeeds(arrivals, 40_000, 10 * S, 1, 0)).toEqual([1, 3, 0, 2]);
    expect(slotNeeds(arrivals, 40_000, 10 * S, 1, 1)).toEqual([1, 3, 1, 2]);
    // Exactly at capacity is one replica, not two (no float noise): 3 req/s × 10 s = 30.
    expect(
      slotNeeds(
        Array.from({ length: 30 }, (_, i) => i * 300),
        10_000,
        10 * S,
        3,
        0,
      ),
    ).toEqual([1]);
    // 2.05 req/s × 60 s is 122.99999999999999 in floating point: 123 arrivals still fit one replica.
    expect(
      slotNeeds(
        Array.from({ length: 123 }, (_, i) => i * 400),
        60_000,
        60 * S,
        2.05,
        0,
      ),
    ).toEqual([1]);
  });

  it('rejects a zero slot or capacity with the value', () => {
    expect(() => slotNeeds([0], 1000, 0, 1, 0)).toThrow(/slot must be > 0/);
    expect(() => slotNeeds([0], 1000, 1000, 0, 0)).toThrow(/capacity must be > 0/);
  });
});

describe('oracle: cost of the need curve with cold starts', () => {
  it('charges each layer its ready time plus a cold start ahead of need', () => {
    // needs 1, 3, 1 in 10 s slots, cold start 5 s:
    // layer 1 is up from 0 to 30 s (30 s); layers 2 and 3 are needed 10–20 s and start at 5 s
    // (10 s + 5 s each). 30 + 15 + 15 = 60 s, two cold starts.
    expect(scheduleFor([1, 3, 1], 10 * S, 5 * S)).toEqual({
      replicaMs: 60 * S,
      starts: 2,
      peak: 3,
      needs: [1, 3, 1],
    });
  });

  it('keeps a replica from time 0 when the need comes sooner than a cold start', () => {
    // Cold start 20 s: layers 2 and 3 would have to start at -10 s, so they exist from 0: 20 s each.
    expect(scheduleFor([1, 3, 1], 10 * S, 20 * S)).toMatchObject({ replicaMs: 70 * S, starts: 0 });
  });

  it('bridges a gap no longer than a cold start and restarts across a longer one', () => {
    // Two replicas needed at 0–10 s and at 30–40 s: a 20 s gap.
    expect(scheduleFor([2, 0, 0, 2], 10 * S, 5 * S)).toMatchObject({
      replicaMs: 2 * (10 + 5 + 10) * S,
      starts: 2,
    });
    expect(scheduleFor([2, 0, 0, 2], 10 * S, 25 * S)).toMatchObject({ replicaMs: 2 * 40 * S, starts: 0 });
    // A gap exactly one cold start long costs the same either way; it is bridged.
    expect(scheduleFor([1, 0, 1], 10 * S, 10 * S)).toMatchObject({ replicaMs: 30 * S, starts: 0 });
  });

  it('costs nothing for no need and rejects non-integer needs', () => {
    expect(scheduleFor([0, 0], 10 * S, 5 * S)).toMatchObject({ replicaMs: 0, starts: 0, peak: 0 });
    expect(() => scheduleFor([1.5], 10 * S, 0)).toThrow(/integers >= 0, got 1.5/);
    expect(() => scheduleFor([1], 10 * S, -1)).toThrow(/cold start/);
  });

  it('never costs less than the ready time it needs, and a zero cold start costs exactly that', () => {
    const needs = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const readyMs = needs.reduce((a, b) => a + b, 0) * 10 * S;
    expect(scheduleFor(needs, 10 * S, 0).replicaMs).toBe(readyMs);
    for (const d of [1, 5, 10, 30, 100]) {
      const c = scheduleFor(needs, 10 * S, d * S).replicaMs;
      expect(c).toBeGreaterThanOrEqual(readyMs);
      // Each layer pays at most one cold start per interval.
      expect(c).toBeLessThanOrEqual(readyMs + 9 * 5 * d * S);
    }
  });
});

describe('replica capacity at the SLO', () => {
  // One slot per replica, 1 s per request (first token after 100 ms): a lone replica keeps TTFT
  // under 1.05 s only when a request rarely waits for the one before it.
  const base = {
    factory: fakeFactory({ slots: 1, prefillMs: 100, itlMs: 9 }),
    sizes: [{ inputTokens: 10, outputTokens: 101 }],
    slo: { ttftMs: 1050, itlMs: 100 },
    goal: 0.9,
    seed: 3,
    requests: 400,
  };

  it('finds a rate where attainment crosses the goal, below the service rate', () => {
    const one = measurePool(base, 1);
    expect(one.rps).toBeDefined();
    expect(one.rps!).toBeGreaterThan(0.05);
    expect(one.rps!).toBeLessThan(1);
    expect(probeAttainment(base, one.rps!, 1)).toBeGreaterThanOrEqual(0.9);
    expect(probeAttainment(base, one.rps! * 1.2, 1)).toBeLessThan(0.9);
  });

  it('gives more per replica in a pool behind a router than alone', () => {
    const cap = replicaCapacity(base, 3);
    expect(cap.poolSize).toBeGreaterThan(1);
    expect(cap.perReplicaRps!).toBeGreaterThan(cap.singleRps!);
  });

  it('reports no capacity, with the reason, when no request can meet the SLO', () => {
    const cap = replicaCapacity({ ...base, slo: { ttftMs: 50, itlMs: 100 } }, 1);
    expect(cap.perReplicaRps).toBeUndefined();
    expect(cap.note).toMatch(/thresholds are below what the hardware does/);
  });
});
