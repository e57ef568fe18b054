/**
 * The kubelet stand-in and the load driver against a real control plane: a Deployment's pods run
 * as `inferscale emulate` processes on their own 127.x addresses, scale-down stops them, and load
 * goes through.
 *
 * Skips (with a message) only when the control-plane binaries are missing AND
 * INFERSCALE_REQUIRE_CONTROLPLANE is unset. Build them with `bash hack/controlplane/build.sh`.
 */
import net from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { controlPlaneSkipReason, startControlPlane, type ControlPlane } from '../support/controlplane.js';
import {
  LoopbackPool,
  parseLoopbackPool,
  startKubeletStandin,
  type KubeletStandin,
} from '../support/kubelet-standin.js';
import { percentile, promptTokens, rateScheduleRequests, runLoad } from '../support/load-driver.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[kubelet-standin.test] SKIPPED: ${skipReason}`);

const NS = 'standin-test';
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
// A /24 of its own per test process, so parallel runs on one machine do not compete for addresses.
const POOL_OCTET = 20 + (process.pid % 200);
const IP_POOL = `127.0.${POOL_OCTET}.0/24`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refusesConnections(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: ip, port, timeout: 1_000 });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

describe('stand-in and load-driver helpers', () => {
  it('parses loopback pools and refuses anything outside 127.0.0.0/8', () => {
    expect(parseLoopbackPool('127.0.1.0/24')).toMatchObject({ size: 254 });
    expect(parseLoopbackPool('127.0.1.7/32')).toMatchObject({ size: 1 });
    expect(() => parseLoopbackPool('10.0.0.0/24')).toThrow(/outside 127\.0\.0\.0\/8/);
    expect(() => parseLoopbackPool('127.0.1.0')).toThrow(/not a CIDR/);
  });

  it('hands out the lowest free address and reuses released ones', async () => {
    const pool = new LoopbackPool(`127.0.${POOL_OCTET}.0/29`, 18_000 + (process.pid % 1000));
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect([a, b]).toEqual([`127.0.${POOL_OCTET}.1`, `127.0.${POOL_OCTET}.2`]);
    pool.release(a!);
    expect(await pool.acquire()).toBe(a);
  });

  it('turns a rate schedule into arrivals and computes nearest-rank percentiles', () => {
    const reqs = rateScheduleRequests({
      steps: [
        { untilS: 1, rps: 4 },
        { untilS: 2, rps: 0 },
        { untilS: 3, rps: 2 },
      ],
      inputTokens: 10,
      outputTokens: 5,
    });
    expect(reqs.map((r) => r.arrivalMs)).toEqual([0, 250, 500, 750, 2000, 2500]);
    expect(() =>
      rateScheduleRequests({ steps: [{ untilS: 0, rps: 1 }], inputTokens: 1, outputTokens: 1 }),
    ).toThrow(/steps\[0\]\.untilS/);
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 99)).toBe(5);
    expect(percentile([], 99)).toBeUndefined();
  });

  it('builds prompts that share blocks exactly where the trace says', () => {
    const a = promptTokens(1, 1024, [7, 8]);
    const b = promptTokens(2, 1024, [7, 9]);
    expect(a.slice(0, 512)).toEqual(b.slice(0, 512));
    expect(a.slice(512)).not.toEqual(b.slice(512));
    expect(promptTokens(1, 32)[0]).not.toBe(promptTokens(2, 32)[0]);
  });
});

