/** API groups, defaults and limits shared by the schemas, the validator and the resolver. */
import { DEFAULT_BEHAVIOR } from '../../algorithms/behavior.js';

export const AIBRIX_GROUP = 'autoscaling.aibrix.ai';
export const INFERSCALE_GROUP = 'autoscaling.inferscale.dev';
export const VERSION = 'v1alpha1';
export const AIBRIX_API_VERSION = `${AIBRIX_GROUP}/${VERSION}` as const;
export const INFERSCALE_API_VERSION = `${INFERSCALE_GROUP}/${VERSION}` as const;
export type ApiGroup = typeof AIBRIX_GROUP | typeof INFERSCALE_GROUP;

/** Every default applied by `resolvePodAutoscaler`, in one place (documented in docs/api.md). */
export const DEFAULTS = {
  minReplicas: 1,
  /** AIBrix `metrics/client.go:28-29`. */
  observeWindowSeconds: 180,
  panicWindowSeconds: 60,
  /** AIBrix `context.go:106-118`. */
  maxScaleUpRate: 2,
  maxScaleDownRate: 2,
  tolerance: 0.1,
  panicThreshold: 2,
  activationScale: 1,
  scaleUpCooldownSeconds: 0,
  scaleDownCooldownSeconds: 300,
  protocol: 'http',
  path: '/metrics',
  timezone: 'UTC',
  metricTtlSeconds: 30,
  /** Knative's is 30 s; a model server takes minutes to come back, so we wait longer. */
  scaleToZeroGracePeriodSeconds: 300,
  fallbackAfterSeconds: 120,
  /** OPTIMIZER strategy (docs/optimizer.md, "Model groups"). */
  optimizer: {
    /** Mélange's remedy for Poisson bursts: plan for 10 % more than the measured rate. */
    headroom: 0.1,
    /** Token histograms are differenced over this window to estimate the load. */
    windowSeconds: 120,
    /** While the load grows, plan for its trend this far ahead (a cold start plus half a window). */
    forecastSeconds: 180,
    sliceFactor: 4,
    /** Keep the current mix (or only add to it) while it costs at most 10 % more than the cheapest. */
    hysteresis: 0.1,
    reactive: 'floor',
    reactiveStrategy: 'KPA',
    profiles: ['config/profiles'],
    port: 8000,
  },
  /** Kubernetes HPA v2 defaults, owned by the behavior algorithm. */
  behavior: DEFAULT_BEHAVIOR,
} as const;

export const MAX_WINDOW_SECONDS = 3600;
/** AIBrix's CRD bound and controller constant. */
export const AIBRIX_MAX_SCALING_HISTORY = 5;
export const INFERSCALE_MAX_SCALING_HISTORY = 10;
/** Bounds that keep the CRD's CEL rules within the apiserver's cost budget. */
export const MAX_METRICS_SOURCES = 16;
export const MAX_SCHEDULES = 32;
export const MAX_OPTIMIZER_TARGETS = 16;
/**
 * `status.decisionState.data` (the failover snapshot of the decision state): a bound on what one
 * PodAutoscaler adds to every status write (src/controller/decision-state.ts).
 */
export const MAX_DECISION_STATE_BYTES = 16_384;
