/**
 * What a model group (an OPTIMIZER PodAutoscaler) needs before it can be simulated next to the
 * single-pool runs of one invocation: its profiles, one pool per target (the profile's tensor
 * parallelism, a USD price, a cold-start sampler per GPU type) and the size each pool starts at.
 *
 * Pools start at the optimizer's own plan for the arrivals of the trace's first slot, as the
 * single-pool runs start at the oracle's need for that slot: as if the group had been serving this
 * load before the trace began. An empty group would never see a request, so never read a load, so
 * never plan: when there is no plan, one replica is kept.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DEFAULTS } from '../../src/api/defaults.js';
import type { ResolvedPodAutoscaler } from '../../src/api/resolved.js';
import { matchProfiles, sameGpu } from '../../src/optimizer/profile-source.js';
import { readProfiles } from '../../src/optimizer/profiles.js';
import type { MilpSolver } from '../../algorithms/optimizer/milp.js';
import { optimize } from '../../algorithms/optimizer/optimize.js';
import type { Profile } from '../../algorithms/optimizer/profile.js';
import { workloadFromRequests } from '../../algorithms/optimizer/workload.js';
import type { ColdStartSampler } from '../cluster/coldstart.js';
import { poolFactory, unionGrid, type GroupRouterPolicy, type PoolFactory } from '../cluster/group.js';
import type { SimRequest } from '../cluster/replica.js';
import type { Deployment } from '../model/hardware.js';
import type { Rng } from '../traces/rng.js';

export interface GroupPoolSetup {
  /** The target's GPU type as the spec names it. */
  gpu: string;
  /** The target's Deployment. */
  deployment: string;
  factory: PoolFactory;
  /** Builds the pool's cold-start sampler from a seeded generator. */
  coldStart: (rng: Rng) => ColdStartSampler;
  initialReplicas: number;
  /** The pool's profile and the path it was read from; undefined when the target has none (never planned). */
  profileSource?: string;
}

export interface GroupSetup {
  /** The model every pool serves (the profiles'). */
  model: string;
  /** One profile per target that has one, priced as the report charges. */
  profiles: Profile[];
  pools: GroupPoolSetup[];
  router: GroupRouterPolicy;
  solver: () => Promise<MilpSolver>;
  /** How the initial sizes were chosen. */
  initial: string;
  /** Remarks for the report: missing profiles, price differences, ignored flags. */
  notes: string[];
}

export interface GroupSetupOptions {
  pa: ResolvedPodAutoscaler;
  /** Where the spec came from (error messages, relative profile paths). */
  source: string;
  /** The spec file; relative profile paths not found from the working directory are tried from its folder. */
  specFile?: string;
  /** Replaces every spec's `optimizer.profiles` (and targets' `profile` files). */
  profilePaths?: readonly string[];
  /** The model when neither the spec nor the profiles name one (the `--model` of the single runs). */
  defaultModel: string;
  /** vLLM --max-model-len for every pool. */
  maxModelLen?: number;
  /** USD per GPU-hour for one GPU type (the single runs' `--gpu-price` applies to its pools too). */
  gpuPrice?: { gpu: string; usdPerGpuHour: number };
  coldStart: (deployment: Deployment) => (rng: Rng) => ColdStartSampler;
  requests: readonly SimRequest[];
  /** Arrivals before this set the initial plan (the CLI: the oracle's first slot). */
  headMs: number;
  router: GroupRouterPolicy;
  solver: () => Promise<MilpSolver>;
  /** Given for the single runs; the group starts from its plan instead (noted). */
  initialReplicasFlag?: number;
}

function locate(path: string, specFile: string | undefined, source: string): string {
  if (isAbsolute(path) || existsSync(path)) return path;
  if (specFile !== undefined) {
    const near = resolve(dirname(specFile), path);
    if (existsSync(near)) return near;
  }
  throw new Error(
    `${source}: profile path ${path} not found from ${process.cwd()}` +
      `${specFile !== undefined ? ` nor next to ${specFile}` : ''}; run from the repository root or give --profiles <paths>`,
  );
}

