import { describe, expect, it } from 'vitest';
import {
  histogramIncrease,
  workloadFromHistograms,
  type HistogramDelta,
} from '../../../algorithms/optimizer/histograms.js';
import { tokenSnapshot, workloadFromScrapes } from '../../../src/optimizer/engine-load.js';
import { parseExposition } from '../../../src/metrics/exposition.js';

const GRID = { input: [128, 256, 512, 1024], output: [16, 32, 64] };

/** A histogram whose observations all sit in the given (le → count) non-cumulative buckets. */
function hist(perBucket: Array<[number, number]>, sum: number, extraInf = 0): HistogramDelta {
  let cumulative = 0;
  const buckets = perBucket.map(([le, n]) => ({ le, count: (cumulative += n) }));
  return { buckets, count: cumulative + extraInf, sum };
}

describe('workloadFromHistograms', () => {
  it('rate = count increase / window; buckets aligned to ticks map exactly', () => {
    // Buckets (64,128] and (128,256] with up rounding land on ticks 128 and 256 exactly.
    const load = workloadFromHistograms({
      pods: [
        {
          pod: 'a',
          prompt: hist(
            [
              [64, 0],
              [128, 30],
              [256, 10],
            ],
            30 * 100 + 10 * 200,
          ),
          generation: hist([[16, 40]], 40 * 12),
        },
      ],
      windowSeconds: 20,
      grid: GRID,
      rounding: 'up',
    });
    if (load.kind !== 'ok') throw new Error(load.message);
    expect(load.workload.totalRps).toBe(2);
    expect(load.workload.rps[0]?.[0]).toBeCloseTo(1.5, 12);
    expect(load.workload.rps[1]?.[0]).toBeCloseTo(0.5, 12);
  });

  it('within one pod the joint is the product of the marginals (independence)', () => {
    const load = workloadFromHistograms({
      pods: [
        {
          pod: 'a',
          prompt: hist(
            [
              [128, 5],
              [256, 5],
            ],
            0,
          ),
          generation: hist(
            [
              [16, 5],
              [32, 5],
            ],
            0,
          ),
        },
      ],
      windowSeconds: 10,
      grid: GRID,
      rounding: 'up',
    });
    if (load.kind !== 'ok') throw new Error(load.message);
    expect(load.workload.rps[0]?.[0]).toBeCloseTo(0.25, 12);
    expect(load.workload.rps[0]?.[1]).toBeCloseTo(0.25, 12);
    expect(load.workload.rps[1]?.[0]).toBeCloseTo(0.25, 12);
    expect(load.workload.rps[1]?.[1]).toBeCloseTo(0.25, 12);
  });

  it('across pods the per-pod products are summed, keeping correlation between deployments', () => {
    // Pod a: short prompts, short outputs. Pod b: long prompts, long outputs. A single product of
    // the summed marginals would invent (short, long) and (long, short) traffic.
    const load = workloadFromHistograms({
      pods: [
        { pod: 'a', prompt: hist([[128, 10]], 0), generation: hist([[16, 10]], 0) },
        {
          pod: 'b',
          prompt: hist(
            [
              [128, 0],
              [256, 0],
              [512, 0],
              [1024, 10],
            ],
            0,
          ),
          generation: hist(
            [
              [16, 0],
              [32, 0],
              [64, 10],
            ],
            0,
          ),
        },
      ],
      windowSeconds: 10,
      grid: GRID,
      rounding: 'up',
    });
    if (load.kind !== 'ok') throw new Error(load.message);
    expect(load.workload.rps[0]?.[0]).toBeCloseTo(1, 12);
    expect(load.workload.rps[3]?.[2]).toBeCloseTo(1, 12);
    expect(load.workload.rps[0]?.[2]).toBe(0);
    expect(load.workload.rps[3]?.[0]).toBe(0);
  });

  it('vLLM 1-2-5 buckets are split log-uniformly across log2 ticks', () => {
    // (200, 500] with nearest rounding: edges √(128·256)=181, √(256·512)=362.
    const load = workloadFromHistograms({
      pods: [
        {
          pod: 'a',
          prompt: hist(
            [
              [200, 0],
              [500, 10],
            ],
            0,
          ),
          generation: hist([[20, 10]], 0),
        },
      ],
      windowSeconds: 10,
      grid: GRID,
      rounding: 'nearest',
    });
    if (load.kind !== 'ok') throw new Error(load.message);
    const share256 = Math.log(362.5 / 200.5) / Math.log(500.5 / 200.5);
    expect(load.workload.rps[1]?.reduce((s, r) => s + r, 0)).toBeCloseTo(share256, 9);
    expect(load.workload.rps[2]?.reduce((s, r) => s + r, 0)).toBeCloseTo(1 - share256, 9);
  });

  it('places the +Inf bucket at the mean left by _sum, clamped and reported when beyond the grid', () => {
    // 10 requests ≤ 128 tokens (estimated mean ≈ 27 under log-uniform), 10 in +Inf with a big sum.
    const load = workloadFromHistograms({
      pods: [
        { pod: 'a', prompt: hist([[128, 10]], 10 * 27 + 10 * 3000, 10), generation: hist([[16, 20]], 0) },
      ],
      windowSeconds: 10,
      grid: GRID,
      rounding: 'nearest',
    });
    if (load.kind !== 'ok') throw new Error(load.message);
    expect(load.workload.rps[3]?.[0]).toBeCloseTo(1, 9);
    expect(load.workload.clampedRps).toBeCloseTo(1, 9);
    expect(load.notes.join(' ')).toMatch(/longer than the grid reaches/);
  });

  it('a pod with a missing histogram is left out and named; none usable is no-data', () => {
    const good = { pod: 'a', prompt: hist([[128, 10]], 0), generation: hist([[16, 10]], 0) };
    const load = workloadFromHistograms({
      pods: [good, { pod: 'b', prompt: undefined, generation: hist([[16, 10]], 0) }],
      windowSeconds: 10,
      grid: GRID,
      rounding: 'up',
    });
    expect(load.kind === 'ok' && load.workload.totalRps).toBe(1);
    expect(load.kind === 'ok' && load.notes).toContain('b: prompt token histogram missing; pod left out');
    const none = workloadFromHistograms({
      pods: [{ ...good, generation: undefined }],
      windowSeconds: 10,
      grid: GRID,
      rounding: 'up',
    });
    expect(none).toMatchObject({
      kind: 'no-data',
      message: expect.stringMatching(/generation token histogram missing/),
    });
    expect(workloadFromHistograms({ pods: [], windowSeconds: 10, grid: GRID, rounding: 'up' }).kind).toBe(
      'no-data',
    );
  });

  it('zero requests in the window is a real zero load, not no-data', () => {
    const load = workloadFromHistograms({
      pods: [{ pod: 'a', prompt: hist([[128, 0]], 0), generation: hist([[16, 0]], 0) }],
      windowSeconds: 10,
      grid: GRID,
      rounding: 'up',
    });
    expect(load.kind).toBe('ok');
    expect(load.kind === 'ok' && load.workload.totalRps).toBe(0);
  });

  it('rejects non-cumulative or negative increases per pod', () => {
    const load = workloadFromHistograms({
      pods: [
        {
          pod: 'a',
          prompt: {
            buckets: [
              { le: 128, count: 5 },
              { le: 256, count: 3 },
            ],
            count: 5,
            sum: 0,
          },
          generation: hist([[16, 5]], 0),
        },
        { pod: 'b', prompt: { buckets: [], count: -2, sum: 0 }, generation: hist([[16, 5]], 0) },
      ],
      windowSeconds: 10,
      grid: GRID,
      rounding: 'up',
    });
    expect(load.kind).toBe('no-data');
    expect(load.kind === 'no-data' && load.message).toMatch(
      /a: bucket le=256 holds 3, less than the bucket below/,
    );
    expect(load.kind === 'no-data' && load.message).toMatch(/b: count\/sum increase is negative/);
  });
});

