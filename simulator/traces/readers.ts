/**
 * Readers for the four trace formats (docs/traces.md). Each streams the file line by line, checks
 * every field, reports a bad line as `file:line: what is wrong`, and returns requests sorted by
 * arrival (stable, so ties keep file order). Azure timestamps are absolute, so its arrivals count
 * from the first request; the other formats already count from their own zero and keep it.
 */
import { basename } from 'node:path';
import { forEachLine } from './lines.js';
import {
  TraceFormatError,
  type Trace,
  type TraceFormat,
  type TraceReadOptions,
  type TraceRequest,
} from './types.js';

const MAX_SKIPPED_ERRORS = 20;

/** Collects requests and bad lines according to `onInvalid`. */
class Collector {
  readonly requests: TraceRequest[] = [];
  skipped = 0;
  readonly skippedErrors: string[] = [];
  private sorted = true;
  private last = -Infinity;

  constructor(
    readonly file: string,
    private readonly opts: TraceReadOptions,
  ) {}

  get full(): boolean {
    return this.opts.limit !== undefined && this.requests.length >= this.opts.limit;
  }

  fail(line: number, reason: string): void {
    const err = new TraceFormatError(this.file, line, reason);
    if (this.opts.onInvalid === 'skip') {
      this.skipped++;
      if (this.skippedErrors.length < MAX_SKIPPED_ERRORS) this.skippedErrors.push(err.message);
      return;
    }
    throw err;
  }

  add(arrivalMs: number, inputTokens: number, outputTokens: number, hashIds?: number[]): void {
    if (arrivalMs < this.last) this.sorted = false;
    this.last = arrivalMs;
    const r: TraceRequest = { id: 0, arrivalMs, inputTokens, outputTokens };
    if (hashIds !== undefined) r.hashIds = hashIds;
    this.requests.push(r);
  }

  /**
   * Sorts by arrival and numbers the requests. `rebase` shifts times so the first request arrives
   * at 0 (absolute-time formats); relative-time formats keep their own zero.
   */
  finish(format: TraceFormat, rebase: boolean, startEpochMs?: number): Trace {
    const reqs = this.requests;
    if (!this.sorted) {
      // Array.prototype.sort is stable: equal arrivals keep file order.
      reqs.sort((a, b) => a.arrivalMs - b.arrivalMs);
    }
    const t0 = rebase && reqs.length > 0 ? (reqs[0] as TraceRequest).arrivalMs : 0;
    for (let i = 0; i < reqs.length; i++) {
      const r = reqs[i] as TraceRequest;
      r.id = i;
      r.arrivalMs -= t0;
    }
    const trace: Trace = {
      requests: reqs,
      format,
      file: this.file,
      skipped: this.skipped,
      skippedErrors: this.skippedErrors,
    };
    if (startEpochMs !== undefined) trace.startEpochMs = startEpochMs + t0;
    return trace;
  }
}

function positiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  return JSON.stringify(v) ?? String(v);
}

function checkTokens(c: Collector, line: number, field: string, v: unknown): boolean {
  if (positiveInt(v)) return true;
  c.fail(line, `${field} must be an integer >= 1, got ${describe(v)}`);
  return false;
}

/**
 * Output lengths may be 0: real traces contain such rows (AIBrix's 8min workload has two). The
 * replica model refuses them at enqueue the way vLLM answers max_tokens=0 (HTTP 400).
 */
function checkOutput(c: Collector, line: number, field: string, v: unknown): boolean {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return true;
  c.fail(line, `${field} must be an integer >= 0, got ${describe(v)}`);
  return false;
}

const DIGITS = /^\d+$/;

function parseJsonLine(c: Collector, text: string, line: number): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    c.fail(line, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    c.fail(line, `expected a JSON object, got ${describe(v)}`);
    return undefined;
  }
  return v as Record<string, unknown>;
}

/**
 * Calls `each` with every JSON object line of a JSONL trace (blank lines skipped, a line that is
 * not a JSON object reported) until the collector is full.
 */
