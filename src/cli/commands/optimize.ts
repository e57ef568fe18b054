/**
 * `inferscale optimize`: offline capacity planning. Given GPU profiles and a workload, prints the
 * cheapest GPU mix that meets the profiles' SLO, its cost per hour and where each bucket goes.
 * AIBrix offers this only inside its running GPU optimizer; here it is a command.
 */
import { Command, Option } from 'commander';
import type { Grid, Rounding } from '../../../algorithms/optimizer/grid.js';
import type { OptimizeResult, Plan } from '../../../algorithms/optimizer/optimize.js';
import { optimize } from '../../../algorithms/optimizer/optimize.js';
import type { GpuOption, OptimizeOptionsInput } from '../../../algorithms/optimizer/problem.js';
import { melangeGrid, type Profile } from '../../../algorithms/optimizer/profile.js';
import {
  scaleWorkload,
  workloadFromDistribution,
  workloadFromMatrix,
  workloadFromRequests,
  type LoadEstimate,
  type RateWindow,
} from '../../../algorithms/optimizer/workload.js';
import { loadHighsSolver } from '../../optimizer/highs.js';
import { readProfiles } from '../../optimizer/profiles.js';
import { readTrace } from '../../../simulator/traces/readers.js';
import { loadFromWorkloadFile, readWorkloadFile } from '../../optimizer/workload-file.js';

export interface OptimizeCliOptions {
  profiles: string[];
  model?: string;
  trace?: string;
  window?: number;
  workload?: string;
  cell?: string[];
  rate?: number;
  gpus?: string[];
  price?: string[];
  min?: string[];
  max?: string[];
  available?: string[];
  headroom: number;
  sliceFactor?: string;
  unitsPerReplica: number;
  rounding: Rounding;
  timeLimit: number;
  /** Relative optimality gap the search may stop at (mipRelGap); 0 or absent: proven optimum. */
  gap?: number;
  compare: boolean;
  json: boolean;
}

export interface OptimizeRun {
  exitCode: number;
  output: string;
}

/** Exit codes: 0 plan found, 2 typed non-plan result (no profile/data, infeasible, solver failure). */
export async function runOptimize(opts: OptimizeCliOptions): Promise<OptimizeRun> {
  const doc = await readProfiles(opts.profiles, opts.model !== undefined ? { model: opts.model } : {});
  const profiles = selectProfiles(doc.profiles, opts);
  const names = profiles.map((p) => p.gpu);
  const prices = pairs(opts.price, 'price', names, false);
  const mins = pairs(opts.min, 'min', names, true);
  const maxs = pairs(opts.max, 'max', names, true);
  const avail = pairs(opts.available, 'available', names, true);
  const gpus: GpuOption[] = profiles.map((p) => ({
    name: p.gpu,
    profile: p,
    minReplicas: mins.get(p.gpu),
    maxReplicas: maxs.get(p.gpu),
    availableGpus: avail.get(p.gpu),
    costPerHour: prices.get(p.gpu),
  }));

  const useMelangeWorkload = doc.melange !== undefined && !opts.trace && !opts.workload && !opts.cell;
  const grid = useMelangeWorkload && doc.melange ? melangeGrid(doc.melange) : unionGrid(profiles);
  let load = await buildLoad(opts, grid, useMelangeWorkload ? doc.melange : undefined);
  if (load.kind === 'ok' && opts.rate !== undefined && !opts.cell?.length) {
    if (!(load.workload.totalRps > 0)) {
      throw new Error(
        '--rate rescales the workload shape, but the workload has no requests to take a shape from',
      );
    }
    load = {
      ...load,
      workload: scaleWorkload(load.workload, opts.rate / load.workload.totalRps),
      notes: [...load.notes, `rate rescaled to ${opts.rate} req/s`],
    };
  }

  const sliceFactor = parseSliceFactor(
    opts.sliceFactor,
    useMelangeWorkload ? doc.melange?.slice_factor : undefined,
  );
  const options: OptimizeOptionsInput = {
    sliceFactor,
    headroom: opts.headroom,
    unitsPerReplica: opts.unitsPerReplica,
    timeLimitSeconds: opts.timeLimit,
    mipRelGap: opts.gap ?? 0,
  };

  const highs = await loadHighsSolver();
  const model = profiles[0]?.model;
  const result = optimize({ model, gpus, load, options }, highs.solver);
  const alternatives =
    opts.compare && result.kind === 'plan' && gpus.length > 1
      ? gpus.map((g) => ({
          gpu: g.name,
          result: optimize({ model, gpus: [g], load, options }, highs.solver),
        }))
      : [];

  const currency = currencyOf(profiles, prices);
  const exitCode = result.kind === 'plan' ? 0 : 2;
  if (opts.json) {
    const json = {
      model,
      currency,
      result,
      alternatives: alternatives.map((a) =>
        a.result.kind === 'plan'
          ? {
              gpu: a.gpu,
              kind: 'plan',
              costPerHour: a.result.plan.costPerHour,
              replicas: a.result.plan.gpus[0]?.replicas,
            }
          : { gpu: a.gpu, kind: a.result.kind, message: a.result.message },
      ),
      workload:
        load.kind === 'ok'
          ? { totalRps: load.workload.totalRps, clampedRps: load.workload.clampedRps }
          : null,
      solver: { name: 'highs', version: highs.version, initMs: round(highs.initMs, 1) },
    };
    return { exitCode, output: JSON.stringify(json, null, 2) + '\n' };
  }
  return {
    exitCode,
    output: renderTable(model ?? 'unknown', currency, result, alternatives, opts),
  };
}

