/**
 * `status.decisionState`: the decision state of one in-process PodAutoscaler (KPA/APA metric
 * windows, KPA panic state, the pipeline's fallback and scale-to-zero timers, the behavior's
 * stabilisation memory and scale events), checkpointed so that a new leader resumes from it. AIBrix
 * keeps all of it in memory and starts cold (W-19); WVA loses it too. rebuild.ts remains the
 * fallback: it recovers only the stabilisation memory, from the status history.
 *
 * Format v1 (`data`, compact JSON): every time is an offset in ms from `time`, every window bucket
 * an index offset from the bucket of `time`, and lists are flat `[offset, value, offset, value…]`,
 * so a KPA with default windows at a 15 s period is well under 1 KiB.
 *
 * A snapshot is used only if it can still be right: the same format version, a fingerprint equal
 * to the spec's (strategy, target, metric list, window lengths), no older than the longest window
 * or policy period (by then every window would have emptied and the timers' meaning is lost), not
 * from the future beyond clock skew, and valid down to each bucket. Anything else is refused with
 * the reason, and the caller falls back to the rebuild.
 *
 * Bounds: each window and event list keeps its newest `MAX_ENTRIES` entries (the restored window
 * then averages over that newest part); the recommendation list first folds repeats of a value into
 * the latest one, which changes no future stabilisation result (window extremes over any recent
 * span see the same values), and only then drops the oldest. A snapshot still over
 * `MAX_DECISION_STATE_BYTES` is not written at all.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ApaState } from '../../algorithms/apa.js';
import type { BehaviorState, ScaleEvent, TimedRecommendation } from '../../algorithms/behavior.js';
import type { KpaState } from '../../algorithms/kpa.js';
import { pruneWindow, type WindowState } from '../../algorithms/window.js';
import { MAX_DECISION_STATE_BYTES, type DecisionState } from '../api/schema.js';
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import { describeZodError } from '../api/issues.js';
import type { PipelineState } from '../engine/pipeline.js';

export const DECISION_STATE_VERSION = 1;
/** Per window and per event list: 241 buckets cover the longest window (3600 s) at a 15 s period. */
export const MAX_ENTRIES = 256;
/** A snapshot stamped later than now by more than this is from a skewed clock. */
export const MAX_CLOCK_SKEW_MS = 10_000;

/** The spec that gives a decision state its meaning; a change makes a snapshot inapplicable. */
export function decisionFingerprint(pa: ResolvedPodAutoscaler): string {
  const basis = {
    strategy: pa.strategy,
    target: [pa.scaleTargetRef.kind, pa.scaleTargetRef.name, pa.roleName ?? ''],
    metrics: pa.metrics.map((m) => [
      m.type,
      m.targetMetric,
      m.targetType,
      m.query ?? '',
      m.endpoint ?? '',
      m.modelName ?? '',
    ]),
    windows:
      pa.strategy === 'KPA'
        ? [pa.kpa.stableWindowSeconds, pa.kpa.panicWindowSeconds]
        : pa.strategy === 'APA'
          ? [pa.apa.windowSeconds]
          : [],
  };
  return createHash('sha256').update(JSON.stringify(basis)).digest('hex').slice(0, 16);
}

/** The longest span any part of the state looks back over; an older snapshot holds nothing usable. */
export function stalenessBoundMs(pa: ResolvedPodAutoscaler): number {
  const { scaleUp, scaleDown } = pa.behavior;
  const seconds = [
    scaleUp.stabilizationWindowSeconds,
    scaleDown.stabilizationWindowSeconds,
    ...[...scaleUp.policies, ...scaleDown.policies].map((p) => p.periodSeconds),
    ...(pa.strategy === 'KPA' ? [pa.kpa.stableWindowSeconds, pa.kpa.panicWindowSeconds] : []),
    ...(pa.strategy === 'APA' ? [pa.apa.windowSeconds] : []),
  ];
  return Math.max(0, ...seconds) * 1000;
}

// ---------------------------------------------------------------------------------------------
// Wire format v1

const finite = z.number().refine(Number.isFinite, 'must be finite');