function forEachJsonLine(
  path: string,
  c: Collector,
  each: (o: Record<string, unknown>, line: number) => void,
): void {
  forEachLine(path, (text, line) => {
    if (c.full) return false;
    if (text.trim() === '') return;
    const o = parseJsonLine(c, text, line);
    if (!o) return;
    each(o, line);
  });
}

/** A `timestamp` field in ms since the trace's own zero, or undefined after reporting the line. */
function msTimestamp(c: Collector, line: number, ts: unknown): number | undefined {
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) {
    c.fail(line, `timestamp must be a number of ms >= 0, got ${describe(ts)}`);
    return undefined;
  }
  return ts;
}

function hashIdList(c: Collector, line: number, field: string, v: unknown): number[] | undefined | false {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    c.fail(line, `${field} must be an array of integers`);
    return false;
  }
  return v as number[];
}

// --- Azure LLM inference trace 2023/2024: TIMESTAMP,ContextTokens,GeneratedTokens ------------------

const AZURE_TS = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/;

/** Epoch ms of an Azure timestamp (`2023-11-16 18:17:03.9799600`, `...+00:00`); NaN if malformed. */
export function parseAzureTimestamp(s: string): number {
  const m = AZURE_TS.exec(s);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se));
  if (frac) ms += Number(`0.${frac}`) * 1000;
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return ms;
}

export function readAzureCsv(path: string, opts: TraceReadOptions = {}): Trace {
  const c = new Collector(path, opts);
  let cols: { ts: number; input: number; output: number } | undefined;
  let t0: number | undefined;
  forEachLine(path, (text, line) => {
    if (c.full) return false;
    if (cols === undefined) {
      const header = text
        .replace(/^\uFEFF/, '')
        .split(',')
        .map((h) => h.trim());
      const ts = header.indexOf('TIMESTAMP');
      const input = header.indexOf('ContextTokens');
      const output = header.indexOf('GeneratedTokens');
      if (ts < 0 || input < 0 || output < 0) {
        throw new TraceFormatError(
          path,
          line,
          `expected the Azure header TIMESTAMP,ContextTokens,GeneratedTokens, got '${text.slice(0, 80)}'`,
        );
      }
      cols = { ts, input, output };
      return;
    }
    if (text.trim() === '') return;
    const f = text.split(',');
    const tsText = (f[cols.ts] ?? '').trim();
    const ms = parseAzureTimestamp(tsText);
    if (Number.isNaN(ms)) {
      c.fail(line, `TIMESTAMP '${tsText}' is not 'YYYY-MM-DD HH:MM:SS[.fraction][+HH:MM]'`);
      return;
    }
    const inputText = (f[cols.input] ?? '').trim();
    const outputText = (f[cols.output] ?? '').trim();
    const input = DIGITS.test(inputText) ? Number(inputText) : inputText;
    const output = DIGITS.test(outputText) ? Number(outputText) : outputText;
    if (!checkTokens(c, line, 'ContextTokens', input) || !checkOutput(c, line, 'GeneratedTokens', output))
      return;
    t0 ??= ms;
    c.add(ms - t0, input as number, output as number);
  });
  if (cols === undefined) throw new TraceFormatError(path, 1, 'empty file: expected the Azure CSV header');
  return c.finish('azure-csv', true, t0);
}

// --- Mooncake JSONL: {"timestamp": ms, "input_length", "output_length", "hash_ids": [...]} ----------

export function readMooncakeJsonl(path: string, opts: TraceReadOptions = {}): Trace {
  const c = new Collector(path, opts);
  forEachJsonLine(path, c, (o, line) => {
    const ts = msTimestamp(c, line, o.timestamp);
    if (ts === undefined) return;
    if (!checkTokens(c, line, 'input_length', o.input_length)) return;
    if (!checkOutput(c, line, 'output_length', o.output_length)) return;
    const ids = hashIdList(c, line, 'hash_ids', o.hash_ids);
    if (ids === false) return;
    c.add(ts, o.input_length as number, o.output_length as number, ids);
  });
  return c.finish('mooncake', false);
}

// --- AIBrix workload JSONL: {"timestamp": ms, "requests": [{"Prompt Length", "Output Length"}]} ----

