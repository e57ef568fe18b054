/**
 * What a tick tells the outside world besides status: Kubernetes Events (one per scale and per
 * failure, with the HPA's and AIBrix's reasons) and the Prometheus series. Shared by the
 * controller and the daemon.
 */
import type { TickResult } from '../engine/engine.js';
import type { GroupTickResult } from '../engine/model-group.js';
import type { ScaleTargetRef } from '../api/resolved.js';
import type { EventType } from '../k8s/events.js';
import type { AutoscalerMetrics } from './metrics.js';
import { stabilizationReason } from './status.js';

export interface TickEvent {
  type: EventType;
  reason: string;
  message: string;
}

export function tickEvents(result: TickResult, dryRun: boolean): TickEvent[] {
  const out: TickEvent[] = [];
  const d = result.decision;
  const err = result.error;
  if (err) {
    const reason =
      err.stage === 'get-scale'
        ? 'FailedGetScale'
        : err.stage === 'list-pods'
          ? 'FailedGetPods'
          : err.stage === 'decide'
            ? 'FailedComputeScale'
            : 'FailedRescale';
    const message =
      err.stage === 'write-scale' && d
        ? `New size: ${d.desiredReplicas}; reason: ${d.reason}; error: ${err.message}`
        : err.message;
    out.push({ type: 'Warning', reason, message });
  }
  if (result.scaled && d) {
    out.push({
      type: 'Normal',
      reason: 'SuccessfulRescale',
      message: `New size: ${d.desiredReplicas}; reason: ${d.reason}`,
    });
  } else if (dryRun && d && d.desiredReplicas !== result.currentReplicas && !err) {
    out.push({
      type: 'Normal',
      reason: 'DryRunRescale',
      message: `Would scale from ${result.currentReplicas} to ${d.desiredReplicas} (dry run, nothing written); reason: ${d.reason}`,
    });
  }
  if (
    d &&
    !err &&
    d.algorithm !== 'boundary-check' &&
    d.recommendedReplicas === undefined &&
    !/fallback/.test(d.reason)
  ) {
    const errors = d.metrics.flatMap((m) => m.errors).slice(0, 3);
    out.push({
      type: 'Warning',
      reason: 'FailedGetMetrics',
      message: `no metric could be computed, holding at ${result.currentReplicas}${errors.length ? `: ${errors.join('; ')}` : ''}`,
    });
  }
  return out;
}

/** A short, bounded code for `inferscale_decisions_total{reason}` (the free-text reason is in status). */
export function reasonCode(result: TickResult, dryRun: boolean): string {
  const d = result.decision;
  if (result.error) return `Failed:${result.error.stage}`;
  if (!d) return 'NoDecision';
  if (result.scaled) return 'SucceededRescale';
  if (d.algorithm === 'boundary-check') return 'BoundaryCheck';
  if (d.recommendedReplicas === undefined) return /fallback/.test(d.reason) ? 'Fallback' : 'FailedGetMetrics';
  const stab = stabilizationReason(d);
  if (stab) return stab;
  if (dryRun && d.desiredReplicas !== result.currentReplicas) return 'DryRun';
  return 'ReadyForNewScale';
}

export function recordTickMetrics(
  metrics: AutoscalerMetrics,
  namespace: string,
  name: string,
  result: TickResult,
  durationMs: number,
  dryRun: boolean,
): void {
  const pa = { namespace, name };
  const d = result.decision;
  if (d) {
    metrics.shared.recordDecision(
      pa,
      d.desiredReplicas,
      result.currentReplicas,
      reasonCode(result, dryRun),
      d.details.panicMode === true,
    );
  }
  metrics.shared.observeTick(durationMs / 1000, d !== undefined && result.error?.stage !== 'write-scale');
  if (result.scaled) metrics.scaleWrites.inc({ namespace, name, result: 'success' });
  else if (result.error?.stage === 'write-scale')
    metrics.scaleWrites.inc({ namespace, name, result: 'error' });
}

