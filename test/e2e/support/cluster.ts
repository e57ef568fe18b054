/**
 * What every e2e test starts from: a real control plane (etcd, kube-apiserver and
 * kube-controller-manager, optionally with an audit log), the PodAutoscaler CRD, namespaces, the
 * shipped RBAC, Deployments of emulated vLLM pods, PodAutoscalers, and small readers for their
 * status and events. Pods are run by the kubelet stand-in (test/support/kubelet-standin.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { startControlPlane, type ControlPlane } from '../../support/controlplane.js';
import { startKubeletStandin, type KubeletStandin } from '../../support/kubelet-standin.js';
import {
  startController,
  type ControllerHandle,
  type ControllerOptions,
} from '../../../src/controller/controller.js';
import { loadKubeConfig, makeClients, type KubeClients } from '../../../src/k8s/client.js';
import type { InferscaleStatus } from '../../../src/api/schema.js';
import { startLoad, type LoadDriver, type RateStep } from '../../support/load-driver.js';
import { auditFlags } from './audit.js';
import { WorkloadRecorder } from './recorder.js';

// The PodAutoscaler calls the integration tests make too.
export { createPodAutoscaler, paStatus } from '../../integration/support/k8s-fixtures.js';

export const GROUP = 'autoscaling.inferscale.dev';
export const REPO_ROOT = new URL('../../../', import.meta.url).pathname;
export const SYSTEM_NS = 'inferscale-system';

export interface E2eCluster {
  cp: ControlPlane;
  kc: k8s.KubeConfig;
  c: KubeClients;
  /** Set when started with `audit: true`. */
  auditLogPath: string | undefined;
  stop(): Promise<void>;
}

/**
 * A control plane with the controller-manager (Deployments get ReplicaSets and pods), the CRD and
 * `namespaces` (each with its `default` ServiceAccount, which pod admission needs).
 */
