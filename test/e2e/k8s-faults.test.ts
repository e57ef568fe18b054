/**
 * End to end under faults, on a control plane with an audit log (the apiserver's record of every
 * scale write). One in-process controller (ServiceAccount token of the shipped role, leader
 * election on a short Lease, the production metric sources scraping emulated vLLM pods) serves
 * three Deployments, one per test:
 *
 *   - forced 409 conflicts: a concurrent writer bumps the Deployment between the controller's read
 *     and its write; a harmless bump is retried and lands, a concurrent change of spec.replicas is
 *     not overwritten (FailedUpdateScale) and the next tick decides from the new value;
 *   - scrape faults: pods stay Ready and keep serving while their /metrics fail (one pod, then all
 *     of them) and the load is gone; replicas must not drop while data is missing, and do drop once
 *     the pages are back;
 *   - etcd and the apiserver are SIGKILLed and restarted mid-run: the controller recovers and the
 *     audit log shows every accepted write exactly once, none lost, none repeated.
 */
import { openSync } from 'node:fs';
import { createLogger } from '../../src/observability/log.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneSkipReason } from '../support/controlplane.js';
import type { KubeletStandin } from '../support/kubelet-standin.js';
import type { LoadDriver } from '../support/load-driver.js';
import type { ControllerHandle } from '../../src/controller/controller.js';
import { makeClients, mergePatch } from '../../src/k8s/client.js';
import { KubeScaleTarget } from '../../src/k8s/scale-target.js';
import { createMetricSources } from '../../src/metrics/sources.js';
import {
  condition,
  createPodAutoscaler,
  eventsOf,
  installShippedRbac,
  paStatus,
  runningRequestsAutoscaler,
  shippedRoleKubeConfig,
  specReplicas,
  startE2eCluster,
  startEmulatedApps,
  startLeadingController,
  startPoissonLoad,
  stopAll,
  SYSTEM_NS,
  waitForReadyPods,
  waitUntil,
  type E2eCluster,
} from './support/cluster.js';
import { formatTimeline, type WorkloadRecorder } from './support/recorder.js';
import {
  RecordingMetricSource,
  RecordingScaleTarget,
  startMetricsProxy,
  type MetricsProxy,
} from './support/instruments.js';
import { accepted, readAudit, reconcileScaleWrites, scaleWrites, type ScaleWrite } from './support/audit.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[k8s-faults.test] SKIPPED: ${skipReason}`);

const NS = 'faults';
const APPS = ['conflict', 'scrape', 'restart'];
const SA_USER = `system:serviceaccount:${SYSTEM_NS}:inferscale-controller`;
const PROXY_PORT = 9000;

const WINDOWS = {
  observeWindowSeconds: 10,
  panicWindowSeconds: 5,
  behavior: { scaleDown: { stabilizationWindowSeconds: 5 } },
};

