/**
 * Per-key periodic work: each PodAutoscaler ticks on its own timer (fixed rate, first tick spread
 * over one period so a restart does not fire every PodAutoscaler at once), one tick per key at a
 * time, and at most `concurrency` keys ticking together so one slow target cannot stall the rest
 * (AIBrix runs every PodAutoscaler through one worker, W-7).
 */
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';

export interface SchedulerOptions {
  periodMs: number;
  concurrency?: number;
  run: (key: string) => Promise<void>;
  log?: Logger;
  random?: () => number;
}

interface Slot {
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  /** A trigger arrived while running: tick again right after. */
  again: boolean;
  nextAtMs: number;
}

export class TickScheduler {
  private readonly slots = new Map<string, Slot>();
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly concurrency: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private paused = true;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: SchedulerOptions) {
    this.log = o.log ?? silentLogger();
    this.random = o.random ?? Math.random;
    this.concurrency = Math.max(1, o.concurrency ?? 8);
  }

  /** Starts ticking (e.g. on becoming leader). Every key's first tick is spread over one period. */
  resume(): void {
    if (this.stopped || !this.paused) return;
    this.paused = false;
    for (const key of this.slots.keys()) this.arm(key, this.random() * Math.min(this.o.periodMs, 2_000));
  }

  /** Stops ticking but keeps the keys (e.g. on losing leadership); waits for running ticks. */
  async pause(): Promise<void> {
    this.paused = true;
    for (const slot of this.slots.values()) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.again = false;
    }
    await Promise.allSettled([...this.inFlight]);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Adds a key (ticks within one period, jittered) or leaves an existing one alone. */
  add(key: string): void {
    if (this.slots.has(key)) return;
    this.slots.set(key, { timer: undefined, running: false, again: false, nextAtMs: 0 });
    if (!this.paused) this.arm(key, this.random() * Math.min(this.o.periodMs, 2_000));
  }

  /** Ticks a key soon (spec changed), without waiting for its period. */
  trigger(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return this.add(key);
    if (this.paused) return;
    if (slot.running) slot.again = true;
    else this.arm(key, 0);
  }

  remove(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    clearTimeout(slot.timer);
    this.slots.delete(key);
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  keys(): string[] {
    return [...this.slots.keys()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.pause();
    this.slots.clear();
  }

  private arm(key: string, delayMs: number): void {
    const slot = this.slots.get(key);
    if (!slot || this.paused) return;
    clearTimeout(slot.timer);
    slot.nextAtMs = Date.now() + delayMs;
    slot.timer = setTimeout(() => this.fire(key), Math.max(0, delayMs));
  }

  private fire(key: string): void {
    const slot = this.slots.get(key);
    if (!slot || this.paused) return;
    slot.timer = undefined;
    if (slot.running) {
      slot.again = true;
      return;
    }
    slot.running = true;
    const startedMs = Date.now();
    const p = this.runLimited(key).finally(() => {
      this.inFlight.delete(p);
      slot.running = false;
      if (!this.slots.has(key) || this.paused) return;
      if (slot.again) {
        slot.again = false;
        this.arm(key, 0);
      } else {
        // Fixed rate; a tick that overran its period starts the next one at once.
        this.arm(key, Math.max(0, startedMs + this.o.periodMs - Date.now()));
      }
    });
    this.inFlight.add(p);
  }

  private async runLimited(key: string): Promise<void> {
    // A finishing tick hands its slot straight to the next waiter, so the limit is never exceeded.
    if (this.active >= this.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      await this.o.run(key);
    } catch (err) {
      this.log.error({ key, err: err instanceof Error ? err.message : String(err) }, 'tick threw');
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
