/**
 * Picks the algorithm for a PodAutoscaler's strategy and hands it that strategy's parameters, so
 * the pipeline treats KPA, APA and HPA alike.
 */
import type { AlgorithmInput, Recommendation } from '../../algorithms/types.js';
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import { kpa, apa, hpa } from '../../algorithms/index.js';

/** Opaque per-metric algorithm state; plain JSON so it can be persisted and rebuilt. */
export type RecommenderState = unknown;

export interface Recommender {
  readonly name: string;
  initialState(): RecommenderState;
  recommend(
    input: AlgorithmInput,
    pa: ResolvedPodAutoscaler,
    state: RecommenderState,
  ): { recommendation: Recommendation; state: RecommenderState };
}

function adapt<P, S>(
  algorithm: {
    name: string;
    initialState(): S;
    recommend(i: AlgorithmInput, p: P, s: S): { recommendation: Recommendation; state: S };
  },
  paramsOf: (pa: ResolvedPodAutoscaler) => P,
): Recommender {
  return {
    name: algorithm.name,
    initialState: () => algorithm.initialState(),
    recommend: (input, pa, state) => algorithm.recommend(input, paramsOf(pa), state as S),
  };
}

const byStrategy: Record<ResolvedPodAutoscaler['strategy'], Recommender | undefined> = {
  KPA: adapt(kpa, (pa) => pa.kpa),
  APA: adapt(apa, (pa) => pa.apa),
  HPA: adapt(hpa, (pa) => ({
    upTolerance: pa.behavior.scaleUp.tolerance,
    downTolerance: pa.behavior.scaleDown.tolerance,
  })),
  OPTIMIZER: undefined,
};

export function recommenderFor(pa: ResolvedPodAutoscaler): Recommender {
  const r = byStrategy[pa.strategy];
  if (!r) {
    throw new Error(
      `strategy ${pa.strategy} of ${pa.namespace}/${pa.name} is not handled by the per-target loop; it is driven by a model group`,
    );
  }
  return r;
}
