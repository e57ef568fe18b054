/**
 * Parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0.
 *
 * Our own code because both npm parsers fail on what an LLM autoscaler reads most: vLLM's
 * colon-named, labelled histograms (one drops every `vllm:` sample, the other merges the label sets
 * of a histogram and loses `_sum`/`_count`). This one keeps every sample, groups histograms and
 * summaries per family and per label set, and rejects malformed input with the line number.
 *
 * It scans the page by character codes without a regular expression per line: a vLLM page is
 * parsed for every pod at every tick, so throughput matters (bench/parser.bench.ts).
 */

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export type MetricType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'info'
  | 'stateset'
  | 'unknown'
  | 'untyped';

export type Labels = Readonly<Record<string, string>>;

export interface Exemplar {
  labels: Labels;
  value: number;
  /** Seconds since the epoch, as OpenMetrics writes it. */
  timestamp?: number;
}

export interface Sample {
  /** The sample's own name, e.g. `vllm:e2e_request_latency_seconds_bucket`. */
  name: string;
  labels: Labels;
  value: number;
  /** Explicit timestamp of the sample, normalised to milliseconds since the epoch. */
  timestampMs?: number;
  exemplar?: Exemplar;
}

export interface Bucket {
  /** Upper bound; `Infinity` for the `+Inf` bucket. */
  le: number;
  /** Cumulative count of observations ≤ `le`. */
  count: number;
}

/** One label set of a histogram family: its `_bucket`, `_sum`, `_count` and `_created` samples. */
export interface HistogramSeries {
  /** The series' labels without `le`. */
  labels: Labels;
  /** Sorted by `le`, ascending. */
  buckets: Bucket[];
  sum?: number;
  count?: number;
  /** `_created`: seconds since the epoch. */
  created?: number;
  /** Newest explicit timestamp among the series' samples, ms. */
  timestampMs?: number;
}

export interface SummarySeries {
  /** The series' labels without `quantile`. */
  labels: Labels;
  /** Sorted by `quantile`, ascending. */
  quantiles: { quantile: number; value: number }[];
  sum?: number;
  count?: number;
  created?: number;
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  unit?: string;
  /** Every sample of the family in page order. */
  samples: Sample[];
  /** Histogram and gaugehistogram families, one entry per label set (page order). */
  histograms?: HistogramSeries[];
  /** Summary families, one entry per label set (page order). */
  summaries?: SummarySeries[];
}

export interface Exposition {
  format: ExpositionFormat;
  /** Keyed by family name (for 0.0.4 counters that is the `_total` name, for OpenMetrics not). */
  families: ReadonlyMap<string, MetricFamily>;
  /** Number of lines read. */
  lines: number;
}

export interface ParseOptions {
  /**
   * `auto` (default) reads OpenMetrics when the page has a `# EOF` line. An explicit `openmetrics`
   * also requires `# EOF`, so a truncated page is an error instead of a silently short read.
   */
  format?: ExpositionFormat | 'auto';
  /** Reject an OpenMetrics page without `# EOF` (default: when `format` is `openmetrics`). */
  requireEof?: boolean;
  /**
   * Only parse the samples of families for which this returns true. The other samples' lines are
   * skipped without being validated, which is what makes a per-pod scrape of one signal cheap.
   */
  wantFamily?: (familyName: string) => boolean;
}

export class ExpositionError extends Error {
  /** 1-based line number. */
  readonly line: number;
  constructor(line: number, message: string, lineText?: string) {
    const shown =
      lineText === undefined
        ? ''
        : `: ${JSON.stringify(lineText.length > 120 ? lineText.slice(0, 117) + '...' : lineText)}`;
    super(`line ${line}: ${message}${shown}`);
    this.name = 'ExpositionError';
    this.line = line;
  }
}

