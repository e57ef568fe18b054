/**
 * The OpenAI-compatible request/response shapes the emulator speaks, as vLLM's server does:
 * request bodies are validated and turned into token counts; responses and SSE chunks carry
 * deterministic filler text, one word per token.
 */
import { z } from 'zod';

export type Endpoint = 'completions' | 'chat';

/** An HTTP error in vLLM's OpenAI error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): string {
    return JSON.stringify({
      object: 'error',
      message: this.message,
      type: this.type,
      param: null,
      code: this.status,
    });
  }
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequestError', message);
}

const tokenCount = z.number().int().min(1);

const Common = z.object({
  model: z.string().optional(),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullish(),
  max_tokens: tokenCount.nullish(),
  /** vLLM extension: generate at least this many tokens before EOS. */
  min_tokens: z.number().int().min(0).nullish(),
  /** vLLM extension: keep generating past EOS up to max_tokens. */
  ignore_eos: z.boolean().nullish(),
  n: z.number().int().min(1).nullish(),
});

const CompletionBody = Common.extend({
  prompt: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1),
  ]),
}).passthrough();

const ContentPart = z.object({ type: z.string(), text: z.string().optional() }).passthrough();
const ChatBody = Common.extend({
  messages: z
    .array(
      z
        .object({
          role: z.string(),
          content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
        })
        .passthrough(),
    )
    .min(1),
  max_completion_tokens: tokenCount.nullish(),
}).passthrough();

/** What the emulator needs from a request. */
export interface ParsedRequest {
  endpoint: Endpoint;
  model: string | undefined;
  stream: boolean;
  includeUsage: boolean;
  promptTokens: number;
  /** The text (or token ids) the prefix cache keys on. */
  promptKey: string | readonly number[];
  maxTokens: number | undefined;
  minTokens: number;
  ignoreEos: boolean;
}

/** Characters per token for text prompts (the usual English BPE rule of thumb). */
export const CHARS_PER_TOKEN = 4;
/** Chat-template tokens around each message (role header and separators). */
const CHAT_TOKENS_PER_MESSAGE = 4;
/** Tokens that open the assistant's turn. */
const CHAT_REPLY_PRIMER = 2;

function textTokens(s: string): number {
  return Math.max(1, Math.ceil(s.length / CHARS_PER_TOKEN));
}

function zodMessage(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

/** `body` as one endpoint's schema reads it; both endpoints refuse n > 1. */
function validate<T extends z.infer<typeof Common>>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw badRequest(zodMessage(r.error));
  if ((r.data.n ?? 1) > 1) throw badRequest('n > 1 is not supported by the emulator');
  return r.data;
}

/** The request around its prompt and length limit, from the fields both endpoints share. */
function parsedRequest(
  endpoint: Endpoint,
  b: z.infer<typeof Common>,
  prompt: Pick<ParsedRequest, 'promptTokens' | 'promptKey'>,
  maxTokens: number | undefined,
): ParsedRequest {
  return {
    endpoint,
    model: b.model,
    stream: b.stream ?? false,
    includeUsage: b.stream_options?.include_usage ?? false,
    promptTokens: prompt.promptTokens,
    promptKey: prompt.promptKey,
    maxTokens,
    minTokens: b.min_tokens ?? 0,
    ignoreEos: b.ignore_eos ?? false,
  };
}

export function parseRequest(endpoint: Endpoint, body: unknown): ParsedRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('the request body must be a JSON object');
  }
  if (endpoint === 'completions') {
    const b = validate(CompletionBody, body);
    let promptTokens: number;
    let promptKey: string | readonly number[];
    const p = b.prompt;
    if (typeof p === 'string') {
      promptTokens = textTokens(p);
      promptKey = p;
    } else if (p.length > 1 && typeof p[0] !== 'number') {
      throw badRequest('the emulator serves one prompt per request; send a batch as separate requests');
    } else if (typeof p[0] === 'string') {
      promptKey = p[0];
      promptTokens = textTokens(p[0]);
    } else if (typeof p[0] === 'number') {
      promptKey = p as number[];
      promptTokens = p.length;
    } else {
      promptKey = p[0] as number[];
      promptTokens = (p[0] as number[]).length;
    }
    // The Completions API defaults max_tokens to 16.
    return parsedRequest(endpoint, b, { promptTokens, promptKey }, b.max_tokens ?? 16);
  }
  const b = validate(ChatBody, body);
  let promptTokens = CHAT_REPLY_PRIMER;
  let key = '';
  for (const m of b.messages) {
    const text =
      typeof m.content === 'string'
        ? m.content
        : Array.isArray(m.content)
          ? m.content.map((part) => part.text ?? '').join('')
          : '';
    promptTokens += CHAT_TOKENS_PER_MESSAGE + Math.ceil(text.length / CHARS_PER_TOKEN);
    key += `<|${m.role}|>${text}`;
  }
  return parsedRequest(
    endpoint,
    b,
    { promptTokens, promptKey: key },
    b.max_completion_tokens ?? b.max_tokens ?? undefined,
  );
}

