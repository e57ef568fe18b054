/**
 * Properties every recommender must keep, checked on generated inputs:
 * - bounds: after behavior normalisation the size is inside [min, max];
 * - monotonicity: from the same state and size, more load never gives fewer replicas;
 * - missing data: a tick without a sample never recommends fewer than the current replicas.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apaAlgorithm } from '../../../algorithms/apa.js';
import {
  DEFAULT_BEHAVIOR,
  initialBehaviorState,
  normalizeWithBehavior,
} from '../../../algorithms/behavior.js';
import { clampReplicas } from '../../../algorithms/bounds.js';
import { hpaAlgorithm, type HpaParams } from '../../../algorithms/hpa.js';
import { kpaAlgorithm } from '../../../algorithms/kpa.js';
import type { ApaParams, Behavior, KpaParams } from '../../../algorithms/params.js';
import type { AlgorithmInput, MetricSample, Recommendation, TargetType } from '../../../algorithms/types.js';
import { SEC, T0 } from './helpers.js';

const RUNS = { numRuns: 300 };

const ratio = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

const kpaParams: fc.Arbitrary<KpaParams> = fc
  .record({
    stableWindowSeconds: fc.integer({ min: 10, max: 300 }),
    panicFraction: ratio(0.05, 1),
    panicThreshold: ratio(1.1, 5),
    maxScaleUpRate: ratio(1.1, 10),
    maxScaleDownRate: ratio(1.1, 10),
    upTolerance: ratio(0, 0.5),
    downTolerance: ratio(0, 0.5),
    activationScale: fc.integer({ min: 1, max: 3 }),
  })
  .map(({ panicFraction, ...p }) => ({
    ...p,
    panicWindowSeconds: Math.max(1, Math.round(p.stableWindowSeconds * panicFraction)),
  }));

const apaParams: fc.Arbitrary<ApaParams> = fc.record({
  windowSeconds: fc.integer({ min: 10, max: 300 }),
  maxScaleUpRate: ratio(1.1, 10),
  maxScaleDownRate: ratio(1.1, 10),
  upTolerance: ratio(0, 0.5),
  downTolerance: ratio(0, 0.5),
});

const hpaParams: fc.Arbitrary<HpaParams> = fc.record({
  upTolerance: ratio(0, 0.5),
  downTolerance: ratio(0, 0.5),
});

interface Scenario {
  current: number;
  ready: number;
  target: number;
  targetType: TargetType;
  global: boolean;
  /** Per ready pod (or one global value); `undefined` = failed read. */
  values: (number | undefined)[];
  /** Extra load per entry, for the monotonicity pair. */
  extra: number[];
  history: (number | undefined)[][];
  min: number;
  max: number;
}

const value = fc.option(ratio(0, 200), { nil: undefined, freq: 8 });

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    current: fc.integer({ min: 0, max: 20 }),
    readyFraction: ratio(0, 1),
    target: ratio(0.1, 100),
    global: fc.boolean(),
    targetType: fc.constantFrom<TargetType>('AverageValue', 'Utilization', 'Value'),
    seed: fc.array(value, { minLength: 20, maxLength: 20 }),
    extraSeed: fc.array(ratio(0, 100), { minLength: 20, maxLength: 20 }),
    historySeed: fc.array(fc.array(value, { minLength: 20, maxLength: 20 }), { maxLength: 4 }),
    minSeed: fc.integer({ min: 0, max: 20 }),
    span: fc.integer({ min: 0, max: 20 }),
  })
  .map((s) => {
    const ready = Math.round(s.current * s.readyFraction);
    const n = s.global ? 1 : ready;
    // Per-pod samples use per-pod target types; Value is for global samples here.
    const targetType: TargetType = !s.global && s.targetType === 'Value' ? 'AverageValue' : s.targetType;
    const min = Math.min(s.minSeed, s.current);
    const max = Math.max(1, min, s.current, s.current + s.span - 10);
    return {
      current: s.current,
      ready,
      target: s.target,
      targetType,
      global: s.global,
      values: s.seed.slice(0, n),
      extra: s.extraSeed.slice(0, n),
      history: s.historySeed.map((h) => h.slice(0, n)),
      min,
      max,
    };
  });

function input(
  s: Scenario,
  values: readonly (number | undefined)[] | undefined,
  nowMs: number,
): AlgorithmInput {
  let sample: MetricSample | undefined;
  if (values !== undefined) {
    sample = s.global
      ? { scope: 'global', value: values[0] }
      : { scope: 'pods', pods: values.map((v, i) => ({ pod: `p${i}`, ready: true, value: v })) };
  }
  return {
    nowMs,
    currentReplicas: s.current,
    readyPods: s.ready,
    startingPods: s.current - s.ready,
    metric: 'm',
    target: s.target,
    targetType: s.targetType,
    sample,
    bounds: { min: s.min, max: s.max },
  };
}

