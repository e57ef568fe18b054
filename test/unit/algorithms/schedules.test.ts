import { describe, expect, it } from 'vitest';
import { checkBoundaries } from '../../../algorithms/bounds.js';
import type { Schedule } from '../../../algorithms/params.js';
import {
  localTime,
  nextTransition,
  resolveBounds,
  validateSchedules,
  zonedInstant,
  type RawSchedule,
} from '../../../algorithms/schedules.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const base = { min: 1, max: 10 };

function valid(raw: RawSchedule[]): Schedule[] {
  const r = validateSchedules(raw, base);
  expect(r.errors).toEqual([]);
  return r.schedules;
}

describe('schedules: AIBrix schedules_test.go vectors (§2.6.2)', () => {
  const businessHours = valid([
    {
      name: 'business-hours',
      timezone: 'Asia/Shanghai',
      daysOfWeek: ['Mon', 'TUE', 'wed'],
      startTime: '09:00',
      endTime: '18:00',
      minReplicas: 3,
      maxReplicas: 12,
    },
  ]);

  it('Asia/Shanghai Monday 10:00 local: the schedule applies', () => {
    expect(resolveBounds(businessHours, base, Date.parse('2026-08-03T02:00:00Z'))).toEqual({
      min: 3,
      max: 12,
      activeSchedule: 'business-hours',
      activeScheduleHasMin: true,
    });
  });

  it('18:00 local is outside (end exclusive): base bounds', () => {
    expect(resolveBounds(businessHours, base, Date.parse('2026-08-03T10:00:00Z'))).toEqual({
      min: 1,
      max: 10,
      activeScheduleHasMin: false,
    });
  });

  it('weekdays are case-insensitive and normalised', () => {
    expect(businessHours[0]?.daysOfWeek).toEqual(['mon', 'tue', 'wed']);
  });

  it('a half-open window 09:00–10:00 is active at 09:00:00 and inactive at 10:00:00', () => {
    const s = valid([{ name: 'nine', startTime: '09:00', endTime: '10:00', maxReplicas: 8 }]);
    expect(resolveBounds(s, base, Date.parse('2026-08-03T09:00:00Z')).activeSchedule).toBe('nine');
    expect(resolveBounds(s, base, Date.parse('2026-08-03T09:59:59Z')).activeSchedule).toBe('nine');
    expect(resolveBounds(s, base, Date.parse('2026-08-03T10:00:00Z')).activeSchedule).toBeUndefined();
  });

  it('NextTransition for 09:00–18:00 every day in UTC: 30 min from 08:30, 8 h 30 min from 09:30', () => {
    const s = valid([{ name: 'day', startTime: '09:00', endTime: '18:00', minReplicas: 2 }]);
    expect(nextTransition(s, Date.parse('2026-08-03T08:30:00Z'))).toBe(30 * MIN);
    expect(nextTransition(s, Date.parse('2026-08-03T09:30:00Z'))).toBe(8 * HOUR + 30 * MIN);
    // After the end, the next edge is tomorrow's start.
    expect(nextTransition(s, Date.parse('2026-08-03T18:00:00Z'))).toBe(15 * HOUR);
  });

  it('no schedules: no transition', () => {
    expect(nextTransition([], Date.parse('2026-08-03T08:30:00Z'))).toBeUndefined();
  });

  it('a weekday-only schedule finds the next enabled day', () => {
    const s = valid([
      { name: 'friday', daysOfWeek: ['fri'], startTime: '12:00', endTime: '13:00', minReplicas: 2 },
    ]);
    // Monday 2026-08-03 → Friday 2026-08-07 12:00 UTC.
    expect(nextTransition(s, Date.parse('2026-08-03T12:30:00Z'))).toBe(
      Date.parse('2026-08-07T12:00:00Z') - Date.parse('2026-08-03T12:30:00Z'),
    );
  });
});

