/**
 * The shipped manifests on a real apiserver:
 *   - the controller runs with a ServiceAccount token bound only to config/rbac and does its whole
 *     job (informers, /scale, status, events, Lease), while being refused what it does not need;
 *   - `kubectl apply --dry-run=server -k config/default` is accepted (skipped, with a message, when
 *     no kubectl is installed).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { controlPlaneSkipReason, startControlPlane, type ControlPlane } from '../support/controlplane.js';
import {
  apiErrorCode,
  loadKubeConfig,
  makeClients,
  mergePatch,
  type KubeClients,
} from '../../src/k8s/client.js';
import { startController, type ControllerHandle } from '../../src/controller/controller.js';
import { TableMetricSource } from '../../src/engine/memory.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[k8s-rbac.test] SKIPPED: ${skipReason}`);
const run = promisify(execFile);
const kubectl = await run('kubectl', ['version', '--client']).then(
  () => 'kubectl',
  () => undefined,
);
if (!kubectl)
  console.warn(
    '[k8s-rbac.test] kubectl not found: the `apply --dry-run=server -k config/default` check is skipped',
  );

const ROOT = new URL('../../', import.meta.url);
const SYSTEM = 'inferscale-system';
const NS = 'serving';

/** Plural REST path of a manifest object (only the kinds config/rbac uses). */
function pathOf(obj: { apiVersion: string; kind: string; metadata: { namespace?: string } }): string {
  const plural: Record<string, string> = {
    ServiceAccount: 'serviceaccounts',
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
    Role: 'roles',
    RoleBinding: 'rolebindings',
  };
  const base = obj.apiVersion === 'v1' ? '/api/v1' : `/apis/${obj.apiVersion}`;
  const ns = obj.metadata.namespace ? `/namespaces/${obj.metadata.namespace}` : '';
  return `${base}${ns}/${plural[obj.kind]}`;
}

