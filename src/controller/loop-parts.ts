/**
 * What the controller and the daemon build their scaling loops from alike: the option shapes they
 * share, the Prometheus series, the guard that lets only the leader write replicas, and the Lease
 * elector.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Clock, MetricSource, ScaleTarget } from '../engine/seams.js';
import type { ScalingEngine } from '../engine/engine.js';
import type { Logger } from '../observability/log.js';
import { InferscaleMetrics } from '../observability/metrics.js';
import type { KubeClients } from '../k8s/client.js';
import { LeaderElector, kubeLeaseClient } from '../k8s/leader.js';
import { AutoscalerMetrics } from './metrics.js';

export const realClock: Clock = { now: () => Date.now() };

export interface LeaderElectionOptions {
  /** Namespace of the Lease (the process's own namespace). */
  namespace: string;
  /** Lease name. Default `inferscale-controller` (controller) or `inferscale-daemon` (daemon). */
  name?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/** Informer tuning (tests shorten these). */
export interface InformerTuning {
  relistIntervalMs?: number;
  watchdogMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
}

/** Reads the PodAutoscalers' metrics (the src/metrics dispatcher in production). */
export type LoopMetricSource = MetricSource & { forget?(owner: { namespace: string; name: string }): void };

/** What the controller and the daemon are configured with alike. */
export interface ScalingLoopOptions {
  /** A loaded KubeConfig, or where to load one from. */
  kubeConfig?: k8s.KubeConfig;
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
  /** Tick period per PodAutoscaler. Default 15 s. */
  periodMs?: number;
  /** Shadow mode for every PodAutoscaler: decide, report, never write replicas. */
  dryRun?: boolean;
  /** How replicas are written (see scale-target.ts). Default `update`. */
  scaleWriteMode?: 'update' | 'patch';
  /** Reads the PodAutoscalers' metrics (the src/metrics dispatcher in production). */
  metrics: LoopMetricSource;
  /** Replaces the /scale adapter (tests wrap it to inject faults). */
  scaleTarget?: ScaleTarget;
  log?: Logger;
  /** Where the Prometheus series go (the health server serves its registry). Default: a new one. */
  metricsRegistry?: InferscaleMetrics;
  /** PodAutoscalers ticking at once. Default 8. */
  concurrency?: number;
  /** Server-side label selector for the pod informer. */
  podLabelSelector?: string;
  /** Record Kubernetes Events (the daemon's go to the scale targets). Default true. */
  events?: boolean;
  clock?: Clock;
  informer?: InformerTuning;
}

/** What a running controller or daemon offers alike. */
export interface ScalingLoopHandle {
  /** Caches synced (for the daemon: and the file loaded): ready to serve. */
  ready(): boolean;
  isLeader(): boolean;
  readonly engine: ScalingEngine;
  readonly metrics: AutoscalerMetrics;
  stop(): Promise<void>;
}

/** The loop's series, in `registry` (the health server serves it) or in a new registry. */
export function autoscalerMetrics(registry: InferscaleMetrics | undefined): AutoscalerMetrics {
  return new AutoscalerMetrics(registry ?? new InferscaleMetrics({ defaultMetrics: false }));
}

/**
 * `scale` whose writes fail unless `leading()`: a tick that was already running when leadership
 * was lost cannot write.
 */
export function leaderOnlyWrites(
  scale: ScaleTarget,
  leading: () => boolean,
  notLeader: () => Error,
): ScaleTarget {
  return {
    get: (ns, ref) => scale.get(ns, ref),
    set: (ns, ref, replicas) => (leading() ? scale.set(ns, ref, replicas) : Promise.reject(notLeader())),
  };
}

export interface LeaseElectorHooks {
  /** The Lease name when `le.name` is not given. */
  defaultName: string;
  identity: string;
  log: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: (reason: string) => Promise<void>;
}

export function leaseElector(
  clients: KubeClients,
  le: LeaderElectionOptions,
  h: LeaseElectorHooks,
): LeaderElector {
  return new LeaderElector({
    leases: kubeLeaseClient(clients.coordination),
    namespace: le.namespace,
    name: le.name ?? h.defaultName,
    identity: h.identity,
    leaseDurationMs: le.leaseDurationMs,
    renewDeadlineMs: le.renewDeadlineMs,
    retryPeriodMs: le.retryPeriodMs,
    log: h.log,
    onStartedLeading: h.onStartedLeading,
    onStoppedLeading: h.onStoppedLeading,
  });
}
