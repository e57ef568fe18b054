/** TokenHistory: every pod's increase covers the same span, and unknown is never zero. */
import { describe, expect, it } from 'vitest';
import { TokenHistory, type TokenSnapshot } from '../../../src/optimizer/engine-load.js';

const les = [10, 100, 1000];
function snap(n: number): TokenSnapshot {
  const h = { count: n, sum: 50 * n, buckets: les.map((le) => ({ le, count: le >= 100 ? n : 0 })) };
  return { prompt: h, generation: h };
}

describe('TokenHistory', () => {
  it('differences against the latest tick at least a window old, over the same span for every pod', () => {
    const h = new TokenHistory();
    for (const [t, n] of [
      [0, 0],
      [15, 10],
      [30, 20],
      [45, 30],
      [60, 40],
    ] as const) {
      h.record('a', t * 1000, snap(n));
    }
    const [a] = h.increases(60_000, 30_000, [{ name: 'a' }]);
    expect(a).toMatchObject({ pod: 'a', windowSeconds: 30 });
    expect(a?.prompt?.count).toBe(20);
  });

  it('a pod created inside the span starts from zero; one seen late without a creation time waits a tick', () => {
    const h = new TokenHistory();
    h.record('old', 0, snap(0));
    h.record('old', 15_000, snap(30));
    h.record('new', 15_000, snap(12));
    h.record('late', 15_000, snap(99));
    const out = h.increases(15_000, 60_000, [
      { name: 'old', createdAtMs: -100_000 },
      { name: 'new', createdAtMs: 5_000 },
      { name: 'late' },
    ]);
    expect(out.map((p) => [p.pod, p.prompt?.count, p.windowSeconds, p.problem])).toEqual([
      ['old', 30, 15, undefined],
      ['new', 12, 15, undefined],
      ['late', undefined, undefined, 'first scrape of this pod: no baseline yet'],
    ]);
  });

  it('reports failed reads, pods not scraped this tick and counter resets', () => {
    const h = new TokenHistory();
    h.record('a', 0, snap(50));
    h.record('b', 0, snap(5));
    h.record('a', 15_000, snap(3)); // restarted: the later value is the whole increase
    const out = h.increases(
      15_000,
      60_000,
      [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
      new Map([['c', 'timeout']]),
    );
    expect(out[0]?.prompt?.count).toBe(3);
    expect(out[1]?.problem).toBe('not scraped this tick');
    expect(out[2]?.problem).toBe('timeout');
  });

  it('forgets pods that left before the span and snapshots no baseline can need', () => {
    const h = new TokenHistory();
    for (let t = 0; t <= 300; t += 15) {
      const pods = [{ name: 'a' }, ...(t < 100 ? [{ name: 'b' }] : [])];
      for (const p of pods) h.record(p.name, t * 1000, snap(t));
      h.increases(t * 1000, 60_000, pods);
    }
    expect(h.size).toBe(1);
    const [a] = h.increases(300_000, 60_000, [{ name: 'a' }]);
    expect(a).toMatchObject({ windowSeconds: 60 });
  });

  it('keeps the total over a switch between pods: a new pod seen starting counts from zero, one that left keeps its share', () => {
    // 10 req/s in all. `old` serves alone until 60 s; `new` (created long before the span, starting
    // until 60 s) takes half from 60 s, and all of it once `old` leaves after its scrape at 105 s.
    // Ticks every 15 s, a 60 s window.
    const h = new TokenHistory();
    const span = (t: number, from: number, to: number) => Math.max(0, Math.min(t, to) - from);
    const done = (pod: string, t: number): number =>
      pod === 'old'
        ? 10 * span(t, 0, 60) + 5 * span(t, 60, 105)
        : 5 * span(t, 60, 105) + 10 * span(t, 105, Infinity);
    const totals: number[] = [];
    for (let t = 0; t <= 240; t += 15) {
      const ready = [...(t <= 105 ? ['old'] : []), ...(t > 60 ? ['new'] : [])];
      if (t <= 60) h.starting('new', t * 1000);
      for (const pod of ready) h.record(pod, t * 1000, snap(done(pod, t)));
      const out = h.increases(
        t * 1000,
        60_000,
        ready.map((name) => ({ name, createdAtMs: -600_000 })),
      );
      if (t >= 60) {
        expect(out.every((p) => p.problem === undefined)).toBe(true);
        totals.push(out.reduce((s, p) => s + p.prompt!.count / p.windowSeconds!, 0));
      }
    }
    for (const total of totals) expect(total).toBeCloseTo(10, 9);
    // Once its last snapshot is older than the span's start, the pod that left is forgotten.
    expect(h.size).toBe(1);
  });
});