function parseSliceFactor(
  flag: string | undefined,
  fromConfig: number | undefined,
): OptimizeOptionsInput['sliceFactor'] {
  if (flag === undefined) return fromConfig ?? 4;
  if (flag === 'continuous') return 'continuous';
  const n = Number(flag);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new Error(`--slice-factor ${flag}: expected a whole number 1..64 or "continuous"`);
  }
  return n;
}

function selectProfiles(all: readonly Profile[], opts: OptimizeCliOptions): Profile[] {
  if (all.length === 0) throw new Error(`no profiles found in ${opts.profiles.join(', ')}`);
  let profiles = opts.model !== undefined ? all.filter((p) => p.model === opts.model) : [...all];
  if (profiles.length === 0) {
    const models = [...new Set(all.map((p) => p.model))];
    throw new Error(`no profile for model ${opts.model}; the profiles cover: ${models.join(', ')}`);
  }
  const models = [...new Set(profiles.map((p) => p.model))];
  if (models.length > 1) {
    throw new Error(`profiles cover several models (${models.join(', ')}); pick one with --model`);
  }
  if (opts.gpus !== undefined && opts.gpus.length > 0) {
    const wanted = new Set(opts.gpus);
    const known = new Set(profiles.map((p) => p.gpu));
    const unknown = opts.gpus.filter((g) => !known.has(g));
    if (unknown.length > 0) {
      throw new Error(
        `--gpus names ${unknown.join(', ')}, which have no profile; known: ${[...known].join(', ')}`,
      );
    }
    profiles = profiles.filter((p) => wanted.has(p.gpu));
  }
  const seen = new Map<string, Profile>();
  for (const p of profiles) {
    if (seen.has(p.gpu)) throw new Error(`two profiles for GPU type ${p.gpu} and model ${p.model}; keep one`);
    seen.set(p.gpu, p);
  }
  return profiles;
}

/** `A100=3` pairs; `whole` requires non-negative integers. */
function pairs(
  list: string[] | undefined,
  flag: string,
  names: readonly string[],
  whole: boolean,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of list ?? []) {
    const eq = item.lastIndexOf('=');
    const name = item.slice(0, eq);
    const value = Number(item.slice(eq + 1));
    if (
      eq <= 0 ||
      item.slice(eq + 1).trim() === '' ||
      !Number.isFinite(value) ||
      value < 0 ||
      (whole && !Number.isInteger(value))
    ) {
      throw new Error(`--${flag} ${item}: expected GPU=${whole ? 'a whole number' : 'a number'} ≥ 0`);
    }
    if (!names.includes(name))
      throw new Error(`--${flag} ${item}: no profile for GPU type ${name} (known: ${names.join(', ')})`);
    out.set(name, value);
  }
  return out;
}

function unionGrid(profiles: readonly Profile[]): Grid {
  const input = [...new Set(profiles.flatMap((p) => p.grid.input))].sort((a, b) => a - b);
  const output = [...new Set(profiles.flatMap((p) => p.grid.output))].sort((a, b) => a - b);
  return { input, output };
}

