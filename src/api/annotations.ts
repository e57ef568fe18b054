/**
 * PodAutoscaler annotations (reference §1.6), parsed deterministically.
 *
 * AIBrix parses them in Go map order and stops at the first bad value, so which annotations take
 * effect changes from one reconcile to the next (§6 W-10); it also accepts any float, including
 * rates ≤ 1, negative tolerances, NaN and Inf (W-10, W-31). Here keys are visited in sorted order,
 * every bad value is reported, and values are range-checked.
 *
 * Three families of keys are read:
 * - AIBrix's recognised keys (`autoscaling.aibrix.ai/…`), with the same value syntax (Go
 *   `ParseFloat`, `ParseDuration`, `ParseBool`);
 * - the same names under `autoscaling.inferscale.dev/…`, which win over the AIBrix spelling;
 * - keys AIBrix's samples use but AIBrix ignores (`…/up-fluctuation-tolerance`,
 *   `apa.autoscaling.aibrix.ai/window`, `kpa.autoscaling.aibrix.ai/…`): mapped onto the setting
 *   they obviously mean, with a warning saying so (unless `aibrixParity`), and losing to the
 *   recognised keys.
 */
import { z } from 'zod';
import { AIBRIX_GROUP, INFERSCALE_GROUP, MAX_WINDOW_SECONDS } from './defaults.js';
import { parseGoBool, parseGoDuration, parseGoFloat } from './go-parse.js';
import { Reason, annotationPath, type Issue } from './issues.js';

export const AnnotationSettingsSchema = z.object({
  maxScaleUpRate: z.number().optional(),
  maxScaleDownRate: z.number().optional(),
  upTolerance: z.number().optional(),
  downTolerance: z.number().optional(),
  panicThreshold: z.number().optional(),
  scaleUpCooldownSeconds: z.int().optional(),
  scaleDownCooldownSeconds: z.int().optional(),
  scaleToZero: z.boolean().optional(),
  stormServiceMode: z.enum(['pool', 'replica']).optional(),
  apaWindowSeconds: z.int().optional(),
  kpaStableWindowSeconds: z.int().optional(),
  kpaPanicWindowSeconds: z.int().optional(),
  dryRun: z.boolean().optional(),
});
export type AnnotationSettings = z.infer<typeof AnnotationSettingsSchema>;
export type Setting = keyof AnnotationSettings;

type Kind = 'rate' | 'tolerance' | 'panicThreshold' | 'cooldown' | 'window' | 'bool' | 'stormMode';

/** 0: our key, 1: AIBrix's recognised key, 2: a key AIBrix ignores. Lower wins. */
type Rank = 0 | 1 | 2;

interface KeyRule {
  settings: readonly Setting[];
  kind: Kind;
  rank: Rank;
}

/** What each setting feeds, for warnings and docs/api.md. */
export const SETTING_TARGETS: Readonly<Record<Setting, string>> = {
  maxScaleUpRate:
    'kpa.maxScaleUpRate, apa.maxScaleUpRate (AIBrix objects: also the behavior.scaleUp Percent policy)',
  maxScaleDownRate:
    'kpa.maxScaleDownRate, apa.maxScaleDownRate (AIBrix objects: also the behavior.scaleDown Percent policy)',
  upTolerance: 'kpa.upTolerance, apa.upTolerance, behavior.scaleUp.tolerance',
  downTolerance: 'kpa.downTolerance, apa.downTolerance, behavior.scaleDown.tolerance',
  panicThreshold: 'kpa.panicThreshold',
  scaleUpCooldownSeconds: 'behavior.scaleUp.stabilizationWindowSeconds',
  scaleDownCooldownSeconds: 'behavior.scaleDown.stabilizationWindowSeconds',
  scaleToZero: 'scaleToZero.enabled',
  stormServiceMode: 'the StormService mode (pool or replica)',
  apaWindowSeconds: 'apa.windowSeconds',
  kpaStableWindowSeconds: 'kpa.stableWindowSeconds',
  kpaPanicWindowSeconds: 'kpa.panicWindowSeconds',
  dryRun: 'dryRun',
};

/** AIBrix's recognised annotation names (`types/annotations.go`), each with its setting and syntax. */
const RECOGNISED: ReadonlyArray<[name: string, settings: Setting[], kind: Kind]> = [
  ['max-scale-up-rate', ['maxScaleUpRate'], 'rate'],
  ['max-scale-down-rate', ['maxScaleDownRate'], 'rate'],
  ['scale-up-tolerance', ['upTolerance'], 'tolerance'],
  ['scale-down-tolerance', ['downTolerance'], 'tolerance'],
  ['panic-threshold', ['panicThreshold'], 'panicThreshold'],
  ['scale-up-cooldown-window', ['scaleUpCooldownSeconds'], 'cooldown'],
  ['scale-down-cooldown-window', ['scaleDownCooldownSeconds'], 'cooldown'],
  ['scale-to-zero', ['scaleToZero'], 'bool'],
  ['storm-service-mode', ['stormServiceMode'], 'stormMode'],
];

