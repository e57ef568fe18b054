/**
 * Branch and bound over the GPU counts, the only integers that carry cost.
 *
 * A node is a box of unit counts per type. Its bound is the LP with continuous slices and counts
 * inside the box, re-solved in one warm-started session. A fractional count splits the box in two.
 * Whole counts are a leaf: when a rounding heuristic fits whole slices into them, the leaf is a
 * plan costing the box's bound. Otherwise whether any slicing fits takes an integer solve with
 * the counts fixed; it is queued, and so is the rest of the box, since no smaller counts can fit
 * where these do not (capacity only grows with units). Boxes are taken cheapest bound first; the
 * search ends when no open box can beat the best plan by more than the requested gap.
 *
 * This replaced relax → fix → full MILP in HiGHS: its MIP machinery (presolve, cuts, sub-MIP
 * heuristics) cost 10–60 ms per call even with six integers, and its search on the full program
 * took up to 0.6 s to prove what a few dozen 0.2 ms LP re-solves prove here.
 */
import { allocationCost } from './check.js';
import {
  decode,
  formulate,
  openLpSession,
  type Allocation,
  type MilpModel,
  type MilpSolution,
  type MilpSolver,
} from './milp.js';
import type { Problem } from './problem.js';
import { fitSlices, roundedPlan, unitsPerSlice } from './rounding.js';

export type SearchOutcome =
  | {
      kind: 'plan';
      allocation: Allocation;
      cost: number;
      /** Proven: no plan costs less. Equals `cost` when the search finished with mipRelGap 0. */
      lowerBound: number;
      /** The search finished (within mipRelGap); false when the time budget ran out first. */
      proven: boolean;
      runTimeSeconds: number;
    }
  | { kind: 'infeasible' }
  | {
      kind: 'failed';
      reason: 'time-limit' | 'error' | 'check-failed';
      message: string;
      /** Best proven lower bound when the budget ran out before any plan was found. */
      lowerBound?: number;
    };

interface Box {
  lower: number[];
  upper: number[];
  /** No plan inside costs less: the LP of the box it was split from. */
  bound: number;
  /** Whole counts (the box's only point) waiting for the integer solve that says if slices fit. */
  leaf?: number[];
}

/** Counts closer than this to a whole number are whole (HiGHS's own integrality tolerance). */
const WHOLE = 1e-6;

/**
 * The step between possible plan costs when every price per unit is a whole number of some decimal
 * grain (a cent, a tenth of a cent, …): an LP bound can then be rounded up to the next step, which
 * closes much of the gap between the LP and whole counts. `undefined` when no grain down to 10⁻⁶ fits.
 */
export function costGrain(problem: Problem): number | undefined {
  const F = problem.options.unitsPerReplica;
  for (let digits = 0; digits <= 6; digits++) {
    const scale = 10 ** digits;
    const fits = problem.gpus.every((gpu) => {
      const v = (gpu.costPerHour / F) * scale;
      return Math.abs(v - Math.round(v)) <= 1e-9 * Math.max(1, Math.abs(v));
    });
    if (fits) return 1 / scale;
  }
  return undefined;
}

