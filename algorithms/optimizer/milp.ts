/**
 * The Mélange integer program, written as solver-neutral sparse arrays.
 *
 * Variables
 *   x[b,g] ∈ {0..S}   slices of bucket b served by GPU type g (only pairs g can serve);
 *                     continuous in [0,1] (a share) when sliceFactor is `continuous`.
 *   y[g]   ∈ ℤ        capacity units of type g, F per replica, in [F·min_g, F·max_g].
 * Minimise   Σ_g (c_g / F) · y[g]
 * subject to Σ_g x[b,g] = S                                         for every bucket b
 *            Σ_b x[b,g] · F · (r_b / S) · (1 + h) / T[g,b] − y[g] ≤ 0   for every type g
 *
 * AIBrix uses one binary per (slice, type); counting slices per bucket with one integer is the
 * same set of plans without the symmetry between interchangeable slices.
 */
import { sliceLoad, slicesPerBucket, type Problem } from './problem.js';

/** A mixed-integer linear program: min cᵀx, rowLower ≤ Ax ≤ rowUpper, colLower ≤ x ≤ colUpper. */
export interface MilpModel {
  colNames: string[];
  colCost: number[];
  colLower: number[];
  /** `Infinity` for no bound. */
  colUpper: number[];
  integer: boolean[];
  rows: Array<{ name: string; lower: number; upper: number; indices: number[]; values: number[] }>;
}

export type MilpStatus =
  /** Proven optimal within the requested gap. */
  | 'optimal'
  /** A limit was hit; `values` holds the best solution found, not proven optimal. */
  | 'feasible'
  | 'infeasible'
  /** A limit was hit before any solution was found. */
  | 'no-solution'
  | 'error';

export interface MilpSolution {
  status: MilpStatus;
  values?: number[];
  objective?: number;
  /** Relative gap between the solution and the proven bound, when the solver reports one. */
  gap?: number;
  /** Solver-reported run time. */
  runTimeSeconds?: number;
  /** The solver's own status text, for messages. */
  detail?: string;
}

export interface MilpSolveOptions {
  timeLimitSeconds: number;
  mipRelGap: number;
}

/** New bounds for some columns: `lower[i] ≤ x[cols[i]] ≤ upper[i]`. */
export interface BoundChange {
  cols: readonly number[];
  lower: readonly number[];
  upper: readonly number[];
}

/**
 * A model's LP relaxation (integrality dropped) kept alive between solves: only column bounds
 * change, and the solver restarts from its last basis. Branch and bound re-solves the same LP
 * dozens of times per plan; a fresh model each time would pay the set-up on every node.
 */
export interface LpSession {
  /** Applies `change` (other bounds stay as last set) and re-solves within the time limit. */
  solve(change: BoundChange, timeLimitSeconds: number): MilpSolution;
  dispose(): void;
}

/** The seam to the solver: HiGHS in production, anything else in tests. Synchronous once loaded. */
export interface MilpSolver {
  solve(model: MilpModel, options: MilpSolveOptions): MilpSolution;
  /** Optional warm-started LP sessions; without it each LP is a fresh `solve` (see `openLpSession`). */
  openLp?(model: MilpModel): LpSession;
}

/** The solver's own session when it has one, else one built on `solve` with integrality dropped. */
export function openLpSession(solver: MilpSolver, model: MilpModel): LpSession {
  if (solver.openLp) return solver.openLp(model);
  const lp: MilpModel = {
    ...model,
    colLower: [...model.colLower],
    colUpper: [...model.colUpper],
    integer: model.integer.map(() => false),
  };
  return {
    solve(change, timeLimitSeconds) {
      change.cols.forEach((col, i) => {
        lp.colLower[col] = change.lower[i] ?? lp.colLower[col] ?? 0;
        lp.colUpper[col] = change.upper[i] ?? lp.colUpper[col] ?? Infinity;
      });
      return solver.solve(lp, { timeLimitSeconds, mipRelGap: 0 });
    },
    dispose() {},
  };
}

/** A decoded solution: what the post-solve check and the plan read. */
export interface Allocation {
  /** `slices[b][g]`: slices (or, continuous, the share) of bucket b on type g. */
  slices: number[][];
  /** Capacity units per type (F per replica). */
  units: number[];
}

