/**
 * Scheduled replica bounds (AIBrix `spec.schedules`, pkg/utils/paschedules).
 *
 * - `validateSchedules` checks raw entries with AIBrix's exact messages, but reports every
 *   problem instead of stopping at the first one.
 * - `resolveBounds` picks the active schedule: local weekday enabled and
 *   startMinute ≤ local h·60+m < endMinute (half-open, seconds ignored).
 * - `nextTransition` returns the time to the next window edge, computed as the instant at which
 *   the local wall clock shows the edge, so it is exact on DST-change days (AIBrix added absolute
 *   minutes to local midnight and was an hour off on those days, W-29).
 *
 * Time zones come from the runtime's ICU data through Intl.DateTimeFormat: pure and deterministic
 * for a given Node build.
 */
import type { Schedule } from './params.js';
import type { ReplicaBounds } from './types.js';

type Weekday = Schedule['daysOfWeek'][number];
const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const TIME_OF_DAY = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DAY_MS = 86_400_000;

/** A schedule as written in the PodAutoscaler spec. */
export interface RawSchedule {
  name?: string;
  timezone?: string;
  daysOfWeek?: readonly string[];
  startTime?: string;
  endTime?: string;
  minReplicas?: number;
  maxReplicas?: number;
}

/** The bounds without any schedule: `spec.minReplicas` (1 when unset) and `spec.maxReplicas`. */
export interface BaseBounds {
  min: number;
  max: number;
}

export interface ScheduleValidation {
  /** The resolved schedules; empty when there are errors. */
  schedules: Schedule[];
  /** Every problem found, each naming the entry and field. */
  errors: string[];
}

// ---------------------------------------------------------------------------------------------
// Time-zone arithmetic
// ---------------------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // Throws RangeError for an unknown zone; callers validate first.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The timezone error for a zone name, or undefined when the runtime knows it. */
function timeZoneError(timeZone: string): string | undefined {
  try {
    formatter(timeZone);
    return undefined;
  } catch {
    return `unknown time zone ${timeZone}`;
  }
}

interface LocalTime {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday. */
  weekday: number;
}

/** Wall-clock reading of instant `ms` in `timeZone`. */
export function localTime(ms: number, timeZone: string): LocalTime {
  const parts = formatter(timeZone).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes): number => {
    const part = parts.find((p) => p.type === type);
    return part === undefined ? 0 : Number(part.value);
  };
  const year = get('year');
  const month = get('month');
  const day = get('day');
  return {
    year,
    month,
    day,
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
    weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay(),
  };
}

/** Offset of `timeZone` from UTC at instant `ms`, in ms (local = utc + offset), to the second. */
function offsetAt(ms: number, timeZone: string): number {
  const t = localTime(ms, timeZone);
  const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return wall - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The instant at which the wall clock in `timeZone` shows y-m-d h:m. When that time occurs twice
 * (autumn fall-back) the earlier instant is returned; when it does not exist (spring gap) the
 * pre-transition offset is used, which lands just after the gap, as Go's time.Date does.
 */
export function zonedInstant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  timeZone: string,
): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const offsets = new Set([
    offsetAt(wall - DAY_MS, timeZone),
    offsetAt(wall, timeZone),
    offsetAt(wall + DAY_MS, timeZone),
  ]);
  const matches: number[] = [];
  for (const offset of offsets) {
    const candidate = wall - offset;
    if (offsetAt(candidate, timeZone) === offset) matches.push(candidate);
  }
  if (matches.length > 0) return Math.min(...matches);
  return wall - offsetAt(wall - DAY_MS, timeZone);
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

function parseTimeOfDay(value: string | undefined): number | undefined {
  if (value === undefined || !TIME_OF_DAY.test(value)) return undefined;
  return Number(value.slice(0, 2)) * 60 + Number(value.slice(3, 5));
}

/** Go's %q for the plain strings that appear in these messages. */
function quote(value: string): string {
  return JSON.stringify(value);
}

function normalizedTimezone(value: string | undefined): string {
  return value === undefined || value === '' ? 'UTC' : value;
}

function overlaps(a: Schedule, b: Schedule): boolean {
  const days = (s: Schedule): readonly Weekday[] => (s.daysOfWeek.length === 0 ? WEEKDAYS : s.daysOfWeek);
  const bDays = days(b);
  return days(a).some((d) => bDays.includes(d) && a.startMinute < b.endMinute && b.startMinute < a.endMinute);
}

/**
 * Validates `raw` (`undefined` when the spec has no `schedules` field) against the base bounds.
 * Messages are AIBrix's, prefixed `schedules[i]: ` or `schedules[i].field: `.
 */
