/**
 * Integration test of the real control plane (etcd + kube-apiserver + kube-controller-manager)
 * from test/support/controlplane.ts.
 *
 * Skips (with a message) only when the binaries are missing AND INFERSCALE_REQUIRE_CONTROLPLANE is
 * unset. Build them with `bash hack/controlplane/build.sh`.
 */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { controlPlaneSkipReason, startControlPlane, type ControlPlane } from '../support/controlplane.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[controlplane.test] SKIPPED: ${skipReason}`);

const NS = 'cp-test';
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

function deployment(name: string, replicas: number): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:latest' }] },
      },
    },
  };
}

describe.skipIf(skipReason !== undefined)('real Kubernetes control plane', () => {
  let cp: ControlPlane;
  let kc: k8s.KubeConfig;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;

  const podsOf = async (app: string) =>
    (await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items;

  beforeAll(async () => {
    cp = await startControlPlane({ controllerManager: true });
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    // The serviceaccount controller must create the namespace's default SA before pods are admitted.
    await vi.waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: NS }), {
      timeout: 30_000,
      interval: 200,
    });
  }, 180_000);

  afterAll(async () => {
    await cp?.stop();
  }, 60_000);

  it('serves /readyz and /version with the pinned version', async () => {
    expect((await cp.request('GET', '/readyz')).status).toBe(200);
    const v = await cp.request<{ gitVersion: string }>('GET', '/version');
    expect(v.body.gitVersion).toMatch(/^v1\.\d+\.\d+/);
  });

  it('controller-manager turns a Deployment into a ReplicaSet and Pending Pods', async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: deployment('vllm', 3) });
    await vi.waitFor(
      async () => {
        const rs = await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=vllm' });
        expect(rs.items).toHaveLength(1);
        expect(rs.items[0]?.metadata?.ownerReferences?.[0]?.kind).toBe('Deployment');
        const pods = await podsOf('vllm');
        expect(pods).toHaveLength(3);
        for (const p of pods) {
          expect(p.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
          expect(p.status?.phase).toBe('Pending'); // no scheduler / kubelet
        }
      },
      { timeout: 30_000, interval: 250 },
    );
  }, 60_000);

  it('reads and writes the /scale subresource', async () => {
    const scale = await apps.readNamespacedDeploymentScale({ name: 'vllm', namespace: NS });
    expect(scale.spec?.replicas).toBe(3);
    expect(scale.status?.selector).toBe('app=vllm');

    await apps.patchNamespacedDeploymentScale(
      { name: 'vllm', namespace: NS, body: { spec: { replicas: 1 } } },
      mergePatch,
    );
    const d = await apps.readNamespacedDeployment({ name: 'vllm', namespace: NS });
    expect(d.spec?.replicas).toBe(1);
    await vi.waitFor(async () => expect(await podsOf('vllm')).toHaveLength(1), {
      timeout: 30_000,
      interval: 250,
    });

    // PUT with a stale resourceVersion must conflict (optimistic concurrency).
    const stale = { ...scale, spec: { replicas: 5 } };
    await expect(
      apps.replaceNamespacedDeploymentScale({ name: 'vllm', namespace: NS, body: stale }),
    ).rejects.toMatchObject({ code: 409 });
    const fresh = await apps.readNamespacedDeploymentScale({ name: 'vllm', namespace: NS });
    await apps.replaceNamespacedDeploymentScale({
      name: 'vllm',
      namespace: NS,
      body: { ...fresh, spec: { replicas: 2 } },
    });
    await vi.waitFor(async () => expect(await podsOf('vllm')).toHaveLength(2), {
      timeout: 30_000,
      interval: 250,
    });
  }, 90_000);

  it('mints a ServiceAccount kubeconfig that is limited to its Role', async () => {
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: NS,
      body: {
        metadata: { name: 'scaler' },
        rules: [
          { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch', 'update'] },
        ],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: {
        metadata: { name: 'scaler' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'scaler' },
        subjects: [{ kind: 'ServiceAccount', name: 'autoscaler', namespace: NS }],
      },
    });
    const sa = await cp.serviceAccountKubeconfig({ namespace: NS, name: 'autoscaler' });
    const saKc = new k8s.KubeConfig();
    saKc.loadFromFile(sa.kubeconfigPath);
    const saApps = saKc.makeApiClient(k8s.AppsV1Api);
    const saCore = saKc.makeApiClient(k8s.CoreV1Api);

    await vi.waitFor(
      async () =>
        expect(
          (await saApps.readNamespacedDeploymentScale({ name: 'vllm', namespace: NS })).spec?.replicas,
        ).toBe(2),
      { timeout: 10_000, interval: 200 }, // RBAC informer may lag a moment
    );
    await saApps.patchNamespacedDeploymentScale(
      { name: 'vllm', namespace: NS, body: { spec: { replicas: 3 } } },
      mergePatch,
    );
    await expect(saCore.listNamespacedPod({ namespace: NS })).rejects.toMatchObject({ code: 403 });
    await expect(saApps.deleteNamespacedDeployment({ name: 'vllm', namespace: NS })).rejects.toMatchObject({
      code: 403,
    });
    await expect(saApps.listNamespacedDeployment({ namespace: 'default' })).rejects.toMatchObject({
      code: 403,
    });
  }, 60_000);

  it('comes back after etcd and the apiserver are killed and restarted', async () => {
    await cp.stopApiserver({ kill: true });
    await cp.stopEtcd({ kill: true });
    await expect(cp.request('GET', '/readyz', undefined, { timeoutMs: 2_000 })).rejects.toThrow();

    await cp.startEtcd();
    await cp.startApiserver();
    expect((await cp.request('GET', '/readyz')).status).toBe(200);

    // State survived, and the controller-manager (which stayed up) reconnected and still reconciles.
    const scale = await apps.readNamespacedDeploymentScale({ name: 'vllm', namespace: NS });
    expect(scale.spec?.replicas).toBe(3);
    await apps.patchNamespacedDeploymentScale(
      { name: 'vllm', namespace: NS, body: { spec: { replicas: 4 } } },
      mergePatch,
    );
    await vi.waitFor(async () => expect(await podsOf('vllm')).toHaveLength(4), {
      timeout: 60_000,
      interval: 500,
    });

    // Graceful restarts too.
    await cp.restartEtcd();
    await cp.restartApiserver();
    expect((await apps.readNamespacedDeployment({ name: 'vllm', namespace: NS })).spec?.replicas).toBe(4);
  }, 180_000);
});
