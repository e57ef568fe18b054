/**
 * `inferscale daemon --state-file`: the daemon loop on in-memory seams, stopped and started again
 * on the same cluster, resumes the decision state it checkpointed (so it keeps holding a scale-down
 * a cold start would make at once); an unusable file or snapshot means a cold start with a line
 * naming the target and the reason; a failed write keeps the previous file.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { parseTargets } from '../../../src/daemon/config.js';
import { DaemonLoop } from '../../../src/daemon/loop.js';
import { DecisionStore } from '../../../src/daemon/decision-store.js';
import {
  assertStateFileWritable,
  nodeWriteOps,
  readStateFile,
  writeFileAtomic,
  type AtomicWriteOps,
} from '../../../src/daemon/state-file.js';
import { autoscalerMetrics, loopEngines } from '../../../src/controller/loop-parts.js';
import { StaticProfileSource } from '../../../src/optimizer/profile-source.js';
import { PROFILES, groupSpec, groupWorld } from '../engine/group-rig.js';
import { hpaTarget } from './daemon-fixtures.js';
import { startDaemon } from '../../../src/daemon/daemon.js';
import { MemoryScaleTarget, TableMetricSource } from '../../../src/engine/memory.js';
import { startFakeApiserver } from '../k8s/fake-apiserver.js';

const KEY = 'ns/mistral';
const PERIOD = 15_000;

function targets(...docs: string[]) {
  const r = parseTargets(docs.join('\n---\n'), 't.yaml', 'ns');
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.podAutoscalers;
}

const single = targets(hpaTarget('mistral', 'mistral'));

type World = ReturnType<typeof groupWorld>;

function world(): World {
  const w = groupWorld(1, 0);
  w.cluster.add('mistral', 1);
  return w;
}

/** Every pod of `mistral` at `usage` (target 0.5). */
function load(w: World, usage: number): void {
  for (const p of w.cluster.deployments.get('mistral')!.pods) {
    w.metrics.podValues.set(p, { gpu_cache_usage_perc: usage });
  }
}

/** One daemon process: fresh engines and loop on the shared world, with a store unless `path` is undefined. */
function daemon(w: World, path: string | undefined, o: { intervalMs?: number; ops?: AtomicWriteOps } = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const log: Logger = pino(
    { base: undefined, level: 'debug' },
    { write: (s: string) => void lines.push(JSON.parse(s)) },
  );
  const engines = loopEngines({
    clock: w.clock,
    pods: w.cluster,
    scale: w.cluster,
    metrics: w.metrics,
    log,
    tokens: w.tokens,
    profiles: new StaticProfileSource([...PROFILES]),
  });
  const store: DecisionStore | undefined =
    path === undefined
      ? undefined
      : new DecisionStore({
          path,
          intervalMs: o.intervalMs ?? PERIOD,
          engine: engines.engine,
          clock: w.clock,
          log,
          podAutoscalers: () => loop.podAutoscalers(),
          ...(o.ops ? { ops: o.ops } : {}),
        });
  const loop: DaemonLoop = new DaemonLoop({
    engines,
    stats: autoscalerMetrics(undefined),
    metrics: w.metrics,
    schedule: { add: () => undefined, remove: () => undefined, trigger: () => undefined },
    log,
    ...(store ? { state: store } : {}),
  });
  const tick = async (key = KEY) => {
    await loop.tick(key);
    await store?.settled();
    w.clock.advance(PERIOD);
  };
  const replicas = () => w.cluster.deployments.get('mistral')!.replicas;
  const said = (msg: string) => lines.filter((l) => l.msg === msg);
  return { loop, store, tick, replicas, lines, said, engines };
}

function tmpFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'inferscale-state-')), 'state.json');
}

/** A daemon that scaled `mistral` up to 4 under load, then saw the load fall, then stopped. */
async function runThenStop(w: World, path: string): Promise<void> {
  const d = daemon(w, path);
  await d.store!.load();
  d.loop.apply(single);
  load(w, 0.9);
  await d.tick(); // 1 pod at 0.9 → 2
  load(w, 0.9);
  await d.tick(); // 2 pods at 0.9 → 4
  expect(d.replicas()).toBe(4);
  load(w, 0.1);
  await d.tick(); // wants 1; the 300 s scale-down window holds 4
  expect(d.replicas()).toBe(4);
  await d.store!.close();
}

