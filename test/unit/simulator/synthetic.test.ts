import { describe, expect, it } from 'vitest';
import { Rng } from '../../../simulator/traces/rng.js';
import { arrivalTimes, dynamoSineSpec, generateSynthetic } from '../../../simulator/traces/synthetic.js';
import { SIZE_PRESETS, sizeSampler } from '../../../simulator/traces/sizes.js';
import {
  concatTraces,
  multiplyRate,
  scaleTime,
  timeWindow,
  traceStats,
} from '../../../simulator/traces/transform.js';
import type { TraceRequest } from '../../../simulator/traces/types.js';

/** Arrivals per `binS`-second bin. */
function counts(times: number[], durationS: number, binS: number): number[] {
  const out = new Array<number>(Math.ceil(durationS / binS)).fill(0);
  for (const t of times) out[Math.floor(t / binS)]! += 1;
  return out;
}

describe('seeded PRNG', () => {
  it('reproduces a sequence from its seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(sa);
    for (const v of sa) expect(v >= 0 && v < 1).toBe(true);
  });

  it('has the right moments for uniform, exponential and normal draws', () => {
    const r = new Rng(7);
    const n = 200_000;
    let u = 0;
    let e = 0;
    let z = 0;
    let z2 = 0;
    for (let i = 0; i < n; i++) {
      u += r.next();
      e += r.exp(4);
      const x = r.normal();
      z += x;
      z2 += x * x;
    }
    expect(u / n).toBeCloseTo(0.5, 2);
    expect(e / n).toBeCloseTo(0.25, 2);
    expect(z / n).toBeCloseTo(0, 1);
    expect(z2 / n).toBeCloseTo(1, 1);
  });
});

describe('arrival shapes', () => {
  it('constant: evenly spaced at the rate', () => {
    const t = arrivalTimes({ kind: 'constant', rate: 10 }, 100, new Rng(1));
    expect(t).toHaveLength(1000);
    expect(t[0]).toBe(0);
    expect(t[1]).toBeCloseTo(0.1, 12);
    expect(t[999]).toBeCloseTo(99.9, 9);
  });

  it('poisson: count near rate x duration, exponential gaps', () => {
    const t = arrivalTimes({ kind: 'poisson', rate: 50 }, 400, new Rng(3));
    expect(t.length).toBeGreaterThan(19_500);
    expect(t.length).toBeLessThan(20_500);
    const gaps = t.slice(1).map((x, i) => x - (t[i] as number));
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const cv = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length) / mean;
    expect(cv).toBeGreaterThan(0.95);
    expect(cv).toBeLessThan(1.05);
  });

  it('step: each segment at its own rate', () => {
    const t = arrivalTimes(
      {
        kind: 'step',
        rates: [
          { atS: 0, rate: 2 },
          { atS: 100, rate: 20 },
        ],
      },
      200,
      new Rng(5),
      'uniform',
    );
    const c = counts(t, 200, 100);
    expect(c).toEqual([200, 2000]);
    expect(() => arrivalTimes({ kind: 'step', rates: [{ atS: 5, rate: 1 }] }, 10, new Rng(1))).toThrow(
      /atS = 0/,
    );
  });

  it('ramp: linear rate, a quarter of the arrivals in the first half', () => {
    const t = arrivalTimes({ kind: 'ramp', from: 0, to: 20 }, 1000, new Rng(9));
    expect(t.length / 10_000).toBeCloseTo(1, 1);
    const c = counts(t, 1000, 500);
    expect((c[0] as number) / t.length).toBeCloseTo(0.25, 1);
  });

  it("sine: Dynamo's planner trace shape, starting at the minimum", () => {
    const spec = dynamoSineSpec(11);
    const reqs = generateSynthetic(spec);
    expect(reqs.length / 7500).toBeCloseTo(1, 1); // mean 12.5 req/s over 600 s
    const c = counts(
      reqs.map((r) => r.arrivalMs / 1000),
      600,
      15,
    );
    // Troughs at 0, 150, 300... (rate 5), peaks at 75, 225... (rate 20): 15-s bins 0 and 5.
    expect((c[0] as number) / 15).toBeLessThan(8);
    expect((c[5] as number) / 15).toBeGreaterThan(16);
    expect(reqs.every((r) => r.inputTokens === 3000 && r.outputTokens === 150)).toBe(true);
  });

  it('diurnal: peak near peakAtS, trough half a period away', () => {
    const t = arrivalTimes(
      { kind: 'diurnal', min: 1, max: 10, periodS: 1000, peakAtS: 250 },
      1000,
      new Rng(2),
      'uniform',
    );
    const c = counts(t, 1000, 100);
    expect(c.indexOf(Math.max(...c))).toBe(2);
    expect(c.indexOf(Math.min(...c))).toBe(7);
  });

  it('mmpp: bursty (over-dispersed counts) with a mean between its rates', () => {
    const t = arrivalTimes({ kind: 'mmpp', rates: [1, 30], meanDwellS: [60, 10] }, 20_000, new Rng(4));
    const rate = t.length / 20_000;
    // Stationary mean = (1*60 + 30*10) / 70 = 5.14 req/s.
    expect(rate).toBeGreaterThan(4);
    expect(rate).toBeLessThan(6.5);
    const c = counts(t, 20_000, 10);
    const mean = c.reduce((a, b) => a + b, 0) / c.length;
    const variance = c.reduce((a, x) => a + (x - mean) ** 2, 0) / c.length;
    expect(variance / mean).toBeGreaterThan(5);
  });

  it('rejects nonsense shapes with the field at fault', () => {
    expect(() => arrivalTimes({ kind: 'poisson', rate: -1 }, 10, new Rng(1))).toThrow(/poisson\.rate/);
    expect(() => arrivalTimes({ kind: 'sine', min: 5, max: 1, periodS: 10 }, 10, new Rng(1))).toThrow(
      /sine\.max/,
    );
    expect(() => arrivalTimes({ kind: 'constant', rate: 1 }, 0, new Rng(1))).toThrow(/durationS/);
  });
});

