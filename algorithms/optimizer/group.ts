/**
 * A model group's per-Deployment decision, given the optimizer's answer and each Deployment's
 * reactive recommendation. Pure; the engine (src/engine/model-group.ts) does the I/O around it.
 *
 * The rule (docs/optimizer.md, "Model groups"):
 * 1. With a plan, each Deployment wants the plan's count; a reactive recommendation (KPA/APA/HPA on
 *    that Deployment's own pods, when configured) is a floor: `max(plan, reactive)`. The plan sizes
 *    for the load measured over a window and the profiles' idea of a replica; the floor catches
 *    what both miss (a burst inside the window, a profile that flatters the hardware). On a
 *    Deployment the plan sets to 0 the floor counts only while a planned Deployment's own floor
 *    is above its plan (or unknown), or nothing is planned.
 * 2. Without a plan (no profile, no data, infeasible, solver failure) nothing is lowered: each
 *    Deployment keeps its size, raised to its reactive recommendation if that is higher. The
 *    reason is a status condition, never a silent fall back to the minimum.
 * 3. A plan of zero replicas in total (no load in the window) keeps one replica of the GPU type
 *    that serves the most of the grid unless scale-to-zero is enabled: with no pod left there would
 *    be no histogram to see the load come back.
 * 4. Capacity is made before it is broken: while any Deployment is still growing (more wanted
 *    than exist, or pods starting), no Deployment shrinks.
 * 5. Then each Deployment's rate limits and bounds apply. Scale-down stabilisation is not applied
 *    per Deployment: `choosePlan` already applied it to the mix as a whole (a per-Deployment
 *    window would keep the old GPU type for a second window after the switch).
 *
 * `choosePlan` picks which plan that is (see there): moving load between GPU types costs cold
 * starts and, until the old pods drain, paying for both.
 */
import { applyBehavior, initialBehaviorState, type BehaviorState } from '../behavior.js';
import { clamp } from '../bounds.js';
import type { Behavior } from '../params.js';
import type { OptimizeResult } from './optimize.js';

type PlanResult = Extract<OptimizeResult, { kind: 'plan' }>;

/** Multiples of the load a forced move tries for room to grow, largest first. */
const ROOM_FACTORS = [2, 1.5, 1.25] as const;

export interface PlanChoiceInput {
  nowMs: number;
  /** The cheapest plan for the load now. */
  cheapest: PlanResult;
  /** The load now re-solved with every count fixed at its current value: a plan iff it still serves. */
  current?: OptimizeResult;
  /**
   * The cheapest plan for the window's envelope (every bucket at its peak over the scale-down
   * stabilisation window) with no count above its current value (only removes); absent until
   * the envelope covers a whole window.
   */
  subtractive?: OptimizeResult;
  /** The cheapest plan for the envelope, solved on demand; absent when the envelope is the load now. */
  peak?: () => OptimizeResult;
  /**
   * The cheapest plan for the load the trend reaches a window ahead, solved on demand; absent
   * unless the load grows beyond the envelope. A move forced by growth is sized for it.
   */
  ahead?: () => OptimizeResult;
  /**
   * The cheapest plan for `factor` × the load a forced move is sized for (`ahead`'s when given,
   * else the envelope's), solved on demand. A move takes the most room for growth that costs at
   * most `hysteresis` more than the move's own plan.
   */
  roomier?: (factor: number) => OptimizeResult;
  /** The cheapest plan for the envelope keeping every current replica (only adds). Consulted when `current` fails. */
  additive?: OptimizeResult;
  /** Tolerated extra cost of keeping or extending the current mix (0.1 = 10 %). */
  hysteresis: number;
  /** A cheaper mix must stay cheaper this long before the group moves (scale-down window). */
  windowMs: number;
  /** Since when a materially cheaper mix than the current one has been on offer. */
  cheaperSinceMs: number | undefined;
  /** The load fell by more than the headroom over the last window: it has not settled yet. */
  falling: boolean;
}