/** A second process on the same world and file, after runThenStop; its file is read. */
async function restarted(o: { ops?: AtomicWriteOps } = {}) {
  const w = world();
  const path = tmpFile();
  await runThenStop(w, path);
  const d = daemon(w, path, o);
  await d.store!.load();
  return { w, path, d };
}

describe('daemon --state-file: restart', () => {
  it.each([
    ['restored from the state file', true, 4],
    ['cold (no state file)', false, 1],
  ])(
    'after a restart under low load: %s (persisted: %s) → %d replicas',
    async (_what, persisted, expected) => {
      const w = world();
      const path = tmpFile();
      await runThenStop(w, path);

      const d = daemon(w, persisted ? path : undefined);
      await d.store?.load();
      d.loop.apply(single);
      load(w, 0.1);
      await d.tick();
      expect(d.replicas()).toBe(expected);
      if (persisted) {
        expect(
          d.said('restored decision state (windows, panic state, timers, stabilisation) from the state file'),
        ).toEqual([
          expect.objectContaining({
            namespace: 'ns',
            name: 'mistral',
            apiGroup: 'autoscaling.inferscale.dev',
            file: path,
          }),
        ]);
      }
    },
  );

  it('shutdown writes a final checkpoint even with periodic ones off (interval 0)', async () => {
    const w = world();
    const path = tmpFile();
    const d = daemon(w, path, { intervalMs: 0 });
    await d.store!.load();
    d.loop.apply(single);
    load(w, 0.9);
    for (let i = 0; i < 5; i++) await d.tick();
    expect((await readStateFile(path)).ok).toBe(false);
    await d.store!.close();
    const read = await readStateFile(path);
    expect(read.ok && [...read.entries.keys()]).toEqual(['autoscaling.inferscale.dev/ns/mistral']);
  });

  it('checkpoints at most once per interval, only changed state, and drops removed targets', async () => {
    const w = world();
    w.cluster.add('other', 1);
    const path = tmpFile();
    const d = daemon(w, path, { intervalMs: 30_000 });
    const written = () => d.said('state file written').length;
    await d.store!.load();
    d.loop.apply([...single, ...targets(hpaTarget('other', 'other'))]);
    load(w, 0.9);
    await d.tick(); // t = 0: the interval runs from the start
    expect(written()).toBe(0);
    await d.tick(); // t = 15 s
    expect(written()).toBe(0);
    await d.tick(); // t = 30 s
    expect(written()).toBe(1);
    await d.tick(); // t = 45 s
    expect(written()).toBe(1);
    let read = await readStateFile(path);
    expect(read.ok && [...read.entries.keys()].sort()).toEqual([
      'autoscaling.inferscale.dev/ns/mistral',
      // `other` has not ticked yet: no state, no entry.
    ]);
    await d.tick('ns/other'); // t = 60 s
    expect(written()).toBe(2);
    read = await readStateFile(path);
    expect(read.ok && [...read.entries.keys()].sort()).toEqual([
      'autoscaling.inferscale.dev/ns/mistral',
      'autoscaling.inferscale.dev/ns/other',
    ]);
    d.loop.apply(single);
    w.clock.advance(30_000);
    await d.tick();
    expect(written()).toBe(3);
    read = await readStateFile(path);
    expect(read.ok && [...read.entries.keys()]).toEqual(['autoscaling.inferscale.dev/ns/mistral']);
    // An interval later with no tick in between (e.g. only a model group ticked): nothing new to write.
    w.clock.advance(30_000);
    d.store!.ticked();
    await d.store!.settled();
    expect(written()).toBe(3);
  });

  it('a model group is not persisted; its entry is absent and it starts as if added', async () => {
    const w = world();
    const path = tmpFile();
    const group = targets(JSON.stringify(groupSpec()));
    const d = daemon(w, path);
    await d.store!.load();
    d.loop.apply([...single, ...group]);
    await d.tick('ns/group');
    await d.tick();
    await d.store!.close();
    const read = await readStateFile(path);
    expect(read.ok && [...read.entries.keys()]).toEqual(['autoscaling.inferscale.dev/ns/mistral']);
    // Restarted, the group is not looked up at all (no "not restored" line for it).
    const again = daemon(w, path);
    await again.store!.load();
    again.loop.apply([...single, ...group]);
    await again.tick('ns/group');
    await again.tick();
    expect(again.said('decision state not restored; starting cold')).toEqual([]);
    expect(
      again.said('restored decision state (windows, panic state, timers, stabilisation) from the state file'),
    ).toHaveLength(1);
  });
});

