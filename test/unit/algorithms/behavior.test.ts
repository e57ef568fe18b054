/**
 * Cases from Kubernetes' horizontal_test.go (TestScalingWithRules, TestNormalizeDesiredReplicas-
 * WithBehavior, TestCalculateScale{Up,Down}Limit…, TestStoreScaleEvents), restated with explicit
 * timestamps, plus AIBrix's stabilisation sequences S1–S4 (§2.6.3) next to our results.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BEHAVIOR,
  aibrixStabilize,
  applyBehavior,
  applyRateLimits,
  initialBehaviorState,
  normalizeWithBehavior,
  recordScaleEvent,
  scaleDownLimit,
  scaleUpLimit,
  stabilizeRecommendation,
  type BehaviorState,
  type ScaleEvent,
  type TimedRecommendation,
} from '../../../algorithms/behavior.js';
import type { Behavior, ScalingRules } from '../../../algorithms/params.js';
import { SEC, T0 } from './helpers.js';

const NOW = T0;

/** Kubernetes' generateScalingRules(pods, podsPeriod, percent, percentPeriod, window), Max policy. */
function rules(
  pods: number,
  podsPeriod: number,
  percent: number,
  percentPeriod: number,
  window: number,
): ScalingRules {
  const policies: ScalingRules['policies'] = [];
  if (pods !== 0) policies.push({ type: 'Pods', value: pods, periodSeconds: podsPeriod });
  if (percent !== 0) policies.push({ type: 'Percent', value: percent, periodSeconds: percentPeriod });
  return { stabilizationWindowSeconds: window, selectPolicy: 'Max', policies, tolerance: 0.1 };
}

/** The default behavior with the given stabilization windows (seconds). */
function stabilizationWindows(upWindow: number, downWindow: number): Behavior {
  return {
    scaleUp: { ...DEFAULT_BEHAVIOR.scaleUp, stabilizationWindowSeconds: upWindow },
    scaleDown: { ...DEFAULT_BEHAVIOR.scaleDown, stabilizationWindowSeconds: downWindow },
  };
}

/** Kubernetes' generateEventsUniformDistribution: events centred in equal segments of the period. */
function uniformEvents(changes: readonly number[], periodSeconds: number): ScaleEvent[] {
  const segment = periodSeconds / changes.length;
  return changes.map((change, i) => ({
    change,
    atMs: NOW - (periodSeconds - segment * (i + 1) + segment / 2) * SEC,
  }));
}