/** Maps an HTTP Content-Type to the parser format (`auto` when it says neither). */
export function formatFromContentType(contentType: string | undefined): ExpositionFormat | 'auto' {
  if (contentType === undefined) return 'auto';
  const ct = contentType.toLowerCase();
  if (ct.includes('application/openmetrics-text')) return 'openmetrics';
  if (ct.includes('text/plain')) return 'auto';
  return 'auto';
}

const PROM_TYPES = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const OM_TYPES = new Set<string>([
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
  'unknown',
]);

/** Sample-name suffixes that belong to a family of each type. */
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: ['_total', '_created'],
  gauge: [],
  histogram: ['_bucket', '_count', '_sum', '_created'],
  gaugehistogram: ['_bucket', '_gcount', '_gsum'],
  summary: ['_count', '_sum', '_created'],
  info: ['_info'],
  stateset: [],
  unknown: [],
  untyped: [],
};

const CH_NL = 10;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_TAB = 9;
const CH_HASH = 35;
const CH_LBRACE = 123;
const CH_RBRACE = 125;
const CH_EQ = 61;
const CH_QUOTE = 34;
const CH_COMMA = 44;
const CH_BACKSLASH = 92;

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}
function isLabelStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isLabelChar(c: number): boolean {
  return isLabelStart(c) || (c >= 48 && c <= 57);
}

/** Parses a sample value: decimal/exponent floats, `NaN`, `+Inf`, `-Inf` (case-insensitive). */
export function parseFloatToken(token: string): number | undefined {
  if (token.length === 0) return undefined;
  const n = Number(token);
  if (!Number.isNaN(n)) {
    // Number() also accepts "Infinity", "0b1" and "0o7"; Go's ParseFloat accepts "Inf"/"Infinity"
    // but not binary or octal. The difference does not matter for real exporters.
    return n;
  }
  switch (token.toLowerCase()) {
    case 'nan':
    case '+nan':
    case '-nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
    default:
      return undefined;
  }
}

interface FamilyState {
  family: MetricFamily;
  typeDeclared: boolean;
  wanted: boolean;
  histIndex?: Map<string, HistogramSeries>;
  sumIndex?: Map<string, SummarySeries>;
  lastHistogram?: HistogramSeries;
  lastSummary?: SummarySeries;
}

interface LabelParse {
  labels: Record<string, string>;
  end: number;
  /** Value of `le` or `quantile` when asked for, else undefined. */
  special: string | undefined;
}

class Parser {
  private readonly text: string;
  private readonly om: boolean;
  private readonly wantFamily: ((name: string) => boolean) | undefined;
  private readonly families = new Map<string, FamilyState>();
  private current: FamilyState | undefined;
  private lineNo = 0;
  private lineStart = 0;
  private lineEnd = 0;
  /** Position of the next backslash at or after the scan position (amortised, never rescanned). */
  private nextBackslash = -1;
  /** Suffix of the last sample name resolved by `resolve`. */
  private suffix = '';
  /** The previous sample line's name and resolution (consecutive lines usually share them). */
  private lastName = '';
  private lastState: FamilyState | undefined;
  private lastSuffix = '';
  /** Parsed `le` bounds: a page repeats the same few dozen strings thousands of times. */
  private readonly leCache = new Map<string, number>();

  constructor(text: string, om: boolean, wantFamily: ((name: string) => boolean) | undefined) {
    this.text = text;
    this.om = om;
    this.wantFamily = wantFamily;
  }

  private fail(message: string): never {
    throw new ExpositionError(this.lineNo, message, this.text.slice(this.lineStart, this.lineEnd));
  }

