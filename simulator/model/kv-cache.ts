/**
 * KV block accounting of one replica with vLLM-style automatic prefix caching.
 *
 * Blocks are counted, not materialised. A block is either free, held (privately by one request or
 * shared through a cache entry with refs > 0), or cached-and-evictable (a cache entry nobody holds).
 * A cache entry stands for one prefix segment (a trace hash id, e.g. a 512-token Mooncake block) and
 * owns the whole 16-token blocks covering it. Evictable entries are reused least-recently-released
 * first, the way vLLM's free-block queue hands out cached blocks.
 */

export interface CacheEntry {
  readonly id: number;
  readonly blocks: number;
  readonly tokens: number;
  refs: number;
  prev: CacheEntry | undefined;
  next: CacheEntry | undefined;
}

export class KvBlockPool {
  readonly total: number;
  /** Blocks neither held nor cached. */
  free: number;
  /** Blocks of cache entries with refs === 0 (reusable, count as free in vLLM's usage gauge). */
  evictable = 0;
  /** Cache entries dropped to make room. */
  evictions = 0;
  private readonly entries = new Map<number, CacheEntry>();
  private lruHead: CacheEntry | undefined;
  private lruTail: CacheEntry | undefined;

  constructor(totalBlocks: number) {
    this.total = totalBlocks;
    this.free = totalBlocks;
  }

  /** Held blocks: what `kv_cache_usage_perc` reports as used. */
  get used(): number {
    return this.total - this.free - this.evictable;
  }

  get cachedEntries(): number {
    return this.entries.size;
  }

  lookup(id: number): CacheEntry | undefined {
    return this.entries.get(id);
  }

  /** Takes a reference on an entry (pulls it out of the eviction queue). */
  acquire(e: CacheEntry): void {
    if (e.refs === 0) {
      this.unlink(e);
      this.evictable -= e.blocks;
    }
    e.refs++;
  }

  /** Drops a reference; an unreferenced entry becomes the most recently released evictable one. */
  release(e: CacheEntry): void {
    e.refs--;
    if (e.refs === 0) {
      this.append(e);
      this.evictable += e.blocks;
    }
  }

  /** Takes `n` blocks for private use, evicting cached entries as needed; false (no change) if impossible. */
  allocate(n: number): boolean {
    if (n <= 0) return true;
    if (this.free + this.evictable < n) return false;
    while (this.free < n) {
      const victim = this.lruHead as CacheEntry;
      this.unlink(victim);
      this.entries.delete(victim.id);
      this.evictable -= victim.blocks;
      this.free += victim.blocks;
      this.evictions++;
    }
    this.free -= n;
    return true;
  }

  /** Returns `n` privately held blocks. */
  freeBlocks(n: number): void {
    this.free += n;
  }

  /**
   * Turns `blocks` privately held blocks holding segment `id` into a cache entry referenced once
   * (by the caller). Returns undefined, changing nothing, if the id is already cached.
   */
  register(id: number, blocks: number, tokens: number): CacheEntry | undefined {
    if (this.entries.has(id)) return undefined;
    const e: CacheEntry = { id, blocks, tokens, refs: 1, prev: undefined, next: undefined };
    this.entries.set(id, e);
    return e;
  }

  /** Every cache entry (for invariant checks). */
  entriesForCheck(): IterableIterator<CacheEntry> {
    return this.entries.values();
  }

  private append(e: CacheEntry): void {
    e.prev = this.lruTail;
    e.next = undefined;
    if (this.lruTail) this.lruTail.next = e;
    else this.lruHead = e;
    this.lruTail = e;
  }

  private unlink(e: CacheEntry): void {
    if (e.prev) e.prev.next = e.next;
    else this.lruHead = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.lruTail = e.prev;
    e.prev = undefined;
    e.next = undefined;
  }
}
