/**
 * Kubernetes label selectors in string form (`a=b,c!=d,e in (x,y),f notin (z),g,!h`), as the
 * `/scale` subresource reports them in `status.selector`. Parsed once, matched many times against
 * the pod cache.
 */

export type Requirement =
  { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | 'doesnotexist' };

export interface Selector {
  readonly requirements: readonly Requirement[];
  /** The selector in canonical string form. */
  readonly text: string;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

export class SelectorParseError extends Error {
  constructor(selector: string, position: number, what: string) {
    super(`invalid label selector "${selector}" at character ${position + 1}: ${what}`);
    this.name = 'SelectorParseError';
  }
}

// Label keys may carry a DNS prefix (`app.kubernetes.io/name`); values are up to 63 of [A-Za-z0-9-_.].
const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Parses a selector string; the empty string selects everything. Throws SelectorParseError. */
export function parseSelector(text: string): Selector {
  const reqs: Requirement[] = [];
  const s = text;
  let i = 0;
  const skipWs = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const readWord = (): string => {
    skipWs();
    const start = i;
    while (i < s.length && !/[\s,()=!]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const fail = (what: string, at = i): never => {
    throw new SelectorParseError(text, at, what);
  };
  const checkKey = (key: string, at: number) => {
    if (!key) fail('expected a label key', at);
    if (!KEY.test(key)) fail(`"${key}" is not a valid label key`, at);
  };
  const checkValue = (value: string, at: number) => {
    if (!VALUE.test(value)) fail(`"${value}" is not a valid label value`, at);
  };

  skipWs();
  if (i === s.length) return makeSelector([]);
  while (true) {
    skipWs();
    const start = i;
    if (s[i] === '!') {
      i++;
      const key = readWord();
      checkKey(key, start + 1);
      reqs.push({ key, op: 'doesnotexist' });
    } else {
      const key = readWord();
      checkKey(key, start);
      skipWs();
      const c = s[i];
      if (c === undefined || c === ',') {
        reqs.push({ key, op: 'exists' });
      } else if (c === '=' || c === '!') {
        const negate = c === '!';
        i++;
        if (negate) {
          if (s[i] !== '=') fail('expected "!="');
          i++;
        } else if (s[i] === '=') {
          i++; // `==` is accepted as `=`
        }
        const vStart = i;
        const value = readWord();
        checkValue(value, vStart);
        reqs.push({ key, op: negate ? 'notin' : 'in', values: [value] });
      } else {
        const opStart = i;
        const word = readWord();
        if (word !== 'in' && word !== 'notin')
          fail(`expected "=", "!=", "in" or "notin" after "${key}"`, opStart);
        skipWs();
        if (s[i] !== '(') fail('expected "("');
        i++;
        const values: string[] = [];
        while (true) {
          skipWs();
          const vStart = i;
          const value = readWord();
          if (!value) fail(`expected a value in the list of "${key} ${word}"`, vStart);
          checkValue(value, vStart);
          values.push(value);
          skipWs();
          if (s[i] === ',') {
            i++;
            continue;
          }
          if (s[i] === ')') {
            i++;
            break;
          }
          fail('expected "," or ")" in value list');
        }
        reqs.push({ key, op: word === 'in' ? 'in' : 'notin', values });
      }
    }
    skipWs();
    if (i === s.length) break;
    if (s[i] !== ',') fail('expected ","');
    i++;
  }
  return makeSelector(reqs);
}

function makeSelector(requirements: Requirement[]): Selector {
  const text = requirements
    .map((r) => {
      switch (r.op) {
        case 'exists':
          return r.key;
        case 'doesnotexist':
          return `!${r.key}`;
        case 'in':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return r.values.length === 1
            ? `${r.key}!=${r.values[0]}`
            : `${r.key} notin (${r.values.join(',')})`;
      }
    })
    .join(',');
  return {
    requirements,
    text,
    matches(labels) {
      const l = labels ?? {};
      for (const r of requirements) {
        const has = Object.prototype.hasOwnProperty.call(l, r.key);
        switch (r.op) {
          case 'exists':
            if (!has) return false;
            break;
          case 'doesnotexist':
            if (has) return false;
            break;
          case 'in':
            if (!has || !r.values.includes(l[r.key]!)) return false;
            break;
          case 'notin':
            // As in Kubernetes: a missing key satisfies `!=` and `notin`.
            if (has && r.values.includes(l[r.key]!)) return false;
            break;
        }
      }
      return true;
    },
  };
}

/** A metav1.LabelSelector (matchLabels + matchExpressions) in string form. */
export function labelSelectorToString(sel: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
      default:
        throw new Error(
          `label selector operator "${e.operator}" on key "${e.key}" is not one of In, NotIn, Exists, DoesNotExist`,
        );
    }
  }
  return parts.join(',');
}
