/**
 * The pod scraper's fast path (decode only the wanted families' segments) must read exactly what a
 * parse of the whole page reads.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { familiesOf, listedSignals, resolveTargetMetric } from '../../../src/metrics/catalogue.js';
import { parseExposition } from '../../../src/metrics/exposition.js';
import { endsWithEof, segmentFinder } from '../../../src/metrics/segments.js';
import { takeSnapshot } from '../../../src/metrics/signals.js';
import { newEngine, renderVllmV1 } from './support/vllm-page.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/metrics/${name}`, import.meta.url));

const metrics = [
  ...listedSignals().map((s) => s.name),
  'gpu_cache_usage_perc',
  'vllm:num_requests_waiting',
  'num_requests_swapped',
  'http_requests_total',
  'vllm:cache_config_info',
  'vllm:request_queue_time_seconds',
];

describe('segmentFinder', () => {
  it.each(['vllm-v1.txt', 'vllm-v0.txt', 'sglang.txt', 'multi-model.txt', 'openmetrics.txt'])(
    '%s: every metric reads the same from segments as from the whole page',
    (name) => {
      const bytes = fixture(name);
      const om = endsWithEof(bytes);
      let viaSegments = 0;
      for (const m of metrics) {
        const metric = resolveTargetMetric(m);
        const want = new Set(familiesOf(metric));
        const wantFamily = (n: string): boolean => want.has(n);
        const whole = parseExposition(bytes.toString('utf8'), { wantFamily });
        const seg = segmentFinder(familiesOf(metric)).extract(bytes);
        if (seg === undefined) continue;
        viaSegments++;
        const part = parseExposition(seg, {
          format: om ? 'openmetrics' : 'prometheus',
          requireEof: false,
          wantFamily,
        });
        for (const model of [undefined, 'meta-llama/Llama-3.1-8B-Instruct']) {
          const opts = model === undefined ? { atMs: 1 } : { atMs: 1, modelName: model };
          expect(takeSnapshot(metric, part, opts), `${m} ${model ?? ''}`).toEqual(
            takeSnapshot(metric, whole, opts),
          );
        }
      }
      expect(viaSegments).toBeGreaterThan(name === 'openmetrics.txt' ? 0 : 10);
    },
  );

  it('keeps HELP and UNIT lines of the same family inside the segment, and stops at the next family', () => {
    const page = Buffer.from(
      [
        '# TYPE a gauge',
        '# UNIT a seconds',
        '# HELP a text',
        'a 1',
        '# HELP ab other',
        '# TYPE ab gauge',
        'ab 2',
        '',
      ].join('\n'),
    );
    expect(segmentFinder(['a']).extract(page)).toBe('# TYPE a gauge\n# UNIT a seconds\n# HELP a text\na 1\n');
    expect(segmentFinder(['ab']).extract(page)).toBe('# TYPE ab gauge\nab 2\n');
    expect(segmentFinder(['zz']).extract(page)).toBeUndefined();
  });

  it('only matches TYPE lines at the start of a line', () => {
    const page = Buffer.from('x{v="# TYPE a gauge "} 1\n# TYPE a gauge\na 3\n');
    expect(segmentFinder(['a']).extract(page)).toBe('# TYPE a gauge\na 3\n');
  });

  it('recognises OpenMetrics pages by their # EOF line', () => {
    expect(endsWithEof(fixture('openmetrics.txt'))).toBe(true);
    expect(endsWithEof(Buffer.from(renderVllmV1([newEngine('m')])))).toBe(false);
    expect(endsWithEof(Buffer.from('a 1\n# EOF\r\n'))).toBe(true);
  });
});
