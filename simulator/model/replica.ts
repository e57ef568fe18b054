/**
 * One vLLM V1 replica as a deterministic, event-driven state machine (docs/simulator-model.md).
 *
 * A virtual clock drives it: `enqueue` hands it requests, `nextEventTime` says when its state next
 * changes on its own, `advanceTo` runs the engine loop up to a time and returns what happened.
 * The loop is vLLM V1's scheduler, one engine step at a time: running requests first (a decode is
 * one token, an unfinished prefill takes what is left of the token budget), then waiting requests
 * FCFS with chunked prefill while `max_num_seqs` and the KV blocks allow; when a running request
 * cannot get a block, the newest running request is preempted (recompute) and put back at the front
 * of the waiting queue. Each step lasts what the roofline (roofline.ts) says for its batch. Work per
 * step is O(batch); nothing is allocated per token unless token events are asked for.
 */
import type { Deployment, DeploymentOptions, GpuSpec, ModelSpec } from './hardware.js';
import { gpuSpec, modelSpec, resolveDeployment } from './hardware.js';
import { KvBlockPool, type CacheEntry } from './kv-cache.js';
import { StepCostModel } from './roofline.js';
import {
  collectFamilies,
  ReplicaStats,
  type FinishReason,
  type MetricsFormat,
  type MetricsView,
  type RenderOptions,
} from './metrics.js';
import { renderExposition, type MetricFamily } from './exposition.js';

/** A request as the replica sees it. */
export interface SimRequest {
  id: string | number;
  /** When the request reached the server (TTFT and E2E are measured from here), ms. */
  arrivalMs: number;
  inputTokens: number;
  /** Tokens the request will generate before it stops (0 is refused, as vLLM refuses max_tokens=0). */
  outputTokens: number;
  /** Prefix-block identities (e.g. Mooncake `hash_ids`), each covering `prefixBlockTokens` prompt tokens. */
  hashIds?: readonly number[];
  /** The client's `max_tokens`, when it sent one (feeds `vllm:request_params_max_tokens`). */
  maxTokens?: number;
  /** Why the request ends after `outputTokens`: EOS (`stop`, default) or the max_tokens cap (`length`). */
  finishReason?: 'stop' | 'length';
}

/** Per-request outcome, in ms. */
export interface RequestResult {
  id: string | number;
  arrivalMs: number;
  inputTokens: number;
  outputTokens: number;
  /** Prompt tokens served from the prefix cache at first scheduling. */
  cachedTokens: number;
  finishReason: FinishReason;
  /** Arrival to first token. */
  ttftMs: number;
  /** Arrival to last token. */
  e2eMs: number;
  /** From reaching the engine queue (arrival + frontend delay) to the first scheduling. */
  queueMs: number;
  /** First scheduling to first token. */
  prefillMs: number;
  /** First token to last token. */
  decodeMs: number;
  /** Mean inter-token latency: decode time / (output tokens - 1), 0 for one token. */
  tpotMs: number;
  preemptions: number;
}

export type ReplicaEvent =
  | { type: 'first-token'; id: string | number; timeMs: number; ttftMs: number }
  /** Only with `emitTokenEvents`: `count` new tokens, `total` generated so far. */
  | { type: 'tokens'; id: string | number; timeMs: number; count: number; total: number }
  | { type: 'finished'; id: string | number; timeMs: number; result: RequestResult }
  /** The server refused the request (vLLM answers HTTP 400), e.g. longer than max model len. */
  | { type: 'rejected'; id: string | number; timeMs: number; reason: string };

/** What one engine step did, for the `onStep` hook (tests, tracing). */
export interface StepRecord {
  startMs: number;
  endMs: number;
  /** Requests in the step, in scheduling order. */
  scheduled: { id: string | number; tokens: number; computedBefore: number; decode: boolean }[];
  /** Admitted from the waiting queue in this step, in order. */
  admitted: (string | number)[];
  /** Preempted while scheduling this step, in order. */
  preempted: (string | number)[];
  newTokens: number;
  usedBlocks: number;
  totalBlocks: number;
  running: number;
  waiting: number;
}

