import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  autoTensorParallel,
  catalog,
  gpuSpec,
  loadCatalog,
  modelShape,
  modelSpec,
  replicaPricePerHour,
  resolveDeployment,
} from '../../../simulator/model/hardware.js';
import { coldStartMedians, sampleColdStart } from '../../../simulator/model/cold-start.js';
import { Rng } from '../../../simulator/traces/rng.js';

describe('hardware catalogue', () => {
  it('has the GPUs and models the simulator promises', () => {
    const c = catalog();
    expect([...c.gpus.keys()].sort()).toEqual(
      ['A10G', 'A100-40GB', 'A100-80GB', 'A40', 'H100', 'H200', 'L4', 'L40S', 'MI300X'].sort(),
    );
    expect([...c.models.keys()].sort()).toEqual([
      'Llama-2-70B',
      'Llama-2-7B',
      'Llama-3.1-70B',
      'Llama-3.1-8B',
    ]);
    for (const g of c.gpus.values()) if (g.name !== 'A40') expect(g.price?.usdPerHour).toBeGreaterThan(0);
  });

  it('finds entries by alias and Hugging Face id, case-insensitively', () => {
    expect(gpuSpec('a100').name).toBe('A100-80GB');
    expect(gpuSpec('h100-sxm').name).toBe('H100');
    expect(modelSpec('meta-llama/Llama-3.1-8B-Instruct').name).toBe('Llama-3.1-8B');
    expect(modelSpec('llama2-7b').name).toBe('Llama-2-7B');
    expect(() => gpuSpec('TPU')).toThrow(/unknown GPU 'TPU'; known: L4, A10G/);
  });

  it('derives parameter counts and KV bytes per token from the architecture', () => {
    expect(modelShape(modelSpec('Llama-2-7B')).linearParams / 1e9).toBeCloseTo(6.476, 3);
    expect(modelShape(modelSpec('Llama-2-70B')).linearParams / 1e9).toBeCloseTo(68.45, 2);
    expect(modelShape(modelSpec('Llama-3.1-8B')).kvBytesPerToken).toBe(131072);
    expect(modelShape(modelSpec('Llama-2-7B')).kvBytesPerToken).toBe(524288);
    expect(modelShape(modelSpec('Llama-3.1-70B')).kvBytesPerToken).toBe(327680);
    expect(modelShape(modelSpec('Llama-3.1-8B')).weightBytes / 1e9).toBeCloseTo(16.06, 1);
  });

  it('sizes the KV cache like the reference estimates (memory x 0.9 - weights - 2 GB)', () => {
    const tokens = (gpu: string, model: string, tp?: number) =>
      resolveDeployment(gpuSpec(gpu), modelSpec(model), tp ? { tp } : {}).kvCapacityTokens;
    // Reference table, section 3.3 item 3 (k tokens, rounded).
    expect(tokens('L4', 'Llama-3.1-8B') / 1000).toBeCloseTo(27, 0);
    expect(tokens('A100-40GB', 'Llama-3.1-8B') / 1000).toBeCloseTo(137, 0);
    expect(tokens('L40S', 'Llama-3.1-8B') / 1000).toBeCloseTo(192, 0);
    expect(tokens('H100', 'Llama-3.1-8B') / 1000).toBeCloseTo(412, -1);
    expect(tokens('H200', 'Llama-2-7B') / 1000).toBeCloseTo(213, -1);
    expect(tokens('MI300X', 'Llama-3.1-70B', 1) / 1000).toBeCloseTo(91, 0);
  });

  it('uses vLLM V1 scheduler defaults per GPU and caps max model len to the KV cache', () => {
    const h100 = resolveDeployment(gpuSpec('H100'), modelSpec('Llama-3.1-8B'));
    expect([h100.maxNumBatchedTokens, h100.maxNumSeqs]).toEqual([8192, 1024]);
    const a100 = resolveDeployment(gpuSpec('A100-80GB'), modelSpec('Llama-3.1-8B'));
    expect([a100.maxNumBatchedTokens, a100.maxNumSeqs]).toEqual([2048, 256]);
    const l4 = resolveDeployment(gpuSpec('L4'), modelSpec('Llama-3.1-8B'));
    expect(l4.maxModelLen).toBe(l4.kvCapacityTokens);
    expect(() =>
      resolveDeployment(gpuSpec('L4'), modelSpec('Llama-3.1-8B'), { maxModelLen: 100_000 }),
    ).toThrow(/larger than the \d+ tokens the KV cache/);
  });

  it('picks the smallest tensor parallelism that fits and prices the replica by GPU count', () => {
    expect(autoTensorParallel(gpuSpec('H100'), modelSpec('Llama-3.1-8B'))).toBe(1);
    expect(autoTensorParallel(gpuSpec('H100'), modelSpec('Llama-3.1-70B'))).toBe(4);
    expect(autoTensorParallel(gpuSpec('L4'), modelSpec('Llama-3.1-70B'))).toBe(8);
    expect(autoTensorParallel(gpuSpec('MI300X'), modelSpec('Llama-3.1-70B'))).toBe(1);
    // TP=2 would fit with a 6 k-token cache; an operator runs TP=4.
    expect(autoTensorParallel(gpuSpec('A100-80GB'), modelSpec('Llama-2-70B'))).toBe(4);
    expect(autoTensorParallel(gpuSpec('L4'), modelSpec('Llama-2-7B'))).toBe(1);
    const d = resolveDeployment(gpuSpec('H100'), modelSpec('Llama-3.1-70B'));
    expect(d.tp).toBe(4);
    expect(replicaPricePerHour(d)).toBeCloseTo(4 * (gpuSpec('H100').price?.usdPerHour ?? NaN), 9);
    expect(() => resolveDeployment(gpuSpec('H100'), modelSpec('Llama-3.1-70B'), { tp: 1 })).toThrow(
      /no KV cache/,
    );
  });

  it('reports a broken catalogue file with the field at fault', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferscale-hw-'));
    const bad = join(dir, 'gpus.yaml');
    writeFileSync(
      bad,
      'coldStartDefaults: {nodeProvisionS: 1, imagePullCachedS: 1, imagePullUncachedS: 1, weightLoadGBps: 1, weightLoadFixedS: 1, cv: 0.2}\ngpus:\n  X1:\n    vendor: nvidia\n    memoryGB: -4\n',
    );
    expect(() => loadCatalog({ gpus: bad })).toThrow(/gpus\.yaml: invalid catalogue: gpus\.X1\.memoryGB/);
  });
});