describe.skipIf(skipReason !== undefined)('shipped RBAC and kustomization', () => {
  let cp: ControlPlane;
  let admin: KubeClients;
  let controller: ControllerHandle | undefined;

  beforeAll(async () => {
    cp = await startControlPlane({ controllerManager: false });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    admin = makeClients(kc);
    const crd = parseYaml(
      readFileSync(new URL('config/crd/autoscaling.inferscale.dev_podautoscalers.yaml', ROOT), 'utf8'),
    );
    expect(
      (await cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status,
    ).toBe(201);
    for (const ns of [SYSTEM, NS]) {
      await admin.core.createNamespace({ body: { metadata: { name: ns } } });
      await admin.core.createNamespacedServiceAccount({
        namespace: ns,
        body: { metadata: { name: 'default' } },
      });
    }
    for (const file of ['service_account.yaml', 'role.yaml', 'role_binding.yaml']) {
      for (const doc of parseAllDocuments(readFileSync(new URL(`config/rbac/${file}`, ROOT), 'utf8'))) {
        const obj = doc.toJS() as {
          apiVersion: string;
          kind: string;
          metadata: { name: string; namespace?: string };
        };
        const r = await cp.request('POST', pathOf(obj), obj);
        expect(r.status, `${obj.kind} ${obj.metadata.name}: ${r.text}`).toBe(201);
      }
    }
    await vi.waitFor(
      async () =>
        expect((await cp.request('GET', '/apis/autoscaling.inferscale.dev/v1alpha1')).status).toBe(200),
      {
        timeout: 30_000,
        interval: 200,
      },
    );
    await admin.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'llama' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'llama' } },
          template: {
            metadata: { labels: { app: 'llama' } },
            spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai' }] },
          },
        },
      },
    });
    await admin.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'llama-0', labels: { app: 'llama' } },
        spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai' }] },
      },
    });
    await admin.core.patchNamespacedPodStatus(
      {
        name: 'llama-0',
        namespace: NS,
        body: {
          status: { phase: 'Running', podIP: '10.3.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
        },
      },
      mergePatch,
    );
  }, 180_000);

  afterAll(async () => {
    await controller?.stop();
    await cp?.stop();
  }, 60_000);

  it('the controller does its job with only the shipped role, and nothing more', async () => {
    const sa = await cp.serviceAccountKubeconfig({
      namespace: SYSTEM,
      name: 'inferscale-controller',
      create: false,
    });
    const kc = loadKubeConfig({ kubeconfig: sa.kubeconfigPath });
    const metrics = new TableMetricSource();
    metrics.podValues.set('llama-0', { gpu_cache_usage_perc: 0.9 });
    controller = await startController({
      kubeConfig: kc,
      metrics,
      periodMs: 500,
      leaderElection: {
        namespace: SYSTEM,
        name: 'inferscale-controller',
        leaseDurationMs: 3_000,
        renewDeadlineMs: 2_000,
        retryPeriodMs: 300,
      },
    });
    await vi.waitFor(() => expect(controller!.isLeader()).toBe(true), { timeout: 10_000 });
    await admin.custom.createNamespacedCustomObject({
      group: 'autoscaling.inferscale.dev',
      version: 'v1alpha1',
      namespace: NS,
      plural: 'podautoscalers',
      body: {
        apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
        kind: 'PodAutoscaler',
        metadata: { name: 'llama' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llama' },
          maxReplicas: 5,
          scalingStrategy: 'HPA',
          metricsSources: [
            { metricSourceType: 'pod', port: 8000, targetMetric: 'gpu_cache_usage_perc', targetValue: '0.5' },
          ],
        },
      },
    });
    // 1 pod at 0.9 against 0.5 → 2 replicas: read via /scale, written via /scale.
    await vi.waitFor(
      async () =>
        expect(
          (await admin.apps.readNamespacedDeployment({ name: 'llama', namespace: NS })).spec?.replicas,
        ).toBe(2),
      { timeout: 15_000, interval: 200 },
    );
    await vi.waitFor(
      async () => {
        const obj = (await admin.custom.getNamespacedCustomObject({
          group: 'autoscaling.inferscale.dev',
          version: 'v1alpha1',
          namespace: NS,
          plural: 'podautoscalers',
          name: 'llama',
        })) as { status?: { desiredScale?: number } };
        expect(obj.status?.desiredScale).toBe(2);
        const ev = await admin.core.listNamespacedEvent({
          namespace: NS,
          fieldSelector: 'involvedObject.name=llama',
        });
        expect(ev.items.some((e) => e.reason === 'SuccessfulRescale')).toBe(true);
      },
      { timeout: 15_000, interval: 200 },
    );
    const lease = await admin.coordination.readNamespacedLease({
      name: 'inferscale-controller',
      namespace: SYSTEM,
    });
    expect(lease.spec?.holderIdentity).toBe(controller.identity);

    // Least privilege: the same credentials cannot edit workloads or read secrets.
    const sac = makeClients(kc);
    const denied = async (p: Promise<unknown>) =>
      apiErrorCode(
        await p.then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
    expect(
      await denied(
        sac.apps.patchNamespacedDeployment(
          { name: 'llama', namespace: NS, body: { metadata: { labels: { x: 'y' } } } },
          mergePatch,
        ),
      ),
    ).toBe(403);
    expect(await denied(sac.apps.readNamespacedDeployment({ name: 'llama', namespace: NS }))).toBe(403);
    expect(await denied(sac.core.listNamespacedSecret({ namespace: NS }))).toBe(403);
    expect(await denied(sac.coordination.readNamespacedLease({ name: 'x', namespace: NS }))).toBe(403);
    expect(
      await denied(
        sac.custom.deleteNamespacedCustomObject({
          group: 'autoscaling.inferscale.dev',
          version: 'v1alpha1',
          namespace: NS,
          plural: 'podautoscalers',
          name: 'llama',
        }),
      ),
    ).toBe(403);
  }, 60_000);

  it.skipIf(!kubectl)(
    'kubectl apply --dry-run=server -k config/default is accepted',
    async () => {
      const { stdout } = await run(
        'kubectl',
        [
          '--kubeconfig',
          cp.kubeconfigPath,
          'apply',
          '--dry-run=server',
          '-k',
          new URL('config/default', ROOT).pathname,
        ],
        { timeout: 30_000 },
      );
      for (const expected of [
        'customresourcedefinition.apiextensions.k8s.io/podautoscalers.autoscaling.inferscale.dev',
        'clusterrole.rbac.authorization.k8s.io/inferscale-controller',
        'role.rbac.authorization.k8s.io/inferscale-leader-election',
        'deployment.apps/inferscale-controller',
        'service/inferscale-controller-metrics',
      ]) {
        expect(stdout).toContain(expected);
      }
      expect(stdout).toMatch(/\(server dry run\)/);
    },
    40_000,
  );
});
