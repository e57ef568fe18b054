/**
 * `inferscale daemon` in-process against a real kube-apiserver: targets from a file, scaling through
 * /scale, a bad edit that keeps the last good configuration, a good edit picked up by the file
 * watcher, and an OPTIMIZER model group added to the file (token histograms and profiles in memory).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { controlPlaneSkipReason, type ControlPlane } from '../support/controlplane.js';
import { createNamespaces, deploymentWithReadyPods, startApiServer } from './support/k8s-fixtures.js';
import type { KubeClients } from '../../src/k8s/client.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon/daemon.js';
import { TableMetricSource } from '../../src/engine/memory.js';
import { StaticProfileSource } from '../../src/optimizer/profile-source.js';
import type { TokenHistogramSource } from '../../src/optimizer/token-scraper.js';
import { PROFILES, groupSpec, snapshot } from '../unit/engine/group-rig.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[k8s-daemon.test] SKIPPED: ${skipReason}`);

const NS = 'daemon';

const target = (name: string, deployment: string, maxReplicas = 6) => `
apiVersion: autoscaling.inferscale.dev/v1alpha1
kind: PodAutoscaler
metadata: {name: ${name}}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: ${deployment}}
  maxReplicas: ${maxReplicas}
  scalingStrategy: HPA
  metricsSources:
    - {metricSourceType: pod, port: 8000, targetMetric: gpu_cache_usage_perc, targetValue: '0.5'}
`;

describe.skipIf(skipReason !== undefined)('daemon on a real apiserver', () => {
  let cp: ControlPlane;
  let c: KubeClients;
  let kc: k8s.KubeConfig;
  let dir: string;
  let daemon: DaemonHandle | undefined;
  let file: string;
  const metrics = new TableMetricSource();
  // Every scraped pod finishes 3 req/s (fractional counts: steady at any tick spacing).
  const t0 = Date.now();
  const tokens: TokenHistogramSource = {
    read: async (req) =>
      new Map(req.pods.map((p) => [p.name, { snapshot: snapshot((3 * (req.nowMs - t0)) / 1000) }])),
  };

  const replicas = async (name: string) =>
    (await c.apps.readNamespacedDeployment({ name, namespace: NS })).spec?.replicas;

  async function workload(name: string, value: number) {
    const [pod] = await deploymentWithReadyPods(c, { namespace: NS, name, replicas: 1, subnet: 4 });
    metrics.podValues.set(pod!, { gpu_cache_usage_perc: value });
  }

  beforeAll(async () => {
    ({ cp, kc, c } = await startApiServer());
    await createNamespaces(c, NS);
    await workload('alpha', 0.9);
    await workload('beta', 0.9);
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferscale-daemon-'));
  }, 180_000);

  afterAll(async () => {
    await daemon?.stop();
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('scales from a file, keeps the last good config on a bad edit, picks up a good one', async () => {
    file = path.join(dir, 'targets.yaml');
    await writeFile(file, target('alpha', 'alpha'));
    daemon = await startDaemon({
      kubeConfig: kc,
      configPath: file,
      defaultNamespace: NS,
      metrics,
      tokens,
      profiles: new StaticProfileSource(PROFILES),
      periodMs: 500,
      watch: { debounceMs: 50, pollMs: 200 },
    });
    // 1 pod at 0.9 against 0.5 → 2.
    await vi.waitFor(async () => expect(await replicas('alpha')).toBe(2), { timeout: 15_000, interval: 200 });
    const events = await c.core.listNamespacedEvent({
      namespace: NS,
      fieldSelector: 'involvedObject.name=alpha,involvedObject.kind=Deployment',
    });
    expect(
      events.items.some(
        (e) => e.reason === 'SuccessfulRescale' && e.message?.includes('[PodAutoscaler daemon/alpha]'),
      ),
    ).toBe(true);

    // A broken edit: rejected, the running configuration stays.
    await writeFile(file, `${target('alpha', 'alpha')}---\n${target('beta', 'beta', 0)}`);
    await vi.waitFor(
      async () =>
        expect(
          await daemon!.metrics.registry.getSingleMetricAsString('inferscale_config_reloads_total'),
        ).toMatch(/result="error"} 1/),
      { timeout: 10_000 },
    );
    expect(daemon.podAutoscalers().map((p) => p.name)).toEqual(['alpha']);
    const r = await daemon.reload();
    expect(r.ok).toBe(false);
    expect(r.errors[0]).toMatch(/document 2 \(daemon\/beta\): spec\.maxReplicas/);

    // Fixed: beta is added and scaled.
    await writeFile(file, `${target('alpha', 'alpha')}---\n${target('beta', 'beta')}`);
    await vi.waitFor(() => expect(daemon!.podAutoscalers().map((p) => p.name)).toEqual(['alpha', 'beta']), {
      timeout: 10_000,
    });
    await vi.waitFor(async () => expect(await replicas('beta')).toBe(2), { timeout: 15_000, interval: 200 });
    expect(await daemon.metrics.registry.getSingleMetricAsString('inferscale_desired_replicas')).toMatch(
      /inferscale_desired_replicas\{namespace="daemon",name="beta"\} 2/,
    );
  }, 60_000);

  it('runs an OPTIMIZER model group added to the file: the plan goes to each Deployment', async () => {
    await deploymentWithReadyPods(c, { namespace: NS, name: 'llama-a10g', replicas: 1, subnet: 5 });
    await deploymentWithReadyPods(c, { namespace: NS, name: 'llama-h100', replicas: 0, subnet: 6 });
    const group = JSON.stringify({ ...groupSpec(), metadata: { name: 'group' } });
    await writeFile(file, `${target('alpha', 'alpha')}---\n${target('beta', 'beta')}---\n${group}\n`);
    // 3 req/s: three A10Gs (1 req/s at $1 each) are cheaper than one H100 (10 req/s at $4).
    await vi.waitFor(async () => expect(await replicas('llama-a10g')).toBe(3), {
      timeout: 15_000,
      interval: 200,
    });
    expect(await replicas('llama-h100')).toBe(0);
    // The Event is recorded right after the write, in the same tick.
    await vi.waitFor(async () => {
      const events = await c.core.listNamespacedEvent({
        namespace: NS,
        fieldSelector: 'involvedObject.name=llama-a10g,involvedObject.kind=Deployment',
      });
      expect(events.items.map((e) => `${e.reason}: ${e.message}`)).toContainEqual(
        expect.stringMatching(
          /^SuccessfulRescale: \[PodAutoscaler daemon\/group\] Deployment\/llama-a10g \(A10G\): 1 → 3;/,
        ),
      );
    });
    expect(await daemon!.metrics.registry.getSingleMetricAsString('inferscale_desired_replicas')).toMatch(
      /\{namespace="daemon",name="group"\} 3/,
    );
  }, 60_000);
});