describe('applyRateLimits: TestScalingWithRules', () => {
  interface Case {
    name: string;
    up?: ScalingRules;
    down?: ScalingRules;
    upEvents?: ScaleEvent[];
    downEvents?: ScaleEvent[];
    min: number;
    max: number;
    current: number;
    desired: number;
    expected: number;
    reason: string;
  }
  const cases: Case[] = [
    {
      name: 'prenormalized desired replicas within range',
      current: 5,
      desired: 7,
      min: 3,
      max: 8,
      expected: 7,
      reason: 'DesiredWithinRange',
    },
    {
      name: 'prenormalized desired replicas < minReplicas',
      current: 3,
      desired: 1,
      min: 2,
      max: 8,
      expected: 2,
      reason: 'TooFewReplicas',
    },
    {
      name: 'within range when minReplicas is 0',
      current: 1,
      desired: 0,
      min: 0,
      max: 10,
      expected: 0,
      reason: 'DesiredWithinRange',
    },
    {
      name: 'maxReplicas is the limit because maxReplicas < scaleUpLimit',
      current: 20,
      desired: 1000,
      min: 1,
      max: 10,
      expected: 10,
      reason: 'TooManyReplicas',
    },
    {
      name: 'desired replica count is more than the maximum replica count',
      current: 100,
      desired: 1000,
      min: 100,
      max: 150,
      expected: 150,
      reason: 'TooManyReplicas',
    },
    {
      name: 'scaleUpLimit < maxReplicas with user policies',
      up: rules(0, 0, 1, 60, 0),
      current: 3,
      desired: 1000,
      min: 1,
      max: 2000,
      expected: 4,
      reason: 'ScaleUpLimit',
    },
    {
      name: 'scaleDownLimit > minReplicas with user policies',
      down: rules(20, 60, 0, 0, 0),
      current: 1000,
      desired: 3,
      min: 3,
      max: 2000,
      expected: 980,
      reason: 'ScaleDownLimit',
    },
    {
      name: 'scaleUp with default behavior',
      current: 10,
      desired: 50,
      min: 1,
      max: 1000,
      expected: 20,
      reason: 'ScaleUpLimit',
    },
    {
      name: 'scaleUp with pods policy larger than percent policy',
      up: rules(100, 60, 100, 60, 0),
      current: 10,
      desired: 500,
      min: 1,
      max: 1000,
      expected: 110,
      reason: 'ScaleUpLimit',
    },
    {
      name: 'scaleUp with percent policy larger than pods policy',
      up: rules(2, 60, 100, 60, 0),
      current: 10,
      desired: 500,
      min: 1,
      max: 1000,
      expected: 20,
      reason: 'ScaleUpLimit',
    },
    {
      name: 'scaleUp with spec MaxReplicas limitation with large pod policy',
      up: rules(100, 60, 0, 0, 0),
      current: 10,
      desired: 50,
      min: 1,
      max: 1000,
      expected: 50,
      reason: 'DesiredWithinRange',
    },
    {
      name: 'scaleUp with spec MaxReplicas limitation with large percent policy',
      up: rules(10000, 60, 0, 0, 0),
      current: 10,
      desired: 50,
      min: 1,
      max: 1000,
      expected: 50,
      reason: 'DesiredWithinRange',
    },
    {
      name: 'scaleUp with pod policy limitation',
      up: rules(30, 60, 0, 0, 0),
      current: 10,
      desired: 50,
      min: 1,
      max: 1000,
      expected: 40,
      reason: 'ScaleUpLimit',
    },
    {
      name: 'scaleUp with percent policy limitation',
      up: rules(0, 0, 200, 60, 0),
      current: 10,
      desired: 50,
      min: 1,
      max: 1000,
      expected: 30,
      reason: 'ScaleUpLimit',
    },
    {
      name: 'scaleDown with percent policy larger than pod policy',
      down: rules(20, 60, 1, 60, 300),
      current: 100,
      desired: 2,
      min: 1,
      max: 1000,
      expected: 80,
      reason: 'ScaleDownLimit',
    },
    {
      name: 'scaleDown with pod policy larger than percent policy',
      down: rules(2, 60, 1, 60, 300),
      current: 100,
      desired: 2,
      min: 1,
      max: 1000,
      expected: 98,
      reason: 'ScaleDownLimit',
    },
    {
      name: 'scaleDown with spec MinReplicas limitation with large pod policy',
      down: rules(100, 60, 0, 0, 300),
      current: 10,
      desired: 0,
      min: 1,
      max: 1000,
      expected: 1,
      reason: 'TooFewReplicas',
    },
    {
      name: 'scaleDown with spec MinReplicas limitation with large percent policy',
      down: rules(0, 0, 100, 60, 300),
      current: 10,
      desired: 2,
      min: 5,
      max: 1000,
      expected: 5,
      reason: 'TooFewReplicas',
    },
    {
      name: 'scaleDown with pod policy limitation',
      down: rules(5, 60, 0, 0, 300),
      current: 10,
      desired: 2,
      min: 1,
      max: 1000,
      expected: 5,
      reason: 'ScaleDownLimit',
    },
    {
      name: 'scaleDown with percent policy limitation',
      down: rules(0, 0, 50, 60, 300),
      current: 10,
      desired: 5,
      min: 1,
      max: 1000,
      expected: 5,
      reason: 'DesiredWithinRange',
    },
    {
      name: 'scaleUp with spec MaxReplicas limitation with large pod policy and events',
      upEvents: uniformEvents([1, 5, 9], 120),
      up: rules(300, 60, 0, 0, 0),
      current: 100,
      desired: 500,
      min: 1,
      max: 200,
      expected: 200,
      reason: 'TooManyReplicas',
    },
    {
      name: 'scaleUp with spec MaxReplicas limitation with large percent policy and events',
      upEvents: uniformEvents([1, 5, 9], 120),
      up: rules(0, 0, 10000, 60, 0),
      current: 100,
      desired: 500,
      min: 1,
      max: 200,
      expected: 200,
      reason: 'TooManyReplicas',
    },
    {
      name: 'scaleUp with currentReplicas limitation with a lot of recent scale up events',
      upEvents: uniformEvents([1, 5, 9], 120),
      up: rules(5, 120, 0, 0, 0),
      current: 100,
      desired: 500,
      min: 1,
      max: 1000,
      expected: 100,
      reason: 'ScaleUpLimit',
    },
    {
      name: 'scaleUp with pod policy and previous scale up events',
      upEvents: uniformEvents([1, 5, 9], 120),
      up: rules(150, 120, 0, 0, 0),
      current: 100,
      desired: 500,
      min: 1,
      max: 1000,
      expected: 235,
      reason: 'ScaleUpLimit',
    },
    {
      name: 'scaleUp with percent policy and previous scale up events',
      upEvents: uniformEvents([1, 5, 9], 120),
      up: rules(0, 0, 200, 120, 0),
      current: 100,
      desired: 500,
      min: 1,
      max: 1000,
      expected: 255,
      reason: 'ScaleUpLimit',
    },
    {
      name: 'scaleDown with default policy and previous events',
      downEvents: uniformEvents([1, 5, 9], 120),
      current: 10,
      desired: 5,
      min: 1,
      max: 1000,
      expected: 5,
      reason: 'DesiredWithinRange',
    },
    {
      name: 'scaleDown with MinReplicas limitation with large pod policy and previous events',
      downEvents: uniformEvents([1, 5, 9], 120),
      down: rules(115, 120, 0, 0, 300),
      current: 100,
      desired: 0,
      min: 1,
      max: 1000,
      expected: 1,
      reason: 'TooFewReplicas',
    },
    {
      name: 'scaleDown with spec MinReplicas limitation with large pod policy and previous events',
      downEvents: uniformEvents([1, 5, 9], 120),
      down: rules(130, 120, 0, 0, 300),
      current: 100,
      desired: 0,
      min: 5,
      max: 1000,
      expected: 5,
      reason: 'TooFewReplicas',
    },
    {
      name: 'scaleDown with spec MinReplicas limitation with large percent policy and previous events',
      downEvents: uniformEvents([1, 5, 9], 120),
      down: rules(0, 0, 100, 120, 300),
      current: 100,
      desired: 2,
      min: 5,
      max: 1000,
      expected: 5,
      reason: 'TooFewReplicas',
    },
    {
      name: 'scaleDown with pod policy limitation and previous events',
      downEvents: uniformEvents([1, 5, 9], 120),
      down: rules(5, 120, 0, 0, 300),
      current: 100,
      desired: 2,
      min: 1,
      max: 1000,
      expected: 100,
      reason: 'ScaleDownLimit',
    },
    {
      name: 'scaleDown with percent policy limitation and previous events',
      downEvents: uniformEvents([2, 4, 6], 120),
      down: rules(0, 0, 50, 120, 300),
      current: 100,
      desired: 0,
      min: 1,
      max: 1000,
      expected: 56,
      reason: 'ScaleDownLimit',
    },
    {
      name: 'scaleDown with previous events preventing further scale down',
      downEvents: uniformEvents([10, 10, 10], 120),
      down: rules(0, 0, 10, 120, 300),
      current: 100,
      desired: 0,
      min: 1,
      max: 1000,
      expected: 100,
      reason: 'ScaleDownLimit',
    },
    {
      name: 'scaleDown with previous events still allowing more scale down',
      downEvents: uniformEvents([10, 10, 10], 120),
      down: rules(0, 0, 1000, 120, 300),
      current: 10,
      desired: 5,
      min: 1,
      max: 1000,
      expected: 5,
      reason: 'DesiredWithinRange',
    },
    {
      name: "check 'outdated' flag for events for one behavior for up",
      upEvents: uniformEvents([8, 12, 9, 11], 120),
      up: rules(1000, 60, 0, 0, 0),
      current: 100,
      desired: 200,
      min: 1,
      max: 1000,
      expected: 200,
      reason: 'DesiredWithinRange',
    },
    {
      name: 'events not outdated for two policies for up',
      upEvents: uniformEvents([8, 12, 9, 11], 120),
      up: rules(1000, 120, 100, 60, 0),
      current: 100,
      desired: 200,
      min: 1,
      max: 1000,
      expected: 200,
      reason: 'DesiredWithinRange',
    },
    {
      name: "check 'outdated' flag for events for one behavior for down",
      downEvents: uniformEvents([8, 12, 9, 11], 120),
      down: rules(1000, 60, 0, 0, 300),
      current: 100,
      desired: 5,
      min: 1,
      max: 1000,
      expected: 5,
      reason: 'DesiredWithinRange',
    },
  ];
  it.each(cases)('$name', (tc) => {
    const behavior: Behavior = {
      scaleUp: tc.up ?? DEFAULT_BEHAVIOR.scaleUp,
      scaleDown: tc.down ?? DEFAULT_BEHAVIOR.scaleDown,
    };
    const state: BehaviorState = {
      recommendations: [],
      scaleUpEvents: tc.upEvents ?? [],
      scaleDownEvents: tc.downEvents ?? [],
    };
    const r = applyRateLimits(state, behavior, NOW, tc.current, tc.desired, { min: tc.min, max: tc.max });
    expect(r.replicas).toBe(tc.expected);
    expect(r.reason).toBe(tc.reason);
  });

  it('scale-up limits count scale-down events of the period too (start = current − added + removed)', () => {
    const state: BehaviorState = {
      recommendations: [],
      scaleUpEvents: [],
      scaleDownEvents: [{ atMs: NOW - 5 * SEC, change: 6 }],
    };
    // 10 now, 16 at the start of the period: Pods 4 allows 20.
    expect(scaleUpLimit(state, rules(4, 60, 0, 0, 0), NOW, 10)).toBe(20);
  });
});

