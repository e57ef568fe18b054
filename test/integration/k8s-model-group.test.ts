/**
 * An OPTIMIZER PodAutoscaler driving a model group through the controller, against a real
 * kube-apiserver with the generated CRD: the plan is written to each Deployment and shown in
 * status (mix, cost, conditions); a group without a profile gets a NoProfile condition and no
 * write. Token histograms and profiles are in memory, so the test is about the Kubernetes side.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { controlPlaneSkipReason, type ControlPlane } from '../support/controlplane.js';
import {
  createNamespaces,
  createPodAutoscaler,
  deploymentWithReadyPods,
  GROUP,
  installCrd,
  paStatus,
  startApiServer,
} from './support/k8s-fixtures.js';
import type { KubeClients } from '../../src/k8s/client.js';
import { startController, type ControllerHandle } from '../../src/controller/controller.js';
import { TableMetricSource } from '../../src/engine/memory.js';
import { StaticProfileSource } from '../../src/optimizer/profile-source.js';
import type { TokenHistogramSource, TokenReading } from '../../src/optimizer/token-scraper.js';
import { PROFILE_KIND, ProfileSchema } from '../../algorithms/optimizer/profile.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[k8s-model-group.test] SKIPPED: ${skipReason}`);

const NS = 'llm';

const grid = { input: [512], output: [128] };
const profile = (gpu: string, costPerHour: number, rps: number) =>
  ProfileSchema.parse({
    kind: PROFILE_KIND,
    version: 1,
    gpu,
    model: 'llama',
    costPerHour,
    slo: null,
    grid,
    maxRps: [[rps]],
  });

/** Every scraped pod finishes 3 req/s of 500-in/100-out requests, from the test's start. */
class SteadyTokens implements TokenHistogramSource {
  private readonly t0 = Date.now();
  async read(req: { pods: readonly { name: string }[]; nowMs: number }): Promise<TokenReading> {
    // Fractional counts: a steady 3 req/s at every tick, however short the span between ticks
    // (integer counts over a 0.5 s tick read as 2 or 4 req/s and can flip the plan to an H100).
    const n = (3 * (req.nowMs - this.t0)) / 1000;
    const les = [100, 200, 500, 1000];
    const h = (len: number) => ({
      count: n,
      sum: len * n,
      buckets: les.map((le) => ({ le, count: le >= len ? n : 0 })),
    });
    return new Map(req.pods.map((p) => [p.name, { snapshot: { prompt: h(500), generation: h(100) } }]));
  }
}

function groupPa(name: string, first: string, second: string, model: string) {
  return {
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'PodAutoscaler',
    metadata: { name, namespace: NS },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: first },
      maxReplicas: 10,
      scalingStrategy: 'OPTIMIZER',
      behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
      optimizer: {
        model,
        headroom: 0,
        windowSeconds: 15,
        targets: [
          { gpu: 'A10G' },
          { gpu: 'H100', scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: second } },
        ],
      },
    },
  };
}

