/**
 * After a failover or restart, the new leader has no decision memory; AIBrix starts cold (W-19),
 * which lets a fresh leader scale down at once what the old one was holding up with its
 * stabilisation window. We rebuild the behavior state from what the old leader persisted:
 *
 * - `status.lastDecision.details` carries the stabilised window's extremes at that time
 *   (`upRecommendation`: the lowest recommendation in the scale-up window; `downRecommendation`:
 *   the highest in the scale-down window). Seeding both as recommendations at that time makes the
 *   new leader at least as conservative as the old one: they expire a little later than the
 *   originals would have, never earlier.
 * - `status.scalingHistory` entries are decisions the old leader took; their `newScale` joins the
 *   recommendations, and the successful writes become the scale events the rate policies count.
 *
 * When nothing usable is in status the state stays empty, as for a new PodAutoscaler.
 */
import type { BehaviorState, ScaleEvent, TimedRecommendation } from '../../algorithms/behavior.js';
import type { InferscaleStatus } from '../api/schema.js';
import type { Behavior } from '../api/resolved.js';

export function behaviorStateFromStatus(
  status: InferscaleStatus | undefined,
  behavior: Behavior,
  nowMs: number,
): BehaviorState | undefined {
  if (!status) return undefined;
  const windowMs =
    Math.max(behavior.scaleUp.stabilizationWindowSeconds, behavior.scaleDown.stabilizationWindowSeconds) *
    1000;
  const periodMs =
    Math.max(
      0,
      ...[...behavior.scaleUp.policies, ...behavior.scaleDown.policies].map((p) => p.periodSeconds),
    ) * 1000;
  const recommendations: TimedRecommendation[] = [];
  const scaleUpEvents: ScaleEvent[] = [];
  const scaleDownEvents: ScaleEvent[] = [];
  const recent = (atMs: number, spanMs: number) =>
    Number.isFinite(atMs) && atMs <= nowMs && nowMs - atMs <= spanMs;

  for (const h of status.scalingHistory ?? []) {
    const atMs = Date.parse(h.timestamp);
    if ((h as { dryRun?: boolean }).dryRun) continue;
    if (recent(atMs, windowMs)) recommendations.push({ atMs, replicas: h.newScale });
    if (h.success && recent(atMs, periodMs) && h.newScale !== h.previousScale) {
      const change = Math.abs(h.newScale - h.previousScale);
      (h.newScale > h.previousScale ? scaleUpEvents : scaleDownEvents).push({ atMs, change });
    }
  }

  const last = status.lastDecision;
  if (last) {
    const atMs = Date.parse(last.time);
    if (recent(atMs, windowMs)) {
      const up = numberOr(last.details?.upRecommendation);
      const down = numberOr(last.details?.downRecommendation);
      if (up !== undefined) recommendations.push({ atMs, replicas: up });
      if (down !== undefined) recommendations.push({ atMs, replicas: down });
      if (up === undefined && down === undefined) recommendations.push({ atMs, replicas: last.desired });
    }
  }

  if (recommendations.length === 0 && scaleUpEvents.length === 0 && scaleDownEvents.length === 0)
    return undefined;
  recommendations.sort((a, b) => a.atMs - b.atMs);
  return { recommendations, scaleUpEvents, scaleDownEvents };
}

function numberOr(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}
