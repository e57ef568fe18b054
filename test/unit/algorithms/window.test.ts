import { describe, expect, it } from 'vitest';
import {
  createWindow,
  pruneWindow,
  recordSample,
  resizeWindow,
  windowAverage,
  windowMax,
  windowMin,
  windowSize,
  windowValues,
  type WindowState,
} from '../../../algorithms/window.js';

const S = 1000;
const MIN = 60 * S;
const T0 = Date.UTC(2026, 7, 3, 9, 0, 0);

function recordAll(w: WindowState, entries: readonly [number, number][]): WindowState {
  return entries.reduce((acc, [t, v]) => recordSample(acc, t, v), w);
}

describe('window: AIBrix TimeWindow vectors (types/metrics_test.go, §2.6.2)', () => {
  it('2 min window, 1 min granularity: the recorded sequence', () => {
    const steps: [number, number, number[]][] = [
      [0, 10, [10]],
      [30, 20, [20]],
      [60, 30, [20, 30]],
      [90, 40, [20, 40]],
      [120, 50, [20, 40, 50]],
      [150, 60, [20, 40, 60]],
      [180, 70, [40, 60, 70]],
      [210, 80, [40, 60, 80]],
    ];
    let w = createWindow(2 * MIN, MIN);
    for (const [offsetS, value, expected] of steps) {
      w = recordSample(w, T0 + offsetS * S, value);
      // Read at the record instant: identical to AIBrix, which prunes on write.
      expect(windowValues(w, T0 + offsetS * S)).toEqual(expected);
      expect(w.buckets.map((b) => b.value)).toEqual(expected);
    }
  });

  it('Record(0→20, 1m→30, 2m→40): size 3, avg 30, min 20, max 40', () => {
    const w = recordAll(createWindow(2 * MIN, MIN), [
      [T0, 20],
      [T0 + MIN, 30],
      [T0 + 2 * MIN, 40],
    ]);
    const now = T0 + 2 * MIN;
    expect(windowSize(w, now)).toBe(3);
    expect(windowAverage(w, now)).toBe(30);
    expect(windowMin(w, now)).toBe(20);
    expect(windowMax(w, now)).toBe(40);
  });

  it('configurable windows: 10 at t0 and 70 at t0+60 s give S = 40 (120 s) and P = 70 (30 s)', () => {
    const samples: [number, number][] = [
      [T0, 10],
      [T0 + 60 * S, 70],
    ];
    const stable = recordAll(createWindow(120 * S), samples);
    const panic = recordAll(createWindow(30 * S), samples);
    expect(windowAverage(stable, T0 + 60 * S)).toBe(40);
    expect(windowAverage(panic, T0 + 60 * S)).toBe(70);
  });
});

describe('window: §2.6.3 rows at 1 s granularity, 60 s window', () => {
  const base = recordAll(createWindow(60 * S), [
    [T0, 10],
    [T0 + 30 * S, 20],
    [T0 + 60 * S, 30],
  ]);

  it('the cutoff bucket is kept: avg 20 at t = 60', () => {
    expect(windowAverage(base, T0 + 60 * S)).toBe(20);
  });

  it('a record at t = 61 drops bucket 0: avg 30', () => {
    expect(windowAverage(recordSample(base, T0 + 61 * S, 40), T0 + 61 * S)).toBe(30);
  });

  it('two records in the same second: the last one wins', () => {
    const w = recordAll(createWindow(60 * S), [
      [T0 + 100, 5],
      [T0 + 900, 7],
    ]);
    expect(windowValues(w, T0 + 900)).toEqual([7]);
  });
});

describe('window: prune on read (our difference from AIBrix, W-12)', () => {
  it('reading later without new samples drops expired buckets (AIBrix would keep serving them)', () => {
    const w = recordAll(createWindow(60 * S), [
      [T0, 10],
      [T0 + 30 * S, 20],
      [T0 + 60 * S, 30],
    ]);
    // AIBrix's Avg() ignores time and would still answer 20 here.
    expect(windowAverage(w, T0 + 75 * S)).toBe(25);
    expect(windowAverage(w, T0 + 200 * S)).toBeUndefined();
  });

  it('an empty window reads as undefined, never 0', () => {
    const w = createWindow(60 * S);
    expect(windowAverage(w, T0)).toBeUndefined();
    expect(windowMax(w, T0)).toBeUndefined();
    expect(windowMin(w, T0)).toBeUndefined();
    expect(windowSize(w, T0)).toBe(0);
  });

  it('a recorded 0 is a real zero', () => {
    expect(windowAverage(recordSample(createWindow(60 * S), T0, 0), T0)).toBe(0);
  });

  it('pruneWindow returns the same object when nothing expires', () => {
    const w = recordSample(createWindow(60 * S), T0, 1);
    expect(pruneWindow(w, T0 + S)).toBe(w);
  });
});

describe('window: state is plain data', () => {
  it('round-trips through JSON and keeps working', () => {
    const w = recordAll(createWindow(60 * S), [
      [T0, 1],
      [T0 + S, 2],
    ]);
    const copy = JSON.parse(JSON.stringify(w)) as WindowState;
    expect(copy).toEqual(w);
    expect(windowAverage(recordSample(copy, T0 + 2 * S, 3), T0 + 2 * S)).toBe(2);
  });

  it('recording never mutates its input', () => {
    const w = recordSample(createWindow(60 * S), T0, 1);
    const snapshot = JSON.stringify(w);
    recordSample(w, T0 + S, 2);
    recordSample(w, T0, 9);
    expect(JSON.stringify(w)).toBe(snapshot);
  });

  it('out-of-order records land in order', () => {
    const w = recordAll(createWindow(60 * S), [
      [T0 + 10 * S, 2],
      [T0 + 5 * S, 1],
    ]);
    expect(w.buckets.map((b) => b.value)).toEqual([1, 2]);
  });

  it('resizing keeps history (AIBrix recreates both windows empty)', () => {
    const w = recordAll(createWindow(60 * S), [
      [T0, 10],
      [T0 + 50 * S, 20],
    ]);
    const shorter = resizeWindow(w, 30 * S);
    expect(windowAverage(shorter, T0 + 50 * S)).toBe(20);
    const longer = resizeWindow(shorter, 120 * S);
    expect(windowAverage(longer, T0 + 50 * S)).toBe(15);
  });

  it('rejects bad durations and non-finite samples with a clear error', () => {
    expect(() => createWindow(0)).toThrow(/durationMs must be a positive finite number/);
    expect(() => createWindow(1000, -1)).toThrow(/granularityMs/);
    expect(() => recordSample(createWindow(1000), T0, Number.NaN)).toThrow(/treat it as missing/);
  });
});