export async function startE2eCluster(o: { namespaces: string[]; audit?: boolean }): Promise<E2eCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferscale-e2e-'));
  const audit = o.audit ? await auditFlags(dir) : undefined;
  let cp: ControlPlane | undefined;
  try {
    cp = await startControlPlane({ controllerManager: true, apiserverArgs: audit?.args ?? [] });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const c = makeClients(kc);
    await installCrd(cp);
    for (const ns of o.namespaces) await c.core.createNamespace({ body: { metadata: { name: ns } } });
    // The controller-manager's serviceaccount controller creates `default` in each namespace.
    await waitUntil('default ServiceAccounts', 30_000, async () => {
      for (const ns of o.namespaces)
        await c.core.readNamespacedServiceAccount({ name: 'default', namespace: ns });
      return true;
    });
    const started = cp;
    return {
      cp,
      kc,
      c,
      auditLogPath: audit?.logPath,
      async stop() {
        await started.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await cp?.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Installs the generated PodAutoscaler CRD and waits until the apiserver serves its group. */
export async function installCrd(cp: ControlPlane): Promise<void> {
  const file = path.join(REPO_ROOT, 'config/crd/autoscaling.inferscale.dev_podautoscalers.yaml');
  // A raw request: client-node's typed serializer drops the CRD's `x-kubernetes-*` keys.
  const created = await cp.request(
    'POST',
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    parseYaml(readFileSync(file, 'utf8')),
  );
  if (created.status !== 201) throw new Error(`installing ${file}: HTTP ${created.status} ${created.text}`);
  await waitUntil(
    `/apis/${GROUP}/v1alpha1 served`,
    30_000,
    async () => (await cp.request('GET', `/apis/${GROUP}/v1alpha1`)).status === 200,
  );
}

/** Creates the objects of config/rbac (ServiceAccount, ClusterRole, Role, bindings) as shipped. */
export async function installShippedRbac(cp: ControlPlane): Promise<void> {
  const plural: Record<string, string> = {
    Namespace: 'namespaces',
    ServiceAccount: 'serviceaccounts',
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
    Role: 'roles',
    RoleBinding: 'rolebindings',
  };
  const created = await cp.request('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: SYSTEM_NS },
  });
  if (created.status !== 201 && created.status !== 409) {
    throw new Error(`create namespace ${SYSTEM_NS}: HTTP ${created.status} ${created.text}`);
  }
  for (const file of ['service_account.yaml', 'role.yaml', 'role_binding.yaml']) {
    const text = readFileSync(path.join(REPO_ROOT, 'config/rbac', file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.toJS() as {
        apiVersion: string;
        kind: string;
        metadata: { name: string; namespace?: string };
      };
      const resource = plural[obj.kind];
      if (!resource) throw new Error(`config/rbac/${file}: unexpected kind ${obj.kind}`);
      const base = obj.apiVersion === 'v1' ? '/api/v1' : `/apis/${obj.apiVersion}`;
      const ns = obj.metadata.namespace ? `/namespaces/${obj.metadata.namespace}` : '';
      const r = await cp.request('POST', `${base}${ns}/${resource}`, obj);
      if (r.status !== 201) {
        throw new Error(`config/rbac/${file}: ${obj.kind} ${obj.metadata.name}: HTTP ${r.status} ${r.text}`);
      }
    }
  }
}

/**
 * A kubeconfig holding a fresh token of the shipped ServiceAccount (install it first with
 * installShippedRbac): the controller with exactly what config/rbac grants. Each call is another
 * token, so two controllers are told apart in the audit log.
 */
export async function shippedRoleKubeConfig(
  cluster: E2eCluster,
  file?: string,
): Promise<{ kc: k8s.KubeConfig; path: string }> {
  const sa = await cluster.cp.serviceAccountKubeconfig({
    namespace: SYSTEM_NS,
    name: 'inferscale-controller',
    create: false,
    ...(file !== undefined ? { path: file } : {}),
  });
  return { kc: loadKubeConfig({ kubeconfig: sa.kubeconfigPath }), path: sa.kubeconfigPath };
}

/** A 3 s Lease: an in-process controller that fails over in seconds, not the CLI's 15 s. */
export const QUICK_LEASE = {
  namespace: SYSTEM_NS,
  name: 'inferscale-controller',
  leaseDurationMs: 3_000,
  renewDeadlineMs: 2_000,
  retryPeriodMs: 500,
} as const;

/** Informer backoff short enough that a restarted apiserver is seen within a second. */
export const QUICK_INFORMER = { backoff: { initialMs: 100, maxMs: 1_000 } } as const;

/**
 * The controller in this process as the live e2e tests run it, on the QUICK_LEASE: 1 s ticks and
 * status refreshes and the QUICK_INFORMER unless `o` says otherwise. Resolves once it leads.
 */
export async function startLeadingController(
  o: Omit<ControllerOptions, 'leaderElection'>,
): Promise<ControllerHandle> {
  const controller = await startController({
    periodMs: 1_000,
    statusRefreshMs: 1_000,
    leaderElection: QUICK_LEASE,
    informer: QUICK_INFORMER,
    ...o,
  });
  try {
    await waitUntil('the controller leads', 15_000, () => controller.isLeader());
  } catch (err) {
    await controller.stop();
    throw err;
  }
  return controller;
}

export interface EmulatorPodOptions {
  apps: string[];
  slot: number;
  delayMs: number;
  mode?: 'in-process' | 'process';
  gpu?: string;
  model?: string;
  speedup?: number;
  probeMs?: number;
}

/**
 * The pods of `apps` (Deployments in `namespace`) run by the kubelet stand-in as emulated vLLM
 * (Llama-3.1-8B on L4 unless told): `delayMs` of Pending and as much again of loading weights,
 * addresses from ipPoolFor(slot).
 */
export function startEmulatorPods(
  cluster: E2eCluster,
  namespace: string,
  o: EmulatorPodOptions,
): Promise<KubeletStandin> {
  return startKubeletStandin({
    kubeconfigPath: cluster.cp.kubeconfigPath,
    namespace,
    labelSelector: `app in (${o.apps.join(',')})`,
    mode: o.mode ?? 'in-process',
    startDelayMs: o.delayMs,
    emulator: {
      gpu: o.gpu ?? 'L4',
      model: o.model ?? 'Llama-3.1-8B',
      loadDelayMs: o.delayMs,
      ...(o.speedup !== undefined ? { speedup: o.speedup } : {}),
    },
    ipPool: ipPoolFor(o.slot),
    probe: { periodMs: o.probeMs ?? 100 },
  });
}

/**
 * A Deployment of emulated vLLM pods per app in `namespace` (one replica each; `graceSeconds` of
 * termination grace, 5 unless told), a recorder of their replicas and pods, and the kubelet stand-in
 * that runs the pods (see startEmulatorPods). Stop both with stopAll.
 */
export async function startEmulatedApps(
  cluster: E2eCluster,
  namespace: string,
  o: EmulatorPodOptions & { graceSeconds?: number },
): Promise<{ recorder: WorkloadRecorder; standin: KubeletStandin }> {
  const deployment = o.graceSeconds !== undefined ? { graceSeconds: o.graceSeconds } : {};
  for (const name of o.apps) {
    await cluster.c.apps.createNamespacedDeployment({
      namespace,
      body: emulatorDeployment(name, deployment),
    });
  }
  const recorder = new WorkloadRecorder(cluster.kc, namespace, o.apps);
  await recorder.start();
  try {
    return { recorder, standin: await startEmulatorPods(cluster, namespace, o) };
  } catch (err) {
    await recorder.stop();
    throw err;
  }
}

/** Waits until at least `count` of the stand-in's pods are Ready (their readiness probe passes). */
export async function waitForReadyPods(standin: KubeletStandin, count: number): Promise<void> {
  await waitUntil(
    `${count} Ready pod(s)`,
    30_000,
    () => [...standin.pods().values()].filter((p) => p.state === 'ready').length >= count,
  );
}

/**
 * Poisson arrivals of 256 → 32-token requests on a Deployment's pods, at each step's rate until its
 * `untilS` (an emulated L4 replica has about 11 of them running at 5 req/s). Requests wait for a
 * pod rather than fail; the driver gives up 5 s after the last step.
 */
export function startPoissonLoad(
  cluster: E2eCluster,
  namespace: string,
  deployment: string,
  o: { steps: RateStep[]; seed: number },
): Promise<LoadDriver> {
  return startLoad({
    kc: cluster.kc,
    namespace,
    deployment,
    rate: { steps: o.steps, inputTokens: 256, outputTokens: 32, arrivals: 'poisson', seed: o.seed },
    requestTimeoutMs: 30_000,
    maxDurationMs: ((o.steps.at(-1)?.untilS ?? 0) + 5) * 1000,
    noPod: 'wait',
  });
}

/** Stops what a test started, in the order given; one failing stop does not keep the rest running. */
export async function stopAll(...parts: ({ stop(): Promise<unknown> } | undefined)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const p of parts) await p?.stop().catch((e: unknown) => errors.push(e));
  if (errors.length) throw new AggregateError(errors, `${errors.length} of the test's parts failed to stop`);
}

/** A Deployment of emulated vLLM pods (the stand-in runs them; the image is never pulled). */
export function emulatorDeployment(
  name: string,
  o: { replicas?: number; graceSeconds?: number; annotations?: Record<string, string> } = {},
): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, ...(o.annotations ? { annotations: o.annotations } : {}) },
        spec: {
          terminationGracePeriodSeconds: o.graceSeconds ?? 5,
          containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.11.0', ports: [{ containerPort: 8000 }] }],
        },
      },
    },
  };
}