describe('scale limits with selectPolicy Min / Disabled', () => {
  const twoPolicies = (select: ScalingRules['selectPolicy']): ScalingRules => ({
    stabilizationWindowSeconds: 300,
    selectPolicy: select,
    policies: [
      { type: 'Pods', value: 2, periodSeconds: 60 },
      { type: 'Percent', value: 50, periodSeconds: 60 },
    ],
    tolerance: 0.1,
  });
  it('TestCalculateScaleUpLimitWithScalingRules: Min picks the smaller increase (2)', () => {
    expect(scaleUpLimit(initialBehaviorState(), twoPolicies('Min'), NOW, 1)).toBe(2);
  });
  it('TestCalculateScaleDownLimitWithBehaviors: Min picks the smaller decrease (3)', () => {
    expect(scaleDownLimit(initialBehaviorState(), twoPolicies('Min'), NOW, 5)).toBe(3);
  });
  it('Disabled forbids the direction', () => {
    const behavior: Behavior = {
      ...DEFAULT_BEHAVIOR,
      scaleDown: { ...DEFAULT_BEHAVIOR.scaleDown, selectPolicy: 'Disabled' },
    };
    expect(applyRateLimits(initialBehaviorState(), behavior, NOW, 10, 2, { min: 1, max: 20 }).replicas).toBe(
      10,
    );
  });
  it('an empty policy list does not limit (Kubernetes rejects it at admission)', () => {
    const behavior: Behavior = {
      ...DEFAULT_BEHAVIOR,
      scaleUp: { ...DEFAULT_BEHAVIOR.scaleUp, policies: [] },
    };
    expect(applyRateLimits(initialBehaviorState(), behavior, NOW, 2, 50, { min: 1, max: 100 }).replicas).toBe(
      50,
    );
  });
});

