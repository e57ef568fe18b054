import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AibrixProfileSchema,
  fromAibrixProfile,
  melangeGrid,
  profileMaxRps,
  profilesFromMelange,
  ProfileSchema,
  PROFILE_KIND,
} from '../../../algorithms/optimizer/profile.js';
import { buildProfile } from '../../../src/optimizer/profile-builder.js';
import {
  parseProfileDocument,
  readProfiles,
  serializeProfile,
  writeProfile,
} from '../../../src/optimizer/profiles.js';
import { aibrixProfile, AIBRIX_PROFILES, melangeExample, profile } from './fixtures.js';

const GRID = { input: [128, 256], output: [4, 8, 16] };

describe('profile schema', () => {
  it('accepts a well-formed profile and fills defaults', () => {
    const p = profile('A100', 3.67, GRID, [
      [10, 8, 6],
      [5, 4, 0],
    ]);
    expect(p.currency).toBe('USD');
    expect(p.gpusPerReplica).toBe(1);
  });

  it('names the row whose length does not match the grid', () => {
    const r = ProfileSchema.safeParse({
      kind: PROFILE_KIND,
      version: 1,
      gpu: 'A100',
      model: 'm',
      costPerHour: 1,
      slo: null,
      grid: GRID,
      maxRps: [
        [1, 2, 3],
        [1, 2],
      ],
    });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/row 1 \(input 256\) has 2 values but grid.output has 3/);
  });

  it('requires at least one SLO target unless slo is null', () => {
    const base = {
      kind: PROFILE_KIND,
      version: 1,
      gpu: 'g',
      model: 'm',
      costPerHour: 1,
      grid: GRID,
      maxRps: [
        [1, 1, 1],
        [1, 1, 1],
      ],
    };
    expect(ProfileSchema.safeParse({ ...base, slo: {} }).success).toBe(false);
    expect(
      ProfileSchema.safeParse({ ...base, slo: { ttft: { seconds: 0.5, percentile: 99 } } }).success,
    ).toBe(true);
    expect(
      ProfileSchema.safeParse({ ...base, slo: { itl: { seconds: 0.05, percentile: 'mean' } } }).success,
    ).toBe(true);
    expect(ProfileSchema.safeParse({ ...base, costPerHour: 0, slo: null }).success).toBe(false);
  });

  it('looks cells up conservatively: the next larger tick, 0 beyond the profiled range', () => {
    const p = profile('A100', 1, GRID, [
      [10, 8, 6],
      [5, 4, 3],
    ]);
    expect(profileMaxRps(p, 128, 8)).toBe(8);
    expect(profileMaxRps(p, 200, 8)).toBe(4); // between 128 and 256 → the 256 row
    expect(profileMaxRps(p, 64, 2)).toBe(10);
    expect(profileMaxRps(p, 512, 4)).toBe(0);
    expect(profileMaxRps(p, 128, 32)).toBe(0);
  });
});

