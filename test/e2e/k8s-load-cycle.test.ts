/**
 * End to end, one load cycle: two Deployments of emulated vLLM pods (Llama-3.1-8B on L4) receive a
 * low → high → low request rate from the load driver. A KPA PodAutoscaler scales one and an APA
 * PodAutoscaler the other, through `/scale`; the controller-manager creates and deletes pods; the
 * kubelet stand-in runs each pod as an emulator and drains it on deletion; the controller reads the
 * pods' real `/metrics` pages. The controller runs with a ServiceAccount token bound only to the
 * shipped role (config/rbac), and the audit log confirms the scale writes are that account's.
 *
 * Asserted: replicas (from the apiserver's watch) rise during the load and fall back after it; the
 * status (desiredScale, actualScale, AbleToScale, ScalingActive, ScalingLimited, history) and the
 * SuccessfulRescale events describe what happened; every request was served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneSkipReason } from '../support/controlplane.js';
import type { KubeletStandin } from '../support/kubelet-standin.js';
import { startLoad, type LoadResult } from '../support/load-driver.js';
import type { ControllerHandle } from '../../src/controller/controller.js';
import { createMetricSources } from '../../src/metrics/sources.js';
import {
  condition,
  createPodAutoscaler,
  eventsOf,
  installShippedRbac,
  paStatus,
  runningRequestsAutoscaler,
  shippedRoleKubeConfig,
  startE2eCluster,
  startEmulatedApps,
  startLeadingController,
  stopAll,
  SYSTEM_NS,
  waitForReadyPods,
  waitUntil,
  type E2eCluster,
} from './support/cluster.js';
import { formatTimeline, peakBetween, valueAt, type WorkloadRecorder } from './support/recorder.js';
import { RecordingMetricSource } from './support/instruments.js';
import { accepted, readAudit, scaleWrites } from './support/audit.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[k8s-load-cycle.test] SKIPPED: ${skipReason}`);

const NS = 'llm';
const APPS = ['kpa-llama', 'apa-llama'];
const RATE = {
  // Seconds from the load's start. At 5 req/s of 256 → 32 tokens an L4 replica has about 11
  // requests running; the target is 4 per pod, so both algorithms want 3.
  steps: [
    { untilS: 4, rps: 1 },
    { untilS: 24, rps: 5 },
    { untilS: 50, rps: 0.5 },
  ],
  inputTokens: 256,
  outputTokens: 32,
  arrivals: 'poisson' as const,
};
const HIGH_FROM_S = 4;
const HIGH_UNTIL_S = 24;

/** Short windows so a cycle fits in a minute; everything else is the defaults. */
const WINDOWS = {
  observeWindowSeconds: 10,
  panicWindowSeconds: 5,
  behavior: { scaleDown: { stabilizationWindowSeconds: 5 } },
  metricTtlSeconds: 5,
};