describe.skipIf(skipReason !== undefined)('e2e: faults', () => {
  let cluster: E2eCluster;
  let standin: KubeletStandin | undefined;
  let controller: ControllerHandle | undefined;
  let recorder: WorkloadRecorder | undefined;
  let kube: KubeScaleTarget;
  let scale: RecordingScaleTarget;
  const metrics = new RecordingMetricSource(createMetricSources());
  const drivers: LoadDriver[] = [];

  const load = async (deployment: string, rps: number, seconds: number, seed: number) => {
    const d = await startPoissonLoad(cluster, NS, deployment, { steps: [{ untilS: seconds, rps }], seed });
    drivers.push(d);
    return d;
  };
  const writesOf = (name: string): ScaleWrite[] =>
    scaleWrites(readAudit(cluster.auditLogPath!), NS, name).filter((w) => w.username === SA_USER);

  beforeAll(async () => {
    cluster = await startE2eCluster({ namespaces: [NS], audit: true });
    await installShippedRbac(cluster.cp);
    ({ recorder, standin } = await startEmulatedApps(cluster, NS, { apps: APPS, slot: 2, delayMs: 300 }));
    const { kc: saKc } = await shippedRoleKubeConfig(cluster);
    kube = new KubeScaleTarget({ clients: makeClients(saKc), writeMode: 'update' });
    scale = new RecordingScaleTarget(kube);
    controller = await startLeadingController({
      kubeConfig: saKc,
      namespace: NS,
      metrics,
      scaleTarget: scale,
      ...(process.env.E2E_LOG
        ? { log: createLogger({ level: 'debug', destination: openSync(process.env.E2E_LOG, 'w') }) }
        : {}),
    });
    await waitForReadyPods(standin!, APPS.length);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(drivers.map((d) => d.stop()));
    await stopAll(controller, standin, recorder, cluster);
  }, 60_000);

  it('forced 409 conflicts: a harmless one is retried and lands; a concurrent replicas change is not overwritten', async () => {
    const name = 'conflict';
    const admin = cluster.c;
    let bumps = 0;
    let stolen: number | undefined;
    // Between the engine's read of /scale and its write, someone else writes the Deployment.
    scale.beforeSet = async (ns, ref, replicas) => {
      if (ref.name !== name) return;
      if (bumps === 0) {
        // First write: only metadata moves (resourceVersion bumps, spec.replicas stays).
        bumps++;
        await admin.apps.patchNamespacedDeployment(
          { name, namespace: ns, body: { metadata: { annotations: { 'e2e/bump': String(Date.now()) } } } },
          mergePatch,
        );
      } else if (stolen === undefined && replicas > 1) {
        // Second write: another actor sets spec.replicas to 6 first; ours must not overwrite it.
        stolen = replicas;
        await admin.apps.patchNamespacedDeploymentScale(
          { name, namespace: ns, body: { spec: { replicas: 6 } } },
          mergePatch,
        );
      }
    };
    const conflictsBefore = kube.conflicts;
    await createPodAutoscaler(
      cluster.c,
      NS,
      runningRequestsAutoscaler(name, 'KPA', { maxReplicas: 6, spec: WINDOWS }),
    );
    const t0 = Date.now();
    const driver = await load(name, 5, 20, 21);
    try {
      // The harmless conflict was retried and the write landed; then the stolen write was refused.
      await waitUntil('both conflicts injected', 30_000, () => bumps === 1 && stolen !== undefined);
      const refused = await waitUntil('the refused write recorded', 10_000, () =>
        scale.sets.find((s) => s.target === name && !s.ok),
      );
      expect(refused.error).toMatch(/spec\.replicas changed from \d+ to 6 since it was read/);
      // The next tick decides from 6 (the load wants about 3): the controller scales down from 6.
      await waitUntil('a decision from 6', 20_000, () =>
        scale.sets.find((s) => s.target === name && s.ok && s.wallMs > refused.wallMs),
      );
    } finally {
      scale.beforeSet = undefined;
      await driver.stop();
    }
    expect(kube.conflicts - conflictsBefore).toBeGreaterThanOrEqual(2);

    const all = scaleWrites(readAudit(cluster.auditLogPath!), NS, name);
    const writes = all.filter((w) => w.username === SA_USER);
    const tl = recorder!.replicas(name);
    console.log(
      `[k8s-faults] conflict: replicas ${formatTimeline(tl, t0)}; audit: ` +
        all
          .map((w) => `${w.username === SA_USER ? '' : 'other '}${w.verb} ${w.replicas} → ${w.code}`)
          .join(', '),
    );
    // Audit, harmless conflict: the first write was a 409 (the bump came between read and write),
    // and the same value was then accepted on a fresh base: the retry. (More 409s may come from
    // the Deployment controller's own status updates; those are retried alike.)
    expect(writes[0]).toMatchObject({ verb: 'update', code: 409 });
    const firstOk = writes.findIndex(accepted);
    expect(firstOk).toBeGreaterThan(0);
    for (const w of writes.slice(0, firstOk + 1)) expect(w.replicas).toBe(writes[0]!.replicas);
    expect(writes[firstOk]!.baseResourceVersion).not.toBe(writes[0]!.baseResourceVersion);
    // Audit, concurrent change: the other writer's 6 was accepted; our write of `stolen` on the
    // older base was refused and never retried over it; our next accepted write was decided on a
    // base that already had the 6.
    const other = all.find((w) => w.username !== SA_USER && w.replicas === 6 && accepted(w));
    expect(other, 'the concurrent write of 6').toBeDefined();
    const otherRv = Number(other!.resourceVersion);
    const refusedWrite = writes.find((w) => w.code === 409 && w.replicas === stolen && w.atMs >= other!.atMs);
    expect(refusedWrite, JSON.stringify(writes)).toBeDefined();
    expect(Number(refusedWrite!.baseResourceVersion)).toBeLessThan(otherRv);
    const after = writes.filter((w) => w.atMs > other!.atMs);
    expect(after.filter((w) => accepted(w) && Number(w.baseResourceVersion) < otherRv)).toEqual([]);
    const next = after.find(accepted);
    expect(next, 'a write decided from 6').toBeDefined();
    expect(next!.replicas!).toBeLessThan(6);
    expect(tl.map((c) => c.replicas)).toContain(6);
    // Reported: FailedUpdateScale in history and a FailedRescale event naming the change; then a
    // successful rescale from 6.
    const history = await waitUntil('the rescale from 6 in status', 10_000, async () => {
      const h = (await paStatus(cluster.c, NS, name))?.scalingHistory ?? [];
      return h.some((x) => x.success && x.previousScale === 6) ? h : undefined;
    });
    expect(history.some((h) => !h.success && /changed from \d+ to 6/.test(h.error ?? ''))).toBe(true);
    const events = await eventsOf(cluster.c, NS, name);
    expect(
      events.some((e) => e.reason === 'FailedRescale' && /to 6 since it was read/.test(e.message ?? '')),
    ).toBe(true);
  }, 90_000);

  it('scrape faults: no scale-down while pod metrics are missing, scale-down once they are back', async () => {
    const name = 'scrape';
    // A proxy on <podIP>:9000 in front of each pod's /metrics; the PodAutoscaler scrapes there.
    const proxies = new Map<string, MetricsProxy>();
    const starting = new Set<string>();
    const follow = setInterval(() => {
      for (const p of standin!.pods().values()) {
        const ip = p.ip;
        if (!p.name.startsWith(`${name}-`) || !ip || proxies.has(ip) || starting.has(ip)) continue;
        starting.add(ip);
        void startMetricsProxy(ip, PROXY_PORT, 8000)
          .then((px) => proxies.set(ip, px))
          .catch(() => undefined)
          .finally(() => starting.delete(ip));
      }
    }, 50);
    const setMode = (ips: string[], mode: MetricsProxy['mode']) => {
      for (const ip of ips) {
        const px = proxies.get(ip);
        if (px) px.mode = mode;
      }
    };
    try {
      await createPodAutoscaler(
        cluster.c,
        NS,
        // No last-good stand-in: a failed scrape is missing at once.
        runningRequestsAutoscaler(name, 'KPA', {
          maxReplicas: 6,
          port: PROXY_PORT,
          spec: { ...WINDOWS, metricTtlSeconds: 0 },
        }),
      );
      const t0 = Date.now();
      const driver = await load(name, 5, 60, 31);
      const up = await waitUntil('scaled up to 3 Ready pods', 40_000, () => {
        const ready = [...standin!.pods().values()].filter(
          (p) => p.name.startsWith(`${name}-`) && p.state === 'ready' && p.ip && proxies.get(p.ip),
        );
        return ready.length >= 3 ? ready : undefined;
      });
      const before = await specReplicas(cluster.c, NS, name);
      const ticksOf = () => metrics.readsOf(NS, name);

      // Phase 1: the load stops and one pod's /metrics fails (HTTP 500). With full data the
      // recommendation would drop to 1; with one pod unknown it must hold.
      setMode([up[0]!.ip!], 'error');
      await driver.stop();
      const from1 = ticksOf().length;
      // Long enough for the 10 s window to hold only idle values, plus the 5 s stabilisation.
      await waitUntil('16 ticks with one pod unknown', 40_000, () => ticksOf().length >= from1 + 16, 250);
      const partial = ticksOf().slice(from1 + 1);
      expect(partial.every((r) => Object.values(r.values).some((v) => v === undefined))).toBe(true);
      expect(partial.some((r) => Object.values(r.values).every((v) => v === undefined || v === 0))).toBe(
        true,
      );
      expect(await specReplicas(cluster.c, NS, name)).toBe(before);

      // Phase 2: every pod's /metrics hangs (the scraper times out): nothing is known. Once the
      // window has emptied, no metric can be computed at all.
      setMode([...proxies.keys()], 'hang');
      const from2 = ticksOf().length;
      const blind = await waitUntil('ScalingActive=False/FailedGetMetrics', 40_000, async () => {
        const s = await paStatus(cluster.c, NS, name);
        return condition(s, 'ScalingActive')?.reason === 'FailedGetMetrics' ? s : undefined;
      });
      const from3 = ticksOf().length;
      await waitUntil('3 more ticks with no data', 30_000, () => ticksOf().length >= from3 + 3, 250);
      expect(
        ticksOf()
          .slice(from2 + 1)
          .every((r) => Object.values(r.values).every((v) => v === undefined)),
      ).toBe(true);
      expect(condition(blind, 'ScalingActive')?.status).toBe('False');
      expect(condition(blind, 'ScalingActive')?.message).toMatch(/holding at \d+/);
      expect((await eventsOf(cluster.c, NS, name)).some((e) => e.reason === 'FailedGetMetrics')).toBe(true);
      // Never written down while data was missing (the watch saw every change since the fault).
      const faultStart = ticksOf()[from1]!.wallMs;
      const tl = recorder!.replicas(name);
      expect(tl.filter((c) => c.atMs >= faultStart).map((c) => c.replicas)).toEqual([]);
      expect(await specReplicas(cluster.c, NS, name)).toBe(before);

      // Phase 3: the pages come back: idle pods, so the controller scales down.
      setMode([...proxies.keys()], 'pass');
      await waitUntil(
        'scaled down to 1',
        40_000,
        async () => (await specReplicas(cluster.c, NS, name)) === 1,
      );
      console.log(
        `[k8s-faults] scrape: replicas ${formatTimeline(recorder!.replicas(name), t0)}; ` +
          `${[...proxies.values()].reduce((a, p) => a + p.failed, 0)} scrapes failed on purpose`,
      );
    } finally {
      clearInterval(follow);
      await Promise.all([...proxies.values()].map((p) => p.close()));
    }
  }, 120_000);

  it('etcd and the apiserver killed mid-run: the controller recovers; no scale write lost or repeated', async () => {
    const name = 'restart';
    await createPodAutoscaler(
      cluster.c,
      NS,
      runningRequestsAutoscaler(name, 'KPA', { maxReplicas: 6, spec: WINDOWS }),
    );
    const setsBefore = scale.sets.length;
    const t0 = Date.now();
    const driver = await startPoissonLoad(cluster, NS, name, {
      steps: [
        { untilS: 25, rps: 5 },
        { untilS: 55, rps: 0.5 },
      ],
      seed: 41,
    });
    drivers.push(driver);
    // The faults strike while a write is in flight: a few ms after the controller's write starts,
    // etcd is SIGKILLed (first scale-up) and later the apiserver (first scale-down). Whether such a
    // write lands or not, the apiserver's record must stay consistent with the controller's.
    type Fault = { killMs: number; backMs: number };
    let etcdFault: Promise<Fault> | undefined;
    let apiFault: Promise<Fault> | undefined;
    const strike = (restart: () => Promise<void>): Promise<Fault> =>
      new Promise<void>((r) => setTimeout(r, 3)).then(async () => {
        const killMs = Date.now();
        await restart();
        return { killMs, backMs: Date.now() };
      });
    scale.beforeSet = async (_ns, ref, replicas) => {
      if (ref.name !== name) return;
      const current = recorder!.replicas(name).at(-1)?.replicas ?? 0;
      if (!etcdFault && replicas > current) {
        etcdFault = strike(async () => {
          await cluster.cp.stopEtcd({ kill: true });
          await cluster.cp.startEtcd();
        });
      } else if (etcdFault && !apiFault && replicas < current) {
        apiFault = strike(async () => {
          await cluster.cp.stopApiserver({ kill: true });
          await cluster.cp.startApiserver();
        });
      }
    };
    let etcd: Fault;
    let api: Fault;
    try {
      etcd = await await waitUntil('a scale-up write (etcd killed)', 30_000, () => etcdFault);
      await cluster.cp.waitForReady(60_000);
      api = await await waitUntil('a scale-down write (apiserver killed)', 60_000, () => apiFault);
    } finally {
      scale.beforeSet = undefined;
    }
    const apiBack = api.backMs;

    // Recovery: back at the minimum once the load is low, written by the controller after the
    // restart, and the status is fresh again.
    await waitUntil('back at 1 replica', 45_000, async () => (await specReplicas(cluster.c, NS, name)) === 1);
    await waitUntil('the controller leads again', 15_000, () => controller!.isLeader());
    const fresh = await waitUntil('a status decided after the restart', 15_000, async () => {
      const s = await paStatus(cluster.c, NS, name);
      const at = Date.parse(s?.lastDecision?.time ?? '');
      return at > apiBack ? s : undefined;
    });
    expect(condition(fresh, 'ScalingActive')).toMatchObject({ status: 'True' });
    await driver.stop();

    const sets = scale.sets.slice(setsBefore).filter((s) => s.target === name);
    const attempts = writesOf(name);
    const tl = recorder!.replicas(name);
    const changes = tl.slice(1); // tl[0] is the value before the test
    const rel = (ms: number) => `+${((ms - t0) / 1000).toFixed(1)}s`;
    console.log(
      `[k8s-faults] restart: etcd killed ${rel(etcd.killMs)}, back ${rel(etcd.backMs)}; ` +
        `apiserver killed ${rel(api.killMs)}, back ${rel(apiBack)}; replicas ${formatTimeline(tl, t0)}; ` +
        `controller writes ${sets.map((s) => `${s.replicas}${s.ok ? '' : `!(${s.error?.slice(0, 80)})`}`).join(', ')}; ` +
        `apiserver's record of them ${attempts.map((w) => `${w.replicas ?? '?'}→${w.code ?? 'died'}@${rel(w.receivedMs)}`).join(', ')}`,
    );
    expect(changes.length).toBeGreaterThanOrEqual(2);
    // Every change of spec.replicas was made by one of the controller's write attempts, and every
    // write the apiserver accepted made a change: nothing appeared from nowhere, nothing repeated.
    const { unexplained, repeated } = reconcileScaleWrites(attempts, changes);
    expect(unexplained, 'changes without a write').toEqual([]);
    expect(repeated, 'accepted writes that changed nothing').toEqual([]);
    // Each accepted write was based on a distinct version, and changed the value it was based on.
    const ok = attempts.filter(accepted);
    expect(new Set(ok.map((w) => w.baseResourceVersion)).size).toBe(ok.length);
    // Not lost: every write the controller saw succeed is on the apiserver, in order.
    const values = changes.map((c) => c.replicas);
    let k = 0;
    for (const s of sets.filter((x) => x.ok)) {
      while (k < values.length && values[k] !== s.replicas) k++;
      expect(k, `controller write of ${s.replicas} is not in the apiserver's timeline`).toBeLessThan(
        values.length,
      );
      k++;
    }
    // And the apiserver ends where the controller's last decision put it.
    expect(values.at(-1)).toBe(sets.filter((x) => x.ok).at(-1)?.replicas);
    expect(values.at(-1)).toBe(1);
  }, 150_000);
});
