import { describe, expect, it } from 'vitest';
import {
  scaleWorkload,
  workloadCells,
  workloadEnvelope,
  workloadFromDistribution,
  workloadFromMatrix,
  workloadFromRequests,
  type RequestRecord,
  type Workload,
} from '../../../algorithms/optimizer/workload.js';
import { loadFromWorkloadFile, parseWorkloadFile } from '../../../src/optimizer/workload-file.js';

const GRID = { input: [128, 256, 512], output: [16, 32] };

function req(arrivalMs: number, inputTokens: number, outputTokens: number): RequestRecord {
  return { arrivalMs, inputTokens, outputTokens };
}

describe('workloadFromRequests', () => {
  it('mean rate = requests / span, bucketed by nearest tick', () => {
    const load = workloadFromRequests(
      [req(0, 128, 16), req(1000, 260, 30), req(2000, 120, 17), req(4000, 500, 32)],
      GRID,
      { rounding: 'nearest', window: { kind: 'mean' } },
    );
    if (load.kind !== 'ok') throw new Error(load.message);
    expect(load.workload.totalRps).toBe(1); // 4 requests over 4 s
    expect(load.workload.rps).toEqual([
      [0.5, 0],
      [0, 0.25],
      [0, 0.25],
    ]);
    expect(workloadCells(load.workload)[0]).toEqual({ input: 128, output: 16, rps: 0.5 });
  });

  it('peak window picks the busiest stretch and its shape', () => {
    const requests = [
      req(0, 128, 16),
      req(10_000, 512, 32),
      req(10_500, 512, 32),
      req(10_900, 512, 32),
      req(30_000, 128, 16),
    ];
    const load = workloadFromRequests(requests, GRID, {
      rounding: 'nearest',
      window: { kind: 'peak', seconds: 1 },
    });
    if (load.kind !== 'ok') throw new Error(load.message);
    expect(load.workload.totalRps).toBe(3);
    expect(load.workload.rps[2]?.[1]).toBe(3);
    expect(load.notes.join(' ')).toMatch(/peak 1 s window starts 10.0 s into the log with 3 requests/);
  });

  it('counts lengths beyond the grid in the last tick and says so', () => {
    const load = workloadFromRequests([req(0, 4096, 16), req(1000, 128, 16)], GRID, {
      rounding: 'up',
      window: { kind: 'mean' },
    });
    if (load.kind !== 'ok') throw new Error(load.message);
    expect(load.workload.rps[2]?.[0]).toBe(1);
    expect(load.workload.clampedRps).toBe(1);
    expect(load.notes.join(' ')).toMatch(/1 of 2 requests are longer than the grid/);
  });

  it('no requests, or no time span, is no-data rather than a zero rate', () => {
    expect(workloadFromRequests([], GRID, { rounding: 'up', window: { kind: 'mean' } }).kind).toBe('no-data');
    const same = workloadFromRequests([req(5, 128, 16), req(5, 128, 16)], GRID, {
      rounding: 'up',
      window: { kind: 'mean' },
    });
    expect(same).toMatchObject({ kind: 'no-data', message: expect.stringMatching(/same instant/) });
    expect(() =>
      workloadFromRequests([req(0, -1, 16)], GRID, { rounding: 'up', window: { kind: 'mean' } }),
    ).toThrow(/request #0/);
  });
});

describe('workloadFromDistribution', () => {
  it('normalises weights and spreads the total rate', () => {
    const load = workloadFromDistribution(
      [
        { input: 128, output: 16, weight: 3 },
        { input: 512, output: 32, weight: 1 },
      ],
      8,
      GRID,
      'nearest',
    );
    if (load.kind !== 'ok') throw new Error(load.message);
    expect(load.workload.rps[0]?.[0]).toBe(6);
    expect(load.workload.rps[2]?.[1]).toBe(2);
    expect(load.workload.totalRps).toBe(8);
    expect(scaleWorkload(load.workload, 0.5).rps[0]?.[0]).toBe(3);
  });

  it('all-zero weights are no-data', () => {
    expect(workloadFromDistribution([{ input: 128, output: 16, weight: 0 }], 5, GRID, 'up').kind).toBe(
      'no-data',
    );
  });

  it('a dense matrix maps row i to input tick i', () => {
    const load = workloadFromMatrix(
      [
        [0.2, 0.1],
        [0.5, 0.2],
      ],
      30,
      { input: [1, 2], output: [1, 2] },
    );
    if (load.kind !== 'ok') throw new Error(load.message);
    expect(load.workload.rps.flat().map((r) => Math.round(r * 1e9) / 1e9)).toEqual([6, 3, 15, 6]);
  });
});

describe('workloadEnvelope', () => {
  const matrix = (rps: number[][], grid = GRID): Workload => ({
    grid,
    rps,
    totalRps: rps.flat().reduce((a, b) => a + b, 0),
    clampedRps: 0,
  });
  it('takes every cell at its peak, whichever estimate it peaked in', () => {
    const short = matrix([
      [4, 0],
      [0, 0],
      [0, 1],
    ]);
    const long = matrix([
      [2, 0],
      [0, 0],
      [0, 3],
    ]);
    const e = workloadEnvelope([short, long]);
    expect(e.rps).toEqual([
      [4, 0],
      [0, 0],
      [0, 3],
    ]);
    expect(e.totalRps).toBe(7); // more than either total (5): each served alone would not do
    expect(short.rps[0]![0]).toBe(4); // the inputs are left as they were
    expect(() => workloadEnvelope([short, matrix([[1]], { input: [1], output: [1] })])).toThrow(
      /different grids/,
    );
    expect(() => workloadEnvelope([])).toThrow(/no workload/);
  });
});

describe('workload files', () => {
  it('reads a distribution in YAML', () => {
    const file = parseWorkloadFile(
      'totalRps: 4\ncells:\n  - {input: 128, output: 16, weight: 1}\n',
      'w.yaml',
    );
    const load = loadFromWorkloadFile(file, GRID, 'nearest');
    expect(load.kind === 'ok' && load.workload.rps[0]?.[0]).toBe(4);
  });

  it('reads engine histogram increases', () => {
    const file = parseWorkloadFile(
      JSON.stringify({
        windowSeconds: 10,
        pods: [
          {
            pod: 'p',
            prompt: { count: 20, sum: 2560, buckets: [{ le: 128, count: 20 }] },
            generation: { count: 20, sum: 320, buckets: [{ le: 16, count: 20 }] },
          },
        ],
      }),
      'h.json',
    );
    const load = loadFromWorkloadFile(file, GRID, 'up');
    expect(load.kind === 'ok' && load.workload.totalRps).toBe(2);
  });

  it('explains what a workload file must look like', () => {
    expect(() => parseWorkloadFile('{"rate": 3}', 'x.json')).toThrow(/x.json: not a workload file/);
  });
});
