/**
 * The resolved form of a PodAutoscaler: every default applied, annotations folded in, both API
 * groups (AIBrix's and ours) mapped onto one shape. The engine and the algorithms read only this;
 * `resolvePodAutoscaler` in src/api builds it from a raw object and reports every problem it finds.
 */
import { z } from 'zod';

export const ScaleTargetRefSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
});
export type ScaleTargetRef = z.infer<typeof ScaleTargetRefSchema>;

export const ResolvedMetricSourceSchema = z.object({
  /** Which fetcher reads it. AIBrix's `domain` is mapped to `external`. */
  type: z.enum(['pod', 'resource', 'custom', 'external', 'prometheus']),
  /** As written by the user (AIBrix name, raw `vllm:` name or canonical name). */
  targetMetric: z.string(),
  targetValue: z.number().positive(),
  /** AverageValue: per-pod target. Value: total target for a global value. Utilization: percent. */
  targetType: z.enum(['AverageValue', 'Value', 'Utilization']),
  protocol: z.enum(['http', 'https']),
  port: z.number().int().min(1).max(65535).optional(),
  path: z.string(),
  /** external: `host:port` or a URL of the endpoint serving the value. */
  endpoint: z.string().optional(),
  /** prometheus: the PromQL expression; `$namespace`, `$target` are substituted. */
  query: z.string().optional(),
  /** Pods serving several models: keep only series with this `model_name` label. */
  modelName: z.string().optional(),
});
export type ResolvedMetricSource = z.infer<typeof ResolvedMetricSourceSchema>;

export const ScalingPolicySchema = z.object({
  type: z.enum(['Pods', 'Percent']),
  value: z.number().int().positive(),
  periodSeconds: z.number().int().min(1).max(1800),
});
export type ScalingPolicy = z.infer<typeof ScalingPolicySchema>;

export const ScalingRulesSchema = z.object({
  stabilizationWindowSeconds: z.number().int().min(0).max(3600),
  selectPolicy: z.enum(['Max', 'Min', 'Disabled']),
  /** Empty: no rate limit in this direction (AIBrix KPA/APA objects, whose rates live in the algorithm). */
  policies: z.array(ScalingPolicySchema),
  /** Fractional tolerance (0.1 = 10 %) for this direction. */
  tolerance: z.number().min(0).max(1),
});
export type ScalingRules = z.infer<typeof ScalingRulesSchema>;

export const BehaviorSchema = z.object({ scaleUp: ScalingRulesSchema, scaleDown: ScalingRulesSchema });
export type Behavior = z.infer<typeof BehaviorSchema>;

