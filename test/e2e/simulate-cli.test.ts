/**
 * `inferscale simulate` end to end: the real binary entry (tsx src/cli/main.ts) on a small trace,
 * producing the JSON and HTML reports.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kpaSpec, simulate, writeTrace } from './support/simulate-cli.js';

let dir: string;
let trace: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'inferscale-simulate-'));
  trace = join(dir, 'trace.jsonl');
  // 2 req/s for 60 s, then 12 req/s for 60 s, then 2 req/s for 60 s; chat-sized requests.
  writeTrace(
    trace,
    [
      [2, 60],
      [12, 60],
      [2, 60],
    ],
    (i) => ({ input: 200 + ((i * 37) % 800), output: 20 + ((i * 53) % 180) }),
  );
  writeFileSync(join(dir, 'kpa.yaml'), kpaSpec({ maxReplicas: 6, targetValue: 8 }));
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
