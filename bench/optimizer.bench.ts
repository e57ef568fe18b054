/**
 * Optimizer speed: HiGHS init (once per process) and solve time for 60 buckets × 6 GPU types,
 * the size of Mélange's evaluation grid (10 input × 6 output ranges), over repeated solves.
 * Goal: p50 and p99 under 100 ms per solve. Run: npx tsx bench/optimizer.bench.ts
 * (BENCH_RUNS=n solves per mode, default 200).
 */
import {
  optimize,
  type GpuOption,
  type MilpSolver,
  type OptimizeOptionsInput,
} from '../algorithms/optimizer/index.js';
import { PROFILE_KIND, ProfileSchema, type Profile } from '../algorithms/optimizer/profile.js';
import type { Workload } from '../algorithms/optimizer/workload.js';
import { loadHighsSolver } from '../src/optimizer/highs.js';

const INPUT = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
const OUTPUT = [16, 64, 256, 1024, 2048, 4096];
/** name, $/h (Mélange Table 1 and the price snapshot), relative speed, max context (tokens). */
const GPUS: Array<[string, number, number, number]> = [
  ['L4', 0.7, 0.35, 12_000],
  ['A10G', 1.01, 0.5, 12_000],
  ['L40S', 1.95, 1.1, 24_000],
  ['A100-40GB', 1.48, 1.4, 24_000],
  ['A100-80GB', 2.5, 1.6, 100_000],
  ['H100', 3.78, 3.2, 100_000],
];

/** A deterministic PRNG so every run solves the same instances. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function profile(name: string, cost: number, speed: number, maxCtx: number, rand: () => number): Profile {
  const maxRps = INPUT.map((i) =>
    OUTPUT.map((o) => {
      if (i + o > maxCtx) return 0;
      // Prefill and decode cost both grow with length; small GPUs suffer more on long requests.
      const base = (speed * 4000) / (i * 0.6 + o * 8 + 200);
      return base * (0.85 + 0.3 * rand());
    }),
  );
  return ProfileSchema.parse({
    kind: PROFILE_KIND,
    version: 1,
    gpu: name,
    model: 'bench',
    costPerHour: cost,
    slo: { itl: { seconds: 0.05, percentile: 99 } },
    grid: { input: INPUT, output: OUTPUT },
    maxRps,
  });
}

function workload(rand: () => number, totalRps: number): Workload {
  const weights = INPUT.map(() => OUTPUT.map(() => rand() ** 2));
  const sum = weights.flat().reduce((s, w) => s + w, 0);
  return {
    grid: { input: INPUT, output: OUTPUT },
    rps: weights.map((row) => row.map((w) => (w / sum) * totalRps)),
    totalRps,
    clampedRps: 0,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const started = performance.now();
const highs = await loadHighsSolver();
const firstLoadMs = performance.now() - started;
const reuseStarted = performance.now();
await loadHighsSolver();
const reuseMs = performance.now() - reuseStarted;
console.log(
  `HiGHS ${highs.version}: init ${highs.initMs.toFixed(1)} ms (first load ${firstLoadMs.toFixed(1)} ms, reuse ${reuseMs.toFixed(3)} ms)`,
);

const rand = mulberry32(42);
const gpus: GpuOption[] = GPUS.map(([name, cost, speed, ctx]) => ({
  name,
  profile: profile(name, cost, speed, ctx, rand),
}));
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const configs: Array<[string, OptimizeOptionsInput]> = [
  ['slice 1', { sliceFactor: 1 }],
  ['slice 4', { sliceFactor: 4 }],
  ['slice 8', { sliceFactor: 8 }],
  ['continuous', { sliceFactor: 'continuous' }],
  ['slice 4, gap 1 %', { sliceFactor: 4, mipRelGap: 0.01 }],
];
{
  // V8 compiles the wasm lazily and tiers hot functions up over the first dozens of solves: time
  // the first solve apart, then warm every mode's paths (LP re-solves, integer solves) before
  // timing the steady state a long-running controller sees.
  const t0 = performance.now();
  optimize({ gpus, load: { kind: 'ok', workload: workload(rand, 20), notes: [] } }, highs.solver);
  console.log(`first solve (cold): ${(performance.now() - t0).toFixed(1)} ms`);
  for (const [, options] of configs)
    for (let i = 0; i < 20; i++) {
      const load = { kind: 'ok' as const, workload: workload(rand, 2 + rand() * 60), notes: [] };
      optimize({ gpus, load, options }, highs.solver);
    }
}
/** Counts what each plan costs in solver calls: LP re-solves (nodes) and integer solves. */
const calls = { lp: 0, mip: 0 };
const openLp = highs.solver.openLp;
const counting: MilpSolver = {
  solve: (model, options) => {
    calls.mip++;
    return highs.solver.solve(model, options);
  },
  ...(openLp
    ? {
        openLp: (model) => {
          const session = openLp(model);
          return {
            solve: (change, limit) => {
              calls.lp++;
              return session.solve(change, limit);
            },
            dispose: () => session.dispose(),
          };
        },
      }
    : {}),
};
for (const [label, options] of configs) {
  const times: number[] = [];
  let proven = 0;
  let worstGap = 0;
  calls.lp = 0;
  calls.mip = 0;
  for (let run = 0; run < RUNS; run++) {
    const load = { kind: 'ok' as const, workload: workload(rand, 2 + rand() * 60), notes: [] };
    const t0 = performance.now();
    const result = optimize({ gpus, load, options: { ...options, timeLimitSeconds: 5 } }, counting);
    times.push(performance.now() - t0);
    if (result.kind === 'plan' && result.plan.proven) proven++;
    if (result.kind === 'plan') worstGap = Math.max(worstGap, result.plan.gap);
  }
  times.sort((a, b) => a - b);
  console.log(
    `60 buckets × 6 GPU types, ${label.padEnd(16)}: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms, max ${(times.at(-1) ?? NaN).toFixed(1)} ms over ${RUNS} solves (${proven} proven, worst gap ${(worstGap * 100).toFixed(2)} %; per plan ${(calls.lp / RUNS).toFixed(1)} LP re-solves, ${(calls.mip / RUNS).toFixed(2)} integer solves); goal < 100 ms`,
  );
}