/** `[offset, value, offset, value…]`, at most `MAX_ENTRIES` pairs. */
const pairs = z
  .array(finite)
  .max(2 * MAX_ENTRIES)
  .refine((a) => a.length % 2 === 0, 'must hold (offset, value) pairs');

const WindowWire = z.object({
  /** durationMs, granularityMs */
  d: z.number().positive(),
  g: z.number().positive(),
  /** (bucket index − bucket of `time`, value) */
  b: pairs.refine(
    (a) => a.every((v, i) => i % 2 === 1 || Number.isInteger(v)),
    'bucket offsets are integers',
  ),
});

const KpaWire = z.strictObject({
  s: WindowWire.nullable(),
  p: WindowWire.nullable(),
  /** panicSinceMs offset */
  ps: finite.nullable(),
  mp: z.number().int().min(0),
  st: z.boolean(),
});

const ApaWire = z.strictObject({ w: WindowWire.nullable(), m: z.enum(['perPod', 'total']).nullable() });

const HpaWire = z.strictObject({});

const IN_PROCESS = ['KPA', 'APA', 'HPA'] as const;

const PayloadWire = z.strictObject({
  /** Per metric, in spec order. */
  m: z.array(z.unknown()),
  /** recommendations (offset, replicas), scale-up and scale-down events (offset, change) */
  b: z.strictObject({ r: pairs, u: pairs, d: pairs }),
  /** allMissingSinceMs, zeroSinceMs offsets */
  a: finite.optional(),
  z: finite.optional(),
});

type WindowWire = z.infer<typeof WindowWire>;
type KpaWire = z.infer<typeof KpaWire>;
type ApaWire = z.infer<typeof ApaWire>;
type PayloadWire = z.infer<typeof PayloadWire>;

type InProcessStrategy = (typeof IN_PROCESS)[number];

function inProcess(strategy: ResolvedPodAutoscaler['strategy']): strategy is InProcessStrategy {
  return (IN_PROCESS as readonly string[]).includes(strategy);
}

// ---------------------------------------------------------------------------------------------
// Encode

export type EncodeResult =
  | {
      ok: true;
      value: DecisionState;
      bytes: number;
      /** What the entry caps cut, e.g. `metrics[0].stable: 40 oldest buckets`. */
      trimmed: string[];
    }
  | { ok: false; reason: string };

/** The snapshot of `state` at `nowMs` (the tick that produced it). */
export function encodeDecisionState(
  pa: ResolvedPodAutoscaler,
  state: PipelineState,
  nowMs: number,
): EncodeResult {
  if (!inProcess(pa.strategy)) return { ok: false, reason: `strategy ${pa.strategy} has no decision state` };
  const t = Math.floor(nowMs);
  const trimmed: string[] = [];
  const newest = <T>(list: readonly T[], what: string): readonly T[] => {
    if (list.length <= MAX_ENTRIES) return list;
    trimmed.push(`${what}: ${list.length - MAX_ENTRIES} oldest`);
    return list.slice(-MAX_ENTRIES);
  };
  const window = (w: WindowState | null, what: string): WindowWire | null => {
    if (w === null) return null;
    const base = Math.floor(t / w.granularityMs);
    const buckets = newest(pruneWindow(w, t).buckets, what);
    return { d: w.durationMs, g: w.granularityMs, b: buckets.flatMap((x) => [x.index - base, x.value]) };
  };
  const metric = (s: unknown, i: number): KpaWire | ApaWire | Record<string, never> => {
    if (pa.strategy === 'KPA') {
      const k = s as KpaState;
      return {
        s: window(k.stable, `metrics[${i}].stable`),
        p: window(k.panic, `metrics[${i}].panic`),
        ps: k.panicSinceMs === null ? null : k.panicSinceMs - t,
        mp: k.maxPanicPods,
        st: k.started,
      };
    }
    if (pa.strategy === 'APA') {
      const a = s as ApaState;
      return { w: window(a.window, `metrics[${i}].window`), m: a.mode };
    }
    return {};
  };
  const b = state.behavior;
  const payload: PayloadWire = {
    m: state.metrics.map(metric),
    b: {
      r: foldRecommendations(b.recommendations, trimmed).flatMap((r) => [r.atMs - t, r.replicas]),
      u: newest(b.scaleUpEvents, 'scaleUpEvents').flatMap((e) => [e.atMs - t, e.change]),
      d: newest(b.scaleDownEvents, 'scaleDownEvents').flatMap((e) => [e.atMs - t, e.change]),
    },
    ...(state.allMissingSinceMs !== undefined ? { a: state.allMissingSinceMs - t } : {}),
    ...(state.zeroSinceMs !== undefined ? { z: state.zeroSinceMs - t } : {}),
  };
  const data = JSON.stringify(payload);
  const bytes = Buffer.byteLength(data);
  if (bytes > MAX_DECISION_STATE_BYTES) {
    return {
      ok: false,
      reason: `the snapshot is ${bytes} bytes, over the ${MAX_DECISION_STATE_BYTES}-byte cap (${state.metrics.length} metric(s))`,
    };
  }
  return {
    ok: true,
    value: {
      version: DECISION_STATE_VERSION,
      time: new Date(t).toISOString(),
      fingerprint: decisionFingerprint(pa),
      data,
    },
    bytes,
    trimmed,
  };
}

