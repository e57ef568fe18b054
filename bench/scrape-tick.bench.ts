/**
 * One scaling tick at scale: `npx tsx bench/scrape-tick.bench.ts`.
 *
 * 2,000 emulated vLLM V1 pods (~285-line pages, ~26 KB, counters and histograms moving every
 * scrape) are served by 4 child processes, each pod on its own loopback address 127.1.x.y and the
 * same port, as pods in a cluster. One tick reads, for 200 PodAutoscalers of 10 pods each, one
 * metric per PodAutoscaler through the production PodScraper (KV usage, waiting requests, TTFT p95,
 * prompt-token rate in turn), then decides with algorithms/ (KPA and APA alternately). Everything
 * in the measured process runs on one thread.
 *
 * Prints the p50/p99/max tick time, the CPU fraction of the tick process, its RSS, and the ratio to
 * a sequential scrape (AIBrix's approach: one pod after the other) measured in the same run.
 * Goals: p99 tick < 1 s, RSS < 256 MB.
 *
 * Env: BENCH_PODS (2000), BENCH_PAS (200), BENCH_TICKS (20), BENCH_CONCURRENCY (32, the scraper default),
 * BENCH_SERVERS (4), BENCH_POD_LATENCY_MS (0: pods answer at once, so the tick measures our CPU;
 * a real vLLM pod takes a few ms to render its page, which makes sequential scraping much slower).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { algorithms, APA_DEFAULTS, KPA_DEFAULTS, type AlgorithmInput } from '../algorithms/index.js';
import type { ResolvedMetricSource } from '../src/api/resolved.js';
import type { MetricReading, PodInfo } from '../src/engine/seams.js';
import { PodScraper } from '../src/metrics/pod-scraper.js';
import { freeLoopbackPort } from '../test/support/free-port.js';
import { readyPod } from '../test/support/pod-info.js';
import { newEngine, renderVllmV1, serveRequests } from '../test/unit/metrics/support/vllm-page.js';

const PODS = Number(process.env.BENCH_PODS ?? 2000);
const PAS = Number(process.env.BENCH_PAS ?? 200);
const TICKS = Number(process.env.BENCH_TICKS ?? 20);
const WARMUP = 2;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SERVERS = Number(process.env.BENCH_SERVERS ?? 4);
/** Extra time each emulated pod takes to answer (vLLM renders its page in Python; 0 = instant). */
const POD_LATENCY_MS = Number(process.env.BENCH_POD_LATENCY_MS ?? 0);
const TIMELINES = 20;
const TICK_MS = 10_000;