export interface PlanChoice {
  result: PlanResult;
  cheaperSinceMs: number | undefined;
  /** Why the chosen plan is not the cheapest, when it is not. */
  note?: string;
}

/**
 * Which plan the group follows:
 * - the current mix still serves the load: drop the replicas the window's envelope does not need
 *   (the subtractive plan: the scale-down stabilisation of the HPA, which keeps the highest
 *   recommendation of the window). Keep the mix while it costs at most `hysteresis` more than the
 *   cheapest for the load now, and otherwise until a cheaper mix has been on offer for `windowMs`
 *   and the load has stopped falling; then move to the cheapest mix for the envelope, if that is
 *   materially cheaper too. A mix sized for the trough of a noisy load would not serve its next
 *   peak; one chosen while the load still falls is outgrown by a subset of the current mix a
 *   moment later; and every move to another type costs cold starts and, until the old pods
 *   drain, paying for both;
 * - it does not (the load grew): the cheapest plan for the envelope that only adds replicas, if
 *   within `hysteresis` of the cheapest for the envelope. Else the group moves, and a move pays
 *   cold starts and, until the old pods are ready to go, both mixes: it is sized for where the
 *   trend of the load will be a window after the new replicas arrive (`ahead`), and takes the
 *   mix for up to twice that load when it costs within `hysteresis` more (`roomier`), so that
 *   a growing load does not force the next move a few minutes later. Growing is never delayed.
 */
export function choosePlan(input: PlanChoiceInput): PlanChoice {
  const { cheapest, current, subtractive, additive, hysteresis, nowMs } = input;
  const within = (r: PlanResult, than: PlanResult): boolean =>
    r.plan.costPerHour <= than.plan.costPerHour * (1 + hysteresis) + 1e-9;
  const mix = (r: PlanResult) =>
    r.plan.gpus
      .filter((g) => g.replicas > 0)
      .map((g) => `${g.replicas}×${g.gpu}`)
      .join(' + ') || 'nothing';
  const usd = (r: PlanResult) => `${r.plan.costPerHour.toFixed(3)}/h`;
  // The envelope's plan is one more solve: only when a move is due.
  const forPeak = (): PlanResult => {
    const peaked = input.peak?.();
    return peaked?.kind === 'plan' ? peaked : cheapest;
  };
  if (current?.kind === 'plan') {
    const kept =
      subtractive?.kind === 'plan' && subtractive.plan.costPerHour < current.plan.costPerHour - 1e-9
        ? subtractive
        : current;
    if (within(kept, cheapest)) return { result: kept, cheaperSinceMs: undefined };
    const since = input.cheaperSinceMs ?? nowMs;
    const waited = nowMs - since >= input.windowMs;
    const sized = waited && !input.falling ? forPeak() : undefined;
    if (sized !== undefined && !within(kept, sized)) return { result: sized, cheaperSinceMs: undefined };
    const cheaper = `${mix(cheapest)} would cost ${usd(cheapest)} instead of ${usd(kept)}`;
    return {
      result: kept,
      cheaperSinceMs: since,
      note:
        sized !== undefined
          ? `keeping the current mix: ${cheaper} for the load now, but the peak of the window needs ${mix(sized)} at ${usd(sized)}`
          : waited
            ? `keeping the current mix: ${cheaper}, but the load is still falling`
            : `keeping the current mix: ${cheaper}, and has for ${Math.round((nowMs - since) / 1000)} s of the ${Math.round(input.windowMs / 1000)} s window`,
    };
  }
  const sized = forPeak();
  if (additive?.kind === 'plan' && within(additive, sized)) {
    const cost = sized.plan.costPerHour;
    const extra = cost > 0 ? additive.plan.costPerHour / cost - 1 : 0;
    return {
      result: additive,
      cheaperSinceMs: undefined,
      ...(extra > 1e-9
        ? {
            note: `only adding to the current mix: ${(extra * 100).toFixed(1)} % above the cheapest (${mix(sized)}), within the ${(hysteresis * 100).toFixed(0)} % hysteresis`,
          }
        : {}),
    };
  }
  const far = input.ahead?.();
  const move = far?.kind === 'plan' ? far : sized;
  const notes =
    move === far
      ? [`sized for the trend a window ahead (${mix(sized)} at ${usd(sized)} would serve the load now)`]
      : [];
  // The move pays cold starts and an overlap whatever it moves to: a mix with room for more of a
  // growing load at about the same price is not moved away from again when the load grows on.
  let result = move;
  for (const factor of ROOM_FACTORS) {
    const r = input.roomier?.(factor);
    if (r?.kind === 'plan' && within(r, move)) {
      result = r;
      notes.push(
        `${mix(r)} at ${usd(r)} serves ${factor}× that load within the ${(hysteresis * 100).toFixed(0)} % hysteresis of ${mix(move)} at ${usd(move)}`,
      );
      break;
    }
  }
  return {
    result,
    cheaperSinceMs: undefined,
    ...(notes.length > 0 ? { note: `moving to ${mix(result)}: ${notes.join('; ')}` } : {}),
  };
}