  parse(requireEof: boolean): Exposition {
    const text = this.text;
    const len = text.length;
    let pos = 0;
    let sawEof = false;
    while (pos < len) {
      let end = text.indexOf('\n', pos);
      if (end === -1) end = len;
      let lineEnd = end;
      if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === CH_CR) lineEnd--;
      this.lineNo++;
      this.lineStart = pos;
      this.lineEnd = lineEnd;
      if (sawEof) {
        if (lineEnd > pos) this.fail('content after "# EOF"');
      } else if (lineEnd > pos) {
        const c = text.charCodeAt(pos);
        if (c !== CH_HASH && this.skipsUnwanted(pos, lineEnd)) {
          // a sample of a family nobody asked for: not even its name is read
        } else if (c === CH_HASH) {
          this.lastName = ''; // metadata may change what a name resolves to
          if (this.comment(pos, lineEnd)) sawEof = true;
        } else {
          this.sample(pos, lineEnd);
        }
      } else if (this.om && end < len) {
        // OpenMetrics forbids blank lines; we tolerate them, as Prometheus' own parser does.
      }
      pos = end + 1;
    }
    if (requireEof && !sawEof) {
      this.lineStart = this.lineEnd = len;
      this.fail('OpenMetrics page does not end with "# EOF" (truncated?)');
    }
    const out = new Map<string, MetricFamily>();
    for (const [name, st] of this.families) {
      const f = st.family;
      if (f.histograms) for (const h of f.histograms) h.buckets.sort((a, b) => a.le - b.le);
      if (f.summaries) for (const s of f.summaries) s.quantiles.sort((a, b) => a.quantile - b.quantile);
      out.set(name, f);
    }
    return { format: this.om ? 'openmetrics' : 'prometheus', families: out, lines: this.lineNo };
  }

  /**
   * True when the line is a sample of the current family and that family is not wanted: checked
   * with one `startsWith` per line, which is most of the page for a targeted parse.
   */
  private skipsUnwanted(start: number, end: number): boolean {
    const cur = this.current;
    if (cur === undefined || cur.wanted) return false;
    const text = this.text;
    const fname = cur.family.name;
    if (!text.startsWith(fname, start)) return false;
    const p = start + fname.length;
    if (endsName(text, p, end)) return true;
    for (const suffix of SUFFIXES[cur.family.type]) {
      if (text.startsWith(suffix, p) && endsName(text, p + suffix.length, end)) return true;
    }
    return false;
  }

  /** Handles a `#` line; returns true for `# EOF`. */
  private comment(start: number, end: number): boolean {
    const text = this.text;
    let p = start + 1;
    while (p < end && (text.charCodeAt(p) === CH_SPACE || text.charCodeAt(p) === CH_TAB)) p++;
    const kwStart = p;
    while (p < end && text.charCodeAt(p) !== CH_SPACE && text.charCodeAt(p) !== CH_TAB) p++;
    const kwLen = p - kwStart;
    const keyword =
      kwLen === 4 && text.startsWith('HELP', kwStart)
        ? 'HELP'
        : kwLen === 4 && text.startsWith('TYPE', kwStart)
          ? 'TYPE'
          : kwLen === 4 && text.startsWith('UNIT', kwStart)
            ? 'UNIT'
            : kwLen === 3 && text.startsWith('EOF', kwStart)
              ? 'EOF'
              : undefined;
    if (keyword === 'EOF') {
      if (p !== end && text.slice(p, end).trim() !== '') this.fail('unexpected text after "# EOF"');
      return true;
    }
    if (keyword === undefined) return false; // plain comment
    while (p < end && (text.charCodeAt(p) === CH_SPACE || text.charCodeAt(p) === CH_TAB)) p++;
    const nameStart = p;
    if (p >= end || !isNameStart(text.charCodeAt(p))) this.fail(`"# ${keyword}" needs a metric name`);
    while (p < end && isNameChar(text.charCodeAt(p))) p++;
    const name = text.slice(nameStart, p);
    if (p < end && text.charCodeAt(p) !== CH_SPACE && text.charCodeAt(p) !== CH_TAB) {
      this.fail(`invalid character in metric name after "${name}"`);
    }
    if (p < end) p++; // exactly one separator; HELP text keeps further spaces
    if (keyword === 'HELP') {
      const st = this.familyFor(name, true);
      if (!st.wanted) return false; // a targeted parse has no use for the text
      if (st.family.help !== undefined) this.fail(`second HELP line for "${name}"`);
      st.family.help = unescapeHelp(text.slice(p, end));
      return false;
    }
    const rest = text.slice(p, end);
    if (keyword === 'TYPE') {
      const type = rest.trim();
      const allowed = this.om ? OM_TYPES : PROM_TYPES;
      if (!allowed.has(type)) {
        this.fail(
          `unknown metric type "${type}" for "${name}" (${this.om ? 'OpenMetrics' : 'text 0.0.4'} allows ${[...allowed].join(', ')})`,
        );
      }
      const st = this.familyFor(name, true);
      if (st.typeDeclared) this.fail(`second TYPE line for "${name}"`);
      if (st.family.samples.length > 0) this.fail(`TYPE line for "${name}" after its samples`);
      st.typeDeclared = true;
      st.family.type = type as MetricType;
    } else {
      const st = this.familyFor(name, true);
      if (st.family.unit !== undefined) this.fail(`second UNIT line for "${name}"`);
      st.family.unit = rest.trim();
    }
    return false;
  }

  /** The family named `name`, created when missing; metadata lines make it current. */
  private familyFor(name: string, makeCurrent: boolean): FamilyState {
    let st = this.families.get(name);
    if (st === undefined) {
      st = {
        family: { name, type: this.om ? 'unknown' : 'untyped', samples: [] },
        typeDeclared: false,
        wanted: this.wantFamily === undefined ? true : this.wantFamily(name),
      };
      this.families.set(name, st);
    }
    if (makeCurrent) this.current = st;
    return st;
  }

  /** Finds the family a sample name belongs to; leaves the sample's suffix in `this.suffix`. */
  private resolve(sampleName: string): FamilyState {
    const cur = this.current;
    this.suffix = '';
    if (cur !== undefined) {
      const fname = cur.family.name;
      if (sampleName === fname) return cur;
      if (sampleName.length > fname.length && sampleName.startsWith(fname)) {
        const suffix = sampleName.slice(fname.length);
        if (SUFFIXES[cur.family.type].includes(suffix)) {
          this.suffix = suffix;
          return cur;
        }
      }
    }
    const exact = this.families.get(sampleName);
    if (exact !== undefined) {
      this.current = exact;
      return exact;
    }
    const us = sampleName.lastIndexOf('_');
    if (us > 0) {
      const base = this.families.get(sampleName.slice(0, us));
      const suffix = sampleName.slice(us);
      if (base !== undefined && SUFFIXES[base.family.type].includes(suffix)) {
        this.current = base;
        this.suffix = suffix;
        return base;
      }
    }
    return this.familyFor(sampleName, true);
  }

  private sample(start: number, end: number): void {
    const text = this.text;
    let p = start;
    let name: string;
    let st: FamilyState;
    let suffix: string;
    const last = this.lastName;
    const lastEnd = start + last.length;
    if (
      last !== '' &&
      text.startsWith(last, start) &&
      (lastEnd >= end || !isNameChar(text.charCodeAt(lastEnd)))
    ) {
      // Same sample name as the line before (a histogram's buckets): reuse its resolution.
      p = lastEnd;
      name = last;
      st = this.lastState!;
      suffix = this.lastSuffix;
    } else {
      if (!isNameStart(text.charCodeAt(p))) this.fail('expected a metric name or "#"');
      p++;
      while (p < end && isNameChar(text.charCodeAt(p))) p++;
      name = text.slice(start, p);
      st = this.resolve(name);
      suffix = this.suffix;
      this.lastName = name;
      this.lastState = st;
      this.lastSuffix = suffix;
    }
    if (!st.wanted) return;
    const family = st.family;
    const type = family.type;
    if (!this.validSuffix(type, suffix)) {
      this.fail(`sample "${name}" is not valid in ${type} family "${family.name}"`);
    }

    const afterName = p;
    while (p < end && (text.charCodeAt(p) === CH_SPACE || text.charCodeAt(p) === CH_TAB)) p++;
    let labels: Record<string, string>;
    let special: string | undefined;
    const specialName =
      (type === 'histogram' || type === 'gaugehistogram') && suffix === '_bucket'
        ? 'le'
        : type === 'summary' && suffix === ''
          ? 'quantile'
          : undefined;
    if (p < end && text.charCodeAt(p) === CH_LBRACE) {
      const lp = this.labels(p, end, specialName);
      labels = lp.labels;
      special = lp.special;
      p = lp.end;
    } else {
      labels = {};
      p = afterName;
    }

    // Value.
    const sep = p;
    while (p < end && (text.charCodeAt(p) === CH_SPACE || text.charCodeAt(p) === CH_TAB)) p++;
    if (p === sep)
      this.fail(
        p >= end ? `sample "${name}" has no value` : `expected a space before the value of "${name}"`,
      );
    const vStart = p;
    while (p < end && text.charCodeAt(p) !== CH_SPACE && text.charCodeAt(p) !== CH_TAB) p++;
    let value = integerAt(text, vStart, p);
    if (value === undefined) {
      const vTok = text.slice(vStart, p);
      value = parseFloatToken(vTok);
      if (value === undefined) this.fail(`invalid value "${vTok}" for "${name}"`);
    }

    const sample: Sample = { name, labels, value };
    while (p < end && (text.charCodeAt(p) === CH_SPACE || text.charCodeAt(p) === CH_TAB)) p++;
    if (p < end && text.charCodeAt(p) !== CH_HASH) {
      const tStart = p;
      while (p < end && text.charCodeAt(p) !== CH_SPACE && text.charCodeAt(p) !== CH_TAB) p++;
      const tTok = text.slice(tStart, p);
      const ts = parseFloatToken(tTok);
      if (ts === undefined || !Number.isFinite(ts)) this.fail(`invalid timestamp "${tTok}" for "${name}"`);
      if (!this.om && !Number.isInteger(ts)) this.fail(`timestamp "${tTok}" must be integer milliseconds`);
      sample.timestampMs = this.om ? ts * 1000 : ts;
      while (p < end && (text.charCodeAt(p) === CH_SPACE || text.charCodeAt(p) === CH_TAB)) p++;
    }
    if (p < end) {
      if (text.charCodeAt(p) !== CH_HASH) this.fail(`unexpected text after the value of "${name}"`);
      sample.exemplar = this.exemplar(p + 1, end);
    }

    family.samples.push(sample);
    if (isGrouped(type)) this.group(st, sample, suffix, special);
  }

  private validSuffix(type: MetricType, suffix: string): boolean {
    if (suffix === '') {
      // A bare histogram sample is invalid; so is a bare OpenMetrics counter (it must end in _total).
      if (type === 'histogram' || type === 'gaugehistogram' || type === 'info') return false;
      if (type === 'counter' && this.om) return false;
      return true;
    }
    return SUFFIXES[type].includes(suffix);
  }

  private exemplar(p: number, end: number): Exemplar {
    const text = this.text;
    while (p < end && text.charCodeAt(p) === CH_SPACE) p++;
    if (p >= end || text.charCodeAt(p) !== CH_LBRACE) this.fail('exemplar must start with "# {"');
    const lp = this.labels(p, end, undefined);
    p = lp.end;
    const sep = p;
    while (p < end && text.charCodeAt(p) === CH_SPACE) p++;
    if (p === sep || p >= end) this.fail('exemplar has no value');
    const vStart = p;
    while (p < end && text.charCodeAt(p) !== CH_SPACE) p++;
    const value = parseFloatToken(text.slice(vStart, p));
    if (value === undefined) this.fail(`invalid exemplar value "${text.slice(vStart, p)}"`);
    const ex: Exemplar = { labels: lp.labels, value };
    while (p < end && text.charCodeAt(p) === CH_SPACE) p++;
    if (p < end) {
      const tStart = p;
      while (p < end && text.charCodeAt(p) !== CH_SPACE) p++;
      const ts = parseFloatToken(text.slice(tStart, p));
      if (ts === undefined || !Number.isFinite(ts))
        this.fail(`invalid exemplar timestamp "${text.slice(tStart, p)}"`);
      ex.timestamp = ts;
      while (p < end && text.charCodeAt(p) === CH_SPACE) p++;
      if (p < end) this.fail('unexpected text after the exemplar');
    }
    return ex;
  }

  /** Parses `{a="b",...}` starting at `{`. */
  private labels(p: number, end: number, specialName: string | undefined): LabelParse {
    const text = this.text;
    const labels: Record<string, string> = {};
    let special: string | undefined;
    p++; // '{'
    for (;;) {
      while (p < end && (text.charCodeAt(p) === CH_SPACE || text.charCodeAt(p) === CH_TAB)) p++;
      if (p >= end) this.fail('unterminated label set (missing "}")');
      let c = text.charCodeAt(p);
      if (c === CH_RBRACE) {
        p++;
        break;
      }
      if (!isLabelStart(c)) this.fail(`invalid label name at column ${p - this.lineStart + 1}`);
      const nStart = p;
      p++;
      while (p < end && isLabelChar(text.charCodeAt(p))) p++;
      const lname = text.slice(nStart, p);
      while (p < end && (text.charCodeAt(p) === CH_SPACE || text.charCodeAt(p) === CH_TAB)) p++;
      if (p >= end || text.charCodeAt(p) !== CH_EQ) this.fail(`expected "=" after label name "${lname}"`);
      p++;
      while (p < end && (text.charCodeAt(p) === CH_SPACE || text.charCodeAt(p) === CH_TAB)) p++;
      if (p >= end || text.charCodeAt(p) !== CH_QUOTE)
        this.fail(`expected '"' to open the value of label "${lname}"`);
      p++;
      // Fast path: no backslash before the closing quote.
      const q = text.indexOf('"', p);
      if (q === -1 || q >= end) this.fail(`unterminated value of label "${lname}"`);
      if (this.nextBackslash < p) {
        const b = text.indexOf('\\', p);
        this.nextBackslash = b === -1 ? Infinity : b;
      }
      let value: string;
      if (this.nextBackslash > q) {
        value = text.slice(p, q);
        p = q + 1;
      } else {
        const r = this.escapedValue(p, end, lname);
        value = r.value;
        p = r.end;
      }
      if (Object.prototype.hasOwnProperty.call(labels, lname)) this.fail(`duplicate label "${lname}"`);
      labels[lname] = value;
      if (lname === specialName) special = value;
      while (p < end && (text.charCodeAt(p) === CH_SPACE || text.charCodeAt(p) === CH_TAB)) p++;
      if (p >= end) this.fail('unterminated label set (missing "}")');
      c = text.charCodeAt(p);
      if (c === CH_COMMA) {
        p++;
        continue;
      }
      if (c === CH_RBRACE) {
        p++;
        break;
      }
      this.fail(`expected "," or "}" after the value of label "${lname}"`);
    }
    return { labels, end: p, special };
  }

  private escapedValue(p: number, end: number, lname: string): { value: string; end: number } {
    const text = this.text;
    let out = '';
    let runStart = p;
    while (p < end) {
      const c = text.charCodeAt(p);
      if (c === CH_QUOTE) {
        out += text.slice(runStart, p);
        return { value: out, end: p + 1 };
      }
      if (c === CH_BACKSLASH) {
        out += text.slice(runStart, p);
        if (p + 1 >= end) break;
        const n = text.charCodeAt(p + 1);
        if (n === CH_BACKSLASH) out += '\\';
        else if (n === CH_QUOTE) out += '"';
        else if (n === 110 /* n */) out += '\n';
        else this.fail(`invalid escape "\\${String.fromCharCode(n)}" in the value of label "${lname}"`);
        p += 2;
        runStart = p;
        continue;
      }
      p++;
    }
    this.fail(`unterminated value of label "${lname}"`);
  }

  private group(st: FamilyState, sample: Sample, suffix: string, special: string | undefined): void {
    const family = st.family;
    if (family.type === 'summary') {
      let s = st.lastSummary;
      // Lines of one series are normally consecutive: compare with the last one before hashing.
      if (s === undefined || !sameLabelsExcept(sample.labels, s.labels, 'quantile')) {
        const idx = (st.sumIndex ??= new Map());
        const key = canonicalKey(sample.labels, 'quantile');
        s = idx.get(key);
        if (s === undefined) {
          s = { labels: withoutLabel(sample.labels, 'quantile'), quantiles: [] };
          idx.set(key, s);
          (family.summaries ??= []).push(s);
        }
        st.lastSummary = s;
      }
      if (suffix === '') {
        if (special === undefined) this.fail(`summary sample "${sample.name}" has no quantile label`);
        const qv = parseFloatToken(special);
        if (qv === undefined || Number.isNaN(qv)) this.fail(`invalid quantile "${special}"`);
        s.quantiles.push({ quantile: qv, value: sample.value });
      } else if (suffix === '_sum') s.sum = sample.value;
      else if (suffix === '_count') s.count = sample.value;
      else if (suffix === '_created') s.created = sample.value;
      if (
        sample.timestampMs !== undefined &&
        (s.timestampMs === undefined || sample.timestampMs > s.timestampMs)
      ) {
        s.timestampMs = sample.timestampMs;
      }
      return;
    }
    let h = st.lastHistogram;
    if (h === undefined || !sameLabelsExcept(sample.labels, h.labels, 'le')) {
      const idx = (st.histIndex ??= new Map());
      const key = canonicalKey(sample.labels, 'le');
      h = idx.get(key);
      if (h === undefined) {
        h = { labels: withoutLabel(sample.labels, 'le'), buckets: [] };
        idx.set(key, h);
        (family.histograms ??= []).push(h);
      }
      st.lastHistogram = h;
    }
    if (suffix === '_bucket') {
      if (special === undefined) this.fail(`bucket sample "${sample.name}" has no le label`);
      let le = this.leCache.get(special);
      if (le === undefined) {
        le = parseFloatToken(special);
        if (le !== undefined) this.leCache.set(special, le);
      }
      if (le === undefined || Number.isNaN(le)) this.fail(`invalid bucket bound le="${special}"`);
      h.buckets.push({ le, count: sample.value });
    } else if (suffix === '_sum' || suffix === '_gsum') h.sum = sample.value;
    else if (suffix === '_count' || suffix === '_gcount') h.count = sample.value;
    else if (suffix === '_created') h.created = sample.value;
    if (
      sample.timestampMs !== undefined &&
      (h.timestampMs === undefined || sample.timestampMs > h.timestampMs)
    ) {
      h.timestampMs = sample.timestampMs;
    }
  }
}

