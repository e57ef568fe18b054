import { describe, expect, it } from 'vitest';
import type { ResolvedMetricSource } from '../../../src/api/resolved.js';
import type { MetricReading, MetricRequest, MetricSource } from '../../../src/engine/seams.js';
import { createMetricSources, MetricSources } from '../../../src/metrics/sources.js';

const req = (
  type: ResolvedMetricSource['type'],
  over: Partial<ResolvedMetricSource> = {},
): MetricRequest => ({
  owner: { namespace: 'ns', name: 'pa' },
  source: {
    type,
    targetMetric: 'm',
    targetValue: 1,
    targetType: 'AverageValue',
    protocol: 'http',
    path: '/metrics',
    ...over,
  },
  pods: [],
  nowMs: 0,
  deadlineMs: 1000,
});

describe('MetricSources', () => {
  it('dispatches on source.type', async () => {
    const seen: string[] = [];
    const fake = (name: string): MetricSource => ({
      read: async (): Promise<MetricReading> => {
        seen.push(name);
        return { sample: { scope: 'global', value: 1 }, errors: [] };
      },
    });
    const s = new MetricSources({ pod: fake('pod'), external: fake('external') });
    await s.read(req('external'));
    await s.read(req('pod'));
    expect(seen).toEqual(['external', 'pod']);
    expect(await s.read(req('custom'))).toEqual({
      sample: undefined,
      errors: ['custom metric sources are not available: no fetcher configured'],
    });
  });

  it('wires the production fetchers; resource/custom need a kubeconfig, external an allowlist', async () => {
    const observed: [string, boolean][] = [];
    const sources = createMetricSources({ observeScrape: (s, _sec, ok) => observed.push([s, ok]) });
    try {
      expect((await sources.read(req('resource'))).errors[0]).toMatch(/no Kubernetes configuration/);
      const ext = await sources.read(req('external', { endpoint: '127.0.0.1:1' }));
      expect(ext.errors[0]).toMatch(/not in the external-source egress allowlist/);
      const prom = await sources.read(req('prometheus', { query: 'up' }));
      expect(prom.errors[0]).toMatch(/no Prometheus endpoint/);
      expect(await sources.read(req('pod'))).toEqual({ sample: { scope: 'pods', pods: [] }, errors: [] });
      expect(observed).toEqual([]); // nothing was fetched
    } finally {
      sources.close();
    }
  });
});
