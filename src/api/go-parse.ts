/**
 * Parsers that accept exactly what Go's standard library accepts for the value syntaxes AIBrix
 * uses in annotations and `targetValue`: `time.ParseDuration`, `strconv.ParseBool` and
 * `strconv.ParseFloat`. Accepting the same strings keeps AIBrix manifests portable; JavaScript's
 * own `Number()` is far looser (`""` → 0, `" 1 "`, `0b11`, `Infinity`), which would turn typos into
 * silent zeros.
 *
 * Range checks are not done here: a parser only says whether the text is well formed.
 */

export type GoParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const NS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 MICRO SIGN
  μs: 1_000n, // U+03BC GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's `time.Duration` is an int64 of nanoseconds. */
const MAX_DURATION_NS = (1n << 63n) - 1n;

/**
 * Go `time.ParseDuration`: a signed sequence of decimal numbers, each with an optional fraction and
 * a unit suffix (`300ms`, `-1.5h`, `2h45m`). Units: ns, us (or µs/μs), ms, s, m, h. `0` alone needs
 * no unit. There is no `d`. Returns whole nanoseconds (Go truncates fractions of a nanosecond).
 */
export function parseGoDuration(text: string): GoParseResult<{ nanoseconds: bigint; seconds: number }> {
  const invalid = (): GoParseResult<never> => ({
    ok: false,
    error: `time: invalid duration ${JSON.stringify(text)}`,
  });
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, value: { nanoseconds: 0n, seconds: 0 } };
  if (s === '') return invalid();

  let total = 0n;
  while (s !== '') {
    const number = /^([0-9]*)(?:\.([0-9]*))?/.exec(s);
    const whole = number?.[1] ?? '';
    const fraction = number?.[2];
    if (whole === '' && (fraction === undefined || fraction === '')) return invalid();
    s = s.slice(number?.[0].length ?? 0);

    const unitMatch = /^[^0-9.]+/.exec(s);
    if (!unitMatch) return { ok: false, error: `time: missing unit in duration ${JSON.stringify(text)}` };
    const unitText = unitMatch[0];
    const unit = NS_PER_UNIT[unitText];
    if (unit === undefined) {
      return {
        ok: false,
        error: `time: unknown unit ${JSON.stringify(unitText)} in duration ${JSON.stringify(text)}`,
      };
    }
    s = s.slice(unitText.length);

    let value = BigInt(whole === '' ? '0' : whole) * unit;
    if (fraction !== undefined && fraction !== '') {
      // Scale the fraction by the unit and truncate, as Go does.
      value += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    }
    total += value;
    if (total > MAX_DURATION_NS + (negative ? 1n : 0n)) return invalid();
  }
  const nanoseconds = negative ? -total : total;
  return { ok: true, value: { nanoseconds, seconds: Number(nanoseconds) / 1e9 } };
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go `strconv.ParseBool`: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False and nothing else. */
export function parseGoBool(text: string): GoParseResult<boolean> {
  if (TRUE_WORDS.has(text)) return { ok: true, value: true };
  if (FALSE_WORDS.has(text)) return { ok: true, value: false };
  return { ok: false, error: `strconv.ParseBool: parsing ${JSON.stringify(text)}: invalid syntax` };
}

const DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/;
const INFINITY = /^[+-]?(?:inf|infinity)$/i;
const NAN = /^[+-]?nan$/i;

/**
 * Go `strconv.ParseFloat(s, 64)`: decimal and hexadecimal (`0x1.8p1`, exponent required) floats,
 * `Inf`/`Infinity`/`NaN` in any case. Underscore digit separators (allowed by Go only after a base
 * prefix) are rejected. Out-of-range decimals become ±Infinity, as Go's value does. The caller
 * decides whether NaN and Infinity are acceptable (they never are for a target or a rate).
 */
export function parseGoFloat(text: string): GoParseResult<number> {
  if (DECIMAL.test(text)) return { ok: true, value: Number(text) };
  const hex = HEX.exec(text);
  if (hex) {
    const [, sign = '', whole = '', fraction = '', exponent = '0'] = hex;
    if (whole === '' && fraction === '') return syntaxError(text);
    const mantissa = parseInt(whole + fraction || '0', 16) / 16 ** fraction.length;
    const value = mantissa * 2 ** Number(exponent);
    return { ok: true, value: sign === '-' ? -value : value };
  }
  if (INFINITY.test(text)) return { ok: true, value: text.startsWith('-') ? -Infinity : Infinity };
  if (NAN.test(text)) return { ok: true, value: NaN };
  return syntaxError(text);
}

function syntaxError(text: string): GoParseResult<never> {
  return { ok: false, error: `strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax` };
}
