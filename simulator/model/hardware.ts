/**
 * GPU and model catalogues (config/gpus.yaml, config/models.yaml) and the sizing of one vLLM
 * replica on them: tensor parallelism, weights per GPU, KV blocks, scheduler limits.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const positive = z.number().positive();

const ColdStartPhasesSchema = z.object({
  nodeProvisionS: z.number().nonnegative(),
  imagePullCachedS: z.number().nonnegative(),
  imagePullUncachedS: z.number().nonnegative(),
  weightLoadGBps: positive,
  weightLoadFixedS: z.number().nonnegative(),
  cv: z.number().nonnegative().max(2),
});
export type ColdStartPhases = z.infer<typeof ColdStartPhasesSchema>;

export const GpuSpecSchema = z.object({
  name: z.string(),
  aliases: z.array(z.string()).default([]),
  vendor: z.enum(['nvidia', 'amd']),
  memoryGB: positive,
  memBandwidthGBs: positive,
  bf16Tflops: positive,
  fp8Tflops: positive.optional(),
  interconnect: z.object({
    kind: z.string(),
    /** All-reduce bus bandwidth per GPU, GB/s. */
    busBandwidthGBs: positive,
    /** Fixed cost of one all-reduce, microseconds. */
    latencyUs: z.number().nonnegative(),
  }),
  efficiency: z.object({
    /** Fraction of peak memory bandwidth reached by weight/KV reads. */
    memory: z.number().gt(0).lte(1),
    /** Fraction of peak BF16 tensor FLOPS reached by large GEMMs. */
    compute: z.number().gt(0).lte(1),
    /** Fixed time per transformer layer (kernel launches, norms, small ops), microseconds. */
    perLayerUs: z.number().nonnegative(),
    /** p of the smooth maximum (t_mem^p + t_compute^p)^(1/p); large p approaches max(). */
    overlap: z.number().gte(1),
    /** True when fitted to measured profiles, false when extrapolated. */
    calibrated: z.boolean(),
  }),
  /** CPU-side cost of one engine step (scheduling, sampling, launch), ms. */
  stepOverheadMs: z.number().nonnegative(),
  scheduler: z.object({
    maxNumSeqs: z.number().int().positive(),
    maxNumBatchedTokens: z.number().int().positive(),
  }),
  price: z
    .object({ usdPerHour: positive, provider: z.string(), date: z.string(), source: z.string() })
    .optional(),
  coldStart: ColdStartPhasesSchema.partial().optional(),
});
export type GpuSpec = z.infer<typeof GpuSpecSchema>;

export const ModelSpecSchema = z.object({
  name: z.string(),
  hfId: z.string(),
  aliases: z.array(z.string()).default([]),
  layers: z.number().int().positive(),
  hiddenSize: z.number().int().positive(),
  heads: z.number().int().positive(),
  kvHeads: z.number().int().positive(),
  headDim: z.number().int().positive(),
  intermediateSize: z.number().int().positive(),
  vocabSize: z.number().int().positive(),
  maxModelLen: z.number().int().positive(),
  dtypeBytes: positive,
  tieWordEmbeddings: z.boolean(),
  coldStart: z.object({ engineInitS: z.number().nonnegative(), warmupS: z.number().nonnegative() }),
});
export type ModelSpec = z.infer<typeof ModelSpecSchema>;

const GpuFileSchema = z.object({
  coldStartDefaults: ColdStartPhasesSchema,
  gpus: z.record(z.string(), GpuSpecSchema.omit({ name: true })),
});
const ModelFileSchema = z.object({ models: z.record(z.string(), ModelSpecSchema.omit({ name: true })) });

export interface Catalog {
  gpus: ReadonlyMap<string, GpuSpec>;
  models: ReadonlyMap<string, ModelSpec>;
  coldStartDefaults: ColdStartPhases;
}

export const DEFAULT_GPU_FILE = fileURLToPath(new URL('../../config/gpus.yaml', import.meta.url));
export const DEFAULT_MODEL_FILE = fileURLToPath(new URL('../../config/models.yaml', import.meta.url));

