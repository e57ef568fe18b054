/** `spec.schedules` validation: AIBrix's messages (reference §5.1), all reported at once. */
import { describe, expect, it } from 'vitest';
import { resolvePodAutoscaler } from '../../../src/api/resolve.js';

function withSchedules(schedules: unknown, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'autoscaling.aibrix.ai/v1alpha1',
    kind: 'PodAutoscaler',
    metadata: { name: 'pa', namespace: 'ns' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd' },
      minReplicas: 1,
      maxReplicas: 3,
      scalingStrategy: 'APA',
      metricsSources: [{ metricSourceType: 'custom', targetMetric: 'm', targetValue: '1' }],
      schedules,
      ...extra,
    },
  };
}
const day = (s: Record<string, unknown>) => ({
  name: 'day',
  startTime: '09:00',
  endTime: '18:00',
  minReplicas: 2,
  ...s,
});

function messages(schedules: unknown, extra?: Record<string, unknown>): string[] {
  const r = resolvePodAutoscaler(withSchedules(schedules, extra));
  if (r.ok) return [];
  expect(r.issues.every((i) => i.reason === 'InvalidSpec')).toBe(true);
  return r.issues.map((i) => i.message);
}
const first = (schedules: unknown, extra?: Record<string, unknown>) =>
  messages(schedules, extra)[0] ?? '(accepted)';

describe('schedules', () => {
  it.each([
    [[], 'schedules must not be empty'],
    [[day({ name: '' })], 'schedules[0]: name is required'],
    [[day({ name: undefined })], 'schedules[0]: name is required'],
    [[day({ name: 'Day_1' })], 'schedules[0]: name must use Kubernetes DNS label style'],
    [[day({ timezone: 'Mars/Olympus' })], 'schedules[0]: timezone: unknown time zone Mars/Olympus'],
    [[day({ daysOfWeek: [] })], 'schedules[0]: daysOfWeek must not be empty'],
    [[day({ daysOfWeek: ['Monday'] })], 'schedules[0]: daysOfWeek: unsupported weekday "Monday"'],
    [[day({ startTime: '9:00' })], 'schedules[0]: startTime: must use HH:MM'],
    [[day({ endTime: '18:00:00' })], 'schedules[0]: endTime: must use HH:MM'],
    [[day({ endTime: '24:00' })], 'schedules[0]: endTime: must use HH:MM'],
    [[day({ startTime: '18:00', endTime: '09:00' })], 'schedules[0]: startTime must be earlier than endTime'],
    [[day({ startTime: '09:00', endTime: '09:00' })], 'schedules[0]: startTime must be earlier than endTime'],
    [
      [day({ minReplicas: undefined })],
      'schedules[0]: at least one of minReplicas or maxReplicas must be set',
    ],
    [[day({ minReplicas: -1 })], 'schedules[0]: effective minReplicas must be non-negative'],
    [
      [day({ minReplicas: undefined, maxReplicas: 0 })],
      'schedules[0]: effective maxReplicas must be positive',
    ],
    [
      [day({ minReplicas: 4 })],
      'schedules[0]: effective minReplicas must not be greater than effective maxReplicas',
    ],
    [
      [day({}), day({ timezone: 'Europe/Paris', name: 'night' })],
      'schedules[1].timezone: mixed timezone values are not supported',
    ],
    [[day({}), day({ startTime: '19:00', endTime: '20:00' })], 'schedules[1].name: duplicate name "day"'],
    [
      [day({}), day({ name: 'late', startTime: '17:00', endTime: '20:00' })],
      'schedules[1]: overlaps schedule "day"',
    ],
  ])('%j → %s', (schedules, message) => {
    expect(first(schedules)).toContain(message);
  });

  it('accepts adjacent windows, disjoint days, UTC spelled or not, and bounds outside the base range', () => {
    expect(
      messages([
        day({ timezone: '', daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri'] }),
        day({
          name: 'evening',
          timezone: 'UTC',
          daysOfWeek: ['fri'],
          startTime: '18:00',
          endTime: '22:00',
          maxReplicas: 7,
        }),
        day({ name: 'sat', daysOfWeek: ['SAT'], startTime: '10:00', endTime: '12:00' }),
        day({ name: 'busy', daysOfWeek: ['sun'], minReplicas: 4, maxReplicas: 7 }),
      ]),
    ).toEqual([]);
  });

  it('does not call days that share no weekday overlapping', () => {
    expect(messages([day({ daysOfWeek: ['mon'] }), day({ name: 'b', daysOfWeek: ['tue'] })])).toEqual([]);
  });

  it('reports every problem of every entry, not just the first', () => {
    const got = messages([
      day({ name: 'Bad', startTime: '9:00' }),
      day({ name: 'b', daysOfWeek: ['funday'], minReplicas: undefined }),
      day({ name: 'c', startTime: '20:00', endTime: '19:00' }),
    ]);
    expect(got).toHaveLength(5);
  });

  it('resolves to minutes, lower-case days (every day when absent) and UTC by default', () => {
    const r = resolvePodAutoscaler(withSchedules([day({ daysOfWeek: undefined, maxReplicas: 4 })]));
    expect(r.ok && r.value.schedules).toEqual([
      {
        name: 'day',
        timezone: 'UTC',
        daysOfWeek: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
        startMinute: 540,
        endMinute: 1080,
        minReplicas: 2,
        maxReplicas: 4,
      },
    ]);
  });
});
