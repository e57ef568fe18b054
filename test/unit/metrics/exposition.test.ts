import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ExpositionError,
  findFamily,
  parseExposition,
  valueSamples,
  type Exposition,
  type MetricFamily,
} from '../../../src/metrics/exposition.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/metrics/${name}`, import.meta.url), 'utf8');

function fam(exp: Exposition, name: string): MetricFamily {
  const f = findFamily(exp, name);
  if (f === undefined) throw new Error(`family ${name} missing`);
  return f;
}

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';

describe('parseExposition on realistic pages', () => {
  it('reads a vLLM V1 page: colon names, labelled histograms, _created gauges', () => {
    const exp = parseExposition(fixture('vllm-v1.txt'));
    expect(exp.format).toBe('prometheus');
    expect(exp.lines).toBe(285);
    const running = fam(exp, 'vllm:num_requests_running');
    expect(running.type).toBe('gauge');
    expect(running.help).toBe('Number of requests in model execution batches.');
    expect(running.samples).toEqual([
      { name: 'vllm:num_requests_running', labels: { engine: '0', model_name: LLAMA }, value: 12 },
    ]);
    expect(fam(exp, 'vllm:kv_cache_usage_perc').samples[0]?.value).toBe(0.4213);

    const prompt = fam(exp, 'vllm:prompt_tokens_total');
    expect(prompt.type).toBe('counter');
    expect(prompt.name).toBe('vllm:prompt_tokens_total');
    expect(valueSamples(prompt).map((s) => s.value)).toEqual([552000]);
    // `findFamily` accepts the name with or without `_total`.
    expect(findFamily(exp, 'vllm:prompt_tokens')).toBe(prompt);

    const success = fam(exp, 'vllm:request_success_total');
    expect(success.samples.map((s) => [s.labels.finished_reason, s.value])).toEqual([
      ['stop', 1119],
      ['length', 69],
      ['abort', 12],
    ]);

    const ttft = fam(exp, 'vllm:time_to_first_token_seconds');
    expect(ttft.type).toBe('histogram');
    expect(ttft.histograms).toHaveLength(1);
    const h = ttft.histograms![0]!;
    expect(h.labels).toEqual({ engine: '0', model_name: LLAMA });
    expect(h.buckets.map((b) => b.le)).toEqual([
      0.001,
      0.005,
      0.01,
      0.02,
      0.04,
      0.06,
      0.08,
      0.1,
      0.25,
      0.5,
      0.75,
      1,
      2.5,
      5,
      7.5,
      10,
      20,
      40,
      80,
      160,
      640,
      2560,
      Infinity,
    ]);
    expect(h.buckets.at(-1)!.count).toBe(1200);
    expect(h.count).toBe(1200);
    expect(h.sum).toBeCloseTo(261.6, 6);
    // prometheus_client moves `_created` into its own gauge family.
    expect(fam(exp, 'vllm:time_to_first_token_seconds_created').type).toBe('gauge');
    expect(fam(exp, 'vllm:time_to_first_token_seconds_created').samples[0]?.value).toBe(1731220351.2);
    expect(fam(exp, 'vllm:inter_token_latency_seconds').histograms![0]!.buckets).toHaveLength(20);
    expect(fam(exp, 'vllm:e2e_request_latency_seconds').histograms![0]!.buckets).toHaveLength(22);
    // Go-style exponent with a leading zero, as prometheus_client writes large floats.
    expect(fam(exp, 'process_virtual_memory_bytes').samples[0]?.value).toBe(69123497984);
    expect(fam(exp, 'vllm:cache_config_info').samples[0]?.labels.num_gpu_blocks).toBe('27923');
  });

  it('reads a vLLM V0 page (model_name only, V0 names and buckets, no _created)', () => {
    const exp = parseExposition(fixture('vllm-v0.txt'));
    expect(fam(exp, 'vllm:gpu_cache_usage_perc').samples[0]).toEqual({
      name: 'vllm:gpu_cache_usage_perc',
      labels: { model_name: LLAMA },
      value: 0.4213,
    });
    expect(findFamily(exp, 'vllm:kv_cache_usage_perc')).toBeUndefined();
    const tpot = fam(exp, 'vllm:time_per_output_token_seconds');
    expect(tpot.histograms![0]!.buckets).toHaveLength(14); // 13 bounds + +Inf
    expect(fam(exp, 'vllm:time_to_first_token_seconds').histograms![0]!.buckets).toHaveLength(17);
    expect(exp.families.has('vllm:prompt_tokens_created')).toBe(false);
  });

  it('reads an SGLang page', () => {
    const exp = parseExposition(fixture('sglang.txt'));
    expect(fam(exp, 'sglang:token_usage').samples[0]?.labels).toEqual({
      engine_type: 'unified',
      model_name: LLAMA,
      moe_ep_rank: '0',
      pp_rank: '0',
      tp_rank: '0',
    });
    expect(fam(exp, 'sglang:num_queue_reqs').samples[0]?.value).toBe(3);
    expect(fam(exp, 'sglang:time_to_first_token_seconds').histograms![0]!.buckets).toHaveLength(19);
    expect(fam(exp, 'sglang:num_requests_total').type).toBe('counter');
  });

  it('groups histograms per label set on a multi-model, data-parallel page', () => {
    const exp = parseExposition(fixture('multi-model.txt'));
    const ttft = fam(exp, 'vllm:time_to_first_token_seconds');
    expect(ttft.histograms!.map((h) => h.labels)).toEqual([
      { engine: '0', model_name: LLAMA },
      { engine: '0', model_name: 'Qwen/Qwen2.5-7B-Instruct' },
      { engine: '1', model_name: 'Qwen/Qwen2.5-7B-Instruct' },
    ]);
    expect(ttft.histograms!.map((h) => h.count)).toEqual([1200, 500, 300]);
    for (const h of ttft.histograms!) {
      expect(h.buckets).toHaveLength(23);
      expect(h.buckets.at(-1)!.count).toBe(h.count);
    }
  });

  it('gives the same result for CRLF line endings', () => {
    const lf = fixture('multi-model.txt');
    const a = parseExposition(lf);
    const b = parseExposition(lf.replace(/\n/g, '\r\n'));
    expect([...b.families.values()]).toEqual([...a.families.values()]);
  });
});

