/**
 * `inferscale controller` as a real child process (the CLI entry, production metric sources and
 * leader election), with its JSON log lines collected so a test can read its identity, its health
 * server's URL and what it did.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './cluster.js';

export interface CliController {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Parsed JSON log lines (stderr), oldest first. */
  readonly logs: Record<string, unknown>[];
  /** The lease identity, once the process logged `caches synced`. */
  identity(): string | undefined;
  /** The /metrics, /healthz, /readyz server, once listening. */
  url(): string | undefined;
  /** Lines that were not JSON (stack traces, tsx errors), for failure messages. */
  readonly other: string[];
  exited(): boolean;
  /** SIGKILL (a crash) or SIGTERM (a graceful stop); resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function spawnCliController(args: string[]): CliController {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'controller', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, INFERSCALE_LOG_LEVEL: 'info' },
  });
  live.add(child);
  let gone = false;
  const exit = once(child, 'exit').then(() => {
    gone = true;
    live.delete(child);
  });
  const logs: Record<string, unknown>[] = [];
  const other: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      other.push(line);
      if (other.length > 200) other.shift();
    }
  });
  const find = (key: string) => {
    for (const l of logs) if (typeof l[key] === 'string') return l[key];
    return undefined;
  };
  return {
    child,
    pid: child.pid ?? -1,
    logs,
    other,
    identity: () => find('identity'),
    url: () => find('url'),
    exited: () => gone,
    async stop(signal = 'SIGTERM') {
      if (!gone) child.kill(signal);
      await exit;
    },
  };
}