const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export async function prepareGroup(o: GroupSetupOptions): Promise<GroupSetup> {
  const opt = o.pa.optimizer;
  if (o.pa.strategy !== 'OPTIMIZER' || opt === undefined)
    throw new Error(`${o.source}: not an OPTIMIZER PodAutoscaler`);
  const notes: string[] = [];

  // Profiles, per path as given, matched to targets the way the engine matches them.
  const searchPaths = o.profilePaths ?? opt.profiles ?? [...DEFAULTS.optimizer.profiles];
  const targetFiles =
    o.profilePaths === undefined ? opt.targets.flatMap((t) => (t.profile ? [t.profile] : [])) : [];
  const byPath = new Map<string, Profile[]>();
  for (const p of new Set([...searchPaths, ...targetFiles])) {
    try {
      byPath.set(p, (await readProfiles([locate(p, o.specFile, o.source)])).profiles);
    } catch (err) {
      throw new Error(`${o.source}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const targets = o.profilePaths === undefined ? opt.targets : opt.targets.map(({ profile: _, ...t }) => t);
  const matched = matchProfiles(targets, opt.model, searchPaths, { byPath, errors: [] });
  notes.push(...matched.notes);
  if (matched.profiles.every((p) => p === undefined)) {
    throw new Error(
      `${o.source}: no target has a profile (${matched.notes.join('; ') || 'none found'}); ` +
        'measure them with `inferscale profile` or point --profiles at them',
    );
  }
  const model = matched.model ?? opt.model ?? o.defaultModel;
  const whereFrom = (p: Profile): string =>
    [...byPath].find(([, list]) => list.includes(p))?.[0] ?? searchPaths.join(', ');

  const pools: GroupPoolSetup[] = [];
  /** Per target: its profile as planned (priced as charged when --gpu-price applies). */
  const priced: Array<Profile | undefined> = [];
  opt.targets.forEach((t, k) => {
    const profile = matched.profiles[k];
    let factory: PoolFactory & { deployment: Deployment };
    const build = (price?: number) =>
      poolFactory({
        gpu: t.gpu,
        model,
        replica: {
          ...(profile ? { tp: profile.gpusPerReplica } : {}),
          ...(o.maxModelLen !== undefined ? { maxModelLen: o.maxModelLen } : {}),
        },
        ...(price !== undefined ? { pricePerReplicaHour: price } : {}),
      });
    try {
      factory = build(t.costPerHour);
      if (t.costPerHour === undefined && o.gpuPrice && sameGpu(o.gpuPrice.gpu, factory.description.gpu))
        factory = build(o.gpuPrice.usdPerGpuHour * factory.gpusPerReplica);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/no price/.test(msg) && profile && sameName(profile.currency, 'USD')) {
        factory = build(profile.costPerHour);
        notes.push(`${t.gpu}: no catalogue price; charged the profile's $${profile.costPerHour}/h`);
      } else {
        throw new Error(`${o.source}: target ${t.gpu} (${t.scaleTargetRef.name}): ${msg}`);
      }
    }
    const price = factory.pricePerReplicaHour;
    if (profile) {
      // The plan prices a replica as the spec (costPerHour) or the profile does; when the report
      // charges a different price (--gpu-price), the plan is made with the report's price.
      const planned = t.costPerHour ?? profile.costPerHour;
      const override =
        o.gpuPrice !== undefined && t.costPerHour === undefined && sameGpu(o.gpuPrice.gpu, t.gpu);
      priced.push(override ? { ...profile, costPerHour: price, currency: 'USD' } : profile);
      if (override)
        notes.push(
          `${t.gpu}: planned and charged at $${price.toFixed(4)}/replica-hour (profile: ${profile.costPerHour} ${profile.currency})`,
        );
      else if (!sameName(profile.currency, 'USD') || Math.abs(planned - price) > 1e-9)
        notes.push(
          `${t.gpu}: planned at ${planned} ${t.costPerHour !== undefined ? 'USD' : profile.currency}/replica-hour, charged $${price.toFixed(4)}`,
        );
    } else {
      priced.push(undefined);
    }
    pools.push({
      gpu: t.gpu,
      deployment: t.scaleTargetRef.name,
      factory,
      coldStart: o.coldStart(factory.deployment),
      initialReplicas: t.minReplicas,
      ...(profile ? { profileSource: `${profile.model} on ${profile.gpu} from ${whereFrom(profile)}` } : {}),
    });
  });

  // The initial sizes: the plan for the opening slot's arrivals.
  const head = o.requests.filter((r) => r.arrivalMs < o.headMs);
  const profiles = priced.filter((p): p is Profile => p !== undefined);
  const grid = unionGrid(profiles);
  const load = workloadFromRequests(head, grid, {
    rounding: 'nearest',
    window: { kind: 'peak', seconds: o.headMs / 1000 },
  });
  const solver = await o.solver();
  const plan = optimize(
    {
      model,
      gpus: opt.targets.map((t, k) => ({
        name: t.gpu,
        profile: priced[k],
        minReplicas: t.minReplicas,
        maxReplicas: t.maxReplicas,
        ...(t.availableGpus !== undefined ? { availableGpus: t.availableGpus } : {}),
        ...(t.costPerHour !== undefined ? { costPerHour: t.costPerHour } : {}),
      })),
      load,
      options: { headroom: opt.headroom, sliceFactor: opt.sliceFactor },
    },
    solver,
  );
  let initial: string;
  const headS = Math.round(o.headMs / 1000);
  if (plan.kind === 'plan') {
    plan.plan.gpus.forEach((g, k) => {
      if (pools[k]) pools[k].initialReplicas = g.replicas;
    });
    initial = `the optimizer's plan for the first ${headS} s of arrivals (${plan.plan.totalRps.toFixed(2)} req/s)`;
  } else {
    // No plan (e.g. no arrivals yet): the targets' minimums, and one replica of the first target
    // with a profile if that leaves the group empty (it could never read a load otherwise).
    const first = pools.findIndex((p) => p.profileSource !== undefined);
    if (first >= 0 && pools.every((p) => p.initialReplicas === 0)) pools[first]!.initialReplicas = 1;
    initial = `no plan for the first ${headS} s (${plan.kind}: ${'message' in plan ? plan.message : ''}); targets' minReplicas, at least one replica`;
  }
  if (o.initialReplicasFlag !== undefined)
    notes.push(`--initial-replicas applies to single-pool runs; the group starts from ${initial}`);
  return { model, profiles, pools, router: o.router, solver: async () => solver, initial, notes };
}
