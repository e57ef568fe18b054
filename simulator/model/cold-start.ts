/**
 * Cold start of a vLLM pod, phase by phase (reference vllm-engine-traces-gpus.md section 4):
 * node provisioning (only without a free GPU node), image pull, weight load, engine init
 * (torch.compile with a warm cache, CUDA graphs, KV profiling), first-request warm-up.
 * Each phase is drawn from a log-normal around its median with the catalogue's coefficient of variation.
 */
import type { Rng } from '../traces/rng.js';
import {
  catalog,
  modelShape,
  type Catalog,
  type ColdStartPhases,
  type GpuSpec,
  type ModelSpec,
} from './hardware.js';

export interface ColdStartOptions {
  /** Tensor-parallel degree (weights load in parallel, one shard per GPU). Default 1. */
  tp?: number;
  /** A GPU node with free capacity exists (no provisioning). Default true. */
  nodeAvailable?: boolean;
  /** The image is already on the node. Default false. */
  imageCached?: boolean;
  /** The image comes from a nearby cached registry when not on the node. Default true. */
  registryCached?: boolean;
}

export interface ColdStartSample {
  nodeProvisionS: number;
  imagePullS: number;
  weightLoadS: number;
  engineInitS: number;
  /** Extra latency of the first request after readiness. */
  warmupS: number;
  /** Creation to Ready (/health 200): everything but the warm-up. */
  readyAfterS: number;
}

/** The per-phase medians for a GPU (its overrides over the catalogue defaults). */
export function coldStartPhases(gpu: GpuSpec, cat: Catalog = catalog()): ColdStartPhases {
  return { ...cat.coldStartDefaults, ...gpu.coldStart };
}

/** Medians of each phase (no randomness). */
export function coldStartMedians(
  gpu: GpuSpec,
  model: ModelSpec,
  opts: ColdStartOptions = {},
  cat: Catalog = catalog(),
): ColdStartSample {
  const p = coldStartPhases(gpu, cat);
  const tp = opts.tp ?? 1;
  const nodeProvisionS = opts.nodeAvailable === false ? p.nodeProvisionS : 0;
  const imagePullS = opts.imageCached
    ? 0
    : opts.registryCached === false
      ? p.imagePullUncachedS
      : p.imagePullCachedS;
  const weightLoadS = modelShape(model).weightBytes / tp / 1e9 / p.weightLoadGBps + p.weightLoadFixedS;
  const engineInitS = model.coldStart.engineInitS;
  const warmupS = model.coldStart.warmupS;
  return {
    nodeProvisionS,
    imagePullS,
    weightLoadS,
    engineInitS,
    warmupS,
    readyAfterS: nodeProvisionS + imagePullS + weightLoadS + engineInitS,
  };
}

/** One random cold start: each non-zero phase ~ log-normal(median, cv). */
export function sampleColdStart(
  gpu: GpuSpec,
  model: ModelSpec,
  rng: Rng,
  opts: ColdStartOptions = {},
  cat: Catalog = catalog(),
): ColdStartSample {
  const med = coldStartMedians(gpu, model, opts, cat);
  const cv = coldStartPhases(gpu, cat).cv;
  const sigma = Math.sqrt(Math.log(1 + cv * cv));
  const draw = (m: number) => (m > 0 ? rng.lognormal(m, sigma) : 0);
  const s = {
    nodeProvisionS: draw(med.nodeProvisionS),
    imagePullS: draw(med.imagePullS),
    weightLoadS: draw(med.weightLoadS),
    engineInitS: draw(med.engineInitS),
    warmupS: draw(med.warmupS),
  };
  return { ...s, readyAfterS: s.nodeProvisionS + s.imagePullS + s.weightLoadS + s.engineInitS };
}