export function branchAndBound(problem: Problem, solver: MilpSolver): SearchOutcome {
  const { timeLimitSeconds, mipRelGap } = problem.options;
  const continuous = problem.options.sliceFactor === 'continuous';
  const relaxed = formulate(problem, { relaxSlices: true });
  const { model, yCol } = relaxed;
  const prices = yCol.map((col) => model.colCost[col] ?? 0);
  const costOf = (units: readonly number[]): number => units.reduce((s, u, g) => s + (prices[g] ?? 0) * u, 0);
  const grain = costGrain(problem);
  const perSlice = unitsPerSlice(problem);
  // The LP's optimum may sit a little above the true one (feasibility tolerances): round up only
  // from below that margin, or a box holding the optimum could be cut off.
  const roundUp = (bound: number): number =>
    grain === undefined ? bound : Math.ceil((bound - 1e-7 * Math.max(1, Math.abs(bound))) / grain) * grain;
  // Round-off between a bound and the cost it matches: a tie, not a gap.
  const tie = (cost: number): number => 1e-9 * Math.max(1, Math.abs(cost));
  const cannotBeat = (bound: number, cost: number): boolean =>
    bound >= cost - Math.max(tie(cost), mipRelGap * Math.abs(cost));

  let spent = 0;
  let best: { allocation: Allocation; cost: number } | undefined;
  const offer = (allocation: Allocation | undefined): void => {
    if (allocation === undefined) return;
    const cost = allocationCost(problem, allocation);
    if (best === undefined || cost < best.cost) best = { allocation, cost };
  };
  const rootLower = yCol.map((col) => model.colLower[col] ?? 0);
  const open: Box[] = [
    { lower: rootLower, upper: yCol.map((col) => model.colUpper[col] ?? 0), bound: costOf(rootLower) },
  ];
  const push = (box: Box): void => {
    if (box.lower.every((l, g) => l <= (box.upper[g] ?? -Infinity))) open.push(box);
  };
  let timedOut = false;
  let dropped = Infinity;

  const session = openLpSession(solver, model);
  try {
    while (open.length > 0) {
      const i = cheapest(open);
      const box = open[i] as Box;
      if (best !== undefined && cannotBeat(box.bound, best.cost)) break;
      if (spent >= timeLimitSeconds) {
        timedOut = true;
        break;
      }
      open.splice(i, 1);

      if (box.leaf !== undefined) {
        const fixed = formulate(problem, { fixedUnits: box.leaf });
        const whole = solver.solve(fixed.model, { timeLimitSeconds: timeLimitSeconds - spent, mipRelGap: 0 });
        spent += whole.runTimeSeconds ?? 0;
        if (whole.status === 'error') return solverError(whole);
        if (whole.status === 'no-solution') {
          open.push(box);
          timedOut = true;
          break;
        }
        // Infeasible: the rest of its box was queued when the leaf was deferred.
        if (whole.status === 'infeasible') continue;
        if (whole.values?.length !== fixed.model.colNames.length) return shortAnswer(whole, fixed.model);
        offer({ slices: decode(fixed, whole.values).slices, units: box.leaf });
        continue;
      }

      const solution = session.solve(
        { cols: yCol, lower: box.lower, upper: box.upper },
        timeLimitSeconds - spent,
      );
      spent += solution.runTimeSeconds ?? 0;
      const lp = readLp(problem, model, yCol, box, solution);
      if (lp.kind === 'infeasible') continue;
      if (lp.kind === 'failed') return lp;
      if (lp.kind === 'limit') {
        if (lp.values !== undefined) offer(roundedPlan(problem, perSlice, decode(relaxed, lp.values).slices));
        open.push(box);
        timedOut = true;
        break;
      }
      const shares = decode(relaxed, lp.values).slices;
      // A cheap plan near the LP often matches a leaf to come, which then needs no integer solve.
      if (!continuous) offer(roundedPlan(problem, perSlice, shares));
      const bound = Math.max(box.bound, roundUp(costOf(lp.counts)));
      if (best !== undefined && cannotBeat(bound, best.cost)) {
        // Dropped within the gap, not proven useless: its bound still bounds the optimum.
        dropped = Math.min(dropped, bound);
        continue;
      }

      const g = mostFractional(lp.counts);
      if (g >= 0) {
        const v = lp.counts[g] as number;
        push({ lower: box.lower, upper: replace(box.upper, g, Math.floor(v)), bound });
        push({ lower: replace(box.lower, g, Math.ceil(v)), upper: box.upper, bound });
        continue;
      }
      const units = lp.counts.map((v) => Math.round(v) + 0);
      const fit = continuous ? shares : fitSlices(problem, perSlice, shares, units);
      if (fit !== undefined) {
        offer({ slices: fit, units });
        continue;
      }
      // Whether whole slices fit `units` takes an integer solve (3 ms to 0.3 s). Defer it: queue
      // the leaf, then the rest of the box. Smaller counts in the box cost less than its LP
      // optimum, so none is LP-feasible: the rest is the box minus the down-set of `units`, as G
      // disjoint boxes. Queued later at the same bound, they are searched first, and a plan of
      // equal cost found there makes the integer solve unnecessary.
      open.push({ lower: units, upper: units, bound, leaf: units });
      units.forEach((u, h) => {
        push({
          lower: replace(box.lower, h, u + 1),
          upper: box.upper.map((hi, k) => (k < h ? Math.min(hi, units[k] as number) : hi)),
          bound,
        });
      });
    }
  } finally {
    session.dispose();
  }

  const openBound = open.reduce((m, box) => Math.min(m, box.bound), dropped);
  if (best === undefined) {
    if (!timedOut) return { kind: 'infeasible' };
    return {
      kind: 'failed',
      reason: 'time-limit',
      message: `no plan found within the ${timeLimitSeconds} s solve budget`,
      lowerBound: openBound,
    };
  }
  return {
    kind: 'plan',
    allocation: best.allocation,
    cost: best.cost,
    lowerBound: openBound >= best.cost - tie(best.cost) ? best.cost : openBound,
    proven: !timedOut,
    runTimeSeconds: spent,
  };
}