describe('parseExposition edge cases', () => {
  const exp = parseExposition(fixture('edge-cases.txt'));

  it('unescapes label values containing commas, braces, quotes, backslashes and newlines', () => {
    const f = fam(exp, 'vllm:num_requests_running');
    expect(f.help).toBe(
      'Number of requests in model execution batches; a "quoted" word, a back\\slash and a\nnewline.',
    );
    expect(f.samples.map((s) => s.labels)).toEqual([
      { engine: '0', model_name: 'org/model,with"quote\\back{brace}' },
      { engine: '1', model_name: 'line\nbreak' },
    ]);
    expect(f.samples.map((s) => s.value)).toEqual([3, 4]);
  });

  it('reads NaN, ±Inf, exponents and integer-millisecond timestamps', () => {
    const f = fam(exp, 'weird_values');
    expect(f.type).toBe('untyped');
    const byKind = Object.fromEntries(f.samples.map((s) => [s.labels.kind, s]));
    expect(byKind.nan?.value).toBeNaN();
    expect(byKind.pinf?.value).toBe(Infinity);
    expect(byKind.ninf?.value).toBe(-Infinity);
    expect(byKind.exp?.value).toBe(0.0015);
    expect(byKind.ts?.timestampMs).toBe(1731220351000);
    expect(byKind.negts?.timestampMs).toBe(-1000);
  });

  it('groups summaries per label set whatever the label order', () => {
    const f = fam(exp, 'rpc_duration_seconds');
    expect(f.summaries).toEqual([
      {
        labels: { service: 'a' },
        quantiles: [
          { quantile: 0.5, value: 0.012 },
          { quantile: 0.99, value: 0.1 },
        ],
        sum: 17.5,
        count: 1000,
      },
      { labels: { service: 'b' }, quantiles: [{ quantile: 0.5, value: 0.02 }], sum: 3, count: 100 },
    ]);
  });

  it('groups histogram lines by label set even when series interleave and label order varies', () => {
    const h = parseExposition(
      [
        '# TYPE h histogram',
        'h_bucket{a="1",b="x",le="1"} 1',
        'h_bucket{b="y",a="1",le="1"} 5',
        'h_bucket{le="+Inf",b="x",a="1"} 2',
        'h_bucket{a="1",b="y",le="+Inf"} 6',
        'h_sum{b="x",a="1"} 3',
        'h_count{a="1",b="x"} 2',
        'h_bucket{a="1",le="+Inf"} 9',
      ].join('\n'),
    );
    expect(fam(h, 'h').histograms).toEqual([
      {
        labels: { a: '1', b: 'x' },
        buckets: [
          { le: 1, count: 1 },
          { le: Infinity, count: 2 },
        ],
        sum: 3,
        count: 2,
      },
      {
        labels: { b: 'y', a: '1' },
        buckets: [
          { le: 1, count: 5 },
          { le: Infinity, count: 6 },
        ],
      },
      { labels: { a: '1' }, buckets: [{ le: Infinity, count: 9 }] },
    ]);
  });

  it('makes untyped families for samples without metadata, and accepts empty braces', () => {
    expect(fam(exp, 'no_type_metric').samples[0]?.value).toBe(12);
    expect(fam(exp, 'no_labels_empty_braces').samples[0]?.labels).toEqual({});
  });
});