export interface GroupTargetInput {
  /** GPU type: the plan's key. */
  gpu: string;
  /** `spec.replicas` now; `undefined` when the scale could not be read (the target is left alone). */
  current: number | undefined;
  minReplicas: number;
  maxReplicas: number;
  /** The reactive algorithm's recommendation for this Deployment, when it ran. */
  reactive?: number;
  /** Grid cells this type's profile can serve (for the keep-one rule); 0 without a profile. */
  servableCells: number;
  /** Price per replica-hour (plan's or profile's), for the keep-one tie-break. */
  costPerHour?: number;
  /** Pods created but not ready yet. */
  starting?: number;
}

export interface GroupTargetDecision {
  gpu: string;
  current: number | undefined;
  /** The plan's count, when there is a plan. */
  planned?: number;
  reactive?: number;
  /** Before behavior and bounds. */
  recommended: number | undefined;
  /** What to write; equals `current` when nothing should change. */
  desired: number | undefined;
  reason: string;
}

export interface GroupDecisionInput {
  nowMs: number;
  result: OptimizeResult;
  targets: readonly GroupTargetInput[];
  behavior: Behavior;
  scaleToZero: boolean;
  /** Per GPU type; missing entries start fresh. */
  behaviorStates: ReadonlyMap<string, BehaviorState>;
  /** Shadow mode: no scale event is recorded. */
  dryRun: boolean;
}

export interface GroupDecision {
  targets: GroupTargetDecision[];
  behaviorStates: Map<string, BehaviorState>;
}

