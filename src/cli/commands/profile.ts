/**
 * `inferscale profile`: measures GPU profiles for the optimizer on the simulator's vLLM replica
 * model: per (input, output) cell of a log2 grid, the highest request rate one replica sustains
 * within the SLO (src/optimizer/measure.ts). Writes our profile format, one file per GPU type.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { GridSchema, log2Ticks, type Grid } from '../../../algorithms/optimizer/grid.js';
import { SloSchema, type Profile, type Slo, type SloTarget } from '../../../algorithms/optimizer/profile.js';
import {
  gpuSpec,
  modelSpec,
  replicaPricePerHour,
  resolveDeployment,
} from '../../../simulator/model/hardware.js';
import { simulatorMeasure, type CellMeasurement, type SimMeasureOptions } from '../../optimizer/measure.js';
import { buildProfile } from '../../optimizer/profile-builder.js';
import { describeZodError } from '../../api/issues.js';
import { writeProfile } from '../../optimizer/profiles.js';

/** Defaults of the checked-in profiles (docs/optimizer.md, "Measuring profiles"). */
export const DEFAULT_INPUT_TICKS = log2Ticks(128, 8192);
export const DEFAULT_OUTPUT_TICKS = log2Ticks(16, 1024);
export const DEFAULT_PERCENTILE = 90;

export interface ProfileCliOptions {
  gpu: string[];
  model: string;
  sloTtft?: string;
  sloItl?: string;
  sloE2e?: string;
  percentile: string;
  input?: string;
  output?: string;
  duration?: number;
  minRequests?: number;
  maxRequests?: number;
  tolerance?: number;
  seed?: number;
  repeats?: number;
  tp?: number;
  maxModelLen?: number;
  price?: number;
  out?: string;
  json: boolean;
  quiet: boolean;
}

export interface ProfileRun {
  profiles: Array<{ profile: Profile; path: string | undefined; seconds: number; trials: number }>;
  output: string;
}

/** `1`, `0.5@p99`, `2@mean`: seconds, optionally with the statistic. */
export function parseSloTarget(flag: string, text: string, percentile: SloTarget['percentile']): SloTarget {
  const m =
    /^\s*([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(ms|s)?\s*(?:@\s*(p([0-9]+(?:\.[0-9]+)?)|mean))?\s*$/i.exec(text);
  if (!m) {
    throw new Error(`${flag} ${text}: expected SECONDS[@pNN|@mean], e.g. 1, 0.1@p99, 250ms@mean`);
  }
  const seconds = Number(m[1]) / (m[2]?.toLowerCase() === 'ms' ? 1000 : 1);
  let p: SloTarget['percentile'] = percentile;
  if (m[3] !== undefined) p = m[3].toLowerCase() === 'mean' ? 'mean' : Number(m[4]);
  if (!(seconds > 0)) throw new Error(`${flag} ${text}: the bound must be > 0`);
  if (p !== 'mean' && !(p > 0 && p <= 100))
    throw new Error(`${flag} ${text}: percentile must be in (0, 100]`);
  return { seconds, percentile: p };
}

export function parsePercentile(text: string): SloTarget['percentile'] {
  if (text.trim().toLowerCase() === 'mean') return 'mean';
  const p = Number(text.replace(/^p/i, ''));
  if (!(p > 0 && p <= 100)) throw new Error(`--percentile ${text}: expected a number in (0, 100] or "mean"`);
  return p;
}

/** `128,256,512` or `128:8192` (powers of two between). */
export function parseTicks(flag: string, text: string): number[] {
  const range = /^\s*([0-9]+)\s*:\s*([0-9]+)\s*$/.exec(text);
  const ticks = range
    ? log2Ticks(Number(range[1]), Number(range[2]))
    : text.split(',').map((s) => Number(s.trim()));
  if (ticks.some((t) => !Number.isInteger(t) || t < 1)) {
    throw new Error(`${flag} ${text}: expected whole token counts, e.g. 128,256,512 or 128:8192`);
  }
  return ticks;
}

export function buildSlo(opts: Pick<ProfileCliOptions, 'sloTtft' | 'sloItl' | 'sloE2e' | 'percentile'>): Slo {
  const p = parsePercentile(opts.percentile);
  const slo: Slo = {};
  if (opts.sloTtft !== undefined) slo.ttft = parseSloTarget('--slo-ttft', opts.sloTtft, p);
  if (opts.sloItl !== undefined) slo.itl = parseSloTarget('--slo-itl', opts.sloItl, p);
  if (opts.sloE2e !== undefined) slo.e2e = parseSloTarget('--slo-e2e', opts.sloE2e, p);
  const parsed = SloSchema.safeParse(slo);
  if (!parsed.success) {
    throw new Error(
      `no SLO: give at least one of --slo-ttft, --slo-itl, --slo-e2e (${describeZodError(parsed.error)})`,
    );
  }
  return parsed.data;
}

/** `config/profiles/llama-3.1-8b-a100-80gb.yaml`. */
export function profileFileName(model: string, gpu: string): string {
  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9.]+/g, '-')
      .replace(/^-+|-+$/g, '');
  return `${slug(model)}-${slug(gpu)}.yaml`;
}

