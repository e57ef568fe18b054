/**
 * `inferscale simulate`: replays a trace against a virtual cluster of simulated vLLM replicas while
 * the production scaling loop decides, for one or several PodAutoscaler specs on identical
 * arrivals; writes a JSON report and a self-contained HTML page with charts, and compares every run
 * with the perfect-foresight oracle. An OPTIMIZER spec runs as a model group: one pool per GPU type
 * behind one gateway, scaled by the production ModelGroupEngine.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { parseGoDuration } from '../../api/go-parse.js';
import { catalog } from '../../../simulator/model/hardware.js';
import {
  catalogColdStart,
  fixedColdStart,
  type ColdStartSampler,
} from '../../../simulator/cluster/coldstart.js';
import { GROUP_ROUTER_POLICIES, type GroupRouterPolicy } from '../../../simulator/cluster/group.js';
import { modelReplicaFactory } from '../../../simulator/cluster/model-adapter.js';
import { parseRouterPolicy, ROUTER_POLICIES } from '../../../simulator/cluster/router.js';
import {
  DEFAULT_METRIC,
  DEFAULT_TARGET,
  generatedSpec,
  parseStrategies,
  readSpecFile,
  resolveSpec,
  uniqueNames,
} from '../../../simulator/cluster/specs.js';
import {
  isOracle,
  runComparison,
  type SimulationReport,
  type SpecToRun,
} from '../../../simulator/report/compare.js';
import { prepareGroup } from '../../../simulator/report/group-setup.js';
import { renderHtml } from '../../../simulator/report/html.js';
import { loadHighsSolver } from '../../optimizer/highs.js';
import type { MilpSolver } from '../../../algorithms/optimizer/milp.js';
import { readTrace, scaleTime, TRACE_FORMATS, type TraceFormat } from '../../../simulator/traces/index.js';
import type { Rng } from '../../../simulator/traces/rng.js';

export const DEFAULT_TRACE = fileURLToPath(
  new URL('../../../simulator/data/azure-conv-30min.jsonl', import.meta.url),
);

export interface SimulateOptions {
  trace?: string;
  format?: string;
  default?: boolean;
  pa?: string[];
  algorithms?: string;
  metric: string;
  target: number;
  minReplicas: number;
  maxReplicas: number;
  gpu: string;
  model: string;
  tp?: number;
  maxModelLen?: number;
  gpuPrice?: number;
  coldStart: string;
  router: string;
  tick: number;
  sloTtft: number;
  sloItl: number;
  sloGoal: number;
  flapWindow: number;
  seed: number;
  verifyMetrics?: boolean;
  oracle: boolean;
  oracleSlot?: number;
  timeScale?: number;
  limit?: number;
  initialReplicas?: number;
  warmup: number;
  tail: number;
  out?: string;
  progress: boolean;
  /** Profile files/directories for OPTIMIZER specs (replaces their optimizer.profiles). */
  profiles?: string[];
  groupRouter: string;
}

/** Go-style duration (`2s`, `100ms`, `5m`) or a bare number of seconds → ms. */
export function durationMs(flag: string) {
  return (v: string): number => {
    const t = v.trim();
    if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
    const r = parseGoDuration(t);
    if (!r.ok || r.value.seconds < 0) {
      throw new InvalidArgumentError(
        `${flag}: "${v}" is not a duration; write e.g. 2s, 100ms, 5m or a number of seconds`,
      );
    }
    return r.value.seconds * 1000;
  };
}