export interface PodAutoscalerSpecOptions {
  name: string;
  target: string;
  strategy: 'KPA' | 'APA' | 'HPA';
  metric: string;
  value: string;
  minReplicas?: number;
  maxReplicas: number;
  /** Metric port (default 8000: the emulator). */
  port?: number;
  /** More spec fields (windows, behavior, kpa/apa parameters, metricTtlSeconds...). */
  spec?: Record<string, unknown>;
}

/** An autoscaling.inferscale.dev PodAutoscaler on one pod metric of a Deployment. */
export function podAutoscaler(o: PodAutoscalerSpecOptions): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'PodAutoscaler',
    metadata: { name: o.name },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: o.target },
      minReplicas: o.minReplicas ?? 1,
      maxReplicas: o.maxReplicas,
      scalingStrategy: o.strategy,
      metricsSources: [
        { metricSourceType: 'pod', port: o.port ?? 8000, targetMetric: o.metric, targetValue: o.value },
      ],
      ...o.spec,
    },
  };
}

/**
 * The PodAutoscaler every live e2e test uses: a Deployment of the same name scaled on
 * `num_requests_running` with a target of 4 per pod (about a third of what an emulated L4 replica
 * runs at 5 req/s of 256 → 32 tokens).
 */
export function runningRequestsAutoscaler(
  name: string,
  strategy: 'KPA' | 'APA',
  o: { maxReplicas: number; spec: Record<string, unknown>; port?: number },
): Record<string, unknown> {
  return podAutoscaler({
    name,
    target: name,
    strategy,
    metric: 'num_requests_running',
    value: '4',
    ...o,
  });
}

export function condition(status: InferscaleStatus | undefined, type: string) {
  return status?.conditions?.find((x) => x.type === type);
}

/** Events recorded on one object (the controller's, on a PodAutoscaler). */
export async function eventsOf(c: KubeClients, namespace: string, name: string): Promise<k8s.CoreV1Event[]> {
  return (await c.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` }))
    .items;
}

export async function specReplicas(c: KubeClients, namespace: string, name: string): Promise<number> {
  return (await c.apps.readNamespacedDeploymentScale({ name, namespace })).spec?.replicas ?? 0;
}

/** Ready pods of a Deployment's selector `app=<name>`, as the apiserver has them. */
export async function readyPods(c: KubeClients, namespace: string, app: string): Promise<k8s.V1Pod[]> {
  const pods = await c.core.listNamespacedPod({ namespace, labelSelector: `app=${app}` });
  return pods.items.filter(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
  );
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`
 * with the description and the last error. Never a fixed sleep: every wait has a condition.
 */
export async function waitUntil<T>(
  description: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      lastErr = undefined;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const why = lastErr instanceof Error ? ` (last error: ${lastErr.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}

/**
 * A /24 inside 127.0.0.0/8 for one e2e file's pods: `slot` keeps the files apart, the process id
 * keeps concurrent runs apart (the integration tests use 127.0.x.0/24).
 */
export function ipPoolFor(slot: number): string {
  return `127.${100 + slot}.${process.pid % 250}.0/24`;
}
