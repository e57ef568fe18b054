/**
 * `spec.schedules` for the API layer, on top of `validateSchedules` in algorithms/schedules.ts
 * (AIBrix's rules and messages, every problem reported; the same code resolves the bounds at run
 * time, so what is validated here is exactly what the engine will use).
 *
 * The per-field rules (name pattern, HH:MM, weekday names, time zone) are also zod checks in
 * schema.ts, because they belong in the CRD; their messages are dropped here so each problem is
 * reported once. What is left are the cross-field rules, each given a field path and a hint.
 */
import { validateSchedules, type RawSchedule } from '../../algorithms/schedules.js';
import { DEFAULTS } from './defaults.js';

export interface ScheduleProblem {
  /** Path under `spec`, e.g. `['schedules', 1, 'timezone']`. */
  path: (string | number)[];
  message: string;
}

/** Messages of rules schema.ts already checks field by field. */
const PER_FIELD =
  /^schedules\[\d+\]: (name is required|name must use|timezone: |daysOfWeek|startTime: |endTime: )/;

const HINTS: ReadonlyArray<[RegExp, string]> = [
  [/mixed timezone values/, 'every schedule must use the time zone of schedules[0]'],
  [
    /startTime must be earlier than endTime/,
    'windows cannot cross midnight: split an overnight window in two',
  ],
  [
    /^schedules\[\d+\]: effective /,
    'unset schedule bounds inherit spec.minReplicas (default 1) and spec.maxReplicas',
  ],
  [/duplicate name/, 'names must be unique'],
  [/overlaps schedule/, 'at most one schedule may be active at a time; adjacent windows are fine'],
];

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v: unknown, ok: (x: unknown) => boolean) => v === undefined || ok(v);
const isString = (v: unknown) => typeof v === 'string';

/** Entries whose fields have the right types; the schema reports the others. */
function wellTyped(entry: unknown): entry is RawSchedule {
  return (
    isRecord(entry) &&
    optional(entry.name, isString) &&
    optional(entry.timezone, isString) &&
    optional(entry.startTime, isString) &&
    optional(entry.endTime, isString) &&
    optional(entry.daysOfWeek, (d) => Array.isArray(d) && d.every(isString)) &&
    optional(entry.minReplicas, Number.isInteger) &&
    optional(entry.maxReplicas, Number.isInteger)
  );
}

function pathOf(message: string): (string | number)[] {
  const m = /^schedules\[(\d+)\](?:\.([A-Za-z]+))?/.exec(message);
  if (!m) return ['schedules'];
  return m[2] ? ['schedules', Number(m[1]), m[2]] : ['schedules', Number(m[1])];
}

/**
 * Cross-field problems of a raw schedule list. `baseMin`/`baseMax` are the spec's bounds when they
 * are valid integers (missing schedule bounds inherit them).
 */
export function scheduleProblems(
  schedules: readonly unknown[],
  baseMin: number | undefined,
  baseMax: number | undefined,
): ScheduleProblem[] {
  if (!schedules.every(wellTyped)) return [];
  // An invalid spec.maxReplicas is reported on its own; do not let it fail every schedule too.
  const base = { min: baseMin ?? DEFAULTS.minReplicas, max: baseMax ?? Number.MAX_SAFE_INTEGER };
  return validateSchedules(schedules, base)
    .errors.filter((message) => !PER_FIELD.test(message))
    .map((message) => {
      const hint = HINTS.find(([re]) => re.test(message))?.[1];
      return { path: pathOf(message), message: hint ? `${message} (${hint})` : message };
    });
}
