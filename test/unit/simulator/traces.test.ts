import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  detectTraceFormat,
  formatInferscaleJsonl,
  parseAzureTimestamp,
  readAibrixJsonl,
  readAzureCsv,
  readInferscaleJsonl,
  readMooncakeJsonl,
  readTrace,
} from '../../../simulator/traces/readers.js';
import { forEachLine } from '../../../simulator/traces/lines.js';
import { traceStats } from '../../../simulator/traces/transform.js';
import { TraceFormatError } from '../../../simulator/traces/types.js';

const TRACES = '/work/shared/traces';
const WORKLOADS = '/work/shared/aibrix-data/workloads';
const dir = mkdtempSync(join(tmpdir(), 'inferscale-traces-'));
function tmp(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('Azure 2023 CSV', () => {
  it('reads the conversation hour with the published statistics', () => {
    const t = readAzureCsv(`${TRACES}/AzureLLMInferenceTrace_conv.csv`);
    const s = traceStats(t.requests);
    expect(t.format).toBe('azure-csv');
    expect(s.requests).toBe(19366);
    expect(s.durationS).toBeCloseTo(3501.7, 0);
    expect(s.input.mean).toBeCloseTo(1155, -1);
    expect(s.input.max).toBe(14050);
    expect(s.output.mean).toBeCloseTo(211, -1);
    expect(t.requests[0]).toEqual({ id: 0, arrivalMs: 0, inputTokens: 374, outputTokens: 44 });
    expect(t.startEpochMs).toBeCloseTo(Date.UTC(2023, 10, 16, 18, 15, 46) + 680.59, 3);
  });

  it('reads the coding hour', () => {
    const s = traceStats(readTrace(`${TRACES}/AzureLLMInferenceTrace_code.csv`).requests);
    expect(s.requests).toBe(8819);
    expect(s.durationS).toBeCloseTo(3435.9, 0);
    expect(s.input.mean).toBeCloseTo(2048, -1);
  });

  it('parses 2023 and 2024 timestamp forms', () => {
    expect(parseAzureTimestamp('2023-11-16 18:17:03.9799600')).toBeCloseTo(
      Date.UTC(2023, 10, 16, 18, 17, 3) + 979.96,
      6,
    );
    expect(parseAzureTimestamp('2024-05-10 00:00:01+00:00')).toBe(Date.UTC(2024, 4, 10, 0, 0, 1));
    expect(parseAzureTimestamp('2024-05-10 02:00:00.5+02:00')).toBe(Date.UTC(2024, 4, 10, 0, 0, 0, 500));
    expect(parseAzureTimestamp('yesterday')).toBeNaN();
  });

  it('reports bad rows with file and line', () => {
    const p = tmp(
      'bad.csv',
      'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:00:00.0,10,5\n2023-11-16 18:00:01.0,abc,5\n',
    );
    expect(() => readAzureCsv(p)).toThrow(`${p}:3: ContextTokens must be an integer >= 1, got 'abc'`);
    const badTime = tmp('badtime.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\nnoon,10,5\n');
    expect(() => readAzureCsv(badTime)).toThrow(/badtime\.csv:2: TIMESTAMP 'noon' is not/);
    const noHeader = tmp('nohead.csv', '2023-11-16 18:00:00.0,10,5\n');
    expect(() => readAzureCsv(noHeader)).toThrow(/nohead\.csv:1: expected the Azure header/);
    try {
      readAzureCsv(p);
    } catch (err) {
      expect(err).toBeInstanceOf(TraceFormatError);
      expect((err as TraceFormatError).line).toBe(3);
    }
  });

  it('skips bad rows on request and counts them; sorts unsorted rows stably', () => {
    const p = tmp(
      'mixed.csv',
      'TIMESTAMP,ContextTokens,GeneratedTokens\r\n' +
        '2023-11-16 18:00:02.0,10,1\r\n2023-11-16 18:00:01.0,20,2\r\n2023-11-16 18:00:01.0,30,-1\r\n2023-11-16 18:00:01.0,40,4',
    );
    const t = readAzureCsv(p, { onInvalid: 'skip' });
    expect(t.skipped).toBe(1);
    expect(t.skippedErrors[0]).toMatch(/mixed\.csv:4: GeneratedTokens must be an integer >= 0, got '-1'/);
    expect(t.requests.map((r) => [r.arrivalMs, r.inputTokens])).toEqual([
      [0, 20],
      [0, 40],
      [1000, 10],
    ]);
    expect(readAzureCsv(p, { onInvalid: 'skip', limit: 1 }).requests).toHaveLength(1);
  });
});

describe('Mooncake JSONL', () => {
  it('reads the conversation trace with hash ids', () => {
    const t = readMooncakeJsonl(`${TRACES}/mooncake_conversation_trace.jsonl`);
    const s = traceStats(t.requests);
    expect(s.requests).toBe(12031);
    expect(s.input.mean).toBeCloseTo(12035, -1);
    expect(s.output.mean).toBeCloseTo(343, 0);
    expect(t.requests[1]?.hashIds?.slice(0, 3)).toEqual([0, 14, 15]);
    for (const r of t.requests.slice(0, 500)) expect(r.hashIds).toHaveLength(Math.ceil(r.inputTokens / 512));
  });

  it('reads the synthetic trace', () => {
    const s = traceStats(readTrace(`${TRACES}/mooncake_synthetic_trace.jsonl`).requests);
    expect(s.requests).toBe(3993);
    expect(s.durationS).toBeCloseTo(1022, -1);
  });

  it('reports bad lines with file and line', () => {
    const p = tmp(
      'bad.jsonl',
      '{"timestamp": 0, "input_length": 10, "output_length": 2, "hash_ids": [1]}\n\n{"timestamp": 5, "input_length": 10\n',
    );
    expect(() => readMooncakeJsonl(p)).toThrow(new RegExp(`bad\\.jsonl:3: not valid JSON`));
    const q = tmp(
      'bad2.jsonl',
      '{"timestamp": 0, "input_length": 10, "output_length": 2, "hash_ids": ["a"]}\n',
    );
    expect(() => readMooncakeJsonl(q)).toThrow(/bad2\.jsonl:1: hash_ids must be an array of integers/);
    const r = tmp('bad3.jsonl', '{"timestamp": -1, "input_length": 10, "output_length": 2}\n');
    expect(() => readMooncakeJsonl(r)).toThrow(
      /bad3\.jsonl:1: timestamp must be a number of ms >= 0, got -1/,
    );
  });
});

describe('AIBrix workload JSONL', () => {
  it('reads the benchmark workloads, one arrival per request of a tick', () => {
    const t = readAibrixJsonl(`${WORKLOADS}/8min_up_and_down.jsonl`);
    const s = traceStats(t.requests);
    expect(s.requests).toBe(2026);
    expect(s.input.mean).toBeCloseTo(293.6, 0);
    expect(s.output.mean).toBeCloseTo(73.3, 0);
    expect(t.requests[0]?.arrivalMs).toBe(6011);
    expect(t.requests[t.requests.length - 1]?.arrivalMs).toBe(461909);
    // Two requests of this workload ask for 0 output tokens: kept, for the replica to refuse.
    expect(t.requests.filter((r) => r.outputTokens === 0)).toHaveLength(2);
    expect(readTrace(`${WORKLOADS}/5s.jsonl`).requests).toHaveLength(203);
    expect(readTrace(`${WORKLOADS}/ten_requests.jsonl`).requests).toHaveLength(10);
  });

  it('accepts the snake_case keys of newer generators and reports bad requests', () => {
    const ok = tmp(
      'new.jsonl',
      '{"timestamp": 10, "requests": [{"prompt_length": 5, "output_length": 7, "session_id": 1}]}\n',
    );
    expect(readAibrixJsonl(ok).requests).toEqual([{ id: 0, arrivalMs: 10, inputTokens: 5, outputTokens: 7 }]);
    const bad = tmp('aibad.jsonl', '{"timestamp": 10, "requests": {}}\n');
    expect(() => readAibrixJsonl(bad)).toThrow(/aibad\.jsonl:1: requests must be an array/);
    const bad2 = tmp('aibad2.jsonl', '{"timestamp": 10, "requests": [{"Prompt Length": 5}]}\n');
    expect(() => readAibrixJsonl(bad2)).toThrow(
      /aibad2\.jsonl:1: requests\[0\] Output Length must be an integer >= 0/,
    );
  });
});

describe('inferscale JSONL', () => {
  it('round-trips through its writer', () => {
    const reqs = [
      { id: 0, arrivalMs: 0, inputTokens: 100, outputTokens: 10 },
      { id: 1, arrivalMs: 1500.25, inputTokens: 1024, outputTokens: 3, hashIds: [7, 8] },
    ];
    const p = tmp('rt.jsonl', formatInferscaleJsonl(reqs));
    expect(detectTraceFormat(p)).toBe('inferscale');
    expect(readInferscaleJsonl(p).requests).toEqual(reqs);
  });

  it('reports bad lines with file and line', () => {
    const p = tmp(
      'isbad.jsonl',
      '{"t": 0, "input": 1, "output": 1}\n{"t": "soon", "input": 1, "output": 1}\n',
    );
    expect(() => readInferscaleJsonl(p)).toThrow(
      /isbad\.jsonl:2: t must be a number of seconds >= 0, got 'soon'/,
    );
    const q = tmp('isbad2.jsonl', '[1,2]\n');
    expect(() => readInferscaleJsonl(q)).toThrow(/isbad2\.jsonl:1: expected a JSON object/);
  });
});

describe('format detection and line reading', () => {
  it('detects every format', () => {
    expect(detectTraceFormat(`${TRACES}/AzureLLMInferenceTrace_code.csv`)).toBe('azure-csv');
    expect(detectTraceFormat(`${TRACES}/mooncake_synthetic_trace.jsonl`)).toBe('mooncake');
    expect(detectTraceFormat(`${WORKLOADS}/ten_requests.jsonl`)).toBe('aibrix');
    expect(() => detectTraceFormat(tmp('x.jsonl', '{"foo": 1}\n'))).toThrow(
      /x\.jsonl:1: cannot tell the format/,
    );
    expect(() => detectTraceFormat(tmp('empty.jsonl', '\n\n'))).toThrow(/empty trace file/);
    expect(() => readTrace(join(dir, 'missing.jsonl'), 'mooncake')).toThrow(/missing\.jsonl: cannot open/);
  });

  it('splits lines across chunk boundaries and keeps multi-byte characters whole', () => {
    const long = 'é'.repeat(3_000_000);
    const p = tmp('long.txt', `a\n${long}\nb`);
    const got: [number, number][] = [];
    forEachLine(p, (l, n) => {
      got.push([n, l.length]);
    });
    expect(got).toEqual([
      [1, 1],
      [2, 3_000_000],
      [3, 1],
    ]);
  });
});
