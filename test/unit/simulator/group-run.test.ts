/**
 * A model group in the simulator: several GPU pools behind one gateway, scaled by the production
 * ModelGroupEngine; and the token histograms it reads, checked against the production parser.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePodAutoscaler } from '../../../src/api/resolve.js';
import type { ResolvedPodAutoscaler } from '../../../src/api/resolved.js';
import { loadHighsSolver } from '../../../src/optimizer/highs.js';
import { readProfiles } from '../../../src/optimizer/profiles.js';
import { HttpTokenHistogramSource } from '../../../src/optimizer/token-scraper.js';
import type { MilpSolver } from '../../../algorithms/optimizer/milp.js';
import type { Profile } from '../../../algorithms/optimizer/profile.js';
import { fixedColdStart } from '../../../simulator/cluster/coldstart.js';
import {
  poolFactory,
  runGroupSimulation,
  summarizeGroupRun,
  TokenReplica,
} from '../../../simulator/cluster/group.js';
import { ReplicaModel } from '../../../simulator/model/replica.js';
import { Rng } from '../../../simulator/traces/rng.js';
import { readyPod } from '../../support/pod-info.js';

const MODEL = 'Llama-3.1-8B';
let solver: MilpSolver;
let profiles: Profile[];
beforeAll(async () => {
  solver = (await loadHighsSolver()).solver;
  profiles = (await readProfiles(['config/profiles'])).profiles.filter((p) => p.model === MODEL);
});

function groupPa(): ResolvedPodAutoscaler {
  const r = resolvePodAutoscaler({
    apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
    kind: 'PodAutoscaler',
    metadata: { name: 'g', namespace: 'default' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-a10g' },
      maxReplicas: 20,
      scalingStrategy: 'OPTIMIZER',
      optimizer: {
        model: MODEL,
        windowSeconds: 60,
        targets: [
          { gpu: 'A10G' },
          { gpu: 'H100', scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-h100' } },
        ],
      },
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

/**
 * Seeded Poisson arrivals: short chat and, a `share` of them, long prompts of `from` + up to
 * `spread` tokens (by default 20 % of 3,000–3,800, which only the H100 profile can serve).
 */
function requests(rate: number, seconds: number, long = { share: 0.2, from: 3000, spread: 800, seed: 3 }) {
  const rng = new Rng(long.seed);
  const out = [];
  for (let t = rng.exp(rate), id = 0; t < seconds; t += rng.exp(rate), id++) {
    const isLong = rng.next() < long.share;
    out.push({
      id,
      arrivalMs: t * 1000,
      inputTokens: isLong ? long.from + rng.int(0, long.spread) : 100 + rng.int(0, 150),
      outputTokens: isLong ? 150 : 100 + rng.int(0, 100),
    });
  }
  return out;
}

/** A pool of `gpu` replicas with `initialReplicas` ready at the start and 60 s cold starts. */
const pool = (gpu: string, initialReplicas: number) => ({
  gpu,
  factory: poolFactory({ gpu, model: MODEL }),
  coldStart: fixedColdStart(60_000),
  initialReplicas,
});