describe('OpenMetrics', () => {
  const exp = parseExposition(fixture('openmetrics.txt'));

  it('is detected by # EOF and reads counters named without _total', () => {
    expect(exp.format).toBe('openmetrics');
    const c = fam(exp, 'vllm:prompt_tokens_total');
    expect(c.name).toBe('vllm:prompt_tokens');
    expect(c.type).toBe('counter');
    expect(valueSamples(c).map((s) => s.value)).toEqual([1234]);
    expect(c.samples[1]).toMatchObject({ name: 'vllm:prompt_tokens_created', value: 1731220351.2 });
  });

  it('reads exemplars, # UNIT, float-second timestamps and _created in histograms', () => {
    const c = fam(exp, 'vllm:prompt_tokens');
    expect(c.samples[0]?.exemplar).toEqual({
      labels: { trace_id: 'abc123' },
      value: 17,
      timestamp: 1731220351.5,
    });
    const h = fam(exp, 'vllm:time_to_first_token_seconds');
    expect(h.unit).toBe('seconds');
    expect(h.samples[0]?.exemplar).toEqual({ labels: { trace_id: 't1' }, value: 0.05 });
    expect(h.histograms).toEqual([
      {
        labels: { engine: '0', model_name: 'm' },
        buckets: [
          { le: 0.1, count: 10 },
          { le: 1, count: 90 },
          { le: Infinity, count: 100 },
        ],
        count: 100,
        sum: 42.5,
        created: 1731220351.2,
      },
    ]);
    expect(fam(exp, 'kv').samples[0]?.timestampMs).toBe(1731220399250);
  });

  it('reads info, stateset, gaugehistogram and unknown families', () => {
    expect(fam(exp, 'build').samples[0]).toMatchObject({ name: 'build_info', labels: { version: '1.2.3' } });
    expect(fam(exp, 'state').samples).toHaveLength(2);
    expect(fam(exp, 'pool').histograms![0]).toMatchObject({ count: 3, sum: 2.5 });
    expect(fam(exp, 'things').type).toBe('unknown');
  });

  it('requires # EOF when the format is forced, and nothing after it', () => {
    const text = fixture('openmetrics.txt');
    expect(() => parseExposition(text.replace('# EOF\n', ''), { format: 'openmetrics' })).toThrow(
      /does not end with "# EOF"/,
    );
    expect(() => parseExposition(text + 'late 1\n')).toThrow(/line 29: content after "# EOF"/);
  });
});