function parseFile<T>(path: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${path}: invalid catalogue: ${issues}`);
  }
  return result.data;
}

/** Reads and validates the two catalogues. */
export function loadCatalog(paths: { gpus?: string; models?: string } = {}): Catalog {
  const gpuFile = parseFile(paths.gpus ?? DEFAULT_GPU_FILE, GpuFileSchema);
  const modelFile = parseFile(paths.models ?? DEFAULT_MODEL_FILE, ModelFileSchema);
  const gpus = new Map<string, GpuSpec>();
  for (const [name, spec] of Object.entries(gpuFile.gpus)) gpus.set(name, { name, ...spec });
  const models = new Map<string, ModelSpec>();
  for (const [name, spec] of Object.entries(modelFile.models)) models.set(name, { name, ...spec });
  return { gpus, models, coldStartDefaults: gpuFile.coldStartDefaults };
}

let defaultCatalog: Catalog | undefined;
/** The catalogue from config/, read once. */
export function catalog(): Catalog {
  defaultCatalog ??= loadCatalog();
  return defaultCatalog;
}

function lookup<T extends { name: string; aliases: string[] }>(
  kind: string,
  entries: ReadonlyMap<string, T>,
  key: string,
): T {
  const k = key.trim().toLowerCase();
  for (const e of entries.values()) {
    if (e.name.toLowerCase() === k || e.aliases.some((a) => a.toLowerCase() === k)) return e;
    if ('hfId' in e && typeof e.hfId === 'string' && e.hfId.toLowerCase() === k) return e;
  }
  throw new Error(`unknown ${kind} '${key}'; known: ${[...entries.keys()].join(', ')}`);
}

/** A GPU by name or alias, case-insensitive. */
export function gpuSpec(name: string, cat: Catalog = catalog()): GpuSpec {
  return lookup('GPU', cat.gpus, name);
}

/** A model by name, alias or Hugging Face id, case-insensitive. */
export function modelSpec(name: string, cat: Catalog = catalog()): ModelSpec {
  return lookup('model', cat.models, name);
}

/** Parameter counts and byte sizes derived from the architecture. */
export interface ModelShape {
  /** Parameters of the linear layers of all transformer blocks (attention projections + MLP). */
  linearParams: number;
  /** LM head (vocab x hidden). */
  lmHeadParams: number;
  /** Embedding table (0 extra when tied to the LM head). */
  embeddingParams: number;
  totalParams: number;
  weightBytes: number;
  /** K and V of one token over all layers, all KV heads. */
  kvBytesPerToken: number;
}

export function modelShape(m: ModelSpec): ModelShape {
  const q = m.heads * m.headDim;
  const kv = m.kvHeads * m.headDim;
  const perLayer = m.hiddenSize * q * 2 + 2 * m.hiddenSize * kv + 3 * m.hiddenSize * m.intermediateSize;
  const linearParams = m.layers * perLayer;
  const lmHeadParams = m.vocabSize * m.hiddenSize;
  const embeddingParams = m.tieWordEmbeddings ? 0 : m.vocabSize * m.hiddenSize;
  const totalParams = linearParams + lmHeadParams + embeddingParams;
  return {
    linearParams,
    lmHeadParams,
    embeddingParams,
    totalParams,
    weightBytes: totalParams * m.dtypeBytes,
    kvBytesPerToken: 2 * m.layers * kv * m.dtypeBytes,
  };
}

export interface DeploymentOptions {
  /** Tensor-parallel degree; default: the smallest of 1, 2, 4, 8 that fits (see `autoTensorParallel`). */
  tp?: number;
  /** vLLM `--gpu-memory-utilization`, default 0.9. */
  gpuMemoryUtilization?: number;
  /** Activation, CUDA-graph and allocator workspace per GPU, GB (default 2, an assumption). */
  workspaceGB?: number;
  /** KV block size in tokens, default 16 (CUDA). */
  blockSize?: number;
  /** `--max-model-len`; default: the model's, capped to what the KV cache can hold. */
  maxModelLen?: number;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  /** `--num-gpu-blocks-override`. */
  numGpuBlocksOverride?: number;
}

/** Everything the engine loop needs to know about one replica, fully resolved. */
export interface Deployment {
  gpu: GpuSpec;
  model: ModelSpec;
  shape: ModelShape;
  tp: number;
  gpuMemoryUtilization: number;
  workspaceGB: number;
  blockSize: number;
  numGpuBlocks: number;
  /** numGpuBlocks * blockSize. */
  kvCapacityTokens: number;
  maxModelLen: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  weightBytesPerGpu: number;
  kvBytesPerGpu: number;
}

const TP_CHOICES = [1, 2, 4, 8];
/** The smallest KV capacity `autoTensorParallel` accepts: enough for one long-ish request. */
const AUTO_TP_MIN_KV_TOKENS = 16_384;
/** Preferred minimum share of the usable GPU memory left to the KV cache. */
const AUTO_TP_MIN_KV_SHARE = 0.1;

function kvBlocksFor(
  gpu: GpuSpec,
  shape: ModelShape,
  tp: number,
  util: number,
  workspaceGB: number,
  blockSize: number,
): { blocks: number; weightBytesPerGpu: number; kvBytesPerGpu: number } {
  const weightBytesPerGpu = shape.weightBytes / tp;
  const kvBytesPerGpu = gpu.memoryGB * 1e9 * util - weightBytesPerGpu - workspaceGB * 1e9;
  const perBlock = (blockSize * shape.kvBytesPerToken) / tp;
  return {
    blocks: kvBytesPerGpu > 0 ? Math.floor(kvBytesPerGpu / perBlock) : 0,
    weightBytesPerGpu,
    kvBytesPerGpu,
  };
}

/**
 * The TP degree an operator would pick: the smallest of 1, 2, 4, 8 whose KV cache holds at least
 * min(maxModelLen, 16k) tokens and gets at least 10 % of the usable memory (so that Llama-2-70B
 * on 80 GB GPUs runs at TP=4, not at TP=2 with a 6 k-token cache); failing that, the smallest that
 * meets the token floor alone; undefined if even TP=8 cannot.
 */
export function autoTensorParallel(
  gpu: GpuSpec,
  model: ModelSpec,
  opts: DeploymentOptions = {},
): number | undefined {
  const shape = modelShape(model);
  const blockSize = opts.blockSize ?? 16;
  const util = opts.gpuMemoryUtilization ?? 0.9;
  const need = Math.min(opts.maxModelLen ?? model.maxModelLen, AUTO_TP_MIN_KV_TOKENS);
  const usable = gpu.memoryGB * 1e9 * util;
  let fallback: number | undefined;
  for (const tp of TP_CHOICES) {
    if (model.heads % tp !== 0 || model.kvHeads % tp !== 0) continue;
    const { blocks, kvBytesPerGpu } = kvBlocksFor(gpu, shape, tp, util, opts.workspaceGB ?? 2, blockSize);
    if (blocks * blockSize < need) continue;
    if (kvBytesPerGpu >= AUTO_TP_MIN_KV_SHARE * usable) return tp;
    fallback ??= tp;
  }
  return fallback;
}

/** Sizes one replica; throws with the reason when the model does not fit. */
export function resolveDeployment(gpu: GpuSpec, model: ModelSpec, opts: DeploymentOptions = {}): Deployment {
  const util = opts.gpuMemoryUtilization ?? 0.9;
  if (!(util > 0 && util <= 1)) throw new Error(`gpuMemoryUtilization must be in (0, 1], got ${util}`);
  const workspaceGB = opts.workspaceGB ?? 2;
  const blockSize = opts.blockSize ?? 16;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`blockSize must be a positive integer`);
  const tp = opts.tp ?? autoTensorParallel(gpu, model, opts);
  if (tp === undefined) {
    throw new Error(`${model.name} does not fit on ${gpu.name} even with tensor parallelism 8`);
  }
  if (!TP_CHOICES.includes(tp)) throw new Error(`tp must be one of ${TP_CHOICES.join(', ')}, got ${tp}`);
  if (model.kvHeads % tp !== 0) {
    throw new Error(`tp=${tp} does not divide ${model.name}'s ${model.kvHeads} KV heads`);
  }
  const shape = modelShape(model);
  const sized = kvBlocksFor(gpu, shape, tp, util, workspaceGB, blockSize);
  const numGpuBlocks = opts.numGpuBlocksOverride ?? sized.blocks;
  if (numGpuBlocks <= 0) {
    throw new Error(
      `${model.name} (${(shape.weightBytes / 1e9).toFixed(1)} GB of weights) leaves no KV cache on ` +
        `${tp}x ${gpu.name} at gpu_memory_utilization ${util}; raise tp`,
    );
  }
  const kvCapacityTokens = numGpuBlocks * blockSize;
  let maxModelLen = opts.maxModelLen ?? Math.min(model.maxModelLen, kvCapacityTokens);
  if (opts.maxModelLen !== undefined && opts.maxModelLen > kvCapacityTokens) {
    // vLLM refuses to start in this case; so do we.
    throw new Error(
      `max model len ${opts.maxModelLen} is larger than the ${kvCapacityTokens} tokens the KV cache of ` +
        `${tp}x ${gpu.name} can store for ${model.name}; lower maxModelLen or raise tp`,
    );
  }
  maxModelLen = Math.max(1, Math.floor(maxModelLen));
  const maxNumSeqs = opts.maxNumSeqs ?? gpu.scheduler.maxNumSeqs;
  const maxNumBatchedTokens = opts.maxNumBatchedTokens ?? gpu.scheduler.maxNumBatchedTokens;
  if (!(maxNumSeqs >= 1 && maxNumBatchedTokens >= 1)) {
    throw new Error(`maxNumSeqs and maxNumBatchedTokens must be >= 1`);
  }
  return {
    gpu,
    model,
    shape,
    tp,
    gpuMemoryUtilization: util,
    workspaceGB,
    blockSize,
    numGpuBlocks,
    kvCapacityTokens,
    maxModelLen,
    maxNumSeqs,
    maxNumBatchedTokens,
    weightBytesPerGpu: sized.weightBytesPerGpu,
    kvBytesPerGpu: sized.kvBytesPerGpu,
  };
}

/** Hourly price of one replica (tp GPUs), or undefined when the catalogue has no price. */
export function replicaPricePerHour(d: Pick<Deployment, 'gpu' | 'tp'>): number | undefined {
  return d.gpu.price === undefined ? undefined : d.gpu.price.usdPerHour * d.tp;
}
