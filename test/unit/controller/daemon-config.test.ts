import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseTargets } from '../../../src/daemon/config.js';
import { watchFile, type FileWatcher } from '../../../src/daemon/watch.js';

const pa = (name: string, target: string, extra = '') => `
apiVersion: autoscaling.inferscale.dev/v1alpha1
kind: PodAutoscaler
metadata:
  name: ${name}${extra}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: ${target}}
  maxReplicas: 4
  scalingStrategy: HPA
  metricsSources:
    - {metricSourceType: pod, port: 8000, targetMetric: gpu_cache_usage_perc, targetValue: '0.5'}
`;

describe('parseTargets', () => {
  it('accepts documents, a List, and a bare list; fills the default namespace', () => {
    const asItem = (doc: string) =>
      doc
        .trim()
        .split('\n')
        .map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`))
        .join('\n');
    const text = [
      pa('a', 'da'),
      `kind: List\nitems:\n${asItem(pa('b', 'db'))}\n`,
      `${asItem(pa('c', 'dc'))}\n`,
      '',
    ].join('---\n');
    const r = parseTargets(text, 'targets.yaml', 'serving');
    expect(r.ok ? [] : r.errors).toEqual([]);
    if (!r.ok) return;
    expect(r.podAutoscalers.map((p) => `${p.namespace}/${p.name}`)).toEqual([
      'serving/a',
      'serving/b',
      'serving/c',
    ]);
    expect(r.podAutoscalers[0]!.scaleTargetRef.name).toBe('da');
  });

  it('reports every problem with file, document, object and field path', () => {
    const bad = pa('a', 'da').replace('maxReplicas: 4', 'maxReplicas: 0');
    const r = parseTargets(
      `${bad}---\n${pa('b', 'db').replace("targetValue: '0.5'", "targetValue: 'high'")}`,
      't.yaml',
      'ns',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(2);
    expect(r.errors[0]).toMatch(/^t\.yaml: document 1 \(ns\/a\): spec\.maxReplicas: /);
    expect(r.errors[1]).toMatch(/^t\.yaml: document 2 \(ns\/b\): spec\.metricsSources\[0\]\.targetValue: /);
  });

  it('names YAML syntax errors by document', () => {
    const r = parseTargets(`${pa('a', 'da')}---\nkind: [unclosed\n`, 't.yaml', 'ns');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatch(/^t\.yaml: document 2: YAML error: /);
  });

  it('rejects duplicate names and two autoscalers on one target', () => {
    const dupName = parseTargets(`${pa('a', 'da')}---\n${pa('a', 'db')}`, 't.yaml', 'ns');
    expect(dupName.ok === false && dupName.errors[0]).toMatch(
      /ns\/a is defined twice \(also at t\.yaml: document 1\)/,
    );
    const dupTarget = parseTargets(`${pa('a', 'da')}---\n${pa('b', 'da')}`, 't.yaml', 'ns');
    expect(dupTarget.ok === false && dupTarget.errors[0]).toMatch(
      /apps\/Deployment\/ns\/da is already scaled by t\.yaml: document 1 \(ns\/a\)/,
    );
  });

  it('an empty file is valid but warned about', () => {
    const r = parseTargets('', 't.yaml', 'ns');
    expect(r).toMatchObject({ ok: true, podAutoscalers: [] });
    expect(r.warnings[0]).toMatch(/no PodAutoscaler defined/);
  });
});

describe('watchFile', () => {
  let dir: string | undefined;
  let w: FileWatcher | undefined;
  afterEach(async () => {
    w?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('fires once per content change, for in-place writes and atomic renames, not for touches', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferscale-watch-'));
    const file = path.join(dir, 'targets.yaml');
    await writeFile(file, 'a');
    let changes = 0;
    w = await watchFile(file, () => changes++, { debounceMs: 20, pollMs: 100 });
    await writeFile(file, 'b');
    await vi.waitFor(() => expect(changes).toBe(1));
    await writeFile(file, 'b'); // same bytes
    await new Promise((r) => setTimeout(r, 250));
    expect(changes).toBe(1);
    await writeFile(path.join(dir, 'tmp'), 'c');
    await rename(path.join(dir, 'tmp'), file); // how editors and ConfigMap volumes replace files
    await vi.waitFor(() => expect(changes).toBe(2));
  });
});
