/**
 * `--state-file`: the daemon's stand-in for `status.decisionState`. One JSON document holds, per
 * PodAutoscaler (API group, namespace, name), the snapshot the controller writes into status
 * (decision-state.ts, unchanged), so a restarted daemon resumes its windows, panic state, timers
 * and stabilisation memory instead of starting cold.
 *
 * The file is replaced whole by rename: a reader (the next daemon) sees the old document or the
 * new one, never half of one, and a failed write leaves the old one in place.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { describeZodError } from '../api/issues.js';

export const STATE_FILE_KIND = 'InferscaleDaemonState';
export const STATE_FILE_VERSION = 1;

/** One PodAutoscaler's entry; `decisionState` is checked later, per target, by decodeDecisionState. */
const EntrySchema = z.object({
  apiGroup: z.string(),
  namespace: z.string(),
  name: z.string(),
  decisionState: z.unknown(),
});

const StateDocumentSchema = z.object({
  kind: z.literal(STATE_FILE_KIND),
  version: z.literal(STATE_FILE_VERSION),
  writtenAt: z.string(),
  targets: z.array(EntrySchema),
});

export type StateEntry = z.infer<typeof EntrySchema>;
export type StateDocument = z.infer<typeof StateDocumentSchema>;

/** The key an entry and a PodAutoscaler share: the same name in both API groups is two targets. */
export function stateKey(t: { apiGroup: string; namespace: string; name: string }): string {
  return `${t.apiGroup}/${t.namespace}/${t.name}`;
}

export type ReadResult =
  | { ok: true; entries: Map<string, StateEntry>; writtenAt?: string }
  /** `missing`: no file yet (a first start), not a problem. */
  | { ok: false; missing: boolean; reason: string };

/** The entries of the state file at `path`; never throws. */
export async function readStateFile(path: string): Promise<ReadResult> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, missing, reason: missing ? 'no state file yet' : `cannot read it: ${errText(err)}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, missing: false, reason: `not JSON: ${errText(err)}` };
  }
  const doc = StateDocumentSchema.safeParse(json);
  if (!doc.success) {
    return {
      ok: false,
      missing: false,
      reason: `not a daemon state document: ${describeZodError(doc.error, 3)}`,
    };
  }
  const entries = new Map(doc.data.targets.map((e) => [stateKey(e), e]));
  return { ok: true, entries, writtenAt: doc.data.writtenAt };
}

export function stateDocument(entries: readonly StateEntry[], nowMs: number): StateDocument {
  return {
    kind: STATE_FILE_KIND,
    version: STATE_FILE_VERSION,
    writtenAt: new Date(nowMs).toISOString(),
    targets: [...entries],
  };
}

/** The file operations an atomic write uses; tests replace one to make it fail. */
export interface AtomicWriteOps {
  writeSynced(path: string, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  syncDir(dir: string): Promise<void>;
}

export const nodeWriteOps: AtomicWriteOps = {
  async writeSynced(path, data) {
    const h = await fsp.open(path, 'wx', 0o600);
    try {
      await h.writeFile(data, 'utf8');
      // Without it a crash after the rename can leave the new name pointing at empty blocks.
      await h.sync();
    } finally {
      await h.close();
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  async syncDir(dir) {
    // Makes the rename itself durable; some file systems refuse fsync on a directory, which only
    // weakens durability across a power cut, not atomicity.
    let h: fsp.FileHandle | undefined;
    try {
      h = await fsp.open(dir, 'r');
      await h.sync();
    } catch {
      // best effort, see above
    } finally {
      await h?.close();
    }
  },
};

function tempPath(path: string): string {
  // Same directory as the target: rename is atomic only within one file system.
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Replaces `path` with `data`: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(
  path: string,
  data: string,
  ops: AtomicWriteOps = nodeWriteOps,
): Promise<void> {
  const tmp = tempPath(path);
  try {
    await ops.writeSynced(tmp, data);
    await ops.rename(tmp, path);
  } catch (err) {
    await ops.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await ops.syncDir(dirname(path));
}

/**
 * Fails at start, naming the flag and the fix, when the state file could never be written: a
 * daemon that would lose every checkpoint should not run as if it kept them.
 */
export async function assertStateFileWritable(
  path: string,
  ops: AtomicWriteOps = nodeWriteOps,
): Promise<void> {
  const dir = dirname(path);
  const fix =
    'point --state-file at a file in a writable directory (in a pod: mount an emptyDir or a PersistentVolume there), or drop --state-file to run without persisting the decision state';
  const existing = await fsp.stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new Error(`--state-file ${path}: is a directory; ${fix}`);
  const tmp = tempPath(path);
  try {
    await ops.writeSynced(tmp, '');
  } catch (err) {
    throw new Error(`--state-file ${path}: cannot create files in ${dir} (${errText(err)}); ${fix}`);
  }
  await ops.unlink(tmp).catch(() => undefined);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
