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
 * Asserted: replica-seconds and p99 TTFT (the engine's, in model time) agree within 10 %. Both
 * sets of figures are printed, with the client-side TTFT beside them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneSkipReason } from '../support/controlplane.js';
import type { KubeletStandin } from '../support/kubelet-standin.js';
import { percentile, rateScheduleRequests, startLoad } from '../support/load-driver.js';
import { startController, type ControllerHandle } from '../../src/controller/controller.js';
import { createMetricSources } from '../../src/metrics/sources.js';
import { resolvePodAutoscaler } from '../../src/api/resolve.js';
import { runSimulation, type RunResult } from '../../simulator/cluster/run.js';
import { modelReplicaFactory } from '../../simulator/cluster/model-adapter.js';
import { fixedColdStart, type ColdStartSampler } from '../../simulator/cluster/coldstart.js';
import type { SimRequest } from '../../simulator/cluster/replica.js';
import { Rng } from '../../simulator/traces/rng.js';
import {
  createPodAutoscaler,
  QUICK_INFORMER,
  runningRequestsAutoscaler,
  startE2eCluster,
  startEmulatedApps,
  stopAll,
  waitForReadyPods,
  type E2eCluster,
} from './support/cluster.js';
import { formatTimeline, type ReplicaChange, type WorkloadRecorder } from './support/recorder.js';
import { RecordingMetricSource, spedUpClock } from './support/instruments.js';

const skipReason = await controlPlaneSkipReason();
if (skipReason) console.warn(`[k8s-fidelity.test] SKIPPED: ${skipReason}`);

const NS = 'fidelity';
const APP = 'llama';
const GPU = 'L4';
const MODEL = 'Llama-3.1-8B';
/** Live time runs this many times faster than model time. */
const S = 4;
/** Model-time tick (the simulator's); the live period is TICK_MS / S. */
const TICK_MS = 5_000;
/** Wall-clock Pending (image pull), and as long again loading weights, of a new pod; × S in model time. */
const DELAY_WALL_MS = 1_500;
const NOMINAL_COLD_START_MS = 2 * DELAY_WALL_MS * S;
/** Extra simulations that measure the simulator's own p99 spread (about 0.3 s each); printed only. */
const BAND_RUNS = 8;

/**
 * Model time: low, high (about 5 replicas' worth), low again. Evenly spaced arrivals: with Poisson
 * arrivals the p99 of ~900 TTFTs hangs on which few requests happen to collide in one batch, and
 * moving arrivals by a few ms (the driver's timer lag) moved the simulator's own p99 by ±7 %; evenly
 * spaced, the same jitter moves it by ±1 %, so the 10 % compares the two systems, not the dice.
 */
const TRACE = rateScheduleRequests({
  steps: [
    { untilS: 30, rps: 1 },
    { untilS: 120, rps: 8 },
    { untilS: 210, rps: 1 },
  ],
  inputTokens: 512,
  outputTokens: 32,
  arrivals: 'uniform',
  seed: 7,
});

