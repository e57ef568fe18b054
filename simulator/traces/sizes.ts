/**
 * Request-size distributions for synthetic traces: fixed, uniform, log-normal (with presets fitted
 * to the published statistics of real traces) or resampled from a real trace.
 */
import type { Rng } from './rng.js';
import type { TraceRequest } from './types.js';

export interface LognormalTokens {
  median: number;
  /** Sigma of the underlying normal. */
  sigma: number;
  min?: number;
  max?: number;
}

export type SizeSpec =
  | { kind: 'fixed'; input: number; output: number }
  | { kind: 'uniform'; input: [number, number]; output: [number, number] }
  | { kind: 'lognormal'; input: LognormalTokens; output: LognormalTokens }
  | { kind: 'preset'; name: SizePreset }
  /** Resample (input, output) pairs, with their correlation, from a real trace. */
  | { kind: 'empirical'; samples: readonly Pick<TraceRequest, 'inputTokens' | 'outputTokens'>[] };

/**
 * Log-normal fits to the statistics in reference vllm-engine-traces-gpus.md section 2.2: median =
 * the trace's p50, sigma = least squares on ln(p90/p50) and ln(p99/p50), clamped to the trace's max.
 */
export const SIZE_PRESETS = {
  /** Azure 2023 conversation: input p50 1,020 / p90 2,734 / p99 4,142; output p50 129 / p90 424 / p99 601. */
  'azure-conv': {
    input: { median: 1020, sigma: 0.641, min: 1, max: 14050 },
    output: { median: 129, sigma: 0.724, min: 1, max: 1000 },
  },
  /** Azure 2023 coding: input p50 1,469 / p90 5,188 / p99 7,436; output p50 13 / p90 55 / p99 251. */
  'azure-code': {
    input: { median: 1469, sigma: 0.764, min: 1, max: 7437 },
    output: { median: 13, sigma: 1.238, min: 1, max: 1899 },
  },
  /** Mooncake conversation: input p50 6,909 / p90 27,367 / p99 85,400; output p50 350 / p99 1,119. */
  'mooncake-conv': {
    input: { median: 6909, sigma: 1.079, min: 1, max: 126195 },
    output: { median: 350, sigma: 0.5, min: 1, max: 2000 },
  },
  /** ShareGPT-like short chat (vLLM paper means: input 161, output 338), sigma assumed 1. */
  sharegpt: {
    input: { median: 98, sigma: 1.0, min: 1, max: 4096 },
    output: { median: 205, sigma: 1.0, min: 1, max: 4096 },
  },
} as const satisfies Record<string, { input: LognormalTokens; output: LognormalTokens }>;
export type SizePreset = keyof typeof SIZE_PRESETS;

function clampRound(v: number, min: number, max: number): number {
  const r = Math.round(v);
  return r < min ? min : r > max ? max : r;
}

/** A sampler of (input, output) token counts, both integers >= 1. */
export type SizeSampler = (rng: Rng) => { inputTokens: number; outputTokens: number };

function lognormalSampler(input: LognormalTokens, output: LognormalTokens): SizeSampler {
  for (const [name, d] of [
    ['input', input],
    ['output', output],
  ] as const) {
    if (!(d.median > 0) || !(d.sigma >= 0)) {
      throw new Error(`lognormal ${name}: median must be > 0 and sigma >= 0`);
    }
  }
  const iMin = Math.max(1, input.min ?? 1);
  const iMax = input.max ?? Number.MAX_SAFE_INTEGER;
  const oMin = Math.max(1, output.min ?? 1);
  const oMax = output.max ?? Number.MAX_SAFE_INTEGER;
  return (rng) => ({
    inputTokens: clampRound(rng.lognormal(input.median, input.sigma), iMin, iMax),
    outputTokens: clampRound(rng.lognormal(output.median, output.sigma), oMin, oMax),
  });
}

export function sizeSampler(spec: SizeSpec): SizeSampler {
  switch (spec.kind) {
    case 'fixed': {
      const { input, output } = spec;
      if (!(Number.isInteger(input) && input >= 1 && Number.isInteger(output) && output >= 1)) {
        throw new Error(`fixed sizes must be integers >= 1, got input ${input}, output ${output}`);
      }
      return () => ({ inputTokens: input, outputTokens: output });
    }
    case 'uniform': {
      const [i0, i1] = spec.input;
      const [o0, o1] = spec.output;
      if (!(i0 >= 1 && i1 >= i0 && o0 >= 1 && o1 >= o0)) {
        throw new Error(`uniform sizes need 1 <= min <= max for input and output`);
      }
      return (rng) => ({ inputTokens: rng.int(i0, i1), outputTokens: rng.int(o0, o1) });
    }
    case 'lognormal':
      return lognormalSampler(spec.input, spec.output);
    case 'preset': {
      const p = SIZE_PRESETS[spec.name];
      if (p === undefined) {
        throw new Error(
          `unknown size preset '${String(spec.name)}'; known: ${Object.keys(SIZE_PRESETS).join(', ')}`,
        );
      }
      return lognormalSampler(p.input, p.output);
    }
    case 'empirical': {
      const s = spec.samples;
      if (s.length === 0) throw new Error('empirical sizes need at least one sample');
      return (rng) => {
        const r = s[Math.floor(rng.next() * s.length)] as (typeof s)[number];
        return { inputTokens: r.inputTokens, outputTokens: r.outputTokens };
      };
    }
  }
}