describe('daemon --state-file: what is not restored', () => {
  it('a corrupt file: one warning, every target cold, the daemon runs', async () => {
    const w = world();
    const path = tmpFile();
    writeFileSync(path, '{"kind": "InferscaleDaemonState", "version": 1, "targ');
    const d = daemon(w, path);
    await d.store!.load();
    expect(d.said('state file unusable; every PodAutoscaler starts cold')).toEqual([
      expect.objectContaining({ level: 40, file: path, reason: expect.stringMatching(/^not JSON/) }),
    ]);
    d.loop.apply(single);
    load(w, 0.9);
    await d.tick();
    expect(d.replicas()).toBe(2);
  });

  it('a snapshot taken for another spec: a line naming the target and the reason, a cold start', async () => {
    const { d } = await restarted();
    // Another metric: the windows and stabilisation of the old one mean nothing for it.
    d.loop.apply(targets(hpaTarget('mistral', 'mistral').replace('gpu_cache_usage_perc', 'kv_usage')));
    await d.tick();
    expect(d.said('decision state not restored; starting cold')).toEqual([
      expect.objectContaining({
        namespace: 'ns',
        name: 'mistral',
        apiGroup: 'autoscaling.inferscale.dev',
        reason: expect.stringMatching(/taken for another spec/),
      }),
    ]);
    // Cold: nothing but this tick's recommendation in the stabilisation memory.
    expect(d.engines.engine.exportState('ns', 'mistral')?.behavior.recommendations).toHaveLength(1);
  });

  it('a snapshot older than the longest window when first used is refused', async () => {
    const { w, d } = await restarted();
    d.loop.apply(single);
    // Fresh when read and applied (a standby under --leader-elect), too old by the first tick.
    w.clock.advance(301_000);
    await d.tick();
    expect(d.said('decision state not restored; starting cold')[0]?.reason).toMatch(
      /s old, beyond the longest window \(300s\)/,
    );
  });

  it('the same name in the other API group is another target', async () => {
    const { d } = await restarted();
    d.loop.apply(
      targets(`
apiVersion: autoscaling.aibrix.ai/v1alpha1
kind: PodAutoscaler
metadata: {name: mistral}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: mistral}
  maxReplicas: 4
  scalingStrategy: HPA
  metricsSources:
    - {metricSourceType: pod, protocolType: http, port: '8000', path: /metrics, targetMetric: gpu_cache_usage_perc, targetValue: '0.5'}
`),
    );
    await d.tick();
    expect(d.said('decision state not restored; starting cold')[0]).toMatchObject({
      apiGroup: 'autoscaling.aibrix.ai',
      reason: 'no snapshot for this PodAutoscaler',
    });
  });
});

