/**
 * Our own post-solve feasibility check. A solver's "Optimal" is not taken on trust: LP-text
 * parsers accept malformed models silently and some MILP libraries return fractional points on a
 * timeout. Every plan is re-verified against the problem itself, not against the solver's model.
 */
import { cellLabel } from './grid.js';
import type { Allocation } from './milp.js';
import { sliceLoad, slicesPerBucket, type Problem } from './problem.js';

const TOL = 1e-6;

/** Replica-equivalents each type carries under `allocation`, headroom included. */
export function allocationLoads(problem: Problem, allocation: Allocation): number[] {
  return problem.gpus.map((_g, g) =>
    problem.buckets.reduce((sum, _b, b) => {
      const x = allocation.slices[b]?.[g] ?? 0;
      const load = sliceLoad(problem, b, g);
      return x > 0 && load !== undefined ? sum + x * load : sum;
    }, 0),
  );
}

export function allocationCost(problem: Problem, allocation: Allocation): number {
  const F = problem.options.unitsPerReplica;
  return problem.gpus.reduce((sum, gpu, g) => sum + (gpu.costPerHour * (allocation.units[g] ?? 0)) / F, 0);
}

/** Every violated constraint, in words; empty when the allocation is a valid plan. */
export function checkAllocation(problem: Problem, allocation: Allocation): string[] {
  const violations: string[] = [];
  const S = slicesPerBucket(problem.options);
  const F = problem.options.unitsPerReplica;
  const integral = problem.options.sliceFactor !== 'continuous';
  if (
    allocation.units.length !== problem.gpus.length ||
    allocation.slices.length !== problem.buckets.length
  ) {
    return [
      `allocation shape ${allocation.slices.length}×${allocation.units.length} does not match ${problem.buckets.length} buckets × ${problem.gpus.length} GPU types`,
    ];
  }

  problem.buckets.forEach((bucket, b) => {
    const row = allocation.slices[b] ?? [];
    const label = cellLabel(bucket.input, bucket.output);
    let total = 0;
    problem.gpus.forEach((gpu, g) => {
      const x = row[g] ?? NaN;
      if (!Number.isFinite(x) || x < -TOL || x > S + TOL) {
        violations.push(`${label} on ${gpu.name}: ${x} slices, outside [0, ${S}]`);
      } else if (integral && Math.abs(x - Math.round(x)) > TOL) {
        violations.push(`${label} on ${gpu.name}: ${x} slices is not a whole number`);
      }
      if (x > TOL && sliceLoad(problem, b, g) === undefined) {
        violations.push(`${label} is assigned to ${gpu.name}, which cannot serve it`);
      }
      total += Number.isFinite(x) ? x : 0;
    });
    if (Math.abs(total - S) > TOL * Math.max(1, S)) {
      violations.push(`${label}: ${total} of ${S} slices assigned`);
    }
  });

  const loads = allocationLoads(problem, allocation);
  problem.gpus.forEach((gpu, g) => {
    const units = allocation.units[g] ?? NaN;
    if (!Number.isFinite(units) || Math.abs(units - Math.round(units)) > TOL) {
      violations.push(`${gpu.name}: ${units} units is not a whole number`);
      return;
    }
    if (units < gpu.minReplicas * F - TOL) {
      violations.push(`${gpu.name}: ${units / F} replicas, below the minimum ${gpu.minReplicas}`);
    }
    if (units > gpu.maxReplicas * F + TOL) {
      violations.push(`${gpu.name}: ${units / F} replicas, above the maximum ${gpu.maxReplicas}`);
    }
    const needed = (loads[g] ?? 0) * F;
    if (needed > units + TOL * Math.max(1, units)) {
      violations.push(`${gpu.name}: load needs ${needed.toFixed(6)} units but only ${units} are planned`);
    }
  });
  return violations;
}