describe('schedules: zero-replica start (podautoscaler_controller_test.go, §2.6.2)', () => {
  const now = Date.parse('2026-08-03T09:30:00Z');

  it('an active schedule with minReplicas 4 starts a target at 0', () => {
    const s = valid([{ name: 'warm', startTime: '09:00', endTime: '10:00', minReplicas: 4 }]);
    const bounds = resolveBounds(s, base, now);
    expect(checkBoundaries(0, bounds, bounds.activeScheduleHasMin)).toEqual({
      replicas: 4,
      shouldScale: true,
      reason: 'current replicas below minimum',
      algorithm: 'boundary-check',
    });
  });

  it('with only maxReplicas 8, scaling stays disabled at 0', () => {
    const s = valid([{ name: 'cap', startTime: '09:00', endTime: '10:00', maxReplicas: 8 }]);
    const bounds = resolveBounds(s, base, now);
    expect(bounds).toMatchObject({ min: 1, max: 8, activeScheduleHasMin: false });
    expect(checkBoundaries(0, bounds, bounds.activeScheduleHasMin)).toMatchObject({
      replicas: 0,
      shouldScale: false,
      reason: 'scaling disabled: current replicas is 0',
    });
  });
});

describe('schedules: DST (W-29)', () => {
  const ny = valid([
    { name: 'office', timezone: 'America/New_York', startTime: '09:00', endTime: '17:00', minReplicas: 3 },
  ]);

  it('2026-03-08 (spring forward): the 09:00 edge is 09:00 local, 8 h after local midnight', () => {
    const midnight = Date.parse('2026-03-08T05:00:00Z'); // 00:00 EST
    const ms = nextTransition(ny, midnight) as number;
    // AIBrix's midnight + 540 min would land at 14:00Z = 10:00 EDT.
    expect(ms).toBe(8 * HOUR);
    expect(localTime(midnight + ms, 'America/New_York')).toMatchObject({ hour: 9, minute: 0, day: 8 });
    expect(resolveBounds(ny, base, midnight + ms).activeSchedule).toBe('office');
    expect(resolveBounds(ny, base, midnight + ms - 1000).activeSchedule).toBeUndefined();
  });

  it('2026-11-01 (fall back): the 09:00 edge is 09:00 local, 10 h after local midnight', () => {
    const midnight = Date.parse('2026-11-01T04:00:00Z'); // 00:00 EDT
    const ms = nextTransition(ny, midnight) as number;
    expect(ms).toBe(10 * HOUR);
    expect(localTime(midnight + ms, 'America/New_York')).toMatchObject({ hour: 9, minute: 0, day: 1 });
    // And the 17:00 end edge follows 8 h later.
    expect(nextTransition(ny, midnight + ms)).toBe(8 * HOUR);
  });

  it('a wall time inside the spring gap lands just after it; a repeated one takes the first occurrence', () => {
    expect(zonedInstant(2026, 3, 8, 2, 30, 'America/New_York')).toBe(Date.parse('2026-03-08T07:30:00Z')); // 03:30 EDT
    expect(zonedInstant(2026, 11, 1, 1, 30, 'America/New_York')).toBe(Date.parse('2026-11-01T05:30:00Z')); // 01:30 EDT
    expect(zonedInstant(2026, 8, 3, 10, 0, 'Asia/Shanghai')).toBe(Date.parse('2026-08-03T02:00:00Z'));
  });
});