describe('runGroupSimulation', () => {
  it('plans, scales each pool and routes by bucket; costs add up per pool', async () => {
    const reqs = requests(6, 300);
    const run = await runGroupSimulation({
      name: 'a10g+h100',
      pa: groupPa(),
      profiles,
      requests: reqs,
      solver: async () => solver,
      pools: [pool('A10G', 1), pool('H100', 1)],
    });
    expect(run.truncated).toBe(false);
    expect(run.log.completed).toBe(reqs.length);
    expect(run.outcomes.plan).toBeGreaterThan(10);
    expect(run.outcomes['no-data']).toBe(1); // the first tick has no baseline
    for (const p of run.pools)
      expect(p.costUsd).toBeCloseTo((p.replicaMs / 3_600_000) * p.pricePerReplicaHour, 9);
    expect(run.costUsd).toBeCloseTo(run.pools[0]!.costUsd + run.pools[1]!.costUsd, 9);
    // Long prompts only go where a profile can serve them.
    const longOnA10G = reqs.filter((r) => r.inputTokens >= 3000 && run.poolOf[r.id] === 0).length;
    expect(longOnA10G).toBe(0);
    const s = summarizeGroupRun(run, { ttft: 1, itl: 0.1, percentile: 90 });
    expect(s.completed).toBe(reqs.length);
    expect(s.meetsSlo).toBe(true);
    expect(s.pools.map((p) => p.requests).reduce((a, b) => a + b, 0)).toBe(reqs.length);
  });

  it('offers a pool only the requests its profile reaches at their own size, not their nearest tick', async () => {
    // Prompts of 4,500–5,700 tokens count in the 4,096 bucket (the nearest tick), which the L4
    // profile serves at a trickle; at their own size they need the 8,192 row, which it cannot.
    const reqs = requests(8, 240, { share: 0.3, from: 4500, spread: 1200, seed: 5 });
    const pa = groupPa();
    const targets = [{ ...pa.optimizer!.targets[0]!, gpu: 'L4' }, pa.optimizer!.targets[1]!];
    const run = await runGroupSimulation({
      name: 'l4+h100',
      pa: { ...pa, optimizer: { ...pa.optimizer!, targets } },
      profiles,
      requests: reqs,
      solver: async () => solver,
      pools: [pool('L4', 3), pool('H100', 1)],
    });
    expect(run.log.completed).toBe(reqs.length);
    const longOnL4 = reqs.filter((r) => r.inputTokens > 4096 && run.poolOf[r.id] === 0).length;
    expect(longOnL4).toBe(0);
    expect(run.pools[0]!.requests).toBeGreaterThan(0); // the L4 still serves the chat
  });

  it('refuses a pool list that does not cover the targets', async () => {
    await expect(
      runGroupSimulation({
        name: 'x',
        pa: groupPa(),
        profiles,
        requests: [],
        pools: [
          { gpu: 'A10G', factory: poolFactory({ gpu: 'A10G', model: MODEL }), coldStart: fixedColdStart(0) },
        ],
      }),
    ).rejects.toThrow(/no pool configured for target H100/);
  });
});

describe('token histograms: the simulator’s direct read equals the production scrape of /metrics', () => {
  const replica = new TokenReplica(new ReplicaModel('A10G', MODEL));
  let server: http.Server;
  let port = 0;
  beforeAll(async () => {
    const rng = new Rng(9);
    for (let id = 0; id < 40; id++) {
      replica.enqueue(
        { id, arrivalMs: id * 100, inputTokens: rng.int(5, 3000), outputTokens: rng.int(1, 400) },
        id * 100,
      );
    }
    for (let t = replica.nextEventTime(); t !== undefined; t = replica.nextEventTime())
      replica.advanceTo(t, () => {});
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(replica.renderMetrics(replica.model.timeMs));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** One production scrape of the pod `name` on 127.0.0.1:`o.port`: what the engine would read. */
  async function scrapeOnePod(name: string, o: { port: number; timeoutMs: number; deadlineMs: number }) {
    const source = new HttpTokenHistogramSource({ timeoutMs: o.timeoutMs });
    try {
      const reading = await source.read({
        owner: { namespace: 'default', name: 'g' },
        pods: [readyPod(name)],
        scrape: { protocol: 'http', port: o.port, path: '/metrics' },
        nowMs: 0,
        deadlineMs: o.deadlineMs,
      });
      return reading.get(name);
    } finally {
      source.close();
    }
  }

  it('both give the same cumulative prompt and generation histograms', async () => {
    const got = await scrapeOnePod('p', { port, timeoutMs: 2000, deadlineMs: 5_000 });
    expect(got && 'snapshot' in got).toBe(true);
    const direct = replica.tokenSnapshot();
    const scraped = (got as { snapshot: typeof direct }).snapshot;
    expect(scraped.prompt?.count).toBe(40);
    expect(scraped.prompt).toEqual(direct.prompt);
    expect(scraped.generation).toEqual(direct.generation);
  });

  it('a pod that does not answer is an error for that pod, not zero', async () => {
    expect(await scrapeOnePod('gone', { port: 1, timeoutMs: 500, deadlineMs: 1_000 })).toMatchObject({
      error: expect.stringMatching(/pod gone \(http:\/\/127\.0\.0\.1:1\/metrics\)/),
    });
  });
});