/** An event of a model-group tick; `target` is the Deployment it is about (none: the group). */
export interface GroupTickEvent extends TickEvent {
  target?: ScaleTargetRef;
}

/**
 * A model group's events: `Optimizer<Outcome>` once when the outcome turns into a non-plan one
 * (`lastProblem` is what the previous tick returned as `problem`), and one per Deployment written
 * or failed to write.
 */
export function groupTickEvents(
  result: GroupTickResult,
  lastProblem: string | undefined,
): { events: GroupTickEvent[]; problem: string | undefined } {
  const events: GroupTickEvent[] = [];
  const problem = result.outcome === 'plan' ? undefined : `optimizer:${result.outcome}`;
  if (problem !== undefined && lastProblem !== problem) {
    events.push({
      type: 'Warning',
      reason: `Optimizer${result.outcome.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())}`,
      message: result.message,
    });
  }
  for (const t of result.targets) {
    if (t.scaled) {
      events.push({
        type: 'Normal',
        reason: 'SuccessfulRescale',
        message: `${t.scaleTargetRef.kind}/${t.scaleTargetRef.name} (${t.gpu}): ${t.current} → ${t.desired}; ${t.reason}`,
        target: t.scaleTargetRef,
      });
    } else if (t.error?.stage === 'write-scale') {
      events.push({
        type: 'Warning',
        reason: 'FailedRescale',
        message: t.error.message,
        target: t.scaleTargetRef,
      });
    }
  }
  return { events, problem };
}

/**
 * `inferscale_decisions_total{reason}` for a model group: a failed write, a write, the reason there
 * is no plan (NoProfile, NoData, Infeasible, SolverFailed), an unreadable target, a dry-run change,
 * else ReadyForNewScale.
 */
export function groupReasonCode(result: GroupTickResult): string {
  const failed = (stage: string) => result.targets.some((t) => t.error?.stage === stage);
  if (failed('write-scale')) return 'Failed:write-scale';
  if (result.targets.some((t) => t.scaled)) return 'SucceededRescale';
  if (result.outcome !== 'plan') {
    return result.conditions.find((c) => c.type === 'Optimized')?.reason ?? result.outcome;
  }
  for (const stage of ['get-scale', 'list-pods', 'reactive']) if (failed(stage)) return `Failed:${stage}`;
  if (result.dryRun && result.targets.some((t) => t.desired !== t.current)) return 'DryRun';
  return 'ReadyForNewScale';
}

/** Replicas over the Deployments whose scale could be read (`known` of them). */
export function groupTotals(result: GroupTickResult): { current: number; desired: number; known: number } {
  const known = result.targets.filter((t) => t.current !== undefined);
  return {
    current: known.reduce((s, t) => s + t.current!, 0),
    desired: known.reduce((s, t) => s + (t.desired ?? t.current!), 0),
    known: known.length,
  };
}

/**
 * A model group's tick in the per-PodAutoscaler series: current and desired are the totals over
 * the Deployments whose scale could be read; every write (or failed write) counts.
 */
export function recordGroupTickMetrics(
  metrics: AutoscalerMetrics,
  namespace: string,
  name: string,
  result: GroupTickResult,
  durationMs: number,
): void {
  const { current, desired, known } = groupTotals(result);
  if (known > 0) {
    metrics.shared.recordDecision({ namespace, name }, desired, current, groupReasonCode(result), false);
  }
  const writeFailed = result.targets.filter((t) => t.error?.stage === 'write-scale').length;
  metrics.shared.observeTick(durationMs / 1000, known > 0 && writeFailed === 0);
  const written = result.targets.filter((t) => t.scaled).length;
  if (written > 0) metrics.scaleWrites.inc({ namespace, name, result: 'success' }, written);
  if (writeFailed > 0) metrics.scaleWrites.inc({ namespace, name, result: 'error' }, writeFailed);
}