describe('stabilizeRecommendation: TestNormalizeDesiredReplicasWithBehavior', () => {
  const at = (replicas: number, minutesAgo: number): TimedRecommendation => ({
    replicas,
    atMs: NOW - minutesAgo * 60 * SEC,
  });
  const cases: [string, TimedRecommendation[], number, number, number, number, number][] = [
    // name, history, current, desired, up window, down window, expected
    ['empty recommendations for scaling down', [], 100, 5, 0, 0, 5],
    ['simple scale down stabilization', [at(4, 2), at(5, 1)], 100, 3, 0, 180, 5],
    ['simple scale up stabilization', [at(4, 2), at(5, 1)], 1, 7, 300, 0, 4],
    ['no scale down stabilization', [at(1, 2), at(2, 1)], 100, 3, 300, 0, 3],
    ['no scale up stabilization', [at(4, 2), at(5, 1)], 1, 3, 0, 300, 3],
    ['no scale down stabilization, reuse recommendation element', [at(10, 10), at(9, 9)], 100, 3, 0, 0, 3],
    ['no scale up stabilization, reuse recommendation element', [at(10, 10), at(9, 9)], 1, 100, 0, 0, 100],
    [
      'scale down stabilization, reuse one of obsolete recommendation element',
      [at(10, 10), at(4, 1), at(5, 2), at(9, 9)],
      100,
      3,
      0,
      180,
      5,
    ],
    [
      'scale up stabilization, reuse one of obsolete recommendation element',
      [at(10, 100), at(6, 1), at(5, 2), at(9, 3)],
      1,
      100,
      300,
      0,
      5,
    ],
  ];
  it.each(cases)('%s', (_name, history, current, desired, up, down, expected) => {
    const state: BehaviorState = { ...initialBehaviorState(), recommendations: history };
    const r = stabilizeRecommendation(state, stabilizationWindows(up, down), NOW, current, desired);
    expect(r.replicas).toBe(expected);
    // The new, unstabilised recommendation is recorded; entries older than both windows are
    // dropped (Kubernetes reuses one such slot; the candidates are the same either way).
    const recorded = r.state.recommendations;
    expect(recorded[recorded.length - 1]).toEqual({ atMs: NOW, replicas: desired });
    const oldest = NOW - Math.max(up, down) * SEC;
    expect(recorded.slice(0, -1).every((e) => e.atMs > oldest)).toBe(true);
  });

  it('reports ScaleDownStabilized / ScaleUpStabilized / ReadyForNewScale', () => {
    const hist: BehaviorState = { ...initialBehaviorState(), recommendations: [at(8, 1)] };
    expect(stabilizeRecommendation(hist, stabilizationWindows(0, 300), NOW, 10, 3).reason).toBe(
      'ScaleDownStabilized',
    );
    expect(stabilizeRecommendation(hist, stabilizationWindows(300, 0), NOW, 1, 9).reason).toBe(
      'ScaleUpStabilized',
    );
    expect(stabilizeRecommendation(hist, stabilizationWindows(0, 0), NOW, 1, 9).reason).toBe(
      'ReadyForNewScale',
    );
  });
});

