import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import {
  TIMING_REQUEST_HEADER,
  TIMING_RESPONSE_HEADER,
  startEmulator,
  type EmulatorHandle,
} from '../../../src/emulator/server.js';
import { findFamily, parseExposition, valueSamples } from '../../../src/metrics/exposition.js';
import { prefixHashIds } from '../../../src/emulator/openai.js';

let emu: EmulatorHandle;
const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

beforeAll(async () => {
  // Speed-up keeps the test fast; the model's own clock still reports real-GPU latencies.
  emu = await startEmulator({
    gpu: 'A100-80GB',
    model: 'Llama-3.1-8B',
    host: '127.0.0.1',
    port: 0,
    speedup: 20,
  });
});
afterAll(async () => {
  await emu.close();
});

async function post(path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${emu.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const page = await (await fetch(`${emu.url}/metrics`)).text();
  const fam = findFamily(parseExposition(page), name);
  if (!fam) return undefined;
  const s = valueSamples(fam).find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

/** Reads an SSE body into its `data:` payloads. */
async function sse(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => b.slice(6));
}

/** A completion over node:http (fetch does not show trailers): the timing header and trailer. */
function timedCompletion(
  stream: boolean,
  askTiming: boolean,
): Promise<{ header?: string; trailer?: string }> {
  const body = JSON.stringify({ prompt: 'hello '.repeat(300), max_tokens: 4, min_tokens: 4, stream });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${emu.url}/v1/completions`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(askTiming ? { [TIMING_REQUEST_HEADER]: '1' } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const header = res.headers[TIMING_RESPONSE_HEADER];
          const trailer = res.trailers[TIMING_RESPONSE_HEADER];
          resolve({
            ...(typeof header === 'string' ? { header } : {}),
            ...(trailer !== undefined ? { trailer } : {}),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function until(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('emulator HTTP API', () => {
  it('answers /health, /v1/models and unknown routes like vLLM', async () => {
    expect((await fetch(`${emu.url}/health`)).status).toBe(200);
    const models = (await (await fetch(`${emu.url}/v1/models`)).json()) as {
      data: { id: string; max_model_len: number }[];
    };
    expect(models.data[0]?.id).toBe(MODEL);
    expect(models.data[0]?.max_model_len).toBe(131072);
    expect((await fetch(`${emu.url}/nope`)).status).toBe(404);
    expect((await fetch(`${emu.url}/v1/completions`)).status).toBe(405);
  });

  it('serves a completion with max_tokens tokens and usage', async () => {
    const res = await post('/v1/completions', { model: MODEL, prompt: 'x'.repeat(400), max_tokens: 7 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      object: string;
      choices: { text: string; finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    expect(body.object).toBe('text_completion');
    expect(body.usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 7, total_tokens: 107 });
    expect(body.choices[0]?.text.split(' ')).toHaveLength(7);
    expect(body.choices[0]?.finish_reason).toBe('length');
  });

  it('streams chat completions as SSE, one chunk per token, with usage and [DONE]', async () => {
    const res = await post('/v1/chat/completions', {
      model: MODEL,
      messages: [{ role: 'user', content: 'Hello!' }],
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = await sse(res);
    expect(events[events.length - 1]).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
    const deltas = chunks.flatMap((c) =>
      (c.choices as { delta: { content?: string; role?: string } }[]).map((x) => x.delta),
    );
    expect(deltas[0]).toEqual({ role: 'assistant', content: '' });
    const text = deltas.map((d) => d.content ?? '').join('');
    expect(text.trim().split(' ')).toHaveLength(5);
    const usage = chunks[chunks.length - 1]?.usage as { completion_tokens: number; prompt_tokens: number };
    expect(usage.completion_tokens).toBe(5);
    expect(usage.prompt_tokens).toBe(2 + 4 + 2);
  });

  it('streams completions too and takes prompt token ids at face value', async () => {
    const res = await post('/v1/completions', {
      prompt: [1, 2, 3, 4, 5, 6],
      max_tokens: 3,
      stream: true,
      ignore_eos: true,
    });
    const events = await sse(res);
    expect(events[events.length - 1]).toBe('[DONE]');
    const finals = events
      .slice(0, -1)
      .map((e) => JSON.parse(e) as { choices: { finish_reason: string | null }[] })
      .filter((c) => c.choices[0]?.finish_reason !== null);
    expect(finals.map((c) => c.choices[0]?.finish_reason)).toEqual(['length']);
  });

  it('gives chat requests without max_tokens a natural length ending in stop', async () => {
    const res = await post('/v1/chat/completions', {
      messages: [{ role: 'user', content: 'Tell me a story.' }],
    });
    const body = (await res.json()) as {
      choices: { finish_reason: string }[];
      usage: { completion_tokens: number };
    };
    expect(body.choices[0]?.finish_reason).toBe('stop');
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
  });

  it("tells the engine's model-time TTFT only when asked: a trailer when streaming, a header otherwise", async () => {
    const streamed = await timedCompletion(true, true);
    const plain = await timedCompletion(false, true);
    // A ~300-token prefill on an A100 takes milliseconds of model time, never nothing.
    for (const v of [streamed.trailer, plain.header]) {
      expect(Number(v)).toBeGreaterThan(1);
      expect(Number(v)).toBeLessThan(1_000);
    }
    expect(streamed.header).toBeUndefined();
    expect(await timedCompletion(true, false)).toEqual({});
    expect(await timedCompletion(false, false)).toEqual({});
  });

  it('returns vLLM-shaped errors for bad requests', async () => {
    const wrongModel = await post('/v1/completions', { model: 'gpt-9', prompt: 'hi' });
    expect(wrongModel.status).toBe(404);
    expect(await wrongModel.json()).toMatchObject({ object: 'error', type: 'NotFoundError', code: 404 });
    const notJson = await post('/v1/completions', '{nope');
    expect(notJson.status).toBe(400);
    const noPrompt = await post('/v1/completions', { max_tokens: 3 });
    expect(noPrompt.status).toBe(400);
    expect(((await noPrompt.json()) as { message: string }).message).toMatch(/prompt/);
    const tooLong = await post('/v1/completions', { prompt: [1, 2, 3], max_tokens: 200_000 });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { message: string }).message).toMatch(
      /maximum context length is 131072/,
    );
    const minMax = await post('/v1/chat/completions', {
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 2,
      min_tokens: 5,
    });
    expect(minMax.status).toBe(400);
  });

  it('moves its /metrics counters and histograms with the traffic, in vLLM format', async () => {
    const before = (await metric('vllm:request_success_total', { finished_reason: 'length' })) ?? NaN;
    const genBefore = (await metric('vllm:generation_tokens_total')) ?? NaN;
    await Promise.all(
      Array.from({ length: 4 }, () =>
        post('/v1/completions', { prompt: 'y'.repeat(800), max_tokens: 10 }).then((r) => r.json()),
      ),
    );
    expect(await metric('vllm:request_success_total', { finished_reason: 'length' })).toBe(before + 4);
    expect(await metric('vllm:generation_tokens_total')).toBe(genBefore + 40);
    const page = parseExposition(await (await fetch(`${emu.url}/metrics`)).text());
    const ttft = findFamily(page, 'vllm:time_to_first_token_seconds')?.histograms?.[0];
    expect(ttft?.count).toBeGreaterThanOrEqual(4);
    expect(ttft?.sum).toBeGreaterThan(0);
    expect(findFamily(page, 'vllm:kv_cache_usage_perc')?.type).toBe('gauge');
    expect(findFamily(page, 'vllm:num_requests_running')?.samples[0]?.labels).toEqual({
      engine: '0',
      model_name: MODEL,
    });
  });

  it('hits the prefix cache for repeated prompts', async () => {
    const prompt = 'The same long system prompt. '.repeat(40);
    const hitsBefore = (await metric('vllm:prefix_cache_hits_total')) ?? NaN;
    await (await post('/v1/completions', { prompt, max_tokens: 2 })).json();
    await (await post('/v1/completions', { prompt, max_tokens: 2 })).json();
    expect(((await metric('vllm:prefix_cache_hits_total')) ?? NaN) - hitsBefore).toBeGreaterThan(200);
    expect(prefixHashIds('a'.repeat(128), 32)).toHaveLength(2);
  });

  it('aborts a streaming request when the client goes away', async () => {
    const abortsBefore = (await metric('vllm:request_success_total', { finished_reason: 'abort' })) ?? NaN;
    const ctl = new AbortController();
    const res = await post(
      '/v1/completions',
      { prompt: 'z', max_tokens: 100_000, stream: true },
      { signal: ctl.signal },
    );
    const reader = res.body?.getReader();
    await reader?.read();
    ctl.abort();
    await until(
      async () =>
        (await metric('vllm:request_success_total', { finished_reason: 'abort' })) === abortsBefore + 1,
    );
    await until(async () => (await metric('vllm:num_requests_running')) === 0);
  });
});

describe('emulator lifecycle', () => {
  it('reports not-ready during its startup delay and other metric dialects', async () => {
    const e = await startEmulator({
      gpu: 'L4',
      model: 'Llama-2-7B',
      metricsFormat: 'sglang',
      servedModelName: 'llama2-7b',
      startupDelayMs: 60_000,
    });
    try {
      expect((await fetch(`${e.url}/health`)).status).toBe(503);
      const r = await fetch(`${e.url}/v1/completions`, { method: 'POST', body: '{}' });
      expect(r.status).toBe(503);
      const page = await (await fetch(`${e.url}/metrics`)).text();
      expect(page).toContain('sglang:num_running_reqs{engine_type="unified",model_name="llama2-7b"');
      expect(page).not.toContain('vllm:');
    } finally {
      await e.close();
    }
  });

  it('closes with requests in flight and refuses bad options', async () => {
    const e = await startEmulator({ gpu: 'H100', model: 'Llama-3.1-8B' });
    const pending = fetch(`${e.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'q', max_tokens: 50_000 }),
    }).then(
      (r) => r.status,
      () => 'failed',
    );
    await until(async () => e.model.inFlight > 0);
    await e.close({ drainMs: 0 });
    expect(await pending).toBe('failed');
    await expect(fetch(`${e.url}/health`)).rejects.toThrow();
    await expect(startEmulator({ gpu: 'H100', model: 'Llama-3.1-8B', speedup: 0 })).rejects.toThrow(
      /speedup/,
    );
    await expect(startEmulator({ gpu: 'B200', model: 'Llama-3.1-8B' })).rejects.toThrow(/unknown GPU/);
  });
});