/**
 * Over the cap, an earlier recommendation whose value recurs later is redundant: a stabilisation
 * window covers the newest entries up to now, so it contains the later one whenever it contains
 * the earlier, and its min and max depend only on which values it contains.
 */
function foldRecommendations(
  recs: readonly TimedRecommendation[],
  trimmed: string[],
): readonly TimedRecommendation[] {
  if (recs.length <= MAX_ENTRIES) return recs;
  const seen = new Set<number>();
  const kept: TimedRecommendation[] = [];
  for (let i = recs.length - 1; i >= 0; i--) {
    const r = recs[i]!;
    if (seen.has(r.replicas)) continue;
    seen.add(r.replicas);
    kept.push(r);
  }
  kept.reverse();
  const out = kept.slice(-MAX_ENTRIES);
  trimmed.push(
    `recommendations: ${recs.length - kept.length} repeated value(s) folded` +
      (out.length < kept.length ? `, ${kept.length - out.length} oldest dropped` : ''),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decode

export type DecodeResult =
  | { ok: true; state: PipelineState; ageMs: number }
  | {
      ok: false;
      reason: string;
      /** `info`: an expected outcome (spec changed, too old, another version); `warn`: damaged. */
      severity: 'info' | 'warn';
    };

const refuse = (reason: string, severity: 'info' | 'warn'): DecodeResult => ({ ok: false, reason, severity });

const Envelope = z.object({
  version: z.number(),
  time: z.iso.datetime({ offset: true }),
  fingerprint: z.string(),
  data: z.string(),
});

/** The decision state `raw` (a `status.decisionState` as read) holds for `pa` at `nowMs`, or why not. */
export function decodeDecisionState(raw: unknown, pa: ResolvedPodAutoscaler, nowMs: number): DecodeResult {
  if (raw === undefined || raw === null) return refuse('status has no decisionState', 'info');
  if (!inProcess(pa.strategy)) return refuse(`strategy ${pa.strategy} has no decision state`, 'info');
  const env = Envelope.safeParse(raw);
  if (!env.success) return refuse(`decisionState is malformed: ${describeZodError(env.error, 3)}`, 'warn');
  const { version, time, fingerprint, data } = env.data;
  if (version !== DECISION_STATE_VERSION) {
    return refuse(
      `decisionState has format version ${version}; this controller reads ${DECISION_STATE_VERSION}`,
      'info',
    );
  }
  if (Buffer.byteLength(data) > MAX_DECISION_STATE_BYTES) {
    return refuse(`decisionState.data exceeds ${MAX_DECISION_STATE_BYTES} bytes`, 'warn');
  }
  const expected = decisionFingerprint(pa);
  if (fingerprint !== expected) {
    return refuse(
      `decisionState was taken for another spec (fingerprint ${fingerprint}, now ${expected}): strategy, target, metrics or windows changed`,
      'info',
    );
  }
  const t = Date.parse(time);
  const ageMs = nowMs - t;
  const bound = stalenessBoundMs(pa);
  if (ageMs > bound) {
    return refuse(
      `decisionState is ${Math.round(ageMs / 1000)}s old, beyond the longest window (${bound / 1000}s)`,
      'info',
    );
  }
  if (ageMs < -MAX_CLOCK_SKEW_MS) {
    return refuse(
      `decisionState is stamped ${Math.round(-ageMs / 1000)}s in the future: clock skew between leaders`,
      'warn',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch (err) {
    return refuse(
      `decisionState.data is not JSON: ${err instanceof Error ? err.message : String(err)}`,
      'warn',
    );
  }
  const payload = PayloadWire.safeParse(json);
  if (!payload.success)
    return refuse(`decisionState.data is corrupt: ${describeZodError(payload.error, 3)}`, 'warn');
  const p = payload.data;
  if (p.m.length !== pa.metrics.length) {
    return refuse(
      `decisionState.data has ${p.m.length} metric state(s), the spec ${pa.metrics.length}`,
      'warn',
    );
  }
  const metrics: unknown[] = [];
  for (const [i, m] of p.m.entries()) {
    const built = metricState(pa.strategy, m, t);
    if (typeof built === 'string') return refuse(`decisionState.data.m[${i}] is corrupt: ${built}`, 'warn');
    metrics.push(built.state);
  }
  const recommendations = unpair(p.b.r, t, (atMs, replicas) => ({ atMs, replicas }));
  const events = (flat: number[]) => unpair(flat, t, (atMs, change): ScaleEvent => ({ atMs, change }));
  const behavior: BehaviorState = {
    recommendations,
    scaleUpEvents: events(p.b.u),
    scaleDownEvents: events(p.b.d),
  };
  const bad = [
    ...recommendations.map((r) => r.replicas),
    ...[...behavior.scaleUpEvents, ...behavior.scaleDownEvents].map((e) => e.change),
  ].find((v) => !Number.isInteger(v) || v < 0);
  if (bad !== undefined)
    return refuse(`decisionState.data.b holds a replica count or change of ${bad}`, 'warn');
  return {
    ok: true,
    ageMs,
    state: {
      metrics,
      behavior,
      ...(p.a !== undefined ? { allMissingSinceMs: t + p.a } : {}),
      ...(p.z !== undefined ? { zeroSinceMs: t + p.z } : {}),
    },
  };
}

function metricState(strategy: InProcessStrategy, raw: unknown, t: number): { state: unknown } | string {
  if (strategy === 'HPA') {
    const parsed = HpaWire.safeParse(raw);
    return parsed.success ? { state: {} } : describeZodError(parsed.error, 3);
  }
  if (strategy === 'KPA') {
    const parsed = KpaWire.safeParse(raw);
    if (!parsed.success) return describeZodError(parsed.error, 3);
    const v = parsed.data;
    const stable = windowOf(v.s, t);
    const panic = windowOf(v.p, t);
    if (typeof stable === 'string') return stable;
    if (typeof panic === 'string') return panic;
    const state: KpaState = {
      stable,
      panic,
      panicSinceMs: v.ps === null ? null : t + v.ps,
      maxPanicPods: v.mp,
      started: v.st,
    };
    return { state };
  }
  const parsed = ApaWire.safeParse(raw);
  if (!parsed.success) return describeZodError(parsed.error, 3);
  const window = windowOf(parsed.data.w, t);
  if (typeof window === 'string') return window;
  const state: ApaState = { window, mode: parsed.data.m };
  return { state };
}

function windowOf(w: WindowWire | null, t: number): WindowState | null | string {
  if (w === null) return null;
  const base = Math.floor(t / w.g);
  const buckets = unpair(w.b, base, (index, value) => ({ index, value }));
  for (let i = 1; i < buckets.length; i++) {
    if (buckets[i]!.index <= buckets[i - 1]!.index) return 'window buckets are not in ascending order';
  }
  return { durationMs: w.d, granularityMs: w.g, buckets };
}

function unpair<T>(flat: readonly number[], origin: number, make: (at: number, value: number) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push(make(origin + flat[i]!, flat[i + 1]!));
  return out;
}