async function buildLoad(
  opts: OptimizeCliOptions,
  grid: Grid,
  melange: { workload_distribution: number[][]; total_request_rate: number } | undefined,
): Promise<LoadEstimate> {
  const sources = [opts.trace, opts.workload, opts.cell?.length ? 'cell' : undefined].filter(
    (s) => s !== undefined,
  );
  if (sources.length > 1) throw new Error('give one workload: --trace, --workload or --cell');
  if (opts.trace !== undefined) {
    const log = readTrace(opts.trace);
    const window: RateWindow =
      opts.window !== undefined ? { kind: 'peak', seconds: opts.window } : { kind: 'mean' };
    const load = workloadFromRequests(log.requests, grid, { rounding: opts.rounding, window });
    if (load.kind === 'ok') {
      load.notes.unshift(`${log.requests.length} requests read from ${opts.trace} (${log.format} format)`);
    }
    return load;
  }
  if (opts.workload !== undefined) {
    return loadFromWorkloadFile(await readWorkloadFile(opts.workload), grid, opts.rounding);
  }
  if (opts.cell !== undefined && opts.cell.length > 0) {
    if (opts.rate === undefined) throw new Error('--cell needs --rate (total req/s)');
    const cells = opts.cell.map((c) => {
      const parts = c.split(':').map(Number);
      if (parts.length < 2 || parts.length > 3 || parts.some((v) => !Number.isFinite(v) || v <= 0)) {
        throw new Error(
          `--cell ${c}: expected INPUT:OUTPUT[:WEIGHT] with positive numbers, e.g. 1024:128:0.7`,
        );
      }
      return { input: parts[0] as number, output: parts[1] as number, weight: parts[2] ?? 1 };
    });
    return workloadFromDistribution(cells, opts.rate, grid, opts.rounding);
  }
  if (melange !== undefined)
    return workloadFromMatrix(melange.workload_distribution, melange.total_request_rate, grid);
  throw new Error('no workload: give --trace FILE, --workload FILE, or --cell IN:OUT --rate RPS');
}

/** `--price` is in USD; a profile's own price is in its currency. */
function currencyOf(profiles: readonly Profile[], prices: ReadonlyMap<string, number>): string {
  const set = new Set(profiles.map((p) => (prices.has(p.gpu) ? 'USD' : p.currency)));
  return set.size === 1 ? ([...set][0] as string) : 'mixed units';
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function fmt(v: number, digits = 2): string {
  return v.toFixed(digits);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map(
      (r) =>
        '  ' +
        r
          .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
          .join('  '),
    )
    .join('\n');
}

function renderTable(
  model: string,
  currency: string,
  result: OptimizeResult,
  alternatives: Array<{ gpu: string; result: OptimizeResult }>,
  opts: Pick<OptimizeCliOptions, 'unitsPerReplica' | 'headroom'>,
): string {
  const unitsPerReplica = opts.unitsPerReplica;
  const lines: string[] = [];
  if (result.kind !== 'plan') {
    lines.push(`No plan for ${model}: ${result.kind}${'reason' in result ? ` (${result.reason})` : ''}`);
    lines.push(`  ${result.message}`);
    if (result.kind === 'infeasible' && result.buckets) {
      lines.push(
        table([
          ['input', 'output', 'req/s'],
          ...result.buckets.map((b) => [`${b.input}`, `${b.output}`, fmt(b.rps, 3)]),
        ]),
      );
    }
    if (result.kind === 'solver-failed' && result.violations)
      lines.push(...result.violations.map((v) => `  - ${v}`));
    return lines.join('\n') + '\n';
  }
  const plan: Plan = result.plan;
  const unit = currency === 'USD' ? '$' : '';
  const suffix = currency === 'USD' ? '' : ` ${currency}`;
  lines.push(
    `Cheapest GPU mix for ${model} at ${fmt(plan.totalRps, 3)} req/s` +
      (opts.headroom > 0 ? ` + ${fmt(opts.headroom * 100, 0)}% headroom` : '') +
      `: ${unit}${fmt(plan.costPerHour, 4)}${suffix} per hour` +
      (plan.proven && plan.gap === 0
        ? ' (proven optimal'
        : `${plan.proven ? ' (within the requested gap' : ' (best found, not proven optimal'}: at most ${fmt(plan.gap * 100, 2)}% above the proven lower bound ${unit}${fmt(plan.lowerBound, 4)}${suffix}`) +
      (plan.solverRunTimeSeconds !== null
        ? `, solved in ${fmt(plan.solverRunTimeSeconds * 1000, 1)} ms)`
        : ')'),
  );
  lines.push('');
  const header = [
    'GPU',
    'replicas',
    ...(unitsPerReplica > 1 ? ['units'] : []),
    'cost/h',
    'load',
    'util',
    'bounds',
  ];
  lines.push(
    table([
      header,
      ...plan.gpus.map((g) => [
        g.gpu,
        `${g.replicas}`,
        ...(unitsPerReplica > 1 ? [`${g.units}`] : []),
        fmt(g.costPerHour, 4),
        fmt(g.load, 3),
        g.utilisation === null ? '-' : `${fmt(g.utilisation * 100, 0)}%`,
        `${g.minReplicas}..${g.maxReplicas ?? '∞'}`,
      ]),
    ]),
  );
  lines.push('');
  lines.push('Bucket assignment:');
  lines.push(
    table([
      ['input', 'output', 'req/s', 'served by'],
      ...plan.buckets.map((b) => [
        `${b.input}`,
        `${b.output}`,
        fmt(b.rps, 3),
        b.shares.map((s) => `${s.gpu} ${fmt(s.share * 100, 0)}%`).join(', '),
      ]),
    ]),
  );
  if (alternatives.length > 0) {
    lines.push('');
    lines.push('Single-GPU-type alternatives:');
    lines.push(
      table([
        ['GPU', 'replicas', 'cost/h', 'vs mix'],
        ...alternatives.map((a) =>
          a.result.kind === 'plan'
            ? [
                a.gpu,
                `${a.result.plan.gpus[0]?.replicas ?? 0}`,
                fmt(a.result.plan.costPerHour, 4),
                a.result.plan.costPerHour > 0
                  ? `${fmt((1 - plan.costPerHour / a.result.plan.costPerHour) * 100, 1)}% saved`
                  : '-',
              ]
            : [a.gpu, '-', '-', `${a.result.kind}${'reason' in a.result ? ` (${a.result.reason})` : ''}`],
        ),
      ]),
    );
  }
  const notes = [
    ...result.notes,
    ...(result.unprofiled.length ? [`unprofiled: ${result.unprofiled.join(', ')}`] : []),
  ];
  if (notes.length > 0) {
    lines.push('');
    lines.push('Notes:');
    lines.push(...notes.map((n) => `  - ${n}`));
  }
  return lines.join('\n') + '\n';
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function wholeNumber(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`${flag} ${value}: expected a whole number ≥ ${min}`);
    return n;
  };
}