describe('parse errors name the line', () => {
  const cases: [string, string, number, RegExp][] = [
    ['missing value', 'a 1\nb\n', 2, /sample "b" has no value/],
    ['bad value', 'a 1\nb{x="1"} one\n', 2, /invalid value "one"/],
    ['unterminated labels', 'x{a="1" 2\n', 1, /expected "," or "}"/],
    ['unterminated value', 'x{a="1} 2\n', 1, /unterminated value of label "a"/],
    ['bad escape', 'x{a="\\q"} 2\n', 1, /invalid escape "\\q"/],
    ['no equals', 'x{a "1"} 2\n', 1, /expected "=" after label name "a"/],
    ['bad label name', 'x{1a="1"} 2\n', 1, /invalid label name/],
    ['duplicate label', 'x{a="1",a="2"} 2\n', 1, /duplicate label "a"/],
    ['bad metric name', '1x 2\n', 1, /expected a metric name/],
    ['unknown type', '# TYPE x histo\n', 1, /unknown metric type "histo"/],
    ['second TYPE', '# TYPE x gauge\n# TYPE x gauge\n', 2, /second TYPE line for "x"/],
    ['TYPE after samples', 'x 1\n# TYPE x gauge\n', 2, /TYPE line for "x" after its samples/],
    ['second HELP', '# HELP x a\n# HELP x b\n', 2, /second HELP line/],
    ['bucket without le', '# TYPE h histogram\nh_bucket{a="1"} 2\n', 2, /has no le label/],
    ['bad le', '# TYPE h histogram\nh_bucket{le="x"} 2\n', 2, /invalid bucket bound le="x"/],
    ['bare histogram sample', '# TYPE h histogram\nh 2\n', 2, /not valid in histogram family "h"/],
    ['fractional ms timestamp', 'x 1 12.5\n', 1, /must be integer milliseconds/],
    ['trailing garbage', 'x 1 2 3\n', 1, /unexpected text after the value/],
    ['garbage after CRLF lines', 'a 1\r\nb 2\r\n<html>\r\n', 3, /expected a metric name/],
    ['bad exemplar', 'x 1 # nope\n', 1, /exemplar must start with/],
  ];
  it.each(cases)('%s', (_name, text, line, message) => {
    let err: unknown;
    try {
      parseExposition(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExpositionError);
    expect((err as ExpositionError).line).toBe(line);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(new RegExp(`^line ${line}: `));
  });
});

describe('wantFamily', () => {
  it('parses only the wanted families and skips the rest unvalidated', () => {
    const text = fixture('vllm-v1.txt') + 'garbage{{{ here\n';
    expect(() => parseExposition(text)).toThrow(ExpositionError);
    const exp = parseExposition(text, { wantFamily: (n) => n === 'vllm:time_to_first_token_seconds' });
    expect(fam(exp, 'vllm:time_to_first_token_seconds').histograms![0]!.count).toBe(1200);
    expect(fam(exp, 'vllm:num_requests_running').samples).toEqual([]);
  });
});

describe('fuzz: random and mutated pages never crash or hang the parser', () => {
  const pages = ['vllm-v1.txt', 'vllm-v0.txt', 'sglang.txt', 'edge-cases.txt', 'openmetrics.txt'].map(
    fixture,
  );

  function parsesOrRejects(text: string): void {
    try {
      const exp = parseExposition(text);
      for (const f of exp.families.values()) {
        for (const s of f.samples) expect(typeof s.value).toBe('number');
      }
    } catch (e) {
      if (!(e instanceof ExpositionError)) throw e;
      expect(e.line).toBeGreaterThanOrEqual(1);
    }
  }

  it('random strings over the exposition alphabet', () => {
    const alphabet = fc.constantFrom(...'ab_:{}=",# \\\n\r\t0123456789.eE+-InfNaTYPEHLPOFle'.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 400 }), (chars) => parsesOrRejects(chars.join(''))),
      { numRuns: 3000 },
    );
  });

  it('arbitrary unicode strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), parsesOrRejects), {
      numRuns: 1000,
    });
  });

  it('fixture pages with random edits (insert, delete, replace, truncate)', () => {
    const edit = fc.record({
      page: fc.integer({ min: 0, max: pages.length - 1 }),
      ops: fc.array(
        fc.record({
          at: fc.nat(),
          del: fc.nat({ max: 20 }),
          ins: fc.string({ maxLength: 6 }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      truncate: fc.option(fc.nat()),
    });
    fc.assert(
      fc.property(edit, ({ page, ops, truncate }) => {
        let text = pages[page]!;
        for (const op of ops) {
          const at = op.at % (text.length + 1);
          text = text.slice(0, at) + op.ins + text.slice(at + op.del);
        }
        if (truncate !== null) text = text.slice(0, truncate % (text.length + 1));
        parsesOrRejects(text);
      }),
      { numRuns: 1500 },
    );
  });
});