export interface ReplicaOptions extends DeploymentOptions {
  /** `--served-model-name`; default the model's Hugging Face id. */
  servedModelName?: string;
  /** V1 default true. */
  enablePrefixCaching?: boolean;
  /** Prompt tokens per entry of `hashIds` (Mooncake: 512). */
  prefixBlockTokens?: number;
  /** Delay between arrival and the request reaching the engine's queue (tokenisation, IPC), ms. */
  frontendMs?: number;
  /** Emit `first-token` events (default true). */
  emitFirstTokenEvents?: boolean;
  /** Emit a `tokens` event per request per step (default false; the emulator streams with it). */
  emitTokenEvents?: boolean;
  /** The clock value at creation (`_created` samples are `startMs / 1000`). Default 0. */
  startMs?: number;
  /** Called after each step is scheduled. Costs allocation; leave unset in long simulations. */
  onStep?: (step: StepRecord) => void;
}

/** Point-in-time state and totals. */
export interface ReplicaSnapshot {
  timeMs: number;
  running: number;
  /** Engine waiting queue, preempted requests included (`vllm:num_requests_waiting`). */
  waiting: number;
  /** Arrived but still in the frontend delay. */
  pending: number;
  kvUsage: number;
  usedBlocks: number;
  numGpuBlocks: number;
  busy: boolean;
  promptTokens: number;
  generationTokens: number;
  preemptions: number;
  prefixQueries: number;
  prefixHits: number;
  finished: Record<FinishReason, number>;
  rejected: number;
  steps: number;
}

const NO_EVENTS: readonly ReplicaEvent[] = Object.freeze([]);

const enum Status {
  Pending,
  Waiting,
  Running,
  Done,
}

class Req {
  numTokens: number;
  computed = 0;
  generated = 0;
  privateTokens = 0;
  privateBlocks = 0;
  shared: CacheEntry[] = [];
  canRegister = true;
  readyMs: number;
  scheduledMs = -1;
  firstTokenMs = -1;
  lastTokenMs = -1;
  cachedTokens = -1;
  fullHit = false;
  preemptions = 0;
  status = Status.Pending;
  aborted = false;
  stepTokens = 0;
  constructor(
    readonly id: string | number,
    readonly arrivalMs: number,
    readonly prompt: number,
    readonly target: number,
    readonly hashIds: readonly number[] | undefined,
    readonly maxTokens: number | undefined,
    readonly reason: 'stop' | 'length',
    readyMs: number,
  ) {
    this.numTokens = prompt;
    this.readyMs = readyMs;
  }
}

function checkCount(name: string, v: number, id: string | number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new Error(`request ${String(id)}: ${name} must be an integer >= 1, got ${String(v)}`);
  }
}

export class ReplicaModel {
  readonly deployment: Deployment;
  readonly servedModelName: string;
  readonly stats: ReplicaStats;
  private readonly cost: StepCostModel;
  private readonly pool: KvBlockPool;
  private readonly bs: number;
  private readonly prefixCaching: boolean;
  private readonly prefixBlockTokens: number;
  private readonly frontendMs: number;
  private readonly emitFirst: boolean;
  private readonly emitTokens: boolean;
  private readonly onStep: ((s: StepRecord) => void) | undefined;
  private readonly startMs: number;

  private now: number;
  private readonly pending: Req[] = [];
  private pendingHead = 0;
  private readonly waitQ: Req[] = [];
  private waitHead = 0;
  /** Preempted requests, most recently prepended last (vLLM `prepend_request`). */
  private readonly front: Req[] = [];
  private running: Req[] = [];
  private spare: Req[] = [];
  private readonly stepReqs: Req[] = [];
  private stepN = 0;
  private busy = false;
  private stepStart = 0;
  private stepEnd = 0;
  /** Idle with work queued: the engine wakes at this time. */
  private wakeAt: number | undefined;
  private events: ReplicaEvent[] = [];
  private readonly byId = new Map<string | number, Req>();
  private readonly aborts: Req[] = [];
  private rejected = 0;
  private steps = 0;
  private readonly hitScratch: CacheEntry[] = [];
  private lastLookupFull = false;
  // Generated tokens per second over the last 10 s (SGLang gen_throughput).
  private readonly genSec = new Float64Array(10);
  private readonly genSecStamp = new Float64Array(10).fill(-1);

