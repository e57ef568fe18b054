/**
 * `inferscale simulate` end to end: the real binary entry (tsx src/cli/main.ts) on a small trace,
 * producing the JSON and HTML reports.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');

async function simulate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(tsx, ['src/cli/main.ts', 'simulate', ...args], {
      cwd: root,
      timeout: 120_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let dir: string;
let trace: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'inferscale-simulate-'));
  trace = join(dir, 'trace.jsonl');
  // 2 req/s for 60 s, then 12 req/s for 60 s, then 2 req/s for 60 s; chat-sized requests.
  const lines: string[] = [];
  let t = 0;
  for (const [rate, secs] of [
    [2, 60],
    [12, 60],
    [2, 60],
  ] as const) {
    for (let i = 0; i < rate * secs; i++) {
      const input = 200 + ((i * 37) % 800);
      const output = 20 + ((i * 53) % 180);
      lines.push(JSON.stringify({ t: Math.round((t + i / rate) * 1000) / 1000, input, output }));
    }
    t += secs;
  }
  writeFileSync(trace, `${lines.join('\n')}\n`);
  writeFileSync(
    join(dir, 'kpa.yaml'),
    `apiVersion: autoscaling.aibrix.ai/v1alpha1
kind: PodAutoscaler
metadata: { name: mine, namespace: default }
spec:
  scalingStrategy: KPA
  minReplicas: 1
  maxReplicas: 6
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: llama }
  metricsSources:
    - { metricSourceType: pod, protocolType: http, port: '8000', path: /metrics, targetMetric: num_requests_running, targetValue: '8' }
`,
  );
});

describe('inferscale simulate', () => {
  it('writes a JSON report and an HTML page with inline SVG charts, and prints where they are', async () => {
    const out = join(dir, 'report-a');
    const r = await simulate([
      '--trace',
      trace,
      '--pa',
      join(dir, 'kpa.yaml'),
      '--algorithms',
      'hpa',
      '--gpu',
      'L4',
      '--model',
      'Llama-3.1-8B',
      '--cold-start',
      '20s',
      '--tick',
      '10s',
      '--slo-ttft',
      '2s',
      '--slo-itl',
      '100ms',
      '--verify-metrics',
      '--out',
      out,
    ]);
    expect(r.stderr).not.toMatch(/inferscale: /);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`report: ${join(out, 'report.json')}`);
    expect(r.stdout).toContain(join(out, 'report.html'));
    expect(r.stdout).toMatch(/mine \(KPA\)/);
    expect(r.stdout).toMatch(/sim-hpa \(HPA\)/);
    expect(r.stdout).toMatch(/0 mismatches/);
    // The progress bar goes to stderr, also without a TTY.
    expect(r.stderr).toMatch(/simulate \[/);

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      input: { trace: { requests: number }; slo: { ttftS: number; itlS: number }; tickS: number };
      runs: {
        summary: { name: string; slo: { attainment: number }; ttft: { p99: number } };
        verify: { mismatches: number };
      }[];
      oracle: { costUsd?: number };
    };
    expect(report.input.trace.requests).toBe(960);
    expect(report.input.slo).toMatchObject({ ttftS: 2, itlS: 0.1 });
    expect(report.input.tickS).toBe(10);
    expect(report.runs.map((x) => x.summary.name)).toEqual(['mine (KPA)', 'sim-hpa (HPA)']);
    for (const x of report.runs) {
      expect(x.summary.slo.attainment).toBeGreaterThan(0);
      expect(x.verify.mismatches).toBe(0);
    }
    expect(report.oracle.costUsd).toBeGreaterThan(0);

    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html.match(/<svg[\s>]/g)?.length).toBe(4); // 2 replica charts, latency, cost
    expect(html).not.toMatch(/<script|<link|src=/i);
  }, 120_000);

  it('fails with a clear message on bad input', async () => {
    const [missing, badDuration, noTrace] = await Promise.all([
      simulate(['--trace', trace, '--pa', join(dir, 'nope.yaml'), '--no-progress', '--out', join(dir, 'x')]),
      simulate(['--trace', trace, '--slo-ttft', 'soon', '--no-progress']),
      simulate(['--no-progress']),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--pa .*nope\.yaml: cannot read/);
    expect(existsSync(join(dir, 'x'))).toBe(false);

    expect(badDuration.code).not.toBe(0);
    expect(badDuration.stderr).toMatch(/--slo-ttft: "soon" is not a duration/);

    expect(noTrace.code).toBe(1);
    expect(noTrace.stderr).toMatch(/give --trace <file> \(or --default/);
  }, 120_000);
});