describe('AIBrix profiles', () => {
  it('transposes tputs (rows = output) into maxRps (rows = input)', () => {
    const a100 = aibrixProfile('simulator-llama2-7b-a100.json', 'A100');
    expect(a100.grid).toEqual({
      input: [128, 256, 512, 1024, 2048],
      output: [4, 8, 16, 32, 64, 128, 256, 512],
    });
    expect(a100.maxRps[0]?.[0]).toBeCloseTo(62.4770592037908, 12); // out 4, in 128
    expect(a100.maxRps[4]?.[0]).toBeCloseTo(4.25505318548248, 12); // out 4, in 2048
    expect(a100.maxRps[3]?.[5]).toBeCloseTo(4.021491925138638, 12); // out 128, in 1024
    expect(a100.maxRps.map((row) => row[7])).toEqual([0, 0, 0, 0, 0]); // out 512 misses the SLO
    expect(a100.maxRps[4]?.[6]).toBe(0); // (in 2048, out 256)
    expect(a100.slo).toEqual({ e2e: { seconds: 5, percentile: 99 } });
    expect(a100.costPerHour).toBe(1);
    expect(a100.currency).toBe('relative');
  });

  it('reads a profile without slos as a saturation profile', () => {
    const a40 = aibrixProfile('simulator-llama2-7b-a40.json', 'A40');
    expect(a40.slo).toBeNull();
    expect(a40.costPerHour).toBe(0.3);
    expect(a40.measuredAt).toBe(new Date(1732598726235.767).toISOString());
  });

  it('maps tpot to itl, mean percentile to "mean", and refuses SLOs we cannot express', () => {
    const raw = AibrixProfileSchema.parse({
      gpu: 'x',
      cost: 1,
      tputs: [[1]],
      indexes: [[4], [128]],
      slos: { percentile: 0, tpot: 0.05, ttft: 1 },
    });
    expect(fromAibrixProfile(raw, { model: 'm' }).slo).toEqual({
      itl: { seconds: 0.05, percentile: 'mean' },
      ttft: { seconds: 1, percentile: 'mean' },
    });
    const tpat = AibrixProfileSchema.parse({ ...raw, slos: { percentile: 99, tpat: 0.01 } });
    expect(() => fromAibrixProfile(tpat, { model: 'm' })).toThrow(/"tpat" has no inferscale equivalent/);
  });

  it('rejects tputs whose shape disagrees with indexes', () => {
    const raw = AibrixProfileSchema.parse({ gpu: 'x', cost: 1, tputs: [[1, 2]], indexes: [[4], [128]] });
    expect(() => fromAibrixProfile(raw, { model: 'm' })).toThrow(/row 0 has 2 values but indexes\[1\]/);
  });

  it('the converted files in config/profiles equal a fresh conversion', async () => {
    const doc = await readProfiles(['config/profiles']);
    // The measured Llama-3.1-8B profiles live there too (test/unit/optimizer/measure.test.ts).
    const byGpu = new Map(doc.profiles.filter((p) => p.model === 'llama2-7b').map((p) => [p.gpu, p]));
    expect([...byGpu.keys()].sort()).toEqual(['A100', 'A40']);
    // The files keep 6 significant digits.
    const same = (a: number[][] | undefined, b: number[][]): void =>
      b.forEach((row, i) => row.forEach((v, o) => expect(a?.[i]?.[o]).toBeCloseTo(v, 3)));
    same(byGpu.get('A100')?.maxRps, aibrixProfile('simulator-llama2-7b-a100.json', 'A100').maxRps);
    same(byGpu.get('A40')?.maxRps, aibrixProfile('simulator-llama2-7b-a40.json', 'A40').maxRps);
  });
});

describe('Mélange configs', () => {
  it('become one profile per GPU on a positional grid', () => {
    const cfg = melangeExample();
    const profiles = profilesFromMelange(cfg);
    expect(melangeGrid(cfg)).toEqual({ input: [1, 2], output: [1, 2] });
    expect(profiles.map((p) => [p.gpu, p.costPerHour])).toEqual([
      ['A10G', 1.01],
      ['A100-80GB', 3.67],
    ]);
    expect(profiles[1]?.maxRps).toEqual([
      [20, 20],
      [40, 20],
    ]);
  });
});