  constructor(gpu: GpuSpec | string, model: ModelSpec | string, opts: ReplicaOptions = {}) {
    const g = typeof gpu === 'string' ? gpuSpec(gpu) : gpu;
    const m = typeof model === 'string' ? modelSpec(model) : model;
    this.deployment = resolveDeployment(g, m, opts);
    this.servedModelName = opts.servedModelName ?? m.hfId;
    this.cost = new StepCostModel(g, m, this.deployment.tp, this.deployment.shape);
    this.pool = new KvBlockPool(this.deployment.numGpuBlocks);
    this.bs = this.deployment.blockSize;
    this.prefixCaching = opts.enablePrefixCaching ?? true;
    this.prefixBlockTokens = opts.prefixBlockTokens ?? 512;
    if (!Number.isInteger(this.prefixBlockTokens) || this.prefixBlockTokens < 1) {
      throw new Error(`prefixBlockTokens must be a positive integer, got ${this.prefixBlockTokens}`);
    }
    this.frontendMs = opts.frontendMs ?? 0;
    if (!(this.frontendMs >= 0)) throw new Error(`frontendMs must be >= 0, got ${this.frontendMs}`);
    this.emitFirst = opts.emitFirstTokenEvents ?? true;
    this.emitTokens = opts.emitTokenEvents ?? false;
    this.onStep = opts.onStep;
    this.startMs = opts.startMs ?? 0;
    this.now = this.startMs;
    this.stats = new ReplicaStats(this.deployment.maxModelLen);
  }

  /** Duration of one step for a given batch shape (exposed for calibration and planning). */
  get stepCost(): StepCostModel {
    return this.cost;
  }

  get timeMs(): number {
    return this.now;
  }

  /** `vllm:num_requests_running`, without building a snapshot. */
  get numRunning(): number {
    return this.running.length;
  }

  /** `vllm:num_requests_waiting`, without building a snapshot. */
  get numWaiting(): number {
    return this.waitingCount();
  }

  /** `vllm:kv_cache_usage_perc` (0-1), without building a snapshot. */
  get kvCacheUsage(): number {
    return this.pool.used / this.pool.total;
  }

  /** Requests not finished yet: in the frontend, waiting or running. */
  get inFlight(): number {
    return this.pendingCount() + this.waitingCount() + this.running.length;
  }

  /**
   * Hands a request to the replica at `nowMs` (>= the last time it was advanced to). Events due
   * strictly before `nowMs` are processed first and kept for the next `advanceTo`. Throws on a
   * malformed request (non-integer or negative counts, no input); a request vLLM would refuse
   * (0 output tokens, longer than max model len) yields a `rejected` event.
   */
  enqueue(req: SimRequest, nowMs: number): void {
    this.run(nowMs, false);
    checkCount('inputTokens', req.inputTokens, req.id);
    if (!Number.isInteger(req.outputTokens) || req.outputTokens < 0) {
      throw new Error(
        `request ${String(req.id)}: outputTokens must be an integer >= 0, got ${String(req.outputTokens)}`,
      );
    }
    const maxLen = this.deployment.maxModelLen;
    if (req.outputTokens === 0) {
      this.rejected++;
      this.events.push({
        type: 'rejected',
        id: req.id,
        timeMs: nowMs,
        reason: 'max_tokens must be at least 1, got 0.',
      });
      return;
    }
    if (req.inputTokens + req.outputTokens > maxLen) {
      this.rejected++;
      this.events.push({
        type: 'rejected',
        id: req.id,
        timeMs: nowMs,
        reason:
          `This model's maximum context length is ${maxLen} tokens. However, you requested ` +
          `${req.inputTokens + req.outputTokens} tokens (${req.inputTokens} in the messages, ` +
          `${req.outputTokens} in the completion).`,
      });
      return;
    }
    const r = new Req(
      req.id,
      req.arrivalMs,
      req.inputTokens,
      req.outputTokens,
      this.prefixCaching && req.hashIds && req.hashIds.length > 0 ? req.hashIds : undefined,
      req.maxTokens,
      req.finishReason ?? 'stop',
      nowMs + this.frontendMs,
    );
    this.byId.set(r.id, r);
    if (this.frontendMs > 0) {
      this.pending.push(r);
    } else {
      this.toWaiting(r);
    }
    if (!this.busy) this.wake(r.readyMs);
  }