describe('daemon --state-file: writing', () => {
  const failing = (step: keyof AtomicWriteOps): AtomicWriteOps => ({
    ...nodeWriteOps,
    [step]: async () => {
      throw new Error(`${step}: ENOSPC: no space left on device`);
    },
  });

  it.each(['writeSynced', 'rename'] as const)(
    'a failed %s leaves the previous file intact and no temp file behind',
    async (step) => {
      const path = tmpFile();
      writeFileSync(path, 'previous');
      await expect(writeFileAtomic(path, 'next', failing(step))).rejects.toThrow(/ENOSPC/);
      expect(readFileSync(path, 'utf8')).toBe('previous');
      expect(readdirSync(join(path, '..'))).toEqual(['state.json']);
      await writeFileAtomic(path, 'next');
      expect(readFileSync(path, 'utf8')).toBe('next');
      expect(readdirSync(join(path, '..'))).toEqual(['state.json']);
    },
  );

  it('a failed checkpoint is a warning; the daemon keeps ticking and the old file stays', async () => {
    const { path, d } = await restarted({ ops: failing('rename') });
    const before = readFileSync(path, 'utf8');
    d.loop.apply(single);
    for (let i = 0; i < 3; i++) await d.tick(); // t = 0, 15 s (fails), 30 s (retried, fails)
    await d.store!.close(); // fails
    const failed = expect.objectContaining({ level: 40, file: path, err: expect.stringMatching(/ENOSPC/) });
    expect(d.said('state file not written; the previous one is kept')).toEqual([failed, failed, failed]);
    expect(d.replicas()).toBe(4);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('an unwritable path is an error at start naming the flag and the fix', async () => {
    const path = tmpFile();
    await expect(assertStateFileWritable(join(path, '..'))).rejects.toThrow(
      /^--state-file .*: is a directory; point --state-file at/,
    );
    await expect(assertStateFileWritable(path, failing('writeSynced'))).rejects.toThrow(
      /^--state-file .*state\.json: cannot create files in .* \(writeSynced: ENOSPC.*\); point --state-file at a file in a writable directory .*or drop --state-file/,
    );
    await assertStateFileWritable(path);
    expect(readdirSync(join(path, '..'))).toEqual([]);
  });
});

describe('daemon --state-file: startDaemon wiring (fake apiserver for pods)', () => {
  const pod = {
    metadata: {
      name: 'mistral-0',
      namespace: 'ns',
      labels: { app: 'inference' },
      creationTimestamp: '2025-01-01T00:00:00Z',
    },
    status: { phase: 'Running', podIP: '10.0.0.2', conditions: [{ type: 'Ready', status: 'True' }] },
  };

  async function run(stateFile: string, configPath: string, scale: MemoryScaleTarget) {
    const api = await startFakeApiserver({
      list: () => ({ body: { items: [pod], metadata: { resourceVersion: '5' } } }),
      watch: () => 200,
    });
    const metrics = new TableMetricSource();
    metrics.podValues.set('mistral-0', { gpu_cache_usage_perc: 0.9 });
    const lines: Array<Record<string, unknown>> = [];
    const log: Logger = pino({ base: undefined }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const start = () =>
      startDaemon({
        kubeConfig: api.kc,
        configPath,
        defaultNamespace: 'ns',
        metrics,
        scaleTarget: scale,
        events: false,
        periodMs: 50,
        stateFile,
        stateCheckpointMs: 0,
        log,
        watch: { pollMs: 60_000 },
      });
    return { api, start, lines };
  }

  it('restores at start what the previous process wrote on stop', async () => {
    const stateFile = tmpFile();
    const configPath = join(stateFile, '..', 'targets.yaml');
    writeFileSync(configPath, hpaTarget('mistral', 'mistral'));
    const scale = new MemoryScaleTarget({ replicas: 1, selector: 'app=inference' });

    const first = await run(stateFile, configPath, scale);
    const d1 = await first.start();
    await vi.waitFor(() => expect(scale.state.replicas).toBe(2), { timeout: 5_000, interval: 20 });
    await d1.stop();
    await first.api.close();
    const read = await readStateFile(stateFile);
    expect(read.ok && [...read.entries.keys()]).toEqual(['autoscaling.inferscale.dev/ns/mistral']);

    const second = await run(stateFile, configPath, scale);
    const d2 = await second.start();
    const restored = () =>
      second.lines.filter((l) => l.msg?.toString().startsWith('restored decision state'));
    await vi.waitFor(() => expect(restored()).toHaveLength(1), { timeout: 5_000, interval: 20 });
    await d2.stop();
    await second.api.close();
    expect(restored()).toEqual([expect.objectContaining({ name: 'mistral', file: stateFile })]);
  });

  it('refuses to start when the state file cannot be written', async () => {
    const dir = join(tmpFile(), '..');
    const configPath = join(dir, 'targets.yaml');
    writeFileSync(configPath, hpaTarget('mistral', 'mistral'));
    const r = await run(join(dir, 'missing', 'state.json'), configPath, new MemoryScaleTarget());
    await expect(r.start()).rejects.toThrow(/^--state-file .*missing\/state\.json: cannot create files in/);
    await r.api.close();
  });
});
