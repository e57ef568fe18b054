/**
 * The virtual cluster: pods of one scale target with their lifecycle (starting → ready → draining
 * → gone), a gateway that routes requests to ready pods or queues them while none is ready, and the
 * engine steps of every replica, ordered in time by an indexed heap.
 *
 * Lifecycle rules, as Kubernetes and a gateway behave:
 * - a new pod costs GPU time from creation and becomes ready after its cold-start delay;
 * - scale-down removes not-ready pods first (newest first), then the most recently ready ones, as a
 *   ReplicaSet does; a starting pod simply disappears, a ready one drains: the gateway stops sending
 *   it requests, its in-flight requests finish, and it is gone (and stops costing) when the last does;
 * - a request that finds no ready pod waits in the gateway queue (its wait counts in its TTFT) and is
 *   routed when the next pod becomes ready.
 */
import type { ColdStartSampler } from './coldstart.js';
import { TimeHeap, type HeapItem } from './heap.js';
import type { Completion, ReplicaFactory, SimReplica, SimRequest } from './replica.js';
import type { Routable, Router } from './router.js';

export type PodPhase = 'starting' | 'ready' | 'draining' | 'gone';

export class SimPod implements HeapItem, Routable {
  heapIndex = -1;
  phase: PodPhase = 'starting';
  readyMs: number | undefined;
  drainMs: number | undefined;
  endMs: number | undefined;
  replica: SimReplica | undefined;
  inFlight = 0;
  /** Requests routed to this pod over its life. */
  served = 0;

  constructor(
    readonly name: string,
    readonly order: number,
    readonly createdMs: number,
    readonly readyAtMs: number,
  ) {}

  kvUsage(): number {
    return this.replica === undefined ? 0 : this.replica.kvUsage();
  }
}

/** Per-request outcomes, indexed by request id; NaN until known. */
export class RequestLog {
  readonly firstTokenMs: Float64Array;
  readonly finishMs: Float64Array;
  /** 1 where the replica refused the request. */
  readonly rejected: Uint8Array;
  completed = 0;
  rejectedCount = 0;
  /** The first refusal, to explain the count. */
  firstRejection: string | undefined;

  constructor(readonly requests: readonly SimRequest[]) {
    this.firstTokenMs = new Float64Array(requests.length).fill(NaN);
    this.finishMs = new Float64Array(requests.length).fill(NaN);
    this.rejected = new Uint8Array(requests.length);
  }

  record(c: Completion): void {
    if (!(c.id >= 0 && c.id < this.finishMs.length)) {
      throw new Error(`replica reported a completion for unknown request id ${c.id}`);
    }
    if (!Number.isNaN(this.finishMs[c.id]!)) throw new Error(`request ${c.id} completed twice`);
    this.firstTokenMs[c.id] = c.firstTokenMs;
    this.finishMs[c.id] = c.finishMs;
    this.completed++;
    if (c.rejected !== undefined) {
      this.rejected[c.id] = 1;
      this.rejectedCount++;
      this.firstRejection ??= `request ${c.id}: ${c.rejected}`;
    }
  }
}

export interface ClusterOptions {
  factory: ReplicaFactory;
  coldStart: ColdStartSampler;
  router: Router;
  log: RequestLog;
  /** Pod names are `<prefix>-<n>`. */
  namePrefix?: string;
  /** Pods ready at time 0 (no cold start), default 1. */
  initialReplicas?: number;
}

/** A change of the replica count written by the autoscaler. */
export interface ScaleEvent {
  timeMs: number;
  from: number;
  to: number;
}

/** Steps one replica may take at one instant before we call the replica model broken. */
const MAX_STEPS_AT_ONE_INSTANT = 100_000;

export class VirtualCluster {
  readonly pods: SimPod[] = [];
  /** Ready, non-draining pods in order of readiness: the router's candidates. */
  readonly ready: SimPod[] = [];
  /** Starting pods in order of creation. */
  private readonly starting: SimPod[] = [];
  private readonly stepHeap = new TimeHeap<SimPod>();
  private readonly startHeap = new TimeHeap<SimPod>();
  private readonly gateway: SimRequest[] = [];
  private gatewayHead = 0;
  private readonly byName = new Map<string, SimPod>();
  private readonly prefix: string;
  private nextOrder = 0;
  private currentPod: SimPod | undefined;
  private readonly onComplete = (c: Completion): void => {
    this.opts.log.record(c);
    const pod = this.currentPod!;
    pod.inFlight--;
    this.inFlight--;
  };

  desired: number;
  draining = 0;
  /** Requests accepted by replicas and not finished. */
  inFlight = 0;
  peakGatewayQueue = 0;
  readonly scaleEvents: ScaleEvent[] = [];

  constructor(private readonly opts: ClusterOptions) {
    this.prefix = opts.namePrefix ?? 'replica';
    const initial = opts.initialReplicas ?? 1;
    if (!(Number.isInteger(initial) && initial >= 0)) {
      throw new Error(`initial replicas must be an integer >= 0, got ${initial}`);
    }
    this.desired = initial;
    for (let i = 0; i < initial; i++) {
      const pod = this.createPod(0, 0);
      this.makeReady(pod, 0);
    }
  }

  get startingCount(): number {
    return this.starting.length;
  }

  get gatewayQueueLength(): number {
    return this.gateway.length - this.gatewayHead;
  }

  /** Pods that exist and are not terminating (what the scale target's status counts). */
  get liveCount(): number {
    return this.starting.length + this.ready.length;
  }

