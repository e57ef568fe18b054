/** The status an OPTIMIZER PodAutoscaler gets after a model-group tick. */
import { describe, expect, it } from 'vitest';
import { computeGroupStatus } from '../../../src/controller/group-status.js';
import {
  groupConditions,
  type GroupTickResult,
  type GroupTargetResult,
} from '../../../src/engine/model-group.js';
import { InferscaleStatusSchema } from '../../../src/api/schema.js';

const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name });

function target(
  gpu: string,
  current: number,
  desired: number,
  extra: Partial<GroupTargetResult> = {},
): GroupTargetResult {
  return {
    gpu,
    current,
    planned: desired,
    recommended: desired,
    desired,
    reason: `plan ${desired}`,
    scaleTargetRef: ref(`llama-${gpu.toLowerCase()}`),
    readyPods: current,
    startingPods: 0,
    pricePerHour: gpu === 'H100' ? 3.95 : 1,
    scaled: desired !== current,
    ...extra,
  };
}

function tick(extra: Partial<GroupTickResult>): GroupTickResult {
  const t: GroupTickResult = {
    timeMs: Date.UTC(2026, 0, 1),
    modelGroup: 'llama',
    model: 'Llama-3.1-8B',
    outcome: 'plan',
    message: 'cheapest mix for 6.00 req/s: 1×H100 + 2×A10G at $5.95/h',
    currency: 'USD',
    costPerHour: 5.95,
    notes: [],
    targets: [target('A10G', 1, 2), target('H100', 1, 1)],
    conditions: [],
    dryRun: false,
    ...extra,
  };
  t.conditions = groupConditions(t, false);
  return t;
}

describe('computeGroupStatus', () => {
  it('shows the mix, its cost, the totals, and a history entry for the write', () => {
    const nowMs = Date.UTC(2026, 0, 1);
    const s = computeGroupStatus({ generation: 3, nowMs, prev: undefined, result: tick({}) });
    expect(InferscaleStatusSchema.safeParse(s).success).toBe(true);
    expect(s).toMatchObject({
      observedGeneration: 3,
      actualScale: 2,
      desiredScale: 3,
      targetsSummary: '2×A10G + 1×H100 at $5.95/h',
      optimizer: {
        modelGroup: 'llama',
        outcome: 'plan',
        costPerHour: 5.95,
        currency: 'USD',
        lastPlanTime: '2026-01-01T00:00:00.000Z',
        targets: [
          { gpu: 'A10G', name: 'llama-a10g', current: 1, planned: 2, desired: 2 },
          { gpu: 'H100', name: 'llama-h100', current: 1, planned: 1, desired: 1 },
        ],
      },
      lastDecision: { algorithm: 'optimizer', current: 2, desired: 3, details: { A10G: 2, H100: 1 } },
    });
    expect(s.scalingHistory).toHaveLength(1);
    expect(s.scalingHistory?.[0]).toMatchObject({
      previousScale: 2,
      newScale: 3,
      success: true,
      algorithm: 'optimizer',
    });
    expect(s.scalingHistory?.[0]?.reason).toMatch(/llama-a10g \(A10G\) 1 → 2: plan 2/);
    expect(s.conditions?.find((c) => c.type === 'Optimized')).toMatchObject({
      status: 'True',
      reason: 'PlanFound',
    });
    expect(s.conditions?.find((c) => c.type === 'ValidSpec')).toMatchObject({ status: 'True' });
  });

  it('no data: a False condition with the reason, the last plan time kept, no history entry', () => {
    const first = computeGroupStatus({ nowMs: Date.UTC(2026, 0, 1), prev: undefined, result: tick({}) });
    const later = Date.UTC(2026, 0, 1, 0, 1);
    const s = computeGroupStatus({
      nowMs: later,
      prev: first,
      result: tick({
        outcome: 'no-data',
        message: 'no-data: no pod had usable token histograms',
        targets: [target('A10G', 2, 2), target('H100', 1, 1)],
      }),
    });
    const optimized = s.conditions?.find((c) => c.type === 'Optimized');
    expect(optimized).toMatchObject({
      status: 'False',
      reason: 'NoData',
      message: 'no-data: no pod had usable token histograms',
    });
    expect(optimized?.lastTransitionTime).toBe(new Date(later).toISOString());
    expect(s.conditions?.find((c) => c.type === 'ScalingActive')).toMatchObject({
      status: 'False',
      reason: 'NoData',
    });
    expect(s.optimizer).toMatchObject({ outcome: 'no-data', lastPlanTime: '2026-01-01T00:00:00.000Z' });
    expect(s.targetsSummary).toBe('no-data: holding');
    expect(s.scalingHistory).toHaveLength(1);
  });

  it('a failed write is recorded as such and AbleToScale turns False', () => {
    const failed = target('A10G', 1, 2, {
      scaled: false,
      error: { stage: 'write-scale', message: 'conflict' },
    });
    const s = computeGroupStatus({
      nowMs: Date.UTC(2026, 0, 1),
      prev: undefined,
      result: tick({ targets: [failed, target('H100', 1, 1)] }),
    });
    expect(s.scalingHistory?.[0]).toMatchObject({ success: false, error: 'conflict' });
    expect(s.conditions?.find((c) => c.type === 'AbleToScale')).toMatchObject({
      status: 'False',
      reason: 'FailedUpdateScale',
    });
  });
});
