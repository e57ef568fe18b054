/**
 * End to end, high availability: two `inferscale controller` processes (the real CLI) run with
 * leader election against one Lease, each with its own token of the shipped ServiceAccount (so the
 * audit log tells their requests apart by credential id). The leader scales a Deployment of
 * emulated vLLM pods under load; it is SIGKILLed; the standby must take the Lease within the lease
 * duration (15 s, the CLI's default, plus one retry period) and carry on scaling. The audit log is
 * the judge: every scale write and status write is made by the holder of the Lease at that moment,
 * so there are never two writers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneSkipReason } from '../support/controlplane.js';
import type { KubeletStandin } from '../support/kubelet-standin.js';
import type { LoadDriver } from '../support/load-driver.js';
import {
  createPodAutoscaler,
  installShippedRbac,
  runningRequestsAutoscaler,
  shippedRoleKubeConfig,
  specReplicas,
  startE2eCluster,
  startEmulatedApps,
  startPoissonLoad,
  SYSTEM_NS,
  waitForReadyPods,
  waitUntil,
  type E2eCluster,
} from './support/cluster.js';
import { formatTimeline, type WorkloadRecorder } from './support/recorder.js';
import { accepted, atMs, credentialOf, leaseWrites, readAudit, scaleWrites } from './support/audit.js';
import { spawnCliController, type CliController } from './support/cli-controller.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[k8s-ha.test] SKIPPED: ${skipReason}`);

const NS = 'ha';
const APP = 'llama';
const LEASE = 'inferscale-controller';
/** The CLI's Lease timing (src/k8s/leader.ts defaults): 15 s lease, 2 s retry (+20 % jitter). */
const LEASE_MS = 15_000;
const RETRY_MS = 2_000 * 1.2;

