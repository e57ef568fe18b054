/** inferscale's own metrics and the health server, read back through our exposition parser. */
import { describe, expect, it } from 'vitest';
import { findFamily, parseExposition, valueSamples } from '../../../src/metrics/exposition.js';
import { InferscaleMetrics } from '../../../src/observability/metrics.js';
import { startHealthServer } from '../../../src/observability/server.js';

async function page(m: InferscaleMetrics) {
  return parseExposition((await m.render()).body);
}

describe('InferscaleMetrics', () => {
  it('records decisions, replicas and panic per PodAutoscaler', async () => {
    const m = new InferscaleMetrics({ defaultMetrics: false });
    const pa = { namespace: 'team-a', name: 'llama' };
    m.recordDecision(pa, 5, 3, 'scale-up', true);
    m.recordDecision(pa, 5, 5, 'within-tolerance', false);
    m.recordDecision(pa, 5, 5, 'within-tolerance', false);
    const exp = await page(m);
    const one = (name: string) => valueSamples(findFamily(exp, name)!);
    expect(one('inferscale_desired_replicas')).toEqual([
      { name: 'inferscale_desired_replicas', labels: { namespace: 'team-a', name: 'llama' }, value: 5 },
    ]);
    expect(one('inferscale_current_replicas')[0]?.value).toBe(5);
    expect(one('inferscale_panic_mode')[0]?.value).toBe(0);
    expect(one('inferscale_decisions_total').map((s) => [s.labels.reason, s.value])).toEqual([
      ['scale-up', 1],
      ['within-tolerance', 2],
    ]);
    expect(findFamily(exp, 'inferscale_decisions_total')?.type).toBe('counter');
  });

  it('caps distinct reasons per PodAutoscaler and forgets deleted ones', async () => {
    const m = new InferscaleMetrics({ defaultMetrics: false });
    const pa = { namespace: 'ns', name: 'x' };
    for (let i = 0; i < 40; i++) m.recordDecision(pa, 1, 1, `reason-${i}`, false);
    const reasons = valueSamples(findFamily(await page(m), 'inferscale_decisions_total')!).map(
      (s) => s.labels.reason,
    );
    expect(reasons).toHaveLength(33);
    expect(reasons).toContain('other');
    m.forgetPodAutoscaler(pa);
    const after = await page(m);
    expect(valueSamples(findFamily(after, 'inferscale_decisions_total')!)).toEqual([]);
    expect(valueSamples(findFamily(after, 'inferscale_desired_replicas')!)).toEqual([]);
  });

  it('observes scrapes per source and ticks, in seconds', async () => {
    const m = new InferscaleMetrics({ defaultMetrics: false });
    m.observeScrape('pod', 0.004, true);
    m.observeScrape('pod', 0.3, false);
    m.observeScrape('prometheus', 0.02, true);
    m.observeTick(0.12, true);
    m.observeTick(2, false);
    const exp = await page(m);
    const scrape = findFamily(exp, 'inferscale_scrape_duration_seconds')!;
    expect(scrape.type).toBe('histogram');
    expect(scrape.histograms!.map((h) => [h.labels.source, h.count])).toEqual([
      ['pod', 2],
      ['prometheus', 1],
    ]);
    expect(
      valueSamples(findFamily(exp, 'inferscale_scrape_errors_total')!).map((s) => [s.labels.source, s.value]),
    ).toEqual([['pod', 1]]);
    expect(valueSamples(findFamily(exp, 'inferscale_scrapes_total')!).map((s) => s.value)).toEqual([2, 1]);
    expect(findFamily(exp, 'inferscale_tick_duration_seconds')!.histograms![0]!.sum).toBeCloseTo(2.12, 9);
    expect(valueSamples(findFamily(exp, 'inferscale_tick_errors_total')!)[0]?.value).toBe(1);
    // Every family of ours carries the prefix and, for counters, the _total suffix.
    for (const f of exp.families.values()) {
      expect(f.name).toMatch(/^inferscale_/);
      if (f.type === 'counter') expect(f.name).toMatch(/_total$/);
    }
  });

  it('includes the default process metrics', async () => {
    const m = new InferscaleMetrics();
    const exp = await page(m);
    expect(findFamily(exp, 'process_cpu_seconds_total')).toBeDefined();
    expect(findFamily(exp, 'nodejs_eventloop_lag_seconds')).toBeDefined();
  });
});

describe('startHealthServer', () => {
  it('serves /metrics, /healthz and /readyz, and closes', async () => {
    let ready = false;
    const m = new InferscaleMetrics({ defaultMetrics: false });
    m.observeTick(0.5, true);
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', ready: () => ready, metrics: m });
    try {
      const get = async (path: string, init?: RequestInit) => {
        const res = await fetch(server.url + path, init);
        return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
      };
      expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
      expect(await get('/readyz')).toMatchObject({ status: 503 });
      ready = true;
      expect(await get('/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
      const metrics = await get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(findFamily(parseExposition(metrics.body), 'inferscale_ticks_total')).toBeDefined();
      expect((await get('/nope')).status).toBe(404);
      expect((await get('/metrics', { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
    await expect(fetch(server.url + '/healthz')).rejects.toThrow();
  });

  it('fails clearly when the port is taken', async () => {
    const a = await startHealthServer({ port: 0, host: '127.0.0.1', ready: () => true });
    try {
      await expect(startHealthServer({ port: a.port, host: '127.0.0.1', ready: () => true })).rejects.toThrow(
        /health server cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
      );
    } finally {
      await a.close();
    }
  });
});