// The high phase wants 5 to 6 replicas; at a cap of 5 the peak does not hinge on a borderline
// rounding that a few ms of timing noise could flip either way.
const PA = runningRequestsAutoscaler(APP, 'KPA', {
  maxReplicas: 5,
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
}

/** TTFT quantiles of a simulated run: first token − arrival at the gateway, model ms. */
function simFigures(r: RunResult, requests: readonly SimRequest[]): Figures {
  const ttft = requests.map((q) => r.log.firstTokenMs[q.id]! - q.arrivalMs);
  return {
    // Pods from creation to the end of their drain, up to the last completion.
    replicaSeconds: r.replicaMs / 1000,
    p50TtftMs: percentile(ttft, 50)!,
    p99TtftMs: percentile(ttft, 99)!,
  };
}

describe.skipIf(skipReason !== undefined)('e2e: live run vs simulation of the same trace', () => {
  let cluster: E2eCluster;
  let standin: KubeletStandin | undefined;
  let controller: ControllerHandle | undefined;
  let recorder: WorkloadRecorder | undefined;
  const metrics = new RecordingMetricSource(createMetricSources());
  const origin = Date.now();

  beforeAll(async () => {
    cluster = await startE2eCluster({ namespaces: [NS] });
    // One process per pod: the emulators' timers do not share the test process's event loop
    // with the load driver, the controller and the informers.
    ({ recorder, standin } = await startEmulatedApps(cluster, NS, {
      apps: [APP],
      graceSeconds: 10,
      slot: 4,
      delayMs: DELAY_WALL_MS,
      mode: 'process',
      gpu: GPU,
      model: MODEL,
      speedup: S,
      probeMs: 50,
    }));
    controller = await startController({
      kubeConfig: cluster.kc,
      namespace: NS,
      metrics,
      clock: spedUpClock(origin, S),
      periodMs: TICK_MS / S,
      leaderElection: false,
      informer: QUICK_INFORMER,
    });
    await waitForReadyPods(standin!, 1);
  }, 180_000);

  afterAll(async () => {
    await stopAll(controller, standin, recorder, cluster);
  }, 60_000);

  it('replica-seconds and p99 TTFT agree within 10 %', async () => {
    const driver = await startLoad({
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
    // The driver's clock starts as startLoad resolves; the PodAutoscaler starts ticking after.
    const t0 = Date.now();
    await createPodAutoscaler(cluster.c, NS, PA);
    const result = await driver.done;
    const toModel = (wallMs: number) => (wallMs - t0) * S;
    expect(result.summary.byOutcome).toEqual({ ok: TRACE.length });

    // Ticks: the engine's (sped-up) clock at each metric read.
    const ticks = metrics.readsOf(NS, APP).map((r) => origin + (r.nowMs - origin) / S);
    const firstTickModel = toModel(ticks[0]!);
    const periods = ticks.slice(1).map((t, i) => (t - ticks[i]!) * S);
    const meanPeriod = periods.reduce((a, b) => a + b, 0) / periods.length;

    // Cold starts: from the scale write that asked for a pod to the pod being Ready.
    const tl = recorder!.replicas(APP);
    const coldStarts = recorder!
      .podLives(APP)
      .filter((l) => l.seenMs >= t0 && l.readyMs !== undefined)
      .map((l) => (l.readyMs! - (lastIncreaseBefore(tl, l.seenMs)?.atMs ?? l.seenMs)) * S);

    // The trace as delivered: each request when the driver actually sent it (its timer runs late
    // by a few ms when the machine is busy), in model time. The simulator replays that.
    const sent = result.records.filter((r) => r.sentMs !== undefined).sort((a, b) => a.sentMs! - b.sentMs!);
    const delivered: SimRequest[] = sent.map((r, id) => ({
      id,
      arrivalMs: r.sentMs! * S,
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
    }));
    const nominal: SimRequest[] = TRACE.map((r, id) => ({ ...r, id }));
    const simulate = (requests: SimRequest[], coldStart: ColdStartSampler) =>
      runSimulation({
        name: 'fidelity',
        pa: resolved(),
        requests,
        factory: modelReplicaFactory({ gpu: GPU, model: MODEL }),
        coldStart,
        router: 'least-requests',
        tickMs: TICK_MS,
        warmupMs: firstTickModel,
        initialReplicas: 1,
        sampleMs: 1_000,
      });
    const simRun = await simulate(delivered, replaySampler(coldStarts, NOMINAL_COLD_START_MS));
    const sim = simFigures(simRun, delivered);
    const simNominal = simFigures(await simulate(nominal, fixedColdStart(NOMINAL_COLD_START_MS)), nominal);
    // A p99 over ~900 requests moves by several per cent with a few ms of timing noise (a burst
    // lands on a different replica). The simulator's own spread: the nominal trace delivered again
    // BAND_RUNS times with this harness's measured send lags (each request's drawn from them).
    const lags = sent.map((r) => (r.sentMs! - r.arrivalMs) * S);
    const band: Figures[] = [sim];
    for (let k = 1; k <= BAND_RUNS; k++) {
      const rng = new Rng(k);
      const again = nominal
        .map((r) => ({ ...r, arrivalMs: r.arrivalMs + lags[rng.int(0, lags.length - 1)]! }))
        .sort((a, b) => a.arrivalMs - b.arrivalMs)
        .map((r, id) => ({ ...r, id }));
      band.push(simFigures(await simulate(again, replaySampler(coldStarts, NOMINAL_COLD_START_MS)), again));
    }
    const bandP99 = band.map((f) => f.p99TtftMs);
    const [lowP99, highP99] = [Math.min(...bandP99), Math.max(...bandP99)];

    // Live figures in model time, over the simulator's horizon (its last completion). TTFT as the
    // engine counts it (arrival at the pod → first token, vLLM's own histogram's definition), read
    // from each response's timing trailer: the harness's sockets and timers run late on a busy
    // machine, and at S× speed-up each late wall millisecond would count S model milliseconds. The
    // client-side figure (first byte − send, × S) is printed beside it.
    const horizonMs = simRun.workEndMs;
    const engineTtft = sent.map((r) => r.engineTtftMs);
    expect(engineTtft.filter((v) => v === undefined).length, 'responses without a timing trailer').toBe(0);
    const ttftAtEngine = engineTtft.map((v) => v!);
    const live: Figures = {
      replicaSeconds: recorder!.podSeconds(APP, t0, t0 + horizonMs / S) * S,
      p50TtftMs: percentile(ttftAtEngine, 50)!,
      p99TtftMs: percentile(ttftAtEngine, 99)!,
    };
    const ttftFromSend = sent.map((r) => r.ttftMs! * S);
    const lastDone = Math.max(...sent.map((r) => r.sentMs! + (r.e2eMs ?? 0))) * S;

    const pct = (a: number, b: number) => `${(100 * (a / b - 1)).toFixed(1)} %`;
    console.log(
      [
        `[k8s-fidelity] ${TRACE.length} requests, ${GPU} ${MODEL}, speed-up ${S}, tick ${TICK_MS} ms ` +
          `(live: mean ${meanPeriod.toFixed(0)} ms, first at ${firstTickModel.toFixed(0)} ms); horizon ` +
          `${(horizonMs / 1000).toFixed(1)} s (live last completion ${(lastDone / 1000).toFixed(1)} s); model time throughout`,
        `  cold starts, scale write → Ready: live ${coldStarts.map((c) => (c / 1000).toFixed(1)).join(', ')} s; ` +
          `nominal ${(NOMINAL_COLD_START_MS / 1000).toFixed(1)} s`,
        `  replicas live: ${formatTimeline(
          tl.map((c) => ({ ...c, atMs: toModel(c.atMs) })),
          0,
        )}`,
        `  replicas sim:  ${simRun.scaleEvents.map((e) => `${e.to}@${(e.timeMs / 1000).toFixed(1)}s`).join(' → ')}`,
        `  replica-seconds: live ${live.replicaSeconds.toFixed(0)}, sim ${sim.replicaSeconds.toFixed(0)} ` +
          `(live ${pct(live.replicaSeconds, sim.replicaSeconds)}); sim of the nominal trace and cold start ${simNominal.replicaSeconds.toFixed(0)}`,
        `  p99 TTFT: live ${live.p99TtftMs.toFixed(0)} ms, sim ${sim.p99TtftMs.toFixed(0)} ms ` +
          `(live ${pct(live.p99TtftMs, sim.p99TtftMs)}); p50 live ${live.p50TtftMs.toFixed(0)}, sim ${sim.p50TtftMs.toFixed(0)}; ` +
          `sim of the nominal trace p99 ${simNominal.p99TtftMs.toFixed(0)}; sim spread over ${band.length} ` +
          `deliveries ${lowP99.toFixed(0)}..${highP99.toFixed(0)} ms`,
        `  driver send lag p50/p99/max ${[percentile(lags, 50)!, percentile(lags, 99)!, Math.max(...lags)].map((v) => v.toFixed(0)).join('/')} ms; ` +
          `live TTFT at the client (first byte − send, × ${S}) p50 ${percentile(ttftFromSend, 50)!.toFixed(0)}, ` +
          `p99 ${percentile(ttftFromSend, 99)!.toFixed(0)} ms`,
      ].join('\n'),
    );
    expect(Math.abs(live.replicaSeconds / sim.replicaSeconds - 1)).toBeLessThanOrEqual(0.1);
    // Against the simulation of the trace as this harness delivered it. The band (the same trace
    // with other draws of the harness's send lags) is printed to show how much of any gap is the
    // p99's own noise; it is not used to widen the 10 %.
    expect(Math.abs(live.p99TtftMs / sim.p99TtftMs - 1)).toBeLessThanOrEqual(0.1);
  }, 150_000);
});

function resolved() {
  const r = resolvePodAutoscaler({ ...PA, metadata: { name: APP, namespace: NS } });
  if (!r.ok) throw new Error(`the test's PodAutoscaler is invalid: ${JSON.stringify(r.issues)}`);
  return r.value;
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
