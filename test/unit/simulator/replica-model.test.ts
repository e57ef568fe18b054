import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ReplicaModel,
  type ReplicaEvent,
  type ReplicaOptions,
  type RequestResult,
  type SimRequest,
  type StepRecord,
} from '../../../simulator/model/replica.js';

interface Run {
  model: ReplicaModel;
  steps: StepRecord[];
  events: ReplicaEvent[];
  results: Map<string | number, RequestResult>;
}

/** Drives a replica through `reqs` (sorted by arrival) the way the cluster simulator does. */
function drive(
  reqs: SimRequest[],
  opts: ReplicaOptions,
  gpu = 'L4',
  model = 'Llama-2-7B',
  check = true,
): Run {
  const steps: StepRecord[] = [];
  // The hook only runs once the engine steps, after `m` is initialised.
  const m: ReplicaModel = new ReplicaModel(gpu, model, {
    ...opts,
    onStep: (s) => {
      steps.push(s);
      if (check) m.checkInvariants();
    },
  });
  const events: ReplicaEvent[] = [];
  let i = 0;
  for (let guard = 0; guard < 10_000_000; guard++) {
    const a = i < reqs.length ? (reqs[i] as SimRequest).arrivalMs : Infinity;
    const e = m.nextEventTime() ?? Infinity;
    if (a === Infinity && e === Infinity) break;
    if (a <= e) {
      m.enqueue(reqs[i] as SimRequest, a);
      i++;
    } else {
      events.push(...m.advanceTo(e));
    }
  }
  events.push(...m.advanceTo(m.timeMs));
  const results = new Map<string | number, RequestResult>();
  for (const ev of events) if (ev.type === 'finished') results.set(ev.id, ev.result);
  return { model: m, steps, events, results };
}

function requests(
  specs: { gapMs: number; input: number; output: number; hashIds?: number[] }[],
): SimRequest[] {
  let t = 0;
  return specs.map((s, id) => {
    t += s.gapMs;
    const r: SimRequest = { id, arrivalMs: t, inputTokens: s.input, outputTokens: s.output };
    if (s.hashIds) r.hashIds = s.hashIds;
    return r;
  });
}

/** A small engine: 300 KV blocks (4,800 tokens), 512-token budget, 8 sequences. */
const TIGHT: ReplicaOptions = {
  numGpuBlocksOverride: 300,
  maxModelLen: 4096,
  maxNumBatchedTokens: 512,
  maxNumSeqs: 8,
  emitFirstTokenEvents: true,
};

/** Checks everything that must hold for any workload; returns the shadow admission log. */
function checkRun(run: Run, reqs: SimRequest[], opts: ReplicaOptions): void {
  const byId = new Map(reqs.map((r) => [r.id, r]));
  const budget = opts.maxNumBatchedTokens ?? run.model.deployment.maxNumBatchedTokens;
  // Tokens conserved: every request finishes once with exactly its output tokens.
  expect(run.results.size).toBe(reqs.length);
  let out = 0;
  let inp = 0;
  for (const r of reqs) {
    const res = run.results.get(r.id);
    expect(res, `request ${r.id} finished`).toBeDefined();
    expect(res?.outputTokens).toBe(r.outputTokens);
    out += r.outputTokens;
    inp += r.inputTokens;
  }
  const snap = run.model.snapshot();
  expect(snap.generationTokens).toBe(out);
  expect(snap.promptTokens).toBe(inp);
  expect(snap.running + snap.waiting + snap.pending).toBe(0);
  expect(snap.usedBlocks).toBe(0);

  // Shadow of vLLM's running list and waiting queue, updated from the step records.
  const finishAt = new Map<string | number, number>();
  for (const ev of run.events) if (ev.type === 'finished') finishAt.set(ev.id, ev.timeMs);
  let running: (string | number)[] = [];
  const preemptedOnce = new Set<string | number>();
  const firstAdmissions: (string | number)[] = [];
  const scheduledTokens = new Map<string | number, number>();
  for (const s of run.steps) {
    running = running.filter((id) => (finishAt.get(id) ?? Infinity) > s.startMs);
    // Chunked-prefill budget.
    expect(s.newTokens).toBeLessThanOrEqual(budget);
    expect(s.scheduled.reduce((a, x) => a + x.tokens, 0)).toBe(s.newTokens);
    // Preemption takes the newest running request first.
    for (const id of s.preempted) {
      expect(running[running.length - 1]).toBe(id);
      running.pop();
      preemptedOnce.add(id);
    }
    // Nothing is admitted in a step that preempted.
    if (s.preempted.length > 0) expect(s.admitted).toEqual([]);
    for (const id of s.admitted) {
      running.push(id);
      if (!firstAdmissions.includes(id)) firstAdmissions.push(id);
    }
    for (const x of s.scheduled) scheduledTokens.set(x.id, (scheduledTokens.get(x.id) ?? 0) + x.tokens);
    expect(s.usedBlocks).toBeLessThanOrEqual(s.totalBlocks);
  }
  // FIFO admission: first admissions follow arrival order.
  const order = [...firstAdmissions].sort(
    (a, b) => (byId.get(a)?.arrivalMs ?? 0) - (byId.get(b)?.arrivalMs ?? 0),
  );
  expect(firstAdmissions.map((id) => byId.get(id)?.arrivalMs)).toEqual(
    order.map((id) => byId.get(id)?.arrivalMs),
  );
  // Prefill covers the prompt after cache hits, decode covers the rest (requests never preempted).
  for (const r of reqs) {
    if (preemptedOnce.has(r.id)) continue;
    const res = run.results.get(r.id) as RequestResult;
    expect(scheduledTokens.get(r.id)).toBe(r.inputTokens - res.cachedTokens + r.outputTokens - 1);
  }
}

