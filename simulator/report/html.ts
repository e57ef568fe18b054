/**
 * The self-contained HTML page of a simulation report: tables and inline SVG charts, no scripts,
 * no external resources. Rendered from the JSON report alone, so either can be regenerated.
 */
import {
  costChartSpec,
  groupReplicaChartSpec,
  latencyChartSpec,
  renderSvg,
  replicaChartSpec,
} from './charts.js';
import { isOracle, type RunReport, type SimulationReport } from './compare.js';

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function num(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return Number(v.toFixed(digits)).toString();
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)} %`;
}

function table(head: string[], rows: string[][]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

const STYLE = `
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1100px;color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.chart{margin:12px 0;overflow-x:auto}.note{color:#555;font-size:13px}
code{background:#f3f3f3;padding:1px 3px}`;

export async function renderHtml(report: SimulationReport): Promise<string> {
  const { input, runs } = report;
  const oracle = isOracle(report.oracle) ? report.oracle : undefined;
  const s = input.slo;

  const inputRows: string[][] = [
    [
      'trace',
      esc(
        `${input.trace.name}: ${input.trace.requests} requests over ${num(input.trace.durationS, 1)} s (${num(input.trace.meanRps, 2)} req/s; mean ${num(input.trace.meanInputTokens, 0)} in / ${num(input.trace.meanOutputTokens, 0)} out tokens)${input.trace.skipped > 0 ? `, ${input.trace.skipped} invalid lines skipped` : ''}`,
      ),
    ],
    [
      'replica',
      esc(
        `${input.deployment.model} on ${input.deployment.tp}× ${input.deployment.gpu}, $${num(input.deployment.pricePerReplicaHourUsd, 4)}/replica-hour`,
      ),
    ],
    ['cold start', esc(input.coldStart.description)],
    ['router', esc(input.router)],
    [
      'autoscaler',
      `tick every ${input.tickS} s from ${input.warmupS} s; simulated until the last completion${input.tailS > 0 ? ` and at least ${input.tailS} s after the last arrival` : ''}`,
    ],
    ['initial replicas', runs.map((r) => `${esc(r.summary.name)}: ${r.initialReplicas}`).join(', ')],
    [
      'SLO',
      esc(
        `TTFT ≤ ${s.ttftS} s and mean ITL ≤ ${s.itlS} s per request; oracle goal ${pct(s.goal)} of requests`,
      ),
    ],
    ...runs
      .filter((r) => r.group !== undefined)
      .map((r) => {
        const g = r.group!;
        return [
          'model group',
          esc(
            `${r.summary.name}: ${g.model} on ${g.pools.map((p) => `${p.tp}× ${p.gpu} ($${num(p.pricePerReplicaHourUsd, 4)}/replica-hour)`).join(', ')}; ` +
              `gateway policy ${g.router}, ${input.router} within a pool; starts from ${g.initial}`,
          ),
        ];
      }),
    ['seed', String(input.seed)],
    ['flap window', `${input.flapWindowS} s`],
  ];

  const summaryRows = runs.map((r) => {
    const m = r.summary;
    return [
      esc(m.name),
      esc(m.metrics.join(', ')),
      pct(m.slo.attainment),
      pct(m.slo.ttftAttainment),
      pct(m.slo.itlAttainment),
      `${num(m.ttft.p50)} / ${num(m.ttft.p90)} / ${num(m.ttft.p99)}`,
      `${num(m.itl.p50 === null ? null : m.itl.p50 * 1000, 1)} / ${num(m.itl.p90 === null ? null : m.itl.p90 * 1000, 1)} / ${num(m.itl.p99 === null ? null : m.itl.p99 * 1000, 1)}`,
      `${num(m.e2e.p50)} / ${num(m.e2e.p90)} / ${num(m.e2e.p99)}`,
      num(m.replicaSeconds, 0),
      num(m.gpuHours, 3),
      `$${num(m.costUsd, 3)}`,
      m.costVsOracle === null ? '–' : `${num(m.costVsOracle, 2)}×`,
      `${m.scaleEvents} (${m.scaleUps}↑ ${m.scaleDowns}↓)`,
      String(m.flaps),
      `${m.peakGatewayQueue} / ${m.peakWaiting}`,
      `${num(m.meanReplicas, 2)} / ${m.peakReplicas}`,
    ];
  });

  const problems: string[] = [];
  for (const r of runs) {
    const m = r.summary;
    if (m.rejected > 0)
      problems.push(`${m.name}: ${m.rejected} requests refused by the replica (${r.firstRejection ?? ''})`);
    if (m.unfinished > 0)
      problems.push(`${m.name}: ${m.unfinished} requests unfinished when the run gave up`);
    if (m.tickErrors > 0)
      problems.push(`${m.name}: ${m.tickErrors} autoscaler ticks failed (${r.tickErrorExamples[0] ?? ''})`);
    for (const w of r.warnings ?? []) problems.push(`${m.name}: ${w}`);
  }

  const charts: string[] = [];
  for (const r of runs) {
    if (r.group !== undefined) {
      charts.push(`<div class="chart">${await renderSvg(groupChart(r, report.load))}</div>`);
      continue;
    }
    const svg = await renderSvg(
      replicaChartSpec({
        title: `${r.summary.name}: load, desired and ready replicas`,
        load: report.load,
        timeline: r.timeline,
        ...(oracle ? { oracle: { slotS: oracle.slotS, needs: oracle.needs } } : {}),
      }),
    );
    charts.push(`<div class="chart">${svg}</div>`);
  }
  const latencySvg = await renderSvg(
    latencyChartSpec(
      runs.map((r) => ({ name: r.summary.name, latency: r.latency })),
      { ttftS: s.ttftS, itlS: s.itlS },
    ),
  );
  const costSvg = await renderSvg(
    costChartSpec(
      runs.map((r) => ({
        name: r.summary.name,
        costUsd: r.summary.costUsd,
        attainment: r.summary.slo.attainment,
      })),
      oracle?.costUsd,
    ),
  );

  const oracleHtml = oracle
    ? `<p>A replica serves <b>${num(oracle.capacityRps, 3)} req/s</b> of this trace's requests with ${pct(s.goal)} within the SLO
in a pool of ${oracle.capacityPoolSize} behind the router (${num(oracle.singleReplicaRps, 3)} req/s alone; measured on the replica
model with Poisson arrivals, ${oracle.capacityProbes.length} probes). Slots of ${oracle.slotS} s need
ceil(arrivals / (capacity × slot)) ready replicas (at least ${oracle.minReplicas}); each replica starts a cold start
(${num(oracle.coldStartS, 1)} s) ahead of need and is kept across gaps shorter than that.</p>
${table(
  ['replica-seconds', 'GPU-hours', 'cost', 'starts', 'peak replicas'],
  [
    [
      num(oracle.replicaSeconds, 0),
      num(oracle.gpuHours, 3),
      `$${num(oracle.costUsd, 3)}`,
      String(oracle.starts),
      String(oracle.peakReplicas),
    ],
  ],
)}`
    : `<p>Oracle not computed: ${esc((report.oracle as { skipped: string }).skipped)}</p>`;

  const verifyRuns = runs.filter((r) => r.verify !== undefined);
  const verifyHtml =
    verifyRuns.length === 0
      ? ''
      : `<h2>Metric verification</h2>
<p class="note">Every signal read was also computed by rendering the replica's <code>/metrics</code> page and reading it with the production parser and catalogue.</p>
${table(
  ['run', 'comparisons', 'mismatches', 'first mismatch'],
  verifyRuns.map((r) => {
    const v = r.verify!;
    const ex = v.examples[0];
    return [
      esc(r.summary.name),
      String(v.comparisons),
      String(v.mismatches),
      ex
        ? esc(
            `${ex.pod} ${ex.metric} at ${num(ex.timeMs / 1000, 1)} s: direct ${String(ex.direct)}, parsed ${String(ex.parsed)}`,
          )
        : '–',
    ];
  }),
)}`;

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>inferscale simulation report</title><style>${STYLE}</style></head>
<body>
<h1>inferscale simulation report</h1>
<h2>Input</h2>
${table(['', ''], inputRows)}
<h2>Runs</h2>
${table(
  [
    'run',
    'metric=target',
    'SLO attainment',
    'TTFT ok',
    'ITL ok',
    'TTFT p50/p90/p99 (s)',
    'ITL p50/p90/p99 (ms)',
    'E2E p50/p90/p99 (s)',
    'replica-s',
    'GPU-h',
    'cost',
    'cost ÷ oracle',
    'scale events',
    'flaps',
    'peak queue gw / all',
    'replicas mean / peak',
  ],
  summaryRows,
)}
${problems.length > 0 ? `<ul class="note">${problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : ''}
${
  runs.some((r) => r.group !== undefined)
    ? `<p class="note">Model-group runs: cost, GPU-hours and replicas are totals over the pools, each pool at its own
price and tensor parallelism; scale events and flaps are counted per Deployment and summed. Their cost ÷ oracle
compares with the oracle of ${esc(input.deployment.gpu)} alone (below): under 1× means the mix cost less than a
perfect-foresight schedule of that one type could, not that it beat an oracle of the mix.</p>`
    : ''
}
${groupSections(runs)}
<h2>Oracle</h2>
${oracleHtml}
<h2>Cost against SLO attainment</h2>
<div class="chart">${costSvg}</div>
<h2>Replicas over time</h2>
${charts.join('\n')}
<h2>Latency over time</h2>
<div class="chart">${latencySvg}</div>
${verifyHtml}
<p class="note">Generated by <code>inferscale simulate</code> (report schema ${esc(report.schema)}).</p>
</body></html>
`;
}

function groupChart(r: RunReport, load: SimulationReport['load']) {
  const g = r.group!;
  return groupReplicaChartSpec({
    title: `${r.summary.name}: load (line), ready replicas per GPU pool (stacked), desired (dashed)`,
    load,
    timeS: r.timeline.timeS,
    desired: r.timeline.desired,
    pools: g.pools.map((p) => ({ label: p.gpu, ready: p.timeline.ready, starting: p.timeline.starting })),
  });
}

/** Per model-group run: the breakdown per GPU pool, the engine's outcomes and the notes. */
function groupSections(runs: readonly RunReport[]): string {
  const out: string[] = [];
  for (const r of runs) {
    const g = r.group;
    if (g === undefined) continue;
    const rows = g.pools.map((p) => [
      esc(p.gpu),
      esc(p.deployment),
      esc(`${p.tp}× ${p.gpu}, $${num(p.pricePerReplicaHourUsd, 4)}/h`),
      p.profile === null ? 'none (not planned)' : esc(p.profile),
      String(p.initialReplicas),
      `${p.requests} (${pct(p.requestShare)})`,
      pct(p.attainment),
      `${num(p.ttft.p50)} / ${num(p.ttft.p90)} / ${num(p.ttft.p99)}`,
      `${num(p.itl.p50 === null ? null : p.itl.p50 * 1000, 1)} / ${num(p.itl.p90 === null ? null : p.itl.p90 * 1000, 1)} / ${num(p.itl.p99 === null ? null : p.itl.p99 * 1000, 1)}`,
      num(p.replicaSeconds, 0),
      num(p.gpuHours, 3),
      `$${num(p.costUsd, 3)} (${pct(p.costShare)})`,
      `${num(p.meanReplicas, 2)} / ${p.peakReplicas}`,
      `${p.scaleEvents} (${p.scaleUps}↑ ${p.scaleDowns}↓)`,
      String(p.flaps),
      String(p.peakGatewayQueue),
    ]);
    const outcomes = Object.entries(g.outcomes)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const notes = [...g.outcomeExamples, ...g.notes];
    out.push(`<h2>Model group: ${esc(r.summary.name)}</h2>
<p>${esc(g.model)} on ${g.pools.length} GPU pools behind one gateway (policy <code>${esc(g.router)}</code>); the production
<code>ModelGroupEngine</code> plans every tick. Ticks: ${esc(outcomes || 'none')}. Pools started from ${esc(g.initial)}.</p>
${table(
  [
    'GPU',
    'Deployment',
    'replica',
    'profile',
    'initial',
    'requests',
    'SLO attainment',
    'TTFT p50/p90/p99 (s)',
    'ITL p50/p90/p99 (ms)',
    'replica-s',
    'GPU-h',
    'cost',
    'replicas mean / peak',
    'scale events',
    'flaps',
    'peak gw queue',
  ],
  rows,
)}
${notes.length > 0 ? `<ul class="note">${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}`);
  }
  return out.join('\n');
}
