/**
 * A list+watch cache that keeps itself alive. client-node 1.4.0's ListWatch stops for good on any
 * watch error other than 410, reconnects in a tight loop when the server closes the stream, never
 * asks for bookmarks and never re-lists (see the dependency notes). This reflector is built on the
 * lower-level `Watch` and adds:
 *   - exponential backoff with jitter after every failure (list or watch), reset once a watch has
 *     stayed open or delivered events;
 *   - 410 Gone → immediate re-list; any other error → backoff, then re-list;
 *   - `allowWatchBookmarks` and a server-side `timeoutSeconds`, so a healthy watch sees traffic;
 *   - a watchdog that restarts the watch when nothing (not even a bookmark) arrived for a while, or
 *     when a connection attempt hangs;
 *   - a periodic full re-list as a safety net against missed events.
 * A re-list diffs against the cache and emits add/update/delete, so consumers see one consistent
 * event stream whatever happened underneath.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import { errorMessage } from './client.js';

export interface RawObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface RawList<R> {
  items: R[];
  metadata?: { resourceVersion?: string };
}

export interface InformerOptions<R extends RawObject, T> {
  /** For logs: `pods`, `podautoscalers.autoscaling.inferscale.dev`. */
  name: string;
  kc: k8s.KubeConfig;
  /** Collection path to watch, e.g. `/api/v1/pods` or `/api/v1/namespaces/ns/pods`. */
  path: string;
  /** The same collection as a LIST call (the typed client, or a raw request). */
  list: () => Promise<RawList<R>>;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Turns a raw object into what the cache stores. LIST results of typed clients carry Date objects
   * where watch events carry strings, so the transform is where both become one shape.
   */
  transform: (raw: R) => T;
  log?: Logger;
  /** Full re-list period. Default 5 min. */
  relistIntervalMs?: number;
  /** Restart the watch when nothing arrived for this long. Default 90 s (bookmarks come about every minute). */
  watchdogMs?: number;
  /** Server-side watch timeout range in seconds, randomised so replicas do not reconnect together. Default 240-360. */
  watchTimeoutSeconds?: [number, number];
  /** Backoff after failures. Default 500 ms doubling to 30 s, ±20 % jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Randomness for jitter (tests pass a fixed one). */
  random?: () => number;
}

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (obj: T, key: string) => void;

export interface InformerStats {
  lists: number;
  watches: number;
  errors: number;
  relistsForced: number;
  watchdogRestarts: number;
  lastError?: string;
  /** Wall-clock ms of the last successful list or watch event (incl. bookmarks). */
  lastContactMs: number;
}

interface Entry<T> {
  value: T;
  rv: string;
}

type WatchOutcome = 'closed' | 'expired' | 'restart';

export class Informer<R extends RawObject, T> {
  private readonly byNs = new Map<string, Map<string, Entry<T>>>();
  private readonly handlers: Record<InformerEvent, Set<InformerHandler<T>>> = {
    add: new Set(),
    update: new Set(),
    delete: new Set(),
  };
  private readonly log: Logger;
  private readonly watch: k8s.Watch;
  private resourceVersion = '';
  private stopped = true;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  /** Aborts the current watch (if connected) or ends the wait for a hanging connection attempt. */
  private interruptWatch: ((why: WatchOutcome) => void) | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wakeSleep: (() => void) | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private relistDue = false;
  private backoffMs: number;
  private readonly opts: Required<Pick<InformerOptions<R, T>, 'relistIntervalMs' | 'watchdogMs'>> & {
    timeout: [number, number];
    initialBackoffMs: number;
    maxBackoffMs: number;
    random: () => number;
  };
  readonly stats: InformerStats = {
    lists: 0,
    watches: 0,
    errors: 0,
    relistsForced: 0,
    watchdogRestarts: 0,
    lastContactMs: 0,
  };

  constructor(private readonly o: InformerOptions<R, T>) {
    this.log = (o.log ?? silentLogger()).child({ informer: o.name });
    this.watch = new k8s.Watch(o.kc);
    this.opts = {
      relistIntervalMs: o.relistIntervalMs ?? 5 * 60_000,
      watchdogMs: o.watchdogMs ?? 90_000,
      timeout: o.watchTimeoutSeconds ?? [240, 360],
      initialBackoffMs: o.backoff?.initialMs ?? 500,
      maxBackoffMs: o.backoff?.maxMs ?? 30_000,
      random: o.random ?? Math.random,
    };
    this.backoffMs = this.opts.initialBackoffMs;
  }