describe('recordScaleEvent: TestStoreScaleEvents', () => {
  const up = (atSecondsAgo: number, change: number): ScaleEvent => ({
    atMs: NOW - atSecondsAgo * SEC,
    change,
  });
  it('counts the events inside a policy period; stores the new one; drops those past every period', () => {
    const behavior: Behavior = { scaleUp: rules(10, 60, 100, 30, 0), scaleDown: rules(10, 60, 0, 0, 0) };
    const state: BehaviorState = {
      ...initialBehaviorState(),
      scaleUpEvents: [up(29, 8), up(59, 6), up(61, 7), up(61, 9)],
    };
    // In the last 60 s: 8 + 6 = 14 added. Pods 10/60 s from 100 − 14 = 86 allows 96; Percent
    // 100/30 s from 100 − 8 = 92 allows 184; Max → 184.
    expect(scaleUpLimit(state, behavior.scaleUp, NOW, 100)).toBe(184);
    const next = recordScaleEvent(state, behavior, NOW, 10, 15);
    expect(next.scaleUpEvents).toEqual([up(29, 8), up(59, 6), { atMs: NOW, change: 5 }]);
    const down = recordScaleEvent(state, behavior, NOW, 10, 4);
    expect(down.scaleDownEvents).toEqual([{ atMs: NOW, change: 6 }]);
    expect(recordScaleEvent(state, behavior, NOW, 4, 4)).toBe(state);
  });
});

