/**
 * The heterogeneous-GPU optimizer against the best single GPU type:
 * `npx tsx bench/optimizer-group.bench.ts`.
 *
 * Profiles: the checked-in Llama-3.1-8B profiles (config/profiles, TTFT p90 ≤ 1 s and mean ITL p90
 * ≤ 100 ms, measured with `inferscale profile`) for L4, A10G, A100-80GB and H100. Prices: the
 * catalogue's (config/gpus.yaml, reference §3.5 snapshot) and Mélange's Table 1.
 *
 * 1. Static plans, Mélange's method: the same program for all four types and for each type alone,
 *    at constant rates, for short (chat), long (summarisation) and mixed (80/20) request sizes.
 * 2. Simulated autoscaling: the mixed workload replayed against a model group (four pools behind a
 *    size-aware gateway, the production ModelGroupEngine ticking every 15 s, cold starts from the
 *    catalogue) and against each type alone (the same engine with one target). Cost is GPU time ×
 *    price; SLO attainment is the share of requests within both bounds. Savings are against the
 *    cheapest single type whose p90 TTFT and p90 ITL meet the SLO.
 *
 * Env: RATES (comma list, req/s, part 2), DURATION_S (per constant-rate run, default 900),
 * PRICES (catalogue,melange), HEADROOM (default 0.1), SKIP_SIM=1, SEED, DEBUG=1 (plan changes).
 */
import { resolvePodAutoscaler } from '../src/api/resolve.js';
import type { ResolvedPodAutoscaler } from '../src/api/resolved.js';
import { loadHighsSolver } from '../src/optimizer/highs.js';
import { readProfiles } from '../src/optimizer/profiles.js';
import { optimize, type OptimizeResult } from '../algorithms/optimizer/optimize.js';
import type { Profile } from '../algorithms/optimizer/profile.js';
import { scaleWorkload, workloadFromRequests, type LoadEstimate } from '../algorithms/optimizer/workload.js';
import { catalogColdStart } from '../simulator/cluster/coldstart.js';
import {
  poolFactory,
  runGroupSimulation,
  summarizeGroupRun,
  type GroupRouterPolicy,
  type GroupRunSummary,
} from '../simulator/cluster/group.js';
import { catalog, gpuSpec, modelSpec, resolveDeployment } from '../simulator/model/hardware.js';
import { Rng } from '../simulator/traces/rng.js';
import { generateSynthetic, type ArrivalShape } from '../simulator/traces/synthetic.js';
import type { SizeSpec } from '../simulator/traces/sizes.js';

const MODEL = 'Llama-3.1-8B';
const GPUS = ['L4', 'A10G', 'A100-80GB', 'H100'];
const SLO = { ttft: 1, itl: 0.1, percentile: 90 };
const PRICE_SETS: Record<string, Record<string, number> | undefined> = {
  catalogue: undefined,
  melange: { L4: 0.7, A10G: 1.01, 'A100-80GB': 3.67, H100: 7.516 },
};
const SEED = Number(process.env.SEED ?? 1);
const DURATION_S = Number(process.env.DURATION_S ?? 900);
const RATES = (process.env.RATES ?? '4,32').split(',').map(Number);
const PRICES = (process.env.PRICES ?? 'catalogue,melange').split(',');
const HEADROOM = Number(process.env.HEADROOM ?? 0.1);

/** Chatbot-Arena-like chat (ShareGPT fit, outputs capped at the grid's 1024). */
const SHORT: SizeSpec = {
  kind: 'lognormal',
  input: { median: 100, sigma: 1.0, min: 4, max: 4000 },
  output: { median: 200, sigma: 0.9, min: 4, max: 1024 },
};
/** PubMed-like summarisation: long prompts, abstract-sized outputs. */
const LONG: SizeSpec = {
  kind: 'lognormal',
  input: { median: 4000, sigma: 0.4, min: 1500, max: 8000 },
  output: { median: 200, sigma: 0.5, min: 16, max: 1024 },
};

