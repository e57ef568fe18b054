/**
 * GPU profiles: how many requests per second one replica of a model on one GPU type sustains
 * while meeting a latency SLO, per (input length, output length) cell of a grid.
 *
 * Three formats are understood:
 * - ours (`kind: GpuProfile`), JSON or YAML, validated by `ProfileSchema`;
 * - AIBrix's GPU-optimizer profile (`gpu`, `cost`, `tputs`, `indexes`, …), whose `tputs` rows are
 *   OUTPUT ticks and columns INPUT ticks (the opposite of its own docstring);
 * - the Mélange solver's `config_example.json` (`gpu_info`, `workload_distribution`, …), which
 *   carries no token lengths at all.
 * Conversions are pure; reading files lives in src/optimizer.
 */
import { z } from 'zod';
import { GridSchema, type Grid } from './grid.js';

export const SloTargetSchema = z.object({
  /** Latency bound in seconds. */
  seconds: z.number().positive(),
  /** Which statistic must stay under the bound: a percentile in (0, 100], or the mean. */
  percentile: z.union([z.literal('mean'), z.number().gt(0).max(100)]),
});
export type SloTarget = z.infer<typeof SloTargetSchema>;

export const SloSchema = z
  .object({
    /** Time to first token. */
    ttft: SloTargetSchema.optional(),
    /** Inter-token latency (AIBrix and Mélange call it TPOT). */
    itl: SloTargetSchema.optional(),
    /** End-to-end request latency. */
    e2e: SloTargetSchema.optional(),
  })
  .strict()
  .refine((slo) => slo.ttft !== undefined || slo.itl !== undefined || slo.e2e !== undefined, {
    message: 'an SLO needs at least one of ttft, itl, e2e (use `slo: null` for a saturation profile)',
  });
export type Slo = z.infer<typeof SloSchema>;

export const PROFILE_KIND = 'GpuProfile';

export const ProfileSchema = z
  .object({
    kind: z.literal(PROFILE_KIND),
    version: z.literal(1),
    /** GPU type, e.g. `A100-80GB`. Profiles are matched to deployments by this name. */
    gpu: z.string().min(1),
    /** Served model, e.g. `llama2-7b`. */
    model: z.string().min(1),
    /** Price of one replica (all its GPUs) per hour, in `currency`. */
    costPerHour: z.number().positive(),
    /** `USD` unless stated; AIBrix's sample profiles use relative units (`relative`). */
    currency: z.string().min(1).default('USD'),
    /** GPUs one replica occupies (tensor parallelism); availability caps are counted in GPUs. */
    gpusPerReplica: z.number().int().positive().default(1),
    /** The SLO every cell was measured against; `null` for a saturation-throughput profile. */
    slo: SloSchema.nullable(),
    grid: GridSchema,
    /**
     * Max requests/s one replica serves within the SLO: `maxRps[i][o]` for input `grid.input[i]`
     * and output `grid.output[o]`. 0 means the cell cannot be served within the SLO.
     */
    maxRps: z.array(z.array(z.number().nonnegative())),
    /** Where the numbers came from (tool, file, simulator version). */
    source: z.string().optional(),
    /** ISO-8601 time of measurement. */
    measuredAt: z.string().optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.maxRps.length !== p.grid.input.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxRps'],
        message: `maxRps has ${p.maxRps.length} rows but grid.input has ${p.grid.input.length} ticks (one row per input tick)`,
      });
      return;
    }
    p.maxRps.forEach((row, i) => {
      if (row.length !== p.grid.output.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['maxRps', i],
          message: `row ${i} (input ${p.grid.input[i]}) has ${row.length} values but grid.output has ${p.grid.output.length} ticks`,
        });
      }
    });
  });
export type Profile = z.infer<typeof ProfileSchema>;
/** What a writer supplies: defaults may be left out. */
export type ProfileInput = z.input<typeof ProfileSchema>;

/** Throughput of one replica for a workload cell, looked up conservatively. */
export function profileMaxRps(profile: Profile, input: number, output: number): number {
  // The smallest profiled tick at least as large as the cell's tick: a cell between two measured
  // lengths is served at the larger (slower) one's rate; beyond the profile's range it is unknown,
  // so the GPU type cannot serve it.
  const i = profile.grid.input.findIndex((t) => t >= input);
  const o = profile.grid.output.findIndex((t) => t >= output);
  if (i < 0 || o < 0) return 0;
  return profile.maxRps[i]?.[o] ?? 0;
}

// ---------------------------------------------------------------------------------------------
// AIBrix

export const AibrixProfileSchema = z.looseObject({
  gpu: z.string().min(1),
  cost: z.number().positive(),
  /** Rows = output ticks, columns = input ticks (as AIBrix's code reads them). */
  tputs: z.array(z.array(z.number().nonnegative())).min(1),
  /** `[outputTicks, inputTicks]`. */
  indexes: z.tuple([z.array(z.number().positive()), z.array(z.number().positive())]),
  created: z.number().optional(),
  slos: z.record(z.string(), z.number()).optional(),
});
export type AibrixProfile = z.infer<typeof AibrixProfileSchema>;

