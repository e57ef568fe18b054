import { describe, expect, it, vi } from 'vitest';
import { ConflictRegistry, targetKey } from '../../../src/controller/conflicts.js';
import { TickScheduler } from '../../../src/controller/scheduler.js';
import { behaviorStateFromStatus } from '../../../src/controller/rebuild.js';
import { tickEvents } from '../../../src/controller/report.js';
import type { Behavior } from '../../../src/api/resolved.js';
import type { Decision } from '../../../src/engine/pipeline.js';

describe('conflicts', () => {
  it('keys targets by group, kind, namespace and name (not version)', () => {
    expect(targetKey('ns', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'a' })).toBe(
      'apps/Deployment/ns/a',
    );
    expect(targetKey('ns', { apiVersion: 'apps/v1beta2', kind: 'Deployment', name: 'a' })).toBe(
      'apps/Deployment/ns/a',
    );
    expect(targetKey('ns', { apiVersion: 'v1', kind: 'ReplicationController', name: 'a' })).toBe(
      'core/ReplicationController/ns/a',
    );
  });

  it('the oldest claimant owns a target whatever the claim order; ties by id', () => {
    const r = new ConflictRegistry();
    r.claim('late', ['t'], 200);
    r.claim('early', ['t'], 100);
    expect(r.ownerOf('t')).toBe('early');
    r.claim('b', ['u'], 5);
    r.claim('a', ['u'], 5);
    expect(r.ownerOf('u')).toBe('a');
  });

  it('releasing or moving a claim hands the target over', () => {
    const r = new ConflictRegistry();
    r.claim('first', ['t'], 1);
    r.claim('second', ['t'], 2);
    expect(r.claim('first', ['other'], 1)).toEqual(['t']);
    expect(r.ownerOf('t')).toBe('second');
    expect(r.claimants(['t'])).toEqual(['second']);
    expect(r.release('second')).toEqual(['t']);
    expect(r.ownerOf('t')).toBeUndefined();
  });

  it('a model group claims every Deployment it writes: an older group blocks a younger single target, and the other way round', () => {
    const r = new ConflictRegistry();
    r.claim('group', ['a10g', 'h100'], 1);
    r.claim('kpa-on-h100', ['h100'], 2);
    expect(r.conflictOf('kpa-on-h100')).toEqual({ target: 'h100', owner: 'group' });
    expect(r.conflictOf('group')).toBeUndefined();
    // An older single-target PodAutoscaler on one of the group's Deployments blocks the group.
    r.claim('old-kpa', ['a10g'], 0);
    expect(r.conflictOf('group')).toEqual({ target: 'a10g', owner: 'old-kpa' });
    expect(r.claimants(['a10g', 'h100'], 'group').sort()).toEqual(['kpa-on-h100', 'old-kpa']);
    // The group leaves: each of its targets goes to the next claimant.
    expect(r.release('group')).toEqual(['a10g', 'h100']);
    expect(r.conflictOf('kpa-on-h100')).toBeUndefined();
    expect(r.ownerOf('a10g')).toBe('old-kpa');
  });
});

describe('TickScheduler', () => {
  it('ticks each key periodically, one tick per key at a time, within the concurrency limit', async () => {
    let running = 0;
    let maxRunning = 0;
    const perKey = new Map<string, number>();
    const overlap: string[] = [];
    const busy = new Set<string>();
    const s = new TickScheduler({
      periodMs: 30,
      concurrency: 2,
      random: () => 0,
      run: async (key) => {
        if (busy.has(key)) overlap.push(key);
        busy.add(key);
        running++;
        maxRunning = Math.max(maxRunning, running);
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        busy.delete(key);
      },
    });
    for (const k of ['a', 'b', 'c', 'd']) s.add(k);
    expect(perKey.size).toBe(0); // paused until resume (e.g. not leader yet)
    s.resume();
    await vi.waitFor(() => expect([...perKey.values()].every((n) => n >= 3)).toBe(true), { timeout: 5_000 });
    await s.stop();
    expect(maxRunning).toBeLessThanOrEqual(2);
    expect(overlap).toEqual([]);
  });

  it('pause stops ticks and waits for the running one; trigger runs a key at once', async () => {
    const ticks: string[] = [];
    const s = new TickScheduler({ periodMs: 60_000, random: () => 0, run: async (k) => void ticks.push(k) });
    s.add('a');
    s.resume();
    await vi.waitFor(() => expect(ticks).toEqual(['a']));
    s.trigger('a');
    await vi.waitFor(() => expect(ticks).toEqual(['a', 'a']));
    await s.pause();
    s.trigger('a');
    await new Promise((r) => setTimeout(r, 50));
    expect(ticks).toEqual(['a', 'a']);
    s.remove('a');
    expect(s.has('a')).toBe(false);
    await s.stop();
  });

  it('a throwing tick is logged and the key keeps ticking', async () => {
    let n = 0;
    const s = new TickScheduler({
      periodMs: 10,
      random: () => 0,
      run: async () => {
        n++;
        throw new Error('boom');
      },
    });
    s.add('a');
    s.resume();
    await vi.waitFor(() => expect(n).toBeGreaterThanOrEqual(3));
    await s.stop();
  });
});

