/**
 * Leader election on a coordination.k8s.io/v1 Lease, client-go style. client-node has no elector,
 * and the npm ones either skip the resourceVersion (two winners) or misread 1.x errors.
 *
 * Safety rests on the apiserver's compare-and-swap: every takeover and renewal is a PUT carrying
 * the resourceVersion we read, so of two candidates racing for an expired lease exactly one gets
 * 200 and the other 409. Expiry is judged on our own clock from when we last saw the record
 * change (not from the holder's `renewTime`), so clock skew between nodes does not matter.
 *
 * Timing (defaults as controller-runtime): lease 15 s, renew deadline 10 s (2/3 of the lease),
 * retry period 2 s. The leader tries to renew every retry period; if it has not renewed for the
 * renew deadline it steps down — before the lease can expire for anyone else, since others wait a
 * full lease duration from the last change they saw.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Clock } from '../engine/seams.js';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import { apiErrorCode, errorMessage, wrapApiError } from './client.js';

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTimeMs?: number;
  renewTimeMs?: number;
  leaseTransitions?: number;
  resourceVersion?: string;
}

/** The three calls the elector makes. Errors carry the HTTP status as `.code` (409 = lost race). */
export interface LeaseClient {
  /** undefined when the Lease does not exist. */
  get(namespace: string, name: string): Promise<LeaseRecord | undefined>;
  create(namespace: string, name: string, record: LeaseRecord): Promise<LeaseRecord>;
  /** Must send `record.resourceVersion` so that a stale write fails with 409. */
  replace(namespace: string, name: string, record: LeaseRecord): Promise<LeaseRecord>;
}

function toRecord(lease: k8s.V1Lease): LeaseRecord {
  const s = lease.spec ?? {};
  const ms = (t: unknown) =>
    t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : undefined;
  return {
    holderIdentity: s.holderIdentity,
    leaseDurationSeconds: s.leaseDurationSeconds,
    acquireTimeMs: ms(s.acquireTime),
    renewTimeMs: ms(s.renewTime),
    leaseTransitions: s.leaseTransitions,
    resourceVersion: lease.metadata?.resourceVersion,
  };
}

function toLease(namespace: string, name: string, r: LeaseRecord): k8s.V1Lease {
  // MicroTime fields must go out with microseconds (V1MicroTime), not as a plain Date's millis.
  const micro = (t: number | undefined) => (t === undefined ? undefined : new k8s.V1MicroTime(t));
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(r.resourceVersion ? { resourceVersion: r.resourceVersion } : {}) },
    spec: {
      holderIdentity: r.holderIdentity,
      leaseDurationSeconds: r.leaseDurationSeconds,
      acquireTime: micro(r.acquireTimeMs),
      renewTime: micro(r.renewTimeMs),
      leaseTransitions: r.leaseTransitions,
    },
  };
}

/** LeaseClient over CoordinationV1Api. */
export function kubeLeaseClient(coordination: k8s.CoordinationV1Api): LeaseClient {
  return {
    async get(namespace, name) {
      try {
        return toRecord(await coordination.readNamespacedLease({ name, namespace }));
      } catch (err) {
        if (apiErrorCode(err) === 404) return undefined;
        throw wrapApiError('get lease', `${namespace}/${name}`, err);
      }
    },
    async create(namespace, name, record) {
      try {
        return toRecord(
          await coordination.createNamespacedLease({ namespace, body: toLease(namespace, name, record) }),
        );
      } catch (err) {
        throw wrapApiError('create lease', `${namespace}/${name}`, err);
      }
    },
    async replace(namespace, name, record) {
      try {
        return toRecord(
          await coordination.replaceNamespacedLease({
            name,
            namespace,
            body: toLease(namespace, name, record),
          }),
        );
      } catch (err) {
        throw wrapApiError('update lease', `${namespace}/${name}`, err);
      }
    },
  };
}

export interface LeaderElectorOptions {
  leases: LeaseClient;
  namespace: string;
  name: string;
  /** Unique per process. Default `<hostname>_<random>`. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  /** How the loop waits; resolves early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  log?: Logger;
  onStartedLeading?: () => void | Promise<void>;
  onStoppedLeading?: (reason: string) => void | Promise<void>;
  onNewLeader?: (identity: string | undefined) => void;
}

export function defaultIdentity(): string {
  return `${os.hostname()}_${randomBytes(4).toString('hex')}`;
}

const realClock: Clock = { now: () => Date.now() };

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly log: Logger;
  private observed: LeaseRecord | undefined;
  private observedAtMs = 0;
  private leading = false;
  private lastRenewMs = 0;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private lastKnownLeader: string | undefined;

  constructor(private readonly o: LeaderElectorOptions) {
    this.identity = o.identity ?? defaultIdentity();
    this.leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? Math.round((this.leaseDurationMs * 2) / 3);
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs) {
      throw new Error(
        `leader election: renew deadline (${this.renewDeadlineMs} ms) must be shorter than the lease (${this.leaseDurationMs} ms)`,
      );
    }
    if (this.retryPeriodMs >= this.renewDeadlineMs) {
      throw new Error(
        `leader election: retry period (${this.retryPeriodMs} ms) must be shorter than the renew deadline (${this.renewDeadlineMs} ms)`,
      );
    }
    this.clock = o.clock ?? realClock;
    this.sleep = o.sleep ?? abortableSleep;
    this.random = o.random ?? Math.random;
    this.log = (o.log ?? silentLogger()).child({
      lease: `${o.namespace}/${o.name}`,
      identity: this.identity,
    });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder seen in the last read or write, if any. */
  get leader(): string | undefined {
    return this.observed?.holderIdentity || undefined;
  }

