/**
 * An indexed binary min-heap of items keyed by a time: the event loop keeps every replica with a
 * pending engine step here and re-keys one replica after each step or enqueue in O(log n).
 * Ties are broken by `order` so the simulation is deterministic.
 */
export interface HeapItem {
  /** Position in the heap, -1 when absent; owned by the heap. */
  heapIndex: number;
  /** Tie-breaker: smaller first. */
  readonly order: number;
}

export class TimeHeap<T extends HeapItem> {
  private readonly items: T[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The earliest item, or undefined. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Key of the earliest item, or +Infinity when empty. */
  peekTime(): number {
    return this.items.length === 0 ? Infinity : this.keys[0]!;
  }

  /** Inserts, re-keys or removes `item`: `time === undefined` removes it. */
  set(item: T, time: number | undefined): void {
    const i = item.heapIndex;
    if (time === undefined) {
      if (i >= 0) this.removeAt(i);
      return;
    }
    if (i < 0) {
      item.heapIndex = this.items.length;
      this.items.push(item);
      this.keys.push(time);
      this.up(item.heapIndex);
      return;
    }
    const old = this.keys[i]!;
    this.keys[i] = time;
    if (time < old) this.up(i);
    else if (time > old) this.down(i);
  }

  private less(a: number, b: number): boolean {
    const ka = this.keys[a]!;
    const kb = this.keys[b]!;
    return ka < kb || (ka === kb && this.items[a]!.order < this.items[b]!.order);
  }

  private swap(a: number, b: number): void {
    const ia = this.items[a]!;
    const ib = this.items[b]!;
    this.items[a] = ib;
    this.items[b] = ia;
    ia.heapIndex = b;
    ib.heapIndex = a;
    const k = this.keys[a]!;
    this.keys[a] = this.keys[b]!;
    this.keys[b] = k;
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private removeAt(i: number): void {
    const last = this.items.length - 1;
    const item = this.items[i]!;
    if (i !== last) this.swap(i, last);
    this.items.pop();
    this.keys.pop();
    item.heapIndex = -1;
    if (i < this.items.length) {
      this.up(i);
      this.down(i);
    }
  }
}