describe('normalizeWithBehavior: stabilise, then rate-limit, then bounds', () => {
  it('default behavior: 10 → 50 goes 20, then waits for the 15 s period, then 40', () => {
    let state = initialBehaviorState();
    const step = (t: number, current: number) => {
      const r = normalizeWithBehavior({
        nowMs: NOW + t * SEC,
        currentReplicas: current,
        desiredReplicas: 50,
        bounds: { min: 1, max: 100 },
        behavior: DEFAULT_BEHAVIOR,
        state,
      });
      state = r.state;
      if (r.replicas !== current)
        state = recordScaleEvent(state, DEFAULT_BEHAVIOR, NOW + t * SEC, current, r.replicas);
      return r;
    };
    const first = step(0, 10);
    expect(first.replicas).toBe(20);
    expect(first.limitReason).toBe('ScaleUpLimit');
    expect(first.reason).toMatch(/ScaleUpLimit/);
    expect(step(5, 20).replicas).toBe(20);
    expect(step(16, 20).replicas).toBe(40);
  });

  it('default behavior delays a scale-down by the 300 s window (the highest recent recommendation wins)', () => {
    let state = initialBehaviorState();
    const out: number[] = [];
    for (const [t, desired] of [
      [0, 10],
      [60, 4],
      [120, 4],
      [299, 4],
      [301, 4],
    ] as const) {
      const r = normalizeWithBehavior({
        nowMs: NOW + t * SEC,
        currentReplicas: 10,
        desiredReplicas: desired,
        bounds: { min: 1, max: 100 },
        behavior: DEFAULT_BEHAVIOR,
        state,
      });
      state = r.state;
      out.push(r.replicas);
    }
    expect(out).toEqual([10, 10, 10, 10, 4]);
  });

  it('state is plain data', () => {
    const r = normalizeWithBehavior({
      nowMs: NOW,
      currentReplicas: 3,
      desiredReplicas: 5,
      bounds: { min: 1, max: 10 },
      behavior: DEFAULT_BEHAVIOR,
      state: initialBehaviorState(),
    });
    expect(JSON.parse(JSON.stringify(r.state))).toEqual(r.state);
    expect(r.details).toMatchObject({ recommended: 5, stabilized: 5 });
  });
});