describe.skipIf(skipReason !== undefined)('e2e: two controller processes, leader killed', () => {
  let cluster: E2eCluster;
  let standin: KubeletStandin | undefined;
  let recorder: WorkloadRecorder | undefined;
  const procs: CliController[] = [];
  const drivers: LoadDriver[] = [];

  const load = async (rps: number, seconds: number, seed: number) => {
    const d = await startPoissonLoad(cluster, NS, APP, { steps: [{ untilS: seconds, rps }], seed });
    drivers.push(d);
    return d;
  };

  beforeAll(async () => {
    cluster = await startE2eCluster({ namespaces: [NS], audit: true });
    await installShippedRbac(cluster.cp);
    ({ recorder, standin } = await startEmulatedApps(cluster, NS, { apps: [APP], slot: 3, delayMs: 300 }));
    // Two tokens of the one shipped ServiceAccount, as two replicas of the controller would have.
    for (const replica of ['a', 'b']) {
      const sa = await shippedRoleKubeConfig(cluster, `${cluster.cp.dir}/controller-${replica}.kubeconfig`);
      procs.push(
        spawnCliController([
          `--kubeconfig=${sa.path}`,
          `--namespace=${NS}`,
          `--lease-namespace=${SYSTEM_NS}`,
          `--lease-name=${LEASE}`,
          '--period=1',
          '--metrics-port=0',
          '--metrics-host=127.0.0.1',
        ]),
      );
    }
    await waitUntil('both controllers started', 60_000, () => {
      for (const p of procs) {
        if (p.exited()) throw new Error(`a controller exited: ${p.other.slice(-5).join('\n')}`);
      }
      return procs.every((p) => p.identity() !== undefined && p.url() !== undefined);
    });
    await waitForReadyPods(standin!, 1);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(drivers.map((d) => d.stop()));
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await standin?.stop();
    await recorder?.stop();
    await cluster?.stop();
  }, 60_000);

  it('the standby takes over within the lease duration after a SIGKILL, and there are never two writers', async () => {
    const holder = async () =>
      (await cluster.c.coordination.readNamespacedLease({ name: LEASE, namespace: SYSTEM_NS })).spec
        ?.holderIdentity;
    const leaderId = await waitUntil('a leader', 30_000, holder);
    const leader = procs.find((p) => p.identity() === leaderId);
    const standby = procs.find((p) => p.identity() !== leaderId);
    expect(leader, `leader ${leaderId} is one of ours`).toBeDefined();

    await createPodAutoscaler(
      cluster.c,
      NS,
      runningRequestsAutoscaler(APP, 'KPA', {
        maxReplicas: 8,
        spec: {
          observeWindowSeconds: 10,
          panicWindowSeconds: 5,
          behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
        },
      }),
    );
    const t0 = Date.now();
    // Phase 1: about 2 replicas' worth of load; the leader scales up.
    const first = await load(3, 60, 51);
    await waitUntil(
      'the leader scaled up',
      30_000,
      async () => (await specReplicas(cluster.c, NS, APP)) >= 2,
    );
    const before = await specReplicas(cluster.c, NS, APP);

    // The leader crashes.
    const killedAt = Date.now();
    await leader!.stop('SIGKILL');
    // Phase 2: the load doubles; only the standby can follow it.
    await first.stop();
    const second = await load(7, 60, 52);
    const took = await waitUntil('the standby holds the Lease', LEASE_MS + 15_000, async () =>
      (await holder()) === standby!.identity() ? Date.now() : undefined,
    );
    await waitUntil(
      'the standby scaled up',
      30_000,
      async () => (await specReplicas(cluster.c, NS, APP)) > before,
    );
    await second.stop();

    // The apiserver's record.
    const audit = readAudit(cluster.auditLogPath!);
    const leases = leaseWrites(audit, SYSTEM_NS, LEASE).filter((w) => w.code < 300);
    // Who is who: the credential that wrote a holder identity is that process's.
    const credOf = new Map<string, string>();
    for (const w of leases) if (w.holder) credOf.set(w.holder, w.credential);
    const leaderCred = credOf.get(leaderId!);
    const standbyCred = credOf.get(standby!.identity()!);
    expect(leaderCred).toBeDefined();
    expect(standbyCred).toBeDefined();
    expect(leaderCred).not.toBe(standbyCred);

    const lastRenewal = Math.max(...leases.filter((w) => w.credential === leaderCred).map((w) => w.atMs));
    const takeover = leases.find((w) => w.credential === standbyCred && w.holder === standby!.identity());
    expect(takeover).toBeDefined();
    const gap = takeover!.atMs - lastRenewal;
    console.log(
      `[k8s-ha] leader pid ${leader!.pid} killed at +${((killedAt - t0) / 1000).toFixed(1)}s; last renewal ` +
        `${((killedAt - lastRenewal) / 1000).toFixed(1)}s before the kill; standby took the Lease ` +
        `${(gap / 1000).toFixed(1)}s after that renewal (${((took - killedAt) / 1000).toFixed(1)}s after the kill, ` +
        `seen by polling); replicas ${formatTimeline(recorder!.replicas(APP), t0)}`,
    );
    // Safe: not before the lease expired; live: within the lease plus one retry period (and the
    // latency of a few requests on a busy machine).
    expect(gap).toBeGreaterThanOrEqual(LEASE_MS - 250);
    expect(gap).toBeLessThanOrEqual(LEASE_MS + RETRY_MS + 2_000);

    // Never two writers: each write (scale or PodAutoscaler status) is by the Lease holder of the
    // moment, judged by the order of the apiserver's own records.
    const holderAt = (t: number) => {
      let cred: string | undefined;
      for (const w of leases) if (w.atMs <= t) cred = w.holder ? w.credential : undefined;
      return cred;
    };
    const writes = audit.filter(
      (e) =>
        e.stage === 'ResponseComplete' &&
        (e.responseStatus?.code ?? 0) < 300 &&
        e.objectRef?.namespace === NS &&
        ((e.objectRef.resource === 'deployments' && e.objectRef.subresource === 'scale') ||
          (e.objectRef.resource === 'podautoscalers' && e.objectRef.subresource === 'status')),
    );
    const ours = writes.filter((e) => credentialOf(e) === leaderCred || credentialOf(e) === standbyCred);
    expect(ours.length).toBe(writes.length); // nobody else wrote them
    for (const e of ours) {
      expect(
        credentialOf(e),
        `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource} at ${e.stageTimestamp}`,
      ).toBe(holderAt(atMs(e)));
    }
    const scales = scaleWrites(audit, NS, APP).filter(accepted);
    const byLeader = scales.filter((w) => w.credential === leaderCred);
    const byStandby = scales.filter((w) => w.credential === standbyCred);
    expect(byLeader.length).toBeGreaterThanOrEqual(1);
    expect(byStandby.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...byLeader.map((w) => w.atMs))).toBeLessThanOrEqual(killedAt);
    expect(Math.min(...byStandby.map((w) => w.atMs))).toBeGreaterThanOrEqual(takeover!.atMs);
    // The standby acted from the Lease on: its first scale write came within a few ticks.
    expect(Math.min(...byStandby.map((w) => w.atMs)) - takeover!.atMs).toBeLessThan(10_000);
    expect(standby!.exited()).toBe(false);
  }, 120_000);
});
