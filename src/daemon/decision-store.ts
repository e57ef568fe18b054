/**
 * The daemon's decision-state persistence (`--state-file`): restores each PodAutoscaler the
 * configuration adds, at its first tick, from the snapshot the file held at start, and checkpoints every in-process
 * PodAutoscaler's state into the file at most once per `--state-checkpoint-interval` (when it
 * changed) and once more on graceful shutdown. The snapshots are the controller's
 * `status.decisionState` (decision-state.ts), so the same version, fingerprint, staleness and size
 * rules decide what is restored.
 *
 * OPTIMIZER model groups are not persisted: their token history and chosen mix have no snapshot
 * format yet, so a restarted group starts as after a reload that adds it.
 */
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import type { Clock } from '../engine/seams.js';
import type { ScalingEngine } from '../engine/engine.js';
import type { Logger } from '../observability/log.js';
import { forPodAutoscaler } from '../observability/log.js';
import { decodeDecisionState, encodeDecisionState } from '../controller/decision-state.js';
import { checkpointSlackMs } from '../controller/status-cadence.js';
import {
  readStateFile,
  stateDocument,
  stateKey,
  writeFileAtomic,
  type AtomicWriteOps,
  type StateEntry,
} from './state-file.js';

export interface DecisionStoreOptions {
  path: string;
  /** Minimum time between periodic checkpoints; 0: only the one on shutdown. */
  intervalMs: number;
  engine: Pick<ScalingEngine, 'exportState' | 'importState'>;
  clock: Clock;
  log: Logger;
  /** The configuration in effect: what a checkpoint holds. */
  podAutoscalers: () => readonly ResolvedPodAutoscaler[];
  ops?: AtomicWriteOps;
}

interface Snapshot {
  entries: StateEntry[];
  /** Identifies the states it was taken from, to skip writing an unchanged one. */
  key: string;
}

export class DecisionStore {
  /** Entries of the file read at start that no configured PodAutoscaler has claimed yet. */
  private pending = new Map<string, StateEntry>();
  private lastWriteMs: number | undefined;
  private lastKey: string | undefined;
  private writing: Promise<void> | undefined;
  /** Targets whose snapshot cannot be encoded, so that the warning is logged once per episode. */
  private readonly unencodable = new Set<string>();

  constructor(private readonly o: DecisionStoreOptions) {}

  /** Reads the file; any problem only means a cold start. */
  async load(): Promise<void> {
    const file = this.o.path;
    const read = await readStateFile(file);
    // The first periodic checkpoint comes one interval after start, not on the first tick.
    this.lastWriteMs = this.o.clock.now();
    if (read.ok) {
      this.pending = read.entries;
      this.o.log.info({ file, targets: read.entries.size, writtenAt: read.writtenAt }, 'state file read');
    } else if (read.missing) {
      this.o.log.info({ file }, 'no state file yet; every PodAutoscaler starts cold');
    } else {
      this.o.log.warn({ file, reason: read.reason }, 'state file unusable; every PodAutoscaler starts cold');
    }
  }

  /** Seeds the engine for a PodAutoscaler the configuration added, before its first tick. */
  restore(pa: ResolvedPodAutoscaler): void {
    const key = stateKey(pa);
    const entry = this.pending.get(key);
    this.pending.delete(key);
    if (pa.strategy === 'OPTIMIZER') return;
    if (this.o.engine.exportState(pa.namespace, pa.name) !== undefined) return;
    const log = forPodAutoscaler(this.o.log, pa.namespace, pa.name).child({ apiGroup: pa.apiGroup });
    const file = this.o.path;
    if (!entry) {
      log.info(
        { file, reason: 'no snapshot for this PodAutoscaler' },
        'decision state not restored; starting cold',
      );
      return;
    }
    const snap = decodeDecisionState(entry.decisionState, pa, this.o.clock.now());
    if (!snap.ok) {
      log[snap.severity]({ file, reason: snap.reason }, 'decision state not restored; starting cold');
      return;
    }
    this.o.engine.importState(pa, snap.state);
    log.info(
      { file, ageMs: snap.ageMs, recommendations: snap.state.behavior.recommendations.length },
      'restored decision state (windows, panic state, timers, stabilisation) from the state file',
    );
  }

  /** After a tick: starts a checkpoint when the interval passed and the state changed. */
  ticked(): void {
    const { intervalMs } = this.o;
    if (intervalMs <= 0 || this.writing) return;
    const nowMs = this.o.clock.now();
    if (
      this.lastWriteMs !== undefined &&
      nowMs - this.lastWriteMs + checkpointSlackMs(intervalMs) < intervalMs
    ) {
      return;
    }
    const snap = this.snapshot(nowMs);
    if (snap.key === this.lastKey) return;
    this.writing = this.write(snap, nowMs).finally(() => (this.writing = undefined));
  }

  /** The periodic checkpoint in progress, if any (tests and shutdown wait for it). */
  settled(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  /** The final checkpoint, after the last tick: written even if unchanged, so its stamp is fresh. */
  async close(): Promise<void> {
    await this.settled();
    const nowMs = this.o.clock.now();
    await this.write(this.snapshot(nowMs), nowMs);
  }

  private snapshot(nowMs: number): Snapshot {
    const entries: StateEntry[] = [];
    const states: unknown[] = [];
    for (const pa of this.o.podAutoscalers()) {
      // A model group's state is in the ModelGroupEngine, so this is undefined for it.
      const state = this.o.engine.exportState(pa.namespace, pa.name);
      if (!state) continue;
      const key = stateKey(pa);
      const encoded = encodeDecisionState(pa, state, nowMs);
      if (!encoded.ok) {
        if (!this.unencodable.has(key)) {
          forPodAutoscaler(this.o.log, pa.namespace, pa.name).warn(
            { apiGroup: pa.apiGroup, reason: encoded.reason },
            'decision state not persisted; after a restart this PodAutoscaler starts cold',
          );
        }
        this.unencodable.add(key);
        continue;
      }
      this.unencodable.delete(key);
      const { apiGroup, namespace, name } = pa;
      entries.push({ apiGroup, namespace, name, decisionState: encoded.value });
      states.push([key, state]);
    }
    return { entries, key: JSON.stringify(states) };
  }

  private async write(snap: Snapshot, nowMs: number): Promise<void> {
    const file = this.o.path;
    // A failed write is retried one interval later, not on every tick.
    this.lastWriteMs = nowMs;
    const data = JSON.stringify(stateDocument(snap.entries, nowMs));
    try {
      await writeFileAtomic(file, data, this.o.ops);
      this.lastKey = snap.key;
      this.o.log.debug(
        { file, targets: snap.entries.length, bytes: Buffer.byteLength(data) },
        'state file written',
      );
    } catch (err) {
      this.o.log.warn(
        { file, err: err instanceof Error ? err.message : String(err) },
        'state file not written; the previous one is kept',
      );
    }
  }
}