export interface Formulation {
  model: MilpModel;
  /** Column of x[b,g], or -1 when g cannot serve b. */
  xCol: number[][];
  /** Column of y[g]. */
  yCol: number[];
}

export interface FormulateOptions {
  /** Treat slices as continuous shares even when the problem has an integer slice factor (a relaxation). */
  relaxSlices?: boolean;
  /** Fix y[g] to these units: the solve becomes a search for an assignment that fits them. */
  fixedUnits?: readonly number[];
}

/**
 * Units of type g that can ever be useful: enough to carry every bucket it can serve, never below
 * its minimum, never above its cap. Prices are positive, so no optimum has more; a finite bound
 * also keeps every branch-and-bound box finite.
 */
export function usefulUnits(problem: Problem, g: number): { lower: number; upper: number } {
  const gpu = problem.gpus[g];
  if (gpu === undefined) throw new Error(`no GPU type at index ${g}`);
  const S = slicesPerBucket(problem.options);
  const F = problem.options.unitsPerReplica;
  const all = problem.buckets.reduce((sum, _b, b) => sum + S * (sliceLoad(problem, b, g) ?? 0), 0);
  const lower = gpu.minReplicas * F;
  // 1e-9: a load that is a whole number up to round-off must not cost one more unit.
  const upper = Math.max(lower, Math.min(gpu.maxReplicas * F, Math.ceil(all * F - 1e-9)));
  return { lower, upper };
}

export function formulate(problem: Problem, how: FormulateOptions = {}): Formulation {
  const S = slicesPerBucket(problem.options);
  const F = problem.options.unitsPerReplica;
  const integral = problem.options.sliceFactor !== 'continuous' && !how.relaxSlices;
  const model: MilpModel = { colNames: [], colCost: [], colLower: [], colUpper: [], integer: [], rows: [] };
  const addCol = (name: string, cost: number, lower: number, upper: number, integer: boolean): number => {
    model.colNames.push(name);
    model.colCost.push(cost);
    model.colLower.push(lower);
    model.colUpper.push(upper);
    model.integer.push(integer);
    return model.colNames.length - 1;
  };

  const xCol = problem.buckets.map((_, b) =>
    problem.gpus.map((_g, g) =>
      sliceLoad(problem, b, g) === undefined ? -1 : addCol(`x_${b}_${g}`, 0, 0, S, integral),
    ),
  );
  const yCol = problem.gpus.map((gpu, g) => {
    const fixed = how.fixedUnits?.[g];
    const { lower, upper } = usefulUnits(problem, g);
    return fixed === undefined
      ? addCol(`y_${g}`, gpu.costPerHour / F, lower, upper, true)
      : addCol(`y_${g}`, gpu.costPerHour / F, fixed, fixed, true);
  });

  problem.buckets.forEach((_, b) => {
    const indices: number[] = [];
    const values: number[] = [];
    problem.gpus.forEach((_g, g) => {
      const col = xCol[b]?.[g] ?? -1;
      if (col >= 0) {
        indices.push(col);
        values.push(1);
      }
    });
    model.rows.push({ name: `assign_${b}`, lower: S, upper: S, indices, values });
  });
  problem.gpus.forEach((_gpu, g) => {
    const indices: number[] = [];
    const values: number[] = [];
    problem.buckets.forEach((_, b) => {
      const col = xCol[b]?.[g] ?? -1;
      const load = sliceLoad(problem, b, g);
      if (col >= 0 && load !== undefined) {
        indices.push(col);
        values.push(load * F);
      }
    });
    indices.push(yCol[g] as number);
    values.push(-1);
    model.rows.push({ name: `capacity_${g}`, lower: -Infinity, upper: 0, indices, values });
  });
  return { model, xCol, yCol };
}

/** Reads x and y back; integer columns within 1e-6 of an integer are snapped to it. */
export function decode(formulation: Formulation, values: readonly number[]): Allocation {
  const read = (col: number): number => {
    const v = values[col] ?? NaN;
    if (!formulation.model.integer[col]) return v;
    const r = Math.round(v);
    // `+ 0` turns the solver's -0 into 0.
    return Math.abs(v - r) <= 1e-6 ? r + 0 : v;
  };
  return {
    slices: formulation.xCol.map((row) => row.map((col) => (col < 0 ? 0 : read(col)))),
    units: formulation.yCol.map(read),
  };
}