const ipOf = (i: number): string => `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;

// ---------------------------------------------------------------------------------------------
// Server mode (child process): serve pods [first, first+count) on ipOf(i):port.
// ---------------------------------------------------------------------------------------------
async function serve(first: number, count: number, port: number, variants: number): Promise<void> {
  // A few engine timelines, pre-rendered: the server's CPU must not be what the bench measures.
  const pages: Buffer[][] = [];
  for (let t = 0; t < TIMELINES; t++) {
    const e = newEngine('meta-llama/Llama-3.1-8B-Instruct');
    const list: Buffer[] = [];
    for (let v = 0; v < variants; v++) {
      serveRequests(e, 20 + t, t * 31 + v);
      e.running = 8 + ((t + v) % 9);
      e.waiting = (t * 3 + v) % 7;
      e.kvUsage = ((t * 7 + v * 3) % 90) / 100;
      list.push(Buffer.from(renderVllmV1([e])));
    }
    pages.push(list);
  }
  const served = new Map<string, number>();
  const podOf = new Map<string, number>();
  for (let i = first; i < first + count; i++) podOf.set(ipOf(i), i);
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const ip = req.socket.localAddress ?? '';
    const pod = podOf.get(ip.replace(/^::ffff:/, '')) ?? 0;
    const n = served.get(ip) ?? 0;
    served.set(ip, n + 1);
    const body = pages[pod % TIMELINES]![Math.min(n, variants - 1)]!;
    const send = (): void => {
      res.writeHead(200, {
        'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
        'Content-Length': body.length,
      });
      res.end(body);
    };
    if (POD_LATENCY_MS > 0) setTimeout(send, POD_LATENCY_MS);
    else send();
  };
  const servers: http.Server[] = [];
  for (let i = first; i < first + count; i++) {
    const s = http.createServer({ keepAliveTimeout: 60_000 }, handler);
    s.listen(port, ipOf(i));
    await once(s, 'listening');
    servers.push(s);
  }
  process.send?.({ ready: true, bytes: pages[0]![0]!.length });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Bench mode.
// ---------------------------------------------------------------------------------------------
interface Pa {
  name: string;
  pods: PodInfo[];
  source: ResolvedMetricSource;
  algo: 'kpa' | 'apa';
  state: unknown;
  replicas: number;
}

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<void> {
  const port = await freeLoopbackPort();
  const self = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  const cleanup = (): void => {
    for (const c of children) if (c.exitCode === null) c.kill();
  };
  process.on('exit', cleanup);
  const per = Math.ceil(PODS / SERVERS);
  let pageBytes = 0;
  const variants = TICKS + 8;
  await Promise.all(
    Array.from({ length: SERVERS }, async (_, k) => {
      const first = k * per;
      const count = Math.max(0, Math.min(per, PODS - first));
      const child = fork(self, ['--serve', String(first), String(count), String(port), String(variants)], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      const [msg] = (await Promise.race([
        once(child, 'message'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('server start timed out')), 60_000)),
      ])) as [{ bytes: number }];
      pageBytes = msg.bytes;
    }),
  );

  const metrics = ['kv_cache_usage', 'requests_waiting', 'ttft_p95', 'prompt_tokens_per_second'];
  const targets: Record<string, number> = {
    kv_cache_usage: 0.7,
    requests_waiting: 5,
    ttft_p95: 0.5,
    prompt_tokens_per_second: 2000,
  };
  const podsPerPa = Math.floor(PODS / PAS);
  const pas: Pa[] = Array.from({ length: PAS }, (_, a) => {
    const algo = a % 2 === 0 ? 'kpa' : 'apa';
    const metric = metrics[a % metrics.length]!;
    return {
      name: `pa-${a}`,
      algo,
      state: algorithms[algo].initialState(),
      replicas: podsPerPa,
      pods: Array.from({ length: podsPerPa }, (_, j) => {
        const i = a * podsPerPa + j;
        return readyPod(`pod-${i}`, { namespace: 'bench', ip: ipOf(i) });
      }),
      source: {
        type: 'pod',
        targetMetric: metric,
        targetValue: targets[metric]!,
        targetType: 'AverageValue',
        protocol: 'http',
        port,
        path: '/metrics',
      },
    };
  });

  const decide = (pa: Pa, reading: MetricReading, nowMs: number): void => {
    const input: AlgorithmInput = {
      nowMs,
      currentReplicas: pa.replicas,
      readyPods: pa.pods.length,
      startingPods: 0,
      metric: pa.source.targetMetric,
      target: pa.source.targetValue,
      targetType: 'AverageValue',
      sample: reading.sample,
      bounds: { min: 1, max: 100 },
    };
    if (pa.algo === 'kpa') {
      const out = algorithms.kpa.recommend(input, KPA_DEFAULTS, pa.state as never);
      pa.state = out.state;
    } else {
      const out = algorithms.apa.recommend(input, APA_DEFAULTS, pa.state as never);
      pa.state = out.state;
    }
  };

  const runTick = async (
    scraper: PodScraper,
    t: number,
  ): Promise<{ ms: number; cpuMs: number; missing: number; errors: number }> => {
    const nowMs = 1_700_000_000_000 + t * TICK_MS;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let missing = 0;
    let errors = 0;
    await Promise.all(
      pas.map(async (pa) => {
        const reading = await scraper.read({
          owner: { namespace: 'bench', name: pa.name },
          source: pa.source,
          pods: pa.pods,
          nowMs,
          deadlineMs: nowMs + 5000,
        });
        if (reading.sample?.scope === 'pods')
          missing += reading.sample.pods.filter((p) => p.value === undefined).length;
        errors += reading.errors.length;
        decide(pa, reading, nowMs);
      }),
    );
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, missing, errors };
  };

  console.log(
    `scrape-tick: ${PODS} pods (${(pageBytes / 1024).toFixed(1)} KB pages) on ${SERVERS} server processes, ` +
      `${PAS} PodAutoscalers x ${podsPerPa} pods, KPA/APA from algorithms/, concurrency ${CONCURRENCY}, ` +
      `pod latency ${POD_LATENCY_MS} ms`,
  );
  const rssBefore = process.memoryUsage().rss;
  const scraper = new PodScraper({ concurrency: CONCURRENCY, timeoutMs: 4000 });
  const results = [];
  let rssMax = 0;
  for (let t = 0; t < TICKS; t++) {
    const r = await runTick(scraper, t);
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    if (t >= WARMUP) results.push(r);
    if (t === WARMUP - 1 || t === TICKS - 1 || process.env.BENCH_VERBOSE) {
      console.log(
        `  tick ${t}: ${r.ms.toFixed(0)} ms, ${r.missing} missing values, ${r.errors} errors, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
      );
    }
  }
  scraper.close();
  const times = results.map((r) => r.ms).sort((a, b) => a - b);
  const wall = results.reduce((a, r) => a + r.ms, 0);
  const cpu = results.reduce((a, r) => a + r.cpuMs, 0);
  const p50 = pct(times, 50);
  const p99 = pct(times, 99);

  // AIBrix's approach: one pod after the other (our parser, warm connections).
  const seq = new PodScraper({ concurrency: 1, timeoutMs: 4000 });
  const seqTimes: number[] = [];
  for (let t = 0; t < 3; t++) {
    const r = await runTick(seq, TICKS + t);
    if (t > 0) seqTimes.push(r.ms);
  }
  seq.close();
  const seqMs = seqTimes.reduce((a, b) => a + b, 0) / seqTimes.length;

  const mb = (PODS * pageBytes) / 1e6;
  console.log(`measured ticks: ${results.length} (after ${WARMUP} warm-up ticks)`);
  console.log(
    `tick time      p50 ${p50.toFixed(0)} ms   p99 ${p99.toFixed(0)} ms   max ${times.at(-1)!.toFixed(0)} ms`,
  );
  console.log(
    `throughput     ${(PODS / (p50 / 1000)).toFixed(0)} pods/s, ${(mb / (p50 / 1000)).toFixed(0)} MB/s of pages at p50`,
  );
  console.log(`CPU fraction   ${(cpu / wall).toFixed(2)} of one core in the tick process`);
  // With --expose-gc, show what is really live after the ticks (not garbage awaiting collection).
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const mem = process.memoryUsage();
  console.log(
    `RSS            ${(rssMax / 2 ** 20).toFixed(0)} MB max (${(rssBefore / 2 ** 20).toFixed(0)} MB before the first tick; ` +
      `at the end: V8 heap ${(mem.heapUsed / 2 ** 20).toFixed(0)}/${(mem.heapTotal / 2 ** 20).toFixed(0)} MB used/total, ` +
      `external ${(mem.external / 2 ** 20).toFixed(0)} MB)`,
  );
  console.log(
    `sequential     ${seqMs.toFixed(0)} ms per tick; concurrent p50 is ${(seqMs / p50).toFixed(1)}x faster`,
  );
  console.log(
    `goals          p99 < 1000 ms: ${p99 < 1000 ? 'met' : 'NOT met'};  RSS < 256 MB: ${rssMax < 256 * 2 ** 20 ? 'met' : 'NOT met'}`,
  );
  cleanup();
  process.exit(0);
}

const at = process.argv.indexOf('--serve');
if (at !== -1) {
  const [first, count, port, variants] = process.argv.slice(at + 1, at + 5).map(Number);
  await serve(first!, count!, port!, variants!);
} else {
  await main();
}
