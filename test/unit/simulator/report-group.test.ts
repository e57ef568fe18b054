/**
 * A model group inside a comparison report: its spec prepared from the profiles (initial plan,
 * prices), run on the same arrivals as a single-pool spec, and reported as totals that add up from
 * the per-pool breakdown.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadHighsSolver } from '../../../src/optimizer/highs.js';
import type { MilpSolver } from '../../../algorithms/optimizer/milp.js';
import { fixedColdStart } from '../../../simulator/cluster/coldstart.js';
import { modelReplicaFactory } from '../../../simulator/cluster/model-adapter.js';
import type { SimRequest } from '../../../simulator/cluster/replica.js';
import { generatedSpec, resolveSpec } from '../../../simulator/cluster/specs.js';
import { isOracle, runComparison, type SpecToRun } from '../../../simulator/report/compare.js';
import { prepareGroup, type GroupSetupOptions } from '../../../simulator/report/group-setup.js';
import { renderHtml } from '../../../simulator/report/html.js';
import { Rng } from '../../../simulator/traces/rng.js';

const MODEL = 'Llama-3.1-8B';
let solver: MilpSolver;
beforeAll(async () => {
  solver = (await loadHighsSolver()).solver;
});

function groupSpec(targets: object[], extra: object = {}) {
  return resolveSpec(
    {
      apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
      kind: 'PodAutoscaler',
      metadata: { name: 'grp', namespace: 'default' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-h100' },
        maxReplicas: 6,
        scalingStrategy: 'OPTIMIZER',
        optimizer: { model: MODEL, windowSeconds: 60, reactive: 'off', targets, ...extra },
      },
    },
    'test spec',
  );
}

/** One H100 to be had (the long prompts need it); A10Gs for the rest. */
const TWO = [
  { gpu: 'H100', maxReplicas: 1 },
  { gpu: 'A10G', scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-a10g' } },
];

/** Seeded Poisson arrivals at 4 req/s, then 25 req/s; a fifth of them with 3,000-token prompts. */
function requests(): SimRequest[] {
  const rng = new Rng(5);
  const out: SimRequest[] = [];
  for (let t = 0, id = 0; t < 240; id++) {
    t += rng.exp(t < 60 ? 4 : 25);
    const long = rng.next() < 0.2;
    out.push({
      id,
      arrivalMs: t * 1000,
      inputTokens: long ? 3000 + rng.int(0, 400) : 100 + rng.int(0, 200),
      outputTokens: long ? 150 : 80 + rng.int(0, 100),
    });
  }
  return out;
}

function setupOptions(pa: ReturnType<typeof groupSpec>, reqs: SimRequest[]): GroupSetupOptions {
  return {
    pa,
    source: 'test spec',
    defaultModel: MODEL,
    coldStart: () => () => fixedColdStart(30_000),
    requests: reqs,
    headMs: 60_000,
    router: 'plan',
    solver: async () => solver,
  };
}

describe('prepareGroup', () => {
  it('starts each pool at the plan for the first minute and charges catalogue prices', async () => {
    const reqs = requests();
    const g = await prepareGroup(setupOptions(groupSpec(TWO), reqs));
    expect(g.model).toBe(MODEL);
    expect(g.pools.map((p) => p.gpu)).toEqual(['H100', 'A10G']);
    // 4 req/s with long prompts: something is planned, and the long prompts need the H100.
    expect(g.pools[0]!.initialReplicas).toBeGreaterThanOrEqual(1);
    expect(g.initial).toMatch(/plan for the first 60 s of arrivals/);
    expect(g.pools[0]!.factory.pricePerReplicaHour).toBeCloseTo(3.9492, 4);
    expect(g.pools[1]!.factory.pricePerReplicaHour).toBeCloseTo(1.006, 4);
    expect(g.pools[0]!.profileSource).toMatch(/H100 from config\/profiles/);
    expect(g.notes).toEqual([]);
  });

  it('applies --gpu-price to its GPU type, in the plan and in the bill', async () => {
    const g = await prepareGroup({
      ...setupOptions(groupSpec(TWO), requests()),
      gpuPrice: { gpu: 'h100', usdPerGpuHour: 2 },
    });
    expect(g.pools[0]!.factory.pricePerReplicaHour).toBe(2);
    expect(g.profiles.find((p) => p.gpu === 'H100')!.costPerHour).toBe(2);
    expect(g.notes.join('\n')).toMatch(/H100: planned and charged at \$2\.0000/);
  });

  it('notes a target without a profile and refuses a group where none has one', async () => {
    const withUnknown = groupSpec([
      ...TWO,
      { gpu: 'L40S', scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' } },
    ]);
    const g = await prepareGroup({
      ...setupOptions(withUnknown, requests()),
      profilePaths: ['config/profiles/llama-3.1-8b-h100.yaml', 'config/profiles/llama-3.1-8b-a10g.yaml'],
    });
    expect(g.pools[2]!.profileSource).toBeUndefined();
    expect(g.notes.join('\n')).toMatch(/no profile for Llama-3\.1-8B on L40S/);
    await expect(
      prepareGroup({
        ...setupOptions(groupSpec(TWO), requests()),
        profilePaths: ['config/profiles/llama-3.1-8b-l40s.yaml'],
      }),
    ).rejects.toThrow(/test spec: no target has a profile/);
    await expect(
      prepareGroup({ ...setupOptions(groupSpec(TWO), requests()), profilePaths: ['no/such/dir'] }),
    ).rejects.toThrow(/profile path no\/such\/dir not found/);
  });
});

describe('a group run in the comparison report', () => {
  it('runs next to a single-pool spec on the same arrivals; totals add up from the pools', async () => {
    const reqs = requests();
    const pa = groupSpec(TWO);
    const group = await prepareGroup(setupOptions(pa, reqs));
    const kpa = resolveSpec(
      generatedSpec('KPA', { metric: 'num_requests_running', target: 32, minReplicas: 1, maxReplicas: 6 }),
      'kpa',
    );
    const specs: SpecToRun[] = [
      { name: 'kpa', source: 'generated', pa: kpa },
      { name: 'grp', source: 'test', pa, group },
    ];
    const tailMs = 120_000;
    const report = await runComparison({
      trace: { name: 'burst', requests: reqs },
      specs,
      factory: modelReplicaFactory({ gpu: 'H100', model: MODEL }),
      coldStart: () => fixedColdStart(30_000),
      router: 'least-requests',
      seed: 1,
      tickMs: 10_000,
      warmupMs: 20_000,
      tailMs,
      slo: { ttftMs: 1000, itlMs: 100 },
      capacityProbeRequests: 300,
    });
    expect(report.runs.map((r) => r.summary.name)).toEqual(['kpa', 'grp']);
    const run = report.runs[1]!;
    const g = run.group!;
    const s = run.summary;
    expect(report.runs[0]!.group).toBeUndefined();
    expect(s.strategy).toBe('OPTIMIZER');
    expect(s.requests).toBe(reqs.length);
    expect(s.completed).toBe(reqs.length);
    expect(g.outcomes.plan).toBeGreaterThan(10);

    const total = (f: (p: (typeof g.pools)[number]) => number) => g.pools.reduce((a, p) => a + f(p), 0);
    expect(total((p) => p.requests)).toBe(reqs.length);
    expect(total((p) => p.costUsd)).toBeCloseTo(s.costUsd, 5);
    expect(total((p) => p.replicaSeconds)).toBeCloseTo(s.replicaSeconds, 2);
    expect(total((p) => p.gpuHours)).toBeCloseTo(s.gpuHours, 5);
    expect(total((p) => p.scaleEvents)).toBe(s.scaleEvents);
    expect(total((p) => p.flaps)).toBe(s.flaps);
    expect(run.scaleEvents.length).toBe(s.scaleEvents);
    expect(total((p) => p.initialReplicas)).toBe(run.initialReplicas);
    for (const p of g.pools) {
      expect(p.costUsd).toBeCloseTo((p.replicaSeconds / 3600) * p.pricePerReplicaHourUsd, 5);
      if (p.requests > 0) expect(p.attainment).not.toBeNull();
    }
    // The burst needs more than the one H100: the A10G pool grew and served part of it.
    expect(g.pools[1]!.scaleUps).toBeGreaterThan(0);
    expect(g.pools[1]!.requests).toBeGreaterThan(0);
    expect(g.pools[1]!.replicaSeconds).toBeGreaterThan(0);
    expect(g.pools[0]!.peakReplicas).toBe(1);
    // Timeline totals at every sample, and the tail after the last arrival is simulated.
    run.timeline.desired.forEach((v, i) =>
      expect(v).toBe(g.pools.reduce((a, p) => a + p.timeline.desired[i]!, 0)),
    );
    const last = reqs.at(-1)!.arrivalMs / 1000;
    expect(run.timeline.timeS.at(-1)).toBeCloseTo(last + tailMs / 1000, 0);
    expect(s.durationS).toBeLessThan(last + tailMs / 1000);
    // Compared with the single-type oracle, as the report says.
    expect(isOracle(report.oracle)).toBe(true);
    if (isOracle(report.oracle)) expect(s.costVsOracle).toBeCloseTo(s.costUsd / report.oracle.costUsd, 3);
    // Every tick is recorded with its outcome.
    expect(g.ticks.timeS.length).toBe(Object.values(g.outcomes).reduce((a, b) => a + b, 0));

    const html = await renderHtml(report);
    expect(html).toContain('Model group: grp');
    expect(html).toContain('llama-a10g');
    expect(html).toMatch(/cost ÷ oracle\s+compares with the oracle of H100 alone/);
    expect(html.match(/<svg[\s>]/g)?.length).toBe(4);
  }, 60_000);
});
