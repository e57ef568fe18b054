/**
 * The end of the child processes the tests start (etcd, kube-apiserver, emulated pods): stopped
 * with a grace period when a test is done, and SIGKILLed if the test process exits first.
 */
import type { ChildProcess } from 'node:child_process';

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * SIGKILLs `child` if this Node process exits while the child still runs, so a test that crashes or
 * is interrupted leaves nothing behind. Forgets it once it has exited (or failed to start).
 */
export function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of liveChildren) {
        try {
          c.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    });
  }
  liveChildren.add(child);
  const forget = () => liveChildren.delete(child);
  child.once('exit', forget);
  child.once('error', forget);
}

/**
 * Sends `signal` (SIGTERM: drain) and waits `graceMs` for `exited`; then SIGKILL and 5 s more.
 * Resolves whether the child is gone.
 */
export async function stopChild(
  child: ChildProcess,
  exited: Promise<unknown>,
  graceMs: number,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<boolean> {
  child.kill(signal);
  if (await settlesWithin(exited, graceMs)) return true;
  child.kill('SIGKILL');
  return settlesWithin(exited, 5_000);
}

/** Resolves true if `p` settles within `ms`, false otherwise; never leaves a timer behind. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    p.then(done, done);
  });
}