describe('§2.6.3 stabilisation sequences: AIBrix (inverted, W-2) versus ours (Kubernetes)', () => {
  type Step = [t: number, c: number, rec: number];
  function both(
    steps: readonly Step[],
    upWindow: number,
    downWindow: number,
  ): { aibrix: number[]; ours: number[] } {
    const behavior = stabilizationWindows(upWindow, downWindow);
    let history: TimedRecommendation[] = [];
    let state = initialBehaviorState();
    const aibrix: number[] = [];
    const ours: number[] = [];
    for (const [t, c, rec] of steps) {
      const a = aibrixStabilize(history, {
        nowMs: NOW + t * SEC,
        currentReplicas: c,
        recommendation: rec,
        upWindowSeconds: upWindow,
        downWindowSeconds: downWindow,
      });
      history = a.history;
      aibrix.push(a.replicas);
      const o = stabilizeRecommendation(state, behavior, NOW + t * SEC, c, rec);
      state = o.state;
      ours.push(o.replicas);
    }
    return { aibrix, ours };
  }

  const sequences: {
    name: string;
    steps: Step[];
    up: number;
    down: number;
    aibrix: number[];
    ours: number[];
  }[] = [
    {
      name: 'S1 (0 s / 300 s): AIBrix scales down at once; we hold the recent high',
      steps: [
        [0, 4, 4],
        [10, 4, 2],
        [20, 2, 2],
      ],
      up: 0,
      down: 300,
      aibrix: [4, 2, 2],
      ours: [4, 4, 2],
    },
    {
      name: 'S2 (0 s / 300 s): AIBrix goes below the recommendation (min of {3,5,4}); we do not',
      steps: [
        [0, 6, 3],
        [10, 3, 5],
        [20, 5, 4],
        [30, 3, 5],
        [310, 5, 4],
        [320, 4, 4],
      ],
      up: 0,
      down: 300,
      aibrix: [3, 5, 3, 5, 4, 4],
      ours: [3, 5, 5, 5, 5, 4],
    },
    {
      name: 'S3 (60 s / 300 s): AIBrix takes the max on the way up; we take the min',
      steps: [
        [0, 2, 6],
        [10, 6, 3],
        [20, 3, 3],
        [30, 3, 2],
        [80, 2, 3],
      ],
      up: 60,
      down: 300,
      aibrix: [6, 3, 3, 2, 3],
      ours: [6, 6, 3, 3, 2],
    },
    {
      name: 'S4 (0 s / 0 s): both pass the recommendation through',
      steps: [
        [0, 2, 3],
        [10, 3, 6],
        [20, 6, 4],
      ],
      up: 0,
      down: 0,
      aibrix: [3, 6, 4],
      ours: [3, 6, 4],
    },
  ];
  it.each(sequences)('$name', (sq) => {
    const r = both(sq.steps, sq.up, sq.down);
    expect(r.aibrix).toEqual(sq.aibrix);
    expect(r.ours).toEqual(sq.ours);
  });
});

describe('applyBehavior: the engine entry point', () => {
  it('normalises and records the resulting change as a scale event', () => {
    const r = applyBehavior(
      {
        nowMs: NOW,
        currentReplicas: 10,
        recommendation: 50,
        behavior: DEFAULT_BEHAVIOR,
        bounds: { min: 1, max: 100 },
      },
      initialBehaviorState(),
    );
    expect(r.replicas).toBe(20);
    expect(r.state.scaleUpEvents).toEqual([{ atMs: NOW, change: 10 }]);
    // 5 s later, from 20: the period started at 10, so the limit is still 20.
    const next = applyBehavior(
      { nowMs: NOW + 5 * SEC, currentReplicas: 20, recommendation: 50, behavior: DEFAULT_BEHAVIOR },
      r.state,
    );
    expect(next.replicas).toBe(20);
  });

  it('records nothing in shadow mode (recordEvent: false) or without a change', () => {
    const quiet = applyBehavior(
      { nowMs: NOW, currentReplicas: 10, recommendation: 50, behavior: DEFAULT_BEHAVIOR, recordEvent: false },
      initialBehaviorState(),
    );
    expect(quiet.state.scaleUpEvents).toEqual([]);
    const same = applyBehavior(
      { nowMs: NOW, currentReplicas: 10, recommendation: 10, behavior: DEFAULT_BEHAVIOR },
      initialBehaviorState(),
    );
    expect(same.state.scaleUpEvents).toEqual([]);
    expect(same.state.recommendations).toEqual([{ atMs: NOW, replicas: 10 }]);
  });
});