describe.skipIf(skipReason !== undefined)('e2e: load cycle with KPA and APA', () => {
  let cluster: E2eCluster;
  let standin: KubeletStandin | undefined;
  let controller: ControllerHandle | undefined;
  let recorder: WorkloadRecorder | undefined;
  const metrics = new RecordingMetricSource(createMetricSources());

  beforeAll(async () => {
    cluster = await startE2eCluster({ namespaces: [NS], audit: true });
    await installShippedRbac(cluster.cp);
    // In-process emulators: up to a dozen pods on two cores.
    ({ recorder, standin } = await startEmulatedApps(cluster, NS, { apps: APPS, slot: 1, delayMs: 500 }));
    controller = await startLeadingController({
      kubeConfig: (await shippedRoleKubeConfig(cluster)).kc,
      namespace: NS,
      metrics,
    });
    await waitForReadyPods(standin!, APPS.length);
  }, 180_000);

  afterAll(async () => {
    await stopAll(controller, standin, recorder, cluster);
  }, 60_000);

  it('scales up under load and back down after it, and reports it in status and events', async () => {
    const kc = cluster.kc;
    await createPodAutoscaler(
      cluster.c,
      NS,
      runningRequestsAutoscaler('kpa-llama', 'KPA', { maxReplicas: 6, spec: WINDOWS }),
    );
    await createPodAutoscaler(
      cluster.c,
      NS,
      runningRequestsAutoscaler('apa-llama', 'APA', { maxReplicas: 6, spec: WINDOWS }),
    );
    const t0 = Date.now();
    const drivers = await Promise.all(
      ['kpa-llama', 'apa-llama'].map((deployment, i) =>
        startLoad({
          kc,
          namespace: NS,
          deployment,
          rate: { ...RATE, seed: 11 + i },
          requestTimeoutMs: 30_000,
          maxDurationMs: 60_000,
          noPod: 'wait',
        }),
      ),
    );
    const results: LoadResult[] = await Promise.all(drivers.map((d) => d.done));
    const loadEnd = Date.now();

    for (const name of ['kpa-llama', 'apa-llama']) {
      // After the load: back to one replica (deadline-bounded; the windows are 10 s + 5 s).
      await waitUntil(`${name} back at 1 replica`, 45_000, () => {
        const tl = recorder!.replicas(name);
        return tl.at(-1)?.replicas === 1 && tl.length > 2;
      });
    }

    for (const [i, name] of ['kpa-llama', 'apa-llama'].entries()) {
      const tl = recorder!.replicas(name);
      const summary = results[i]!.summary;
      console.log(
        `[k8s-load-cycle] ${name}: replicas ${formatTimeline(tl, t0)}; ${summary.total} requests ` +
          `${JSON.stringify(summary.byOutcome)}, p50/p99 TTFT ${summary.ttft?.p50.toFixed(0)}/` +
          `${summary.ttft?.p99.toFixed(0)} ms, per pod ${JSON.stringify(summary.perPod)}`,
      );
      // Started at 1, went up while the load was high, ended at 1.
      expect(tl[0]?.replicas, formatTimeline(tl, t0)).toBe(1);
      const peak = peakBetween(tl, t0 + HIGH_FROM_S * 1000, t0 + (HIGH_UNTIL_S + 3) * 1000);
      expect(peak, formatTimeline(tl, t0)).toBeGreaterThanOrEqual(2);
      expect(valueAt(tl, Date.now())).toBe(1);
      // Up first, down only after the high phase began: no flapping down before the peak.
      const firstDown = tl.findIndex((c, k) => k > 0 && c.replicas < tl[k - 1]!.replicas);
      const firstUp = tl.findIndex((c, k) => k > 0 && c.replicas > tl[k - 1]!.replicas);
      expect(firstUp).toBeGreaterThan(0);
      expect(firstDown).toBeGreaterThan(firstUp);
      // Every request was served, by more than one pod.
      expect(summary.byOutcome, JSON.stringify(summary.byOutcome)).toEqual({ ok: summary.total });
      expect(Object.keys(summary.perPod).length).toBeGreaterThanOrEqual(2);
      expect(loadEnd - t0).toBeLessThan(70_000);

      // Status: the last decision and the conditions of a settled, healthy autoscaler.
      const status = await waitUntil(`${name} status settled at 1`, 15_000, async () => {
        const s = await paStatus(cluster.c, NS, name);
        return s?.desiredScale === 1 && s.actualScale === 1 ? s : undefined;
      });
      expect(condition(status, 'ValidSpec')).toMatchObject({ status: 'True' });
      expect(condition(status, 'AbleToScale')).toMatchObject({ status: 'True' });
      expect(condition(status, 'ScalingActive')).toMatchObject({
        status: 'True',
        reason: 'ValidMetricFound',
      });
      expect(condition(status, 'ScalingLimited')?.status).toMatch(/^(True|False)$/);
      expect(status.lastScaleTime).toBeDefined();
      const history = status.scalingHistory ?? [];
      expect(history.some((h) => h.success && h.newScale > h.previousScale)).toBe(true);
      expect(history.some((h) => h.success && h.newScale < h.previousScale)).toBe(true);
      expect(history.every((h) => h.algorithm === (i === 0 ? 'kpa' : 'apa'))).toBe(true);

      // Events: one SuccessfulRescale per distinct write, up and down.
      const events = (await eventsOf(cluster.c, NS, name)).filter((e) => e.reason === 'SuccessfulRescale');
      const sizes = events.map((e) => Number(/^New size: (\d+);/.exec(e.message ?? '')?.[1]));
      expect(sizes).toContain(peak);
      expect(sizes).toContain(1);
      expect(events.every((e) => e.source?.component === 'inferscale-controller')).toBe(true);

      // The apiserver's record: every accepted scale write came from the ServiceAccount, and each
      // one is a change the watch saw.
      const writes = scaleWrites(readAudit(cluster.auditLogPath!), NS, name).filter(accepted);
      expect(writes.length).toBeGreaterThanOrEqual(2);
      for (const w of writes) {
        expect(w.username).toBe(`system:serviceaccount:${SYSTEM_NS}:inferscale-controller`);
        expect(tl.map((c) => c.replicas)).toContain(w.replicas);
      }
      expect(writes.map((w) => w.replicas)).toEqual(tl.slice(1).map((c) => c.replicas));
    }
    // The controller read real pages: ticks saw values for every Ready pod.
    expect(
      metrics.readsOf(NS, 'kpa-llama').some((r) => Object.values(r.values).some((v) => (v ?? 0) > 4)),
    ).toBe(true);
  }, 150_000);
});
