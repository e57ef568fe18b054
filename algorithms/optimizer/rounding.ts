/**
 * From an LP's fractional shares to whole slices, without a solver. Both functions are heuristics:
 * `undefined` means "not found this way", never "impossible". Branch and bound calls them at every
 * node, so they work on a precomputed table and stay allocation-light.
 */
import type { Allocation } from './milp.js';
import { sliceLoad, slicesPerBucket, type Problem } from './problem.js';

/** Relative excess load a type may carry: LP round-off, ten times inside the post-solve check's 1e-6. */
const SLACK = 1e-7;
/** Backtracking steps `fitSlices` may take before it leaves the case to the solver. */
const FIT_STEPS = 2000;

/** `[b][g]`: capacity units one slice of bucket b takes on type g; NaN where g cannot serve b. */
export function unitsPerSlice(problem: Problem): number[][] {
  const F = problem.options.unitsPerReplica;
  return problem.buckets.map((_, b) => problem.gpus.map((_g, g) => (sliceLoad(problem, b, g) ?? NaN) * F));
}

/**
 * Rounds every bucket's shares to whole slices by largest remainder, then buys the units the
 * rounded loads need. A plan whenever the caps allow it; its cost bounds the optimum from above.
 */
export function roundedPlan(
  problem: Problem,
  perSlice: readonly (readonly number[])[],
  shares: readonly (readonly number[])[],
): Allocation | undefined {
  const S = slicesPerBucket(problem.options);
  const G = problem.gpus.length;
  const need = new Array<number>(G).fill(0);
  const slices: number[][] = [];
  for (let b = 0; b < perSlice.length; b++) {
    const cost = perSlice[b] as readonly number[];
    const row = shares[b] ?? [];
    const whole = new Array<number>(G).fill(0);
    let missing = S;
    for (let g = 0; g < G; g++) {
      if (Number.isNaN(cost[g])) continue;
      whole[g] = Math.floor(Math.max(0, row[g] ?? 0) + 1e-9);
      missing -= whole[g] as number;
    }
    if (missing < 0) return undefined;
    // One slice at a time to the largest remainder left; `missing` is at most the split count.
    for (; missing > 0; missing--) {
      let pick = -1;
      let most = -Infinity;
      for (let g = 0; g < G; g++) {
        if (Number.isNaN(cost[g])) continue;
        const rest = (row[g] ?? 0) - (whole[g] as number);
        if (rest > most) {
          most = rest;
          pick = g;
        }
      }
      if (pick < 0) return undefined;
      whole[pick] = (whole[pick] as number) + 1;
    }
    for (let g = 0; g < G; g++)
      if (whole[g]) need[g] = (need[g] as number) + (whole[g] as number) * (cost[g] as number);
    slices.push(whole);
  }
  const F = problem.options.unitsPerReplica;
  const units = problem.gpus.map((gpu, g) => {
    const n = need[g] as number;
    return Math.max(gpu.minReplicas * F, Math.ceil(n - SLACK * Math.max(1, n)));
  });
  if (units.some((u, g) => u > (problem.gpus[g]?.maxReplicas ?? 0) * F)) return undefined;
  return { slices, units };
}

/**
 * Whole slices that fit `units`, by a bounded depth-first search that places slices biggest first
 * and tries each bucket's types in the LP's order of preference. First only the few buckets the LP
 * split are placed (a basic solution splits at most one per capacity row), the rest kept where the
 * LP put them; when that fails, every bucket is placed again, which finds most of the rest (with
 * whole buckets it halved the integer solves on the benchmark).
 */
export function fitSlices(
  problem: Problem,
  perSlice: readonly (readonly number[])[],
  shares: readonly (readonly number[])[],
  units: readonly number[],
): number[][] | undefined {
  return place(problem, perSlice, shares, units, false) ?? place(problem, perSlice, shares, units, true);
}

function place(
  problem: Problem,
  perSlice: readonly (readonly number[])[],
  shares: readonly (readonly number[])[],
  units: readonly number[],
  everything: boolean,
): number[][] | undefined {
  const S = slicesPerBucket(problem.options);
  const G = problem.gpus.length;
  const room = units.map((u) => u + SLACK * Math.max(1, u));
  const slices = perSlice.map(() => new Array<number>(G).fill(0));
  const split: number[] = [];
  for (let b = 0; b < perSlice.length; b++) {
    const row = shares[b] ?? [];
    if (everything || !row.every((x) => Math.abs(x - Math.round(x)) <= 1e-6)) {
      split.push(b);
      continue;
    }
    for (let g = 0; g < G; g++) {
      const n = Math.round(row[g] ?? 0);
      const cost = perSlice[b]?.[g] ?? NaN;
      if (n <= 0 || Number.isNaN(cost)) continue;
      (slices[b] as number[])[g] = n;
      room[g] = (room[g] as number) - n * cost;
    }
  }
  if (room.some((r) => r < 0)) return undefined;

  const types = (b: number): number[] => {
    const row = shares[b] ?? [];
    return problem.gpus
      .map((_g, g) => g)
      .filter((g) => !Number.isNaN(perSlice[b]?.[g]))
      .sort((a, c) => (row[c] ?? 0) - (row[a] ?? 0) || a - c);
  };
  const order = new Map(split.map((b) => [b, types(b)] as const));
  const smallest = new Map(
    split.map(
      (b) => [b, Math.min(...(order.get(b) ?? []).map((g) => perSlice[b]?.[g] ?? Infinity))] as const,
    ),
  );
  const size = (b: number): number => smallest.get(b) ?? Infinity;
  const items = split.flatMap((b) => new Array<number>(S).fill(b));
  items.sort((a, c) => size(c) - size(a) || a - c);
  let steps = 0;
  const next = (i: number, minRank: number): boolean => {
    if (i === items.length) return true;
    if (++steps > FIT_STEPS) return false;
    const b = items[i] as number;
    const ranked = order.get(b) ?? [];
    // A bucket's slices are interchangeable: placing them in non-decreasing type rank visits each
    // multiset of types once.
    for (let rank = i > 0 && items[i - 1] === b ? minRank : 0; rank < ranked.length; rank++) {
      const g = ranked[rank] as number;
      const cost = perSlice[b]?.[g] ?? Infinity;
      if ((room[g] as number) < cost) continue;
      room[g] = (room[g] as number) - cost;
      (slices[b] as number[])[g] = ((slices[b] as number[])[g] as number) + 1;
      if (next(i + 1, rank)) return true;
      room[g] = (room[g] as number) + cost;
      (slices[b] as number[])[g] = ((slices[b] as number[])[g] as number) - 1;
    }
    return false;
  };
  return next(0, 0) ? slices : undefined;
}