describe('histogramIncrease', () => {
  const earlier = {
    buckets: [
      { le: 10, count: 4 },
      { le: 20, count: 6 },
    ],
    count: 7,
    sum: 90,
  };
  it('subtracts cumulative snapshots', () => {
    expect(
      histogramIncrease(earlier, {
        buckets: [
          { le: 10, count: 5 },
          { le: 20, count: 9 },
        ],
        count: 12,
        sum: 150,
      }),
    ).toEqual({
      buckets: [
        { le: 10, count: 1 },
        { le: 20, count: 3 },
      ],
      count: 5,
      sum: 60,
    });
  });
  it('treats a drop as a counter reset: the later snapshot is the increase', () => {
    const later = {
      buckets: [
        { le: 10, count: 1 },
        { le: 20, count: 2 },
      ],
      count: 2,
      sum: 25,
    };
    expect(histogramIncrease(earlier, later)).toEqual(later);
  });
  it('refuses changed bucket bounds', () => {
    expect(() => histogramIncrease(earlier, { buckets: [{ le: 10, count: 5 }], count: 9, sum: 100 })).toThrow(
      /bounds changed/,
    );
  });
});

describe('engine scrapes → workload', () => {
  const page = (prompt: [number, number, number], gen: [number, number, number], model = 'llama') => `
# TYPE vllm:request_prompt_tokens histogram
vllm:request_prompt_tokens_bucket{le="100.0",model_name="${model}"} ${prompt[0]}
vllm:request_prompt_tokens_bucket{le="200.0",model_name="${model}"} ${prompt[1]}
vllm:request_prompt_tokens_bucket{le="+Inf",model_name="${model}"} ${prompt[1]}
vllm:request_prompt_tokens_count{model_name="${model}"} ${prompt[1]}
vllm:request_prompt_tokens_sum{model_name="${model}"} ${prompt[2]}
# TYPE vllm:request_generation_tokens histogram
vllm:request_generation_tokens_bucket{le="10.0",model_name="${model}"} ${gen[0]}
vllm:request_generation_tokens_bucket{le="20.0",model_name="${model}"} ${gen[1]}
vllm:request_generation_tokens_bucket{le="+Inf",model_name="${model}"} ${gen[1]}
vllm:request_generation_tokens_count{model_name="${model}"} ${gen[1]}
vllm:request_generation_tokens_sum{model_name="${model}"} ${gen[2]}
`;

  it('differences two scrapes per pod and sums pods', () => {
    const t0 = new Map([
      ['p1', tokenSnapshot(parseExposition(page([1, 2, 300], [1, 2, 30])), 'llama')],
      ['p2', tokenSnapshot(parseExposition(page([0, 0, 0], [0, 0, 0])), 'llama')],
    ]);
    const t1 = new Map([
      ['p1', tokenSnapshot(parseExposition(page([11, 22, 3300], [11, 22, 330])), 'llama')],
      ['p2', tokenSnapshot(parseExposition(page([0, 10, 1800], [0, 10, 180])), 'llama')],
      ['p3', tokenSnapshot(parseExposition(page([0, 10, 1800], [0, 10, 180])), 'llama')],
    ]);
    const load = workloadFromScrapes({
      earlier: t0,
      later: t1,
      windowSeconds: 10,
      grid: { input: [128, 256], output: [16, 32] },
      rounding: 'up',
    });
    if (load.kind !== 'ok') throw new Error(load.message);
    expect(load.workload.totalRps).toBe(3); // p1: 20, p2: 10 requests in 10 s; p3 has no baseline
    expect(load.notes.join(' ')).toMatch(/p3: no earlier scrape/);
  });

  it('keeps only the requested model', () => {
    expect(
      tokenSnapshot(parseExposition(page([1, 2, 3], [1, 2, 3], 'other')), 'llama').prompt,
    ).toBeUndefined();
  });
});
