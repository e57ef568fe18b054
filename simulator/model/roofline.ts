/**
 * Duration of one vLLM engine step from a roofline with calibrated efficiencies
 * (docs/simulator-model.md). Every term is a smooth maximum of a memory time and a compute time:
 *
 *   step = overhead + linear(N) + lmHead(S) + attention + allReduce(N)
 *
 * N = tokens computed in the step (decode tokens + prefill-chunk tokens), S = tokens sampled.
 * All constants are folded once per deployment so that a step costs a handful of flops.
 */
import type { GpuSpec, ModelSpec, ModelShape } from './hardware.js';
import { modelShape } from './hardware.js';

/** What the scheduler put into one step, aggregated. */
export interface StepShape {
  /** Tokens computed: one per decode request plus every prefill-chunk token. */
  newTokens: number;
  /** Tokens sampled: decode requests plus requests whose prefill completes in this step. */
  sampledTokens: number;
  /** KV tokens read by attention: each decode's context plus each prefill chunk's computed prefix. */
  kvReadTokens: number;
  /**
   * Query-key pairs of causal attention: a decode with context c adds c + 1; a prefill chunk of L
   * tokens after s computed tokens adds L * (s + (L + 1) / 2).
   */
  attentionPairs: number;
}

const TABLE_SIZE = 4096;

/**
 * (a^p + b^p)^(1/p) = M * f(m / M) with M = max(a, b), m = min(a, b), f(r) = (1 + r^p)^(1/p) on
 * [0, 1]. f is tabulated once per p and interpolated linearly (relative error < 1e-6): Math.pow
 * twice per term per step was the simulator's hottest spot.
 */
class SmoothMax {
  private readonly table: Float64Array | undefined;
  constructor(p: number) {
    if (p >= 64) return;
    const t = new Float64Array(TABLE_SIZE + 2);
    for (let i = 0; i <= TABLE_SIZE + 1; i++) {
      const r = Math.min(1, i / TABLE_SIZE);
      t[i] = Math.pow(1 + Math.pow(r, p), 1 / p);
    }
    this.table = t;
  }

  of(a: number, b: number): number {
    const hi = a > b ? a : b;
    const t = this.table;
    if (t === undefined || hi === 0) return hi;
    const x = ((a > b ? b : a) / hi) * TABLE_SIZE;
    const i = x | 0;
    const f = t[i] as number;
    return hi * (f + ((t[i + 1] as number) - f) * (x - i));
  }
}

/** Exact (a^p + b^p)^(1/p), for checking the tabulated form. */
export function smoothMaxExact(a: number, b: number, p: number): number {
  if (p >= 64) return a > b ? a : b;
  return Math.pow(Math.pow(a, p) + Math.pow(b, p), 1 / p);
}

/** Folded roofline constants of one (GPU, model, TP) triple. */
export class StepCostModel {
  readonly overheadMs: number;
  private readonly perLayerMs: number;
  private readonly smooth: SmoothMax;
  private readonly linMemMs: number;
  private readonly linMsPerToken: number;
  private readonly lmMemMs: number;
  private readonly lmMsPerToken: number;
  private readonly kvMsPerToken: number;
  private readonly attnMsPerPair: number;
  private readonly arFixedMs: number;
  private readonly arMsPerToken: number;

  constructor(gpu: GpuSpec, model: ModelSpec, tp: number, shape: ModelShape = modelShape(model)) {
    const bw = gpu.memBandwidthGBs * 1e9 * gpu.efficiency.memory;
    const flops = gpu.bf16Tflops * 1e12 * gpu.efficiency.compute;
    const b = model.dtypeBytes;
    this.overheadMs = gpu.stepOverheadMs;
    this.smooth = new SmoothMax(gpu.efficiency.overlap);
    this.perLayerMs = (model.layers * gpu.efficiency.perLayerUs) / 1000;
    this.linMemMs = ((shape.linearParams * b) / tp / bw) * 1e3;
    this.linMsPerToken = ((2 * shape.linearParams) / tp / flops) * 1e3;
    this.lmMemMs = ((shape.lmHeadParams * b) / tp / bw) * 1e3;
    this.lmMsPerToken = ((2 * shape.lmHeadParams) / tp / flops) * 1e3;
    this.kvMsPerToken = (shape.kvBytesPerToken / tp / bw) * 1e3;
    // QK^T and AV: 2 matmuls x 2 flops per multiply-add over the query width, every layer.
    this.attnMsPerPair = ((4 * model.layers * model.heads * model.headDim) / tp / flops) * 1e3;
    if (tp > 1) {
      // Two all-reduces per layer (after attention and after the MLP), ring algorithm.
      const ring = (2 * (tp - 1)) / tp;
      this.arFixedMs = (2 * model.layers * gpu.interconnect.latencyUs) / 1000;
      this.arMsPerToken =
        ((2 * model.layers * ring * model.hiddenSize * b) / (gpu.interconnect.busBandwidthGBs * 1e9)) * 1e3;
    } else {
      this.arFixedMs = 0;
      this.arMsPerToken = 0;
    }
  }

  /** Non-attention transformer layers for N tokens: what Vidur's mlp.csv profiles measure. */
  linearMs(tokens: number): number {
    return this.perLayerMs + this.smooth.of(this.linMemMs, this.linMsPerToken * tokens);
  }

  lmHeadMs(sampled: number): number {
    return sampled > 0 ? this.smooth.of(this.lmMemMs, this.lmMsPerToken * sampled) : 0;
  }

  attentionMs(kvReadTokens: number, writtenTokens: number, pairs: number): number {
    return this.smooth.of(this.kvMsPerToken * (kvReadTokens + writtenTokens), this.attnMsPerPair * pairs);
  }

  allReduceMs(tokens: number): number {
    return this.arFixedMs === 0 ? 0 : this.arFixedMs + this.arMsPerToken * tokens;
  }

  /** Duration of one engine step, ms. */
  stepMs(s: StepShape): number {
    return this.stepMsOf(s.newTokens, s.sampledTokens, s.kvReadTokens, s.attentionPairs);
  }

  /** `stepMs` without the argument object (the engine loop's form). */
  stepMsOf(newTokens: number, sampledTokens: number, kvReadTokens: number, attentionPairs: number): number {
    if (newTokens <= 0) return this.overheadMs;
    return (
      this.overheadMs +
      this.linearMs(newTokens) +
      this.lmHeadMs(sampledTokens) +
      this.attentionMs(kvReadTokens, newTokens, attentionPairs) +
      this.allReduceMs(newTokens)
    );
  }
}
