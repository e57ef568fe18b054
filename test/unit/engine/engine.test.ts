import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { ScalingEngine } from '../../../src/engine/engine.js';
import {
  ManualClock,
  MemoryPodSource,
  MemoryScaleTarget,
  TableMetricSource,
} from '../../../src/engine/memory.js';
import { resolvePodAutoscaler } from '../../../src/api/resolve.js';
import type { ResolvedPodAutoscaler } from '../../../src/api/resolved.js';
import { parseDecideDocument, runDecide, type DecideLine } from '../../../src/engine/decide-run.js';
import type { PodInfo } from '../../../src/engine/seams.js';

function pa(spec: Record<string, unknown>, extra: Record<string, unknown> = {}): ResolvedPodAutoscaler {
  const r = resolvePodAutoscaler({
    apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
    kind: 'PodAutoscaler',
    metadata: { name: 'pa', namespace: 'ns', ...extra },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llm' },
      minReplicas: 1,
      maxReplicas: 10,
      metricsSources: [
        {
          metricSourceType: 'pod',
          protocolType: 'http',
          port: '8000',
          path: '/metrics',
          targetMetric: 'vllm:num_requests_running',
          targetValue: '10',
        },
      ],
      ...spec,
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

function pod(name: string, ready = true): PodInfo {
  return { name, namespace: 'ns', ip: '127.0.0.2', phase: 'Running', ready, terminating: false, labels: {} };
}

function rig(replicas: number) {
  const clock = new ManualClock(1_000_000);
  const pods = new MemoryPodSource();
  const metrics = new TableMetricSource();
  const scale = new MemoryScaleTarget({ replicas, selector: 'app=llm' });
  const engine = new ScalingEngine({ clock, pods, metrics, scale });
  const setLoad = (values: (number | null)[], notReady = 0) => {
    pods.pods = [
      ...values.map((_, i) => pod(`p${i}`)),
      ...Array.from({ length: notReady }, (_, i) => pod(`s${i}`, false)),
    ];
    metrics.podValues = new Map(values.map((v, i) => [`p${i}`, { 'vllm:num_requests_running': v }]));
  };
  return { clock, pods, metrics, scale, engine, setLoad };
}

describe('ScalingEngine', () => {
  it('scales on total demand (KPA sums over pods) and writes through the ScaleTarget', async () => {
    const r = rig(4);
    const spec = pa({ scalingStrategy: 'KPA' });
    r.setLoad([12, 12, 12, 12]);
    const res = await r.engine.tick(spec);
    // 48 requests at 10 per pod → 5 replicas. AIBrix's mean-as-total would ask for 2 (W-1).
    expect(res.desiredReplicas).toBe(5);
    expect(res.scaled).toBe(true);
    expect(r.scale.state.replicas).toBe(5);
  });

  it('never reads a failed scrape as zero: with no last good value it holds, never scales down', async () => {
    const r = rig(4);
    const spec = pa({ scalingStrategy: 'APA' });
    r.setLoad([null, null, null, null]);
    const res = await r.engine.tick(spec);
    expect(res.desiredReplicas).toBe(4);
    expect(res.decision?.reason).toMatch(/metrics unavailable/);
    expect(r.scale.writes).toHaveLength(0);
  });

  it('does not scale down while some pods are missing, even if the known ones are idle', async () => {
    const r = rig(4);
    const spec = pa({ scalingStrategy: 'HPA' });
    r.setLoad([0, 0, null, null]);
    const res = await r.engine.tick(spec);
    expect(res.desiredReplicas).toBeGreaterThanOrEqual(4);
  });

  it('uses the last good value within the TTL and forgets it after', async () => {
    const r = rig(2);
    const spec = pa({ scalingStrategy: 'HPA', metricTtlSeconds: 30 });
    r.setLoad([30, 30]);
    expect((await r.engine.tick(spec)).desiredReplicas).toBe(6);
    // Someone scaled it back by hand; 20 s later (past the 15 s rate-limit period, inside the TTL)
    // p0's scrape fails: its 30 stands in.
    r.scale.state.replicas = 2;
    r.clock.advance(20_000);
    r.setLoad([null, 30]);
    const held = await r.engine.tick(spec);
    expect(held.desiredReplicas).toBe(6);
    expect(held.decision?.metrics[0]?.errors.join()).toMatch(/p0/);
    // 40 s after its last good read p0 is unknown: only p1 counts and nothing scales down.
    r.scale.state.replicas = 2;
    r.clock.advance(20_000);
    r.setLoad([null, 5]);
    const after = await r.engine.tick(spec);
    expect(after.decision?.metrics[0]?.partial).toBe(true);
    expect(after.desiredReplicas).toBe(2);
  });

  it('counts starting pods as coming capacity: no second scale-up for the same demand (AIBrix #2670)', async () => {
    const r = rig(2);
    const spec = pa({ scalingStrategy: 'APA' });
    r.setLoad([20, 20]);
    const first = await r.engine.tick(spec);
    expect(first.desiredReplicas).toBe(4);
    // Two new replicas are loading; the two ready ones are still at 20.
    r.clock.advance(15_000);
    r.setLoad([20, 20], 2);
    const second = await r.engine.tick(spec);
    expect(second.startingPods).toBe(2);
    expect(second.desiredReplicas).toBe(4);
  });

  it('shadow mode decides but never writes', async () => {
    const r = rig(2);
    const spec = pa({ scalingStrategy: 'KPA', dryRun: true });
    r.setLoad([50, 50]);
    const res = await r.engine.tick(spec);
    expect(res.desiredReplicas).toBeGreaterThan(2);
    expect(res.scaled).toBe(false);
    expect(r.scale.writes).toHaveLength(0);
  });

  it('reports a failed write without losing the decision', async () => {
    const r = rig(2);
    r.scale.set = async () => {
      throw new Error('409 conflict');
    };
    r.setLoad([50, 50]);
    const res = await r.engine.tick(pa({ scalingStrategy: 'KPA' }));
    expect(res.error?.stage).toBe('write-scale');
    expect(res.error?.message).toMatch(/409/);
    expect(res.desiredReplicas).toBeGreaterThan(2);
  });

  it('applies the fallback size after every metric has been missing for afterSeconds', async () => {
    const r = rig(3);
    const spec = pa({ scalingStrategy: 'HPA', fallback: { afterSeconds: 60, replicas: 5 } });
    r.setLoad([null, null, null]);
    expect((await r.engine.tick(spec)).desiredReplicas).toBe(3);
    r.clock.advance(61_000);
    const res = await r.engine.tick(spec);
    expect(res.desiredReplicas).toBe(5);
    expect(res.decision?.reason).toMatch(/fallback/);
  });

  it('clamps to the bounds before any metric work', async () => {
    const r = rig(12);
    r.setLoad([1]);
    const res = await r.engine.tick(pa({ scalingStrategy: 'KPA' }));
    expect(res.desiredReplicas).toBe(10);
    expect(res.decision?.algorithm).toBe('boundary-check');
  });

  it('property: whatever the load and the missing pods, the result stays in bounds and missing data never scales down', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('KPA', 'APA', 'HPA'),
        fc.integer({ min: 1, max: 10 }),
        fc.array(
          fc.array(fc.option(fc.double({ min: 0, max: 200, noNaN: true }), { nil: null }), {
            minLength: 1,
            maxLength: 8,
          }),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        async (strategy, start, ticks) => {
          const r = rig(start);
          const spec = pa({ scalingStrategy: strategy, minReplicas: 1, maxReplicas: 10 });
          for (const values of ticks) {
            r.clock.advance(15_000);
            const before = r.scale.state.replicas;
            r.setLoad(values);
            const res = await r.engine.tick(spec);
            expect(res.desiredReplicas).toBeGreaterThanOrEqual(1);
            expect(res.desiredReplicas).toBeLessThanOrEqual(10);
            if (values.some((v) => v === null) && before >= 1 && before <= 10) {
              expect(res.desiredReplicas).toBeGreaterThanOrEqual(before);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('inferscale decide runner', () => {
  async function lines(path: string): Promise<DecideLine[]> {
    const doc = parseDecideDocument(await readFile(path, 'utf8'), path);
    const out: DecideLine[] = [];
    for await (const l of runDecide(doc)) out.push(l);
    return out;
  }

  it('runs the documented KPA example', async () => {
    const out = await lines('docs/examples/decide-kpa.yaml');
    expect(out.map((l) => l.desiredReplicas)).toEqual([4, 4, 4]);
    expect(out[0]).toMatchObject({ algorithm: 'kpa', panicMode: true, totalDemand: 26 });
    expect(out[1]!.startingPods).toBe(2);
    expect(out[2]!.metrics![0]!.errors.join()).toMatch(/p1/);
  });

  it('runs the documented AIBrix APA example with AIBrix’s answer', async () => {
    const out = await lines('docs/examples/decide-apa-aibrix.json');
    expect(out[0]).toMatchObject({ desiredReplicas: 7, algorithm: 'apa', ratio: 1.6 });
  });

  it('rejects a bad PodAutoscaler naming the field', async () => {
    const doc = parseDecideDocument(
      JSON.stringify({
        podAutoscaler: {
          apiVersion: 'autoscaling.aibrix.ai/v1alpha1',
          kind: 'PodAutoscaler',
          metadata: { name: 'x', namespace: 'd' },
          spec: { scaleTargetRef: { kind: 'Deployment', name: 'y' }, maxReplicas: 0, scalingStrategy: 'KPA' },
        },
        ticks: [{ time: 0 }],
      }),
      'doc.json',
    );
    await expect(async () => {
      for await (const _ of runDecide(doc)) void _;
    }).rejects.toThrow(/maxReplicas/);
  });

  it('rejects ticks that go back in time with the index', () => {
    expect(() =>
      parseDecideDocument(JSON.stringify({ podAutoscaler: {}, ticks: [{ time: 5 }, { time: 1 }] }), 'd.json'),
    ).toThrow(/ticks\[1\]\.time/);
  });
});