function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} ${value}: expected a number ≥ 0`);
    return n;
  };
}

function fraction(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > 1)
      throw new Error(`${flag} ${value}: expected a number in [0, 1]`);
    return n;
  };
}

export const command = new Command('optimize')
  .description("Cheapest GPU mix that serves a workload within the profiles' SLO (capacity planning)")
  .option(
    '-p, --profiles <path...>',
    'profile files or directories (inferscale, AIBrix or Mélange config format)',
    ['config/profiles'],
  )
  .option('-m, --model <name>', 'model to plan for (also names the model of AIBrix/Mélange files)')
  .option(
    '--trace <file>',
    'request log: inferscale JSONL {"t"(s),"input","output"}, AIBrix/Mooncake JSONL, Azure CSV',
  )
  .option(
    '--window <seconds>',
    'with --trace: size for the busiest window of this length (default: mean rate)',
    positiveNumber('--window'),
  )
  .option(
    '--workload <file>',
    'workload file: {totalRps, cells:[{input,output,weight}]} or {windowSeconds, pods:[…]} (JSON/YAML)',
  )
  .option('--cell <in:out[:weight]>', 'a workload cell (repeatable); needs --rate', collect)
  .option(
    '--rate <rps>',
    'total request rate (rescales --trace/--workload, required with --cell)',
    positiveNumber('--rate'),
  )
  .option('--gpus <names...>', 'only consider these GPU types')
  .option('--price <gpu=usd>', "override a GPU type's price per replica-hour (repeatable)", collect)
  .option('--min <gpu=n>', 'minimum replicas of a GPU type (repeatable)', collect)
  .option('--max <gpu=n>', 'maximum replicas of a GPU type (repeatable)', collect)
  .option('--available <gpu=n>', 'GPUs of a type that can be had (repeatable)', collect)
  .option('--headroom <fraction>', 'plan for rate × (1 + headroom)', positiveNumber('--headroom'), 0)
  .option('--slice-factor <n|continuous>', "slices per bucket (default 4, or the Mélange config's)")
  .option(
    '--units-per-replica <n>',
    'capacity units per replica (AIBrix plans in 100ths)',
    wholeNumber('--units-per-replica', 1),
    1,
  )
  .addOption(
    new Option('--rounding <mode>', 'length → bucket rule').choices(['nearest', 'up']).default('nearest'),
  )
  .option('--time-limit <seconds>', 'solver time budget', positiveNumber('--time-limit'), 10)
  .option(
    '--gap <fraction>',
    'stop once the plan is proven within this fraction of the cheapest (0 = proven optimum)',
    fraction('--gap'),
    0,
  )
  .option('--no-compare', 'skip the single-GPU-type alternatives')
  .option('--json', 'print the typed result as JSON', false)
  .action(async (opts: OptimizeCliOptions) => {
    const run = await runOptimize(opts);
    process.stdout.write(run.output);
    process.exitCode = run.exitCode;
  });
