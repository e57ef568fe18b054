/**
 * The daemon's loop (src/daemon/loop.ts) on in-memory seams: a file with an OPTIMIZER model group
 * and a single-target HPA, ticked through the same engines as in the controller; what each tick
 * writes, logs, exports and records as Events; --dry-run; reloads that add, change and remove.
 */
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseTargets } from '../../../src/daemon/config.js';
import { DaemonLoop, type Schedule } from '../../../src/daemon/loop.js';
import { autoscalerMetrics, loopEngines } from '../../../src/controller/loop-parts.js';
import type { EventSink } from '../../../src/k8s/events.js';
import type { ResolvedPodAutoscaler } from '../../../src/api/resolved.js';
import type { Profile } from '../../../algorithms/optimizer/profile.js';
import { StaticProfileSource } from '../../../src/optimizer/profile-source.js';
import { profile } from '../optimizer/fixtures.js';
import { GRID, PROFILES, deployment, groupSpec, groupWorld } from '../engine/group-rig.js';
import { hpaTarget } from './daemon-fixtures.js';

const single = hpaTarget('mistral', 'mistral');

/** A targets file as the daemon reads it: YAML documents, or objects (JSON is YAML). */
function file(...objects: unknown[]): ResolvedPodAutoscaler[] {
  const docs = objects.map((o) => (typeof o === 'string' ? o : JSON.stringify(o)));
  const r = parseTargets(docs.join('\n---\n'), 't.yaml', 'ns');
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.podAutoscalers;
}

