/**
 * Regenerates test/fixtures/metrics/{vllm-v1,vllm-v0,sglang,multi-model}.txt:
 *   npx tsx test/unit/metrics/support/gen-fixtures.ts
 * The values are deterministic; tests assert on them (see fixtures.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  newEngine,
  renderSglang,
  renderVllmV0,
  renderVllmV1,
  serveRequests,
  type EngineState,
} from './vllm-page.js';

const dir = fileURLToPath(new URL('../../../fixtures/metrics/', import.meta.url));

export function fixtureEngine(
  model = 'meta-llama/Llama-3.1-8B-Instruct',
  engine = '0',
  requests = 1200,
): EngineState {
  const e = newEngine(model, engine);
  serveRequests(e, requests, 3);
  e.running = 12;
  e.waiting = 3;
  e.kvUsage = 0.4213;
  e.preemptions = 7;
  return e;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(dir + 'vllm-v1.txt', renderVllmV1([fixtureEngine()]));
  writeFileSync(dir + 'vllm-v0.txt', renderVllmV0([fixtureEngine()]));
  writeFileSync(dir + 'sglang.txt', renderSglang([fixtureEngine()]));
  const qwen0 = fixtureEngine('Qwen/Qwen2.5-7B-Instruct', '0', 500);
  qwen0.running = 4;
  qwen0.waiting = 0;
  qwen0.kvUsage = 0.25;
  const qwen1 = fixtureEngine('Qwen/Qwen2.5-7B-Instruct', '1', 300);
  qwen1.running = 6;
  qwen1.waiting = 1;
  qwen1.kvUsage = 0.35;
  writeFileSync(dir + 'multi-model.txt', renderVllmV1([fixtureEngine(), qwen0, qwen1]));
}
