/** The model group's pure decisions: which plan to follow, and each Deployment's count. */
import { describe, expect, it } from 'vitest';
import { choosePlan, decideGroup, type GroupTargetInput } from '../../../algorithms/optimizer/group.js';
import type { OptimizeResult, Plan } from '../../../algorithms/optimizer/optimize.js';
import { DEFAULT_BEHAVIOR } from '../../../algorithms/behavior.js';

type PlanResult = Extract<OptimizeResult, { kind: 'plan' }>;

function plan(counts: Record<string, number>, cost: number): PlanResult {
  const p: Plan = {
    costPerHour: cost,
    proven: true,
    lowerBound: cost,
    gap: 0,
    totalRps: 1,
    gpus: Object.entries(counts).map(([gpu, replicas]) => ({
      gpu,
      replicas,
      units: replicas,
      costPerHour: 0,
      load: 0,
      utilisation: null,
      minReplicas: 0,
      maxReplicas: null,
    })),
    buckets: [],
    solverRunTimeSeconds: 0,
  };
  return { kind: 'plan', plan: p, unprofiled: [], notes: [] };
}

const target = (
  gpu: string,
  current: number | undefined,
  extra: Partial<GroupTargetInput> = {},
): GroupTargetInput => ({
  gpu,
  current,
  minReplicas: 0,
  maxReplicas: 10,
  servableCells: 4,
  ...extra,
});

describe('choosePlan', () => {
  const base = { nowMs: 1_000_000, hysteresis: 0.1, windowMs: 300_000, cheaperSinceMs: undefined };

  it('keeps the current mix while it costs at most the hysteresis more', () => {
    const c = choosePlan({ ...base, cheapest: plan({ H100: 1 }, 4), current: plan({ A10G: 4 }, 4.3) });
    expect(c.result.plan.costPerHour).toBe(4.3);
    expect(c.cheaperSinceMs).toBeUndefined();
  });

  it('moves to a materially cheaper mix only after it stayed cheaper for the window', () => {
    const cheapest = plan({ H100: 1 }, 4);
    const current = plan({ A10G: 6 }, 6);
    let c = choosePlan({ ...base, cheapest, current });
    expect(c.result).toBe(current);
    expect(c.cheaperSinceMs).toBe(base.nowMs);
    expect(c.note).toMatch(/keeping the current mix: 1×H100 would cost 4\.000\/h instead of 6\.000\/h/);
    c = choosePlan({
      ...base,
      nowMs: base.nowMs + 299_000,
      cheapest,
      current,
      cheaperSinceMs: c.cheaperSinceMs,
    });
    expect(c.result).toBe(current);
    c = choosePlan({
      ...base,
      nowMs: base.nowMs + 300_000,
      cheapest,
      current,
      cheaperSinceMs: c.cheaperSinceMs,
    });
    expect(c.result).toBe(cheapest);
    expect(c.cheaperSinceMs).toBeUndefined();
  });

  it('grows at once: only adding within the hysteresis, else the cheapest', () => {
    const cheapest = plan({ H100: 1 }, 4);
    const infeasible: OptimizeResult = { kind: 'infeasible', reason: 'capacity', message: 'too small' };
    let c = choosePlan({ ...base, cheapest, current: infeasible, additive: plan({ A10G: 2, H100: 1 }, 4.4) });
    expect(c.result.plan.costPerHour).toBe(4.4);
    expect(c.note).toMatch(/only adding to the current mix: 10\.0 %/);
    c = choosePlan({ ...base, cheapest, current: infeasible, additive: plan({ A10G: 6 }, 6) });
    expect(c.result).toBe(cheapest);
  });
});

describe('decideGroup', () => {
  const run = (
    result: OptimizeResult,
    targets: GroupTargetInput[],
    extra: { scaleToZero?: boolean; dryRun?: boolean } = {},
  ) =>
    decideGroup({
      nowMs: 0,
      result,
      targets,
      behavior: DEFAULT_BEHAVIOR,
      scaleToZero: extra.scaleToZero ?? false,
      behaviorStates: new Map(),
      dryRun: extra.dryRun ?? false,
    });

  it('follows the plan; the reactive recommendation is a floor, never a ceiling', () => {
    const d = run(plan({ A10G: 3, H100: 1 }, 7), [
      target('A10G', 3, { reactive: 5 }),
      target('H100', 1, { reactive: 0 }),
    ]);
    expect(d.targets.map((t) => [t.planned, t.reactive, t.desired])).toEqual([
      [3, 5, 5],
      [1, 0, 1],
    ]);
    expect(d.targets[0]?.reason).toMatch(/raised to the reactive floor 5/);
  });

  it('without a plan nothing shrinks: hold, or rise to the reactive floor', () => {
    const noData: OptimizeResult = { kind: 'no-data', message: 'no pod had histograms' };
    const d = run(noData, [
      target('A10G', 4, { reactive: 2 }),
      target('H100', 1, { reactive: 3 }),
      target('L4', 2),
    ]);
    expect(d.targets.map((t) => t.desired)).toEqual([4, 3, 2]);
    expect(d.targets[0]?.reason).toMatch(/no plan \(no-data\); holding 4/);
  });

  it('keeps one replica of the type serving the most cells (then the cheapest) when the plan is empty', () => {
    const empty = plan({ A10G: 0, H100: 0, L4: 0 }, 0);
    const targets = [
      target('A10G', 1, { servableCells: 4, costPerHour: 1 }),
      target('H100', 1, { servableCells: 6, costPerHour: 4 }),
      target('L4', 0, { servableCells: 6, costPerHour: 0.8 }),
    ];
    // No pod is starting, and H100 drops while L4 grows: make-before-break holds the others first.
    let d = run(empty, targets);
    expect(d.targets.map((t) => t.recommended)).toEqual([1, 1, 1]);
    d = run(empty, [targets[0]!, targets[1]!, { ...targets[2]!, current: 1 }]);
    expect(d.targets.map((t) => t.desired)).toEqual([0, 0, 1]);
    expect(run(empty, targets, { scaleToZero: true }).targets.map((t) => t.desired)).toEqual([0, 0, 0]);
  });

  it('makes capacity before breaking it: no Deployment shrinks while another grows or starts', () => {
    const switchPlan = plan({ A10G: 0, H100: 1 }, 4);
    let d = run(switchPlan, [target('A10G', 6), target('H100', 0)]);
    expect(d.targets.map((t) => t.desired)).toEqual([6, 1]);
    d = run(switchPlan, [target('A10G', 6), target('H100', 1, { starting: 1 })]);
    expect(d.targets.map((t) => t.desired)).toEqual([6, 1]);
    d = run(switchPlan, [target('A10G', 6), target('H100', 1)]);
    expect(d.targets.map((t) => t.desired)).toEqual([0, 1]);
  });

  it('applies bounds and rate limits per Deployment, and leaves an unreadable one alone', () => {
    const d = run(plan({ A10G: 30, H100: 2 }, 34), [
      target('A10G', 2, { maxReplicas: 20 }),
      target('H100', undefined),
    ]);
    // Kubernetes' default scale-up policy: +4 pods or +100 % per 15 s, whichever is more → 6.
    expect(d.targets[0]).toMatchObject({ recommended: 30, desired: 6 });
    expect(d.targets[1]).toMatchObject({ current: undefined, desired: undefined });
  });
});
