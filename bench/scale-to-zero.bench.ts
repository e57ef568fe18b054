/**
 * Scale to zero against one replica kept warm: `npx tsx bench/scale-to-zero.bench.ts`.
 *
 * An on/off workload (Poisson at `BENCH_RATE` req/s, Azure-conversation sizes, 20 minutes on and
 * 40 minutes off, three bursts: 2 h 20 min) replayed with config/samples/scale-to-zero.yaml (KPA
 * on KV usage, woken from zero by the gateway's pending requests) and the same spec with
 * scale-to-zero off and minReplicas 1. Llama-3.1-8B on `BENCH_GPU` (L4), catalogue cold starts.
 * Prints the report's summary and, per run, when it reached zero and how the requests queued at
 * zero fared. Figures in docs/simulator.md ("Scale to zero").
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { catalogColdStart } from '../simulator/cluster/coldstart.js';
import { modelReplicaFactory } from '../simulator/cluster/model-adapter.js';
import { resolveSpec } from '../simulator/cluster/specs.js';
import { runComparison } from '../simulator/report/compare.js';
import { catalog } from '../simulator/model/hardware.js';
import { generateSynthetic } from '../simulator/traces/index.js';
import { formatSummary } from '../src/cli/commands/simulate.js';

const RATE = Number(process.env.BENCH_RATE ?? 1.5);
const GPU = process.env.BENCH_GPU ?? 'L4';
const ON_S = 1200;
const OFF_S = 2400;

const rates = [0, 1, 2].flatMap((k) => [
  { atS: k * (ON_S + OFF_S), rate: RATE },
  { atS: k * (ON_S + OFF_S) + ON_S, rate: 0 },
]);
const requests = generateSynthetic({
  shape: { kind: 'step', rates: rates.slice(0, -1) },
  durationS: 2 * (ON_S + OFF_S) + ON_S,
  seed: 1,
});

const raw = parse(readFileSync('config/samples/scale-to-zero.yaml', 'utf8')) as {
  metadata: { name: string };
  spec: Record<string, unknown>;
};
const warm = structuredClone(raw);
warm.metadata.name = 'llama-8b-min-1';
warm.spec.minReplicas = 1;
delete warm.spec.scaleToZero;

const factory = modelReplicaFactory({ gpu: GPU, model: 'Llama-3.1-8B' });
const t0 = performance.now();
const report = await runComparison({
  trace: { name: `on/off ${RATE} req/s, ${ON_S / 60} min on, ${OFF_S / 60} min off`, requests },
  specs: [
    { name: 'scale-to-zero (KPA)', source: 'sample', raw, pa: resolveSpec(raw, 'sample') },
    { name: 'min 1 (KPA)', source: 'sample, minReplicas 1', raw: warm, pa: resolveSpec(warm, 'min 1') },
  ],
  factory,
  coldStart: (rng) => catalogColdStart(factory.deployment, catalog().coldStartDefaults, 'cached', rng),
  router: 'least-requests',
  seed: 1,
  tickMs: 15_000,
  slo: { ttftMs: 2000, itlMs: 100 },
  tailMs: 1_800_000,
});
process.stdout.write(`${formatSummary(report)}\n`);
for (const r of report.runs) {
  const zeroAt = r.scaleEvents.filter((e) => e.to === 0).map((e) => `${(e.timeMs / 1000).toFixed(0)} s`);
  const wakes = r.scaleEvents.filter((e) => e.from === 0).map((e) => `${(e.timeMs / 1000).toFixed(0)} s`);
  process.stdout.write(
    `${r.summary.name}: to zero at ${zeroAt.join(', ') || 'never'}; woken at ${wakes.join(', ') || 'never'}; ` +
      `peak gateway queue ${r.summary.peakGatewayQueue}; mean replicas ${r.summary.meanReplicas}\n`,
  );
  for (const w of r.warnings ?? []) process.stdout.write(`  warning: ${w}\n`);
}
process.stdout.write(`wall ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
