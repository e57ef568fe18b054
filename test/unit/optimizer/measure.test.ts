/**
 * Profiles measured on the replica model (`inferscale profile`): the search finds the edge of the
 * SLO, longer requests get lower rates, a measured rate holds on a re-run and 1.25× it does not.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Slo } from '../../../algorithms/optimizer/profile.js';
import {
  ReplicaBench,
  checkSlo,
  measureCellRepeated,
  replicaBenches,
  simulatorMeasure,
  statistic,
} from '../../../src/optimizer/measure.js';
import { buildProfile } from '../../../src/optimizer/profile-builder.js';
import { parseProfileDocument, readProfiles } from '../../../src/optimizer/profiles.js';
import {
  DEFAULT_INPUT_TICKS,
  DEFAULT_OUTPUT_TICKS,
  buildSlo,
  parseSloTarget,
  parseTicks,
  profileFileName,
  runProfile,
  type ProfileCliOptions,
} from '../../../src/cli/commands/profile.js';
import {
  gpuSpec,
  replicaPricePerHour,
  resolveDeployment,
  modelSpec,
} from '../../../simulator/model/hardware.js';

const SLO: Slo = { ttft: { seconds: 1, percentile: 90 }, itl: { seconds: 0.1, percentile: 90 } };
const MODEL = 'Llama-3.1-8B';

describe('SLO statistics', () => {
  it('nearest-rank percentiles and the mean', () => {
    expect(statistic([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(statistic([5, 1, 4, 2, 3], 90)).toBe(5);
    expect(statistic([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(statistic([1, 2, 6], 'mean')).toBe(3);
  });

  it('checks every target over all requests and over the later half', () => {
    const r = (id: number, ttftMs: number) => ({
      id,
      arrivalMs: id,
      inputTokens: 1,
      outputTokens: 2,
      cachedTokens: 0,
      finishReason: 'stop' as const,
      ttftMs,
      e2eMs: ttftMs + 10,
      queueMs: 0,
      prefillMs: 0,
      decodeMs: 10,
      tpotMs: 10,
      preemptions: 0,
    });
    // A backlog that builds up: the early requests hide it from the overall p50, the later half does not.
    const results = [100, 100, 100, 100, 100, 100, 900, 1500, 2000, 2500].map((t, i) => r(i, t));
    const [check] = checkSlo(results, { ttft: { seconds: 1, percentile: 50 } });
    expect(check).toMatchObject({ target: 'ttft p50', all: 0.1, laterHalf: 1.5, ok: false });
  });
});

describe('ReplicaBench (A100-80GB, TTFT p90 ≤ 1 s, mean ITL p90 ≤ 100 ms)', () => {
  const bench = new ReplicaBench('A100-80GB', MODEL);

  it('longer prompts get lower rates', () => {
    const rates = [256, 1024, 4096].map((input) => bench.measureCell(input, 128, SLO).maxRps);
    expect(rates[0]).toBeGreaterThan(rates[1]!);
    expect(rates[1]).toBeGreaterThan(rates[2]!);
    expect(rates[2]).toBeGreaterThan(0);
  });

  it('longer outputs get lower rates under an end-to-end SLO', () => {
    const e2e: Slo = { e2e: { seconds: 20, percentile: 90 } };
    const rates = [64, 256, 1024].map((output) => bench.measureCell(512, output, e2e).maxRps);
    expect(rates[0]).toBeGreaterThan(rates[1]!);
    expect(rates[1]).toBeGreaterThan(rates[2]!);
  });

  it('the measured rate meets the SLO when replayed, and 1.25× it does not', () => {
    for (const [input, output] of [
      [512, 128],
      [2048, 256],
    ] as const) {
      const m = bench.measureCell(input, output, SLO);
      const duration = Math.max(60, 4 * m.trials[0]!.simulatedSeconds);
      const at = bench.trial(input, output, m.maxRps, SLO, bench.requestsAt(m.maxRps, duration));
      const over = bench.trial(
        input,
        output,
        1.25 * m.maxRps,
        SLO,
        bench.requestsAt(1.25 * m.maxRps, duration),
      );
      expect(at.ok, JSON.stringify(at.checks)).toBe(true);
      expect(over.ok, JSON.stringify(over.checks)).toBe(false);
      // The search stopped within its tolerance of the edge.
      const failed = m.trials.filter((t) => !t.ok && t.requests > 1).map((t) => t.rate);
      expect(Math.min(...failed) / m.maxRps).toBeLessThanOrEqual(1.05 + 1e-9);
    }
  });

  it('is reproducible: same seed, same answer; another seed, a nearby one', () => {
    const a = bench.measureCell(1024, 128, SLO).maxRps;
    expect(new ReplicaBench('A100-80GB', MODEL).measureCell(1024, 128, SLO).maxRps).toBe(a);
    const other = new ReplicaBench('A100-80GB', MODEL, { seed: 7 }).measureCell(1024, 128, SLO).maxRps;
    expect(Math.abs(other / a - 1)).toBeLessThan(0.3);
  });

  it('a cell a lone request cannot meet is 0, with the reason; so is one the replica refuses', () => {
    const l4 = new ReplicaBench('L4', MODEL);
    const slow = l4.measureCell(8192, 16, SLO);
    expect(slow.maxRps).toBe(0);
    expect(slow.note).toMatch(/a lone request misses the SLO \(ttft p90 1\.\d+ s > 1 s\)/);
    expect(slow.trials).toHaveLength(1);
    const short = new ReplicaBench('A100-80GB', MODEL, { replica: { maxModelLen: 4096 } });
    expect(short.measureCell(4096, 128, SLO)).toMatchObject({
      maxRps: 0,
      note: expect.stringMatching(/refused/),
    });
  });

  it('the median of several seeds is reported with each seed’s answer', () => {
    const m = measureCellRepeated(replicaBenches('A100-80GB', MODEL, { repeats: 3 }), 512, 64, SLO);
    expect(m.perSeed).toHaveLength(3);
    expect(m.maxRps).toBe([...m.perSeed].sort((x, y) => x - y)[1]);
  });

  it('refuses nonsense options with the field named', () => {
    expect(() => new ReplicaBench('A100-80GB', MODEL, { tolerance: 0 })).toThrow(
      /tolerance must be a positive/,
    );
    expect(() => new ReplicaBench('A100-80GB', MODEL, { minRequests: 10, maxRequests: 5 })).toThrow(
      /maxRequests/,
    );
    expect(() => new ReplicaBench('A100-80GB', MODEL, { repeats: 0 })).toThrow(/repeats/);
  });
});

describe('profiles built on the replica model', () => {
  it('buildProfile + simulatorMeasure give a valid profile, rates falling with the prompt', async () => {
    const profile = await buildProfile({
      gpu: 'H100',
      model: MODEL,
      costPerHour: 3.9492,
      slo: SLO,
      grid: { input: [256, 2048], output: [64, 512] },
      measureMaxRate: simulatorMeasure({ repeats: 1 }),
    });
    expect(profile.maxRps).toHaveLength(2);
    for (let o = 0; o < 2; o++) expect(profile.maxRps[0]![o]).toBeGreaterThan(profile.maxRps[1]![o]!);
  });

  it('inferscale profile parses its flags', () => {
    expect(parseSloTarget('--slo-ttft', '1', 90)).toEqual({ seconds: 1, percentile: 90 });
    expect(parseSloTarget('--slo-itl', '250ms@p99', 90)).toEqual({ seconds: 0.25, percentile: 99 });
    expect(parseSloTarget('--slo-e2e', '2@mean', 90)).toEqual({ seconds: 2, percentile: 'mean' });
    expect(() => parseSloTarget('--slo-ttft', 'fast', 90)).toThrow(/expected SECONDS/);
    expect(parseTicks('--input', '128:1024')).toEqual([128, 256, 512, 1024]);
    expect(parseTicks('--output', '16,64')).toEqual([16, 64]);
    expect(() => parseTicks('--input', '1.5,2')).toThrow(/whole token counts/);
    expect(() => buildSlo({ percentile: '90' })).toThrow(/give at least one of --slo-ttft/);
    expect(profileFileName('Llama-3.1-8B', 'A100-80GB')).toBe('llama-3.1-8b-a100-80gb.yaml');
  });

  it('inferscale profile writes one file per GPU type into --out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'profile-'));
    const opts: ProfileCliOptions = {
      gpu: ['A10G,H100'],
      model: MODEL,
      sloTtft: '1',
      sloItl: '100ms',
      percentile: '90',
      input: '256,1024',
      output: '64',
      repeats: 1,
      out: dir,
      json: false,
      quiet: true,
    };
    const run = await runProfile(opts, () => new Date('2026-01-01T00:00:00Z'));
    expect(run.profiles.map((p) => p.path)).toEqual([
      join(dir, 'llama-3.1-8b-a10g.yaml'),
      join(dir, 'llama-3.1-8b-h100.yaml'),
    ]);
    const doc = parseProfileDocument(await readFile(join(dir, 'llama-3.1-8b-h100.yaml'), 'utf8'), 'h100');
    expect(doc.profiles[0]).toMatchObject({
      gpu: 'H100',
      model: MODEL,
      costPerHour: 3.9492,
      slo: SLO,
      grid: { input: [256, 1024], output: [64] },
      measuredAt: '2026-01-01T00:00:00.000Z',
    });
    expect(run.output).toMatch(
      /Llama-3.1-8B on A10G \(TP 1, \$1\.0060\/h\): max req\/s per replica within TTFT p90 ≤ 1 s, ITL p90 ≤ 0\.1 s/,
    );
  });
});

describe('the checked-in Llama-3.1-8B profiles', () => {
  it('cover the documented GPU types on the default grid at TTFT p90 ≤ 1 s and mean ITL p90 ≤ 100 ms', async () => {
    const doc = await readProfiles(['config/profiles']);
    const ours = doc.profiles.filter((p) => p.model === MODEL);
    expect(ours.map((p) => p.gpu).sort()).toEqual([
      'A100-40GB',
      'A100-80GB',
      'A10G',
      'H100',
      'H200',
      'L4',
      'L40S',
    ]);
    for (const p of ours) {
      expect(p.slo).toEqual(SLO);
      expect(p.grid).toEqual({ input: DEFAULT_INPUT_TICKS, output: DEFAULT_OUTPUT_TICKS });
      const deployment = resolveDeployment(gpuSpec(p.gpu), modelSpec(MODEL));
      expect(p.costPerHour).toBeCloseTo(replicaPricePerHour(deployment)!, 6);
      // Sanity: for every output length, a 4× longer prompt never gets a higher rate.
      for (let i = 2; i < p.grid.input.length; i++) {
        p.grid.output.forEach((_, o) =>
          expect(p.maxRps[i]![o]!).toBeLessThanOrEqual(p.maxRps[i - 2]![o]! + 1e-9),
        );
      }
    }
  });
});
