/**
 * Several metrics, one recommendation: Kubernetes' computeReplicasForMetrics.
 *
 * The largest recommendation wins (the first in spec order on ties). A metric that could not be
 * computed (replicas `undefined`) blocks a scale-down: if any metric is invalid and the others
 * would shrink the target, nothing happens this tick. Scale-ups still go ahead. AIBrix instead
 * drops failed sources silently and takes the max of the rest (W-25).
 */
import type { DecisionDetails, Recommendation } from './types.js';

export interface MetricRecommendation {
  metric: string;
  recommendation: Recommendation;
}

export function combineMetrics(
  recs: readonly MetricRecommendation[],
  currentReplicas: number,
): Recommendation {
  let best: MetricRecommendation | undefined;
  const invalid: MetricRecommendation[] = [];
  for (const rec of recs) {
    const replicas = rec.recommendation.replicas;
    if (replicas === undefined) {
      invalid.push(rec);
      continue;
    }
    if (best === undefined || replicas > (best.recommendation.replicas as number)) best = rec;
  }
  const details: DecisionDetails = {
    metrics: recs.length,
    invalidMetrics: invalid.length,
    winningMetric: best?.metric ?? null,
  };
  const firstInvalid = invalid[0];
  if (best === undefined) {
    return {
      replicas: undefined,
      reason:
        recs.length === 0
          ? 'no metrics to evaluate'
          : `all ${recs.length} metric(s) invalid; first: ${firstInvalid?.metric}: ${firstInvalid?.recommendation.reason}`,
      details,
    };
  }
  const replicas = best.recommendation.replicas as number;
  if (firstInvalid !== undefined && replicas < currentReplicas) {
    return {
      replicas: undefined,
      reason:
        `${invalid.length} of ${recs.length} metric(s) invalid and the rest would scale down to ${replicas}: ` +
        `not scaling down (${firstInvalid.metric}: ${firstInvalid.recommendation.reason})`,
      details: { ...details, wouldBe: replicas },
    };
  }
  return {
    replicas,
    reason: recs.length === 1 ? best.recommendation.reason : `${best.metric}: ${best.recommendation.reason}`,
    details: { ...best.recommendation.details, ...details },
  };
}