describe.skipIf(skipReason !== undefined)('kubelet stand-in on a real control plane', () => {
  let cp: ControlPlane;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;
  let standin: KubeletStandin | undefined;

  const pods = async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=emu' })).items;
  const isReady = (p: k8s.V1Pod) =>
    p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

  beforeAll(async () => {
    cp = await startControlPlane({ controllerManager: true });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await vi.waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: NS }), {
      timeout: 30_000,
      interval: 200,
    });
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'emu', namespace: NS },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'emu' } },
          template: {
            metadata: { labels: { app: 'emu' } },
            spec: {
              terminationGracePeriodSeconds: 5,
              containers: [
                { name: 'vllm', image: 'vllm/vllm-openai:v0.11.0', ports: [{ containerPort: 8000 }] },
              ],
            },
          },
        },
      },
    });
    standin = await startKubeletStandin({
      kubeconfigPath: cp.kubeconfigPath,
      namespace: NS,
      labelSelector: 'app=emu',
      startDelayMs: 200,
      ipPool: IP_POOL,
      emulator: { loadDelayMs: 300 },
    });
  }, 180_000);

  afterAll(async () => {
    await standin?.stop();
    await cp?.stop();
  }, 60_000);

  it('runs each pod as an emulator: bound, Running, Ready, own 127.x address, vLLM /metrics', async () => {
    await vi.waitFor(
      async () => {
        const items = await pods();
        expect(items).toHaveLength(2);
        for (const p of items) {
          expect(p.spec?.nodeName).toBe(standin!.nodeName);
          expect(p.status?.phase).toBe('Running');
          expect(isReady(p)).toBe(true);
        }
      },
      { timeout: 30_000, interval: 250 },
    );
    const items = await pods();
    const ips = items.map((p) => p.status?.podIP ?? '');
    expect(new Set(ips).size).toBe(2);
    for (const [i, p] of items.entries()) {
      expect(ips[i]).toMatch(new RegExp(`^127\\.0\\.${POOL_OCTET}\\.\\d+$`));
      expect(p.status?.podIPs).toEqual([{ ip: ips[i] }]);
      expect(p.status?.hostIP).toBe('127.0.0.1');
      expect(p.status?.containerStatuses?.[0]).toMatchObject({ name: 'vllm', ready: true, restartCount: 0 });
      const res = await fetch(`http://${ips[i]}:8000/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^vllm:num_requests_running\{/m);
    }
    // Each pod is its own process.
    const views = [...standin!.pods().values()];
    expect(views).toHaveLength(2);
    const pids = views.map((v) => v.pid);
    expect(new Set(pids).size).toBe(2);
    for (const pid of pids) expect(alive(pid!)).toBe(true);
    // The Node stays Ready (Lease renewals keep the node-lifecycle controller quiet).
    const node = await core.readNode({ name: standin!.nodeName! });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.spec?.taints ?? []).toEqual([]);
  }, 60_000);

  it('scale-down via /scale stops one emulator and the pod disappears; scale-up reuses its address', async () => {
    const before = standin!.pods();
    await apps.patchNamespacedDeploymentScale(
      { name: 'emu', namespace: NS, body: { spec: { replicas: 1 } } },
      mergePatch,
    );
    await vi.waitFor(
      async () => {
        expect(await pods()).toHaveLength(1); // gone, not just terminating
        expect(standin!.pods().size).toBe(1);
      },
      { timeout: 30_000, interval: 250 },
    );
    const [kept] = await pods();
    const removed = [...before.values()].find((v) => v.name !== kept?.metadata?.name)!;
    expect(removed).toBeDefined();
    expect(alive(removed.pid!)).toBe(false);
    expect(await refusesConnections(removed.ip!, 8000)).toBe(true);
    const types = standin!
      .events()
      .filter((e) => e.pod === `${NS}/${removed.name}`)
      .map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['not-ready', 'stopped', 'deleted']));

    await apps.patchNamespacedDeploymentScale(
      { name: 'emu', namespace: NS, body: { spec: { replicas: 2 } } },
      mergePatch,
    );
    await vi.waitFor(
      async () => {
        const items = await pods();
        expect(items).toHaveLength(2);
        expect(items.every(isReady)).toBe(true);
      },
      { timeout: 30_000, interval: 250 },
    );
    const fresh = (await pods()).find((p) => p.metadata?.name !== kept?.metadata?.name);
    expect(fresh?.status?.podIP).toBe(removed.ip);
  }, 60_000);

  it('restarts a crashed emulator like restartPolicy Always', async () => {
    const [victim] = await pods();
    const name = victim!.metadata!.name!;
    const oldPid = standin!.pods().get(`${NS}/${name}`)!.pid!;
    expect(standin!.kill(NS, name, 'SIGKILL')).toBe(true);
    await vi.waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name, namespace: NS });
        expect(p.status?.containerStatuses?.[0]?.restartCount).toBe(1);
        expect(isReady(p)).toBe(true);
        expect(p.status?.podIP).toBe(victim!.status?.podIP);
      },
      { timeout: 30_000, interval: 250 },
    );
    const view = standin!.pods().get(`${NS}/${name}`)!;
    expect(view.pid).not.toBe(oldPid);
    expect(view.lastExit).toBe('killed by SIGKILL');
  }, 60_000);

  it('load driver: a short rate schedule is served by the Deployment pods', async () => {
    const result = await runLoad({
      kubeconfigPath: cp.kubeconfigPath,
      namespace: NS,
      deployment: 'emu',
      rate: { steps: [{ untilS: 3, rps: 5 }], inputTokens: 256, outputTokens: 16 },
      requestTimeoutMs: 10_000,
      maxDurationMs: 10_000,
    });
    const { summary, records } = result;
    expect(summary.total).toBe(15);
    expect(summary.byOutcome).toEqual({ ok: 15 });
    expect(Object.keys(summary.perPod)).toHaveLength(2); // both pods served
    for (const r of records) {
      expect(r.outputTokensReceived).toBe(16);
      expect(r.ip).toMatch(/^127\./);
      expect(r.ttftMs).toBeGreaterThan(0);
      expect(r.ttftMs!).toBeLessThanOrEqual(r.e2eMs!);
    }
    expect(summary.ttft?.p99).toBe(
      percentile(
        records.map((r) => r.ttftMs!),
        99,
      ),
    );
    console.log(
      `[kubelet-standin.test] load: ${summary.total} requests, p50/p99 TTFT ${summary.ttft?.p50.toFixed(1)}/` +
        `${summary.ttft?.p99.toFixed(1)} ms, p99 E2E ${summary.e2e?.p99.toFixed(1)} ms, per pod ${JSON.stringify(summary.perPod)}`,
    );
  }, 60_000);
  it('keeps working across an apiserver crash: a scale-up afterwards still gets running pods', async () => {
    await cp.stopApiserver({ kill: true });
    await cp.startApiserver();
    await apps.patchNamespacedDeploymentScale(
      { name: 'emu', namespace: NS, body: { spec: { replicas: 3 } } },
      mergePatch,
    );
    await vi.waitFor(
      async () => {
        const items = await pods();
        expect(items).toHaveLength(3);
        expect(items.every(isReady)).toBe(true);
      },
      { timeout: 45_000, interval: 250 },
    );
    const ips = (await pods()).map((p) => p.status?.podIP);
    expect(new Set(ips).size).toBe(3);
    expect(standin!.pods().size).toBe(3);
  }, 60_000);
});
