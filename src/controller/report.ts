/**
 * What a tick tells the outside world besides status: Kubernetes Events (one per scale and per
 * failure, with the HPA's and AIBrix's reasons) and the Prometheus series. Shared by the
 * controller and the daemon.
 */
import type { TickResult } from '../engine/engine.js';
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