export async function runProfile(
  opts: ProfileCliOptions,
  now: () => Date = () => new Date(),
): Promise<ProfileRun> {
  if (opts.gpu.length === 0)
    throw new Error('--gpu: name at least one GPU type (e.g. --gpu A10G --gpu H100)');
  const slo = buildSlo(opts);
  const gridParsed = GridSchema.safeParse({
    input: opts.input !== undefined ? parseTicks('--input', opts.input) : DEFAULT_INPUT_TICKS,
    output: opts.output !== undefined ? parseTicks('--output', opts.output) : DEFAULT_OUTPUT_TICKS,
  });
  if (!gridParsed.success) throw new Error(`grid: ${describeZodError(gridParsed.error)}`);
  const grid: Grid = gridParsed.data;
  const model = modelSpec(opts.model);
  const measureOptions: SimMeasureOptions = {
    durationS: opts.duration,
    minRequests: opts.minRequests,
    maxRequests: opts.maxRequests,
    tolerance: opts.tolerance,
    seed: opts.seed,
    repeats: opts.repeats,
    replica: {
      ...(opts.tp !== undefined ? { tp: opts.tp } : {}),
      ...(opts.maxModelLen !== undefined ? { maxModelLen: opts.maxModelLen } : {}),
    },
  };
  const gpus = opts.gpu.flatMap((g) => g.split(',')).map((g) => gpuSpec(g.trim()));
  const many = gpus.length > 1;
  if (many && opts.out !== undefined && /\.(ya?ml|json)$/i.test(opts.out)) {
    throw new Error(`--out ${opts.out}: with several GPU types, --out must be a directory`);
  }
  // A path ending in .yaml/.yml/.json is a file; anything else is a directory.
  const outDir =
    opts.out === undefined ? 'config/profiles' : /\.(ya?ml|json)$/i.test(opts.out) ? undefined : opts.out;

  const progress = !opts.quiet && !opts.json && process.stderr.isTTY === true;
  const log = (line: string) => {
    if (!opts.quiet && !opts.json) process.stderr.write(line);
  };
  const run: ProfileRun = { profiles: [], output: '' };
  const lines: string[] = [];
  for (const gpu of gpus) {
    const deployment = resolveDeployment(gpu, model, measureOptions.replica);
    const price = opts.price ?? replicaPricePerHour(deployment);
    if (price === undefined) {
      throw new Error(
        `config/gpus.yaml has no price for ${gpu.name}; give one with --price <usd-per-replica-hour>`,
      );
    }
    let trials = 0;
    const notes: string[] = [];
    const started = performance.now();
    const measure = simulatorMeasure(measureOptions, (m: CellMeasurement) => {
      trials += m.trials.length;
      if (m.note !== undefined) notes.push(`in ${m.input} / out ${m.output}: ${m.note}`);
    });
    const profile = await buildProfile({
      gpu: gpu.name,
      model: model.name,
      costPerHour: price,
      currency: 'USD',
      gpusPerReplica: deployment.tp,
      slo,
      grid,
      measureMaxRate: measure,
      source:
        `inferscale profile: simulator replica model (vLLM V1 roofline, config/gpus.yaml), TP ${deployment.tp}, ` +
        `Poisson trials of ${measureOptions.durationS ?? 60} s (${measureOptions.minRequests ?? 150}–${measureOptions.maxRequests ?? 4000} requests), ` +
        `median of ${measureOptions.repeats ?? 3} seeds from ${measureOptions.seed ?? 1}, tolerance ${measureOptions.tolerance ?? 0.05}; ` +
        `price ${gpu.price ? `${gpu.price.provider} ${gpu.price.date}` : 'given with --price'}`,
      measuredAt: now(),
      onCell: (done, total) => {
        if (progress) log(`\r${gpu.name}: ${done}/${total} cells`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    log(
      `\r${gpu.name}: ${grid.input.length * grid.output.length} cells, ${trials} trials, ${seconds.toFixed(1)} s\n`,
    );
    let path: string | undefined;
    if (outDir !== undefined) {
      await mkdir(outDir, { recursive: true });
      path = join(outDir, profileFileName(model.name, gpu.name));
    } else {
      path = opts.out;
    }
    if (path !== undefined) await writeProfile(path, profile);
    run.profiles.push({ profile, path, seconds, trials });
    lines.push(renderProfile(profile, path, seconds, trials, notes));
  }
  run.output = opts.json
    ? JSON.stringify(
        run.profiles.map((p) => ({ path: p.path, seconds: p.seconds, trials: p.trials, profile: p.profile })),
        null,
        2,
      ) + '\n'
    : lines.join('\n');
  return run;
}

function renderProfile(
  profile: Profile,
  path: string | undefined,
  seconds: number,
  trials: number,
  notes: string[],
): string {
  const lines: string[] = [];
  lines.push(
    `${profile.model} on ${profile.gpu} (TP ${profile.gpusPerReplica}, $${profile.costPerHour.toFixed(4)}/h): ` +
      `max req/s per replica within ${describeSlo(profile.slo)}` +
      ` — ${trials} trials in ${seconds.toFixed(1)} s${path ? `, written to ${path}` : ''}`,
  );
  const header = ['in \\ out', ...profile.grid.output.map(String)];
  const rows = profile.grid.input.map((input, i) => [
    String(input),
    ...(profile.maxRps[i] ?? []).map((v) =>
      v === 0 ? '-' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(2),
    ),
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  for (const r of all) lines.push('  ' + r.map((cell, c) => cell.padStart(widths[c] ?? 0)).join('  '));
  if (notes.length > 0) {
    lines.push('  cells at 0 (cannot meet the SLO):');
    for (const n of notes.slice(0, 8)) lines.push(`    - ${n}`);
    if (notes.length > 8) lines.push(`    - … ${notes.length - 8} more`);
  }
  return lines.join('\n') + '\n';
}

export function describeSlo(slo: Slo | null): string {
  if (slo === null) return 'no SLO (saturation)';
  const parts: string[] = [];
  for (const key of ['ttft', 'itl', 'e2e'] as const) {
    const t = slo[key];
    if (t)
      parts.push(
        `${key.toUpperCase()} ${t.percentile === 'mean' ? 'mean' : `p${t.percentile}`} ≤ ${t.seconds} s`,
      );
  }
  return parts.join(', ');
}

function num(flag: string, min: number, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `${flag} must be ${integer ? 'a whole number' : 'a number'} ≥ ${min}, got '${v}'`,
      );
    }
    return n;
  };
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export const command = new Command('profile')
  .description(
    'Measure GPU profiles (max req/s per replica within an SLO, per input/output length) on the simulated vLLM replica',
  )
  .requiredOption('--gpu <name>', 'GPU type from config/gpus.yaml (repeatable, or a comma list)', collect)
  .option('--model <name>', 'model from config/models.yaml', 'Llama-3.1-8B')
  .option('--slo-ttft <seconds>', 'time-to-first-token bound, e.g. 1 or 500ms or 1@p99')
  .option('--slo-itl <seconds>', "bound on each request's mean inter-token latency (TPOT), e.g. 0.1")
  .option('--slo-e2e <seconds>', 'end-to-end latency bound')
  .option(
    '--percentile <p>',
    'statistic of each SLO unless it names one: a percentile or "mean"',
    String(DEFAULT_PERCENTILE),
  )
  .option('--input <ticks>', 'input-length ticks: a comma list or LO:HI powers of two (default 128:8192)')
  .option('--output <ticks>', 'output-length ticks (default 16:1024)')
  .option(
    '--duration <seconds>',
    'simulated seconds of arrivals per trial (default 60)',
    num('--duration', 1),
  )
  .option('--min-requests <n>', 'fewest requests per trial (default 150)', num('--min-requests', 1, true))
  .option('--max-requests <n>', 'most requests per trial (default 4000)', num('--max-requests', 1, true))
  .option(
    '--tolerance <fraction>',
    'stop the rate search when hi/lo ≤ 1 + this (default 0.05)',
    num('--tolerance', 0.001),
  )
  .option('--seed <n>', 'seed of the first Poisson arrival stream (default 1)', num('--seed', 0, true))
  .option(
    '--repeats <n>',
    'arrival streams per cell (seeds seed, seed+1, …); the profile keeps their median (default 3)',
    num('--repeats', 1, true),
  )
  .option('--tp <n>', 'tensor-parallel degree (default: smallest that fits)', num('--tp', 1, true))
  .option('--max-model-len <n>', 'max model length', num('--max-model-len', 1, true))
  .option(
    '--price <usd>',
    'price of one replica per hour (default: config/gpus.yaml × TP)',
    num('--price', 0),
  )
  .option('--out <path>', 'file (one GPU) or directory; default config/profiles/<model>-<gpu>.yaml')
  .option('--json', 'print the profiles as JSON', false)
  .option('--quiet', 'no progress on stderr', false)
  .action(async (opts: ProfileCliOptions) => {
    const run = await runProfile(opts);
    process.stdout.write(run.output);
  });
