/**
 * Calls back when a file's content changes. fs.watch alone is not enough: editors replace files by
 * rename, a Kubernetes ConfigMap volume swaps a `..data` symlink in the directory, and some file
 * systems (network, overlay) deliver no events at all. So: watch the directory (not the file),
 * debounce bursts, and also compare the content on a slow timer. The callback fires only when
 * the bytes actually differ from the last ones seen.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';

export interface FileWatcher {
  close(): void;
}

export interface WatchFileOptions {
  /** Quiet time after the last event before reading. Default 250 ms. */
  debounceMs?: number;
  /** Content comparison period, independent of events. Default 5 s. */
  pollMs?: number;
  onError?: (err: Error) => void;
}

async function digest(file: string): Promise<string> {
  try {
    return createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

export async function watchFile(
  file: string,
  onChange: () => void,
  opts: WatchFileOptions = {},
): Promise<FileWatcher> {
  const debounceMs = opts.debounceMs ?? 250;
  let last = await digest(file);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  let again = false;

  const check = async (): Promise<void> => {
    if (closed) return;
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      const now = await digest(file);
      if (!closed && now !== last) {
        last = now;
        onChange();
      }
    } finally {
      checking = false;
      if (again && !closed) {
        again = false;
        void check();
      }
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void check(), debounceMs);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path.dirname(path.resolve(file)), { persistent: false }, () => schedule());
    watcher.on('error', (err) => opts.onError?.(err));
  } catch (err) {
    opts.onError?.(err as Error); // polling still works
  }
  const poll = setInterval(() => void check(), opts.pollMs ?? 5_000);
  poll.unref();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
    },
  };
}
