import { describe, expect, it } from 'vitest';
import {
  decisionFingerprint,
  decodeDecisionState,
  encodeDecisionState,
  MAX_ENTRIES,
  stalenessBoundMs,
} from '../../../src/controller/decision-state.js';
import { resolvePodAutoscaler } from '../../../src/api/resolve.js';
import type { ResolvedPodAutoscaler } from '../../../src/api/resolved.js';
import {
  INFERSCALE_API_VERSION,
  MAX_DECISION_STATE_BYTES,
  type DecisionState,
} from '../../../src/api/schema.js';
import type { MetricSample } from '../../../algorithms/types.js';
import { decide, initialPipelineState, type PipelineState } from '../../../src/engine/pipeline.js';
import type { KpaState } from '../../../algorithms/kpa.js';
import type { ApaState } from '../../../algorithms/apa.js';
import { stabilizeRecommendation } from '../../../algorithms/behavior.js';
import { windowAverage, windowValues } from '../../../algorithms/window.js';

const T0 = Date.parse('2025-06-01T12:00:00.000Z');
const PERIOD = 15_000;

const METRIC = {
  metricSourceType: 'pod',
  port: '8000',
  targetMetric: 'vllm:num_requests_running',
  targetValue: '10',
};

function pa(spec: Record<string, unknown> = {}): ResolvedPodAutoscaler {
  const scaleTargetRef = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llm' };
  const base = { scaleTargetRef, maxReplicas: 20, scalingStrategy: 'KPA', metricsSources: [METRIC] };
  const metadata = { name: 'pa', namespace: 'ns' };
  const r = resolvePodAutoscaler({
    apiVersion: INFERSCALE_API_VERSION,
    kind: 'PodAutoscaler',
    metadata,
    spec: { ...base, ...spec },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

/**
 * Runs the real pipeline over `loads`, one tick per period: per-pod values of the current replicas
 * (2 at first, all ready), or with `global` one value for the target at a fixed size of 2.
 */
function run(
  p: ResolvedPodAutoscaler,
  loads: readonly number[],
  o: { periodMs?: number; global?: boolean } = {},
): { state: PipelineState; nowMs: number } {
  let state = initialPipelineState(p);
  let nowMs = T0;
  let replicas = 2;
  for (const [i, v] of loads.entries()) {
    nowMs = T0 + i * (o.periodMs ?? PERIOD);
    const pods = Array.from({ length: replicas }, (_, k) => ({ pod: `p${k}`, ready: true, value: v }));
    const sample: MetricSample = o.global ? { scope: 'global', value: v } : { scope: 'pods', pods };
    const observations = p.metrics.map(() => ({ sample, partial: false, errors: [] }));
    const input = { nowMs, currentReplicas: replicas, readyPods: replicas, startingPods: 0, observations };
    const out = decide(p, input, state);
    state = out.state;
    if (!o.global) replicas = out.decision.desiredReplicas;
  }
  return { state, nowMs };
}

const kpaOf = (s: PipelineState) => s.metrics[0] as KpaState;
const snapshot = (p: ResolvedPodAutoscaler, s: PipelineState, t: number): DecisionState => {
  const e = encodeDecisionState(p, s, t);
  if (!e.ok) throw new Error(e.reason);
  return e.value;
};

describe('decision state snapshot', () => {
  it('KPA: decodes to exactly the state it encoded (windows, panic state, timers, behavior)', () => {
    const p = pa();
    // Steady, then a burst that enters panic.
    const { state, nowMs } = run(p, [5, 5, 6, 5, 5, 6, 5, 5, 30, 40]);
    expect(kpaOf(state).panicSinceMs).not.toBeNull();
    expect(kpaOf(state).stable!.buckets.length).toBeGreaterThan(5);
    const withTimers: PipelineState = {
      ...state,
      allMissingSinceMs: nowMs - 20_000,
      zeroSinceMs: nowMs - 1_234,
    };
    const snap = snapshot(p, withTimers, nowMs);
    expect(snap).toMatchObject({
      version: 1,
      time: new Date(nowMs).toISOString(),
      fingerprint: decisionFingerprint(p),
    });
    const back = decodeDecisionState(snap, p, nowMs);
    expect(back).toEqual({ ok: true, ageMs: 0, state: withTimers });
    // Through JSON, as the apiserver stores it.
    expect(decodeDecisionState(JSON.parse(JSON.stringify(snap)), p, nowMs + 5_000)).toMatchObject({
      ok: true,
      ageMs: 5_000,
      state: withTimers,
    });
  });

  it('APA and HPA round-trip too', () => {
    for (const strategy of ['APA', 'HPA']) {
      const p = pa({ scalingStrategy: strategy });
      const { state, nowMs } = run(p, [5, 7, 9, 4.25, 0.1 + 0.2]);
      if (strategy === 'APA') expect((state.metrics[0] as ApaState).window!.buckets).toHaveLength(5);
      const back = decodeDecisionState(snapshot(p, state, nowMs), p, nowMs + 1_000);
      expect(back.ok && back.state).toEqual(state);
    }
  });

  it('is compact: a KPA after 10 minutes at a 15 s period stays well under 1 KiB', () => {
    const p = pa();
    const loads = Array.from({ length: 40 }, (_, i) => 5 + (i % 7) * 0.37);
    const { state, nowMs } = run(p, loads);
    const e = encodeDecisionState(p, state, nowMs);
    expect(e.ok && e.bytes).toBeLessThan(1024);
    expect(e.ok && e.trimmed).toEqual([]);
  });

  it('refuses a snapshot taken for another spec (fingerprint), with the reason, as info', () => {
    const p = pa();
    const { state, nowMs } = run(p, [5, 6, 7]);
    const snap = snapshot(p, state, nowMs);
    for (const changed of [
      pa({ scalingStrategy: 'APA' }),
      pa({ panicWindowSeconds: 30 }),
      pa({
        metricsSources: [
          { metricSourceType: 'pod', port: '8000', targetMetric: 'gpu_cache_usage_perc', targetValue: '0.5' },
        ],
      }),
      pa({ scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'other' } }),
    ]) {
      const r = decodeDecisionState(snap, changed, nowMs);
      expect(r).toMatchObject({ ok: false, severity: 'info' });
      expect(!r.ok && r.reason).toMatch(/another spec \(fingerprint/);
    }
    // A new target value does not change what the windows hold.
    expect(
      decodeDecisionState(snap, pa({ metricsSources: [{ ...METRIC, targetValue: '20' }] }), nowMs).ok,
    ).toBe(true);
  });

  it('refuses a corrupt snapshot as a warning, and another version as info', () => {
    const p = pa();
    const { state, nowMs } = run(p, [5, 6, 7]);
    const snap = snapshot(p, state, nowMs);
    const data = JSON.parse(snap.data) as { m: { s: { b: number[] } }[] };
    const cases: [unknown, RegExp, 'info' | 'warn'][] = [
      [{ ...snap, version: 2 }, /format version 2; this controller reads 1/, 'info'],
      [{ ...snap, time: 'yesterday' }, /malformed: time/, 'warn'],
      [{ version: 1 }, /malformed/, 'warn'],
      ['a string', /malformed/, 'warn'],
      [{ ...snap, data: '{"m":[' }, /not JSON/, 'warn'],
      [{ ...snap, data: '{"m":[],"b":{"r":[],"u":[],"d":[]}}' }, /0 metric state\(s\), the spec 1/, 'warn'],
      [{ ...snap, data: JSON.stringify({ ...data, b: { r: [1], u: [], d: [] } }) }, /corrupt: b\.r/, 'warn'],
      [{ ...snap, data: JSON.stringify({ ...data, x: 1 }) }, /corrupt/, 'warn'],
      [
        { ...snap, data: JSON.stringify({ ...data, b: { r: [0, 2.5], u: [], d: [] } }) },
        /replica count/,
        'warn',
      ],
      [
        {
          ...snap,
          data: JSON.stringify({ ...data, m: [{ ...data.m[0], s: { ...data.m[0]!.s, b: [0, 1, -15, 2] } }] }),
        },
        /ascending/,
        'warn',
      ],
      [
        { ...snap, data: JSON.stringify({ ...data, m: [{ w: null, m: null }] }) },
        /m\[0\] is corrupt: s: /,
        'warn',
      ],
      [{ ...snap, data: 'x'.repeat(MAX_DECISION_STATE_BYTES + 1) }, /exceeds 16384 bytes/, 'warn'],
    ];
    for (const [raw, reason, severity] of cases) {
      const r = decodeDecisionState(raw, p, nowMs);
      expect(r, String(reason)).toMatchObject({ ok: false, severity });
      expect(!r.ok && r.reason, String(reason)).toMatch(reason);
    }
    expect(decodeDecisionState(undefined, p, nowMs)).toMatchObject({ ok: false, severity: 'info' });
  });

  it('refuses a snapshot older than the longest window or from a clock far ahead', () => {
    const p = pa(); // KPA 180 s stable window; behavior: 300 s scale-down window (the longest)
    expect(stalenessBoundMs(p)).toBe(300_000);
    expect(stalenessBoundMs(pa({ scalingStrategy: 'APA', observeWindowSeconds: 600 }))).toBe(600_000);
    const { state, nowMs } = run(p, [5, 6, 7]);
    const snap = snapshot(p, state, nowMs);
    expect(decodeDecisionState(snap, p, nowMs + 300_000).ok).toBe(true);
    const old = decodeDecisionState(snap, p, nowMs + 300_001);
    expect(old).toMatchObject({ ok: false, severity: 'info' });
    expect(!old.ok && old.reason).toMatch(/300s old, beyond the longest window \(300s\)/);
    expect(decodeDecisionState(snap, p, nowMs - 5_000).ok).toBe(true);
    const future = decodeDecisionState(snap, p, nowMs - 11_000);
    expect(future).toMatchObject({ ok: false, severity: 'warn' });
    expect(!future.ok && future.reason).toMatch(/in the future/);
  });

  it("an older snapshot's expired buckets drop by themselves at the new leader's time", () => {
    const p = pa();
    const loads = [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 40, 40];
    const { state, nowMs } = run(p, loads);
    const later = nowMs + 50_000;
    const back = decodeDecisionState(snapshot(p, state, nowMs), p, later);
    if (!back.ok) throw new Error(back.reason);
    const k = kpaOf(back.state);
    const original = kpaOf(state);
    const newer = (w: typeof original.panic, spanMs: number) =>
      w!.buckets.filter((b) => b.index * 1000 >= later - spanMs).map((b) => b.value);
    // Panic window 60 s: at +50 s only the last tick (the burst) is left of the 5 the snapshot holds.
    expect(k.panic!.buckets).toHaveLength(5);
    expect(windowValues(k.panic!, later)).toEqual(newer(original.panic, 60_000));
    expect(windowValues(k.panic!, later)).toHaveLength(1);
    // Stable window 180 s: the ticks of the last 130 s, burst included.
    const stable = newer(original.stable, 180_000);
    expect(stable.length).toBeLessThan(original.stable!.buckets.length);
    expect(windowAverage(k.stable!, later)).toBe(stable.reduce((a, v) => a + v, 0) / stable.length);
    // The next decision averages only over what is left, and panic still holds.
    const out = decide(
      p,
      {
        nowMs: later,
        currentReplicas: 4,
        readyPods: 4,
        startingPods: 0,
        observations: [{ sample: undefined, partial: true, errors: ['scrape failed'] }],
      },
      back.state,
    );
    expect(out.decision.details).toMatchObject({
      stableValue: stable.reduce((a, v) => a + v, 0) / stable.length,
      panicValue: newer(original.panic, 60_000)[0],
      panicMode: true,
    });
  });

  it('caps each window at the newest buckets and folds repeated recommendations without changing stabilisation', () => {
    const p = pa({ observeWindowSeconds: 3600, panicWindowSeconds: 60 });
    const n = MAX_ENTRIES + 44;
    const loads = Array.from({ length: n }, (_, i) => 5 + (i % 3));
    // A 1 s period: more buckets than the cap in the 3600 s stable window.
    const ran = run(p, loads, { periodMs: 1000, global: true });
    let state = ran.state;
    const nowMs = ran.nowMs;
    // A long scale-down history of alternating recommendations.
    const recs = Array.from({ length: 600 }, (_, i) => ({
      atMs: nowMs - (600 - i) * 500,
      replicas: 2 + (i % 4),
    }));
    state = { ...state, behavior: { ...state.behavior, recommendations: recs } };
    const e = encodeDecisionState(p, state, nowMs);
    if (!e.ok) throw new Error(e.reason);
    expect(e.trimmed).toEqual([
      'metrics[0].stable: 44 oldest',
      'recommendations: 596 repeated value(s) folded',
    ]);
    const back = decodeDecisionState(e.value, p, nowMs);
    if (!back.ok) throw new Error(back.reason);
    const k = kpaOf(back.state);
    expect(k.stable!.buckets).toEqual(kpaOf(state).stable!.buckets.slice(-MAX_ENTRIES));
    expect(k.panic).toEqual(kpaOf(state).panic);
    expect(back.state.behavior.recommendations).toHaveLength(4);
    const behavior = {
      ...p.behavior,
      scaleDown: { ...p.behavior.scaleDown, stabilizationWindowSeconds: 200 },
    };
    for (const dt of [0, 30_000, 100_000, 150_000, 250_000]) {
      for (const want of [1, 3, 9]) {
        const a = stabilizeRecommendation(state.behavior, behavior, nowMs + dt, 4, want);
        const b = stabilizeRecommendation(back.state.behavior, behavior, nowMs + dt, 4, want);
        expect([b.replicas, b.upRecommendation, b.downRecommendation]).toEqual([
          a.replicas,
          a.upRecommendation,
          a.downRecommendation,
        ]);
      }
    }
  });

  it('is not written over the byte cap (16 metrics with full windows of long values)', () => {
    const metricsSources = Array.from({ length: 16 }, (_, i) => ({ ...METRIC, targetMetric: `m${i}` }));
    const p = pa({ metricsSources, observeWindowSeconds: 3600, panicWindowSeconds: 3600 });
    const buckets = Array.from({ length: MAX_ENTRIES }, (_, i) => ({ index: 1000 + i, value: 1 / 3 + i }));
    const window = { durationMs: 3_600_000, granularityMs: 1000, buckets };
    const kpa: KpaState = {
      stable: window,
      panic: window,
      panicSinceMs: null,
      maxPanicPods: 0,
      started: true,
    };
    const state: PipelineState = { ...initialPipelineState(p), metrics: p.metrics.map(() => kpa) };
    const e = encodeDecisionState(p, state, 1_255_000);
    expect(e.ok).toBe(false);
    expect(!e.ok && e.reason).toMatch(/bytes, over the 16384-byte cap \(16 metric\(s\)\)/);
  });

  it('OPTIMIZER has no decision state to persist', () => {
    const p = { ...pa(), strategy: 'OPTIMIZER' as const };
    expect(encodeDecisionState(p, initialPipelineState(pa()), T0)).toMatchObject({ ok: false });
  });
});