function rig(o: { dryRun?: boolean; profiles?: readonly Profile[] } = {}) {
  const world = groupWorld(1, 0);
  world.cluster.add('mistral', 1);
  world.metrics.podValues.set('mistral-0', { gpu_cache_usage_perc: 0.9 });
  const lines: Array<Record<string, unknown>> = [];
  const log: Logger = pino({ base: undefined }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const events: Array<{ on: string; type: string; reason: string; message: string }> = [];
  const sink: EventSink = {
    record: async (obj, type, reason, message) =>
      void events.push({ on: `${obj.kind}/${obj.name}`, type, reason, message }),
  };
  const scheduled: string[] = [];
  const schedule: Schedule = {
    add: (k) => void scheduled.push(`add ${k}`),
    remove: (k) => void scheduled.push(`remove ${k}`),
    trigger: (k) => void scheduled.push(`trigger ${k}`),
  };
  const engines = loopEngines({
    clock: world.clock,
    pods: world.cluster,
    scale: world.cluster,
    metrics: world.metrics,
    log,
    tokens: world.tokens,
    profiles: new StaticProfileSource([...(o.profiles ?? PROFILES)]),
  });
  const stats = autoscalerMetrics(undefined);
  const loop = new DaemonLoop({
    engines,
    stats,
    metrics: world.metrics,
    schedule,
    events: sink,
    log,
    ...(o.dryRun !== undefined ? { dryRun: o.dryRun } : {}),
  });
  const ticks = (name: string) => lines.filter((l) => l.msg === 'tick' && l.name === name);
  const series = (metric: string) => stats.registry.getSingleMetricAsString(metric);
  return { ...world, loop, lines, ticks, events, scheduled, stats, series };
}

describe('daemon loop: OPTIMIZER model groups', () => {
  it('plans and writes each Deployment through /scale; one tick line, the series and Events', async () => {
    const r = rig();
    r.loop.apply(file(groupSpec(), single));
    expect(r.scheduled).toEqual(['add ns/group', 'add ns/mistral']);

    // First tick: no baseline for the token histograms yet.
    await r.loop.tick('ns/group');
    await r.loop.tick('ns/mistral');
    expect(r.ticks('group')).toEqual([
      expect.objectContaining({
        namespace: 'ns',
        name: 'group',
        algorithm: 'optimizer',
        outcome: 'no-data',
        reason: 'NoData',
        current: 1,
        desired: 1,
        desiredByGpu: { A10G: 1, H100: 0 },
        scaled: false,
        dryRun: false,
      }),
    ]);
    expect(r.ticks('group')[0]).not.toHaveProperty('plan');
    // The single target runs as before, on the same seams: 1 pod at 0.9 against 0.5 → 2.
    expect(r.ticks('mistral')).toEqual([
      expect.objectContaining({ current: 1, desired: 2, scaled: true, algorithm: 'hpa' }),
    ]);

    r.serve(3, 15);
    await r.loop.tick('ns/group');
    expect(r.cluster.writes).toEqual([
      { name: 'mistral', replicas: 2 },
      { name: 'llama-a10g', replicas: 3 },
    ]);
    const line = r.ticks('group')[1]!;
    expect(line).toMatchObject({
      level: 30,
      namespace: 'ns',
      name: 'group',
      outcome: 'plan',
      reason: 'PlanFound',
      plan: { A10G: 3, H100: 0 },
      desiredByGpu: { A10G: 3, H100: 0 },
      current: 1,
      desired: 3,
      costPerHour: 3,
      totalRps: 3,
      scaled: true,
    });
    expect(line.message).toMatch(/cheapest mix for 3\.00 req\/s: 3×A10G/);

    expect(await r.series('inferscale_desired_replicas')).toMatch(
      /inferscale_desired_replicas\{namespace="ns",name="group"\} 3/,
    );
    const decisions = await r.series('inferscale_decisions_total');
    expect(decisions).toMatch(/\{namespace="ns",name="group",reason="NoData"\} 1/);
    expect(decisions).toMatch(/\{namespace="ns",name="group",reason="SucceededRescale"\} 1/);
    expect(await r.series('inferscale_scale_writes_total')).toMatch(
      /\{namespace="ns",name="group",result="success"\} 1/,
    );

    expect(r.events.filter((e) => e.message.includes('ns/group'))).toEqual([
      {
        on: 'Deployment/llama-a10g',
        type: 'Warning',
        reason: 'OptimizerNoData',
        message: expect.stringMatching(/^\[PodAutoscaler ns\/group\] no-data: no pod had usable/),
      },
      {
        on: 'Deployment/llama-a10g',
        type: 'Normal',
        reason: 'SuccessfulRescale',
        message: expect.stringMatching(
          /^\[PodAutoscaler ns\/group\] Deployment\/llama-a10g \(A10G\): 1 → 3;/,
        ),
      },
    ]);
  });

  it.each([
    // No profile is known before any load is (3 ticks); infeasible needs a load (the first tick has none).
    [
      'NoProfile',
      { profiles: [profile('A10G', 1, GRID, [[1]], 'other-model')] },
      {},
      /no profile for llama on A10G/,
      3,
    ],
    [
      'Infeasible',
      {},
      {
        targets: [
          { gpu: 'A10G', maxReplicas: 2 },
          {
            gpu: 'H100',
            maxReplicas: 0,
            scaleTargetRef: deployment('llama-h100'),
          },
        ],
      },
      /^infeasible \(capacity\)/,
      2,
    ],
  ] as const)(
    'no plan (%s): the reason in the tick line, one Event, nothing written',
    async (reason, o, optimizer, message, ticks) => {
      const r = rig({ ...o });
      r.loop.apply(file(groupSpec(optimizer)));
      await r.loop.tick('ns/group');
      r.serve(5, 15);
      await r.loop.tick('ns/group');
      r.serve(5, 15);
      await r.loop.tick('ns/group');
      expect(r.cluster.writes).toEqual([]);
      const last = r.ticks('group')[2]!;
      expect(last).toMatchObject({ reason, scaled: false, desiredByGpu: { A10G: 1, H100: 0 } });
      expect(last).not.toHaveProperty('plan');
      expect(last.message).toMatch(message);
      expect(r.events.filter((e) => e.reason === `Optimizer${reason}`)).toHaveLength(1);
      expect(await r.series('inferscale_decisions_total')).toMatch(
        new RegExp(`reason="${reason}"\\} ${ticks}`),
      );
    },
  );

  it('--dry-run: plans and reports, writes nothing', async () => {
    const r = rig({ dryRun: true });
    r.loop.apply(file(groupSpec()));
    await r.loop.tick('ns/group');
    r.serve(3, 15);
    await r.loop.tick('ns/group');
    expect(r.cluster.writes).toEqual([]);
    expect(r.ticks('group')[1]).toMatchObject({
      reason: 'PlanFound',
      plan: { A10G: 3, H100: 0 },
      desired: 3,
      current: 1,
      scaled: false,
      dryRun: true,
    });
    expect(await r.series('inferscale_decisions_total')).toMatch(/reason="DryRun"\} 1/);
    expect(r.events.filter((e) => e.reason === 'SuccessfulRescale')).toEqual([]);
  });

  it('reload: a changed group ticks at once, a removed one loses its state and series', async () => {
    const r = rig();
    expect(r.loop.apply(file(groupSpec()))).toEqual({ added: ['ns/group'], removed: [], changed: [] });
    await r.loop.tick('ns/group');
    r.serve(3, 15);
    await r.loop.tick('ns/group');
    expect(r.cluster.deployments.get('llama-a10g')?.replicas).toBe(3);

    const tighter = groupSpec({
      targets: [
        { gpu: 'A10G', maxReplicas: 2 },
        { gpu: 'H100', scaleTargetRef: deployment('llama-h100') },
      ],
    });
    expect(r.loop.apply(file(tighter, single))).toEqual({
      added: ['ns/mistral'],
      removed: [],
      changed: ['ns/group'],
    });
    expect(r.scheduled.slice(1)).toEqual(['add ns/mistral', 'trigger ns/group']);
    expect(r.loop.podAutoscalers().find((p) => p.name === 'group')?.optimizer?.targets[0]?.maxReplicas).toBe(
      2,
    );
    r.serve(3, 15);
    await r.loop.tick('ns/group');
    expect(r.cluster.deployments.get('llama-a10g')?.replicas).toBe(2); // the new bound applies

    expect(r.loop.apply(file(single))).toEqual({ added: [], removed: ['ns/group'], changed: [] });
    expect(r.scheduled.at(-1)).toBe('remove ns/group');
    expect(await r.series('inferscale_desired_replicas')).not.toMatch(/name="group"/);
    await r.loop.tick('ns/group'); // no longer configured: nothing happens
    expect(r.ticks('group')).toHaveLength(3);

    // Added again, it starts from nothing: no token history, so no data on its first tick.
    r.loop.apply(file(groupSpec(), single));
    await r.loop.tick('ns/group');
    expect(r.ticks('group').at(-1)).toMatchObject({ reason: 'NoData' });
  });
});