  /** Aborts a request (client went away). Takes effect at the next step boundary. */
  abort(id: string | number, nowMs: number): boolean {
    this.run(nowMs, false);
    const r = this.byId.get(id);
    if (!r || r.status === Status.Done || r.aborted) return false;
    r.aborted = true;
    this.aborts.push(r);
    if (!this.busy) this.wake(nowMs);
    return true;
  }

  /** When the replica's state next changes without new input, or undefined when idle. */
  nextEventTime(): number | undefined {
    if (this.busy) return this.stepEnd;
    return this.wakeAt;
  }

  /** Runs the engine loop through `nowMs` (inclusive) and returns the events since the last call. */
  advanceTo(nowMs: number): readonly ReplicaEvent[] {
    this.run(nowMs, true);
    const out = this.events;
    if (out.length === 0) return NO_EVENTS;
    this.events = [];
    return out;
  }

  snapshot(): ReplicaSnapshot {
    const s = this.stats;
    return {
      timeMs: this.now,
      running: this.running.length,
      waiting: this.waitingCount(),
      pending: this.pendingCount(),
      kvUsage: this.pool.used / this.pool.total,
      usedBlocks: this.pool.used,
      numGpuBlocks: this.pool.total,
      busy: this.busy,
      promptTokens: s.promptTokens,
      generationTokens: s.generationTokens,
      preemptions: s.preemptions,
      prefixQueries: s.prefixQueries,
      prefixHits: s.prefixHits,
      finished: { ...s.success },
      rejected: this.rejected,
      steps: this.steps,
    };
  }

  /** Metric families in a dialect (structured; `renderMetrics` is its text form). */
  collectMetrics(
    format: MetricsFormat = 'vllm-v1',
    opts: RenderOptions & { nowMs?: number } = {},
  ): MetricFamily[] {
    return collectFamilies(format, this.metricsView(opts.nowMs ?? this.now), opts);
  }

  /** The `/metrics` page in a dialect, as of the last step. */
  renderMetrics(format: MetricsFormat = 'vllm-v1', opts: RenderOptions & { nowMs?: number } = {}): string {
    return renderExposition(this.collectMetrics(format, opts));
  }

  /**
   * Recomputes the block accounting from the requests and throws on any inconsistency: KV over
   * capacity, blocks not matching tokens, shared entries miscounted, waiting requests holding KV,
   * too many running requests. O(requests); for tests.
   */
  checkInvariants(): void {
    const pool = this.pool;
    const bs = this.bs;
    const fail = (msg: string): never => {
      throw new Error(`replica invariant violated at ${this.now} ms: ${msg}`);
    };
    if (pool.free < 0 || pool.evictable < 0 || pool.used < 0 || pool.used > pool.total) {
      fail(`blocks free ${pool.free}, evictable ${pool.evictable}, used ${pool.used} of ${pool.total}`);
    }
    if (this.running.length > this.deployment.maxNumSeqs) {
      fail(`${this.running.length} running > max_num_seqs ${this.deployment.maxNumSeqs}`);
    }
    const refs = new Map<CacheEntry, number>();
    let held = 0;
    for (const r of this.running) {
      if (r.status !== Status.Running) fail(`request ${String(r.id)} in the running list is not running`);
      if (r.privateBlocks !== Math.ceil(r.privateTokens / bs)) {
        fail(`request ${String(r.id)}: ${r.privateBlocks} private blocks for ${r.privateTokens} tokens`);
      }
      let sharedTokens = 0;
      for (const e of r.shared) {
        sharedTokens += e.tokens;
        refs.set(e, (refs.get(e) ?? 0) + 1);
      }
      if (sharedTokens + r.privateTokens !== r.computed) {
        fail(
          `request ${String(r.id)}: ${sharedTokens} shared + ${r.privateTokens} private != ${r.computed} computed`,
        );
      }
      if (r.computed > r.numTokens)
        fail(`request ${String(r.id)}: computed ${r.computed} > ${r.numTokens} tokens`);
      held += r.privateBlocks;
    }
    let evictable = 0;
    for (const e of pool.entriesForCheck()) {
      const n = refs.get(e) ?? 0;
      if (e.refs !== n) fail(`cache entry ${e.id}: refs ${e.refs}, held by ${n} running requests`);
      if (n > 0) held += e.blocks;
      else evictable += e.blocks;
    }
    if (held !== pool.used) fail(`requests hold ${held} blocks, pool says ${pool.used} used`);
    if (evictable !== pool.evictable) fail(`evictable ${pool.evictable}, entries say ${evictable}`);
    const waiting = [...this.front, ...this.waitQ.slice(this.waitHead)];
    for (const r of waiting) {
      if (r.computed !== 0 || r.privateBlocks !== 0 || r.shared.length !== 0) {
        fail(`waiting request ${String(r.id)} holds KV (computed ${r.computed})`);
      }
    }
  }