// --- prefix identities --------------------------------------------------------------------------

/** Tokens per prefix block the emulator hashes (vLLM's KV block size). */
export const EMULATOR_PREFIX_BLOCK_TOKENS = 16;

function fnv1a(h: number, s: string, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Chained hashes of the prompt's full 16-token blocks (64 characters of text or 16 token ids),
 * so that requests sharing a prefix share leading ids, as vLLM's block hashes do.
 */
export function prefixHashIds(key: string | readonly number[], promptTokens: number): number[] {
  const blocks = Math.floor(promptTokens / EMULATOR_PREFIX_BLOCK_TOKENS);
  const ids: number[] = [];
  let h = 0x811c9dc5;
  if (typeof key === 'string') {
    const step = EMULATOR_PREFIX_BLOCK_TOKENS * CHARS_PER_TOKEN;
    for (let k = 0; k < blocks && (k + 1) * step <= key.length; k++) {
      h = fnv1a(h, key, k * step, (k + 1) * step);
      ids.push(h);
    }
  } else {
    for (let k = 0; k < blocks; k++) {
      for (let i = k * EMULATOR_PREFIX_BLOCK_TOKENS; i < (k + 1) * EMULATOR_PREFIX_BLOCK_TOKENS; i++) {
        h ^= (key[i] as number) | 0;
        h = Math.imul(h, 0x01000193) >>> 0;
      }
      ids.push(h);
    }
  }
  return ids;
}

// --- filler text ----------------------------------------------------------------------------------

const WORDS = (
  'this is an emulated response from inferscale that stands in for a vLLM replica without a GPU ' +
  'so every token is one word and the timing follows the engine model'
).split(' ');

/** Text of tokens [from, to) of a response: one word per token. */
export function fillerText(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += (i === 0 ? '' : ' ') + (WORDS[i % WORDS.length] as string);
  return s;
}

// --- response bodies ------------------------------------------------------------------------------

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function completionBody(
  endpoint: Endpoint,
  id: string,
  created: number,
  model: string,
  text: string,
  finishReason: string,
  u: Usage,
): string {
  if (endpoint === 'completions') {
    return JSON.stringify({
      id,
      object: 'text_completion',
      created,
      model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: null }],
      usage: u,
    });
  }
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, tool_calls: [] },
        logprobs: null,
        finish_reason: finishReason,
        stop_reason: null,
      },
    ],
    usage: u,
  });
}

/** One SSE `data:` event of a streamed response. */
export function chunkEvent(
  endpoint: Endpoint,
  id: string,
  created: number,
  model: string,
  piece: { text?: string; role?: boolean; finishReason?: string | null; usage?: Usage },
): string {
  let payload: Record<string, unknown>;
  if (endpoint === 'completions') {
    payload = {
      id,
      object: 'text_completion',
      created,
      model,
      choices:
        piece.usage !== undefined
          ? []
          : [
              {
                index: 0,
                text: piece.text ?? '',
                logprobs: null,
                finish_reason: piece.finishReason ?? null,
                stop_reason: null,
              },
            ],
    };
  } else {
    const delta: Record<string, string> = {};
    if (piece.role) delta.role = 'assistant';
    if (piece.text !== undefined) delta.content = piece.text;
    payload = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices:
        piece.usage !== undefined
          ? []
          : [{ index: 0, delta, logprobs: null, finish_reason: piece.finishReason ?? null }],
    };
  }
  if (piece.usage !== undefined) payload.usage = piece.usage;
  return `data: ${JSON.stringify(payload)}\n\n`;
}
