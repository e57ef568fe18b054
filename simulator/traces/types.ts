/**
 * The one in-memory request type every trace reader and generator produces (docs/traces.md).
 */

export interface TraceRequest {
  /** 0-based position in the trace after sorting by arrival. */
  id: number;
  /** Milliseconds from the start of the trace (Azure: from its first request). */
  arrivalMs: number;
  inputTokens: number;
  outputTokens: number;
  /**
   * Prompt prefix-block identities, one per `hashBlockTokens` prompt tokens (Mooncake `hash_ids`,
   * 512 tokens each): equal ids mean equal prefix content, so prefix caching can be replayed.
   */
  hashIds?: number[];
}

export type TraceFormat = 'azure-csv' | 'mooncake' | 'aibrix' | 'inferscale';
export const TRACE_FORMATS: readonly TraceFormat[] = ['azure-csv', 'mooncake', 'aibrix', 'inferscale'];

/** Prompt tokens covered by one entry of `hashIds` in Mooncake traces and inferscale JSONL. */
export const HASH_BLOCK_TOKENS = 512;

export interface TraceReadOptions {
  /** `error` (default): stop at the first bad line. `skip`: drop bad lines and count them. */
  onInvalid?: 'error' | 'skip';
  /** Stop after this many requests. */
  limit?: number;
}

export interface Trace {
  requests: TraceRequest[];
  format: TraceFormat;
  file: string;
  /** Lines dropped with `onInvalid: 'skip'`, with their first few errors. */
  skipped: number;
  skippedErrors: string[];
  /** Wall-clock time of arrivalMs = 0, when the format carries one (Azure CSV). */
  startEpochMs?: number;
}

/** A bad line in a trace file; the message starts with `file:line:`. */
export class TraceFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'TraceFormatError';
  }
}
