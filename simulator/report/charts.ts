/**
 * The report's charts as vega-lite specs, rendered to SVG offline (vega's headless view, no canvas,
 * no network) so the HTML page can inline them.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { LatencySeries } from './summary.js';

/** A vega-lite spec as plain JSON (also written to the JSON report, so it can be re-rendered). */
export type ChartSpec = Record<string, unknown>;

export async function renderSvg(spec: ChartSpec): Promise<string> {
  // vega-lite validates the spec itself at compile time and throws with the offending path.
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A layer or panel of a spec; only the top level is checked against vega-lite's types. */
type SubSpec = Record<string, unknown>;

const WIDTH = 760;
const HEIGHT = 220;

export interface ReplicaChartInput {
  title: string;
  load: { timeS: number[]; rps: number[] };
  timeline: { timeS: number[]; desired: number[]; ready: number[] };
  /** Oracle ready replicas per slot. */
  oracle?: { slotS: number; needs: number[] };
}

const ORACLE_SERIES = 'oracle need';

/** Load (area, left axis) against desired and ready replicas (steps, right axis). */
export function replicaChartSpec(input: ReplicaChartInput): ChartSpec {
  const load = input.load.timeS.map((t, i) => ({ t, rps: input.load.rps[i]! }));
  const reps: { t: number; series: string; replicas: number }[] = [];
  input.timeline.timeS.forEach((t, i) => {
    reps.push({ t, series: 'desired', replicas: input.timeline.desired[i]! });
    reps.push({ t, series: 'ready', replicas: input.timeline.ready[i]! });
  });
  if (input.oracle) {
    const { slotS, needs } = input.oracle;
    needs.forEach((v, k) => reps.push({ t: k * slotS, series: ORACLE_SERIES, replicas: v }));
  }
  const series = input.oracle ? ['desired', 'ready', ORACLE_SERIES] : ['desired', 'ready'];
  const x = { field: 't', type: 'quantitative' as const, title: 'time (s)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: input.title,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: load },
        mark: { type: 'area', opacity: 0.25, color: '#7f7f7f', interpolate: 'step-after' },
        encoding: { x, y: { field: 'rps', type: 'quantitative', title: 'load (requests/s)' } },
      },
      {
        data: { values: reps },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
        encoding: {
          x,
          y: { field: 'replicas', type: 'quantitative', title: 'replicas', axis: { orient: 'right' } },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: series, range: ['#1f77b4', '#2ca02c', '#d62728'].slice(0, series.length) },
          },
          strokeDash: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: {
              domain: series,
              range: [
                [1, 0],
                [1, 0],
                [4, 3],
              ].slice(0, series.length),
            },
          },
        },
      },
    ],
    resolve: { scale: { y: 'independent' } },
  };
}

/** p99 TTFT and p99 ITL by arrival window, one line per run, with the SLO thresholds. */
export function latencyChartSpec(
  runs: { name: string; latency: LatencySeries }[],
  slo: { ttftS: number; itlS: number },
): ChartSpec {
  const rows: { t: number; run: string; ttft: number | null; itl: number | null }[] = [];
  for (const r of runs) {
    r.latency.timeS.forEach((t, i) => {
      rows.push({ t, run: r.name, ttft: r.latency.ttftP99[i] ?? null, itl: r.latency.itlP99[i] ?? null });
    });
  }
  const panel = (field: 'ttft' | 'itl', title: string, threshold: number): SubSpec => ({
    width: WIDTH,
    height: 180,
    layer: [
      {
        data: { values: rows.filter((r) => r[field] !== null && r[field]! > 0) },
        mark: { type: 'line', point: { size: 12 }, strokeWidth: 1.5 },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'request arrival (s)' },
          y: { field, type: 'quantitative', title, scale: { type: 'log' } },
          color: { field: 'run', type: 'nominal', title: 'run' },
        },
      },
      {
        data: { values: [{ v: threshold }] },
        mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3] },
        encoding: { y: { field: 'v', type: 'quantitative' } },
      },
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Latency over time (p99 per window; dashed: SLO)',
    vconcat: [panel('ttft', 'p99 TTFT (s, log)', slo.ttftS), panel('itl', 'p99 mean ITL (s, log)', slo.itlS)],
  };
}

