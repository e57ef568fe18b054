/**
 * Simulator speed: `npx tsx bench/simulator.bench.ts`.
 *
 * 1. The 1-hour Azure LLM conversation trace (19,366 requests) replayed through one autoscaled run
 *    (KPA on KV usage, the production ScalingEngine ticking every 15 s).
 * 2. One million synthetic requests (Poisson, Azure-conversation sizes) through the same loop.
 *
 * Prints wall time and simulated requests per second; goals on a 2-core machine: < 5 s and < 60 s.
 * The oracle's capacity probes are timed separately (they are a fixed cost per invocation).
 * Env: BENCH_AZURE (trace path), BENCH_SYNTHETIC (request count, default 1e6), BENCH_GPU, BENCH_MODEL.
 */
import { existsSync } from 'node:fs';
import { fixedColdStart } from '../simulator/cluster/coldstart.js';
import { modelReplicaFactory } from '../simulator/cluster/model-adapter.js';
import { runSimulation } from '../simulator/cluster/run.js';
import { generatedSpec, resolveSpec } from '../simulator/cluster/specs.js';
import { replicaCapacity } from '../simulator/report/capacity.js';
import { generateSynthetic, readTrace, type TraceRequest } from '../simulator/traces/index.js';

const AZURE = process.env.BENCH_AZURE ?? '/work/shared/traces/AzureLLMInferenceTrace_conv.csv';
const SYNTHETIC = Number(process.env.BENCH_SYNTHETIC ?? 1_000_000);
const GPU = process.env.BENCH_GPU ?? 'L4';
const MODEL = process.env.BENCH_MODEL ?? 'Llama-3.1-8B';

const factory = modelReplicaFactory({ gpu: GPU, model: MODEL });
const pa = resolveSpec(
  generatedSpec('KPA', { metric: 'kv_cache_usage', target: 0.5, minReplicas: 1, maxReplicas: 400 }),
  'bench KPA spec',
);

async function replay(
  label: string,
  requests: readonly TraceRequest[],
  goalS: number,
  initialReplicas: number,
): Promise<void> {
  const t0 = performance.now();
  const r = await runSimulation({
    name: label,
    pa,
    requests,
    factory,
    coldStart: fixedColdStart(60_000),
    router: 'least-requests',
    initialReplicas,
  });
  const wall = (performance.now() - t0) / 1000;
  const simS = r.endMs / 1000;
  process.stdout.write(
    `${label}: ${requests.length} requests, ${simS.toFixed(0)} s simulated, peak ${r.peakReplicas} replicas, ` +
      `${r.ticks.length} ticks → wall ${wall.toFixed(2)} s, ${(requests.length / wall).toFixed(0)} req/s, ` +
      `${(simS / wall).toFixed(0)}× real time (goal < ${goalS} s: ${wall < goalS ? 'met' : 'MISSED'})\n`,
  );
}

process.stdout.write(`replica: ${MODEL} on ${factory.description.tp}x ${GPU}\n`);
if (existsSync(AZURE)) {
  const trace = readTrace(AZURE);
  await replay('azure-conv 1 h', trace.requests, 5, 10);
  const t0 = performance.now();
  const cap = replicaCapacity(
    { factory, sizes: trace.requests, slo: { ttftMs: 2000, itlMs: 100 }, goal: 0.99, seed: 2 },
    trace.requests.length / 3600,
  );
  process.stdout.write(
    `oracle capacity probes: ${cap.probes.length} probes (pool of ${cap.poolSize}) → ${cap.perReplicaRps?.toFixed(3)} req/s per replica, wall ${((performance.now() - t0) / 1000).toFixed(2)} s\n`,
  );
} else {
  process.stdout.write(`skipping the Azure replay: ${AZURE} not found (set BENCH_AZURE)\n`);
}

if (SYNTHETIC > 0) {
  const rate = 100;
  const g0 = performance.now();
  // A little longer than needed, then cut: exactly SYNTHETIC requests.
  const synthetic = generateSynthetic({
    shape: { kind: 'poisson', rate },
    durationS: (SYNTHETIC / rate) * 1.02,
    seed: 7,
  }).slice(0, SYNTHETIC);
  process.stdout.write(
    `generated ${synthetic.length} synthetic requests in ${((performance.now() - g0) / 1000).toFixed(2)} s\n`,
  );
  // Sized for the load from the start (about 0.6 req/s per L4 replica), as a cluster already serving it.
  await replay(`synthetic ${synthetic.length}`, synthetic, 60, Math.ceil(rate / 0.6));
}