describe('behaviorStateFromStatus', () => {
  const behavior: Behavior = {
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }],
      tolerance: 0.1,
    },
    scaleDown: {
      stabilizationWindowSeconds: 300,
      selectPolicy: 'Max',
      policies: [{ type: 'Percent', value: 100, periodSeconds: 60 }],
      tolerance: 0.1,
    },
  };
  const now = Date.parse('2026-03-01T10:10:00Z');
  const at = (s: number) => new Date(now - s * 1000).toISOString();

  it('seeds the stabilisation extremes of the last decision and the recent successful scale events', () => {
    const st = behaviorStateFromStatus(
      {
        lastDecision: {
          time: at(10),
          current: 6,
          desired: 6,
          reason: 'r',
          algorithm: 'hpa',
          details: { upRecommendation: 3, downRecommendation: 6 },
        },
        scalingHistory: [
          { timestamp: at(400), previousScale: 2, newScale: 4, reason: 'old', success: true },
          { timestamp: at(40), previousScale: 4, newScale: 6, reason: 'up', success: true },
          { timestamp: at(30), previousScale: 6, newScale: 9, reason: 'failed', success: false, error: 'x' },
          { timestamp: at(20), previousScale: 6, newScale: 2, reason: 'dry', success: false, dryRun: true },
        ],
      },
      behavior,
      now,
    );
    expect(st).toBeDefined();
    // The 400 s-old entry is outside the 300 s window; the dry-run one is not a real decision.
    expect(st!.recommendations.map((r) => r.replicas)).toEqual([6, 9, 3, 6]);
    expect(st!.scaleUpEvents).toEqual([{ atMs: now - 40_000, change: 2 }]);
    expect(st!.scaleDownEvents).toEqual([]);
  });

  it('falls back to desired without details, and to nothing without status', () => {
    expect(behaviorStateFromStatus(undefined, behavior, now)).toBeUndefined();
    expect(behaviorStateFromStatus({}, behavior, now)).toBeUndefined();
    const st = behaviorStateFromStatus(
      { lastDecision: { time: at(5), desired: 7, reason: 'r', algorithm: 'kpa' } },
      behavior,
      now,
    );
    expect(st!.recommendations).toEqual([{ atMs: now - 5_000, replicas: 7 }]);
  });
});

describe('tickEvents', () => {
  const d = {
    desiredReplicas: 5,
    recommendedReplicas: 5,
    reason: 'hpa above target',
    algorithm: 'hpa',
    metrics: [],
    details: {},
    bounds: { min: 1, max: 9 },
    limited: false,
  } as unknown as Decision;
  const base = {
    timeMs: 0,
    currentReplicas: 3,
    desiredReplicas: 5,
    readyPods: 3,
    startingPods: 0,
    scaled: false,
  };

  it('one Normal event per scale, one Warning per failure, DryRunRescale in shadow mode', () => {
    expect(tickEvents({ ...base, decision: d, scaled: true }, false)).toEqual([
      { type: 'Normal', reason: 'SuccessfulRescale', message: 'New size: 5; reason: hpa above target' },
    ]);
    expect(
      tickEvents({ ...base, decision: d, error: { stage: 'write-scale', message: 'HTTP 403' } }, false),
    ).toEqual([
      {
        type: 'Warning',
        reason: 'FailedRescale',
        message: 'New size: 5; reason: hpa above target; error: HTTP 403',
      },
    ]);
    expect(tickEvents({ ...base, error: { stage: 'get-scale', message: 'gone' } }, false)[0]).toMatchObject({
      reason: 'FailedGetScale',
    });
    expect(tickEvents({ ...base, decision: d }, true)[0]).toMatchObject({
      type: 'Normal',
      reason: 'DryRunRescale',
    });
    expect(tickEvents({ ...base, currentReplicas: 5, decision: d }, false)).toEqual([]);
  });
});