describe('ReplicaModel engine loop', () => {
  it('serves a single request: TTFT is one prefill step, ITL one decode step each', () => {
    const run = drive(requests([{ gapMs: 0, input: 512, output: 10 }]), {}, 'A100-80GB', 'Llama-3.1-8B');
    const r = run.results.get(0) as RequestResult;
    expect(r.outputTokens).toBe(10);
    expect(run.steps).toHaveLength(10);
    expect(run.steps[0]?.scheduled).toEqual([{ id: 0, tokens: 512, computedBefore: 0, decode: false }]);
    const first = run.steps[0] as StepRecord;
    expect(r.ttftMs).toBeCloseTo(first.endMs - first.startMs, 9);
    expect(r.e2eMs).toBeCloseTo((run.steps[9] as StepRecord).endMs, 9);
    expect(r.tpotMs).toBeCloseTo((r.e2eMs - r.ttftMs) / 9, 9);
    expect(r.queueMs).toBe(0);
    const first2 = run.events.findIndex((e) => e.type === 'first-token');
    const fin = run.events.findIndex((e) => e.type === 'finished');
    expect(first2).toBeGreaterThanOrEqual(0);
    expect(first2).toBeLessThan(fin);
  });

  it('splits a long prompt into budget-sized chunks and samples only after the last one', () => {
    const run = drive(requests([{ gapMs: 0, input: 1300, output: 2 }]), TIGHT);
    expect(run.steps.map((s) => s.newTokens)).toEqual([512, 512, 276, 1]);
    checkRun(run, requests([{ gapMs: 0, input: 1300, output: 2 }]), TIGHT);
  });

  it('batches requests that arrive at the same instant into one step', () => {
    const reqs = requests([
      { gapMs: 5, input: 100, output: 3 },
      { gapMs: 0, input: 100, output: 3 },
    ]);
    const run = drive(reqs, TIGHT);
    expect(run.steps[0]?.admitted).toEqual([0, 1]);
  });

  it('caps running requests at max_num_seqs and queues the rest FCFS', () => {
    const reqs = requests(Array.from({ length: 12 }, () => ({ gapMs: 0, input: 10, output: 5 })));
    const run = drive(reqs, TIGHT);
    expect(run.steps[0]?.admitted).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(run.steps[0]?.waiting).toBe(4);
    checkRun(run, reqs, TIGHT);
  });

  it('preempts the newest running request when KV blocks run out, and finishes everything', () => {
    // 8 requests of 500 + 400 tokens need 8 * 57 blocks > 300: decode growth must preempt.
    const reqs = requests(Array.from({ length: 8 }, () => ({ gapMs: 1, input: 500, output: 400 })));
    const run = drive(reqs, TIGHT);
    const preempted = run.steps.flatMap((s) => s.preempted);
    expect(preempted.length).toBeGreaterThan(0);
    expect(run.model.snapshot().preemptions).toBe(preempted.length);
    const res = [...run.results.values()];
    expect(res.reduce((a, r) => a + r.preemptions, 0)).toBe(preempted.length);
    checkRun(run, reqs, TIGHT);
  });

  it('rejects requests longer than the max model length, like vLLM (HTTP 400)', () => {
    const m = new ReplicaModel('L4', 'Llama-2-7B', TIGHT);
    m.enqueue({ id: 'big', arrivalMs: 0, inputTokens: 4000, outputTokens: 200 }, 0);
    const ev = m.advanceTo(0);
    expect(ev).toEqual([expect.objectContaining({ type: 'rejected', id: 'big' })]);
    expect(m.snapshot().rejected).toBe(1);
    expect(m.nextEventTime()).toBeUndefined();
  });

  it('refuses zero output tokens like vLLM refuses max_tokens=0', () => {
    const m = new ReplicaModel('L4', 'Llama-2-7B', TIGHT);
    m.enqueue({ id: 'z', arrivalMs: 0, inputTokens: 10, outputTokens: 0 }, 0);
    expect(m.advanceTo(0)).toEqual([expect.objectContaining({ type: 'rejected', id: 'z' })]);
  });

  it('refuses malformed requests and backwards time with a clear error', () => {
    const m = new ReplicaModel('L4', 'Llama-2-7B');
    expect(() => m.enqueue({ id: 1, arrivalMs: 0, inputTokens: 0, outputTokens: 5 }, 0)).toThrow(
      /inputTokens/,
    );
    expect(() => m.enqueue({ id: 2, arrivalMs: 0, inputTokens: 5, outputTokens: 1.5 }, 0)).toThrow(
      /outputTokens/,
    );
    m.advanceTo(100);
    expect(() => m.advanceTo(50)).toThrow(/cannot go back/);
  });

  it('reuses cached prefixes: the second request with the same hash ids computes only the tail', () => {
    const ids = [11, 12, 13];
    const reqs = requests([
      { gapMs: 0, input: 1500, output: 4, hashIds: ids },
      { gapMs: 5000, input: 1500, output: 4, hashIds: ids },
    ]);
    const opts: ReplicaOptions = { ...TIGHT, maxNumBatchedTokens: 2048, prefixBlockTokens: 512 };
    const run = drive(reqs, opts);
    // Segments of 512, 512 and 476 tokens: the last is not a whole number of 16-token blocks.
    expect(run.results.get(1)?.cachedTokens).toBe(1024);
    const snap = run.model.snapshot();
    expect(snap.prefixHits).toBe(1024);
    expect(snap.prefixQueries).toBe(3000);
    checkRun(run, reqs, opts);
    const page = run.model.renderMetrics('vllm-v1');
    expect(page).toContain(
      'vllm:prefix_cache_hits_total{engine="0",model_name="meta-llama/Llama-2-7b-hf"} 1024.0',
    );
  });

  it('aborts a running request at the next step boundary and frees its KV', () => {
    const m = new ReplicaModel('L4', 'Llama-2-7B', { ...TIGHT, emitTokenEvents: true });
    m.enqueue({ id: 'a', arrivalMs: 0, inputTokens: 100, outputTokens: 1000 }, 0);
    m.advanceTo(0);
    const t = m.nextEventTime() as number;
    m.advanceTo(t + 1);
    expect(m.abort('a', t + 1)).toBe(true);
    expect(m.abort('missing', t + 1)).toBe(false);
    m.advanceTo((m.nextEventTime() as number) + 1);
    m.checkInvariants();
    const s = m.snapshot();
    expect(s.finished.abort).toBe(1);
    expect(s.running).toBe(0);
    expect(s.usedBlocks).toBe(0);
  });

  it('holds a request in the frontend for frontendMs before it can be scheduled', () => {
    const run = drive(requests([{ gapMs: 100, input: 64, output: 2 }]), { ...TIGHT, frontendMs: 20 });
    expect(run.steps[0]?.startMs).toBe(120);
    const r = run.results.get(0) as RequestResult;
    expect(r.queueMs).toBe(0);
    expect(r.ttftMs).toBeGreaterThan(20);
  });

  it('keeps its invariants on random workloads (KV, tokens, preemption order, budget, FIFO)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gapMs: fc.integer({ min: 0, max: 400 }),
            input: fc.integer({ min: 1, max: 2500 }),
            output: fc.integer({ min: 1, max: 600 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(64, 256, 512, 2048),
        (specs, seqs, budget) => {
          const opts: ReplicaOptions = { ...TIGHT, maxNumSeqs: seqs, maxNumBatchedTokens: budget };
          const reqs = requests(specs.map((s) => ({ ...s, output: Math.min(s.output, 4096 - s.input) })));
          checkRun(drive(reqs, opts), reqs, opts);
        },
      ),
      { numRuns: 40, seed: 20261124 },
    );
  });

  it('keeps its invariants with shared prefixes and cache eviction', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gapMs: fc.integer({ min: 0, max: 300 }),
            group: fc.integer({ min: 0, max: 3 }),
            segments: fc.integer({ min: 1, max: 30 }),
            tail: fc.integer({ min: 1, max: 63 }),
            output: fc.integer({ min: 1, max: 200 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (specs) => {
          const opts: ReplicaOptions = { ...TIGHT, prefixBlockTokens: 64, maxNumBatchedTokens: 1024 };
          let unique = 1000;
          const reqs = requests(
            specs.map((s) => {
              // Group g shares its first 10 segments; the rest (and the partial tail) are unique.
              const ids = Array.from({ length: s.segments + 1 }, (_, k) =>
                k < 10 ? s.group * 100 + k : unique++,
              );
              return { gapMs: s.gapMs, input: s.segments * 64 + s.tail, output: s.output, hashIds: ids };
            }),
          );
          checkRun(drive(reqs, opts), reqs, opts);
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });

  it('is deterministic: the same workload gives the same timings', () => {
    const reqs = requests(
      Array.from({ length: 30 }, (_, i) => ({ gapMs: (i * 37) % 90, input: 300 + i * 41, output: 50 + i })),
    );
    const a = drive(reqs, TIGHT, 'L4', 'Llama-2-7B', false);
    const b = drive(reqs, TIGHT, 'L4', 'Llama-2-7B', false);
    expect([...a.results.values()]).toEqual([...b.results.values()]);
  });
});