  // --- engine loop ----------------------------------------------------------------------------

  private metricsView(nowMs: number): MetricsView {
    return {
      modelName: this.servedModelName,
      running: this.running.length,
      waiting: this.waitingCount(),
      kvUsage: this.pool.used / this.pool.total,
      usedBlocks: this.pool.used,
      numGpuBlocks: this.pool.total,
      blockSize: this.bs,
      gpuMemoryUtilization: this.deployment.gpuMemoryUtilization,
      createdSec: this.startMs / 1000,
      genThroughput: this.genThroughput(nowMs),
      stats: this.stats,
    };
  }

  private genThroughput(nowMs: number): number {
    const sec = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let i = 0; i < 10; i++) {
      const stamp = this.genSecStamp[i] as number;
      if (stamp > sec - 10 && stamp <= sec) sum += this.genSec[i] as number;
    }
    return sum / 10;
  }

  private recordGenerated(timeMs: number, n: number): void {
    const sec = Math.floor(timeMs / 1000);
    const slot = sec % 10;
    if (this.genSecStamp[slot] !== sec) {
      this.genSecStamp[slot] = sec;
      this.genSec[slot] = 0;
    }
    this.genSec[slot] = (this.genSec[slot] as number) + n;
  }

  private pendingCount(): number {
    return this.pending.length - this.pendingHead;
  }

  private waitingCount(): number {
    return this.waitQ.length - this.waitHead + this.front.length;
  }

  private wake(t: number): void {
    if (this.wakeAt === undefined || t < this.wakeAt) this.wakeAt = t;
  }

  private toWaiting(r: Req): void {
    r.status = Status.Waiting;
    this.waitQ.push(r);
  }

  private peekWaiting(): Req | undefined {
    if (this.front.length > 0) return this.front[this.front.length - 1];
    return this.waitHead < this.waitQ.length ? this.waitQ[this.waitHead] : undefined;
  }

  private popWaiting(): void {
    if (this.front.length > 0) {
      this.front.pop();
      return;
    }
    this.waitQ[this.waitHead] = undefined as unknown as Req;
    this.waitHead++;
    if (this.waitHead > 4096 && this.waitHead * 2 > this.waitQ.length) {
      this.waitQ.splice(0, this.waitHead);
      this.waitHead = 0;
    }
  }

  /** Moves frontend-delayed requests that are ready by `t` into the waiting queue. */
  private admitPending(t: number): void {
    while (this.pendingHead < this.pending.length) {
      const r = this.pending[this.pendingHead] as Req;
      if (r.readyMs > t) break;
      this.pendingHead++;
      if (!r.aborted) this.toWaiting(r);
    }
    if (this.pendingHead > 4096 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
  }

  private nextPendingReady(): number | undefined {
    return this.pendingHead < this.pending.length
      ? (this.pending[this.pendingHead] as Req).readyMs
      : undefined;
  }

  private run(t: number, inclusive: boolean): void {
    if (t < this.now) {
      throw new Error(`replica clock cannot go back: asked for ${t} ms, already at ${this.now} ms`);
    }
    for (;;) {
      if (this.busy) {
        if (this.stepEnd < t || (inclusive && this.stepEnd === t)) {
          this.completeStep();
          continue;
        }
        break;
      }
      const w = this.wakeAt;
      if (w !== undefined && (w < t || (inclusive && w === t))) {
        this.wakeAt = undefined;
        this.now = Math.max(this.now, w);
        this.admitPending(this.now);
        this.startStep();
        continue;
      }
      break;
    }
    this.now = t;
  }

  /** Schedules a step at `this.now`; leaves the engine idle when there is nothing to run. */
  private startStep(): void {
    this.processAborts();
    const nowMs = this.now;
    const budgetMax = this.deployment.maxNumBatchedTokens;
    const bs = this.bs;
    const pool = this.pool;
    const running = this.running;
    const rec = this.onStep
      ? ({ scheduled: [], admitted: [], preempted: [] } as Pick<
          StepRecord,
          'scheduled' | 'admitted' | 'preempted'
        >)
      : undefined;
    let budget = budgetMax;
    let preemptedAny = false;
    let newTokens = 0;
    let sampled = 0;
    let kvRead = 0;
    let pairs = 0;
    const step = this.stepReqs;
    let stepN = 0;
    this.stats.lastStepPreemptions = 0;

    // 1. Running requests, in admission order.
    let i = 0;
    while (i < running.length && budget > 0) {
      const r = running[i] as Req;
      const want = r.numTokens - r.computed;
      const n = want < budget ? want : budget;
      let ok = false;
      for (;;) {
        const need = Math.ceil((r.privateTokens + n) / bs) - r.privateBlocks;
        if (need <= 0 || pool.allocate(need)) {
          if (need > 0) r.privateBlocks += need;
          ok = true;
          break;
        }
        const victim = running.pop() as Req;
        this.preempt(victim);
        preemptedAny = true;
        if (rec) rec.preempted.push(victim.id);
        if (victim === r) break;
      }
      if (!ok) break;
      const before = r.computed;
      if (rec)
        rec.scheduled.push({
          id: r.id,
          tokens: n,
          computedBefore: before,
          decode: r.generated > 0 && n === 1,
        });
      r.stepTokens = n;
      r.computed = before + n;
      r.privateTokens += n;
      step[stepN++] = r;
      budget -= n;
      newTokens += n;
      kvRead += before;
      pairs += n === 1 ? before + 1 : n * (before + (n + 1) / 2);
      if (r.computed === r.numTokens) sampled++;
      if (r.hashIds && r.canRegister) this.registerSegments(r);
      i++;
    }

    // 2. Waiting requests, FCFS, only if nothing was preempted (vLLM skips admission then).
    if (!preemptedAny) {
      const maxSeqs = this.deployment.maxNumSeqs;
      while (budget > 0 && running.length < maxSeqs) {
        const r = this.peekWaiting();
        if (r === undefined) break;
        const hits = this.hitScratch;
        this.lastLookupFull = false;
        let hitTokens = 0;
        if (r.hashIds) {
          hits.length = 0;
          hitTokens = this.lookupHits(r, hits);
        } else if (hits.length > 0) {
          hits.length = 0;
        }
        const want = r.numTokens - hitTokens;
        const n = want < budget ? want : budget;
        const need = Math.ceil(n / bs);
        let reclaimed = 0;
        for (const e of hits) if (e.refs === 0) reclaimed += e.blocks;
        if (pool.free + pool.evictable - reclaimed < need) break; // head-of-line blocking, as FCFS
        for (const e of hits) pool.acquire(e);
        pool.allocate(need);
        this.popWaiting();
        r.status = Status.Running;
        r.shared = hits.length > 0 ? hits.slice() : [];
        r.privateBlocks = need;
        r.privateTokens = n;
        r.computed = hitTokens + n;
        r.stepTokens = n;
        if (this.prefixCaching) {
          this.stats.prefixQueries += r.numTokens;
          this.stats.prefixHits += hitTokens;
        }
        if (r.scheduledMs < 0) {
          r.scheduledMs = nowMs;
          r.cachedTokens = hitTokens;
          r.fullHit = this.lastLookupFull;
        }
        running.push(r);
        if (rec) {
          rec.admitted.push(r.id);
          rec.scheduled.push({ id: r.id, tokens: n, computedBefore: hitTokens, decode: false });
        }
        step[stepN++] = r;
        budget -= n;
        newTokens += n;
        kvRead += hitTokens;
        pairs += n * (hitTokens + (n + 1) / 2);
        if (r.computed === r.numTokens) sampled++;
        if (r.hashIds && r.canRegister) this.registerSegments(r);
      }
    }

    this.stepN = stepN;
    if (stepN === 0) {
      if (this.waitingCount() > 0) {
        // Cannot happen for requests within max model len (which always fit alone); fail loudly
        // rather than stall the simulation silently.
        throw new Error(
          `replica engine stalled at ${nowMs} ms: ${this.waitingCount()} waiting, ${running.length} running, ` +
            `${pool.free} free / ${pool.evictable} evictable of ${pool.total} blocks`,
        );
      }
      this.busy = false;
      const p = this.nextPendingReady();
      if (p !== undefined) this.wake(p);
      return;
    }
    const dur = this.cost.stepMsOf(newTokens, sampled, kvRead, pairs);
    this.busy = true;
    this.stepStart = nowMs;
    this.stepEnd = nowMs + dur;
    this.steps++;
    if (rec && this.onStep) {
      this.onStep({
        startMs: nowMs,
        endMs: this.stepEnd,
        ...rec,
        newTokens,
        usedBlocks: pool.used,
        totalBlocks: pool.total,
        running: running.length,
        waiting: this.waitingCount(),
      });
    }
  }

  /** Leading prompt segments of `r` found in the cache (at most numTokens - 1 tokens, as vLLM). */
  private lookupHits(r: Req, out: CacheEntry[]): number {
    const ids = r.hashIds as readonly number[];
    const H = this.prefixBlockTokens;
    const limit = r.numTokens - 1;
    let tokens = 0;
    for (let k = 0; k < ids.length; k++) {
      const end = Math.min((k + 1) * H, r.prompt);
      const e = this.pool.lookup(ids[k] as number);
      if (e === undefined || e.tokens !== end - k * H) break;
      if (end > limit) {
        // The whole prompt is cached; vLLM still recomputes its last token.
        this.lastLookupFull = true;
        break;
      }
      out.push(e);
      tokens = end;
    }
    return tokens;
  }

  /**
   * Publishes the prompt segments `r` has computed so far as cache entries (vLLM caches full blocks
   * when it allocates them). Stops at the first segment that is partial or already cached by
   * another request, so that a request's shared entries always form a prefix.
   */
  private registerSegments(r: Req): void {
    const ids = r.hashIds as readonly number[];
    const H = this.prefixBlockTokens;
    const bs = this.bs;
    for (let k = r.shared.length; k < ids.length; k++) {
      const start = k * H;
      const end = Math.min(start + H, r.prompt);
      if (end > r.computed) return;
      const len = end - start;
      if (len <= 0 || len % bs !== 0) {
        // Past the prompt (more ids than segments) or a partial block: stop sharing here.
        r.canRegister = false;
        return;
      }
      const e = this.pool.register(ids[k] as number, len / bs, len);
      if (e === undefined) {
        r.canRegister = false;
        return;
      }
      r.shared.push(e);
      r.privateTokens -= len;
      r.privateBlocks -= len / bs;
    }
  }

  private releaseKv(r: Req): void {
    const sh = r.shared;
    // Release deepest segments first so that shorter prefixes are evicted last (vLLM frees a
    // request's blocks in reverse order).
    for (let k = sh.length - 1; k >= 0; k--) this.pool.release(sh[k] as CacheEntry);
    r.shared = [];
    this.pool.freeBlocks(r.privateBlocks);
    r.privateBlocks = 0;
    r.privateTokens = 0;
  }

  private preempt(r: Req): void {
    this.releaseKv(r);
    r.computed = 0;
    r.canRegister = true;
    r.preemptions++;
    r.status = Status.Waiting;
    this.stats.preemptions++;
    this.stats.lastStepPreemptions++;
    this.front.push(r);
  }

  private processAborts(): void {
    if (this.aborts.length === 0) return;
    for (const r of this.aborts) {
      if (r.status === Status.Done) continue;
      if (r.status === Status.Running) {
        this.releaseKv(r);
        const idx = this.running.indexOf(r);
        if (idx >= 0) this.running.splice(idx, 1);
      } else if (r.status === Status.Waiting) {
        const f = this.front.indexOf(r);
        if (f >= 0) this.front.splice(f, 1);
        else {
          const w = this.waitQ.indexOf(r, this.waitHead);
          if (w >= 0) this.waitQ.splice(w, 1);
        }
      }
      // Pending requests are skipped by admitPending.
      r.status = Status.Done;
      this.byId.delete(r.id);
      this.stats.success.abort++;
    }
    this.aborts.length = 0;
  }

  private completeStep(): void {
    const t = this.stepEnd;
    this.now = t;
    this.busy = false;
    const s = this.stats;
    const start = this.stepStart;
    const dur = t - start;
    let contiguous = 0;
    let generated = 0;
    let promptAtFirst = 0;
    let finishedAny = false;
    const step = this.stepReqs;
    const stepN = this.stepN;
    for (let k = 0; k < stepN; k++) {
      const r = step[k] as Req;
      if (r.aborted) continue;
      if (r.computed !== r.numTokens) continue; // a prefill chunk that did not reach the end
      r.generated++;
      r.numTokens++;
      generated++;
      if (r.firstTokenMs < 0) {
        r.firstTokenMs = t;
        const ttft = t - r.arrivalMs;
        s.ttft.observe(ttft / 1000);
        s.promptTokens += r.prompt;
        s.promptTokensCached += r.cachedTokens;
        s.promptTokensComputed += r.prompt - r.cachedTokens;
        if (r.fullHit) s.promptTokensRecomputed += 1;
        promptAtFirst += r.prompt;
        if (this.emitFirst) this.events.push({ type: 'first-token', id: r.id, timeMs: t, ttftMs: ttft });
      } else if (r.lastTokenMs === start) {
        contiguous++;
      } else {
        s.itl.observe((t - r.lastTokenMs) / 1000);
      }
      r.lastTokenMs = t;
      if (this.emitTokens) {
        this.events.push({ type: 'tokens', id: r.id, timeMs: t, count: 1, total: r.generated });
      }
      if (r.generated >= r.target) {
        this.finish(r, t);
        finishedAny = true;
      }
    }
    if (contiguous > 0) s.itl.observe(dur / 1000, contiguous);
    if (generated > 0) {
      s.generationTokens += generated;
      s.iterationTokens.observe(promptAtFirst + generated);
      this.recordGenerated(t, generated);
    }
    if (finishedAny) {
      // Drop finished requests, keeping admission order (aborted ones go in processAborts).
      const keep = this.spare;
      let n = 0;
      for (const r of this.running) if (r.status === Status.Running) keep[n++] = r;
      keep.length = n;
      this.spare = this.running;
      this.running = keep;
    }
    this.admitPending(t);
    this.startStep();
  }

  private finish(r: Req, t: number): void {
    this.releaseKv(r);
    r.status = Status.Done;
    this.byId.delete(r.id);
    const s = this.stats;
    const reason: FinishReason = r.reason;
    s.success[reason]++;
    const e2e = t - r.arrivalMs;
    // vLLM measures the queue from the engine core's QUEUED event, i.e. after the frontend.
    const queue = r.scheduledMs - r.readyMs;
    const prefill = r.firstTokenMs - r.scheduledMs;
    const decode = t - r.firstTokenMs;
    const tpot = r.generated > 1 ? decode / (r.generated - 1) : 0;
    s.e2e.observe(e2e / 1000);
    s.queue.observe(queue / 1000);
    s.prefill.observe(prefill / 1000);
    s.decode.observe(decode / 1000);
    s.inference.observe((t - r.scheduledMs) / 1000);
    s.requestTpot.observe(tpot / 1000);
    s.promptLen.observe(r.prompt);
    s.generationLen.observe(r.generated);
    s.maxGenerationLen.observe(r.generated);
    s.paramsN.observe(1);
    if (r.maxTokens !== undefined) s.paramsMaxTokens.observe(r.maxTokens);
    s.prefillKvComputed.observe(r.prompt - r.cachedTokens);
    s.retractions.observe(r.preemptions);
    s.finishedPromptTokens += r.prompt;
    s.finishedGenerationTokens += r.generated;
    s.finishedCachedTokens += r.cachedTokens;
    this.events.push({
      type: 'finished',
      id: r.id,
      timeMs: t,
      result: {
        id: r.id,
        arrivalMs: r.arrivalMs,
        inputTokens: r.prompt,
        outputTokens: r.generated,
        cachedTokens: r.cachedTokens,
        finishReason: reason,
        ttftMs: r.firstTokenMs - r.arrivalMs,
        e2eMs: e2e,
        queueMs: queue,
        prefillMs: prefill,
        decodeMs: decode,
        tpotMs: tpot,
        preemptions: r.preemptions,
      },
    });
  }
}
