/**
 * The four seams of the scaling loop. Production plugs in Kubernetes and HTTP adapters, the
 * simulator plugs in virtual ones, tests plug in in-memory ones; the decision path between them
 * is the same code.
 */
import type { MetricSample } from '../../algorithms/types.js';
import type { ResolvedMetricSource, ScaleTargetRef } from '../api/resolved.js';

export interface Clock {
  /** Milliseconds since the Unix epoch (virtual in the simulator). */
  now(): number;
}

export interface PodInfo {
  name: string;
  namespace: string;
  /** Pod IP; absent while Pending. */
  ip?: string;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  /** The Ready condition is True. */
  ready: boolean;
  /** `metadata.deletionTimestamp` is set: draining, never counted. */
  terminating: boolean;
  labels: Record<string, string>;
  createdAtMs?: number;
}

export interface PodSource {
  /** Pods in `namespace` matching a label selector in Kubernetes string form (`a=b,c in (d)`). */
  list(namespace: string, selector: string): Promise<PodInfo[]>;
}

export interface ScaleState {
  /** `spec.replicas` of the scale subresource. */
  replicas: number;
  /** `status.selector` of the scale subresource, string form. */
  selector: string;
  /** `status.replicas`, when the target reports it. */
  statusReplicas?: number;
  resourceVersion?: string;
}

export interface ScaleTarget {
  get(namespace: string, ref: ScaleTargetRef): Promise<ScaleState>;
  /** Writes `spec.replicas`; implementations retry conflicts themselves. */
  set(namespace: string, ref: ScaleTargetRef, replicas: number): Promise<void>;
}

export interface MetricRequest {
  /** `namespace/name` of the PodAutoscaler, for logs and per-PA caches. */
  owner: { namespace: string; name: string };
  source: ResolvedMetricSource;
  /** Ready, Running, non-terminating pods of the current selector (pod sources scrape these). */
  pods: readonly PodInfo[];
  nowMs: number;
  /** Deadline for this read, ms since epoch; reads past it count as failed. */
  deadlineMs: number;
  /** The PodAutoscaler's scale target: `$target` in a Prometheus query is its name. */
  target?: ScaleTargetRef;
}

export interface MetricReading {
  /** `undefined` when the source produced nothing usable at all. */
  sample: MetricSample | undefined;
  /** One entry per failure (per pod or for the whole source): what failed and why. */
  errors: string[];
}

export interface MetricSource {
  read(request: MetricRequest): Promise<MetricReading>;
}
