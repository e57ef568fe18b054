/**
 * The roofline against Vidur's per-operator profiles as tabled in the reference
 * (vllm-engine-traces-gpus.md section 3.3): non-attention layers of one forward pass, median ms.
 */
import { describe, expect, it } from 'vitest';
import { gpuSpec, modelSpec } from '../../../simulator/model/hardware.js';
import { StepCostModel, smoothMaxExact } from '../../../simulator/model/roofline.js';

const TOKENS = [1, 64, 256, 512, 1024, 4096] as const;
const VIDUR: { gpu: string; model: string; tp: number; ms: readonly number[] }[] = [
  { gpu: 'A40', model: 'Llama-2-7B', tp: 1, ms: [23.94, 30.05, 44.59, 71.13, 136.92, 523.08] },
  { gpu: 'A100-80GB', model: 'Llama-2-7B', tp: 1, ms: [9.28, 9.7, 17.82, 33.39, 68.0, 258.62] },
  { gpu: 'H100', model: 'Llama-2-7B', tp: 1, ms: [5.6, 5.86, 9.16, 12.0, 21.05, 83.59] },
  { gpu: 'A100-80GB', model: 'Llama-2-70B', tp: 1, ms: [89.44, 93.93, 178.55, 326.82, 678.87, 2476.92] },
  { gpu: 'H100', model: 'Llama-2-70B', tp: 1, ms: [50.0, 50.69, 61.14, 100.51, 234.82, 881.61] },
  { gpu: 'H100', model: 'Llama-2-70B', tp: 8, ms: [8.36, 8.97, 11.54, 17.71, 32.69, 121.8] },
];

describe('roofline calibration', () => {
  for (const row of VIDUR) {
    it(`${row.model} on ${row.gpu} TP=${row.tp} is within 15% of Vidur's profile`, () => {
      const cost = new StepCostModel(gpuSpec(row.gpu), modelSpec(row.model), row.tp);
      TOKENS.forEach((n, i) => {
        const ref = row.ms[i] as number;
        const ours = cost.linearMs(n);
        expect(Math.abs(ours / ref - 1), `${n} tokens: ours ${ours.toFixed(2)} ms vs ${ref} ms`).toBeLessThan(
          0.15,
        );
      });
    });
  }

  it('calibrated GPUs are marked so in the catalogue', () => {
    for (const g of ['A40', 'A100-80GB', 'H100']) expect(gpuSpec(g).efficiency.calibrated).toBe(true);
    for (const g of ['L4', 'A10G', 'L40S', 'H200', 'MI300X'])
      expect(gpuSpec(g).efficiency.calibrated).toBe(false);
  });

  it('the tabulated smooth maximum matches the exact one', () => {
    const cost = new StepCostModel(gpuSpec('H100'), modelSpec('Llama-2-7B'), 1);
    const g = gpuSpec('H100');
    const bw = g.memBandwidthGBs * 1e9 * g.efficiency.memory;
    const fl = g.bf16Tflops * 1e12 * g.efficiency.compute;
    const lin = 6.476e9; // Llama-2-7B linear parameters
    for (const n of [1, 7, 100, 333, 1000, 5000]) {
      const exact =
        (32 * g.efficiency.perLayerUs) / 1000 +
        smoothMaxExact(((lin * 2) / bw) * 1e3, ((2 * lin * n) / fl) * 1e3, g.efficiency.overlap);
      expect(cost.linearMs(n) / exact - 1).toBeLessThan(1e-4);
    }
  });

  it('step time grows with batch and context: decode is memory bound, long prefill compute bound', () => {
    const cost = new StepCostModel(gpuSpec('A100-80GB'), modelSpec('Llama-3.1-8B'), 1);
    const decode1 = cost.stepMsOf(1, 1, 1000, 1001);
    const decode64 = cost.stepMsOf(64, 64, 64_000, 64_064);
    const decode64long = cost.stepMsOf(64, 64, 640_000, 640_064);
    expect(decode64).toBeLessThan(decode1 * 1.5); // weight reads dominate a small batch
    expect(decode64long).toBeGreaterThan(decode64 * 1.5); // KV reads grow with context
    const prefill2k = cost.stepMsOf(2048, 1, 0, 2048 * 1024.5);
    expect(prefill2k).toBeGreaterThan(decode1 * 5);
  });

  it('tensor parallelism shortens steps but adds all-reduce time', () => {
    const g = gpuSpec('H100');
    const m = modelSpec('Llama-3.1-70B');
    const tp4 = new StepCostModel(g, m, 4);
    const tp8 = new StepCostModel(g, m, 8);
    expect(tp8.stepMsOf(1, 1, 100, 101)).toBeLessThan(tp4.stepMsOf(1, 1, 100, 101));
    expect(tp4.allReduceMs(1)).toBeGreaterThan(0);
    expect(new StepCostModel(g, m, 1).allReduceMs(100)).toBe(0);
  });
});
