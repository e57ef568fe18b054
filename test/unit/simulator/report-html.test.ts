import { describe, expect, it } from 'vitest';
import { fixedColdStart } from '../../../simulator/cluster/coldstart.js';
import type { SimRequest } from '../../../simulator/cluster/replica.js';
import { generatedSpec, resolveSpec } from '../../../simulator/cluster/specs.js';
import { isOracle, runComparison } from '../../../simulator/report/compare.js';
import { renderHtml } from '../../../simulator/report/html.js';
import { fakeFactory } from './support/fake-replica.js';

function ramp(): SimRequest[] {
  // 1 req/s for 2 minutes, 6 req/s for 2 minutes, 1 req/s for 2 minutes.
  const out: SimRequest[] = [];
  let t = 0;
  for (const [rate, secs] of [
    [1, 120],
    [6, 120],
    [1, 120],
  ] as const) {
    for (let i = 0; i < rate * secs; i++) {
      out.push({ id: out.length, arrivalMs: t + (i * 1000) / rate, inputTokens: 10, outputTokens: 201 });
    }
    t += secs * 1000;
  }
  return out;
}

describe('comparison report', () => {
  it('runs every spec on the same arrivals, computes the oracle and renders a self-contained page', async () => {
    const specs = (['KPA', 'APA', 'HPA'] as const).map((s) => ({
      name: `<${s}>`,
      source: 'generated',
      pa: resolveSpec(
        generatedSpec(s, { metric: 'kv_cache_usage', target: 0.5, minReplicas: 1, maxReplicas: 12 }),
        s,
      ),
    }));
    const report = await runComparison({
      trace: { name: 'ramp', requests: ramp() },
      specs,
      factory: fakeFactory({ slots: 4, prefillMs: 100, itlMs: 10 }, 2),
      coldStart: () => fixedColdStart(20_000),
      router: 'least-requests',
      seed: 1,
      tickMs: 15_000,
      slo: { ttftMs: 1000, itlMs: 50 },
      capacityProbeRequests: 300,
    });
    expect(report.runs.map((r) => r.summary.name)).toEqual(['<KPA>', '<APA>', '<HPA>']);
    for (const r of report.runs) {
      expect(r.summary.requests).toBe(960);
      expect(r.summary.completed).toBe(960);
      expect(r.summary.scaleUps).toBeGreaterThan(0);
      expect(r.summary.slo.attainment).not.toBeNull();
      expect(r.summary.costVsOracle).not.toBeNull();
      expect(r.latency.timeS.length).toBeGreaterThan(5);
    }
    expect(isOracle(report.oracle)).toBe(true);
    if (!isOracle(report.oracle)) return;
    // At 6 req/s of ~2.1 s requests about 13 are in flight: more than one 4-slot replica holds.
    expect(report.oracle.peakReplicas).toBeGreaterThan(1);
    expect(report.oracle.needs.length).toBe(Math.ceil(360_000 / 15_000));
    expect(report.oracle.costUsd).toBeCloseTo((report.oracle.replicaSeconds / 3600) * 2, 5);
    expect(report.input.slo).toEqual({ ttftS: 1, itlS: 0.05, goal: 0.99 });

    const html = await renderHtml(report);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    // Three replica charts, the latency chart and the cost chart.
    expect(html.match(/<svg[\s>]/g)?.length).toBe(5);
    expect(html).not.toMatch(/<script|<link|<img|src=|@import/i);
    expect(html).toContain('&lt;KPA&gt;');
    expect(html).not.toContain('<KPA>');
    expect(html).toContain('Cost against SLO attainment');
    expect(html).toContain('oracle cost');
  });

  it('explains a skipped oracle', async () => {
    const report = await runComparison({
      trace: { name: 'tiny', requests: ramp().slice(0, 50) },
      specs: [
        {
          name: 'hpa',
          source: 'generated',
          pa: resolveSpec(
            generatedSpec('HPA', { metric: 'kv_cache_usage', target: 0.5, minReplicas: 1, maxReplicas: 2 }),
            'h',
          ),
        },
      ],
      factory: fakeFactory(),
      coldStart: () => fixedColdStart(0),
      router: 'round-robin',
      seed: 1,
      tickMs: 15_000,
      slo: { ttftMs: 10, itlMs: 50 },
      capacityProbeRequests: 100,
    });
    expect(isOracle(report.oracle)).toBe(false);
    expect(report.runs[0]!.summary.costVsOracle).toBeNull();
    const html = await renderHtml(report);
    expect(html).toContain('Oracle not computed');
  });
});
