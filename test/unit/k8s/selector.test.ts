import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { labelSelectorToString, parseSelector, SelectorParseError } from '../../../src/k8s/selector.js';

describe('parseSelector', () => {
  const labels = { app: 'llm', tier: 'gpu', 'app.kubernetes.io/name': 'vllm' };

  it.each([
    ['', true],
    ['app=llm', true],
    ['app==llm', true],
    ['app=other', false],
    ['app!=other', true],
    ['app!=llm', false],
    ['missing!=x', true],
    ['app in (llm,other)', true],
    ['app in (a, b)', false],
    ['tier notin (cpu)', true],
    ['tier notin (gpu,cpu)', false],
    ['missing notin (x)', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['app=llm, tier in (gpu),!missing', true],
    ['app.kubernetes.io/name=vllm', true],
    ['  app = llm ,tier=gpu  ', true],
  ])('%j matches=%s', (text, expected) => {
    expect(parseSelector(text).matches(labels)).toBe(expected);
  });

  it.each([
    ['app=', { app: '' }, true],
    ['app=', { app: 'x' }, false],
  ])('empty value %j', (text, l, expected) => {
    expect(parseSelector(text).matches(l)).toBe(expected);
  });

  it.each([
    ['app in llm', /expected "\("/],
    ['app in (a', /expected "," or "\)"/],
    ['app in ()', /expected a value/],
    ['app=a b', /expected ","/],
    ['=x', /expected a label key/],
    ['app !~ x', /expected "!="/],
    ['app=x,', /expected a label key/],
    ['app=-bad', /not a valid label value/],
    ['app foo (x)', /expected "=", "!=", "in" or "notin"/],
  ])('rejects %j with a positioned message', (text, message) => {
    expect(() => parseSelector(text)).toThrow(SelectorParseError);
    expect(() => parseSelector(text)).toThrow(message);
  });

  it('canonical text round-trips', () => {
    const s = parseSelector('app = llm, tier in (gpu,cpu), !x, y, z notin (1)');
    expect(s.text).toBe('app=llm,tier in (gpu,cpu),!x,y,z!=1');
    expect(parseSelector(s.text).text).toBe(s.text);
  });

  it('agrees with a direct evaluation of matchLabels for random labels', () => {
    const word = fc.constantFrom('a', 'b', 'c');
    fc.assert(
      fc.property(fc.dictionary(word, word), fc.dictionary(word, word), (want, have) => {
        const text = labelSelectorToString({ matchLabels: want });
        const expected = Object.entries(want).every(([k, v]) => have[k] === v);
        expect(parseSelector(text).matches(have)).toBe(expected);
      }),
    );
  });
});

describe('labelSelectorToString', () => {
  it('renders matchLabels and every matchExpressions operator', () => {
    expect(
      labelSelectorToString({
        matchLabels: { app: 'llm' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'zone', operator: 'NotIn', values: ['x'] },
          { key: 'gpu', operator: 'Exists' },
          { key: 'spot', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=llm,tier in (a,b),zone notin (x),gpu,!spot');
  });

  it('names an unknown operator', () => {
    expect(() => labelSelectorToString({ matchExpressions: [{ key: 'k', operator: 'Gt' }] })).toThrow(
      /"Gt" on key "k"/,
    );
  });
});
