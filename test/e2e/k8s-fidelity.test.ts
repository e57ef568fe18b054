/**
 * Fidelity: the same short trace, the same PodAutoscaler, the same GPU and model, run twice:
 *
 *   live       the controller (real /scale writes, real scraping of the pods' /metrics) + the
 *              controller-manager + the kubelet stand-in + emulated vLLM pods + the load driver;
 *   simulated  `runSimulation` (the same ScalingEngine on the virtual cluster and replica model).
 *
 * Time is compressed S-fold on the live side, consistently: the emulators run S× faster, the trace
 * is replayed S× faster, the controller's clock runs S× faster (so the spec's windows mean the same
 * model time) and its period is the simulator's tick ÷ S. Every live duration is multiplied back by
 * S before comparing. The simulator ticks at the live controller's measured first tick and period,
 * and draws the live pods' measured cold starts (scale write → Ready) in order.
 *
 * Asserted: replica-seconds and p99 TTFT agree within 10 %. Both sets of figures are printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneSkipReason } from '../support/controlplane.js';
import { startKubeletStandin, type KubeletStandin } from '../support/kubelet-standin.js';
import { rateScheduleRequests, runLoad, percentile, type RequestRecord } from '../support/load-driver.js';
import { startController, type ControllerHandle } from '../../src/controller/controller.js';
import { createMetricSources } from '../../src/metrics/sources.js';
import { resolvePodAutoscaler } from '../../src/api/resolve.js';
import { runSimulation, type RunResult } from '../../simulator/cluster/run.js';
import { modelReplicaFactory } from '../../simulator/cluster/model-adapter.js';
import { fixedColdStart, type ColdStartSampler } from '../../simulator/cluster/coldstart.js';
import {
  createPodAutoscaler,
  emulatorDeployment,
  ipPoolFor,
  podAutoscaler,
  startE2eCluster,
  waitUntil,
  type E2eCluster,
} from './support/cluster.js';
import { WorkloadRecorder, formatTimeline, type ReplicaChange } from './support/recorder.js';
import { RecordingMetricSource, spedUpClock } from './support/instruments.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[k8s-fidelity.test] SKIPPED: ${skipReason}`);

const NS = 'fidelity';
const APP = 'llama';
const GPU = 'L4';
const MODEL = 'Llama-3.1-8B';
/** Live time runs this many times faster than model time. */
const S = 5;
/** Model-time tick (the simulator's); the live period is TICK_MS / S. */
const TICK_MS = 5_000;
/** Wall-clock Pending (image pull) and loading (weights) of a new pod; × S in model time. */
const START_DELAY_WALL_MS = 1_500;
const LOAD_DELAY_WALL_MS = 1_500;
const NOMINAL_COLD_START_MS = (START_DELAY_WALL_MS + LOAD_DELAY_WALL_MS) * S;

/** Model time: low, high (about 5 replicas' worth), low again. */
const TRACE = rateScheduleRequests({
  steps: [
    { untilS: 30, rps: 1 },
    { untilS: 120, rps: 8 },
    { untilS: 210, rps: 1 },
  ],
  inputTokens: 256,
  outputTokens: 32,
  arrivals: 'poisson',
  seed: 7,
});

const PA = podAutoscaler({
  name: APP,
  target: APP,
  strategy: 'KPA',
  metric: 'num_requests_running',
  value: '4',
  maxReplicas: 8,
  spec: {
    observeWindowSeconds: 30,
    panicWindowSeconds: 10,
    behavior: { scaleDown: { stabilizationWindowSeconds: 20 } },
  },
});

interface Figures {
  replicaSeconds: number;
  p50TtftMs: number;
  p99TtftMs: number;
  requests: number;
}

/** A simulated run's figures: pods from creation to the end of their drain, up to the last completion. */
function simFigures(r: RunResult): Figures {
  const ttft: number[] = [];
  TRACE.forEach((q, i) => ttft.push(r.log.firstTokenMs[i]! - q.arrivalMs));
  return {
    replicaSeconds: r.replicaMs / 1000,
    p50TtftMs: percentile(ttft, 50)!,
    p99TtftMs: percentile(ttft, 99)!,
    requests: ttft.filter(Number.isFinite).length,
  };
}

const rel = (a: number, b: number) => Math.abs(a - b) / b;

