import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseTargets } from '../../../src/daemon/config.js';
import { watchFile, type FileWatcher } from '../../../src/daemon/watch.js';
import { deployment, groupSpec } from '../engine/group-rig.js';
import { hpaTarget as pa } from './daemon-fixtures.js';

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

  it('a model group claims every Deployment it lists: a clash either way names the field', () => {
    // groupSpec: A10G on spec.scaleTargetRef (llama-a10g), H100 on optimizer.targets[1] (llama-h100).
    const group = (name: string) => JSON.stringify(groupSpec({}, {}, name));
    const singleFirst = parseTargets(`${pa('s', 'llama-h100')}---\n${group('g')}`, 't.yaml', 'ns');
    expect(singleFirst.ok === false && singleFirst.errors).toEqual([
      't.yaml: document 2 (ns/g): spec.optimizer.targets[1].scaleTargetRef: apps/Deployment/ns/llama-h100 is already scaled by t.yaml: document 1 (ns/s); two autoscalers on one target would fight over its replicas',
    ]);
    const groupFirst = parseTargets(`${group('g')}\n---\n${pa('s', 'llama-h100')}`, 't.yaml', 'ns');
    expect(groupFirst.ok === false && groupFirst.errors[0]).toMatch(
      /^t\.yaml: document 2 \(ns\/s\): spec\.scaleTargetRef: apps\/Deployment\/ns\/llama-h100 is already scaled by t\.yaml: document 1 \(ns\/g\) as its H100 Deployment;/,
    );
    const twoGroups = parseTargets(`${group('g')}\n---\n${group('h')}`, 't.yaml', 'ns');
    expect(twoGroups.ok === false && twoGroups.errors.map((e) => e.split(': apps')[0])).toEqual([
      't.yaml: document 2 (ns/h): spec.scaleTargetRef',
      't.yaml: document 2 (ns/h): spec.optimizer.targets[1].scaleTargetRef',
    ]);
    const apart = parseTargets(`${group('g')}\n---\n${pa('s', 'other')}`, 't.yaml', 'ns');
    expect(apart.ok && apart.podAutoscalers.map((p) => p.strategy)).toEqual(['OPTIMIZER', 'HPA']);
  });

  it('names the field of an invalid model group', () => {
    const bad = groupSpec({
      targets: [{ gpu: 'A10G' }, { gpu: 'a10g', scaleTargetRef: deployment('x') }],
    });
    const r = parseTargets(JSON.stringify(bad), 't.yaml', 'ns');
    expect(r.ok === false && r.errors).toEqual([
      expect.stringMatching(
        /^t\.yaml: document 1 \(ns\/group\): spec\.optimizer\.targets\[1\]\.gpu: .*both have gpu/,
      ),
    ]);
  });

  it('warns (does not fail) about profile paths of a model group that do not exist', () => {
    const spec = groupSpec({
      profiles: ['profiles', '/etc/inferscale/profiles'],
      targets: [
        { gpu: 'A10G' },
        { gpu: 'H100', scaleTargetRef: deployment('llama-h100'), profile: 'h100.yaml' },
      ],
    });
    const exists = (p: string) => p === 'profiles';
    const r = parseTargets(JSON.stringify(spec), 't.yaml', 'ns', { pathExists: exists });
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.split(' does not exist')[0])).toEqual([
      't.yaml: document 1 (ns/group): spec.optimizer.profiles[1]: /etc/inferscale/profiles',
      't.yaml: document 1 (ns/group): spec.optimizer.targets[1].profile: h100.yaml',
    ]);
    expect(r.warnings[1]).toMatch(/relative paths are read from the working directory.*\(NoProfile\)$/);
    const defaults = parseTargets(JSON.stringify(groupSpec()), 't.yaml', 'ns', { pathExists: () => false });
    expect(defaults.warnings[0]).toMatch(
      /spec\.optimizer\.profiles \(default\): config\/profiles does not exist/,
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