  /**
   * One compare-and-swap step: acquire the lease if it is free, expired or already ours, and renew
   * it in the same write. Returns true when we hold it afterwards. Throws only on transport/API
   * errors other than the 409 of a lost race.
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.o;
    const now = this.clock.now();
    const durationS = Math.max(1, Math.round(this.leaseDurationMs / 1000));
    const current = await this.o.leases.get(namespace, name);
    if (!current) {
      try {
        const created = await this.o.leases.create(namespace, name, {
          holderIdentity: this.identity,
          leaseDurationSeconds: durationS,
          acquireTimeMs: now,
          renewTimeMs: now,
          leaseTransitions: 0,
        });
        this.observe(created, now);
        return true;
      } catch (err) {
        if (apiErrorCode(err) === 409) return false; // someone created it first
        throw err;
      }
    }
    this.observe(current, now);
    const holder = current.holderIdentity ?? '';
    const mine = holder === this.identity;
    const heldFor = (current.leaseDurationSeconds ?? durationS) * 1000;
    if (!mine && holder !== '' && this.observedAtMs + heldFor > now) return false; // held and not expired
    const next: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: durationS,
      acquireTimeMs: mine ? (current.acquireTimeMs ?? now) : now,
      renewTimeMs: now,
      leaseTransitions: mine ? (current.leaseTransitions ?? 0) : (current.leaseTransitions ?? 0) + 1,
      resourceVersion: current.resourceVersion,
    };
    try {
      const written = await this.o.leases.replace(namespace, name, next);
      this.observe(written, now);
      return true;
    } catch (err) {
      if (apiErrorCode(err) === 409) return false; // another candidate wrote first
      throw err;
    }
  }

  private observe(record: LeaseRecord, now: number): void {
    const o = this.observed;
    if (
      !o ||
      o.holderIdentity !== record.holderIdentity ||
      o.renewTimeMs !== record.renewTimeMs ||
      o.resourceVersion !== record.resourceVersion
    ) {
      this.observed = record;
      this.observedAtMs = now;
    }
    const leader = record.holderIdentity || undefined;
    if (leader !== this.lastKnownLeader) {
      this.lastKnownLeader = leader;
      this.log.info({ leader: leader ?? null }, 'lease holder changed');
      this.o.onNewLeader?.(leader);
    }
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /** Stops campaigning; if leading, steps down (callback) and releases the lease for a fast handover. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.abort.abort();
    await this.loop;
    this.loop = undefined;
  }

  private jittered(ms: number): number {
    return ms * (1 + 0.2 * this.random());
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // Campaign.
      let acquired = false;
      while (!signal.aborted && !acquired) {
        try {
          acquired = await this.tryAcquireOrRenew();
        } catch (err) {
          this.log.warn({ err: errorMessage(err) }, 'lease read/write failed while campaigning');
        }
        if (!acquired) await this.sleep(this.jittered(this.retryPeriodMs), signal);
      }
      if (signal.aborted) break;
      this.leading = true;
      this.lastRenewMs = this.clock.now();
      this.log.info('became leader');
      await this.callback(() => this.o.onStartedLeading?.());

      // Lead: renew until stopped or the renew deadline passes.
      let reason: string | undefined;
      while (!signal.aborted) {
        await this.sleep(this.retryPeriodMs, signal);
        if (signal.aborted) break;
        const remaining = this.lastRenewMs + this.renewDeadlineMs - this.clock.now();
        let ok = false;
        let why = '';
        try {
          ok = await withTimeout(this.tryAcquireOrRenew(), Math.max(1, remaining));
          if (!ok) why = `lease taken by ${this.leader ?? 'another candidate'}`;
        } catch (err) {
          why = errorMessage(err);
        }
        if (ok) {
          this.lastRenewMs = this.clock.now();
          continue;
        }
        // Someone else holds a newer record: we are certainly not the leader any more.
        const lost = this.leader !== undefined && this.leader !== this.identity;
        if (lost || this.clock.now() - this.lastRenewMs >= this.renewDeadlineMs) {
          reason = lost ? why : `could not renew for ${this.clock.now() - this.lastRenewMs} ms (${why})`;
          break;
        }
        this.log.warn({ err: why }, 'lease renewal failed; retrying');
      }
      this.leading = false;
      if (reason !== undefined) {
        this.log.warn({ reason }, 'lost leadership');
        await this.callback(() => this.o.onStoppedLeading?.(reason!));
      } else {
        // Stopped while leading: step down first (no more writes), then hand the lease over.
        await this.callback(() => this.o.onStoppedLeading?.('shutting down'));
        await this.release();
      }
    }
  }

  /** Gives the lease up (holder cleared) if we still hold it, so a standby takes over at once. */
  async release(): Promise<void> {
    const { namespace, name } = this.o;
    try {
      const current = await this.o.leases.get(namespace, name);
      if (!current || current.holderIdentity !== this.identity) return;
      const now = this.clock.now();
      await this.o.leases.replace(namespace, name, {
        holderIdentity: undefined,
        leaseDurationSeconds: 1,
        acquireTimeMs: now,
        renewTimeMs: now,
        leaseTransitions: current.leaseTransitions,
        resourceVersion: current.resourceVersion,
      });
      this.log.info('released lease');
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not release lease; it expires on its own');
    }
  }

  private async callback(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'leader election callback threw');
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${Math.round(ms)} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