describe('cold start', () => {
  it('adds up the phases from the reference defaults', () => {
    const m = coldStartMedians(gpuSpec('A100-80GB'), modelSpec('Llama-3.1-8B'), { imageCached: false });
    expect(m.nodeProvisionS).toBe(0);
    expect(m.imagePullS).toBe(60);
    expect(m.weightLoadS).toBeCloseTo(16.06 / 1.5 + 5, 1);
    expect(m.readyAfterS).toBeCloseTo(60 + m.weightLoadS + 30, 6);
    const cold = coldStartMedians(gpuSpec('H100'), modelSpec('Llama-3.1-70B'), {
      tp: 4,
      nodeAvailable: false,
      registryCached: false,
    });
    expect(cold.nodeProvisionS).toBe(90);
    expect(cold.imagePullS).toBe(300);
    expect(cold.engineInitS).toBe(90);
  });

  it('draws phases around their medians, reproducibly', () => {
    const draw = (seed: number) =>
      Array.from({ length: 400 }, (_, i) =>
        sampleColdStart(gpuSpec('L4'), modelSpec('Llama-2-7B'), new Rng(seed * 1000 + i)),
      );
    const a = draw(1);
    expect(draw(1)).toEqual(a);
    const init = a.map((s) => s.engineInitS).sort((x, y) => x - y);
    expect(init[200]).toBeGreaterThan(27);
    expect(init[200]).toBeLessThan(33);
  });
});
