/**
 * Shared setup of the integration tests that run against a real kube-apiserver without a kubelet or
 * controller-manager: the control plane and clients, namespaces, the generated CRD, and Deployments
 * whose "running" pods are made by hand.
 */
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { vi } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../support/controlplane.js';
import { makeClients, mergePatch, type KubeClients } from '../../../src/k8s/client.js';
import type { InferscaleStatus } from '../../../src/api/schema.js';

export const GROUP = 'autoscaling.inferscale.dev';
const CRD = new URL('../../../config/crd/autoscaling.inferscale.dev_podautoscalers.yaml', import.meta.url);

export interface ApiServer {
  cp: ControlPlane;
  kc: k8s.KubeConfig;
  c: KubeClients;
}

/** A control plane without a controller-manager, and clients for it. */
export async function startApiServer(): Promise<ApiServer> {
  const cp = await startControlPlane({ controllerManager: false });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  return { cp, kc, c: makeClients(kc) };
}

/** Namespaces with their `default` service account (no controller-manager makes it). */
export async function createNamespaces(c: KubeClients, ...names: string[]): Promise<void> {
  for (const ns of names) {
    await c.core.createNamespace({ body: { metadata: { name: ns } } });
    await c.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'default' } } });
  }
}

/** Installs the generated PodAutoscaler CRD and waits until the apiserver serves its group. */
export async function installCrd(cp: ControlPlane): Promise<void> {
  // Raw request, not the typed client: client-node's serializer maps `x-kubernetes-*` keys to
  // camelCase model fields and silently drops them from plain YAML objects.
  const created = await cp.request(
    'POST',
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    parseYaml(readFileSync(CRD, 'utf8')),
  );
  if (created.status !== 201) {
    throw new Error(`installing the CRD ${CRD.pathname}: HTTP ${created.status}, want 201`);
  }
  await vi.waitFor(
    async () => {
      const served = (await cp.request('GET', `/apis/${GROUP}/v1alpha1`)).status;
      if (served !== 200) throw new Error(`/apis/${GROUP}/v1alpha1: HTTP ${served}, want 200`);
    },
    { timeout: 30_000, interval: 200 },
  );
}

/**
 * A Deployment of `replicas` with `readyPods` (default all) Running and Ready pods made by hand,
 * `<name>-<i>` at 10.<subnet>.0.<i+1>, as no kubelet runs here. Returns the pods' names.
 */
export async function deploymentWithReadyPods(
  c: KubeClients,
  opts: { namespace: string; name: string; replicas: number; readyPods?: number; subnet: number },
): Promise<string[]> {
  const { namespace, name } = opts;
  await c.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name },
      spec: {
        replicas: opts.replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai' }] },
        },
      },
    },
  });
  const pods: string[] = [];
  for (let i = 0; i < (opts.readyPods ?? opts.replicas); i++) {
    const pod = `${name}-${i}`;
    await c.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: pod, labels: { app: name } },
        spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai' }] },
      },
    });
    await c.core.patchNamespacedPodStatus(
      {
        name: pod,
        namespace,
        body: {
          status: {
            phase: 'Running',
            podIP: `10.${opts.subnet}.0.${i + 1}`,
            conditions: [{ type: 'Ready', status: 'True' }],
          },
        },
      },
      mergePatch,
    );
    pods.push(pod);
  }
  return pods;
}

/** Creates a PodAutoscaler from its manifest (an object, as the API takes it). */
export async function createPodAutoscaler(c: KubeClients, namespace: string, body: unknown): Promise<void> {
  await c.custom.createNamespacedCustomObject({
    group: GROUP,
    version: 'v1alpha1',
    namespace,
    plural: 'podautoscalers',
    body,
  });
}

/** A PodAutoscaler's status as last written, or undefined before the first write. */
export async function paStatus(
  c: KubeClients,
  namespace: string,
  name: string,
): Promise<InferscaleStatus | undefined> {
  const obj = (await c.custom.getNamespacedCustomObject({
    group: GROUP,
    version: 'v1alpha1',
    namespace,
    plural: 'podautoscalers',
    name,
  })) as { status?: InferscaleStatus };
  return obj.status;
}
