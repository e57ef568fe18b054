/**
 * The cheapest mix of GPU types that serves a workload within the profiles' SLO.
 *
 * `optimize` is deterministic given its solver: it forms the problem, answers the trivial and
 * hopeless cases itself, hands the rest to the injected MILP solver, and re-checks what comes
 * back. Every outcome is a typed result the engine can turn into a status condition; none of them
 * quietly falls back to minimum replicas.
 */
import { branchAndBound } from './branch.js';
import { allocationCost, allocationLoads, checkAllocation } from './check.js';
import type { Allocation, MilpSolver } from './milp.js';
import {
  buildProblem,
  OptimizeOptionsSchema,
  sliceLoad,
  slicesPerBucket,
  type GpuOption,
  type OptimizeOptionsInput,
  type Problem,
  type ProblemBucket,
  type ProblemFailure,
} from './problem.js';
import type { LoadEstimate } from './workload.js';

export interface OptimizeInput {
  /** When set, profiles measured for another model are not used. */
  model?: string;
  gpus: readonly GpuOption[];
  load: LoadEstimate;
  options?: OptimizeOptionsInput;
}

export interface GpuAllocation {
  gpu: string;
  /** Replicas to run: ⌈units / unitsPerReplica⌉. */
  replicas: number;
  /** Capacity units as solved (equal to replicas when unitsPerReplica is 1). */
  units: number;
  /** This type's share of the plan's cost: costPerHour × units / unitsPerReplica. */
  costPerHour: number;
  /** Replica-equivalents of load assigned, headroom included. */
  load: number;
  /** load / (units / unitsPerReplica); `null` when nothing is planned. */
  utilisation: number | null;
  minReplicas: number;
  /** `null` when unbounded. */
  maxReplicas: number | null;
}

export interface BucketAssignment {
  input: number;
  output: number;
  rps: number;
  shares: Array<{ gpu: string; share: number; rps: number }>;
}

export interface Plan {
  /** Σ cost per replica-hour × replicas (in capacity units / unitsPerReplica). */
  costPerHour: number;
  /** The search proved this plan optimal (within `mipRelGap`); false after a time-limit stop. */
  proven: boolean;
  /** Proven: no plan serving the load costs less per hour. */
  lowerBound: number;
  /** (costPerHour − lowerBound) / costPerHour: 0 for a proven optimum, ≤ mipRelGap when proven. */
  gap: number;
  totalRps: number;
  gpus: GpuAllocation[];
  buckets: BucketAssignment[];
  solverRunTimeSeconds: number | null;
}

export type OptimizeResult =
  | { kind: 'plan'; plan: Plan; unprofiled: string[]; notes: string[] }
  | ProblemFailure
  | {
      kind: 'solver-failed';
      reason: 'time-limit' | 'error' | 'check-failed';
      message: string;
      violations?: string[];
    };

