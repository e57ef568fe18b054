/**
 * A test double of a replica: `slots` requests served at once, first come first served; a request
 * gets its first token `prefillMs` after it starts and one more every `itlMs`. KV usage is the
 * share of busy slots. Simple enough that every test can compute the expected times by hand.
 */
import type {
  Completion,
  HistogramView,
  ReplicaFactory,
  ReplicaSignals,
  SimReplica,
  SimRequest,
} from '../../../../simulator/cluster/replica.js';

export interface FakeOptions {
  slots?: number;
  prefillMs?: number;
  itlMs?: number;
  /** Added to the kv gauge of the rendered page only: a replica whose page lies (verify tests). */
  pageKvOffset?: number;
}

const emptyHist: HistogramView = { sum: 0, count: 0, cumulative: (layout) => layout.map(() => 0) };

interface Running {
  req: SimRequest;
  firstMs: number;
  finishMs: number;
}

export class FakeReplica implements SimReplica {
  readonly enqueued: { id: number; atMs: number }[] = [];
  private readonly queue: SimRequest[] = [];
  private running: Running[] = [];
  private finished = 0;
  private readonly slots: number;
  private readonly prefillMs: number;
  private readonly itlMs: number;

  constructor(
    readonly name: string,
    private readonly opts: FakeOptions = {},
  ) {
    this.slots = opts.slots ?? 4;
    this.prefillMs = opts.prefillMs ?? 100;
    this.itlMs = opts.itlMs ?? 10;
  }

  private start(req: SimRequest, t: number): void {
    const firstMs = t + this.prefillMs;
    this.running.push({ req, firstMs, finishMs: firstMs + (req.outputTokens - 1) * this.itlMs });
  }

  enqueue(req: SimRequest, nowMs: number): void {
    this.enqueued.push({ id: req.id, atMs: nowMs });
    if (this.running.length < this.slots) this.start(req, nowMs);
    else this.queue.push(req);
  }

  nextEventTime(): number | undefined {
    let t: number | undefined;
    for (const r of this.running) if (t === undefined || r.finishMs < t) t = r.finishMs;
    return t;
  }

  advanceTo(nowMs: number, onComplete: (c: Completion) => void): void {
    for (;;) {
      let best: Running | undefined;
      for (const r of this.running)
        if (r.finishMs <= nowMs && (!best || r.finishMs < best.finishMs)) best = r;
      if (!best) return;
      this.running = this.running.filter((r) => r !== best);
      this.finished++;
      onComplete({
        id: best.req.id,
        firstTokenMs: best.firstMs,
        finishMs: best.finishMs,
        outputTokens: best.req.outputTokens,
      });
      const next = this.queue.shift();
      if (next) this.start(next, best.finishMs);
    }
  }

  kvUsage(): number {
    return this.running.length / this.slots;
  }

  signals(): ReplicaSignals {
    return {
      running: this.running.length,
      waiting: this.queue.length,
      kvUsage: this.kvUsage(),
      promptTokens: 0,
      generationTokens: 0,
      requestsFinished: this.finished,
      preemptions: 0,
      prefixQueries: 0,
      prefixHits: 0,
      ttft: emptyHist,
      itl: emptyHist,
      e2e: emptyHist,
    };
  }

  renderMetrics(): string {
    const kv = this.kvUsage() + (this.opts.pageKvOffset ?? 0);
    return [
      '# TYPE vllm:num_requests_running gauge',
      `vllm:num_requests_running{engine="0",model_name="m"} ${this.running.length}`,
      '# TYPE vllm:num_requests_waiting gauge',
      `vllm:num_requests_waiting{engine="0",model_name="m"} ${this.queue.length}`,
      '# TYPE vllm:kv_cache_usage_perc gauge',
      `vllm:kv_cache_usage_perc{engine="0",model_name="m"} ${kv}`,
      '',
    ].join('\n');
  }
}

/** A factory of fake replicas that remembers every replica it made, by name. */
export function fakeFactory(
  opts: FakeOptions = {},
  price = 1,
): ReplicaFactory & { made: Map<string, FakeReplica> } {
  const made = new Map<string, FakeReplica>();
  return {
    made,
    description: { gpu: 'fake', model: 'fake', tp: 1 },
    gpusPerReplica: 1,
    pricePerReplicaHour: price,
    create(name) {
      const r = new FakeReplica(name, opts);
      made.set(name, r);
      return r;
    },
  };
}

/** Requests with ids in order. */
export function requests(list: readonly [arrivalMs: number, outputTokens?: number][]): SimRequest[] {
  return list.map(([arrivalMs, out], id) => ({ id, arrivalMs, inputTokens: 10, outputTokens: out ?? 1 }));
}