describe.skipIf(skipReason !== undefined)('e2e: live run vs simulation of the same trace', () => {
  let cluster: E2eCluster;
  let standin: KubeletStandin | undefined;
  let controller: ControllerHandle | undefined;
  let recorder: WorkloadRecorder | undefined;
  const metrics = new RecordingMetricSource(createMetricSources());
  const origin = Date.now();

  beforeAll(async () => {
    cluster = await startE2eCluster({ namespaces: [NS] });
    await cluster.c.apps.createNamespacedDeployment({
      namespace: NS,
      body: emulatorDeployment(APP, { graceSeconds: 10 }),
    });
    recorder = new WorkloadRecorder(cluster.kc, NS, [APP]);
    await recorder.start();
    standin = await startKubeletStandin({
      kubeconfigPath: cluster.cp.kubeconfigPath,
      namespace: NS,
      labelSelector: `app=${APP}`,
      mode: 'in-process',
      startDelayMs: START_DELAY_WALL_MS,
      emulator: { gpu: GPU, model: MODEL, speedup: S, loadDelayMs: LOAD_DELAY_WALL_MS },
      ipPool: ipPoolFor(4),
      probe: { periodMs: 50 },
    });
    controller = await startController({
      kubeConfig: cluster.kc,
      namespace: NS,
      metrics,
      clock: spedUpClock(origin, S),
      periodMs: TICK_MS / S,
      leaderElection: false,
      informer: { backoff: { initialMs: 100, maxMs: 1_000 } },
    });
    await waitUntil('the first pod Ready', 30_000, () =>
      [...standin!.pods().values()].some((p) => p.state === 'ready'),
    );
  }, 180_000);

  afterAll(async () => {
    await controller?.stop();
    await standin?.stop();
    await recorder?.stop();
    await cluster?.stop();
  }, 60_000);

  it('replica-seconds and p99 TTFT agree within 10 %', async () => {
    await createPodAutoscaler(cluster.c, NS, PA);
    const t0 = Date.now();
    const result = await runLoad({
      kc: cluster.kc,
      namespace: NS,
      deployment: APP,
      requests: TRACE,
      timeScale: S,
      balance: 'least-outstanding',
      requestTimeoutMs: 60_000,
      maxDurationMs: 120_000,
      noPod: 'wait',
    });
    const toModel = (wallMs: number) => (wallMs - t0) * S;
    expect(result.summary.byOutcome).toEqual({ ok: TRACE.length });

    // Ticks: the engine's (sped-up) clock at each metric read.
    const ticks = metrics.readsOf(NS, APP).map((r) => origin + (r.nowMs - origin) / S);
    const firstTickModel = toModel(ticks[0]!);
    const periods = ticks.slice(1).map((t, i) => (t - ticks[i]!) * S);
    const meanPeriod = periods.reduce((a, b) => a + b, 0) / periods.length;

    // Cold starts: from the scale write that asked for a pod to the pod being Ready.
    const tl = recorder!.replicas(APP);
    const lives = recorder!.podLives(APP).filter((l) => l.seenMs >= t0);
    const coldStarts = lives
      .filter((l) => l.readyMs !== undefined)
      .map((l) => {
        const write = lastIncreaseBefore(tl, l.seenMs);
        return ((l.readyMs! - (write?.atMs ?? l.seenMs)) * S) as number;
      });

    // Live figures, in model time.
    const lastDone = Math.max(...result.records.map((r) => (r.sentMs ?? 0) + (r.e2eMs ?? 0)));
    const liveTtft = result.records.map((r) => liveTtftMs(r));
    const simMeasured = await runSimulation({
      name: 'measured',
      pa: resolved(),
      requests: TRACE.map((r, id) => ({ ...r, id })),
      factory: modelReplicaFactory({ gpu: GPU, model: MODEL }),
      coldStart: replaySampler(coldStarts, NOMINAL_COLD_START_MS),
      router: 'least-requests',
      tickMs: TICK_MS,
      warmupMs: firstTickModel,
      initialReplicas: 1,
      sampleMs: 1_000,
    });
    const horizonMs = simMeasured.workEndMs;
    const live: Figures = {
      replicaSeconds: recorder!.podSeconds(APP, t0, t0 + horizonMs / S) * S,
      p50TtftMs: percentile(liveTtft, 50)!,
      p99TtftMs: percentile(liveTtft, 99)!,
      requests: liveTtft.length,
    };
    const sim = simFigures(simMeasured);
    const simNominal = simFigures(
      await runSimulation({
        name: 'nominal',
        pa: resolved(),
        requests: TRACE.map((r, id) => ({ ...r, id })),
        factory: modelReplicaFactory({ gpu: GPU, model: MODEL }),
        coldStart: fixedColdStart(NOMINAL_COLD_START_MS),
        router: 'least-requests',
        tickMs: TICK_MS,
        warmupMs: firstTickModel,
        initialReplicas: 1,
        sampleMs: 1_000,
      }),
    );

    const simTimeline = simMeasured.scaleEvents
      .map((e) => `${e.to}@${(e.timeMs / 1000).toFixed(0)}s`)
      .join(' → ');
    const liveTimeline = formatTimeline(
      tl.map((c) => ({ ...c, atMs: t0 + toModel(c.atMs) })),
      t0,
    );
    console.log(
      [
        `[k8s-fidelity] ${TRACE.length} requests, ${GPU} ${MODEL}, speed-up ${S}, tick ${TICK_MS} ms ` +
          `(live mean ${meanPeriod.toFixed(0)} ms, first at ${firstTickModel.toFixed(0)} ms), horizon ${(horizonMs / 1000).toFixed(1)} s, ` +
          `live last completion ${((lastDone * S) / 1000).toFixed(1)} s`,
        `  cold starts (model s): live ${coldStarts.map((c) => (c / 1000).toFixed(1)).join(', ')}; nominal ${(NOMINAL_COLD_START_MS / 1000).toFixed(1)}`,
        `  replicas live (model s): ${liveTimeline}`,
        `  replicas sim:            ${simTimeline}`,
        `  replica-seconds: live ${live.replicaSeconds.toFixed(0)}, sim ${sim.replicaSeconds.toFixed(0)} ` +
          `(${(100 * rel(live.replicaSeconds, sim.replicaSeconds)).toFixed(1)} %), sim with the nominal cold start ${simNominal.replicaSeconds.toFixed(0)}`,
        `  p99 TTFT: live ${live.p99TtftMs.toFixed(0)} ms, sim ${sim.p99TtftMs.toFixed(0)} ms ` +
          `(${(100 * rel(live.p99TtftMs, sim.p99TtftMs)).toFixed(1)} %); p50 live ${live.p50TtftMs.toFixed(0)}, sim ${sim.p50TtftMs.toFixed(0)}`,
      ].join('\n'),
    );
    expect(rel(live.replicaSeconds, sim.replicaSeconds)).toBeLessThanOrEqual(0.1);
    expect(rel(live.p99TtftMs, sim.p99TtftMs)).toBeLessThanOrEqual(0.1);
  }, 150_000);
});