type Req = { id: number; arrivalMs: number; inputTokens: number; outputTokens: number };

/** Short and long requests as two Poisson streams merged (`longShare` of the rate is long). */
function trace(
  shape: (rate: number) => ArrivalShape,
  rate: number,
  longShare: number,
  durationS: number,
  seed: number,
): Req[] {
  const parts = [
    ...(longShare < 1
      ? generateSynthetic({ shape: shape(rate * (1 - longShare)), durationS, seed, sizes: SHORT })
      : []),
    ...(longShare > 0
      ? generateSynthetic({ shape: shape(rate * longShare), durationS, seed: seed + 1000, sizes: LONG })
      : []),
  ];
  return parts
    .sort((a, b) => a.arrivalMs - b.arrivalMs)
    .map((r, id) => ({
      id,
      arrivalMs: r.arrivalMs,
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
    }));
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => '  ' + r.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  '))
    .join('\n');
}

function mixOf(result: OptimizeResult): string {
  return result.kind === 'plan'
    ? result.plan.gpus
        .filter((g) => g.replicas > 0)
        .map((g) => `${g.replicas}×${g.gpu}`)
        .join('+')
    : result.kind;
}

async function main(): Promise<void> {
  const { solver } = await loadHighsSolver();
  const all = (await readProfiles(['config/profiles'])).profiles.filter((p) => p.model === MODEL);
  const profiles = GPUS.map((g) => {
    const p = all.find((x) => x.gpu === g);
    if (!p) throw new Error(`no ${MODEL} profile for ${g} in config/profiles; run inferscale profile`);
    return p;
  });
  const grid = profiles[0]!.grid;
  const priceOf = (set: string, gpu: string): number =>
    PRICE_SETS[set]?.[gpu] ?? profiles.find((p) => p.gpu === gpu)!.costPerHour;
  console.log(
    `Profiles: ${MODEL} on ${GPUS.join(', ')}; SLO TTFT p90 ≤ ${SLO.ttft} s, mean ITL p90 ≤ ${SLO.itl * 1000} ms`,
  );
  for (const set of PRICES) {
    console.log(`  prices ${set}: ${GPUS.map((g) => `${g} $${priceOf(set, g).toFixed(3)}`).join(', ')}`);
  }

  // 1. Static plans.
  console.log(
    '\n1. Static plans (same program, all four types vs each type alone), savings vs the best single type',
  );
  const shapes: Array<[string, number]> = [
    ['short', 0],
    ['long', 1],
    ['mixed', 0.2],
  ];
  for (const set of PRICES) {
    const rows: string[][] = [
      ['workload', 'req/s', 'mix', '$/h', 'best single', '$/h', 'saved', 'vs each type'],
    ];
    const saved: number[] = [];
    for (const [label, longShare] of shapes) {
      const reqs = trace((rate) => ({ kind: 'poisson', rate }), 10, longShare, 1800, SEED);
      const base = workloadFromRequests(reqs, grid, { rounding: 'nearest', window: { kind: 'mean' } });
      if (base.kind !== 'ok') throw new Error('empty trace');
      for (const rate of [1, 2, 4, 8, 16, 32]) {
        const load: LoadEstimate = {
          kind: 'ok',
          workload: scaleWorkload(base.workload, rate / base.workload.totalRps),
          notes: [],
        };
        const options = profiles.map((p) => ({ name: p.gpu, profile: p, costPerHour: priceOf(set, p.gpu) }));
        const mix = optimize({ gpus: options, load }, solver);
        const singles = options.map((o) => ({ gpu: o.name, result: optimize({ gpus: [o], load }, solver) }));
        const costs = singles.map((s) => (s.result.kind === 'plan' ? s.result.plan.costPerHour : Infinity));
        const best = costs.indexOf(Math.min(...costs));
        const mixCost = mix.kind === 'plan' ? mix.plan.costPerHour : NaN;
        const s = 1 - mixCost / costs[best]!;
        saved.push(s);
        const each = costs.filter(Number.isFinite).map((c) => 1 - mixCost / c);
        rows.push([
          label,
          String(rate),
          mixOf(mix),
          mixCost.toFixed(2),
          `${mixOf(singles[best]!.result)}`,
          costs[best]!.toFixed(2),
          pct(s),
          `${pct(Math.min(...each))}–${pct(Math.max(...each))}`,
        ]);
      }
    }
    console.log(`\n  prices: ${set}`);
    console.log(table(rows));
    console.log(
      `  savings vs best single type: ${pct(Math.min(...saved))}–${pct(Math.max(...saved))} (Mélange: 15–77 % vs each type, up to 77 %)`,
    );
  }

  if (process.env.SKIP_SIM === '1') return;

  // 2. Simulated autoscaling on the mixed workload.
  console.log(
    '\n2. Simulated autoscaling, mixed workload (80 % chat / 20 % summarisation), cost vs SLO attainment',
  );
  const cat = catalog();
  const groupPa = (gpus: readonly string[]): ResolvedPodAutoscaler => {
    const name = (g: string) => `llama-${g.toLowerCase()}`;
    const r = resolvePodAutoscaler({
      apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
      kind: 'PodAutoscaler',
      metadata: { name: 'llama-group', namespace: 'default' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: name(gpus[0]!) },
        maxReplicas: 200,
        scalingStrategy: 'OPTIMIZER',
        optimizer: {
          model: MODEL,
          headroom: HEADROOM,
          targets: gpus.map((g, i) => ({
            gpu: g,
            ...(i > 0
              ? { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: name(g) } }
              : {}),
          })),
        },
      },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.value;
  };
  const workloads: Array<{ label: string; requests: Req[] }> = [
    ...RATES.map((rate) => ({
      label: `${rate} req/s`,
      requests: trace((r) => ({ kind: 'poisson', rate: r }), rate, 0.2, DURATION_S, SEED),
    })),
    {
      label: `sine 2–${Math.max(...RATES)} req/s`,
      requests: trace(
        (r) => ({ kind: 'sine', min: (r * 2) / Math.max(...RATES), max: r, periodS: 2 * DURATION_S }),
        Math.max(...RATES),
        0.2,
        2 * DURATION_S,
        SEED,
      ),
    },
  ];
  const simulate = async (
    requests: Req[],
    gpus: readonly string[],
    set: string,
    router: GroupRouterPolicy = 'plan',
  ): Promise<GroupRunSummary> => {
    const pa = groupPa(gpus);
    const chosen = profiles
      .filter((p) => gpus.includes(p.gpu))
      .map((p): Profile => ({ ...p, costPerHour: priceOf(set, p.gpu) }));
    // Every configuration starts from its own plan for the first two minutes, as if it had been
    // serving this load before the trace began.
    const head = workloadFromRequests(
      requests.filter((r) => r.arrivalMs < 120_000),
      grid,
      { rounding: 'nearest', window: { kind: 'mean' } },
    );
    const start = optimize(
      {
        gpus: chosen.map((p) => ({ name: p.gpu, profile: p })),
        load: head,
        options: { headroom: pa.optimizer!.headroom },
      },
      solver,
    );
    const run = await runGroupSimulation({
      name: gpus.join('+'),
      pa,
      profiles: chosen,
      requests,
      router,
      solver: async () => solver,
      pools: gpus.map((g, k) => {
        const dep = resolveDeployment(gpuSpec(g), modelSpec(MODEL));
        return {
          gpu: g,
          factory: poolFactory({ gpu: g, model: MODEL, pricePerReplicaHour: priceOf(set, g) }),
          coldStart: catalogColdStart(dep, cat.coldStartDefaults, 'cached', new Rng(SEED * 100 + k)),
          initialReplicas:
            start.kind === 'plan' ? (start.plan.gpus.find((x) => x.gpu === g)?.replicas ?? 0) : 1,
        };
      }),
    });
    if (process.env.DEBUG && gpus.length > 1 && router === 'plan') {
      let last = '';
      for (const t of run.ticks) {
        const d = t.desired.join(',');
        if (d !== last) console.log(`    ${(t.timeMs / 1000).toFixed(0)} s ${d} ${t.message}`);
        last = d;
      }
      console.log(
        `    pools: ${run.pools.map((p) => `${p.gpu} $${p.costUsd.toFixed(2)} peak ${p.peakReplicas}`).join(', ')}`,
      );
    }
    const summary = summarizeGroupRun(run, SLO);
    if (process.env.DEBUG && gpus.length > 1 && router === 'plan') {
      console.log(
        `    per pool: ${summary.pools.map((p) => `${p.gpu} n=${p.requests} attain ${p.attainment === undefined ? '-' : pct(p.attainment)}`).join(', ')}`,
      );
    }
    return summary;
  };

  const started = performance.now();
  const dynamicSaved: number[] = [];
  for (const set of PRICES) {
    const rows: string[][] = [['workload', 'GPUs', '$', 'attain', 'p90 TTFT', 'p90 ITL', 'SLO', 'saved']];
    for (const w of workloads) {
      const mix = await simulate(w.requests, GPUS, set);
      const singles: GroupRunSummary[] = [];
      const unservable: string[] = [];
      for (const g of GPUS) {
        // A type whose profile cannot serve some of the trace's buckets cannot meet the SLO alone.
        const whole = workloadFromRequests(w.requests, grid, {
          rounding: 'nearest',
          window: { kind: 'mean' },
        });
        const alone = optimize(
          { gpus: [{ name: g, profile: profiles.find((p) => p.gpu === g)! }], load: whole },
          solver,
        );
        if (alone.kind === 'infeasible' && alone.reason === 'unservable') unservable.push(g);
        else singles.push(await simulate(w.requests, [g], set));
      }
      const ok = singles.filter((s) => s.meetsSlo && !s.truncated);
      const best = ok.length > 0 ? ok.reduce((a, b) => (b.costUsd < a.costUsd ? b : a)) : undefined;
      const oblivious = await simulate(w.requests, GPUS, set, 'least-requests');
      for (const s of [mix, oblivious, ...singles]) {
        const label = s === oblivious ? `${s.name} (size-oblivious gateway)` : s.name;
        const saved = s === mix && best && mix.meetsSlo ? 1 - mix.costUsd / best.costUsd : undefined;
        if (saved !== undefined) dynamicSaved.push(saved);
        rows.push([
          s === mix ? w.label : '',
          label,
          s.costUsd.toFixed(2),
          pct(s.attainment),
          s.ttftP === Infinity ? '∞' : `${s.ttftP.toFixed(2)} s`,
          s.itlP === Infinity ? '∞' : `${(s.itlP * 1000).toFixed(0)} ms`,
          s.truncated ? 'unfinished' : s.meetsSlo ? 'met' : 'missed',
          saved !== undefined
            ? `${pct(saved)} vs ${best!.name}`
            : s === mix
              ? mix.meetsSlo
                ? 'no single type met the SLO'
                : 'the mix missed the SLO'
              : '',
        ]);
      }
      for (const g of unservable) rows.push(['', g, '-', '-', '-', '-', 'cannot', 'unservable buckets']);
    }
    console.log(`\n  prices: ${set}`);
    console.log(table(rows));
  }
  console.log(
    `\n  simulated savings of the mix vs the cheapest single type meeting the SLO: ${
      dynamicSaved.length ? `${pct(Math.min(...dynamicSaved))}–${pct(Math.max(...dynamicSaved))}` : 'n/a'
    } (${((performance.now() - started) / 1000).toFixed(0)} s of simulation)`,
  );
}

await main();
