/**
 * What the controller and the daemon build their scaling loops from alike: the option shapes they
 * share, the two engines (per target and model group), the Prometheus series, the guard that lets
 * only the leader write replicas, and the Lease elector.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Clock, MetricSource, PodSource, ScaleTarget } from '../engine/seams.js';
import { ScalingEngine } from '../engine/engine.js';
import { ModelGroupEngine } from '../engine/model-group.js';
import { HttpTokenHistogramSource, type TokenHistogramSource } from '../optimizer/token-scraper.js';
import { FileProfileSource, type ProfileSource } from '../optimizer/profile-source.js';
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
  /** OPTIMIZER model groups: where token histograms and profiles come from (tests replace them). */
  tokens?: TokenHistogramSource;
  profiles?: ProfileSource;
}

/** What a running controller or daemon offers alike. */
export interface ScalingLoopHandle {
  /** Caches synced (for the daemon: and the file loaded): ready to serve. */
  ready(): boolean;
  isLeader(): boolean;
  readonly engine: ScalingEngine;
  /** OPTIMIZER PodAutoscalers: one per model group (docs/optimizer.md, "Model groups"). */
  readonly modelGroups: ModelGroupEngine;
  readonly metrics: AutoscalerMetrics;
  stop(): Promise<void>;
}

export interface LoopEngines {
  engine: ScalingEngine;
  modelGroups: ModelGroupEngine;
  /** Releases what the engines opened themselves (the token scraper's connections). */
  close(): void;
}

/**
 * The per-target engine and the model-group engine over the same seams. Token histograms are
 * scraped over HTTP and profiles read from files (`spec.optimizer.profiles`, relative to the
 * working directory, re-read every minute) unless `tokens`/`profiles` replace them.
 */
export function loopEngines(o: {
  clock: Clock;
  pods: PodSource;
  scale: ScaleTarget;
  metrics: MetricSource;
  log: Logger;
  tokens?: TokenHistogramSource;
  profiles?: ProfileSource;
}): LoopEngines {
  const ownTokens = o.tokens === undefined ? new HttpTokenHistogramSource() : undefined;
  const seams = { clock: o.clock, pods: o.pods, scale: o.scale, metrics: o.metrics, log: o.log };
  return {
    engine: new ScalingEngine(seams),
    modelGroups: new ModelGroupEngine({
      ...seams,
      tokens: o.tokens ?? ownTokens!,
      profiles: o.profiles ?? new FileProfileSource(),
    }),
    close: () => ownTokens?.close(),
  };
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