function resolved() {
  const r = resolvePodAutoscaler({ ...PA, metadata: { name: APP, namespace: NS } });
  if (!r.ok) throw new Error(`the test's PodAutoscaler is invalid: ${JSON.stringify(r.issues)}`);
  return r.value;
}

/** Live TTFT in model time, from the scheduled arrival (as the simulator counts it, gateway wait included). */
function liveTtftMs(r: RequestRecord): number {
  if (r.sentMs === undefined || r.ttftMs === undefined) return NaN;
  return (r.sentMs - r.arrivalMs + r.ttftMs) * S;
}

function lastIncreaseBefore(tl: readonly ReplicaChange[], tMs: number): ReplicaChange | undefined {
  let hit: ReplicaChange | undefined;
  for (let i = 1; i < tl.length; i++)
    if (tl[i]!.atMs <= tMs && tl[i]!.replicas > tl[i - 1]!.replicas) hit = tl[i];
  return hit;
}

/** Draws the given delays in order (then their mean): the n-th simulated pod gets the n-th live one's. */
function replaySampler(delays: readonly number[], fallbackMs: number): ColdStartSampler {
  const mean = delays.length ? delays.reduce((a, b) => a + b, 0) / delays.length : fallbackMs;
  let i = 0;
  return {
    draw: () => delays[i++] ?? mean,
    meanMs: mean,
    description: `replayed ${delays.length} live cold starts, mean ${(mean / 1000).toFixed(1)} s`,
  };
}