describe.skipIf(skipReason !== undefined)('OPTIMIZER model group on a real apiserver', () => {
  let cp: ControlPlane;
  let c: KubeClients;
  let ctl: ControllerHandle;

  const status = (name: string) => paStatus(c, NS, name);
  const createPa = (body: object) => createPodAutoscaler(c, NS, body);
  const replicas = async (name: string) =>
    (await c.apps.readNamespacedDeployment({ name, namespace: NS })).spec?.replicas;

  beforeAll(async () => {
    const server = await startApiServer();
    ({ cp, c } = server);
    const { kc } = server;
    await installCrd(cp);
    await createNamespaces(c, NS);
    for (const [name, n] of [
      ['llama-a10g', 1],
      ['llama-h100', 0],
      ['other-a10g', 1],
      ['other-h100', 0],
    ] as const) {
      await deploymentWithReadyPods(c, { namespace: NS, name, replicas: n, subnet: 3 });
    }
    ctl = await startController({
      kubeConfig: kc,
      metrics: new TableMetricSource(),
      tokens: new SteadyTokens(),
      // A10G: 1 req/s per replica at $1; H100: 10 req/s at $4. At 3 req/s, three A10Gs win.
      profiles: new StaticProfileSource([profile('A10G', 1, 1), profile('H100', 4, 10)]),
      periodMs: 500,
      statusRefreshMs: 500,
      leaderElection: false,
      informer: { backoff: { initialMs: 100, maxMs: 1_000 } },
    });
  }, 180_000);

  afterAll(async () => {
    await ctl?.stop();
    await cp?.stop();
  }, 60_000);

  it('writes the plan to each Deployment and shows the mix, its cost and the conditions', async () => {
    await createPa(groupPa('llama', 'llama-a10g', 'llama-h100', 'llama'));
    await vi.waitFor(async () => expect(await replicas('llama-a10g')).toBe(3), {
      timeout: 20_000,
      interval: 250,
    });
    expect(await replicas('llama-h100')).toBe(0);
    await vi.waitFor(
      async () => {
        const s = await status('llama');
        expect(s?.conditions?.find((x) => x.type === 'Optimized')).toMatchObject({
          status: 'True',
          reason: 'PlanFound',
        });
        expect(s?.optimizer).toMatchObject({
          outcome: 'plan',
          costPerHour: 3,
          currency: 'USD',
          targets: [
            { gpu: 'A10G', name: 'llama-a10g', planned: 3, desired: 3 },
            { gpu: 'H100', name: 'llama-h100', planned: 0, desired: 0 },
          ],
        });
        expect(s?.targetsSummary).toBe('3×A10G at $3.00/h');
        expect(s?.scalingHistory?.[0]).toMatchObject({ algorithm: 'optimizer', success: true });
      },
      { timeout: 15_000, interval: 250 },
    );
    const events = await c.core.listNamespacedEvent({
      namespace: NS,
      fieldSelector: 'involvedObject.name=llama',
    });
    expect(
      events.items.some(
        (e) => e.reason === 'SuccessfulRescale' && /llama-a10g \(A10G\): 1 → 3/.test(e.message ?? ''),
      ),
    ).toBe(true);
  }, 40_000);

  it('a PodAutoscaler on another Deployment of the group is in conflict and does not write it', async () => {
    // llama-h100 is the group's second target (not its spec.scaleTargetRef); the group is older.
    await createPa({
      apiVersion: `${GROUP}/v1alpha1`,
      kind: 'PodAutoscaler',
      metadata: { name: 'rogue', namespace: NS },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama-h100' },
        minReplicas: 5,
        maxReplicas: 10,
        scalingStrategy: 'KPA',
        metricsSources: [
          { metricSourceType: 'pod', port: 8000, targetMetric: 'num_requests_running', targetValue: '4' },
        ],
      },
    });
    await vi.waitFor(
      async () => {
        const s = await status('rogue');
        expect(s?.conditions?.find((x) => x.type === 'AbleToScale')).toMatchObject({
          status: 'False',
          reason: 'MultiPodAutoscalerConflict',
        });
      },
      { timeout: 15_000, interval: 250 },
    );
    const events = await c.core.listNamespacedEvent({
      namespace: NS,
      fieldSelector: 'involvedObject.name=rogue',
    });
    expect(
      events.items.some(
        (e) =>
          e.reason === 'MultiPodAutoscalerConflict' &&
          /llama-h100.*PodAutoscaler llm\/llama/.test(e.message ?? ''),
      ),
    ).toBe(true);
    // With minReplicas 5 it would have written 5 had it owned the Deployment; the group keeps it at 0.
    expect(await replicas('llama-h100')).toBe(0);
    expect((await status('llama'))?.conditions?.find((x) => x.type === 'Optimized')?.status).toBe('True');
  }, 30_000);

  it('no profile for the model: an Optimized=False/NoProfile condition and no write', async () => {
    await createPa(groupPa('other', 'other-a10g', 'other-h100', 'mistral'));
    await vi.waitFor(
      async () => {
        const s = await status('other');
        expect(s?.conditions?.find((x) => x.type === 'Optimized')).toMatchObject({
          status: 'False',
          reason: 'NoProfile',
        });
        expect(s?.optimizer?.outcome).toBe('no-profile');
      },
      { timeout: 15_000, interval: 250 },
    );
    expect(await replicas('other-a10g')).toBe(1);
    expect(await replicas('other-h100')).toBe(0);
  }, 30_000);
});