/**
 * Fast path for the commonest values on a page, `123` and `123.0`: read them without slicing. Returns
 * undefined for anything else (the caller falls back to `Number`), so results are always exact.
 */
function integerAt(text: string, start: number, end: number): number | undefined {
  let n = 0;
  let p = start;
  if (end - start > 15 || p === end) return undefined;
  for (; p < end; p++) {
    const c = text.charCodeAt(p);
    if (c >= 48 && c <= 57) n = n * 10 + (c - 48);
    else break;
  }
  if (p === start) return undefined;
  if (p === end) return n;
  if (p + 2 === end && text.charCodeAt(p) === 46 && text.charCodeAt(p + 1) === 48) return n;
  return undefined;
}

/** True when a metric name ends at `q` (labels or the value follow). No closure: hot path. */
function endsName(text: string, q: number, end: number): boolean {
  if (q >= end) return false;
  const c = text.charCodeAt(q);
  return c === CH_LBRACE || c === CH_SPACE || c === CH_TAB;
}

function isGrouped(type: MetricType): boolean {
  return type === 'histogram' || type === 'gaugehistogram' || type === 'summary';
}

/** `a` without `drop` has exactly the labels of `b`. */
function sameLabelsExcept(a: Labels, b: Labels, drop: string): boolean {
  let n = 0;
  for (const k in a) {
    if (k === drop) continue;
    if (a[k] !== b[k]) return false;
    n++;
  }
  let m = 0;
  for (const k in b) {
    void k;
    m++;
  }
  return n === m;
}

