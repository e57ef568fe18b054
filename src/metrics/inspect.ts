/**
 * What `inferscale scrape` reports about one pod's page: the canonical signals derived from it, the
 * raw families seen, and, for one `targetMetric`, the value a pod metric source would produce or
 * exactly why it cannot. The same catalogue and signal code as the pod scraper, so the answer is
 * the controller's answer.
 */
import { listedSignals, resolveTargetMetric, type ResolvedMetric } from './catalogue.js';
import { formatFromContentType, parseExposition, valueSamples, type Exposition } from './exposition.js';
import { fetchText } from './http-fetch.js';
import { evaluate, takeSnapshot, type MissingReason } from './signals.js';

export interface SignalReport {
  name: string;
  unit: string;
  value?: number;
  /** The family the value came from. */
  family?: string;
  missing?: { reason: MissingReason; message: string };
}

export interface FamilyReport {
  name: string;
  type: string;
  /** Label sets (histogram/summary series count once). */
  series: number;
  help?: string;
}

export interface MetricReport extends SignalReport {
  input: string;
  /** How the name was recognised: canonical, aibrix, engine (raw engine family) or raw. */
  via: ResolvedMetric['via'];
}

export interface ScrapeReport {
  url: string;
  format: Exposition['format'];
  lines: number;
  windowSeconds: number;
  /** Distinct `model_name` label values on the page. */
  models: string[];
  model?: string;
  signals: SignalReport[];
  families: FamilyReport[];
  metric?: MetricReport;
}

export interface ScrapeOptions {
  url: string;
  /** Seconds between the two scrapes that rate and window signals need; 0 scrapes once. */
  windowSeconds: number;
  timeoutMs: number;
  model?: string;
  metric?: string;
  /** Series with explicit timestamps older than this are stale. */
  ttlSeconds: number;
  rejectUnauthorized?: boolean;
  ca?: string;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

function familyReport(exp: Exposition): FamilyReport[] {
  const out: FamilyReport[] = [];
  for (const f of exp.families.values()) {
    const series = f.histograms?.length ?? f.summaries?.length ?? valueSamples(f).length;
    if (series === 0 && f.samples.length === 0) continue; // metadata without samples
    const r: FamilyReport = { name: f.name, type: f.type, series };
    if (f.help !== undefined) r.help = f.help;
    out.push(r);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function models(exp: Exposition): string[] {
  const set = new Set<string>();
  for (const f of exp.families.values())
    for (const s of f.samples) if (s.labels.model_name !== undefined) set.add(s.labels.model_name);
  return [...set].sort();
}

function readOne(
  metric: ResolvedMetric,
  pages: { page: Exposition; atMs: number }[],
  model: string | undefined,
  staleAfterMs: number,
): SignalReport {
  const snaps = pages.map(({ page, atMs }) =>
    takeSnapshot(metric, page, { atMs, staleAfterMs, ...(model !== undefined ? { modelName: model } : {}) }),
  );
  const last = snaps.at(-1)!;
  const report: SignalReport = { name: metric.name, unit: metric.unit };
  if (!last.ok) {
    report.missing = { reason: last.reason, message: last.message };
    if (last.family !== undefined) report.family = last.family;
    return report;
  }
  const first = snaps.length > 1 && snaps[0]!.ok ? snaps[0]!.snapshot : undefined;
  const v = evaluate(metric, last.snapshot, first);
  report.family = v.family ?? last.snapshot.family;
  if (v.ok) report.value = v.value;
  else {
    const message =
      v.reason === 'first-scrape' && snaps.length === 1
        ? `${v.message}: pass --window <seconds> to scrape twice`
        : v.message;
    report.missing = { reason: v.reason, message };
  }
  return report;
}

export async function scrapeReport(opts: ScrapeOptions): Promise<ScrapeReport> {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new Error(`"${opts.url}" is not a URL (write e.g. http://10.0.0.5:8000/metrics)`);
  }
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  // Resolve first: a bad --metric should fail before any waiting.
  const target = opts.metric !== undefined ? resolveTargetMetric(opts.metric) : undefined;

  const fetchPage = async (): Promise<{ page: Exposition; atMs: number }> => {
    const res = await fetchText(url, {
      timeoutMs: opts.timeoutMs,
      maxBytes: 32 * 1024 * 1024,
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    }).catch((err: Error) => {
      throw new Error(`fetching ${url.href}: ${err.message}`);
    });
    const atMs = now();
    try {
      return { page: parseExposition(res.body, { format: formatFromContentType(res.contentType) }), atMs };
    } catch (err) {
      throw new Error(`${url.href} is not a valid exposition page: ${(err as Error).message}`);
    }
  };

  const pages = [await fetchPage()];
  if (opts.windowSeconds > 0) {
    await sleep(opts.windowSeconds * 1000);
    pages.push(await fetchPage());
  }
  const page = pages.at(-1)!.page;
  const staleAfterMs = opts.ttlSeconds * 1000;
  const report: ScrapeReport = {
    url: url.href,
    format: page.format,
    lines: page.lines,
    windowSeconds: opts.windowSeconds,
    models: models(page),
    signals: listedSignals().map((def) =>
      readOne(resolveTargetMetric(def.name), pages, opts.model, staleAfterMs),
    ),
    families: familyReport(page),
  };
  if (opts.model !== undefined) report.model = opts.model;
  if (target !== undefined) {
    report.metric = {
      ...readOne(target, pages, opts.model, staleAfterMs),
      input: target.input,
      via: target.via,
    };
  }
  return report;
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(1) : a >= 1 ? v.toFixed(3) : v.toPrecision(4);
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The human-readable form of a report. */
export function formatReport(r: ScrapeReport): string {
  const out: string[] = [];
  const fmtName = r.format === 'openmetrics' ? 'OpenMetrics' : 'text 0.0.4';
  out.push(
    `${r.url}: ${fmtName}, ${r.lines} lines, ${r.families.length} families` +
      (r.windowSeconds > 0 ? `, window ${r.windowSeconds} s` : ', one scrape (rates need --window)'),
  );
  if (r.models.length > 0)
    out.push(`models: ${r.models.join(', ')}${r.model !== undefined ? ` (showing ${r.model})` : ''}`);
  if (r.models.length > 1 && r.model === undefined)
    out.push('several models on this page: pass --model <name> to pick one');
  if (r.metric !== undefined) {
    const m = r.metric;
    out.push('');
    const as = m.input === m.name ? '' : ` (read as ${m.name}, ${m.via} name)`;
    if (m.value !== undefined) out.push(`${m.input}${as} = ${fmt(m.value)} ${m.unit} from ${m.family}`);
    else out.push(`${m.input}${as}: no value — ${m.missing?.reason}: ${m.missing?.message}`);
  }
  out.push('', 'SIGNALS');
  out.push(
    pad([
      ['NAME', 'VALUE', 'UNIT', 'FROM / WHY MISSING'],
      ...r.signals.map((s) => [
        s.name,
        s.value !== undefined ? fmt(s.value) : '-',
        s.unit,
        s.value !== undefined ? (s.family ?? '') : `${s.missing?.reason}: ${s.missing?.message}`,
      ]),
    ]),
  );
  out.push('', 'FAMILIES');
  out.push(pad([['NAME', 'TYPE', 'SERIES'], ...r.families.map((f) => [f.name, f.type, String(f.series)])]));
  return out.join('\n') + '\n';
}