type LpAnswer =
  | { kind: 'optimal'; values: number[]; counts: number[] }
  /** The time limit stopped the LP; `values`, when there are any, are feasible but prove nothing. */
  | { kind: 'limit'; values?: number[] }
  | { kind: 'infeasible' }
  | Extract<SearchOutcome, { kind: 'failed' }>;

/** A node's LP answer, not taken on trust: full length, inside the box, objective = its cost. */
function readLp(
  problem: Problem,
  model: MilpModel,
  yCol: readonly number[],
  box: Box,
  solution: MilpSolution,
): LpAnswer {
  switch (solution.status) {
    case 'infeasible':
      return { kind: 'infeasible' };
    case 'error':
      return solverError(solution);
    case 'no-solution':
      return { kind: 'limit' };
    case 'optimal':
    case 'feasible':
      break;
  }
  const values = solution.values;
  if (values?.length !== model.colNames.length) return shortAnswer(solution, model);
  if (solution.status === 'feasible') return { kind: 'limit', values };
  const counts = yCol.map((col) => values[col] ?? NaN);
  for (const [g, v] of counts.entries()) {
    const lo = box.lower[g] ?? 0;
    const hi = box.upper[g] ?? 0;
    const tol = WHOLE * Math.max(1, Math.abs(v));
    if (!(v >= lo - tol && v <= hi + tol)) {
      return {
        kind: 'failed',
        reason: 'error',
        message: `the solver's answer breaks the bounds it was given: ${v} units of ${problem.gpus[g]?.name} outside [${lo}, ${hi}]`,
      };
    }
  }
  const cost = model.colCost.reduce((s, c, col) => s + c * (values[col] ?? 0), 0);
  if (
    solution.objective !== undefined &&
    Math.abs(solution.objective - cost) > 1e-6 * Math.max(1, Math.abs(cost))
  ) {
    return {
      kind: 'failed',
      reason: 'check-failed',
      message: `solver objective ${solution.objective} differs from the cost of its solution ${cost}`,
    };
  }
  return { kind: 'optimal', values, counts };
}

function solverError(solution: MilpSolution): Extract<SearchOutcome, { kind: 'failed' }> {
  return { kind: 'failed', reason: 'error', message: `solver error: ${solution.detail ?? 'unknown'}` };
}

function shortAnswer(solution: MilpSolution, model: MilpModel): Extract<SearchOutcome, { kind: 'failed' }> {
  return {
    kind: 'failed',
    reason: 'error',
    message: `solver reported ${solution.status} but returned ${solution.values?.length ?? 0} values for ${model.colNames.length} columns`,
  };
}

/**
 * Index of the box with the lowest bound; among equals the newest, so the search dives towards a
 * leaf. A linear scan: open lists stay at tens to hundreds of boxes, each costing an LP solve.
 */
function cheapest(open: readonly Box[]): number {
  let k = 0;
  for (let i = 1; i < open.length; i++) if ((open[i] as Box).bound <= (open[k] as Box).bound) k = i;
  return k;
}

/** The count farthest from a whole number, or -1 when all are whole. */
function mostFractional(counts: readonly number[]): number {
  let pick = -1;
  let worst = WHOLE;
  counts.forEach((v, g) => {
    const off = Math.abs(v - Math.round(v));
    if (off > worst) {
      worst = off;
      pick = g;
    }
  });
  return pick;
}

function replace(values: readonly number[], at: number, value: number): number[] {
  const out = [...values];
  out[at] = value;
  return out;
}