export function optimize(input: OptimizeInput, solver: MilpSolver): OptimizeResult {
  const parsed = OptimizeOptionsSchema.safeParse(input.options ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'options'}: ${i.message}`)
      .join('; ');
    throw new Error(`invalid optimizer options: ${issues}`);
  }
  const options = parsed.data;
  if (input.load.kind === 'no-data') return { kind: 'no-data', message: input.load.message };
  const built = buildProblem({
    model: input.model,
    gpus: input.gpus,
    workload: input.load.workload,
    options,
  });
  if (built.kind !== 'problem') return built;
  const { problem, unprofiled } = built;
  const notes = [...input.load.notes, ...built.notes];

  if (problem.buckets.length === 0) {
    // No load: the cheapest plan is every type at its minimum. This is an answer, not a fallback.
    const allocation: Allocation = {
      slices: [],
      units: problem.gpus.map((g) => g.minReplicas * options.unitsPerReplica),
    };
    notes.push('the workload is empty (0 req/s): every GPU type at its minimum');
    const cost = allocationCost(problem, allocation);
    return {
      kind: 'plan',
      plan: toPlan(problem, allocation, { proven: true, lowerBound: cost, runTimeSeconds: null }),
      unprofiled,
      notes,
    };
  }

  const solved = branchAndBound(problem, solver);
  switch (solved.kind) {
    case 'infeasible':
      return {
        kind: 'infeasible',
        reason: 'capacity',
        gpus: problem.gpus.map((g) => g.name),
        message: `the load (${problem.totalRps.toFixed(3)} req/s${
          options.headroom > 0 ? ` + ${(options.headroom * 100).toFixed(0)} % headroom` : ''
        }) needs more replicas than max/availability allow (${problem.gpus
          .map((g) => `${g.name} ≤ ${Number.isFinite(g.maxReplicas) ? g.maxReplicas : '∞'}`)
          .join(', ')})`,
      };
    case 'failed':
      return {
        kind: 'solver-failed',
        reason: solved.reason,
        message:
          solved.lowerBound !== undefined && Number.isFinite(solved.lowerBound)
            ? `${solved.message} (every plan costs at least ${solved.lowerBound.toFixed(4)} per hour)`
            : solved.message,
      };
    case 'plan':
      break;
  }
  // The search's plan is not taken on trust either: it is re-verified against the problem.
  const violations = checkAllocation(problem, solved.allocation);
  if (violations.length > 0) {
    return {
      kind: 'solver-failed',
      reason: 'check-failed',
      message: `the solver's plan fails our feasibility check (${violations.length} violation(s)): ${violations[0]}`,
      violations,
    };
  }
  const plan = toPlan(problem, solved.allocation, solved);
  if (!solved.proven) {
    notes.push(
      `solve budget of ${options.timeLimitSeconds} s reached: plan is feasible but not proven cheapest ` +
        `(at most ${(plan.gap * 100).toFixed(2)} % above the lower bound ${plan.lowerBound.toFixed(4)})`,
    );
  } else if (options.mipRelGap > 0 && plan.gap > 0) {
    notes.push(
      `stopped within the requested gap (mipRelGap ${options.mipRelGap}): at most ${(plan.gap * 100).toFixed(2)} % above the lower bound ${plan.lowerBound.toFixed(4)}`,
    );
  }
  return { kind: 'plan', plan, unprofiled, notes };
}

function toPlan(
  problem: Problem,
  allocation: Allocation,
  search: { proven: boolean; lowerBound: number; runTimeSeconds: number | null },
): Plan {
  const F = problem.options.unitsPerReplica;
  const S = slicesPerBucket(problem.options);
  const loads = allocationLoads(problem, allocation);
  const gpus = problem.gpus.map((gpu, g): GpuAllocation => {
    const units = allocation.units[g] ?? 0;
    const load = loads[g] ?? 0;
    return {
      gpu: gpu.name,
      replicas: Math.max(0, Math.ceil(units / F - 1e-9)),
      units,
      costPerHour: (gpu.costPerHour * units) / F,
      load,
      utilisation: units > 0 ? load / (units / F) : null,
      minReplicas: gpu.minReplicas,
      maxReplicas: Number.isFinite(gpu.maxReplicas) ? gpu.maxReplicas : null,
    };
  });
  const buckets = problem.buckets.map((bucket: ProblemBucket, b): BucketAssignment => {
    const shares = problem.gpus.flatMap((gpu, g) => {
      const x = allocation.slices[b]?.[g] ?? 0;
      if (!(x > 1e-9) || sliceLoad(problem, b, g) === undefined) return [];
      const share = x / S;
      return [{ gpu: gpu.name, share, rps: bucket.rps * share }];
    });
    return { input: bucket.input, output: bucket.output, rps: bucket.rps, shares };
  });
  const costPerHour = allocationCost(problem, allocation);
  // Round-off can put the bound a hair above the cost it proves.
  const lowerBound = Math.min(search.lowerBound, costPerHour);
  return {
    costPerHour,
    proven: search.proven,
    lowerBound,
    gap: costPerHour > 0 ? (costPerHour - lowerBound) / costPerHour : 0,
    totalRps: problem.totalRps,
    gpus,
    buckets,
    solverRunTimeSeconds: search.runTimeSeconds,
  };
}