/** Cost against SLO attainment, one point per run; the oracle's cost as a vertical rule. */
export function costChartSpec(
  runs: { name: string; costUsd: number; attainment: number | null }[],
  oracleCostUsd: number | undefined,
): ChartSpec {
  const points = runs.filter((r) => r.attainment !== null);
  const lowest = Math.min(...points.map((p) => p.attainment!), 1);
  const yMin = Math.max(0, Math.floor((lowest - 0.02) * 20) / 20);
  const layers: SubSpec[] = [
    {
      data: { values: points },
      mark: { type: 'point', filled: true, size: 140, opacity: 0.9 },
      encoding: {
        x: {
          field: 'costUsd',
          type: 'quantitative',
          title: 'cost (USD)',
          scale: { zero: false, nice: true },
        },
        y: {
          field: 'attainment',
          type: 'quantitative',
          title: 'SLO attainment',
          scale: { domain: [yMin, 1] },
        },
        color: { field: 'name', type: 'nominal', title: 'run' },
        shape: { field: 'name', type: 'nominal', title: 'run' },
      },
    },
  ];
  if (oracleCostUsd !== undefined) {
    layers.push({
      data: { values: [{ c: oracleCostUsd, label: 'oracle cost' }] },
      layer: [
        {
          mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3] },
          encoding: { x: { field: 'c', type: 'quantitative' } },
        },
        {
          mark: { type: 'text', color: '#d62728', align: 'left', dx: 4, baseline: 'bottom', fontSize: 11 },
          encoding: {
            x: { field: 'c', type: 'quantitative' },
            y: { value: 300 },
            text: { field: 'label', type: 'nominal' },
          },
        },
      ],
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Cost against SLO attainment',
    width: 520,
    height: 300,
    layer: layers,
  };
}

export interface GroupReplicaChartInput {
  title: string;
  load: { timeS: number[]; rps: number[] };
  timeS: number[];
  /** Desired replicas over all pools. */
  desired: number[];
  pools: { label: string; ready: number[]; starting: number[] }[];
}

/**
 * A model group's replicas: load (line, left axis) against each pool's ready replicas stacked, the
 * replicas still starting on top, and the total desired (steps, right axis).
 */
export function groupReplicaChartSpec(input: GroupReplicaChartInput): ChartSpec {
  const load = input.load.timeS.map((t, i) => ({ t, rps: input.load.rps[i]! }));
  const labels = input.pools.map((p) => `${p.label} ready`);
  const STARTING = 'starting';
  const stacked: { t: number; series: string; order: number; replicas: number }[] = [];
  input.timeS.forEach((t, i) => {
    input.pools.forEach((p, k) => stacked.push({ t, series: labels[k]!, order: k, replicas: p.ready[i]! }));
    stacked.push({
      t,
      series: STARTING,
      order: input.pools.length,
      replicas: input.pools.reduce((a, p) => a + p.starting[i]!, 0),
    });
  });
  const desired = input.timeS.map((t, i) => ({ t, replicas: input.desired[i]!, series: 'desired (total)' }));
  const x = { field: 't', type: 'quantitative' as const, title: 'time (s)' };
  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
  const domain = [...labels, STARTING];
  const range = [...labels.map((_, k) => palette[k % palette.length]!), '#c7c7c7'];
  const y = {
    field: 'replicas',
    type: 'quantitative' as const,
    title: 'replicas',
    axis: { orient: 'right' },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: input.title,
    width: WIDTH,
    height: HEIGHT,
    // The load is a line drawn over the stacked pools (an area behind them would be hidden).
    layer: [
      {
        layer: [
          {
            data: { values: stacked },
            mark: { type: 'area', interpolate: 'step-after', opacity: 0.75 },
            encoding: {
              x,
              y: { ...y, stack: 'zero' },
              color: { field: 'series', type: 'nominal', title: null, scale: { domain, range } },
              order: { field: 'order', type: 'quantitative' },
            },
          },
          {
            data: { values: desired },
            mark: {
              type: 'line',
              interpolate: 'step-after',
              strokeWidth: 2,
              color: '#222',
              strokeDash: [4, 3],
            },
            encoding: { x, y },
          },
        ],
      },
      {
        data: { values: load },
        mark: { type: 'line', color: '#555', strokeWidth: 1.2, interpolate: 'step-after' },
        encoding: {
          x,
          y: {
            field: 'rps',
            type: 'quantitative',
            title: 'load (requests/s, grey line)',
            axis: { orient: 'left' },
          },
        },
      },
    ],
    resolve: { scale: { y: 'independent' } },
  };
}
