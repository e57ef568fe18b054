import { describe, expect, it, vi } from 'vitest';
import { LeaderElector, type LeaseClient, type LeaseRecord } from '../../../src/k8s/leader.js';
import { ManualClock } from '../../../src/engine/memory.js';

/** An in-memory Lease with the apiserver's compare-and-swap on resourceVersion. */
class FakeLeaseStore implements LeaseClient {
  record: LeaseRecord | undefined;
  private rv = 0;
  failing = false;
  writes = 0;

  private check() {
    if (this.failing) throw Object.assign(new Error('apiserver unavailable'), { code: 503 });
  }
  async get(): Promise<LeaseRecord | undefined> {
    this.check();
    return this.record ? { ...this.record } : undefined;
  }
  async create(_ns: string, _name: string, r: LeaseRecord): Promise<LeaseRecord> {
    this.check();
    if (this.record) throw Object.assign(new Error('already exists'), { code: 409 });
    this.record = { ...r, resourceVersion: String(++this.rv) };
    this.writes++;
    return { ...this.record };
  }
  async replace(_ns: string, _name: string, r: LeaseRecord): Promise<LeaseRecord> {
    this.check();
    if (!this.record || r.resourceVersion !== this.record.resourceVersion) {
      throw Object.assign(new Error('the object has been modified'), { code: 409 });
    }
    this.record = { ...r, resourceVersion: String(++this.rv) };
    this.writes++;
    return { ...this.record };
  }
}

/** A candidate for the Lease sys/lease in `store`; `extra` sets the clock, timings and hooks. */
function elector(
  store: LeaseClient,
  identity: string,
  extra: Partial<ConstructorParameters<typeof LeaderElector>[0]> = {},
) {
  return new LeaderElector({ leases: store, namespace: 'sys', name: 'lease', identity, ...extra });
}

describe('LeaderElector.tryAcquireOrRenew', () => {
  it('creates the lease when missing, then renews it keeping acquireTime and transitions', async () => {
    const store = new FakeLeaseStore();
    const clock = new ManualClock(1_000_000);
    const a = elector(store, 'a', { clock });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(store.record).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
      acquireTimeMs: 1_000_000,
    });
    clock.advance(2_000);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(store.record).toMatchObject({
      holderIdentity: 'a',
      acquireTimeMs: 1_000_000,
      renewTimeMs: 1_002_000,
      leaseTransitions: 0,
    });
  });

  it('does not take a lease held by someone else until it has been unchanged for a full lease duration', async () => {
    const store = new FakeLeaseStore();
    const clock = new ManualClock(0);
    const a = elector(store, 'a', { clock });
    const b = elector(store, 'b', { clock });
    await a.tryAcquireOrRenew();
    expect(await b.tryAcquireOrRenew()).toBe(false); // b first sees the record at t=0
    clock.advance(10_000);
    expect(await a.tryAcquireOrRenew()).toBe(true); // renewed at t=10 s
    clock.advance(10_000);
    expect(await b.tryAcquireOrRenew()).toBe(false); // b saw the change at t=20 s: not expired
    expect(b.leader).toBe('a');
    clock.advance(14_999);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.advance(1);
    expect(await b.tryAcquireOrRenew()).toBe(true); // 15 s with no change
    expect(store.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    // a's next renewal finds b holding a fresh lease.
    expect(await a.tryAcquireOrRenew()).toBe(false);
    expect(a.leader).toBe('b');
  });

  it('lets exactly one of two candidates win a race for an expired lease (resourceVersion CAS)', async () => {
    const store = new FakeLeaseStore();
    const clock = new ManualClock(0);
    await elector(store, 'old', { clock }).tryAcquireOrRenew();
    const b = elector(store, 'b', { clock });
    const c = elector(store, 'c', { clock });
    await b.tryAcquireOrRenew();
    await c.tryAcquireOrRenew();
    clock.advance(20_000);
    const results = await Promise.all([b.tryAcquireOrRenew(), c.tryAcquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(store.record?.holderIdentity).toBe(results[0] ? 'b' : 'c');
  });

  it('takes a released lease at once', async () => {
    const store = new FakeLeaseStore();
    const clock = new ManualClock(0);
    const a = elector(store, 'a', { clock });
    const b = elector(store, 'b', { clock });
    await a.tryAcquireOrRenew();
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await a.release();
    expect(store.record?.holderIdentity).toBeUndefined();
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it.each([
    [{ leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }, /renew deadline/],
    [{ renewDeadlineMs: 1_000, retryPeriodMs: 1_000 }, /retry period/],
  ])('rejects timings that cannot be safe: %j', (timing, error) => {
    expect(() => elector(new FakeLeaseStore(), 'a', timing)).toThrow(error);
  });
});

describe('LeaderElector loop', () => {
  const fast = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 100 };

  it('leads, steps down when renewals fail past the renew deadline, and campaigns again', async () => {
    const store = new FakeLeaseStore();
    const events: string[] = [];
    const a = elector(store, 'a', {
      ...fast,
      onStartedLeading: () => void events.push('start'),
      onStoppedLeading: (reason) => void events.push(`stop: ${reason}`),
    });
    a.start();
    await vi.waitFor(() => expect(a.isLeader).toBe(true));
    store.failing = true;
    await vi.waitFor(() => expect(a.isLeader).toBe(false), { timeout: 5_000 });
    expect(events[1]).toMatch(/^stop: could not renew for \d+ ms \(.*apiserver unavailable/);
    store.failing = false;
    await vi.waitFor(() => expect(a.isLeader).toBe(true), { timeout: 5_000 });
    await a.stop();
    expect(events).toEqual([
      'start',
      expect.stringMatching(/^stop: could not renew/),
      'start',
      'stop: shutting down',
    ]);
    expect(store.record?.holderIdentity).toBeUndefined(); // released on stop
  });

  it('a standby takes over after the leader stops renewing, and never both lead at once', async () => {
    const store = new FakeLeaseStore();
    let leaders = 0;
    let maxLeaders = 0;
    const hooks = {
      onStartedLeading: () => {
        leaders++;
        maxLeaders = Math.max(maxLeaders, leaders);
      },
      onStoppedLeading: () => void leaders--,
    };
    const a = elector(store, 'a', { ...fast, ...hooks });
    const b = elector(store, 'b', { ...fast, ...hooks });
    a.start();
    await vi.waitFor(() => expect(a.isLeader).toBe(true));
    b.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(b.isLeader).toBe(false);
    // Kill a's renewals only: its writes fail from now on, b's do not.
    const realReplace = store.replace.bind(store);
    store.replace = async (ns, name, r) => {
      if (r.holderIdentity === 'a') throw Object.assign(new Error('partitioned'), { code: 503 });
      return realReplace(ns, name, r);
    };
    await vi.waitFor(() => expect(b.isLeader).toBe(true), { timeout: 5_000 });
    expect(a.isLeader).toBe(false);
    expect(maxLeaders).toBe(1);
    await Promise.all([a.stop(), b.stop()]);
  });
});
