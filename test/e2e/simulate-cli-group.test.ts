/**
 * `inferscale simulate` with a model group: one KPA spec and one OPTIMIZER spec (two GPU pools) on
 * the same short trace, through the real binary entry; both land in one JSON and HTML report, the
 * group run with its per-pool breakdown.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kpaSpec, simulate, writeTrace } from './support/simulate-cli.js';

let dir: string;
let trace: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'inferscale-simulate-group-'));
  trace = join(dir, 'trace.jsonl');
  // 3 req/s for 60 s, 30 req/s for 150 s, 3 req/s for 60 s. One request in five has a 3,000-token
  // prompt, which the A10G profile cannot serve within its 1 s TTFT. The one H100 to be had carries
  // the quiet parts and the long prompts; A10Gs take the rest of the burst. The burst outlasts the
  // 60 s planning window plus the A10G's 30 s cold start, so the A10G pool serves part of it
  // whichever of the equally cheap bucket assignments the solver returns.
  writeTrace(
    trace,
    [
      [3, 60],
      [30, 150],
      [3, 60],
    ],
    (i) => {
      const long = i % 5 === 0;
      return {
        input: long ? 3000 + ((i * 37) % 500) : 100 + ((i * 37) % 300),
        output: long ? 150 : 60 + ((i * 53) % 140),
      };
    },
  );
  writeFileSync(join(dir, 'kpa.yaml'), kpaSpec({ maxReplicas: 4, targetValue: 32 }));
  writeFileSync(
    join(dir, 'group.yaml'),
    `apiVersion: autoscaling.inferscale.dev/v1alpha1
kind: PodAutoscaler
metadata: { name: grp, namespace: default }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: llama-h100 }
  maxReplicas: 6
  scalingStrategy: OPTIMIZER
  optimizer:
    model: Llama-3.1-8B
    profiles: [config/profiles]
    windowSeconds: 60
    reactive: 'off'
    targets:
      - gpu: H100
        maxReplicas: 1
      - gpu: A10G
        scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: llama-a10g }
`,
  );
});

interface PoolJson {
  gpu: string;
  deployment: string;
  requests: number;
  attainment: number | null;
  costUsd: number;
  replicaSeconds: number;
  initialReplicas: number;
  timeline: { ready: number[]; desired: number[] };
}
interface RunJson {
  summary: { name: string; strategy: string; requests: number; completed: number; costUsd: number };
  initialReplicas: number;
  timeline: { timeS: number[]; ready: number[]; desired: number[] };
  group?: { pools: PoolJson[]; outcomes: Record<string, number>; router: string };
}

describe('inferscale simulate with an OPTIMIZER spec', () => {
  it('runs the model group next to a KPA spec on the same trace, with per-pool figures and charts', async () => {
    const out = join(dir, 'report');
    const r = await simulate([
      '--trace',
      trace,
      '--pa',
      join(dir, 'kpa.yaml'),
      '--pa',
      join(dir, 'group.yaml'),
      '--gpu',
      'H100',
      '--cold-start',
      '30s',
      '--tick',
      '10s',
      '--warmup',
      '20s',
      '--slo-ttft',
      '1s',
      '--no-oracle',
      '--no-progress',
      '--out',
      out,
    ]);
    expect(r.stderr).not.toMatch(/inferscale: /);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mine \(KPA\)/);
    expect(r.stdout).toMatch(/grp \(OPTIMIZER\): 2 GPU pools \(plan gateway\), per pool:/);
    expect(r.stdout).toMatch(/^\s+H100\s+\d+ req/m);

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { runs: RunJson[] };
    expect(report.runs.map((x) => x.summary.name)).toEqual(['mine (KPA)', 'grp (OPTIMIZER)']);
    const [kpa, grp] = report.runs as [RunJson, RunJson];
    expect(kpa.group).toBeUndefined();
    expect(grp.summary.strategy).toBe('OPTIMIZER');
    // Same arrivals for both, every request served.
    expect(grp.summary.requests).toBe(kpa.summary.requests);
    expect(grp.summary.completed).toBe(grp.summary.requests);

    const g = grp.group!;
    expect(g.router).toBe('plan');
    expect(g.pools.map((p) => [p.gpu, p.deployment])).toEqual([
      ['H100', 'llama-h100'],
      ['A10G', 'llama-a10g'],
    ]);
    expect(g.outcomes.plan).toBeGreaterThan(5);
    // The pools account for every request and the whole cost.
    expect(g.pools.reduce((a, p) => a + p.requests, 0)).toBe(grp.summary.requests);
    expect(g.pools.reduce((a, p) => a + p.costUsd, 0)).toBeCloseTo(grp.summary.costUsd, 4);
    expect(g.pools.reduce((a, p) => a + p.initialReplicas, 0)).toBe(grp.initialReplicas);
    expect(grp.initialReplicas).toBeGreaterThan(0);
    for (const p of g.pools) {
      expect(p.timeline.ready.length).toBe(grp.timeline.timeS.length);
      // Both pools ran replicas at some point, and were charged for them.
      expect(p.replicaSeconds).toBeGreaterThan(0);
      expect(p.costUsd).toBeGreaterThan(0);
    }
    expect(g.pools[1]!.timeline.desired.some((v) => v > 0)).toBe(true);
    expect(g.pools[1]!.requests).toBeGreaterThan(0);
    // The run's timeline is the pools' sum at every sample.
    grp.timeline.ready.forEach((v, i) =>
      expect(v).toBe(g.pools[0]!.timeline.ready[i]! + g.pools[1]!.timeline.ready[i]!),
    );
    // The long prompts need the H100 pool: it served some of the requests.
    expect(g.pools[0]!.requests).toBeGreaterThan(0);

    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html.match(/<svg[\s>]/g)?.length).toBe(4); // KPA replicas, group pools, latency, cost
    expect(html).toContain('Model group: grp (OPTIMIZER)');
    expect(html).toContain('load (line), ready replicas per GPU pool (stacked)');
    expect(html).toContain('llama-a10g');
    expect(html).not.toMatch(/<script|<link|src=/i);
  }, 120_000);

  it('names the missing profiles instead of running a group that can never plan', async () => {
    const r = await simulate([
      '--trace',
      trace,
      '--pa',
      join(dir, 'group.yaml'),
      '--profiles',
      join(dir, 'nowhere'),
      '--no-progress',
      '--no-oracle',
      '--out',
      join(dir, 'x'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/group\.yaml: .*nowhere/);
  }, 120_000);
});