/** Order-independent key of a label set, without the `le`/`quantile` label. */
function canonicalKey(labels: Labels, drop: string): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) if (n !== drop) key += n + '\u0000' + labels[n] + '\u0001';
  return key;
}

function withoutLabel(labels: Labels, drop: string): Labels {
  if (!Object.prototype.hasOwnProperty.call(labels, drop)) return labels;
  const out: Record<string, string> = {};
  for (const k in labels) if (k !== drop) out[k] = labels[k] as string;
  return out;
}

function unescapeHelp(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(\\|n|")/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

/** True when the page has a `# EOF` line (normally its last; content after it is then an error). */
function hasEofLine(text: string): boolean {
  let i = text.indexOf('# EOF');
  while (i !== -1) {
    const after = text.charCodeAt(i + 5);
    if (
      (i === 0 || text.charCodeAt(i - 1) === CH_NL) &&
      (Number.isNaN(after) || after === CH_NL || after === CH_CR)
    ) {
      return true;
    }
    i = text.indexOf('# EOF', i + 5);
  }
  return false;
}

/**
 * Parses one exposition page. Throws `ExpositionError` (with the 1-based line number) on the first
 * malformed line; a page is either read whole or rejected.
 */
export function parseExposition(text: string, options: ParseOptions = {}): Exposition {
  const format = options.format ?? 'auto';
  const om = format === 'openmetrics' || (format === 'auto' && hasEofLine(text));
  return new Parser(text, om, options.wantFamily).parse(options.requireEof ?? format === 'openmetrics');
}

/**
 * Finds a family by the name a user or a catalogue writes, whatever the page's format: a counter
 * is `x_total` in text 0.0.4 and `x` (with sample `x_total`) in OpenMetrics.
 */
export function findFamily(exposition: Exposition, name: string): MetricFamily | undefined {
  const fams = exposition.families;
  const exact = fams.get(name);
  if (exact !== undefined) return exact;
  if (name.endsWith('_total')) {
    const base = fams.get(name.slice(0, -6));
    if (base !== undefined && base.type === 'counter') return base;
    return undefined;
  }
  const total = fams.get(name + '_total');
  if (total !== undefined && total.type === 'counter') return total;
  return undefined;
}

/**
 * The samples that carry a gauge's or counter's value (not `_created`, not buckets). For other
 * types returns the samples named exactly like the family.
 */
export function valueSamples(family: MetricFamily): Sample[] {
  const name = family.name;
  if (family.type === 'counter') {
    const total = name + '_total';
    return family.samples.filter((s) => s.name === name || s.name === total);
  }
  return family.samples.filter((s) => s.name === name);
}

/** Names the family a sample name would resolve to under `findFamily`, for filters. */
export function familyNameVariants(name: string): string[] {
  return name.endsWith('_total') ? [name, name.slice(0, -6)] : [name, name + '_total'];
}
