/**
 * Cuts the wanted families out of a page's bytes before decoding, so a pod scrape decodes and parses
 * a few hundred bytes instead of the whole ~26 KB vLLM page.
 *
 * Both text formats require all lines of a family to be one group after its metadata (text 0.0.4:
 * "all lines for a given metric must be provided as one single group"; OpenMetrics: families must
 * not interleave). So a family's segment runs from its `# TYPE` line to the next metadata line of
 * another family. When no wanted family has a `# TYPE` line (untyped exporters, odd spacing), the
 * caller parses the whole page instead.
 */

const NL = 0x0a;
const HASH = 0x23;

export interface SegmentFinder {
  /** The wanted families' segments joined, or undefined when none has a `# TYPE` line. */
  extract(page: Buffer): string | undefined;
}

const TYPE = Buffer.from('# TYPE ');

/** `names`: every family name that may be wanted, in both counter spellings (see familiesOf). */
export function segmentFinder(names: readonly string[]): SegmentFinder {
  const wanted = new Set(names);
  const lengths = new Set(names.map((n) => Buffer.byteLength(n)));
  return {
    extract(page: Buffer): string | undefined {
      // One pass over the page's TYPE lines (a few dozen), comparing names only when the length fits.
      let parts: string[] | undefined;
      let i = page.indexOf(TYPE);
      while (i !== -1) {
        const nameStart = i + TYPE.length;
        if (i === 0 || page[i - 1] === NL) {
          const nameEnd = page.indexOf(0x20, nameStart);
          if (nameEnd !== -1 && lengths.has(nameEnd - nameStart)) {
            const name = page.toString('utf8', nameStart, nameEnd);
            if (wanted.has(name)) {
              const end = segmentEnd(page, i, name);
              (parts ??= []).push(page.toString('utf8', i, end));
              i = page.indexOf(TYPE, end);
              continue;
            }
          }
        }
        i = page.indexOf(TYPE, nameStart);
      }
      return parts === undefined ? undefined : parts.join('');
    },
  };
}

/** End (exclusive, after the newline) of the segment starting at the `# TYPE` line at `start`. */
function segmentEnd(page: Buffer, start: number, name: string): number {
  let lineEnd = page.indexOf(NL, start);
  while (lineEnd !== -1) {
    const next = lineEnd + 1;
    if (next >= page.length) return page.length;
    if (page[next] === HASH && !isOwnMetadata(page, next, name)) return next;
    lineEnd = page.indexOf(NL, next);
  }
  return page.length;
}

/** `# HELP name …` or `# UNIT name …` of the same family may follow its TYPE line. */
function isOwnMetadata(page: Buffer, at: number, name: string): boolean {
  for (const kw of ['# HELP ', '# UNIT ']) {
    if (page.toString('latin1', at, at + kw.length) !== kw) continue;
    const n = at + kw.length;
    if (page.toString('utf8', n, n + name.length) === name) {
      const after = page[n + name.length];
      return after === 0x20 || after === NL || after === 0x0d || after === undefined;
    }
  }
  return false;
}

/** True when the page ends with a `# EOF` line: an OpenMetrics page. */
export function endsWithEof(page: Buffer): boolean {
  let i = page.length - 1;
  while (i >= 0 && (page[i] === NL || page[i] === 0x0d || page[i] === 0x20)) i--;
  return i >= 4 && page.toString('latin1', i - 4, i + 1) === '# EOF' && (i - 5 < 0 || page[i - 5] === NL);
}