function number(flag: string, check: (n: number) => boolean, what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !check(n))
      throw new InvalidArgumentError(`${flag} must be ${what}; got "${v}"`);
    return n;
  };
}
const positiveInt = (flag: string) => number(flag, (n) => Number.isInteger(n) && n >= 1, 'an integer >= 1');
const nonNegInt = (flag: string) => number(flag, (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0');
const positive = (flag: string) => number(flag, (n) => n > 0, 'a number > 0');

function coldStartFor(
  spec: string,
  deployment: Parameters<typeof catalogColdStart>[0],
): (rng: Rng) => ColdStartSampler {
  const s = spec.trim().toLowerCase();
  if (s === 'cached' || s === 'uncached') {
    const defaults = catalog().coldStartDefaults;
    return (rng) => catalogColdStart(deployment, defaults, s, rng);
  }
  const ms = durationMs('--cold-start')(spec);
  return () => fixedColdStart(ms);
}

function timestampDir(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
}

export interface SimulateOutcome {
  report: SimulationReport;
  jsonPath: string;
  htmlPath: string;
  summary: string;
}

/** The command's work, without process handling (tests call it). */
export async function runSimulate(opts: SimulateOptions): Promise<SimulateOutcome> {
  const tracePath = opts.trace ?? (opts.default ? DEFAULT_TRACE : undefined);
  if (tracePath === undefined) throw new Error('give --trace <file> (or --default for the bundled trace)');
  if (opts.format !== undefined && !TRACE_FORMATS.includes(opts.format as TraceFormat)) {
    throw new Error(
      `--format: unknown trace format "${opts.format}"; use one of ${TRACE_FORMATS.join(', ')}`,
    );
  }
  const trace = readTrace(tracePath, opts.format as TraceFormat | undefined, {
    onInvalid: 'skip',
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
  });
  const requests = opts.timeScale !== undefined ? scaleTime(trace.requests, opts.timeScale) : trace.requests;

  if (opts.minReplicas > opts.maxReplicas) {
    throw new Error(`--min-replicas ${opts.minReplicas} is above --max-replicas ${opts.maxReplicas}`);
  }
  if (!GROUP_ROUTER_POLICIES.includes(opts.groupRouter as GroupRouterPolicy)) {
    throw new Error(
      `--group-router: unknown policy "${opts.groupRouter}"; use one of ${GROUP_ROUTER_POLICIES.join(', ')}`,
    );
  }
  let solver: Promise<MilpSolver> | undefined;
  const loadSolver = (): Promise<MilpSolver> => (solver ??= loadHighsSolver().then((h) => h.solver));
  const specs: Omit<SpecToRun, 'name'>[] = [];
  for (const file of opts.pa ?? []) {
    for (const doc of readSpecFile(file)) {
      const pa = resolveSpec(doc.raw, doc.source);
      if (pa.strategy !== 'OPTIMIZER') {
        specs.push({ source: doc.source, raw: doc.raw, pa });
        continue;
      }
      const group = await prepareGroup({
        pa,
        source: doc.source,
        specFile: file,
        ...(opts.profiles !== undefined ? { profilePaths: opts.profiles } : {}),
        defaultModel: opts.model,
        ...(opts.maxModelLen !== undefined ? { maxModelLen: opts.maxModelLen } : {}),
        ...(opts.gpuPrice !== undefined ? { gpuPrice: { gpu: opts.gpu, usdPerGpuHour: opts.gpuPrice } } : {}),
        coldStart: (deployment) => coldStartFor(opts.coldStart, deployment),
        requests,
        // The same opening slot the single runs are sized for (the oracle's first slot).
        headMs: opts.oracleSlot ?? opts.tick,
        router: opts.groupRouter as GroupRouterPolicy,
        solver: loadSolver,
        ...(opts.initialReplicas !== undefined ? { initialReplicasFlag: opts.initialReplicas } : {}),
      });
      specs.push({ source: doc.source, raw: doc.raw, pa, group });
    }
  }
  const algorithms = opts.algorithms ?? (opts.default || specs.length === 0 ? 'kpa,apa,hpa' : undefined);
  if (algorithms !== undefined) {
    for (const s of parseStrategies(algorithms)) {
      const raw = generatedSpec(s, {
        metric: opts.metric,
        target: opts.target,
        minReplicas: opts.minReplicas,
        maxReplicas: opts.maxReplicas,
      });
      specs.push({
        source: `--algorithms ${s.toLowerCase()}`,
        raw,
        pa: resolveSpec(raw, `generated ${s} spec`),
      });
    }
  }

  const factory = modelReplicaFactory({
    gpu: opts.gpu,
    model: opts.model,
    replica: {
      ...(opts.tp !== undefined ? { tp: opts.tp } : {}),
      ...(opts.maxModelLen !== undefined ? { maxModelLen: opts.maxModelLen } : {}),
    },
    ...(opts.gpuPrice !== undefined ? { gpuPricePerHour: opts.gpuPrice } : {}),
  });
  const router = parseRouterPolicy(opts.router);
  const named = uniqueNames(specs);
  const span = requests.length > 0 ? requests[requests.length - 1]!.arrivalMs / 1000 : 0;

  let bar: cliProgress.SingleBar | undefined;
  if (opts.progress) {
    bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 2000,
        format: 'simulate [{bar}] {percentage}% | {run}',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(1, Math.ceil(span)) * named.length, 0, { run: named[0]?.name ?? '' });
  }
  let report: SimulationReport;
  try {
    report = await runComparison({
      trace: { name: tracePath, requests, skipped: trace.skipped, skippedErrors: trace.skippedErrors },
      specs: named,
      factory,
      coldStart: coldStartFor(opts.coldStart, factory.deployment),
      router,
      seed: opts.seed,
      tickMs: opts.tick,
      slo: { ttftMs: opts.sloTtft, itlMs: opts.sloItl },
      sloGoal: opts.sloGoal,
      flapWindowMs: opts.flapWindow,
      verifyMetrics: opts.verifyMetrics ?? false,
      oracle: opts.oracle,
      ...(opts.oracleSlot !== undefined ? { oracleSlotMs: opts.oracleSlot } : {}),
      ...(opts.initialReplicas !== undefined ? { initialReplicas: opts.initialReplicas } : {}),
      warmupMs: opts.warmup,
      tailMs: opts.tail,
      onRunStart: (i, name) => bar?.update(Math.ceil(span) * i, { run: name }),
      onProgress: (i, simMs) =>
        bar?.update(Math.ceil(span) * i + Math.min(Math.ceil(span), Math.floor(simMs / 1000))),
    });
    bar?.update(Math.ceil(span) * named.length, { run: 'done' });
  } finally {
    bar?.stop();
  }

  const dir = resolve(opts.out ?? join('reports', timestampDir()));
  mkdirSync(dir, { recursive: true });
  const jsonPath = join(dir, 'report.json');
  const htmlPath = join(dir, 'report.html');
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(htmlPath, await renderHtml(report));
  return { report, jsonPath, htmlPath, summary: formatSummary(report) };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function formatSummary(report: SimulationReport): string {
  const lines: string[] = [];
  const i = report.input;
  lines.push(
    `${i.trace.requests} requests over ${i.trace.durationS.toFixed(0)} s on ${i.deployment.model} / ${i.deployment.tp}x ${i.deployment.gpu}; ` +
      `SLO TTFT <= ${i.slo.ttftS} s, ITL <= ${i.slo.itlS * 1000} ms`,
  );
  const head = ['run', 'SLO ok', 'p99 TTFT', 'p99 ITL', 'replica-s', 'cost', '/oracle', 'scales', 'flaps'];
  const groups = report.runs.filter((r) => r.group !== undefined);
  const rows = report.runs.map((r) => {
    const m = r.summary;
    return [
      m.name,
      m.slo.attainment === null ? '-' : `${(m.slo.attainment * 100).toFixed(1)}%`,
      m.ttft.p99 === null ? '-' : `${m.ttft.p99.toFixed(2)} s`,
      m.itl.p99 === null ? '-' : `${(m.itl.p99 * 1000).toFixed(0)} ms`,
      m.replicaSeconds.toFixed(0),
      `$${m.costUsd.toFixed(2)}`,
      m.costVsOracle === null ? '-' : `${m.costVsOracle.toFixed(2)}x`,
      String(m.scaleEvents),
      String(m.flaps),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)) + 2);
  lines.push(
    head
      .map((h, c) => pad(h, widths[c]!))
      .join('')
      .trimEnd(),
  );
  for (const r of rows)
    lines.push(
      r
        .map((v, c) => pad(v, widths[c]!))
        .join('')
        .trimEnd(),
    );
  for (const r of groups) {
    const g = r.group!;
    lines.push(`${r.summary.name}: ${g.pools.length} GPU pools (${g.router} gateway), per pool:`);
    const poolRows = g.pools.map((p) => [
      `  ${p.gpu}`,
      `${p.requests} req`,
      p.attainment === null ? '-' : `${(p.attainment * 100).toFixed(1)}%`,
      p.ttft.p99 === null ? '-' : `${p.ttft.p99.toFixed(2)} s`,
      p.itl.p99 === null ? '-' : `${(p.itl.p99 * 1000).toFixed(0)} ms`,
      `${p.replicaSeconds.toFixed(0)}`,
      `$${p.costUsd.toFixed(2)}`,
      `mean ${p.meanReplicas === null ? '-' : p.meanReplicas.toFixed(2)}, peak ${p.peakReplicas}`,
      String(p.scaleEvents),
      String(p.flaps),
    ]);
    const w = poolRows[0]!.map((_, c) => Math.max(...poolRows.map((row) => row[c]!.length)) + 2);
    for (const row of poolRows)
      lines.push(
        row
          .map((v, c) => pad(v, w[c]!))
          .join('')
          .trimEnd(),
      );
    const outcomes = Object.entries(g.outcomes)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(`  ticks: ${outcomes}; started from ${g.initial}`);
    for (const n of g.notes) lines.push(`  note: ${n}`);
  }
  if (groups.length > 0)
    lines.push(
      `(group runs: totals over their pools; /oracle compares with the oracle of ${i.deployment.gpu} alone)`,
    );
  const o = report.oracle;
  lines.push(
    isOracle(o)
      ? `oracle: ${o.replicaSeconds.toFixed(0)} replica-s, $${o.costUsd.toFixed(2)} (capacity ${o.capacityRps} req/s per replica, ` +
          `peak ${o.peakReplicas}; replayed: ${o.replay.attainment === null ? '-' : `${(o.replay.attainment * 100).toFixed(1)}%`} within the SLO)`
      : `oracle: not computed (${o.skipped})`,
  );
  for (const r of report.runs) {
    if (r.verify)
      lines.push(
        `verify-metrics ${r.summary.name}: ${r.verify.comparisons} reads compared, ${r.verify.mismatches} mismatches`,
      );
  }
  if (i.trace.skipped > 0)
    lines.push(`trace: ${i.trace.skipped} invalid entries skipped (${i.trace.skippedErrors[0] ?? ''})`);
  return lines.join('\n');
}

export const command = new Command('simulate')
  .description(
    'Replay a trace against simulated vLLM replicas with the real scaling loop; compare autoscalers',
  )
  .option('--trace <file>', 'trace: Azure CSV, Mooncake JSONL, AIBrix workload JSONL or inferscale JSONL')
  .addOption(new Option('--format <format>', 'trace format (default: detected)').choices([...TRACE_FORMATS]))
  .option('--default', 'the bundled 30-minute Azure conversation slice, KPA vs APA vs HPA')
  .option(
    '--pa <file>',
    'PodAutoscaler YAML/JSON to run (repeatable; several documents per file allowed; an OPTIMIZER spec runs as a model group)',
    (v: string, prev: string[] = []) => [...prev, v],
  )
  .option('--algorithms <list>', 'generate default specs for these strategies, e.g. kpa,apa,hpa')
  .option(
    '--profiles <paths>',
    "GPU profiles for OPTIMIZER specs, comma-separated files/directories (default: each spec's optimizer.profiles)",
    (v: string, prev: string[] = []) => [
      ...prev,
      ...v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    ],
  )
  .addOption(
    new Option('--group-router <policy>', "how an OPTIMIZER spec's gateway picks a GPU pool")
      .choices([...GROUP_ROUTER_POLICIES])
      .default('plan'),
  )
  .option('--metric <name>', 'targetMetric of generated specs', DEFAULT_METRIC)
  .option('--target <value>', 'per-pod target of generated specs', positive('--target'), DEFAULT_TARGET)
  .option('--min-replicas <n>', 'minReplicas of generated specs', nonNegInt('--min-replicas'), 1)
  .option('--max-replicas <n>', 'maxReplicas of generated specs', positiveInt('--max-replicas'), 32)
  .option('--gpu <name>', 'GPU from config/gpus.yaml (single-pool runs and the oracle)', 'L4')
  .option('--model <name>', 'model from config/models.yaml', 'Llama-3.1-8B')
  .option('--tp <n>', 'tensor-parallel degree (default: smallest that fits)', positiveInt('--tp'))
  .option('--max-model-len <n>', 'vLLM --max-model-len', positiveInt('--max-model-len'))
  .option(
    '--gpu-price <usd>',
    "USD per GPU-hour of --gpu, also for a model group's pool of that GPU (default: config/gpus.yaml)",
    positive('--gpu-price'),
  )
  .option(
    '--cold-start <spec>',
    'cached | uncached (catalogue phases, log-normal) | a fixed duration like 60s',
    'cached',
  )
  .option('--router <policy>', `gateway policy: ${ROUTER_POLICIES.join(', ')}`, 'least-requests')
  .option('--tick <duration>', 'autoscaler period', durationMs('--tick'), 15_000)
  .option('--slo-ttft <duration>', 'time-to-first-token threshold', durationMs('--slo-ttft'), 2_000)
  .option(
    '--slo-itl <duration>',
    'mean inter-token latency threshold per request',
    durationMs('--slo-itl'),
    100,
  )
  .option(
    '--slo-goal <fraction>',
    'share of requests the oracle must keep within the SLO',
    number('--slo-goal', (n) => n > 0 && n <= 1, 'in (0, 1]'),
    0.99,
  )
  .option(
    '--flap-window <duration>',
    'scale direction reversals within this count as flaps',
    durationMs('--flap-window'),
    300_000,
  )
  .option('--seed <n>', 'random seed (cold starts, capacity probes)', nonNegInt('--seed'), 1)
  .option(
    '--verify-metrics',
    "also read every signal through each replica's rendered /metrics page and the production parser; report mismatches",
  )
  .option('--no-oracle', 'skip the oracle (and its capacity probes)')
  .option('--oracle-slot <duration>', 'oracle time slot (default: the tick)', durationMs('--oracle-slot'))
  .option('--time-scale <factor>', 'multiply arrival times (0.5 = twice the rate)', positive('--time-scale'))
  .option('--limit <n>', 'only the first n requests', positiveInt('--limit'))
  .option(
    '--initial-replicas <n>',
    "ready replicas at time 0 (default: the oracle's need for the first slot)",
    nonNegInt('--initial-replicas'),
  )
  .option(
    '--warmup <duration>',
    "the autoscaler's first tick (the cluster keeps its initial size until then)",
    durationMs('--warmup'),
    60_000,
  )
  .option(
    '--tail <duration>',
    'keep simulating this long after the last arrival (watch the scale-down)',
    durationMs('--tail'),
    0,
  )
  .option('--out <dir>', 'report directory (default reports/<timestamp>)')
  .option('--no-progress', 'no progress bar on stderr')
  .addHelpText(
    'after',
    `
Examples:
  inferscale simulate --default
  inferscale simulate --trace trace.csv --algorithms kpa,hpa --metric kv_cache_usage --target 0.6
  inferscale simulate --trace workload.jsonl --pa my-kpa.yaml --pa my-apa.yaml --slo-ttft 1s --slo-itl 50ms
  inferscale simulate --default --gpu H100 --pa config/samples/optimizer.yaml   # a model group vs KPA/APA/HPA
Writes <out>/report.json and <out>/report.html; prints a summary and both paths. See docs/simulator.md.`,
  )
  .action(async (opts: SimulateOptions) => {
    const started = performance.now();
    const out = await runSimulate(opts);
    for (const r of out.report.runs)
      for (const w of r.warnings ?? []) process.stderr.write(`warning: ${r.summary.name}: ${w}\n`);
    process.stdout.write(`${out.summary}\n`);
    process.stdout.write(`report: ${out.jsonPath}\n        ${out.htmlPath}\n`);
    process.stderr.write(`simulated in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  });
