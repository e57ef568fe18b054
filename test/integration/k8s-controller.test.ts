/**
 * The controller in-process against a real kube-apiserver with the generated CRD installed:
 * scaling a Deployment, an invalid PodAutoscaler turned into a status condition and an event, a
 * conflict between two PodAutoscalers, shadow mode, and a leader failover that keeps the decision
 * state (checkpointed in status.decisionState). Metrics come from an in-memory table, so the test
 * is about the Kubernetes side, not scraping.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type * as k8s from '@kubernetes/client-node';
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
import { mergePatch, type KubeClients } from '../../src/k8s/client.js';
import { startController, type ControllerHandle } from '../../src/controller/controller.js';
import { TableMetricSource } from '../../src/engine/memory.js';
import type { InferscaleStatus } from '../../src/api/schema.js';
import type { KpaState } from '../../algorithms/kpa.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[k8s-controller.test] SKIPPED: ${skipReason}`);

const NS = 'llm';

function pa(
  name: string,
  target: string,
  extra: { annotations?: Record<string, string>; spec?: Record<string, unknown> } = {},
) {
  return {
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'PodAutoscaler',
    metadata: { name, namespace: NS, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
      minReplicas: 1,
      maxReplicas: 10,
      scalingStrategy: 'HPA',
      metricsSources: [
        { metricSourceType: 'pod', port: 8000, targetMetric: 'gpu_cache_usage_perc', targetValue: '0.5' },
      ],
      ...extra.spec,
    },
  };
}

describe.skipIf(skipReason !== undefined)('controller on a real apiserver', () => {
  let cp: ControlPlane;
  let kc: k8s.KubeConfig;
  let c: KubeClients;
  const metrics = new TableMetricSource();
  const controllers: ControllerHandle[] = [];

  const start = (identity: string) =>
    startController({
      kubeConfig: kc,
      metrics,
      periodMs: 500,
      // Status stays fresh through decision-state checkpoints, not the refresh.
      statusRefreshMs: 60_000,
      stateCheckpointMs: 500,
      leaderElection: {
        namespace: 'inferscale-system',
        name: 'ctl',
        identity,
        leaseDurationMs: 3_000,
        renewDeadlineMs: 2_000,
        retryPeriodMs: 300,
      },
      informer: { backoff: { initialMs: 100, maxMs: 1_000 } },
    }).then((h) => {
      controllers.push(h);
      return h;
    });

  const status = (name: string) => paStatus(c, NS, name);
  const condition = async (name: string, type: string) =>
    (await status(name))?.conditions?.find((x) => x.type === type);
  const replicas = async (name: string) =>
    (await c.apps.readNamespacedDeployment({ name, namespace: NS })).spec?.replicas;
  const events = async (name: string, namespace = NS) =>
    (await c.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items;
  const createPa = (body: unknown) => createPodAutoscaler(c, NS, body);

  async function deploymentWithPods(name: string, replicas: number, readyPods: number, value: number) {
    const pods = await deploymentWithReadyPods(c, { namespace: NS, name, replicas, readyPods, subnet: 2 });
    for (const pod of pods) metrics.podValues.set(pod, { gpu_cache_usage_perc: value });
  }

  beforeAll(async () => {
    ({ cp, kc, c } = await startApiServer());
    await installCrd(cp);
    await createNamespaces(c, NS, 'inferscale-system');
    await deploymentWithPods('vllm', 2, 2, 0.9);
    await deploymentWithPods('shadow', 1, 1, 0.9);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(controllers.map((h) => h.stop()));
    await cp?.stop();
  }, 60_000);

  it('scales a Deployment from pod metrics and reports it in status and events', async () => {
    const a = await start('a');
    await vi.waitFor(() => expect(a.isLeader()).toBe(true), { timeout: 10_000 });
    await createPa(pa('first', 'vllm'));
    // 2 pods at 0.9 against a 0.5 target: usage ratio 1.8 → ceil(1.8 × 2) = 4.
    await vi.waitFor(async () => expect(await replicas('vllm')).toBe(4), { timeout: 15_000, interval: 200 });
    await vi.waitFor(
      async () => {
        const s = await status('first');
        expect(s).toMatchObject({ desiredScale: 4, observedGeneration: 1 });
        expect(s?.conditions?.find((x) => x.type === 'ValidSpec')).toMatchObject({ status: 'True' });
        expect(s?.conditions?.find((x) => x.type === 'ScalingActive')).toMatchObject({
          status: 'True',
          reason: 'ValidMetricFound',
        });
        expect(s?.scalingHistory?.[0]).toMatchObject({ previousScale: 2, newScale: 4, success: true });
        expect(s?.lastDecision?.details).toMatchObject({ downRecommendation: 4 });
      },
      { timeout: 15_000, interval: 200 },
    );
    const ev = await events('first');
    expect(ev.find((e) => e.reason === 'SuccessfulRescale')?.message).toMatch(/^New size: 4; reason: /);
  }, 40_000);

  it('an invalid PodAutoscaler gets ValidSpec=False and a Warning event; the controller keeps running', async () => {
    await createPa(
      pa('broken', 'vllm', { annotations: { 'autoscaling.aibrix.ai/max-scale-up-rate': 'abc' } }),
    );
    await vi.waitFor(
      async () => {
        const v = await condition('broken', 'ValidSpec');
        expect(v).toMatchObject({ status: 'False', reason: 'InvalidAnnotation' });
        expect(v?.message).toContain('max-scale-up-rate');
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(await condition('broken', 'AbleToScale')).toMatchObject({ status: 'False' });
    await vi.waitFor(async () =>
      expect((await events('broken')).some((e) => e.type === 'Warning' && e.reason === 'InvalidSpec')).toBe(
        true,
      ),
    );
    // An invalid PodAutoscaler claims nothing: 'first' still owns vllm and nothing conflicts.
    expect(await condition('first', 'MultiPodAutoscalerConflict')).toBeUndefined();
  }, 30_000);

  it('a second PodAutoscaler on the same target gets a conflict condition and does not write', async () => {
    await createPa(pa('second', 'vllm', { spec: { minReplicas: 7 } }));
    await vi.waitFor(
      async () => {
        expect(await condition('second', 'MultiPodAutoscalerConflict')).toMatchObject({ status: 'True' });
        expect(await condition('second', 'AbleToScale')).toMatchObject({
          status: 'False',
          reason: 'MultiPodAutoscalerConflict',
        });
      },
      { timeout: 15_000, interval: 200 },
    );
    // With minReplicas 7 it would have scaled to 7 had it written.
    expect(await replicas('vllm')).toBe(4);
    await c.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: 'v1alpha1',
      namespace: NS,
      plural: 'podautoscalers',
      name: 'second',
    });
  }, 30_000);

  it('shadow mode decides and reports, and never writes', async () => {
    await createPa(pa('shadow', 'shadow', { spec: { dryRun: true } }));
    await vi.waitFor(
      async () => {
        const s = await status('shadow');
        expect(s?.desiredScale).toBe(2);
        expect(s?.scalingHistory?.[0]).toMatchObject({
          previousScale: 1,
          newScale: 2,
          success: false,
          dryRun: true,
        });
        expect(s?.conditions?.find((x) => x.type === 'AbleToScale')).toMatchObject({ reason: 'DryRun' });
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(await replicas('shadow')).toBe(1);
    expect((await events('shadow')).some((e) => e.reason === 'DryRunRescale')).toBe(true);
    const gauge = await controllers[0]!.metrics.registry.getSingleMetricAsString(
      'inferscale_desired_replicas',
    );
    expect(gauge).toMatch(/inferscale_desired_replicas\{namespace="llm",name="shadow"\} 2/);
  }, 30_000);

  it('failover: the standby takes over and resumes from the decision state in status (KPA panic, stabilisation)', async () => {
    const [a] = controllers;
    // A KPA in panic under leader a: 2 ready pods at 0.9 against 0.5 each need 4 (panic ratio 2),
    // so it scales to 4 and holds that (maxPanicPods) for a stable window after demand falls.
    // Stabilisation is off so that only the KPA's own state can hold the scale.
    await deploymentWithPods('burst', 2, 2, 0.9);
    await createPa(
      pa('burst', 'burst', {
        spec: {
          scalingStrategy: 'KPA',
          observeWindowSeconds: 60,
          panicWindowSeconds: 10,
          behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
        },
      }),
    );
    await vi.waitFor(async () => expect(await replicas('burst')).toBe(4), { timeout: 15_000, interval: 200 });
    await vi.waitFor(
      async () => {
        const snap = (await status('burst'))?.decisionState;
        // The apiserver keeps the field (the CRD declares it) and it carries the panic state.
        expect(snap).toMatchObject({ version: 1, fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) });
        const kpa = (JSON.parse(snap!.data) as { m: { ps: number | null; mp: number }[] }).m[0];
        expect(kpa?.ps).not.toBeNull();
        expect(kpa?.mp).toBe(4);
      },
      { timeout: 15_000, interval: 200 },
    );

    const b = await start('b');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(b.isLeader()).toBe(false);
    // Demand drops. HPA now recommends 1, but the 300 s scale-down window must hold 4. The KPA
    // wants 1, but panic holds 4. A fresh leader without the old leader's memory would scale both
    // down at once (the KPA to its cold-start panic floor, the 2 ready pods).
    for (const pod of ['vllm-0', 'vllm-1', 'burst-0', 'burst-1']) {
      metrics.podValues.set(pod, { gpu_cache_usage_perc: 0.1 });
    }
    await a!.stop(); // releases the lease
    const stoppedMs = Date.now();
    await vi.waitFor(() => expect(b.isLeader()).toBe(true), { timeout: 10_000 });
    await vi.waitFor(
      async () => {
        const s = await status('first');
        expect(s?.conditions?.find((x) => x.type === 'AbleToScale')).toMatchObject({
          reason: 'ScaleDownStabilized',
        });
      },
      { timeout: 15_000, interval: 200 },
    );
    await new Promise((r) => setTimeout(r, 1_500)); // a few more ticks by b
    expect(await replicas('vllm')).toBe(4);
    const restored = b.engine.exportState(NS, 'first')?.behavior.recommendations ?? [];
    expect(restored.some((r) => r.replicas === 4)).toBe(true);

    expect(await replicas('burst')).toBe(4);
    const kpa = b.engine.exportState(NS, 'burst')?.metrics[0] as KpaState | undefined;
    expect(kpa).toMatchObject({ maxPanicPods: 4, started: true });
    expect(kpa?.panicSinceMs).not.toBeNull();
    // b's windows still hold what a observed: buckets from before a stopped.
    expect(kpa!.stable!.buckets[0]!.index * 1000).toBeLessThan(stoppedMs);
    expect((await status('burst'))?.lastDecision?.details).toMatchObject({
      panicMode: true,
      maxPanicPods: 4,
    });
  }, 60_000);

  it('--aibrix-compat: an autoscaling.aibrix.ai PodAutoscaler is scaled and gets an AIBrix-shaped status', async () => {
    // A permissive stand-in for AIBrix's CRD (group, kind, status subresource are what matter here).
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'podautoscalers.autoscaling.aibrix.ai' },
      spec: {
        group: 'autoscaling.aibrix.ai',
        scope: 'Namespaced',
        names: {
          plural: 'podautoscalers',
          singular: 'podautoscaler',
          kind: 'PodAutoscaler',
          listKind: 'PodAutoscalerList',
        },
        versions: [
          {
            name: 'v1alpha1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            subresources: { status: {} },
          },
        ],
      },
    };
    // Without the CRD, start fails at once and says what to do.
    await expect(
      startController({ kubeConfig: kc, metrics, aibrixCompat: true, leaderElection: false }),
    ).rejects.toThrow(/does not serve autoscaling\.aibrix\.ai\/v1alpha1 .*without --aibrix-compat/);
    expect(
      (await cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status,
    ).toBe(201);
    await vi.waitFor(
      async () => expect((await cp.request('GET', '/apis/autoscaling.aibrix.ai/v1alpha1')).status).toBe(200),
      {
        timeout: 30_000,
        interval: 200,
      },
    );
    const ns = 'aibrix';
    await createNamespaces(c, ns);
    await deploymentWithReadyPods(c, { namespace: ns, name: 'mistral', replicas: 1, subnet: 5 });
    metrics.podValues.set('mistral-0', { gpu_cache_usage_perc: 0.9 });
    await startController({
      kubeConfig: kc,
      metrics,
      namespace: ns,
      aibrixCompat: true,
      periodMs: 500,
      leaderElection: false,
    }).then((h) => controllers.push(h));
    await c.custom.createNamespacedCustomObject({
      group: 'autoscaling.aibrix.ai',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'podautoscalers',
      body: {
        apiVersion: 'autoscaling.aibrix.ai/v1alpha1',
        kind: 'PodAutoscaler',
        metadata: { name: 'mistral' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'mistral' },
          minReplicas: 1,
          maxReplicas: 4,
          scalingStrategy: 'HPA',
          metricsSources: [
            {
              metricSourceType: 'pod',
              protocolType: 'http',
              port: '8000',
              path: '/metrics',
              targetMetric: 'gpu_cache_usage_perc',
              targetValue: '0.5',
            },
          ],
        },
      },
    });
    await vi.waitFor(
      async () =>
        expect(
          (await c.apps.readNamespacedDeployment({ name: 'mistral', namespace: ns })).spec?.replicas,
        ).toBe(2),
      {
        timeout: 15_000,
        interval: 200,
      },
    );
    await vi.waitFor(
      async () => {
        const obj = (await c.custom.getNamespacedCustomObject({
          group: 'autoscaling.aibrix.ai',
          version: 'v1alpha1',
          namespace: ns,
          plural: 'podautoscalers',
          name: 'mistral',
        })) as { status?: InferscaleStatus };
        expect(obj.status).toMatchObject({ desiredScale: 2, actualScale: 1 });
        // Only AIBrix's status fields, even though this stand-in CRD would keep anything.
        expect(Object.keys(obj.status ?? {}).sort()).toEqual([
          'actualScale',
          'conditions',
          'desiredScale',
          'lastScaleTime',
          'scalingHistory',
          'scheduledBounds',
        ]);
      },
      { timeout: 15_000, interval: 200 },
    );
  }, 40_000);

  it('--hpa-mode=native: generates an owned HPA, mirrors its status, deletes it when the strategy changes', async () => {
    const ns = 'native';
    // Only the native-mode controller may act on this namespace: stop the all-namespace ones.
    await Promise.all(controllers.splice(0, 2).map((h) => h.stop()));
    await c.core.createNamespace({ body: { metadata: { name: ns } } });
    await c.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'gemma' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'gemma' } },
          template: {
            metadata: { labels: { app: 'gemma' } },
            spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai' }] },
          },
        },
      },
    });
    await startController({
      kubeConfig: kc,
      metrics,
      namespace: ns,
      hpaMode: 'native',
      periodMs: 500,
      leaderElection: false,
    }).then((h) => controllers.push(h));
    const created = (await c.custom.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1alpha1',
      namespace: ns,
      plural: 'podautoscalers',
      body: { ...pa('gemma', 'gemma'), metadata: { name: 'gemma', namespace: ns } },
    })) as { metadata: { uid: string } };
    let hpa: k8s.V2HorizontalPodAutoscaler | undefined;
    await vi.waitFor(
      async () => {
        hpa = await c.autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'gemma-hpa', namespace: ns });
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(hpa!.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'PodAutoscaler',
        name: 'gemma',
        uid: created.metadata.uid,
        controller: true,
      }),
    ]);
    expect(hpa!.spec?.metrics?.[0]?.pods?.target).toMatchObject({
      type: 'AverageValue',
      averageValue: '500m',
    });
    // No kube-controller-manager here: play the HPA controller and report a decision.
    await c.autoscaling.patchNamespacedHorizontalPodAutoscalerStatus(
      {
        name: 'gemma-hpa',
        namespace: ns,
        body: {
          status: {
            currentReplicas: 1,
            desiredReplicas: 3,
            conditions: [
              {
                type: 'AbleToScale',
                status: 'True',
                reason: 'SucceededRescale',
                message: 'the HPA controller was able to update the target scale to 3',
                lastTransitionTime: new Date().toISOString(),
              },
            ],
          },
        },
      },
      mergePatch,
    );
    const paStatus = async () =>
      (
        (await c.custom.getNamespacedCustomObject({
          group: GROUP,
          version: 'v1alpha1',
          namespace: ns,
          plural: 'podautoscalers',
          name: 'gemma',
        })) as {
          status?: InferscaleStatus;
        }
      ).status;
    await vi.waitFor(
      async () => {
        const s = await paStatus();
        expect(s).toMatchObject({ desiredScale: 3, actualScale: 1 });
        expect(s?.conditions?.find((x) => x.type === 'AbleToScale')).toMatchObject({
          status: 'True',
          reason: 'SucceededRescale',
        });
      },
      { timeout: 15_000, interval: 200 },
    );
    // Switching to KPA: the generated HPA must go (AIBrix leaves it scaling the target, W-17).
    await c.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: 'v1alpha1',
        namespace: ns,
        plural: 'podautoscalers',
        name: 'gemma',
        body: { spec: { scalingStrategy: 'KPA' } },
      },
      mergePatch,
    );
    await vi.waitFor(
      async () => {
        const gone = await c.autoscaling
          .readNamespacedHorizontalPodAutoscaler({ name: 'gemma-hpa', namespace: ns })
          .then(
            () => false,
            () => true,
          );
        expect(gone).toBe(true);
      },
      { timeout: 15_000, interval: 200 },
    );
    expect((await events('gemma', ns)).some((e) => e.reason === 'DeletedHPA')).toBe(true);
  }, 40_000);

  it('the CLI serves health and metrics, leads, and on SIGTERM steps down and releases its Lease', async () => {
    await c.core.createNamespace({ body: { metadata: { name: 'cli-only' } } });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'controller',
        `--kubeconfig=${cp.kubeconfigPath}`,
        '--namespace=cli-only',
        '--lease-namespace=inferscale-system',
        '--lease-name=cli',
        '--metrics-port=0',
        '--metrics-host=127.0.0.1',
      ],
      { cwd: new URL('../../', import.meta.url).pathname, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const lines: string[] = [];
    let url: string | undefined;
    createInterface({ input: child.stderr! }).on('line', (l) => {
      lines.push(l);
      try {
        const j = JSON.parse(l) as { msg?: string; url?: string };
        if (j.url) url = j.url;
      } catch {
        /* not JSON */
      }
    });
    try {
      await vi.waitFor(() => expect(url).toBeDefined(), { timeout: 30_000, interval: 100 });
      await vi.waitFor(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), {
        timeout: 15_000,
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      await vi.waitFor(
        async () => expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^inferscale_leader 1$/m),
        { timeout: 15_000 },
      );
      const lease = await c.coordination.readNamespacedLease({ name: 'cli', namespace: 'inferscale-system' });
      expect(lease.spec?.holderIdentity).toBeTruthy();
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code, lines.slice(-5).join('\n')).toBe(0);
      const released = await c.coordination.readNamespacedLease({
        name: 'cli',
        namespace: 'inferscale-system',
      });
      expect(released.spec?.holderIdentity).toBeUndefined();
      expect(lines.some((l) => l.includes('shutting down'))).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
