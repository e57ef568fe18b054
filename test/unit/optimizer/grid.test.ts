import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GridSchema,
  log2Ticks,
  spreadInterval,
  tickEdges,
  tickIndex,
} from '../../../algorithms/optimizer/grid.js';

describe('grid', () => {
  it('log2Ticks lists powers of two', () => {
    expect(log2Ticks(128, 2048)).toEqual([128, 256, 512, 1024, 2048]);
    expect(() => log2Ticks(0, 4)).toThrow(/lo/);
  });

  it('rejects ticks that are not strictly ascending', () => {
    expect(GridSchema.safeParse({ input: [1, 2], output: [4, 4] }).success).toBe(false);
    expect(GridSchema.safeParse({ input: [], output: [4] }).success).toBe(false);
  });

  it('nearest rounding splits at the geometric midpoint, like AIBrix', () => {
    const ticks = [128, 256, 512];
    expect(tickIndex(ticks, 181, 'nearest')).toEqual({ index: 0, clamped: false }); // √(128·256) ≈ 181.02
    expect(tickIndex(ticks, 182, 'nearest')).toEqual({ index: 1, clamped: false });
    expect(tickIndex(ticks, 1, 'nearest')).toEqual({ index: 0, clamped: false });
    expect(tickIndex(ticks, 724, 'nearest')).toEqual({ index: 2, clamped: false }); // 512·√2 ≈ 724.08
    expect(tickIndex(ticks, 725, 'nearest')).toEqual({ index: 2, clamped: true });
  });

  it('up rounding sends a length to the smallest tick at least as large', () => {
    const ticks = [128, 256, 512];
    expect(tickIndex(ticks, 128, 'up').index).toBe(0);
    expect(tickIndex(ticks, 129, 'up').index).toBe(1);
    expect(tickIndex(ticks, 512, 'up')).toEqual({ index: 2, clamped: false });
    expect(tickIndex(ticks, 513, 'up')).toEqual({ index: 2, clamped: true });
    expect(tickEdges(ticks, 'up')).toEqual([0, 128, 256, 512]);
  });

  it('spreadInterval respects integer lengths: (1, 2] holds only 2', () => {
    expect(spreadInterval([1, 2, 4], 1, 2, 'nearest').weights).toEqual([0, 1, 0]);
    expect(spreadInterval([1, 2, 4], 0, 1, 'nearest').weights).toEqual([1, 0, 0]);
  });

  it('spreadInterval splits a bucket log-uniformly between ticks', () => {
    // (500, 1000] over ticks 512/1024 with up rounding: (500,512] → 512, (512,1000] → 1024.
    const { weights, beyond } = spreadInterval([512, 1024], 500, 1000, 'up');
    expect(beyond).toBe(0);
    expect(weights[0]).toBeCloseTo(Math.log(512.5 / 500.5) / Math.log(1000.5 / 500.5), 12);
    expect((weights[0] ?? 0) + (weights[1] ?? 0)).toBeCloseTo(1, 12);
  });

  it('spreadInterval reports what lies beyond the grid', () => {
    const { weights, beyond } = spreadInterval([4, 8], 8, 64, 'up');
    expect(weights).toEqual([0, 0]);
    expect(beyond).toBeCloseTo(1, 12);
  });

  it('property: weights and beyond always sum to 1 for a non-empty interval', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.constantFrom('nearest' as const, 'up' as const),
        (lo, width, rounding) => {
          const { weights, beyond } = spreadInterval([16, 64, 256, 1024], lo, lo + width, rounding);
          const sum = weights.reduce((s, w) => s + w, 0) + beyond;
          expect(sum).toBeCloseTo(1, 9);
          expect(weights.every((w) => w >= 0) && beyond >= 0).toBe(true);
        },
      ),
    );
  });
});