export function validateSchedules(
  raw: readonly RawSchedule[] | undefined,
  base: BaseBounds,
): ScheduleValidation {
  if (raw === undefined) return { schedules: [], errors: [] };
  if (raw.length === 0) return { schedules: [], errors: ['schedules must not be empty'] };
  const errors: string[] = [];
  const parsed: (Schedule | undefined)[] = [];
  const timezone = normalizedTimezone(raw[0]?.timezone);
  const names = new Set<string>();
  raw.forEach((entry, i) => {
    const problems: string[] = [];
    const prefix = `schedules[${i}]`;
    if (normalizedTimezone(entry.timezone) !== timezone) {
      errors.push(`${prefix}.timezone: mixed timezone values are not supported`);
    }
    const name = entry.name ?? '';
    if (name === '') problems.push('name is required');
    else if (!NAME.test(name)) problems.push('name must use Kubernetes DNS label style');
    const zone = normalizedTimezone(entry.timezone);
    const zoneError = timeZoneError(zone);
    if (zoneError !== undefined) problems.push(`timezone: ${zoneError}`);
    const days: Weekday[] = [];
    if (entry.daysOfWeek === undefined) {
      days.push(...WEEKDAYS);
    } else if (entry.daysOfWeek.length === 0) {
      problems.push('daysOfWeek must not be empty');
    } else {
      for (const value of entry.daysOfWeek) {
        const day = WEEKDAYS.find((d) => d === value.toLowerCase());
        if (day === undefined) problems.push(`daysOfWeek: unsupported weekday ${quote(value)}`);
        else if (!days.includes(day)) days.push(day);
      }
      days.sort((a, b) => WEEKDAYS.indexOf(a) - WEEKDAYS.indexOf(b));
    }
    const start = parseTimeOfDay(entry.startTime);
    const end = parseTimeOfDay(entry.endTime);
    if (start === undefined) problems.push('startTime: must use HH:MM');
    if (end === undefined) problems.push('endTime: must use HH:MM');
    if (start !== undefined && end !== undefined && start >= end) {
      problems.push('startTime must be earlier than endTime');
    }
    if (entry.minReplicas === undefined && entry.maxReplicas === undefined) {
      problems.push('at least one of minReplicas or maxReplicas must be set');
    } else {
      const min = entry.minReplicas ?? base.min;
      const max = entry.maxReplicas ?? base.max;
      if (min < 0) problems.push('effective minReplicas must be non-negative');
      if (max <= 0) problems.push('effective maxReplicas must be positive');
      if (min >= 0 && max > 0 && min > max) {
        problems.push('effective minReplicas must not be greater than effective maxReplicas');
      }
    }
    for (const p of problems) errors.push(`${prefix}: ${p}`);
    if (name !== '' && NAME.test(name)) {
      if (names.has(name)) errors.push(`${prefix}.name: duplicate name ${quote(name)}`);
      names.add(name);
    }
    if (problems.length > 0 || start === undefined || end === undefined) {
      parsed.push(undefined);
      return;
    }
    const schedule: Schedule = { name, timezone: zone, daysOfWeek: days, startMinute: start, endMinute: end };
    if (entry.minReplicas !== undefined) schedule.minReplicas = entry.minReplicas;
    if (entry.maxReplicas !== undefined) schedule.maxReplicas = entry.maxReplicas;
    parsed.push(schedule);
  });
  parsed.forEach((schedule, i) => {
    if (schedule === undefined) return;
    for (let j = 0; j < i; j++) {
      const earlier = parsed[j];
      if (earlier !== undefined && overlaps(earlier, schedule)) {
        errors.push(`schedules[${i}]: overlaps schedule ${quote(earlier.name)}`);
        break;
      }
    }
  });
  if (errors.length > 0) return { schedules: [], errors };
  return { schedules: parsed.filter((s): s is Schedule => s !== undefined), errors };
}

// ---------------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------------

export interface ResolvedBounds extends ReplicaBounds {
  /** Name of the schedule in force, if any. */
  activeSchedule?: string;
  /**
   * The active schedule sets `minReplicas` itself. Only then may a target at 0 replicas be
   * started by the bounds (AIBrix's boundary check).
   */
  activeScheduleHasMin: boolean;
}

function enabledOn(schedule: Schedule, weekday: number): boolean {
  const name = WEEKDAYS[weekday];
  return schedule.daysOfWeek.length === 0 || (name !== undefined && schedule.daysOfWeek.includes(name));
}

export function isScheduleActive(schedule: Schedule, nowMs: number): boolean {
  const t = localTime(nowMs, schedule.timezone);
  if (!enabledOn(schedule, t.weekday)) return false;
  const minute = t.hour * 60 + t.minute;
  return minute >= schedule.startMinute && minute < schedule.endMinute;
}

/** The bounds in force at `nowMs`: the first active schedule's, else the base bounds. */
export function resolveBounds(
  schedules: readonly Schedule[],
  base: BaseBounds,
  nowMs: number,
): ResolvedBounds {
  for (const schedule of schedules) {
    if (!isScheduleActive(schedule, nowMs)) continue;
    return {
      min: schedule.minReplicas ?? base.min,
      max: schedule.maxReplicas ?? base.max,
      activeSchedule: schedule.name,
      activeScheduleHasMin: schedule.minReplicas !== undefined,
    };
  }
  return { min: base.min, max: base.max, activeScheduleHasMin: false };
}

/** The first edge (start or end) of `schedule` strictly after `nowMs`, as an instant. */
export function nextScheduleEdge(schedule: Schedule, nowMs: number): number | undefined {
  const today = localTime(nowMs, schedule.timezone);
  for (let day = 0; day <= 7; day++) {
    // Walk calendar dates in UTC arithmetic: local midnight may not exist on a DST day.
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + day));
    if (!enabledOn(schedule, date.getUTCDay())) continue;
    for (const minute of [schedule.startMinute, schedule.endMinute]) {
      const edge =
        minute === 1440
          ? zonedInstant(
              date.getUTCFullYear(),
              date.getUTCMonth() + 1,
              date.getUTCDate() + 1,
              0,
              0,
              schedule.timezone,
            )
          : zonedInstant(
              date.getUTCFullYear(),
              date.getUTCMonth() + 1,
              date.getUTCDate(),
              Math.floor(minute / 60),
              minute % 60,
              schedule.timezone,
            );
      if (edge > nowMs) return edge;
    }
  }
  return undefined;
}

/** Milliseconds from `nowMs` to the next edge of any schedule; `undefined` without schedules. */
export function nextTransition(schedules: readonly Schedule[], nowMs: number): number | undefined {
  let next: number | undefined;
  for (const schedule of schedules) {
    const edge = nextScheduleEdge(schedule, nowMs);
    if (edge !== undefined && (next === undefined || edge < next)) next = edge;
  }
  return next === undefined ? undefined : Math.max(0, next - nowMs);
}