describe('validateSchedules: AIBrix messages, every error reported', () => {
  const ok: RawSchedule = { name: 'a', startTime: '09:00', endTime: '10:00', minReplicas: 2 };

  it('absent is fine; present but empty is an error', () => {
    expect(validateSchedules(undefined, base)).toEqual({ schedules: [], errors: [] });
    expect(validateSchedules([], base).errors).toEqual(['schedules must not be empty']);
  });

  it.each<[string, RawSchedule, string]>([
    ['missing name', { ...ok, name: '' }, 'schedules[0]: name is required'],
    ['bad name', { ...ok, name: 'Business_Hours' }, 'schedules[0]: name must use Kubernetes DNS label style'],
    [
      'unknown zone',
      { ...ok, timezone: 'Mars/Olympus' },
      'schedules[0]: timezone: unknown time zone Mars/Olympus',
    ],
    ['empty days', { ...ok, daysOfWeek: [] }, 'schedules[0]: daysOfWeek must not be empty'],
    ['bad day', { ...ok, daysOfWeek: ['Monday'] }, 'schedules[0]: daysOfWeek: unsupported weekday "Monday"'],
    ['unpadded start', { ...ok, startTime: '9:00' }, 'schedules[0]: startTime: must use HH:MM'],
    ['seconds in end', { ...ok, endTime: '18:00:00' }, 'schedules[0]: endTime: must use HH:MM'],
    [
      'start after end',
      { ...ok, startTime: '18:00', endTime: '09:00' },
      'schedules[0]: startTime must be earlier than endTime',
    ],
    [
      'equal start and end',
      { ...ok, endTime: '09:00' },
      'schedules[0]: startTime must be earlier than endTime',
    ],
    [
      'no bounds',
      { name: 'a', startTime: '09:00', endTime: '10:00' },
      'schedules[0]: at least one of minReplicas or maxReplicas must be set',
    ],
    ['negative min', { ...ok, minReplicas: -1 }, 'schedules[0]: effective minReplicas must be non-negative'],
    ['zero max', { ...ok, maxReplicas: 0 }, 'schedules[0]: effective maxReplicas must be positive'],
    [
      'min above inherited max',
      { ...ok, minReplicas: 11 },
      'schedules[0]: effective minReplicas must not be greater than effective maxReplicas',
    ],
  ])('%s', (_name, entry, message) => {
    const r = validateSchedules([entry], base);
    expect(r.errors).toEqual([message]);
    expect(r.schedules).toEqual([]);
  });

  it('effective bounds may lie outside the base range (base 1..3, schedule 4..7)', () => {
    expect(validateSchedules([{ ...ok, minReplicas: 4, maxReplicas: 7 }], { min: 1, max: 3 }).errors).toEqual(
      [],
    );
  });

  it('cross-entry rules: mixed zones, duplicate names, overlaps; adjacent windows are fine', () => {
    const r = validateSchedules(
      [
        { ...ok, name: 'a', timezone: 'UTC' },
        { ...ok, name: 'b', timezone: '', startTime: '10:00', endTime: '11:00' },
        { ...ok, name: 'a', startTime: '12:00', endTime: '13:00' },
        { ...ok, name: 'c', startTime: '09:30', endTime: '12:30' },
        { ...ok, name: 'd', timezone: 'Europe/Paris', startTime: '20:00', endTime: '21:00' },
      ],
      base,
    );
    expect(r.errors).toEqual([
      'schedules[2].name: duplicate name "a"',
      'schedules[4].timezone: mixed timezone values are not supported',
      'schedules[3]: overlaps schedule "a"',
    ]);
  });

  it('overlap needs a shared weekday', () => {
    const r = validateSchedules(
      [
        { ...ok, name: 'weekdays', daysOfWeek: ['mon', 'tue'] },
        { ...ok, name: 'weekend', daysOfWeek: ['sat', 'sun'] },
      ],
      base,
    );
    expect(r.errors).toEqual([]);
    expect(r.schedules.map((s) => s.name)).toEqual(['weekdays', 'weekend']);
  });

  it('several problems in one entry and across entries are all reported', () => {
    const r = validateSchedules(
      [
        { name: 'Bad', timezone: 'Nowhere/City', daysOfWeek: ['funday'], startTime: '25:00', endTime: '9' },
        { ...ok, name: 'b', timezone: 'Nowhere/City', maxReplicas: 0 },
      ],
      base,
    );
    expect(r.errors).toEqual([
      'schedules[0]: name must use Kubernetes DNS label style',
      'schedules[0]: timezone: unknown time zone Nowhere/City',
      'schedules[0]: daysOfWeek: unsupported weekday "funday"',
      'schedules[0]: startTime: must use HH:MM',
      'schedules[0]: endTime: must use HH:MM',
      'schedules[0]: at least one of minReplicas or maxReplicas must be set',
      'schedules[1]: timezone: unknown time zone Nowhere/City',
      'schedules[1]: effective maxReplicas must be positive',
    ]);
  });

  it('resolves minutes and an all-week default', () => {
    expect(valid([{ ...ok, maxReplicas: 5 }])).toEqual([
      {
        name: 'a',
        timezone: 'UTC',
        daysOfWeek: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
        startMinute: 540,
        endMinute: 600,
        minReplicas: 2,
        maxReplicas: 5,
      },
    ]);
  });
});
