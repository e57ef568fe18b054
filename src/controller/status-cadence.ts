/**
 * When a PodAutoscaler's status is written: at most once per tick (the caller makes one decision
 * per tick), and only for a reason:
 *
 * - `significant`: something other than the per-tick values (decision time, metric values, the
 *   decision-state snapshot) changed;
 * - `first`: this leader has not written it yet (a tick outcome only);
 * - `refresh`: a tick's status is `refreshMs` old (lastDecision and currentMetrics move every tick);
 * - `checkpoint`: the decision state changed and `checkpointMs` passed, so that a new leader finds
 *   a snapshot younger than its windows (a 60 s-old one is mostly expired for a 60 s KPA window).
 */

export type StatusWriteReason = 'significant' | 'first' | 'refresh' | 'checkpoint';

export interface StatusCadenceInput {
  nowMs: number;
  /** When this leader last wrote the status; undefined before its first write. */
  lastWrittenMs: number | undefined;
  /** A tick outcome, whose status moves every tick; an invalid or conflicting one's does not. */
  ticked: boolean;
  significant: boolean;
  /** The decision-state snapshot differs from the one last written (including "none" ↔ some). */
  stateChanged: boolean;
  refreshMs: number;
  /** 0: no checkpoints (decision state persistence off). */
  checkpointMs: number;
}

/**
 * Ticks are fixed-rate, but timers and the concurrency limit move them by milliseconds: without
 * this slack a checkpoint interval equal to the tick period would fall on every other tick only.
 */
export function checkpointSlackMs(checkpointMs: number): number {
  return Math.min(500, checkpointMs / 10);
}

export function statusWriteReason(i: StatusCadenceInput): StatusWriteReason | undefined {
  if (i.significant) return 'significant';
  if (!i.ticked) return undefined;
  if (i.lastWrittenMs === undefined) return 'first';
  const elapsed = i.nowMs - i.lastWrittenMs;
  if (elapsed >= i.refreshMs) return 'refresh';
  if (i.checkpointMs > 0 && i.stateChanged && elapsed + checkpointSlackMs(i.checkpointMs) >= i.checkpointMs) {
    return 'checkpoint';
  }
  return undefined;
}