export function readAibrixJsonl(path: string, opts: TraceReadOptions = {}): Trace {
  const c = new Collector(path, opts);
  forEachJsonLine(path, c, (o, line) => {
    const ts = msTimestamp(c, line, o.timestamp);
    if (ts === undefined) return;
    if (!Array.isArray(o.requests)) {
      c.fail(line, `requests must be an array, got ${describe(o.requests)}`);
      return;
    }
    for (let i = 0; i < o.requests.length && !c.full; i++) {
      const r = o.requests[i] as Record<string, unknown> | null;
      if (typeof r !== 'object' || r === null) {
        c.fail(line, `requests[${i}] must be an object`);
        continue;
      }
      // v1 generator keys and the newer snake_case ones.
      const input = r['Prompt Length'] ?? r.prompt_length;
      const output = r['Output Length'] ?? r.output_length;
      if (!checkTokens(c, line, `requests[${i}] Prompt Length`, input)) continue;
      if (!checkOutput(c, line, `requests[${i}] Output Length`, output)) continue;
      c.add(ts, input as number, output as number);
    }
  });
  return c.finish('aibrix', false);
}

// --- inferscale JSONL: {"t": seconds, "input": n, "output": n, "prefix"?: [ids]} -------------------

export function readInferscaleJsonl(path: string, opts: TraceReadOptions = {}): Trace {
  const c = new Collector(path, opts);
  forEachJsonLine(path, c, (o, line) => {
    if (typeof o.t !== 'number' || !Number.isFinite(o.t) || o.t < 0) {
      c.fail(line, `t must be a number of seconds >= 0, got ${describe(o.t)}`);
      return;
    }
    if (!checkTokens(c, line, 'input', o.input) || !checkOutput(c, line, 'output', o.output)) return;
    const ids = hashIdList(c, line, 'prefix', o.prefix);
    if (ids === false) return;
    c.add(o.t * 1000, o.input as number, o.output as number, ids);
  });
  return c.finish('inferscale', false);
}

/** One inferscale JSONL line per request (the writer of the format `readInferscaleJsonl` reads). */
export function formatInferscaleJsonl(requests: readonly TraceRequest[]): string {
  const lines: string[] = [];
  for (const r of requests) {
    const t = Math.round(r.arrivalMs * 1000) / 1e6;
    const prefix = r.hashIds ? `,"prefix":[${r.hashIds.join(',')}]` : '';
    lines.push(`{"t":${t},"input":${r.inputTokens},"output":${r.outputTokens}${prefix}}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

// --- format detection ----------------------------------------------------------------------------

/** Guesses the format from the extension and the first non-empty line. */
export function detectTraceFormat(path: string): TraceFormat {
  if (basename(path).toLowerCase().endsWith('.csv')) return 'azure-csv';
  let first: string | undefined;
  let firstLine = 0;
  forEachLine(path, (text, line) => {
    if (text.trim() === '') return true;
    first = text;
    firstLine = line;
    return false;
  });
  if (first === undefined) throw new TraceFormatError(path, 1, 'empty trace file');
  if (first.startsWith('TIMESTAMP')) return 'azure-csv';
  let o: unknown;
  try {
    o = JSON.parse(first);
  } catch {
    throw new TraceFormatError(
      path,
      firstLine,
      'cannot tell the format: neither an Azure CSV header nor JSON',
    );
  }
  if (typeof o === 'object' && o !== null) {
    if ('requests' in o) return 'aibrix';
    if ('input_length' in o) return 'mooncake';
    if ('t' in o && 'input' in o) return 'inferscale';
  }
  throw new TraceFormatError(
    path,
    firstLine,
    'cannot tell the format: expected Mooncake (input_length), AIBrix (requests) or inferscale (t, input) keys',
  );
}

/** Reads a trace in any supported format (detected when not given). */
export function readTrace(path: string, format?: TraceFormat, opts: TraceReadOptions = {}): Trace {
  switch (format ?? detectTraceFormat(path)) {
    case 'azure-csv':
      return readAzureCsv(path, opts);
    case 'mooncake':
      return readMooncakeJsonl(path, opts);
    case 'aibrix':
      return readAibrixJsonl(path, opts);
    case 'inferscale':
      return readInferscaleJsonl(path, opts);
  }
}