/** Keys in AIBrix samples and tests that AIBrix never reads (reference §1.6). */
const LEGACY: ReadonlyArray<[key: string, settings: Setting[], kind: Kind]> = [
  [`${AIBRIX_GROUP}/up-fluctuation-tolerance`, ['upTolerance'], 'tolerance'],
  [`${AIBRIX_GROUP}/down-fluctuation-tolerance`, ['downTolerance'], 'tolerance'],
  ['apa.autoscaling.aibrix.ai/window', ['apaWindowSeconds'], 'window'],
  ['kpa.autoscaling.aibrix.ai/scale-down-delay', ['scaleDownCooldownSeconds'], 'cooldown'],
  ['kpa.autoscaling.aibrix.ai/scale-up-cooldown', ['scaleUpCooldownSeconds'], 'cooldown'],
  ['kpa.autoscaling.aibrix.ai/panic-threshold', ['panicThreshold'], 'panicThreshold'],
  ['kpa.autoscaling.aibrix.ai/panic-window', ['kpaPanicWindowSeconds'], 'window'],
  ['kpa.autoscaling.aibrix.ai/stable-window', ['kpaStableWindowSeconds'], 'window'],
  ['kpa.autoscaling.aibrix.ai/tolerance', ['upTolerance', 'downTolerance'], 'tolerance'],
];

/** Our own keys with no AIBrix counterpart. */
const OURS_ONLY: ReadonlyArray<[name: string, settings: Setting[], kind: Kind]> = [
  ['dry-run', ['dryRun'], 'bool'],
];

const RULES: ReadonlyMap<string, KeyRule> = new Map([
  ...RECOGNISED.map(([name, settings, kind]): [string, KeyRule] => [
    `${INFERSCALE_GROUP}/${name}`,
    { settings, kind, rank: 0 },
  ]),
  ...OURS_ONLY.map(([name, settings, kind]): [string, KeyRule] => [
    `${INFERSCALE_GROUP}/${name}`,
    { settings, kind, rank: 0 },
  ]),
  ...RECOGNISED.map(([name, settings, kind]): [string, KeyRule] => [
    `${AIBRIX_GROUP}/${name}`,
    { settings, kind, rank: 1 },
  ]),
  ...LEGACY.map(([key, settings, kind]): [string, KeyRule] => [key, { settings, kind, rank: 2 }]),
]);

/** Every annotation key read, sorted (for docs and tests). */
export const KNOWN_ANNOTATION_KEYS: readonly string[] = [...RULES.keys()].sort();

const OUR_PREFIXES = [
  `${AIBRIX_GROUP}/`,
  `kpa.${AIBRIX_GROUP}/`,
  `apa.${AIBRIX_GROUP}/`,
  `${INFERSCALE_GROUP}/`,
] as const;

export interface AnnotationParseOptions {
  /** Ignore keys AIBrix ignores, as AIBrix does (for decision-for-decision parity runs). */
  aibrixParity?: boolean;
}

export interface AnnotationParseResult {
  settings: AnnotationSettings;
  /** The annotation key each setting came from. */
  sources: Partial<Record<Setting, string>>;
  issues: Issue[];
  warnings: Issue[];
}

type Parsed = { ok: true; value: number | boolean | string; note?: string } | { ok: false; message: string };

function parseValue(kind: Kind, text: string): Parsed {
  switch (kind) {
    case 'rate':
      return parseNumber(
        text,
        (v) => v > 1 && v <= 1000,
        'a number greater than 1 and at most 1000, e.g. "2" (2 allows doubling or halving per step; 1 or less would block or invert scaling)',
      );
    case 'tolerance':
      return parseNumber(
        text,
        (v) => v >= 0 && v < 1,
        'a fraction from 0 up to (not including) 1, e.g. "0.1" for ±10 %',
      );
    case 'panicThreshold':
      return parseNumber(
        text,
        (v) => v > 1 && v <= 100,
        'a ratio greater than 1 and at most 100, e.g. "2" (= 200 %; it is not a percentage)',
      );
    case 'cooldown':
      return parseSeconds(text, 0);
    case 'window':
      return parseSeconds(text, 1);
    case 'bool': {
      const b = parseGoBool(text);
      return b.ok ? b : { ok: false, message: `${b.error}. Use "true" or "false".` };
    }
    case 'stormMode':
      // AIBrix compares with "replica" exactly; anything else is pool mode.
      return text === 'replica' || text === 'pool'
        ? { ok: true, value: text }
        : {
            ok: true,
            value: 'pool',
            note: `${JSON.stringify(text)} is neither "pool" nor "replica"; pool mode is used, as AIBrix does`,
          };
  }
}

