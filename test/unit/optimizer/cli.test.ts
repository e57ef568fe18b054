import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOptimize, type OptimizeCliOptions } from '../../../src/cli/commands/optimize.js';
import { AIBRIX_PROFILES } from './fixtures.js';

const base: OptimizeCliOptions = {
  profiles: ['config/profiles'],
  headroom: 0,
  unitsPerReplica: 1,
  rounding: 'nearest',
  timeLimit: 10,
  compare: true,
  json: false,
};

describe('inferscale optimize', () => {
  it("reads AIBrix's config_example.json whole: profiles, workload and slice factor", async () => {
    const run = await runOptimize({
      ...base,
      profiles: [`${AIBRIX_PROFILES}/config_example.json`],
      json: true,
    });
    expect(run.exitCode).toBe(0);
    const out = JSON.parse(run.output);
    expect(out.result.kind).toBe('plan');
    expect(out.result.plan.costPerHour).toBeCloseTo(6.7, 9);
    expect(
      Object.fromEntries(
        out.result.plan.gpus.map((g: { gpu: string; replicas: number }) => [g.gpu, g.replicas]),
      ),
    ).toEqual({
      A10G: 3,
      'A100-80GB': 1,
    });
    expect(out.alternatives).toMatchObject([
      { gpu: 'A10G', kind: 'plan', replicas: 12 },
      { gpu: 'A100-80GB', kind: 'plan', replicas: 2 },
    ]);
    expect(out.alternatives[0].costPerHour).toBeCloseTo(12.12, 9);
    expect(out.alternatives[1].costPerHour).toBeCloseTo(7.34, 9);
    expect(out.solver.name).toBe('highs');
  });

  it('prints a table with the mix, the cost and each bucket', async () => {
    const run = await runOptimize({
      ...base,
      model: 'llama2-7b',
      cell: ['1024:128'],
      rate: 10,
      price: ['A100=3.67', 'A40=1.1'],
    });
    expect(run.exitCode).toBe(0);
    expect(run.output).toMatch(
      /Cheapest GPU mix for llama2-7b at 10.000 req\/s: \$4.4000 per hour \(proven optimal/,
    );
    expect(run.output).toMatch(/A40\s+4\s+4.4000/);
    expect(run.output).toMatch(/1024\s+128\s+10.000\s+A40 100%/);
    expect(run.output).toMatch(/Single-GPU-type alternatives/);
  });

  it('exits 2 with the typed reason when no GPU type can serve a bucket', async () => {
    const run = await runOptimize({
      ...base,
      model: 'llama2-7b',
      gpus: ['A100'],
      cell: ['2048:512'],
      rate: 1,
    });
    expect(run.exitCode).toBe(2);
    expect(run.output).toMatch(/No plan for llama2-7b: infeasible \(unservable\)/);
    const json = JSON.parse(
      (
        await runOptimize({
          ...base,
          model: 'llama2-7b',
          gpus: ['A100'],
          cell: ['2048:512'],
          rate: 1,
          json: true,
        })
      ).output,
    );
    expect(json.result).toMatchObject({ kind: 'infeasible', reason: 'unservable' });
  });

  it('plans from a trace for its busiest window, with caps', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'inferscale-opt-'));
    const trace = join(dir, 't.jsonl');
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ t: i < 30 ? i * 0.1 : 3 + i, input: 1000, output: 120 }),
    );
    await writeFile(trace, lines.join('\n') + '\n');
    const run = await runOptimize({
      ...base,
      model: 'llama2-7b',
      trace,
      window: 3,
      max: ['A40=1'],
      json: true,
    });
    const out = JSON.parse(run.output);
    expect(out.workload.totalRps).toBeCloseTo(10, 9); // 30 requests in the first 3 s
    expect(out.result.kind).toBe('plan');
    const a40 = out.result.plan.gpus.find((g: { gpu: string }) => g.gpu === 'A40');
    expect(a40.replicas).toBeLessThanOrEqual(1);
  });

  it('--gap stops within a fraction of the proven lower bound, and says so', async () => {
    const args = {
      ...base,
      model: 'Llama-3.1-8B',
      cell: ['128:128', '512:256', '2048:128', '4096:512'],
      rate: 23,
      sliceFactor: '1',
    };
    const exact = JSON.parse((await runOptimize({ ...args, json: true })).output).result.plan;
    expect(exact).toMatchObject({ proven: true, gap: 0 });
    expect(exact.lowerBound).toBe(exact.costPerHour);
    const loose = JSON.parse((await runOptimize({ ...args, gap: 0.3, json: true })).output).result.plan;
    expect(loose.proven).toBe(true);
    expect(loose.gap).toBeLessThanOrEqual(0.3);
    expect(loose.lowerBound).toBeLessThanOrEqual(exact.costPerHour + 1e-9);
    expect(loose.costPerHour).toBeGreaterThanOrEqual(exact.costPerHour - 1e-9);
    const text = (await runOptimize({ ...args, gap: 0.3 })).output;
    expect(text).toMatch(
      loose.gap > 0
        ? /\(within the requested gap: at most \d+\.\d\d% above the proven lower bound \$\d+\.\d{4}/
        : /\(proven optimal/,
    );
  });

  it('rejects bad flags with a message naming them', async () => {
    await expect(
      runOptimize({ ...base, model: 'llama2-7b', cell: ['1024:128'], rate: 1, max: ['H100=2'] }),
    ).rejects.toThrow(/--max H100=2: no profile for GPU type H100/);
    await expect(runOptimize({ ...base, model: 'llama2-7b', cell: ['1024'], rate: 1 })).rejects.toThrow(
      /--cell 1024: expected INPUT:OUTPUT/,
    );
    await expect(runOptimize({ ...base, model: 'llama2-7b', cell: ['1024:128'] })).rejects.toThrow(
      /--cell needs --rate/,
    );
    await expect(runOptimize({ ...base, model: 'llama2-7b' })).rejects.toThrow(/no workload/);
    await expect(runOptimize({ ...base, model: 'gpt', cell: ['1:1'], rate: 1 })).rejects.toThrow(
      /no profile for model gpt/,
    );
    await expect(
      runOptimize({ ...base, model: 'llama2-7b', cell: ['1024:128'], rate: 1, sliceFactor: 'lots' }),
    ).rejects.toThrow(/--slice-factor lots/);
  });
});
