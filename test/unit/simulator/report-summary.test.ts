import { describe, expect, it } from 'vitest';
import { fixedColdStart } from '../../../simulator/cluster/coldstart.js';
import { runSimulation } from '../../../simulator/cluster/run.js';
import { generatedSpec, resolveSpec } from '../../../simulator/cluster/specs.js';
import { distribution, quantileSorted } from '../../../simulator/report/stats.js';
import {
  countFlaps,
  latencyOverTime,
  loadSeries,
  requestLatencies,
  scaleEventCounts,
  summarizeRun,
  timeWeightedMean,
} from '../../../simulator/report/summary.js';
import { fakeFactory, requests } from './support/fake-replica.js';

describe('order statistics', () => {
  it('uses nearest-rank quantiles', () => {
    const v = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect([
      quantileSorted(v, 0.5),
      quantileSorted(v, 0.9),
      quantileSorted(v, 0.99),
      quantileSorted(v, 1),
    ]).toEqual([50, 90, 99, 100]);
    expect(quantileSorted([7], 0.99)).toBe(7);
    expect(quantileSorted([], 0.5)).toBeNaN();
  });

  it('ignores NaN (unfinished requests) in a distribution', () => {
    expect(distribution([3, NaN, 1, 2])).toMatchObject({ count: 3, mean: 2, p50: 2, max: 3 });
  });
});

describe('flaps', () => {
  const ev = (timeMs: number, from: number, to: number) => ({ timeMs, from, to });
  it('counts direction reversals within the window only', () => {
    expect(countFlaps([ev(0, 1, 3), ev(60_000, 3, 2), ev(120_000, 2, 4), ev(900_000, 4, 1)], 300_000)).toBe(
      2,
    );
    expect(countFlaps([ev(0, 1, 3), ev(60_000, 3, 5), ev(120_000, 5, 6)], 300_000)).toBe(0);
    expect(countFlaps([ev(0, 1, 3), ev(400_000, 3, 1)], 300_000)).toBe(0);
  });
});

describe('scale events and mean replicas', () => {
  it('counts scale events by direction', () => {
    const ev = (from: number, to: number) => ({ timeMs: 0, from, to });
    expect(scaleEventCounts([ev(1, 3), ev(3, 2), ev(2, 2), ev(2, 5)])).toEqual({
      scaleEvents: 4,
      scaleUps: 2,
      scaleDowns: 1,
    });
  });

  it('weights each sample by how long it lasted, up to the end of the work', () => {
    // 2 replicas for 1 s, 4 for 2 s, 1 for the 0.3 s until the work ends; the last sample is past it.
    const counts = [2, 4, 1, 9];
    expect(timeWeightedMean([0, 1000, 3000, 4000], (i) => counts[i]!, 3300)).toBe(3.1212); // 10.3 / 3.3
    // Samples that start after the end count for nothing.
    expect(timeWeightedMean([0, 1000, 3000, 4000], (i) => counts[i]!, 2500)).toBe(3.2); // 8 / 2.5
    expect(timeWeightedMean([0], () => 5, 1000)).toBeNull();
  });
});

describe('run summary', () => {
  it('computes attainment, percentiles, GPU time and cost by hand-checkable numbers', async () => {
    // One replica, one slot: requests queue behind each other. Each lasts 100 + 9 × 10 = 190 ms;
    // its first token comes 100 ms after it starts.
    const reqs = requests([
      [0, 10],
      [0, 10],
      [0, 10],
      [1000, 1],
    ]);
    const run = await runSimulation({
      name: 'hand',
      pa: resolveSpec(
        generatedSpec('HPA', { metric: 'kv_cache_usage', target: 0.5, minReplicas: 1, maxReplicas: 1 }),
        't',
      ),
      requests: reqs,
      factory: fakeFactory({ slots: 1, prefillMs: 100, itlMs: 10 }, 3.6),
      coldStart: fixedColdStart(0),
      router: 'round-robin',
      initialReplicas: 1,
    });
    const slo = { ttftMs: 300, itlMs: 10 };
    const lat = requestLatencies(run, slo);
    // TTFTs: 100, 290, 480 (queued), 100.
    expect(Array.from(lat.ttftMs)).toEqual([100, 290, 480, 100]);
    expect(Array.from(lat.itlMs)).toEqual([10, 10, 10, 0]);
    expect(Array.from(lat.e2eMs)).toEqual([190, 380, 570, 100]);
    const s = summarizeRun(run, lat, slo, 300_000);
    expect(s.slo).toEqual({ attainment: 0.75, ttftAttainment: 0.75, itlAttainment: 1 });
    expect(s.ttft).toMatchObject({ p50: 0.1, p90: 0.48, p99: 0.48, max: 0.48 });
    expect(s.completed).toBe(4);
    expect(s.unfinished).toBe(0);
    // The run ends at the last completion, 1100 ms; one replica the whole time at $3.6/h.
    expect(s.durationS).toBe(1.1);
    expect(s.replicaSeconds).toBe(1.1);
    expect(s.costUsd).toBeCloseTo(0.0011, 9);
    expect(s.gpuHours).toBeCloseTo(1.1 / 3600, 6);
    expect(s.scaleEvents).toBe(0);
  });

  it('counts requests that never finished as SLO misses', async () => {
    const reqs = requests([[0, 2]]);
    const run = await runSimulation({
      name: 'stuck',
      pa: resolveSpec(
        generatedSpec('HPA', { metric: 'kv_cache_usage', target: 0.5, minReplicas: 0, maxReplicas: 1 }),
        't',
      ),
      requests: reqs,
      factory: fakeFactory(),
      coldStart: fixedColdStart(0),
      router: 'round-robin',
      initialReplicas: 0,
      maxTailMs: 60_000,
    });
    const lat = requestLatencies(run, { ttftMs: 1e9, itlMs: 1e9 });
    const s = summarizeRun(run, lat, { ttftMs: 1e9, itlMs: 1e9 }, 300_000);
    expect(run.truncated).toBe(true);
    expect(s.unfinished).toBe(1);
    expect(s.slo.attainment).toBe(0);
    expect(s.peakGatewayQueue).toBe(1);
    expect(s.ttft.p50).toBeNull();
  });

  it('windows load and latency by arrival time', async () => {
    const reqs = requests([[0], [10_000], [40_000], [41_000]]);
    expect(loadSeries(reqs, 30_000, 60_000)).toEqual({
      timeS: [0, 30],
      rps: [2 / 30, 2 / 30].map((v) => Math.round(v * 1e4) / 1e4),
    });
    const lat = {
      ttftMs: Float64Array.from([100, 300, 200, NaN]),
      itlMs: Float64Array.from([0, 0, 0, NaN]),
      e2eMs: Float64Array.from([100, 300, 200, NaN]),
      met: Uint8Array.from([1, 0, 1, 0]),
    };
    const series = latencyOverTime(reqs, lat, 30_000, 60_000);
    expect(series).toMatchObject({
      timeS: [0, 30],
      count: [2, 2],
      ttftP50: [0.1, 0.2],
      ttftP99: [0.3, 0.2],
      attainment: [0.5, 0.5],
    });
  });
});
