/**
 * The cheapest mix of GPU types that serves a workload within the profiles' SLO.
 *
 * `optimize` is deterministic given its solver: it forms the problem, answers the trivial and
 * hopeless cases itself, hands the rest to the injected MILP solver, and re-checks what comes
 * back. Every outcome is a typed result the engine can turn into a status condition; none of them
 * quietly falls back to minimum replicas.
 */
import { allocationCost, allocationLoads, checkAllocation } from './check.js';
import {
  decode,
  formulate,
  type Allocation,
  type Formulation,
  type MilpSolution,
  type MilpSolver,
} from './milp.js';
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
  /** The solver proved this plan optimal (within `mipRelGap`); false after a time-limit stop. */
  proven: boolean;
  gap: number | null;
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
    return { kind: 'plan', plan: toPlan(problem, allocation, true, 0, null), unprofiled, notes };
  }

  const solved = solve(problem, solver);
  if (solved.kind === 'failed') {
    const failure = solved.failure;
    if (failure.kind === 'infeasible') {
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
    }
    return failure;
  }
  if (!solved.proven) {
    notes.push(
      `solve budget of ${options.timeLimitSeconds} s reached: plan is feasible but not proven cheapest`,
    );
  }
  return {
    kind: 'plan',
    plan: toPlan(problem, solved.allocation, solved.proven, solved.gap, solved.runTimeSeconds),
    unprofiled,
    notes,
  };
}

type SolveFailure =
  | { kind: 'infeasible' }
  | {
      kind: 'solver-failed';
      reason: 'time-limit' | 'error' | 'check-failed';
      message: string;
      violations?: string[];
    };

type Solved =
  | { kind: 'solved'; allocation: Allocation; proven: boolean; gap: number | null; runTimeSeconds: number }
  | { kind: 'failed'; failure: SolveFailure };

/**
 * Solves in up to three steps, each answer re-checked:
 * 1. The relaxation with continuous slices (only the GPU counts integer): a proven lower bound, and
 *    a candidate set of counts. Infeasible here means infeasible, full stop.
 * 2. The sliced problem with the counts fixed to that candidate: if slices fit, the plan costs the
 *    lower bound and is optimal. This is the common case, and it is cheap.
 * 3. Otherwise the full sliced MILP, in what is left of the time budget.
 * With a continuous slice factor step 1 is the whole problem.
 */
function solve(problem: Problem, solver: MilpSolver): Solved {
  const { timeLimitSeconds, mipRelGap } = problem.options;
  let spent = 0;
  const run = (formulation: Formulation, share = 1): MilpSolution => {
    const remaining = Math.max(0.001, timeLimitSeconds - spent);
    const solution = solver.solve(formulation.model, { timeLimitSeconds: remaining * share, mipRelGap });
    spent += solution.runTimeSeconds ?? 0;
    return solution;
  };

  const relaxed = formulate(problem, { relaxSlices: true });
  const first = run(relaxed);
  if (problem.options.sliceFactor === 'continuous') return accept(problem, relaxed, first, spent);
  if (first.status === 'infeasible') return { kind: 'failed', failure: { kind: 'infeasible' } };
  let lowerBound: number | undefined;
  const haveCandidate =
    (first.status === 'optimal' || first.status === 'feasible') && first.values !== undefined;
  if (haveCandidate && first.values !== undefined) {
    const proven = first.status === 'optimal';
    if (proven && mipRelGap === 0 && first.objective !== undefined) lowerBound = first.objective;
    const bound = decode(relaxed, first.values);
    if (bound.units.every(Number.isInteger)) {
      const fixed = formulate(problem, { fixedUnits: bound.units });
      const second = run(fixed, 0.5);
      if (second.status === 'optimal' || second.status === 'feasible') {
        const outcome = accept(problem, fixed, second, spent);
        // Any sliced plan costs at least the relaxation's optimum, so when that optimum was
        // proven this plan is optimal too.
        if (outcome.kind === 'solved') {
          return { ...outcome, proven, gap: proven ? (first.gap ?? null) : null };
        }
      }
    }
  }
  const full = formulate(problem, { costLowerBound: lowerBound });
  const last = run(full);
  return accept(problem, full, last, spent);
}

/** Turns a solver answer into a checked allocation or a typed failure. */
function accept(problem: Problem, formulation: Formulation, solution: MilpSolution, spent: number): Solved {
  const { timeLimitSeconds } = problem.options;
  switch (solution.status) {
    case 'infeasible':
      return { kind: 'failed', failure: { kind: 'infeasible' } };
    case 'no-solution':
      return {
        kind: 'failed',
        failure: {
          kind: 'solver-failed',
          reason: 'time-limit',
          message: `no plan found within the ${timeLimitSeconds} s solve budget (${solution.detail ?? 'limit reached'})`,
        },
      };
    case 'error':
      return {
        kind: 'failed',
        failure: {
          kind: 'solver-failed',
          reason: 'error',
          message: `solver error: ${solution.detail ?? 'unknown'}`,
        },
      };
    case 'optimal':
    case 'feasible':
      break;
  }
  if (solution.values === undefined || solution.values.length !== formulation.model.colNames.length) {
    return {
      kind: 'failed',
      failure: {
        kind: 'solver-failed',
        reason: 'error',
        message: `solver reported ${solution.status} but returned ${solution.values?.length ?? 0} values for ${formulation.model.colNames.length} columns`,
      },
    };
  }
  const allocation = decode(formulation, solution.values);
  const violations = checkAllocation(problem, allocation);
  const cost = allocationCost(problem, allocation);
  if (
    solution.objective !== undefined &&
    Math.abs(solution.objective - cost) > 1e-6 * Math.max(1, Math.abs(cost))
  ) {
    violations.push(`solver objective ${solution.objective} differs from the plan's cost ${cost}`);
  }
  if (violations.length > 0) {
    return {
      kind: 'failed',
      failure: {
        kind: 'solver-failed',
        reason: 'check-failed',
        message: `the solver's plan fails our feasibility check (${violations.length} violation(s)): ${violations[0]}`,
        violations,
      },
    };
  }
  return {
    kind: 'solved',
    allocation,
    proven: solution.status === 'optimal',
    gap: solution.gap ?? null,
    runTimeSeconds: spent,
  };
}

function toPlan(
  problem: Problem,
  allocation: Allocation,
  proven: boolean,
  gap: number | null,
  runTime: number | null,
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
  return {
    costPerHour: allocationCost(problem, allocation),
    proven,
    gap,
    totalRps: problem.totalRps,
    gpus,
    buckets,
    solverRunTimeSeconds: runTime,
  };
}
