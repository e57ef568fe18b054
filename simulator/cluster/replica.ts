/**
 * The narrow contract between the virtual cluster and one simulated inference replica. The cluster
 * routes requests, moves virtual time forward and reads load and metrics; how a replica turns
 * requests into tokens (the vLLM engine model in simulator/model) stays behind this interface.
 * `model-adapter.ts` plugs the product's replica model in; tests may plug in simple doubles.
 */

/** One inference request of a trace, times in ms from the start of the trace. */
export interface SimRequest {
  /** Dense index 0..n-1 in arrival order; the cluster stores per-request results by it. */
  id: number;
  arrivalMs: number;
  inputTokens: number;
  outputTokens: number;
  /** Prefix-block identities (Mooncake traces), for prefix-cache modelling. */
  hashIds?: readonly number[];
}

/** A request that produced its last token. Times are absolute virtual ms, like `arrivalMs`. */
export interface Completion {
  id: number;
  /** When the first output token was produced. */
  firstTokenMs: number;
  /** When the last output token was produced. */
  finishMs: number;
  outputTokens: number;
  /** The replica refused the request (e.g. longer than the max model length); times = refusal time. */
  rejected?: string;
}

/** A view of an accumulated histogram: enough to read means and bucketed quantiles. */
export interface HistogramView {
  readonly sum: number;
  readonly count: number;
  /** Cumulative counts at each bound of `layout` (each must be one of the histogram's bounds). */
  cumulative(layout: readonly number[]): number[];
}

/**
 * What an autoscaling signal can be computed from, as of the replica's last engine step: the same
 * quantities its `/metrics` page shows, as numbers.
 */
export interface ReplicaSignals {
  running: number;
  waiting: number;
  /** 0..1 */
  kvUsage: number;
  /** Cumulative counters. */
  promptTokens: number;
  generationTokens: number;
  /** Finished requests, every finish reason. */
  requestsFinished: number;
  preemptions: number;
  prefixQueries: number;
  prefixHits: number;
  ttft: HistogramView;
  itl: HistogramView;
  e2e: HistogramView;
}

export interface SimReplica {
  /** Accepts a request at `nowMs`; it joins the replica's waiting queue. */
  enqueue(req: SimRequest, nowMs: number): void;
  /** When the replica next changes state on its own (end of its current step); undefined when idle. */
  nextEventTime(): number | undefined;
  /** Runs the replica up to `nowMs`, reporting every request that finishes by then. */
  advanceTo(nowMs: number, onComplete: (c: Completion) => void): void;
  /** Running/waiting/KV as of the last step: what a load-aware router reads. */
  kvUsage(): number;
  /** Everything a metric signal may need, as of the last step. */
  signals(): ReplicaSignals;
  /** The replica's `/metrics` page (vLLM V1 text format) as of its last step; `nowMs` is virtual. */
  renderMetrics(nowMs: number): string;
}

/** How new replicas come to be: one per pod that becomes ready. */
export interface ReplicaFactory {
  /** `startMs` is virtual ms from the trace start; `epochMs` anchors it to wall time for `/metrics`. */
  create(name: string, startMs: number): SimReplica;
  /** What runs on one replica, for the report. */
  readonly description: { gpu: string; model: string; tp: number };
  /** GPUs per replica (tensor parallel degree). */
  readonly gpusPerReplica: number;
  /** USD per replica-hour (all its GPUs). */
  readonly pricePerReplicaHour: number;
}