export const ScheduleSchema = z.object({
  name: z.string(),
  timezone: z.string(),
  /** Lower-case three-letter names: sun..sat. Every day when the user gave none. */
  daysOfWeek: z.array(z.enum(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'])),
  /** Minutes after local midnight; start inclusive, end exclusive. */
  startMinute: z.number().int().min(0).max(1439),
  endMinute: z.number().int().min(1).max(1440),
  minReplicas: z.number().int().min(0).optional(),
  maxReplicas: z.number().int().min(1).optional(),
});
export type Schedule = z.infer<typeof ScheduleSchema>;

export const KpaParamsSchema = z.object({
  stableWindowSeconds: z.number().int().min(1).max(3600),
  panicWindowSeconds: z.number().int().min(1).max(3600),
  /** Ratio of panic-window desired pods to ready pods that enters panic (2.0 = 200 %). */
  panicThreshold: z.number().gt(1),
  maxScaleUpRate: z.number().gt(1),
  maxScaleDownRate: z.number().gt(1),
  upTolerance: z.number().min(0).max(1),
  downTolerance: z.number().min(0).max(1),
  /** Smallest non-zero scale (Knative's activation scale). */
  activationScale: z.number().int().min(1),
});
export type KpaParams = z.infer<typeof KpaParamsSchema>;

export const ApaParamsSchema = z.object({
  windowSeconds: z.number().int().min(1).max(3600),
  maxScaleUpRate: z.number().gt(1),
  maxScaleDownRate: z.number().gt(1),
  upTolerance: z.number().min(0).max(1),
  downTolerance: z.number().min(0).max(1),
});
export type ApaParams = z.infer<typeof ApaParamsSchema>;

export const ScaleToZeroSchema = z.object({
  enabled: z.boolean(),
  /** Idle this long (every metric at zero demand) before going to zero. */
  gracePeriodSeconds: z.number().int().min(0),
  /** Demand (in target-metric units) that wakes a target at zero; 0 means any demand. */
  activationThreshold: z.number().min(0),
});
export type ScaleToZero = z.infer<typeof ScaleToZeroSchema>;

export const FallbackSchema = z.object({
  /** After every metric has been missing this long, act on `replicas` (or hold when absent). */
  afterSeconds: z.number().int().min(1),
  replicas: z.number().int().min(0).optional(),
});
export type Fallback = z.infer<typeof FallbackSchema>;

/** One Deployment of an OPTIMIZER model group. */
export const ResolvedOptimizerTargetSchema = z.object({
  /** GPU type; matched to a profile's `gpu`. */
  gpu: z.string().min(1),
  scaleTargetRef: ScaleTargetRefSchema,
  /** Profile file for this GPU type; absent: looked up by (model, gpu) in `profiles`. */
  profile: z.string().optional(),
  minReplicas: z.number().int().min(0),
  /** 0 takes the GPU type out of the plan (unavailable). */
  maxReplicas: z.number().int().min(0),
  availableGpus: z.number().int().min(0).optional(),
  costPerHour: z.number().positive().optional(),
});
export type ResolvedOptimizerTarget = z.infer<typeof ResolvedOptimizerTargetSchema>;

export const ResolvedOptimizerSchema = z.object({
  modelGroup: z.string().optional(),
  /** Profile files or directories, in search order. */
  profiles: z.array(z.string()).optional(),
  /** Model name in the profiles; absent: the profiles must name one model only. */
  model: z.string().optional(),
  targets: z.array(ResolvedOptimizerTargetSchema).min(1),
  headroom: z.number().min(0).max(10),
  windowSeconds: z.number().int().min(1).max(3600),
  /** Growth is extrapolated this far ahead; 0 plans for the measured load only. */
  forecastSeconds: z.number().int().min(0).max(3600),
  sliceFactor: z.number().int().min(1).max(64),
  /** Tolerated extra cost of keeping (or only adding to) the current mix, as a fraction. */
  hysteresis: z.number().min(0).max(1),
  /** `floor`: a per-target reactive recommendation (from `metrics`) is a lower bound. */
  reactive: z.enum(['floor', 'off']),
  reactiveStrategy: z.enum(['KPA', 'APA', 'HPA']),
  /** Where the token histograms are scraped. */
  scrape: z.object({
    protocol: z.enum(['http', 'https']),
    port: z.number().int().min(1).max(65535),
    path: z.string(),
    modelName: z.string().optional(),
  }),
});
export type ResolvedOptimizer = z.infer<typeof ResolvedOptimizerSchema>;

export const ResolvedPodAutoscalerSchema = z.object({
  apiGroup: z.enum(['autoscaling.aibrix.ai', 'autoscaling.inferscale.dev']),
  namespace: z.string(),
  name: z.string(),
  generation: z.number().int().optional(),
  scaleTargetRef: ScaleTargetRefSchema,
  minReplicas: z.number().int().min(0),
  maxReplicas: z.number().int().min(1),
  strategy: z.enum(['KPA', 'APA', 'HPA', 'OPTIMIZER']),
  /** At least one, except with OPTIMIZER, where they only feed the optional reactive floor. */
  metrics: z.array(ResolvedMetricSourceSchema),
  kpa: KpaParamsSchema,
  apa: ApaParamsSchema,
  behavior: BehaviorSchema,
  schedules: z.array(ScheduleSchema),
  scaleToZero: ScaleToZeroSchema,
  fallback: FallbackSchema.optional(),
  /** How long a pod's last good reading may stand in for a failed scrape. */
  metricTtlSeconds: z.number().int().min(0),
  /** Decide and report, never write (shadow mode). */
  dryRun: z.boolean(),
  /** StormService role to scale (`subTargetSelector.roleName`); absent: the whole target. */
  roleName: z.string().min(1).optional(),
  /** StormService targets only: `storm-service-mode` annotation ("replica"; anything else is pool). */
  stormServiceMode: z.enum(['pool', 'replica']).optional(),
  /** OPTIMIZER strategy only: the model group's targets and planning settings. */
  optimizer: ResolvedOptimizerSchema.optional(),
});
export type ResolvedPodAutoscaler = z.infer<typeof ResolvedPodAutoscalerSchema>;
