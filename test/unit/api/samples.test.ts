/** config/samples: every inferscale sample resolves cleanly (no issue, no warning). */
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatIssues, resolvePodAutoscaler } from '../../../src/api/resolve.js';
import type { ResolvedPodAutoscaler } from '../../../src/api/resolved.js';

const DIR = 'config/samples';
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function load(file: string): ResolvedPodAutoscaler {
  const r = resolvePodAutoscaler(parse(readFileSync(`${DIR}/${file}`, 'utf8')));
  if (!r.ok) throw new Error(`${file}:\n${formatIssues(r.issues)}`);
  expect(formatIssues(r.warnings, 'warning'), file).toBe('');
  return r.value;
}

describe('config/samples', () => {
  it('has the samples the docs point to', () => {
    expect(files).toEqual([
      'apa.yaml',
      'dry-run.yaml',
      'hpa-behavior.yaml',
      'kpa-vllm.yaml',
      'optimizer.yaml',
      'scale-to-zero.yaml',
      'scheduled-bounds.yaml',
    ]);
  });

  it.each(files)('%s is an inferscale PodAutoscaler that resolves without warnings', (file) => {
    expect(load(file).apiGroup).toBe('autoscaling.inferscale.dev');
  });

  it('kpa-vllm.yaml: two vLLM metrics, KPA parameters', () => {
    const v = load('kpa-vllm.yaml');
    expect(v.metrics.map((m) => m.targetMetric)).toEqual([
      'vllm:num_requests_running',
      'vllm:kv_cache_usage_perc',
    ]);
    expect(v.kpa).toMatchObject({ maxScaleUpRate: 4, panicWindowSeconds: 60 });
  });

  it('hpa-behavior.yaml: the spec behavior, defaults elsewhere', () => {
    const v = load('hpa-behavior.yaml');
    expect(v.behavior.scaleUp.policies).toHaveLength(2);
    expect(v.behavior.scaleDown).toMatchObject({
      stabilizationWindowSeconds: 600,
      selectPolicy: 'Max',
      tolerance: 0.15,
    });
  });

  it('scheduled-bounds.yaml: two schedules in minutes', () => {
    expect(load('scheduled-bounds.yaml').schedules.map((s) => [s.name, s.startMinute, s.endMinute])).toEqual([
      ['business-hours', 480, 1140],
      ['weekend', 0, 1439],
    ]);
  });

  it('scale-to-zero.yaml: min 0, grace 600 s, a Prometheus source and a fallback', () => {
    const v = load('scale-to-zero.yaml');
    expect(v).toMatchObject({
      minReplicas: 0,
      scaleToZero: { enabled: true, gracePeriodSeconds: 600 },
      fallback: { afterSeconds: 300, replicas: 1 },
    });
    expect(v.metrics[0]).toMatchObject({ type: 'prometheus', targetType: 'AverageValue' });
  });

  it('dry-run.yaml and apa.yaml', () => {
    expect(load('dry-run.yaml')).toMatchObject({ dryRun: true, metricTtlSeconds: 20 });
    expect(load('apa.yaml').apa).toEqual({
      windowSeconds: 60,
      maxScaleUpRate: 2,
      maxScaleDownRate: 1.5,
      upTolerance: 0.1,
      downTolerance: 0.3,
    });
  });
});