function parseNumber(text: string, inRange: (v: number) => boolean, expected: string): Parsed {
  const f = parseGoFloat(text);
  if (!f.ok) return { ok: false, message: `${f.error}. Use ${expected}.` };
  if (!Number.isFinite(f.value))
    return { ok: false, message: `${JSON.stringify(text)} is not a finite number. Use ${expected}.` };
  if (!inRange(f.value))
    return { ok: false, message: `${JSON.stringify(text)} is out of range. Use ${expected}.` };
  return { ok: true, value: f.value };
}

function parseSeconds(text: string, min: number): Parsed {
  const expected = `a Go duration from ${min === 0 ? '0s' : '1s'} to 1h, e.g. "30s", "5m" or "1m30s" (units ns, us, ms, s, m, h; no "d")`;
  const d = parseGoDuration(text);
  if (!d.ok) return { ok: false, message: `${d.error}. Use ${expected}.` };
  // Whole seconds, truncated as AIBrix does when it builds the HPA behavior.
  const seconds = Math.trunc(d.value.seconds);
  if (d.value.seconds < 0 || seconds < min || seconds > MAX_WINDOW_SECONDS) {
    return { ok: false, message: `${JSON.stringify(text)} is out of range. Use ${expected}.` };
  }
  const note =
    seconds !== d.value.seconds
      ? `${JSON.stringify(text)} is truncated to ${seconds}s (whole seconds)`
      : undefined;
  return note ? { ok: true, value: seconds, note } : { ok: true, value: seconds };
}

function displayValue(v: number | boolean | string): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Parses every annotation we read; see the module comment. Same input (any key order) → same output. */
export function parseAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
  options: AnnotationParseOptions = {},
): AnnotationParseResult {
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  const candidates = new Map<Setting, { key: string; rank: Rank; value: number | boolean | string }[]>();

  for (const key of Object.keys(annotations ?? {}).sort()) {
    const text = annotations?.[key] ?? '';
    const rule = RULES.get(key);
    const path = annotationPath(key);
    if (!rule) {
      if (OUR_PREFIXES.some((p) => key.startsWith(p))) {
        const hint = closestKey(key);
        warnings.push({
          path,
          reason: Reason.IgnoredAnnotation,
          message: `unrecognised annotation ${key}; it has no effect.${hint ? ` Did you mean ${hint}?` : ''}`,
        });
      }
      continue;
    }
    const parsed = parseValue(rule.kind, text);
    if (!parsed.ok) {
      issues.push({
        path,
        reason: Reason.InvalidAnnotation,
        message: `invalid value for ${key}: ${parsed.message}`,
      });
      continue;
    }
    if (parsed.note) warnings.push({ path, reason: Reason.Suspicious, message: `${key}: ${parsed.note}.` });
    const targets = rule.settings.map((s) => SETTING_TARGETS[s]).join('; ');
    if (rule.rank === 2) {
      if (options.aibrixParity) {
        warnings.push({
          path,
          reason: Reason.IgnoredAnnotation,
          message: `${key} is not an AIBrix annotation and is ignored in AIBrix parity mode (it would set ${targets}).`,
        });
        continue;
      }
      warnings.push({
        path,
        reason: Reason.MappedAnnotation,
        message: `${key} is ignored by AIBrix; inferscale maps it to ${targets} = ${displayValue(parsed.value)}.`,
      });
    }
    for (const setting of rule.settings) {
      const list = candidates.get(setting) ?? [];
      list.push({ key, rank: rule.rank, value: parsed.value });
      candidates.set(setting, list);
    }
  }

  const settings: Record<string, unknown> = {};
  const sources: Partial<Record<Setting, string>> = {};
  for (const [setting, list] of [...candidates.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    // Keys were visited in sorted order, so equal ranks resolve to the first key alphabetically.
    const winner = [...list].sort((a, b) => a.rank - b.rank)[0]!;
    settings[setting] = winner.value;
    sources[setting] = winner.key;
    for (const loser of list) {
      if (loser === winner || loser.value === winner.value) continue;
      warnings.push({
        path: annotationPath(loser.key),
        reason: Reason.Overridden,
        message: `${loser.key} = ${displayValue(loser.value)} is overridden by ${winner.key} = ${displayValue(winner.value)} for ${SETTING_TARGETS[setting]}. Remove one of them.`,
      });
    }
  }
  return { settings: AnnotationSettingsSchema.parse(settings), sources, issues, warnings };
}

/** The known key nearest to a mistyped one (edit distance ≤ 3), to suggest in the warning. */
function closestKey(key: string): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const known of KNOWN_ANNOTATION_KEYS) {
    const d = editDistance(key, known);
    if (d <= 3 && (!best || d < best.d)) best = { key: known, d };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
