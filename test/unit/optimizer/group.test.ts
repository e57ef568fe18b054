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
  const base = {
    nowMs: 1_000_000,
    hysteresis: 0.1,
    windowMs: 300_000,
    cheaperSinceMs: undefined,
    falling: false,
  };

  it('keeps the current mix while it costs at most the hysteresis more', () => {
    const c = choosePlan({ ...base, cheapest: plan({ H100: 1 }, 4), current: plan({ A10G: 4 }, 4.3) });
    expect(c.result.plan.costPerHour).toBe(4.3);
    expect(c.cheaperSinceMs).toBeUndefined();
  });

  it('moves to a materially cheaper mix only after it stayed cheaper for the window, sized for its peak', () => {
    const cheapest = plan({ A100: 1 }, 2.5); // for the load now
    const current = plan({ H100: 1 }, 4);
    const peakOfWindow = plan({ A100: 1, L4: 1 }, 3.3);
    let solved = 0;
    const peak = () => (solved++, peakOfWindow);
    let c = choosePlan({ ...base, cheapest, current, peak });
    expect(c.result).toBe(current);
    expect(c.cheaperSinceMs).toBe(base.nowMs);
    expect(c.note).toMatch(
      /keeping the current mix: 1×A100 would cost 2\.500\/h instead of 4\.000\/h, and has for 0 s/,
    );
    expect(solved).toBe(0); // the envelope is solved only when a move is due
    const later = { ...base, cheapest, current, cheaperSinceMs: c.cheaperSinceMs };
    c = choosePlan({ ...later, nowMs: base.nowMs + 299_000, peak });
    expect(c.result).toBe(current);
    // After the window: not the trough's mix (1 A100) but the one for the window's peak.
    c = choosePlan({ ...later, nowMs: base.nowMs + 300_000, peak });
    expect(c.result).toBe(peakOfWindow);
    expect(c.cheaperSinceMs).toBeUndefined();
    // Without an envelope (the load did not dip), the cheapest for the load now.
    c = choosePlan({ ...later, nowMs: base.nowMs + 300_000 });
    expect(c.result).toBe(cheapest);
  });

  it('keeps the current mix when the peak of the window needs about as much', () => {
    const current = plan({ H100: 1 }, 3.95);
    const c = choosePlan({
      ...base,
      cheapest: plan({ A100: 1 }, 2.5),
      current,
      peak: () => plan({ A100: 1, L4: 2 }, 4.1),
      cheaperSinceMs: base.nowMs - 600_000,
    });
    expect(c.result).toBe(current);
    expect(c.cheaperSinceMs).toBe(base.nowMs - 600_000);
    expect(c.note).toMatch(/but the peak of the window needs 1×A100 \+ 2×L4 at 4\.100\/h/);
  });

  it('does not move to another mix while the load is still falling', () => {
    const current = plan({ H100: 2 }, 7.9);
    const c = choosePlan({
      ...base,
      cheapest: plan({ H100: 1 }, 3.95),
      current,
      peak: () => plan({ A100: 1, H100: 1 }, 6.45),
      cheaperSinceMs: base.nowMs - 600_000,
      falling: true,
    });
    expect(c.result).toBe(current);
    expect(c.note).toMatch(/the load is still falling/);
  });

  it('drops replicas the peak of the window does not need at once: no hysteresis, no other type', () => {
    const current = plan({ L4: 1, H100: 2 }, 8.7);
    const subtractive = plan({ L4: 0, H100: 2 }, 7.9);
    let c = choosePlan({ ...base, cheapest: plan({ H100: 2 }, 7.9), current, subtractive });
    expect(c.result).toBe(subtractive); // 9 % cheaper: within the hysteresis, and still done
    // While falling, shrinking within the mix goes on; the move to another type waits.
    c = choosePlan({
      ...base,
      cheapest: plan({ H100: 1 }, 3.95),
      current,
      subtractive,
      peak: () => plan({ A100: 1, H100: 1 }, 6.45),
      cheaperSinceMs: base.nowMs - 600_000,
      falling: true,
    });
    expect(c.result).toBe(subtractive);
  });

  it('grows at once, sized for the peak of the window: only adding within the hysteresis, else the cheapest', () => {
    const cheapest = plan({ A100: 1, L4: 2 }, 4.1); // for the load now
    const infeasible: OptimizeResult = { kind: 'infeasible', reason: 'capacity', message: 'too small' };
    const peak = () => plan({ H100: 1 }, 3.95);
    let c = choosePlan({
      ...base,
      cheapest,
      current: infeasible,
      peak,
      additive: plan({ A100: 1, L4: 3 }, 4.9),
    });
    expect(c.result.plan.gpus).toEqual([expect.objectContaining({ gpu: 'H100', replicas: 1 })]);
    c = choosePlan({ ...base, cheapest, current: infeasible, peak, additive: plan({ A100: 1, L4: 2 }, 4.1) });
    expect(c.result.plan.costPerHour).toBe(4.1);
    expect(c.note).toMatch(/only adding to the current mix: 3\.8 % above the cheapest \(1×H100\)/);
    c = choosePlan({ ...base, cheapest, current: infeasible, additive: plan({ A100: 1, L4: 5 }, 5.7) });
    expect(c.result).toBe(cheapest);
  });

  it('sizes a move forced by growth for the trend a window ahead, not for the load now', () => {
    const infeasible: OptimizeResult = { kind: 'infeasible', reason: 'capacity', message: 'too small' };
    const cheapest = plan({ A100: 1, H100: 1 }, 6.45); // for the load now
    const ahead = plan({ H100: 2 }, 7.9); // for where the load will be
    let solved = 0;
    let c = choosePlan({
      ...base,
      cheapest,
      current: infeasible,
      additive: plan({ L4: 2, A10G: 1, H100: 1, A100: 1 }, 9.05),
      ahead: () => (solved++, ahead),
    });
    expect(c.result).toBe(ahead);
    expect(c.note).toMatch(
      /moving to 2×H100: sized for the trend a window ahead \(1×A100 \+ 1×H100 at 6\.450\/h/,
    );
    // Growing the current mix within the hysteresis needs no move, so nothing is solved ahead.
    solved = 0;
    c = choosePlan({
      ...base,
      cheapest,
      current: infeasible,
      additive: plan({ A100: 1, H100: 1 }, 6.45),
      ahead: () => (solved++, ahead),
    });
    expect(c.result.plan.costPerHour).toBe(6.45);
    expect(solved).toBe(0);
    // No plan for the load ahead (past the bounds): the load now decides.
    c = choosePlan({
      ...base,
      cheapest,
      current: infeasible,
      ahead: () => ({ kind: 'infeasible', reason: 'bounds', message: 'maxReplicas' }),
    });
    expect(c.result).toBe(cheapest);
  });

  it('a forced move takes the most room for growth that costs within the hysteresis', () => {
    const infeasible: OptimizeResult = { kind: 'infeasible', reason: 'capacity', message: 'too small' };
    const cheapest = plan({ A100: 2 }, 7.34); // for the load now
    const asked: number[] = [];
    const roomier = (factor: number): OptimizeResult => {
      asked.push(factor);
      return factor === 2 ? plan({ H100: 2 }, 15.03) : plan({ H100: 1 }, 7.52);
    };
    const c = choosePlan({ ...base, cheapest, current: infeasible, roomier });
    // Twice the load costs twice as much; 1.5× the load fits one H100 at 2.5 % more: taken.
    expect(asked).toEqual([2, 1.5]);
    expect(c.result.plan.gpus).toEqual([expect.objectContaining({ gpu: 'H100', replicas: 1 })]);
    expect(c.note).toMatch(/1×H100 at 7\.520\/h serves 1\.5× that load within the 10 % hysteresis of 2×A100/);
    // Nothing roomier within the hysteresis: the move's own plan.
    const tight = choosePlan({
      ...base,
      cheapest,
      current: infeasible,
      roomier: () => plan({ H100: 2 }, 15.03),
    });
    expect(tight.result).toBe(cheapest);
    expect(tight.note).toBeUndefined();
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

  it('a floor keeps a Deployment the plan left only while the planned ones are short by their own floors', () => {
    const switched = plan({ A100: 0, L4: 0, H100: 1 }, 3.95);
    // The H100 is ready and within its floor: what still reaches the A100 and L4 is overflow.
    let d = run(switched, [
      target('A100', 2, { reactive: 2 }),
      target('L4', 1, { reactive: 1 }),
      target('H100', 1, { reactive: 1 }),
    ]);
    expect(d.targets.map((t) => t.desired)).toEqual([0, 0, 1]);
    expect(d.targets[0]?.reason).toMatch(
      /reactive floor 2 not applied: the planned Deployments are within their own floors/,
    );
    // A burst the window missed: the H100's own floor is above its plan, so every floor counts.
    d = run(switched, [
      target('A100', 2, { reactive: 2 }),
      target('L4', 1, { reactive: 1 }),
      target('H100', 1, { reactive: 2 }),
    ]);
    expect(d.targets.map((t) => t.recommended)).toEqual([2, 1, 2]);
    // The planned Deployment's floor is unknown (its metrics failed): nothing is dropped on trust.
    d = run(switched, [target('A100', 2, { reactive: 2 }), target('H100', 1)]);
    expect(d.targets.map((t) => t.recommended)).toEqual([2, 1]);
    // Nothing planned at all: the floors are all there is.
    d = run(plan({ A100: 0, H100: 0 }, 0), [target('A100', 2, { reactive: 2 }), target('H100', 0)]);
    expect(d.targets.map((t) => t.desired)).toEqual([2, 0]);
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
