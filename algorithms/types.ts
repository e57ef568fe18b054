/**
 * Contracts shared by every pure decision function in `algorithms/`.
 *
 * The scaling engine (src/engine) turns what it scraped into these shapes, calls an algorithm, and
 * carries the returned state to the next tick. Nothing here knows about HTTP, Kubernetes or the
 * wall clock: time arrives as `nowMs` (milliseconds since the Unix epoch).
 */

/** One pod's reading of one metric at one tick. `value === undefined` means unknown, never zero. */
export interface PodSample {
  pod: string;
  /** Ready and Running: its value is demand already being served. */
  ready: boolean;
  value: number | undefined;
}

/**
 * What one metric source observed at one tick.
 * - `pods`: per-pod values (pod, resource, custom sources). Not-ready pods may be listed with
 *   `ready: false`; algorithms must not let them pull averages down.
 * - `global`: one value for the whole scale target (external endpoint, Prometheus query).
 */
export type MetricSample =
  { scope: 'pods'; pods: readonly PodSample[] } | { scope: 'global'; value: number | undefined };

/** How the target value relates to the sample (HPA v2 vocabulary). */
export type TargetType = 'AverageValue' | 'Value' | 'Utilization';

export interface ReplicaBounds {
  min: number;
  max: number;
}

/** Everything an algorithm sees at one tick for one metric. */
export interface AlgorithmInput {
  nowMs: number;
  /** The scale target's `spec.replicas`: what has been asked for, ready or not. */
  currentReplicas: number;
  /** Pods of the target that are Running and Ready. */
  readyPods: number;
  /**
   * Pods that exist but are not ready yet (starting, loading weights). They are capacity that is
   * coming: an algorithm must not scale up again for demand these pods will serve (AIBrix #2670).
   */
  startingPods: number;
  metric: string;
  /** Per-pod target for AverageValue/Utilization, total target for Value. Always > 0. */
  target: number;
  targetType: TargetType;
  /** `undefined` when nothing usable arrived this tick (every read failed or was stale). */
  sample: MetricSample | undefined;
  bounds: ReplicaBounds;
}

/** Values that explain a decision: printed by `inferscale decide`, kept in status history. */
export type DecisionDetails = Record<string, number | boolean | string | null>;

export interface Recommendation {
  /**
   * Replicas this metric asks for, before stabilisation and before the final bounds clamp.
   * `undefined` when the algorithm cannot recommend (no data at all): the engine then holds.
   */
  replicas: number | undefined;
  reason: string;
  details: DecisionDetails;
}

/** A pure recommender: same inputs and state give the same output, always. */
export interface ScalingAlgorithm<Params, State> {
  readonly name: string;
  initialState(): State;
  recommend(
    input: AlgorithmInput,
    params: Params,
    state: State,
  ): { recommendation: Recommendation; state: State };
}
