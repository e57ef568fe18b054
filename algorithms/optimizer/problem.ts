/**
 * From profiles, bounds and a workload to a solver-ready problem, with every condition that makes
 * solving pointless (no profile, nothing servable, contradictory bounds) turned into a typed
 * result first. Pure.
 */
import { z } from 'zod';
import { cellLabel } from './grid.js';
import { profileMaxRps, type Profile } from './profile.js';
import { workloadCells, type Workload } from './workload.js';

export const OptimizeOptionsSchema = z.object({
  /**
   * Each bucket's rate is cut into this many equal slices, each served whole by one GPU type
   * (Mélange's slice factor). `continuous` lets any fraction go anywhere (the LP limit).
   */
  sliceFactor: z.union([z.number().int().min(1).max(64), z.literal('continuous')]).default(4),
  /** Spare capacity: plan for rate × (1 + headroom). 0.1 = 10 % above the measured load. */
  headroom: z.number().min(0).max(10).default(0),
  /**
   * Capacity units per replica. 1 gives whole replicas; AIBrix plans in 1/100 replicas (100) and
   * lets its KPA round. Bounds are always in replicas.
   */
  unitsPerReplica: z.number().int().min(1).max(1000).default(1),
  /** Wall-time budget for the solver. When it runs out, the best plan found so far is returned unproven. */
  timeLimitSeconds: z.number().positive().max(3600).default(10),
  /** Relative optimality gap at which the solver may stop; 0 asks for a proven optimum. */
  mipRelGap: z.number().min(0).max(1).default(0),
});
export type OptimizeOptions = z.infer<typeof OptimizeOptionsSchema>;
export type OptimizeOptionsInput = z.input<typeof OptimizeOptionsSchema>;

/** One GPU type (deployment) the model may run on. */
export interface GpuOption {
  /** GPU type or deployment name; the plan is keyed by it. */
  name: string;
  /** `undefined`: no profile known for this type; it is left out of the plan and reported. */
  profile: Profile | undefined;
  /** Replicas that must exist whatever the load (e.g. a PodAutoscaler's minReplicas). Default 0. */
  minReplicas?: number;
  /** Upper bound in replicas (e.g. maxReplicas). Default unbounded. */
  maxReplicas?: number;
  /** GPUs of this type that can be had; caps replicas at ⌊available / gpusPerReplica⌋. */
  availableGpus?: number;
  /** Overrides the profile's price per replica-hour. */
  costPerHour?: number;
}

export interface ProblemBucket {
  input: number;
  output: number;
  /** Measured rate, before headroom. */
  rps: number;
}

export interface ProblemGpu {
  name: string;
  costPerHour: number;
  gpusPerReplica: number;
  minReplicas: number;
  /** `Infinity` when unbounded. */
  maxReplicas: number;
  /** Per problem bucket: max req/s of one replica; 0 = cannot serve that bucket. */
  maxRps: number[];
}

export interface Problem {
  /** Non-empty buckets only. */
  buckets: ProblemBucket[];
  gpus: ProblemGpu[];
  options: OptimizeOptions;
  totalRps: number;
}

/** Why a problem could not be formed. Shared with the final result type. */
export type ProblemFailure =
  | { kind: 'no-profile'; message: string; gpus: string[] }
  | { kind: 'no-data'; message: string }
  | {
      kind: 'infeasible';
      /**
       * unservable: some loaded bucket has no GPU type able to serve it within the SLO;
       * bounds: a minimum exceeds its maximum or availability;
       * capacity: the caps leave too little capacity for the load (reported by the solver).
       */
      reason: 'unservable' | 'bounds' | 'capacity';
      message: string;
      buckets?: ProblemBucket[];
      gpus?: string[];
    };

export function slicesPerBucket(options: OptimizeOptions): number {
  return options.sliceFactor === 'continuous' ? 1 : options.sliceFactor;
}

/**
 * Replica-equivalents of capacity type `g` needs for one slice of bucket `b`, headroom included;
 * `undefined` when the type cannot serve the bucket at all (zero throughput is exclusion, not a
 * huge load: AIBrix's 10⁶ stand-in produced replica counts of 10⁹).
 */
export function sliceLoad(problem: Problem, b: number, g: number): number | undefined {
  const bucket = problem.buckets[b];
  const gpu = problem.gpus[g];
  const tput = gpu?.maxRps[b] ?? 0;
  if (bucket === undefined || gpu === undefined || !(tput > 0) || gpu.maxReplicas <= 0) return undefined;
  return ((bucket.rps / slicesPerBucket(problem.options)) * (1 + problem.options.headroom)) / tput;
}

function checkCount(value: number | undefined, field: string, gpu: string): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < 0 || !Number.isInteger(value)) {
    throw new Error(`GPU type ${gpu}: ${field} must be a whole number ≥ 0, got ${value}`);
  }
}

