/** Targets-file documents for the daemon's tests. */

/** An HPA PodAutoscaler on Deployment `target`: 1 pod at gpu_cache_usage_perc 0.9 wants 2. */
export const hpaTarget = (name: string, target: string, extra = '') => `
apiVersion: autoscaling.inferscale.dev/v1alpha1
kind: PodAutoscaler
metadata:
  name: ${name}${extra}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: ${target}}
  maxReplicas: 4
  scalingStrategy: HPA
  metricsSources:
    - {metricSourceType: pod, port: 8000, targetMetric: gpu_cache_usage_perc, targetValue: '0.5'}
`;
