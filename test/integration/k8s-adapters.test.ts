/**
 * The Kubernetes adapters against a real kube-apiserver (test/support/controlplane.ts): /scale of a
 * Deployment, a StatefulSet and a custom resource; a forced 409 conflict; the pod informer across
 * an apiserver restart; Lease election with two candidates.
 *
 * Skips only when the control-plane binaries are missing and INFERSCALE_REQUIRE_CONTROLPLANE is
 * unset (build them with `bash hack/controlplane/build.sh`).
 */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { controlPlaneSkipReason, startControlPlane, type ControlPlane } from '../support/controlplane.js';
import { makeClients, mergePatch, type KubeClients } from '../../src/k8s/client.js';
import { KubeScaleTarget, ScaleConflictError } from '../../src/k8s/scale-target.js';
import { KubePodSource } from '../../src/k8s/pod-source.js';
import { LeaderElector, kubeLeaseClient, type LeaseClient } from '../../src/k8s/leader.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[k8s-adapters.test] SKIPPED: ${skipReason}`);

const NS = 'adapters';
const GROUP = 'serving.example.com';

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:latest' }] },
});

describe.skipIf(skipReason !== undefined)('Kubernetes adapters on a real apiserver', () => {
  let cp: ControlPlane;
  let kc: k8s.KubeConfig;
  let c: KubeClients;

  beforeAll(async () => {
    cp = await startControlPlane({ controllerManager: false });
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    c = makeClients(kc);
    await c.core.createNamespace({ body: { metadata: { name: NS } } });
    // No controller-manager: create the namespace's default ServiceAccount ourselves (pod admission needs it).
    await c.core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'default' } } });
    await c.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'vllm' },
        spec: { replicas: 2, selector: { matchLabels: { app: 'vllm' } }, template: podTemplate('vllm') },
      },
    });
    await c.apps.createNamespacedStatefulSet({
      namespace: NS,
      body: {
        metadata: { name: 'sglang' },
        spec: {
          replicas: 1,
          serviceName: 'sglang',
          selector: { matchLabels: { app: 'sglang' } },
          template: podTemplate('sglang'),
        },
      },
    });
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `llmservers.${GROUP}` },
        spec: {
          group: GROUP,
          scope: 'Namespaced',
          names: {
            plural: 'llmservers',
            singular: 'llmserver',
            kind: 'LLMServer',
            listKind: 'LLMServerList',
          },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: { type: 'object', properties: { replicas: { type: 'integer' } } },
                    status: {
                      type: 'object',
                      properties: { replicas: { type: 'integer' }, selector: { type: 'string' } },
                    },
                  },
                },
              },
              subresources: {
                status: {},
                scale: {
                  specReplicasPath: '.spec.replicas',
                  statusReplicasPath: '.status.replicas',
                  labelSelectorPath: '.status.selector',
                },
              },
            },
          ],
        },
      },
    });
    await vi.waitFor(
      async () => {
        const r = await cp.request<{ resources?: unknown[] }>('GET', `/apis/${GROUP}/v1`);
        expect(r.status).toBe(200);
      },
      { timeout: 30_000, interval: 200 },
    );
    await c.custom.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace: NS,
      plural: 'llmservers',
      body: {
        apiVersion: `${GROUP}/v1`,
        kind: 'LLMServer',
        metadata: { name: 'llama' },
        spec: { replicas: 2 },
      },
    });
    await c.custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: 'v1',
        namespace: NS,
        plural: 'llmservers',
        name: 'llama',
        body: { status: { replicas: 2, selector: 'app=llama' } },
      },
      mergePatch,
    );
  }, 180_000);

  afterAll(async () => {
    await cp?.stop();
  }, 60_000);

  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'vllm' };
  const deploymentReplicas = async () =>
    (await c.apps.readNamespacedDeployment({ name: 'vllm', namespace: NS })).spec?.replicas;

  it('reads and writes a Deployment through /scale (update mode, resourceVersion carried)', async () => {
    const t = new KubeScaleTarget({ clients: c });
    const s = await t.get(NS, deployment);
    expect(s).toMatchObject({ replicas: 2, selector: 'app=vllm' });
    expect(s.resourceVersion).toMatch(/^\d+$/);
    await t.set(NS, deployment, 4);
    expect(await deploymentReplicas()).toBe(4);
    await t.get(NS, deployment);
    await t.set(NS, deployment, 0);
    expect(await deploymentReplicas()).toBe(0);
    expect((await t.get(NS, deployment)).replicas).toBe(0); // /scale omits replicas=0
    await t.set(NS, deployment, 2);
  });

  it('writes a StatefulSet with a merge patch', async () => {
    const t = new KubeScaleTarget({ clients: c, writeMode: 'patch' });
    const ref = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'sglang' };
    expect(await t.get(NS, ref)).toMatchObject({ replicas: 1, selector: 'app=sglang' });
    await t.set(NS, ref, 3);
    expect((await c.apps.readNamespacedStatefulSet({ name: 'sglang', namespace: NS })).spec?.replicas).toBe(
      3,
    );
  });

  it('scales a custom resource through its scale subresource, found by discovery', async () => {
    const t = new KubeScaleTarget({ clients: c });
    const ref = { apiVersion: `${GROUP}/v1`, kind: 'LLMServer', name: 'llama' };
    expect(await t.get(NS, ref)).toMatchObject({ replicas: 2, selector: 'app=llama', statusReplicas: 2 });
    await t.set(NS, ref, 5);
    const obj = (await c.custom.getNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace: NS,
      plural: 'llmservers',
      name: 'llama',
    })) as {
      spec: { replicas: number };
    };
    expect(obj.spec.replicas).toBe(5);
    await expect(t.get(NS, { ...ref, kind: 'Nope' })).rejects.toThrow(
      /has no kind Nope \(it serves: LLMServer\)/,
    );
  });

  it('retries a real 409: the Deployment changes between our read and our write', async () => {
    let bumps = 1;
    // A wrapped client: just before our PUT, someone else edits the Deployment (a label), which
    // moves its resourceVersion and makes our PUT conflict.
    const apps = new Proxy(c.apps, {
      get(target, prop, receiver) {
        if (prop === 'replaceNamespacedDeploymentScale') {
          return async (args: k8s.AppsV1ApiReplaceNamespacedDeploymentScaleRequest) => {
            if (bumps-- > 0) {
              await c.apps.patchNamespacedDeployment(
                {
                  name: 'vllm',
                  namespace: NS,
                  body: { metadata: { labels: { touched: String(Date.now()) } } },
                },
                mergePatch,
              );
            }
            return target.replaceNamespacedDeploymentScale(args);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const t = new KubeScaleTarget({ clients: { ...c, apps } });
    await t.get(NS, deployment);
    await t.set(NS, deployment, 3);
    expect(t.conflicts).toBe(1);
    expect(await deploymentReplicas()).toBe(3);

    // Someone changes the replicas themselves: we must not overwrite them.
    await t.get(NS, deployment);
    await c.apps.patchNamespacedDeploymentScale(
      { name: 'vllm', namespace: NS, body: { spec: { replicas: 7 } } },
      mergePatch,
    );
    const err = await t.set(NS, deployment, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScaleConflictError);
    expect(await deploymentReplicas()).toBe(7);
  });

  it('pod informer: maps pods, follows status changes, and recovers after an apiserver restart', async () => {
    const mkPod = async (name: string, app: string) => {
      await c.core.createNamespacedPod({
        namespace: NS,
        body: { metadata: { name, labels: { app, role: 'decode' } }, spec: podTemplate(app).spec },
      });
    };
    const setReady = async (name: string, ready: boolean, ip: string) => {
      await c.core.patchNamespacedPodStatus(
        {
          name,
          namespace: NS,
          body: {
            status: {
              phase: 'Running',
              podIP: ip,
              podIPs: [{ ip }],
              conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
            },
          },
        },
        mergePatch,
      );
    };
    await mkPod('p1', 'vllm');
    await mkPod('p2', 'vllm');
    await mkPod('other', 'sglang');
    await setReady('p1', true, '10.1.0.1');

    const source = new KubePodSource({
      kc,
      core: c.core,
      namespace: NS,
      informer: { backoff: { initialMs: 100, maxMs: 1_000 }, watchdogMs: 10_000 },
    });
    source.start();
    try {
      let pods = await source.list(NS, 'app=vllm');
      expect(pods.map((p) => p.name).sort()).toEqual(['p1', 'p2']);
      expect(pods.find((p) => p.name === 'p1')).toMatchObject({
        phase: 'Running',
        ready: true,
        ip: '10.1.0.1',
        terminating: false,
      });
      expect(pods.find((p) => p.name === 'p2')).toMatchObject({ phase: 'Pending', ready: false });
      expect((await source.list(NS, 'app in (vllm,sglang),role=decode')).length).toBe(3);

      await setReady('p2', true, '10.1.0.2');
      await vi.waitFor(
        async () => expect((await source.list(NS, 'app=vllm')).every((p) => p.ready)).toBe(true),
        { timeout: 10_000 },
      );

      const watchesBefore = source.informer.stats.watches;
      await cp.restartApiserver();
      await mkPod('p3', 'vllm');
      await vi.waitFor(() => expect(source.informer.get(NS, 'p3')).toBeDefined(), {
        timeout: 30_000,
        interval: 200,
      });
      expect(source.informer.stats.watches).toBeGreaterThan(watchesBefore);
      pods = await source.list(NS, 'app=vllm');
      expect(pods.map((p) => p.name).sort()).toEqual(['p1', 'p2', 'p3']);
      expect(source.directLists).toBe(0); // served from the informer, which recovered by itself
    } finally {
      await source.stop();
    }
  }, 60_000);

  it('Lease election: one leader of two; when its renewals fail the other takes over within the lease', async () => {
    await c.core.createNamespace({ body: { metadata: { name: 'lease-test' } } });
    const real = kubeLeaseClient(c.coordination);
    let partitioned = false;
    const flaky: LeaseClient = {
      get: (ns, n) => real.get(ns, n),
      create: (ns, n, r) => real.create(ns, n, r),
      replace: (ns, n, r) =>
        partitioned
          ? Promise.reject(Object.assign(new Error('partitioned'), { code: 503 }))
          : real.replace(ns, n, r),
    };
    let leaders = 0;
    let maxLeaders = 0;
    const hooks = {
      onStartedLeading: () => {
        leaders++;
        maxLeaders = Math.max(maxLeaders, leaders);
      },
      onStoppedLeading: () => void leaders--,
    };
    const timing = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300 };
    const a = new LeaderElector({
      leases: flaky,
      namespace: 'lease-test',
      name: 'ctl',
      identity: 'a',
      ...timing,
      ...hooks,
    });
    const b = new LeaderElector({
      leases: real,
      namespace: 'lease-test',
      name: 'ctl',
      identity: 'b',
      ...timing,
      ...hooks,
    });
    a.start();
    await vi.waitFor(() => expect(a.isLeader).toBe(true), { timeout: 10_000 });
    b.start();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(b.isLeader).toBe(false);
    const lease = await c.coordination.readNamespacedLease({ name: 'ctl', namespace: 'lease-test' });
    expect(lease.spec?.holderIdentity).toBe('a');
    expect(lease.spec?.leaseDurationSeconds).toBe(3);

    partitioned = true;
    const t0 = Date.now();
    await vi.waitFor(() => expect(b.isLeader).toBe(true), { timeout: 15_000, interval: 100 });
    const takeoverMs = Date.now() - t0;
    expect(a.isLeader).toBe(false);
    expect(maxLeaders).toBe(1);
    // b waits one lease duration (3 s) after the last renewal it saw, plus up to a retry period;
    // the bound is generous because the machine is shared.
    console.info(
      `[k8s-adapters.test] lease takeover after the leader's renewals stopped: ${takeoverMs} ms (lease 3000 ms)`,
    );
    expect(takeoverMs).toBeLessThan(9_000);
    const after = await c.coordination.readNamespacedLease({ name: 'ctl', namespace: 'lease-test' });
    expect(after.spec?.holderIdentity).toBe('b');
    expect(after.spec?.leaseTransitions).toBe(1);

    // Three candidates racing for an expired lease: each PUTs with the resourceVersion it read and
    // the apiserver's compare-and-swap lets exactly one through.
    partitioned = false;
    await Promise.all([a.stop(), b.stop()]);
    const holder = new LeaderElector({
      leases: real,
      namespace: 'lease-test',
      name: 'race',
      identity: 'gone',
      ...timing,
    });
    expect(await holder.tryAcquireOrRenew()).toBe(true);
    const racers = ['x', 'y', 'z'].map(
      (id) =>
        new LeaderElector({ leases: real, namespace: 'lease-test', name: 'race', identity: id, ...timing }),
    );
    expect(await Promise.all(racers.map((r) => r.tryAcquireOrRenew()))).toEqual([false, false, false]);
    await new Promise((r) => setTimeout(r, 3_200)); // 'gone' never renews: the lease expires
    const won = await Promise.all(racers.map((r) => r.tryAcquireOrRenew()));
    expect(won.filter(Boolean)).toHaveLength(1);
    const final = await c.coordination.readNamespacedLease({ name: 'race', namespace: 'lease-test' });
    expect(final.spec?.holderIdentity).toBe(['x', 'y', 'z'][won.indexOf(true)]);
    expect(final.spec?.leaseTransitions).toBe(1);
  }, 60_000);
});