describe('synthetic traces', () => {
  it('are reproducible from their seed', () => {
    const spec = { shape: { kind: 'poisson', rate: 20 } as const, durationS: 60, seed: 99 };
    expect(generateSynthetic(spec)).toEqual(generateSynthetic(spec));
    expect(generateSynthetic({ ...spec, seed: 100 })).not.toEqual(generateSynthetic(spec));
  });

  it('draw sizes from the fitted presets (medians near the trace p50)', () => {
    const reqs = generateSynthetic({ shape: { kind: 'poisson', rate: 100 }, durationS: 200, seed: 1 });
    const s = traceStats(reqs);
    expect(s.input.p50 / SIZE_PRESETS['azure-conv'].input.median).toBeCloseTo(1, 1);
    expect(s.output.p50 / SIZE_PRESETS['azure-conv'].output.median).toBeCloseTo(1, 1);
    expect(s.input.max).toBeLessThanOrEqual(14050);
    expect(
      reqs.every((r) => Number.isInteger(r.inputTokens) && r.inputTokens >= 1 && r.outputTokens >= 1),
    ).toBe(true);
  });

  it('resample (input, output) pairs from a trace', () => {
    const samples = [
      { inputTokens: 10, outputTokens: 1 },
      { inputTokens: 20, outputTokens: 2 },
    ];
    const draw = sizeSampler({ kind: 'empirical', samples });
    const rng = new Rng(1);
    for (let i = 0; i < 50; i++) expect(samples).toContainEqual(draw(rng));
  });

  it('share prompt prefixes within a group when asked', () => {
    const reqs = generateSynthetic({
      shape: { kind: 'constant', rate: 10 },
      durationS: 10,
      sizes: { kind: 'fixed', input: 2000, output: 10 },
      prefix: { groups: 2, blocks: 2 },
    });
    expect(reqs.every((r) => r.hashIds?.length === 4)).toBe(true);
    const firsts = new Set(reqs.map((r) => r.hashIds?.[0]));
    expect([...firsts].sort()).toEqual([0, 2]);
    const tails = new Set(reqs.map((r) => r.hashIds?.[3]));
    expect(tails.size).toBe(reqs.length);
  });
});

describe('trace transforms', () => {
  const base: TraceRequest[] = Array.from({ length: 1000 }, (_, i) => ({
    id: i,
    arrivalMs: i * 100,
    inputTokens: 10 + i,
    outputTokens: 5,
  }));

  it('scale time', () => {
    const s = scaleTime(base, 0.5);
    expect(s[999]?.arrivalMs).toBe(49_950);
    expect(base[999]?.arrivalMs).toBe(99_900);
    expect(() => scaleTime(base, 0)).toThrow(/> 0/);
  });

  it('multiply the rate on the same timeline', () => {
    const x3 = multiplyRate(base, 3, { seed: 1, jitterMs: 50 });
    expect(x3).toHaveLength(3000);
    expect(x3.every((r, i) => i === 0 || r.arrivalMs >= (x3[i - 1] as TraceRequest).arrivalMs)).toBe(true);
    expect(x3.map((r) => r.id)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    const half = multiplyRate(base, 0.5, { seed: 2 });
    expect(half.length).toBeGreaterThan(440);
    expect(half.length).toBeLessThan(560);
    const x15 = multiplyRate(base, 1.5, { seed: 3 });
    expect(x15.length).toBeGreaterThan(1440);
    expect(x15.length).toBeLessThan(1560);
  });

  it('cut windows and concatenate', () => {
    const w = timeWindow(base, 10_000, 20_000);
    expect(w).toHaveLength(100);
    expect(w[0]?.arrivalMs).toBe(0);
    const c = concatTraces([w, w], 1000);
    expect(c).toHaveLength(200);
    expect(c[100]?.arrivalMs).toBe(9_900 + 1000);
  });
});