export function decideGroup(input: GroupDecisionInput): GroupDecision {
  const { result } = input;
  const plan = result.kind === 'plan' ? result.plan : undefined;
  const planned = new Map(plan?.gpus.map((g) => [g.gpu, g.replicas]) ?? []);

  // 1–2: the recommendation before behavior. A floor on a Deployment the plan sets to 0 counts
  // only while the plan's own Deployments are short by their floors (or unknown, or there are
  // none): otherwise what reaches it is what a gateway spills or spreads to any pod that exists,
  // and the floor would keep a type the plan left alive for as long as a request arrives.
  const inPlan = input.targets.filter((t) => (planned.get(t.gpu) ?? 0) > 0);
  const planShort =
    inPlan.length === 0 ||
    inPlan.some((t) => t.reactive === undefined || t.reactive > (planned.get(t.gpu) ?? 0));
  const recs = input.targets.map((t): { rec: number | undefined; reason: string; planned?: number } => {
    if (t.current === undefined) return { rec: undefined, reason: 'scale unreadable; left alone' };
    const reactive = t.reactive;
    if (plan !== undefined) {
      const p = planned.get(t.gpu) ?? 0;
      if (reactive !== undefined && reactive > p) {
        if (p > 0 || planShort) {
          return { rec: reactive, planned: p, reason: `plan ${p}, raised to the reactive floor ${reactive}` };
        }
        return {
          rec: p,
          planned: p,
          reason: `plan ${p}; reactive floor ${reactive} not applied: the planned Deployments are within their own floors, so this one only gets overflow`,
        };
      }
      return { rec: p, planned: p, reason: `plan ${p}` };
    }
    if (reactive !== undefined && reactive > t.current) {
      return { rec: reactive, reason: `no plan (${result.kind}); reactive floor ${reactive}` };
    }
    return { rec: t.current, reason: `no plan (${result.kind}); holding ${t.current}` };
  });

  // 3: keep one replica when the plan empties the group.
  if (plan !== undefined && !input.scaleToZero) {
    const total = recs.reduce((s, r) => s + (r.rec ?? 0), 0);
    const unreadable = input.targets.some((t) => t.current === undefined);
    if (total === 0 && !unreadable) {
      const keeper = pickKeeper(input.targets);
      if (keeper >= 0) {
        const r = recs[keeper]!;
        r.rec = 1;
        r.reason = `${r.reason}; kept at 1: the group never goes to zero without scaleToZero`;
      }
    }
  }

  // 4: make before break.
  const growing = input.targets.some(
    (t, i) => t.current !== undefined && ((recs[i]!.rec ?? 0) > t.current || (t.starting ?? 0) > 0),
  );
  if (growing) {
    input.targets.forEach((t, i) => {
      const r = recs[i]!;
      if (t.current !== undefined && r.rec !== undefined && r.rec < t.current) {
        r.reason = `${r.reason}; held at ${t.current} until the new replicas are ready`;
        r.rec = t.current;
      }
    });
  }

  // 5: rate limits and bounds per target (stabilisation was applied to the plan).
  const behavior = {
    ...input.behavior,
    scaleDown: { ...input.behavior.scaleDown, stabilizationWindowSeconds: 0 },
  };
  const behaviorStates = new Map(input.behaviorStates);
  const targets = input.targets.map((t, i): GroupTargetDecision => {
    const r = recs[i]!;
    const base = {
      gpu: t.gpu,
      current: t.current,
      ...(r.planned !== undefined ? { planned: r.planned } : {}),
      ...(t.reactive !== undefined ? { reactive: t.reactive } : {}),
    };
    if (t.current === undefined || r.rec === undefined) {
      return { ...base, recommended: undefined, desired: undefined, reason: r.reason };
    }
    const bounds = { min: t.minReplicas, max: t.maxReplicas };
    const state = behaviorStates.get(t.gpu) ?? initialBehaviorState();
    const behaved = applyBehavior(
      {
        nowMs: input.nowMs,
        currentReplicas: t.current,
        recommendation: r.rec,
        behavior,
        bounds,
        recordEvent: !input.dryRun,
      },
      state,
    );
    behaviorStates.set(t.gpu, behaved.state);
    const desired = clamp(behaved.replicas, bounds);
    let reason = r.reason;
    if (behaved.replicas !== r.rec) reason = `${reason}; ${behaved.reason}`;
    if (desired !== behaved.replicas) reason = `${reason}; clamped to [${bounds.min}, ${bounds.max}]`;
    return { ...base, recommended: r.rec, desired, reason };
  });
  return { targets, behaviorStates };
}

/** The target that keeps the group alive: serves the most cells, then the cheapest, then the first. */
function pickKeeper(targets: readonly GroupTargetInput[]): number {
  let best = -1;
  targets.forEach((t, i) => {
    if (t.maxReplicas < 1 || t.servableCells === 0) return;
    const b = best >= 0 ? targets[best]! : undefined;
    if (
      b === undefined ||
      t.servableCells > b.servableCells ||
      (t.servableCells === b.servableCells && (t.costPerHour ?? Infinity) < (b.costPerHour ?? Infinity))
    ) {
      best = i;
    }
  });
  return best;
}