  on(event: InformerEvent, handler: InformerHandler<T>): void {
    this.handlers[event].add(handler);
  }

  off(event: InformerEvent, handler: InformerHandler<T>): void {
    this.handlers[event].delete(handler);
  }

  /** Starts listing and watching in the background; resolves immediately. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.relistTimer = setInterval(() => {
      this.relistDue = true;
      this.stats.relistsForced++;
      this.interruptWatch?.('restart');
    }, this.opts.relistIntervalMs);
    this.relistTimer.unref();
    const check = Math.max(100, Math.min(this.opts.watchdogMs / 4, 5_000));
    this.watchdogTimer = setInterval(() => this.watchdog(), check);
    this.watchdogTimer.unref();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.relistTimer);
    clearInterval(this.watchdogTimer);
    this.interruptWatch?.('restart');
    this.wakeSleep?.();
    await this.loop;
    this.loop = undefined;
  }

  /** A watch stream is open right now (the cache follows the server live). */
  get watching(): boolean {
    return this.connected;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves after the first successful list; rejects after `timeoutMs`. */
  waitForSync(timeoutMs: number): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        reject(
          new Error(
            `${this.o.name} informer did not sync within ${timeoutMs} ms${this.stats.lastError ? ` (last error: ${this.stats.lastError})` : ''}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.syncWaiters.push(done);
    });
  }

  /** Milliseconds since the informer last heard from the apiserver (list, event or bookmark). */
  staleForMs(nowMs = Date.now()): number {
    return this.stats.lastContactMs === 0 ? Infinity : nowMs - this.stats.lastContactMs;
  }

  get(namespace: string, name: string): T | undefined {
    return this.byNs.get(namespace)?.get(name)?.value;
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.byNs.get(namespace)?.values() ?? [])].map((e) => e.value);
    const out: T[] = [];
    for (const m of this.byNs.values()) for (const e of m.values()) out.push(e.value);
    return out;
  }

  get size(): number {
    let n = 0;
    for (const m of this.byNs.values()) n += m.size;
    return n;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.resourceVersion || this.relistDue) {
          this.relistDue = false;
          await this.relist();
        }
        if (this.stopped) break;
        const opened = Date.now();
        const eventsBefore = this.eventCount;
        const outcome = await this.watchOnce();
        // A watch that stayed up or carried events proves the connection is healthy again.
        if (Date.now() - opened >= 5_000 || this.eventCount > eventsBefore)
          this.backoffMs = this.opts.initialBackoffMs;
        if (outcome === 'expired') {
          this.log.info('watch expired (410 Gone); re-listing');
          this.resourceVersion = '';
        } else if (outcome === 'closed' && Date.now() - opened < 1_000 && this.eventCount === eventsBefore) {
          // The server closed an empty watch at once: do not hammer it (client-node #1933).
          await this.sleep(this.nextBackoff());
        }
      } catch (err) {
        if (this.stopped) break;
        this.stats.errors++;
        this.stats.lastError = errorMessage(err);
        const wait = this.nextBackoff();
        this.log.warn({ err: this.stats.lastError, retryInMs: Math.round(wait) }, 'list/watch failed');
        // After an error the watch position may be unusable; re-list once the server answers.
        this.resourceVersion = '';
        await this.sleep(wait);
      }
    }
  }

  private eventCount = 0;

  private nextBackoff(): number {
    const base = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs);
    return base * (0.8 + 0.4 * this.opts.random());
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeSleep = () => {
        clearTimeout(this.sleepTimer);
        this.wakeSleep = undefined;
        resolve();
      };
      this.sleepTimer = setTimeout(() => this.wakeSleep?.(), ms);
    });
  }

  private async relist(): Promise<void> {
    const list = await this.o.list();
    this.stats.lists++;
    this.stats.lastContactMs = Date.now();
    const seen = new Set<string>();
    for (const raw of list.items ?? []) {
      const key = this.upsert(raw);
      if (key) seen.add(key);
    }
    for (const [ns, m] of this.byNs) {
      for (const [name, entry] of m) {
        const key = `${ns}/${name}`;
        if (!seen.has(key)) {
          m.delete(name);
          this.emit('delete', entry.value, key);
        }
      }
      if (m.size === 0) this.byNs.delete(ns);
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.backoffMs = this.opts.initialBackoffMs;
    if (!this.synced) {
      this.synced = true;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w();
    }
    this.log.debug({ items: list.items?.length ?? 0, resourceVersion: this.resourceVersion }, 'listed');
  }

  /** Inserts or replaces; returns the key, or undefined for an object without a name. */
  private upsert(raw: R): string | undefined {
    const name = raw.metadata?.name;
    if (!name) return undefined;
    const ns = raw.metadata?.namespace ?? '';
    const key = `${ns}/${name}`;
    const rv = raw.metadata?.resourceVersion ?? '';
    let m = this.byNs.get(ns);
    const prior = m?.get(name);
    if (prior && prior.rv === rv && rv !== '') return key;
    let value: T;
    try {
      value = this.o.transform(raw);
    } catch (err) {
      this.log.warn({ object: key, err: errorMessage(err) }, 'skipping an object that could not be read');
      return key;
    }
    if (!m) {
      m = new Map();
      this.byNs.set(ns, m);
    }
    m.set(name, { value, rv });
    this.emit(prior ? 'update' : 'add', value, key);
    return key;
  }

  private remove(raw: R): void {
    const name = raw.metadata?.name;
    if (!name) return;
    const ns = raw.metadata?.namespace ?? '';
    const m = this.byNs.get(ns);
    const prior = m?.get(name);
    if (!m || !prior) return;
    m.delete(name);
    if (m.size === 0) this.byNs.delete(ns);
    this.emit('delete', prior.value, `${ns}/${name}`);
  }

  private emit(event: InformerEvent, value: T, key: string): void {
    for (const h of this.handlers[event]) {
      try {
        h(value, key);
      } catch (err) {
        this.log.error({ event, object: key, err: errorMessage(err) }, 'informer handler threw');
      }
    }
  }

  private watchdog(): void {
    if (this.stopped || !this.interruptWatch) return;
    if (Date.now() - this.lastWatchActivityMs > this.opts.watchdogMs) {
      this.stats.watchdogRestarts++;
      this.log.warn({ silentForMs: Date.now() - this.lastWatchActivityMs }, 'watch silent; restarting it');
      this.interruptWatch('restart');
    }
  }

  private lastWatchActivityMs = 0;
  private connected = false;

  private watchOnce(): Promise<WatchOutcome> {
    const [lo, hi] = this.opts.timeout;
    const timeoutSeconds = Math.round(lo + (hi - lo) * this.opts.random());
    const query: Record<string, string | boolean | number> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds,
    };
    if (this.o.labelSelector) query.labelSelector = this.o.labelSelector;
    if (this.o.fieldSelector) query.fieldSelector = this.o.fieldSelector;
    this.stats.watches++;
    this.lastWatchActivityMs = Date.now();

    return new Promise<WatchOutcome>((resolve, reject) => {
      let settled = false;
      let expired = false;
      let controller: AbortController | undefined;
      let interrupted: WatchOutcome | undefined;
      let watchError: Error | undefined;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.connected = false;
        this.interruptWatch = undefined;
        fn();
      };
      this.interruptWatch = (why) => {
        interrupted = why;
        if (controller) controller.abort();
        // A connection attempt that never returned: give up on it; its controller is aborted when it arrives.
        else settle(() => resolve(why));
      };
      const onEvent = (type: string, obj: unknown) => {
        if (settled) return;
        this.lastWatchActivityMs = Date.now();
        this.stats.lastContactMs = this.lastWatchActivityMs;
        const o = obj as R & { code?: number; message?: string; kind?: string };
        switch (type) {
          case 'ADDED':
          case 'MODIFIED':
            this.eventCount++;
            this.upsert(o);
            break;
          case 'DELETED':
            this.eventCount++;
            this.remove(o);
            break;
          case 'BOOKMARK':
            break;
          case 'ERROR':
            if (o.code === 410) expired = true;
            else
              watchError = new Error(
                `watch error event: ${o.code ?? ''} ${o.message ?? JSON.stringify(obj)}`,
              );
            return;
          default:
            return;
        }
        const rv = o.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
      };
      const onDone = (err: unknown) => {
        settle(() => {
          if (interrupted) resolve(interrupted);
          else if (expired) resolve('expired');
          else if (err && (err as { statusCode?: number }).statusCode === 410) resolve('expired');
          else if (watchError) reject(watchError);
          else if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve('closed');
        });
      };
      this.watch.watch(this.o.path, query, onEvent, onDone).then(
        (c) => {
          controller = c;
          if (settled || interrupted) c.abort();
          else this.connected = true;
        },
        (err: unknown) => onDone(err),
      );
    });
  }
}
