import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseGoBool, parseGoDuration, parseGoFloat } from '../../../src/api/go-parse.js';

const seconds = (text: string) => {
  const r = parseGoDuration(text);
  return r.ok ? r.value.seconds : r.error;
};

describe('parseGoDuration (Go time.ParseDuration)', () => {
  it.each([
    ['0', 0],
    ['+0', 0],
    ['30s', 30],
    ['5m', 300],
    ['1h30m', 5400],
    ['2h45m10s', 9910],
    ['1.5h', 5400],
    ['.5s', 0.5],
    ['1.s', 1],
    ['300ms', 0.3],
    ['1500us', 0.0015],
    ['1500µs', 0.0015],
    ['1500μs', 0.0015],
    ['10ns', 1e-8],
    ['-1s', -1],
    ['1m1m', 120],
    ['0s', 0],
  ])('%s → %s s', (text, expected) => {
    expect(seconds(text)).toBeCloseTo(expected, 12);
  });

  it.each([
    ['', 'time: invalid duration ""'],
    ['1', 'time: missing unit in duration "1"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['1S', 'time: unknown unit "S" in duration "1S"'],
    ['s', 'time: invalid duration "s"'],
    ['.s', 'time: invalid duration ".s"'],
    ['-', 'time: invalid duration "-"'],
    ['1 s', 'time: unknown unit " s" in duration "1 s"'],
    ['1h-5m', 'time: unknown unit "h-" in duration "1h-5m"'],
    ['3000000h', 'time: invalid duration "3000000h"'],
  ])('%j is rejected', (text, error) => {
    expect(seconds(text)).toBe(error);
  });

  it('truncates fractions of a nanosecond, as Go does', () => {
    const r = parseGoDuration('1.0000000019s');
    expect(r.ok && r.value.nanoseconds).toBe(1_000_000_001n);
  });

  it('h/m/s sequences add up (property)', () => {
    fc.assert(
      fc.property(fc.nat(100), fc.nat(59), fc.nat(59), (h, m, s) => {
        expect(seconds(`${h}h${m}m${s}s`)).toBe(h * 3600 + m * 60 + s);
      }),
    );
  });
});

describe('parseGoBool (Go strconv.ParseBool)', () => {
  it.each(['1', 't', 'T', 'TRUE', 'true', 'True'])('%s is true', (t) =>
    expect(parseGoBool(t)).toEqual({ ok: true, value: true }),
  );
  it.each(['0', 'f', 'F', 'FALSE', 'false', 'False'])('%s is false', (t) =>
    expect(parseGoBool(t)).toEqual({ ok: true, value: false }),
  );
  it.each(['yes', 'no', 'tRUE', 'on', '', ' true'])('%j is rejected', (t) =>
    expect(parseGoBool(t).ok).toBe(false),
  );
});

describe('parseGoFloat (Go strconv.ParseFloat)', () => {
  it.each([
    ['0.5', 0.5],
    ['100', 100],
    ['+1.5', 1.5],
    ['-2', -2],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['1E-2', 0.01],
    ['0x1p-2', 0.25],
    ['0x1.8p1', 3],
    ['-0X10P0', -16],
    ['1e400', Infinity],
  ])('%s → %s', (text, value) => {
    expect(parseGoFloat(text)).toEqual({ ok: true, value });
  });
  it.each(['Inf', '+inf', 'Infinity', '-INF'])(
    '%s parses to an infinity (rejected later by range checks)',
    (t) => {
      const r = parseGoFloat(t);
      expect(r.ok && !Number.isFinite(r.value)).toBe(true);
    },
  );
  it.each(['NaN', 'nan'])('%s parses to NaN (rejected later by range checks)', (t) => {
    const r = parseGoFloat(t);
    expect(r.ok && Number.isNaN(r.value)).toBe(true);
  });
  it.each(['', ' 1', '1 ', '1_000', '0x10', '0b1', '1e', 'e1', '.', '1.2.3', 'abc', '50%'])(
    '%j is a syntax error',
    (t) => {
      expect(parseGoFloat(t)).toEqual({
        ok: false,
        error: `strconv.ParseFloat: parsing ${JSON.stringify(t)}: invalid syntax`,
      });
    },
  );
});
