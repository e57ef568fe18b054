/**
 * Synchronous, chunked line reading: bounded memory for multi-GB traces, no per-line promise.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK = 1 << 22;

/**
 * Calls `fn(line, lineNo)` for every line of a file (1-based numbers, `\r\n` tolerated, final line
 * without newline included) until it returns `false`. Splitting on the newline byte never cuts a
 * UTF-8 sequence.
 */
export function forEachLine(path: string, fn: (line: string, lineNo: number) => boolean | void): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new Error(`${path}: cannot open: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer | undefined;
    let lineNo = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl < 0 || nl >= n) break;
        let line: string;
        if (carry) {
          line = Buffer.concat([carry, buf.subarray(start, nl)]).toString('utf8');
          carry = undefined;
        } else {
          line = buf.toString('utf8', start, nl);
        }
        lineNo++;
        if (fn(line.endsWith('\r') ? line.slice(0, -1) : line, lineNo) === false) return;
        start = nl + 1;
      }
      if (start < n) {
        const rest = Buffer.from(buf.subarray(start, n));
        carry = carry ? Buffer.concat([carry, rest]) : rest;
      }
    }
    if (carry && carry.length > 0) {
      const line = carry.toString('utf8');
      lineNo++;
      fn(line.endsWith('\r') ? line.slice(0, -1) : line, lineNo);
    }
  } finally {
    closeSync(fd);
  }
}