  pod(name: string): SimPod | undefined {
    return this.byName.get(name);
  }

  /** Earliest internal event: an engine step ending or a pod becoming ready; +Infinity if none. */
  nextEventTime(): number {
    const a = this.stepHeap.peekTime();
    const b = this.startHeap.peekTime();
    return a < b ? a : b;
  }

  /** Processes the earliest internal event, which must be at `t` (from `nextEventTime`). */
  processNext(t: number): void {
    // Readiness first at equal times: a pod ready at t can take requests routed at t.
    if (this.startHeap.peekTime() <= t) {
      const pod = this.startHeap.peek()!;
      this.startHeap.set(pod, undefined);
      this.starting.splice(this.starting.indexOf(pod), 1);
      this.makeReady(pod, t);
      this.flushGateway(t);
      return;
    }
    const pod = this.stepHeap.peek();
    if (pod === undefined) return;
    this.advancePod(pod, t);
  }

  private advancePod(pod: SimPod, t: number): void {
    const replica = pod.replica!;
    this.currentPod = pod;
    let guard = 0;
    let next = replica.nextEventTime();
    while (next !== undefined && next <= t) {
      replica.advanceTo(t, this.onComplete);
      next = replica.nextEventTime();
      if (++guard > MAX_STEPS_AT_ONE_INSTANT) {
        throw new Error(`replica ${pod.name} makes no progress at t=${t} ms (next event ${next} ms)`);
      }
    }
    this.currentPod = undefined;
    if (pod.phase === 'draining' && pod.inFlight === 0) {
      this.terminate(pod, t);
      return;
    }
    this.stepHeap.set(pod, next);
  }

  /** A request reaches the gateway at `t`. */
  arrive(req: SimRequest, t: number): void {
    if (this.ready.length === 0) {
      this.gateway.push(req);
      const q = this.gateway.length - this.gatewayHead;
      if (q > this.peakGatewayQueue) this.peakGatewayQueue = q;
      return;
    }
    this.route(req, t);
  }

  private route(req: SimRequest, t: number): void {
    const pod = this.ready[this.opts.router.pick(this.ready)]!;
    pod.inFlight++;
    pod.served++;
    this.inFlight++;
    pod.replica!.enqueue(req, t);
    this.stepHeap.set(pod, pod.replica!.nextEventTime());
  }

  private flushGateway(t: number): void {
    while (this.gatewayHead < this.gateway.length && this.ready.length > 0) {
      this.route(this.gateway[this.gatewayHead++]!, t);
    }
    if (this.gatewayHead === this.gateway.length) {
      this.gateway.length = 0;
      this.gatewayHead = 0;
    }
  }

  /** The autoscaler wrote `spec.replicas = n` at `t`. */
  setDesired(n: number, t: number): void {
    if (!(Number.isInteger(n) && n >= 0)) throw new Error(`replicas must be an integer >= 0, got ${n}`);
    if (n !== this.desired) this.scaleEvents.push({ timeMs: t, from: this.desired, to: n });
    this.desired = n;
    while (this.liveCount < n) {
      const pod = this.createPod(t, t + this.opts.coldStart.draw());
      this.starting.push(pod);
      this.startHeap.set(pod, pod.readyAtMs);
    }
    while (this.liveCount > n) {
      const pod = this.starting.pop();
      if (pod !== undefined) {
        this.startHeap.set(pod, undefined);
        this.terminate(pod, t);
        continue;
      }
      this.drain(this.ready.pop()!, t);
    }
  }

  private createPod(createdMs: number, readyAtMs: number): SimPod {
    const order = this.nextOrder++;
    const pod = new SimPod(`${this.prefix}-${order}`, order, createdMs, readyAtMs);
    this.pods.push(pod);
    this.byName.set(pod.name, pod);
    return pod;
  }

  private makeReady(pod: SimPod, t: number): void {
    pod.phase = 'ready';
    pod.readyMs = t;
    pod.replica = this.opts.factory.create(pod.name, t);
    this.ready.push(pod);
  }

  private drain(pod: SimPod, t: number): void {
    pod.phase = 'draining';
    pod.drainMs = t;
    this.draining++;
    if (pod.inFlight === 0) this.terminate(pod, t);
  }

  private terminate(pod: SimPod, t: number): void {
    if (pod.phase === 'draining') this.draining--;
    pod.phase = 'gone';
    pod.endMs = t;
    this.stepHeap.set(pod, undefined);
    pod.replica = undefined;
    this.byName.delete(pod.name);
  }

  /** Replica-milliseconds of GPU time up to `t`: every pod from creation to its end (or `t`). */
  replicaMs(t: number): number {
    let total = 0;
    for (const p of this.pods) total += Math.max(0, Math.min(p.endMs ?? t, t) - p.createdMs);
    return total;
  }

  /** Sum of running and waiting requests over replicas, and mean KV usage over ready ones. */
  load(): { running: number; waiting: number; kvMean: number } {
    let running = 0;
    let waiting = 0;
    let kv = 0;
    let n = 0;
    for (const p of this.pods) {
      if (p.replica === undefined) continue;
      const s = p.replica.signals();
      running += s.running;
      waiting += s.waiting;
      if (p.phase === 'ready') {
        kv += s.kvUsage;
        n++;
      }
    }
    return { running, waiting, kvMean: n === 0 ? 0 : kv / n };
  }

  /** Nothing left to do: no request in a replica or in the gateway. */
  idle(): boolean {
    return this.inFlight === 0 && this.gatewayQueueLength === 0;
  }
}