describe('profile files', () => {
  it('recognises all three formats by content', async () => {
    const doc = await readProfiles(
      [`${AIBRIX_PROFILES}/config_example.json`, `${AIBRIX_PROFILES}/simulator-llama2-7b-a40.json`],
      {
        model: 'llama2-7b',
      },
    );
    expect(doc.melange?.total_request_rate).toBe(30);
    expect(doc.profiles.map((p) => p.gpu)).toEqual(['A10G', 'A100-80GB', 'simulator-llama2-7b-a40']);
  });

  it('round-trips through YAML and JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'inferscale-profile-'));
    const p = aibrixProfile('simulator-llama2-7b-a100.json', 'A100');
    await writeProfile(join(dir, 'a.yaml'), p, { digits: 'full' });
    await writeProfile(join(dir, 'b.json'), { ...p, gpu: 'B' }, { digits: 'full' });
    await writeProfile(join(dir, 'c.yaml'), { ...p, gpu: 'C' });
    const yaml = await readFile(join(dir, 'a.yaml'), 'utf8');
    expect(yaml).toMatch(/^# inferscale GPU profile/);
    expect(yaml).toMatch(/input: \[128, 256, 512, 1024, 2048\]/);
    const doc = await readProfiles([dir]);
    expect(doc.profiles.slice(0, 2)).toEqual([p, { ...p, gpu: 'B' }]);
    // By default rates keep 6 significant digits.
    expect(await readFile(join(dir, 'c.yaml'), 'utf8')).toMatch(/- \[62\.4771, 60\.3165, 31\.3902,/);
    expect(doc.profiles[2]?.maxRps[0]?.[0]).toBe(62.4771);
  });

  it('refuses to write an invalid profile', () => {
    expect(() =>
      serializeProfile({
        ...profile('g', 1, GRID, [
          [1, 1, 1],
          [1, 1, 1],
        ]),
        maxRps: [[1]],
      }),
    ).toThrow(/refusing to write an invalid profile: maxRps/);
  });

  it('names the file and the field in errors', async () => {
    expect(() => parseProfileDocument('{"kind":"GpuProfile","version":1}', 'x.json')).toThrow(
      /x.json: invalid profile: gpu/,
    );
    expect(() => parseProfileDocument('{"hello":1}', 'y.json')).toThrow(/y.json: not a profile/);
    expect(() => parseProfileDocument('{', 'z.json')).toThrow(/z.json: invalid JSON/);
    const dir = await mkdtemp(join(tmpdir(), 'inferscale-profile-'));
    await writeFile(join(dir, 'bad.yaml'), 'kind: GpuProfile\nversion: 1\ngpu: [unclosed\n');
    await expect(readProfiles([dir])).rejects.toThrow(/bad.yaml: invalid YAML/);
    await expect(readProfiles([join(dir, 'missing')])).rejects.toThrow(/cannot read profiles from/);
  });

  it('reads several YAML documents from one file', () => {
    const p = profile('g', 1, GRID, [
      [1, 1, 1],
      [1, 1, 1],
    ]);
    const text = serializeProfile(p) + '---\n' + serializeProfile({ ...p, gpu: 'h' });
    expect(parseProfileDocument(text, 'multi.yaml').profiles.map((x) => x.gpu)).toEqual(['g', 'h']);
  });
});

describe('buildProfile', () => {
  it('measures every cell through the injected function and validates the result', async () => {
    const calls: string[] = [];
    const built = await buildProfile({
      gpu: 'L4',
      model: 'm',
      costPerHour: 0.8,
      slo: { ttft: { seconds: 1, percentile: 99 }, itl: { seconds: 0.05, percentile: 99 } },
      grid: GRID,
      measuredAt: new Date('2026-01-01T00:00:00Z'),
      measureMaxRate: async (gpu, model, input, output, slo) => {
        calls.push(`${gpu}/${model}/${input}/${output}/${slo.ttft?.seconds}`);
        return output === 16 && input === 256 ? 0 : 1000 / (input + 10 * output);
      },
    });
    expect(calls).toHaveLength(6);
    expect(calls[0]).toBe('L4/m/128/4/1');
    expect(built.maxRps[1]?.[2]).toBe(0);
    expect(built.maxRps[0]?.[0]).toBeCloseTo(1000 / 168, 12);
    expect(built.measuredAt).toBe('2026-01-01T00:00:00.000Z');
    expect(
      parseProfileDocument(serializeProfile(built, { digits: 'full' }), 'built.yaml').profiles[0],
    ).toEqual(built);
  });

  it('reports the cell a measurement failed or returned nonsense for', async () => {
    const base = {
      gpu: 'L4',
      model: 'm',
      costPerHour: 1,
      slo: { e2e: { seconds: 5, percentile: 99 } },
      grid: GRID,
    };
    await expect(buildProfile({ ...base, measureMaxRate: async () => NaN })).rejects.toThrow(
      /input 128 \/ output 4 returned NaN/,
    );
    await expect(
      buildProfile({
        ...base,
        measureMaxRate: async (_g, _m, i) => {
          if (i === 256) throw new Error('replica crashed');
          return 1;
        },
      }),
    ).rejects.toThrow(/input 256 \/ output 4 failed: replica crashed/);
  });
});
