/**
 * Replica bounds: the final clamp, and AIBrix's boundary checks (§2.5.1), which decide before any
 * metric is read.
 */
import type { ReplicaBounds } from './types.js';

export function clampReplicas(replicas: number, bounds: ReplicaBounds): number {
  if (replicas < bounds.min) return bounds.min;
  if (replicas > bounds.max) return bounds.max;
  return replicas;
}

/** Alias of `clampReplicas`. */
export const clamp = clampReplicas;

export interface BoundaryDecision {
  replicas: number;
  shouldScale: boolean;
  reason: string;
  algorithm: 'boundary-check';
}

/**
 * AIBrix's checks, in its order:
 * - at 0 replicas with a non-zero minimum, and no active schedule setting that minimum: scaling is
 *   disabled (as in Kubernetes, 0 replicas pauses the autoscaler);
 * - above the maximum: go to the maximum;
 * - below the minimum: go to the minimum.
 * `undefined` when none applies and the metrics decide.
 */
export function checkBoundaries(
  currentReplicas: number,
  bounds: ReplicaBounds,
  activeScheduleHasMin: boolean,
): BoundaryDecision | undefined {
  if (currentReplicas === 0 && bounds.min !== 0 && !activeScheduleHasMin) {
    return {
      replicas: 0,
      shouldScale: false,
      reason: 'scaling disabled: current replicas is 0',
      algorithm: 'boundary-check',
    };
  }
  if (currentReplicas > bounds.max) {
    return {
      replicas: bounds.max,
      shouldScale: true,
      reason: 'current replicas exceed maximum',
      algorithm: 'boundary-check',
    };
  }
  if (currentReplicas < bounds.min) {
    return {
      replicas: bounds.min,
      shouldScale: true,
      reason: 'current replicas below minimum',
      algorithm: 'boundary-check',
    };
  }
  return undefined;
}
