import { describe, expect, it } from 'vitest';
import { checkBoundaries, clampReplicas } from '../../../algorithms/bounds.js';

describe('bounds', () => {
  it('clamps into [min, max]', () => {
    expect(clampReplicas(0, { min: 1, max: 5 })).toBe(1);
    expect(clampReplicas(9, { min: 1, max: 5 })).toBe(5);
    expect(clampReplicas(3, { min: 1, max: 5 })).toBe(3);
  });

  it('AIBrix boundary checks, in order (§2.5.1)', () => {
    expect(checkBoundaries(0, { min: 1, max: 5 }, false)).toMatchObject({
      replicas: 0,
      shouldScale: false,
      reason: 'scaling disabled: current replicas is 0',
    });
    // An active schedule that sets minReplicas lifts the guard.
    expect(checkBoundaries(0, { min: 2, max: 5 }, true)).toMatchObject({
      replicas: 2,
      shouldScale: true,
      reason: 'current replicas below minimum',
    });
    expect(checkBoundaries(7, { min: 1, max: 5 }, false)).toMatchObject({
      replicas: 5,
      shouldScale: true,
      reason: 'current replicas exceed maximum',
    });
    expect(checkBoundaries(0, { min: 0, max: 5 }, false)).toBeUndefined();
    expect(checkBoundaries(3, { min: 1, max: 5 }, false)).toBeUndefined();
  });
});