interface Subject<P> {
  name: string;
  params: fc.Arbitrary<P>;
  /** Runs the history, then returns the recommendation for `values` at T0. */
  decide(s: Scenario, p: P, values: readonly (number | undefined)[] | undefined): Recommendation;
}

function subject<P, S>(
  algo: {
    initialState(): S;
    recommend(i: AlgorithmInput, p: P, s: S): { recommendation: Recommendation; state: S };
  },
  name: string,
  params: fc.Arbitrary<P>,
): Subject<P> {
  return {
    name,
    params,
    decide(s, p, values) {
      let state = algo.initialState();
      s.history.forEach((h, k) => {
        state = algo.recommend(input(s, h, T0 - (s.history.length - k) * 7 * SEC), p, state).state;
      });
      return algo.recommend(input(s, values, T0), p, state).recommendation;
    },
  };
}

const subjects = [
  subject(kpaAlgorithm, 'kpa', kpaParams),
  subject(apaAlgorithm, 'apa', apaParams),
  subject(hpaAlgorithm, 'hpa', hpaParams),
] as const;

const behaviorArb: fc.Arbitrary<Behavior> = fc
  .record({
    upWindow: fc.integer({ min: 0, max: 600 }),
    downWindow: fc.integer({ min: 0, max: 600 }),
    upPods: fc.integer({ min: 1, max: 10 }),
    downPercent: fc.integer({ min: 1, max: 100 }),
    select: fc.constantFrom<'Max' | 'Min' | 'Disabled'>('Max', 'Min', 'Disabled'),
  })
  .map((b) => ({
    scaleUp: {
      ...DEFAULT_BEHAVIOR.scaleUp,
      stabilizationWindowSeconds: b.upWindow,
      selectPolicy: b.select,
      policies: [
        { type: 'Pods' as const, value: b.upPods, periodSeconds: 15 },
        { type: 'Percent' as const, value: 100, periodSeconds: 60 },
      ],
    },
    scaleDown: {
      ...DEFAULT_BEHAVIOR.scaleDown,
      stabilizationWindowSeconds: b.downWindow,
      policies: [{ type: 'Percent' as const, value: b.downPercent, periodSeconds: 60 }],
    },
  }));

describe.each(subjects)('$name properties', (sub) => {
  it('after behavior normalisation the size is within bounds', () => {
    fc.assert(
      fc.property(scenario, sub.params as fc.Arbitrary<never>, behaviorArb, (s, p, behavior) => {
        const r = sub.decide(s, p, s.values);
        if (r.replicas === undefined) return;
        expect(Number.isInteger(r.replicas)).toBe(true);
        expect(r.replicas).toBeGreaterThanOrEqual(0);
        const n = normalizeWithBehavior({
          nowMs: T0,
          currentReplicas: s.current,
          desiredReplicas: r.replicas,
          bounds: { min: s.min, max: s.max },
          behavior,
          state: initialBehaviorState(),
        });
        // The current size is inside the bounds here, so normalisation alone keeps it inside.
        expect(n.replicas).toBeGreaterThanOrEqual(s.min);
        expect(n.replicas).toBeLessThanOrEqual(s.max);
        const final = clampReplicas(n.replicas, { min: s.min, max: s.max });
        expect(final).toBe(n.replicas);
      }),
      RUNS,
    );
  });

  it('more load from the same state never gives fewer replicas', () => {
    fc.assert(
      fc.property(scenario, sub.params as fc.Arbitrary<never>, (s, p) => {
        const more = s.values.map((v, i) => (v === undefined ? undefined : v + (s.extra[i] ?? 0)));
        const low = sub.decide(s, p, s.values);
        const high = sub.decide(s, p, more);
        if (low.replicas === undefined || high.replicas === undefined) return;
        expect(high.replicas).toBeGreaterThanOrEqual(low.replicas);
      }),
      RUNS,
    );
  });

  it('a tick without a sample never recommends fewer than the current replicas', () => {
    fc.assert(
      fc.property(scenario, sub.params as fc.Arbitrary<never>, (s, p) => {
        const r = sub.decide(s, p, undefined);
        if (r.replicas !== undefined) expect(r.replicas).toBeGreaterThanOrEqual(s.current);
      }),
      RUNS,
    );
  });
});
