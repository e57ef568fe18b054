import { describe, expect, it } from 'vitest';
import { statusWriteReason, type StatusCadenceInput } from '../../../src/controller/status-cadence.js';

/**
 * Writes over `minutes` of ticks every `periodMs`, each tick up to ±40 ms off (timers and the
 * concurrency limit), as the controller decides them: one decision per tick.
 */
function simulate(o: {
  periodMs: number;
  minutes: number;
  refreshMs?: number;
  checkpointMs: number;
  stateChanges?: (tick: number) => boolean;
}): { writes: number; reasons: Record<string, number> } {
  let last: number | undefined;
  const reasons: Record<string, number> = {};
  let writes = 0;
  const ticks = Math.round((o.minutes * 60_000) / o.periodMs);
  for (let i = 0; i < ticks; i++) {
    const nowMs = 1_000_000 + i * o.periodMs + (((i * 7919) % 81) - 40);
    const input: StatusCadenceInput = {
      nowMs,
      lastWrittenMs: last,
      ticked: true,
      significant: false,
      stateChanged: o.stateChanges?.(i) ?? true,
      refreshMs: o.refreshMs ?? 60_000,
      checkpointMs: o.checkpointMs,
    };
    const why = statusWriteReason(input);
    if (why === undefined) continue;
    writes++;
    reasons[why] = (reasons[why] ?? 0) + 1;
    last = nowMs;
  }
  return { writes, reasons };
}

describe('status write cadence', () => {
  it('defaults (15 s period, 60 s refresh, 15 s checkpoint): a changing decision state is written every tick', () => {
    const after = simulate({ periodMs: 15_000, minutes: 10, checkpointMs: 15_000 });
    expect(after.writes).toBe(40); // 4 per minute
    expect(after.reasons).toEqual({ first: 1, checkpoint: 39 });
  });

  it('without checkpoints (0), an unchanged-looking status is refreshed about once a minute', () => {
    const before = simulate({ periodMs: 15_000, minutes: 10, checkpointMs: 0 });
    // 60 s after a write falls 40 ms either side of the 4th tick: some refreshes wait for the 5th.
    expect(before.writes).toBeGreaterThanOrEqual(8);
    expect(before.writes).toBeLessThanOrEqual(10);
    expect(before.reasons.checkpoint).toBeUndefined();
  });

  it('checkpoints follow the interval, not the tick period', () => {
    expect(simulate({ periodMs: 5_000, minutes: 10, checkpointMs: 15_000 }).writes).toBe(40);
    expect(simulate({ periodMs: 1_000, minutes: 1, checkpointMs: 15_000 }).writes).toBe(4);
    expect(simulate({ periodMs: 15_000, minutes: 10, checkpointMs: 30_000 }).writes).toBe(20);
  });

  it('an unchanged decision state adds no writes', () => {
    const still = simulate({
      periodMs: 15_000,
      minutes: 10,
      checkpointMs: 15_000,
      stateChanges: () => false,
    });
    expect(still.reasons.checkpoint).toBeUndefined();
    expect(still.writes).toBeLessThanOrEqual(10);
  });

  it('a significant change is written at once; an invalid or conflicting outcome only when significant', () => {
    const base = {
      nowMs: 10_000,
      lastWrittenMs: 9_000,
      ticked: true,
      significant: false,
      stateChanged: true,
      refreshMs: 60_000,
      checkpointMs: 15_000,
    };
    expect(statusWriteReason({ ...base, significant: true })).toBe('significant');
    expect(statusWriteReason(base)).toBeUndefined();
    expect(statusWriteReason({ ...base, ticked: false, lastWrittenMs: undefined })).toBeUndefined();
    expect(statusWriteReason({ ...base, lastWrittenMs: undefined })).toBe('first');
    expect(statusWriteReason({ ...base, nowMs: 23_500 })).toBe('checkpoint'); // 0.5 s slack
    expect(statusWriteReason({ ...base, nowMs: 23_499 })).toBeUndefined();
  });
});
