/**
 * Shared pieces of the `inferscale simulate` end-to-end tests: running the real binary entry, and
 * writing the small traces and specs they replay.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `tsx src/cli/main.ts simulate <args>` from the repository root; a non-zero exit is returned, not thrown. */
export async function simulate(args: string[]): Promise<CliResult> {
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

/**
 * A JSONL trace of back-to-back phases at constant rates (`[req/s, seconds]`); `size(i)` gives the
 * i-th request of a phase its token counts.
 */
export function writeTrace(
  path: string,
  phases: ReadonlyArray<readonly [rate: number, seconds: number]>,
  size: (i: number) => { input: number; output: number },
): void {
  const lines: string[] = [];
  let t = 0;
  for (const [rate, secs] of phases) {
    for (let i = 0; i < rate * secs; i++) {
      const { input, output } = size(i);
      lines.push(JSON.stringify({ t: Math.round((t + i / rate) * 1000) / 1000, input, output }));
    }
    t += secs;
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** A KPA PodAutoscaler `mine` for Deployment `llama`, scaling on `num_requests_running`. */
export function kpaSpec(opts: { maxReplicas: number; targetValue: number }): string {
  return `apiVersion: autoscaling.aibrix.ai/v1alpha1
kind: PodAutoscaler
metadata: { name: mine, namespace: default }
spec:
  scalingStrategy: KPA
  minReplicas: 1
  maxReplicas: ${opts.maxReplicas}
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: llama }
  metricsSources:
    - { metricSourceType: pod, protocolType: http, port: '8000', path: /metrics, targetMetric: num_requests_running, targetValue: '${opts.targetValue}' }
`;
}