/** Converts an AIBrix profile; `gpu` defaults to AIBrix's key (a deployment name). */
export function fromAibrixProfile(
  aibrix: AibrixProfile,
  options: { model: string; gpu?: string; currency?: string; source?: string },
): Profile {
  const [outputTicks, inputTicks] = aibrix.indexes;
  if (aibrix.tputs.length !== outputTicks.length) {
    throw new Error(
      `AIBrix profile ${aibrix.gpu}: tputs has ${aibrix.tputs.length} rows but indexes[0] (output ticks) has ${outputTicks.length}`,
    );
  }
  aibrix.tputs.forEach((row, o) => {
    if (row.length !== inputTicks.length) {
      throw new Error(
        `AIBrix profile ${aibrix.gpu}: tputs row ${o} has ${row.length} values but indexes[1] (input ticks) has ${inputTicks.length}`,
      );
    }
  });
  const maxRps = inputTicks.map((_, i) => outputTicks.map((__, o) => aibrix.tputs[o]?.[i] ?? 0));
  const profile: ProfileInput = {
    kind: PROFILE_KIND,
    version: 1,
    gpu: options.gpu ?? aibrix.gpu,
    model: options.model,
    costPerHour: aibrix.cost,
    currency: options.currency ?? 'relative',
    slo: aibrixSlo(aibrix),
    grid: { input: inputTicks.map(Math.round), output: outputTicks.map(Math.round) },
    maxRps,
    source: options.source ?? `converted from AIBrix profile ${aibrix.gpu}`,
    ...(aibrix.created !== undefined ? { measuredAt: new Date(aibrix.created * 1000).toISOString() } : {}),
  };
  return ProfileSchema.parse(profile);
}

function aibrixSlo(aibrix: AibrixProfile): Slo | null {
  const slos = aibrix.slos;
  if (slos === undefined) return null;
  const p = slos.percentile ?? 0;
  const percentile = p === 0 ? ('mean' as const) : p;
  const slo: Slo = {};
  for (const [key, value] of Object.entries(slos)) {
    if (key === 'percentile') continue;
    const target = { seconds: value, percentile };
    if (key === 'e2e') slo.e2e = target;
    else if (key === 'ttft') slo.ttft = target;
    else if (key === 'tpot') slo.itl = target;
    else {
      throw new Error(
        `AIBrix profile ${aibrix.gpu}: SLO "${key}" has no inferscale equivalent (supported: e2e, ttft, tpot→itl); convert it by hand`,
      );
    }
  }
  return slo.e2e || slo.ttft || slo.itl ? slo : null;
}

// ---------------------------------------------------------------------------------------------
// Mélange solver config (`config_example.json`)

export const MelangeConfigSchema = z.object({
  gpu_info: z.record(
    z.string(),
    z.object({ cost: z.number().positive(), tputs: z.array(z.array(z.number().nonnegative())).min(1) }),
  ),
  workload_distribution: z.array(z.array(z.number().nonnegative())).min(1),
  total_request_rate: z.number().nonnegative(),
  slice_factor: z.number().int().min(1).default(1),
});
export type MelangeConfig = z.infer<typeof MelangeConfigSchema>;

/**
 * Mélange configs name no token lengths: rows and columns are just positions. Rows are read as
 * input buckets (the Mélange README's convention) and both axes get positional ticks 1, 2, 4, …
 * so the rest of the pipeline can treat them like any grid.
 */
export function melangeGrid(config: MelangeConfig): Grid {
  const rows = config.workload_distribution.length;
  const cols = config.workload_distribution[0]?.length ?? 0;
  return {
    input: Array.from({ length: rows }, (_, i) => 2 ** i),
    output: Array.from({ length: cols }, (_, i) => 2 ** i),
  };
}

export function profilesFromMelange(config: MelangeConfig, model = 'unknown'): Profile[] {
  const grid = melangeGrid(config);
  return Object.entries(config.gpu_info).map(([gpu, info]) => {
    if (
      info.tputs.length !== grid.input.length ||
      info.tputs.some((row) => row.length !== grid.output.length)
    ) {
      throw new Error(
        `Mélange config: gpu_info.${gpu}.tputs must have the shape of workload_distribution (${grid.input.length}×${grid.output.length})`,
      );
    }
    return ProfileSchema.parse({
      kind: PROFILE_KIND,
      version: 1,
      gpu,
      model,
      costPerHour: info.cost,
      slo: null,
      grid,
      maxRps: info.tputs,
      source: 'converted from a Mélange solver config (positional buckets)',
    } satisfies ProfileInput);
  });
}
