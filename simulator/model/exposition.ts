/**
 * Prometheus text exposition byte-for-byte as Python's prometheus_client writes it (the library
 * vLLM and SGLang use): `# HELP`/`# TYPE` per family, label names sorted, floats formatted with
 * Python's repr() then Go-style exponents for large values (`floatToGoString`).
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  /** Exposed sample name, e.g. `vllm:prompt_tokens_total` or `vllm:e2e_request_latency_seconds_bucket`. */
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  /** Exposed family name (counters carry `_total`, as prometheus_client writes them). */
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** Content type of prometheus_client's `generate_latest`. */
export const PROMETHEUS_TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function padExponent(s: string): string {
  // JS writes 1e-7, Python writes 1e-07.
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Python's repr() of a float. */
export function pythonFloatRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const a = Math.abs(v);
  if (a >= 1e16 || a < 1e-4) return padExponent(v.toExponential());
  if (Number.isInteger(v)) return `${v}.0`;
  return String(v);
}

/** prometheus_client's floatToGoString. */
export function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  const s = pythonFloatRepr(v);
  const dot = s.indexOf('.');
  if (v > 0 && dot > 6) {
    const mantissa = `${s[0]}.${s.slice(1, dot)}${s.slice(dot + 1)}`.replace(/[0.]+$/, '');
    return `${mantissa}e+0${dot - 1}`;
  }
  return s;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelString(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  keys.sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (i > 0) out += ',';
    out += `${k}="${escapeLabel(labels[k] as string)}"`;
  }
  return `${out}}`;
}

/** Renders families in order, as prometheus_client's text format. */
export function renderExposition(families: readonly MetricFamily[]): string {
  const parts: string[] = [];
  for (const f of families) {
    parts.push(`# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`);
    for (const s of f.samples) parts.push(`${s.name}${labelString(s.labels)} ${formatValue(s.value)}\n`);
  }
  return parts.join('');
}