export function buildProblem(input: {
  model?: string;
  gpus: readonly GpuOption[];
  workload: Workload;
  options: OptimizeOptions;
}): { kind: 'problem'; problem: Problem; unprofiled: string[]; notes: string[] } | ProblemFailure {
  const notes: string[] = [];
  const unprofiled: string[] = [];
  const seen = new Set<string>();
  const profiled: GpuOption[] = [];
  for (const gpu of input.gpus) {
    if (seen.has(gpu.name)) throw new Error(`GPU type ${gpu.name} is listed twice`);
    seen.add(gpu.name);
    checkCount(gpu.minReplicas, 'minReplicas', gpu.name);
    checkCount(gpu.maxReplicas, 'maxReplicas', gpu.name);
    checkCount(gpu.availableGpus, 'availableGpus', gpu.name);
    if (gpu.costPerHour !== undefined && !(gpu.costPerHour > 0 && Number.isFinite(gpu.costPerHour))) {
      throw new Error(`GPU type ${gpu.name}: costPerHour must be > 0, got ${gpu.costPerHour}`);
    }
    if (gpu.profile === undefined) {
      unprofiled.push(gpu.name);
    } else if (input.model !== undefined && gpu.profile.model !== input.model) {
      unprofiled.push(gpu.name);
      notes.push(`${gpu.name}: its profile is for model ${gpu.profile.model}, not ${input.model}; left out`);
    } else {
      profiled.push(gpu);
    }
  }
  if (profiled.length === 0) {
    const names = input.gpus.map((g) => g.name);
    return {
      kind: 'no-profile',
      gpus: names,
      message:
        names.length === 0
          ? `no GPU types given${input.model ? ` for model ${input.model}` : ''}`
          : `no profile${input.model ? ` for model ${input.model}` : ''} on any GPU type (${names.join(', ')}); run \`inferscale profile\` or add one to config/profiles`,
    };
  }
  if (unprofiled.length > 0) notes.push(`no profile for ${unprofiled.join(', ')}: not planned`);
  noteMismatches(profiled, notes);

  const cells = workloadCells(input.workload);
  const gpus: ProblemGpu[] = profiled.map((g) => {
    const profile = g.profile as Profile;
    const byAvailability =
      g.availableGpus === undefined ? Infinity : Math.floor(g.availableGpus / profile.gpusPerReplica);
    return {
      name: g.name,
      costPerHour: g.costPerHour ?? profile.costPerHour,
      gpusPerReplica: profile.gpusPerReplica,
      minReplicas: g.minReplicas ?? 0,
      maxReplicas: Math.min(g.maxReplicas ?? Infinity, byAvailability),
      maxRps: cells.map((c) => profileMaxRps(profile, c.input, c.output)),
    };
  });

  const contradictory = gpus.filter((g) => g.minReplicas > g.maxReplicas);
  if (contradictory.length > 0) {
    return {
      kind: 'infeasible',
      reason: 'bounds',
      gpus: contradictory.map((g) => g.name),
      message: `minimum replicas exceed what max/availability allow: ${contradictory
        .map((g) => `${g.name} min ${g.minReplicas} > max ${g.maxReplicas}`)
        .join(', ')}`,
    };
  }

  const problem: Problem = {
    buckets: cells,
    gpus,
    options: input.options,
    totalRps: input.workload.totalRps,
  };
  const unservable = cells.filter((_, b) => gpus.every((_g, g) => sliceLoad(problem, b, g) === undefined));
  if (unservable.length > 0) {
    const rps = unservable.reduce((s, c) => s + c.rps, 0);
    return {
      kind: 'infeasible',
      reason: 'unservable',
      buckets: unservable,
      message: `${unservable.length} bucket(s) carrying ${rps.toFixed(3)} req/s cannot be served within the SLO by any allowed GPU type: ${unservable
        .slice(0, 5)
        .map((c) => cellLabel(c.input, c.output))
        .join('; ')}${unservable.length > 5 ? '; …' : ''}`,
    };
  }
  return { kind: 'problem', problem, unprofiled, notes };
}

function noteMismatches(profiled: readonly GpuOption[], notes: string[]): void {
  const currencies = new Set(
    profiled.map((g) => (g.costPerHour !== undefined ? 'USD' : g.profile?.currency)),
  );
  if (currencies.size > 1) {
    notes.push(
      `profiles price in different currencies (${[...currencies].join(', ')}): costs are not comparable`,
    );
  }
  const slos = new Set(profiled.map((g) => JSON.stringify(g.profile?.slo ?? null)));
  if (slos.size > 1) {
    notes.push(
      `profiles were measured against different SLOs (${[...slos].join(' vs ')}): the plan mixes them`,
    );
  }
}
