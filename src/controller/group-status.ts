/**
 * The status of an OPTIMIZER PodAutoscaler after one model-group tick, as a pure function of the
 * previous status and the tick (src/engine/model-group.ts). Same conventions as status.ts: the
 * conditions keep `lastTransitionTime` while their status holds, carry `observedGeneration`, and
 * "no profile", "no data", "infeasible" and solver failures are conditions, never a silent
 * minimum.
 *
 * - `Optimized`, `ScalingActive`, `AbleToScale`, `ScalingLimited`: as the tick reports them;
 * - `optimizer`: the outcome, the mix per Deployment (current, planned, desired), its cost per
 *   hour and the load it was planned for;
 * - `actualScale` / `desiredScale`: totals over the Deployments; `targetsSummary` (the Targets
 *   column of `kubectl get`): the mix and its cost, e.g. `2×H100 + 1×A10G $8.90/h`;
 * - `scalingHistory`: one entry per tick that wrote (or would write, in dry run) any Deployment.
 */
import type { InferscaleStatus, OptimizerStatus, ScalingDecision } from '../api/schema.js';
import { INFERSCALE_MAX_SCALING_HISTORY } from '../api/defaults.js';
import type { GroupTickResult } from '../engine/model-group.js';
import { describeMix } from '../engine/model-group.js';
import { ConditionType, removeCondition, setCondition } from './status.js';
import { groupTotals } from './report.js';

const MAX_TEXT = 1024;

function clip(text: string, max = MAX_TEXT): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

export function computeGroupStatus(input: {
  generation?: number;
  nowMs: number;
  prev: InferscaleStatus | undefined;
  result: GroupTickResult;
}): InferscaleStatus {
  const { result, nowMs, generation } = input;
  const prev = input.prev ?? {};
  const nowIso = new Date(nowMs).toISOString();
  let conditions = removeCondition(prev.conditions ?? [], ConditionType.Conflict);
  conditions = setCondition(
    conditions,
    { type: ConditionType.ValidSpec, status: 'True', reason: 'AsExpected', message: '' },
    nowIso,
    generation,
  );
  for (const c of result.conditions) {
    conditions = setCondition(conditions, { ...c, message: clip(c.message, 2048) }, nowIso, generation);
  }

  const next: InferscaleStatus = { ...prev, conditions };
  if (generation !== undefined) next.observedGeneration = generation;
  const totals = groupTotals(result);
  next.actualScale = totals.current;
  next.desiredScale = totals.desired;

  const optimizer: OptimizerStatus = {
    ...(result.modelGroup ? { modelGroup: result.modelGroup } : {}),
    ...(result.model ? { model: result.model } : {}),
    outcome: result.outcome,
    message: clip(result.message),
    ...(result.outcome === 'plan'
      ? { lastPlanTime: nowIso }
      : prev.optimizer?.lastPlanTime
        ? { lastPlanTime: prev.optimizer.lastPlanTime }
        : {}),
    ...(result.costPerHour !== undefined ? { costPerHour: round(result.costPerHour, 4) } : {}),
    ...(result.currency ? { currency: result.currency } : {}),
    ...(result.plan ? { totalRps: round(result.plan.totalRps, 4) } : {}),
    targets: result.targets.map((t) => ({
      gpu: t.gpu,
      name: t.scaleTargetRef.name,
      ...(t.current !== undefined ? { current: t.current } : {}),
      ...(t.planned !== undefined ? { planned: t.planned } : {}),
      ...(t.desired !== undefined ? { desired: t.desired } : {}),
    })),
  };
  next.optimizer = optimizer;
  next.targetsSummary = clip(
    result.outcome === 'plan' ? describeMix(result.targets, result.currency) : `${result.outcome}: holding`,
    256,
  );

  const changed = result.targets.filter((t) => t.desired !== undefined && t.desired !== t.current);
  const wrote = result.targets.some((t) => t.scaled || t.error?.stage === 'write-scale');
  if (wrote || (result.dryRun && changed.length > 0)) {
    const failed = result.targets.filter((t) => t.error?.stage === 'write-scale');
    const entry: ScalingDecision = {
      timestamp: nowIso,
      previousScale: next.actualScale,
      newScale: next.desiredScale,
      reason: clip(
        changed
          .map((t) => `${t.scaleTargetRef.name} (${t.gpu}) ${t.current} → ${t.desired}: ${t.reason}`)
          .join('; '),
      ),
      success: failed.length === 0 && !result.dryRun,
      ...(failed.length > 0 ? { error: clip(failed.map((t) => t.error!.message).join('; ')) } : {}),
      algorithm: 'optimizer',
      ...(result.dryRun ? { dryRun: true } : {}),
    };
    next.scalingHistory = [...(prev.scalingHistory ?? []), entry].slice(-INFERSCALE_MAX_SCALING_HISTORY);
    if (result.targets.some((t) => t.scaled)) next.lastScaleTime = nowIso;
  }
  next.lastDecision = {
    time: nowIso,
    current: next.actualScale,
    desired: next.desiredScale,
    reason: clip(result.message),
    algorithm: 'optimizer',
    details: Object.fromEntries(result.targets.map((t) => [t.gpu, t.desired ?? t.current ?? null])),
  };
  return next;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
