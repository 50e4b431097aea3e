interface Slot<V> {
  value: V;
  expiresAt: number;
  /** Read since it last came up for eviction: it gets a second chance. */
  used: boolean;
}

/**
 * A bounded map whose entries expire, evicting by "second chance" (CLOCK), an LRU approximation:
 * a hit only sets a flag, where a strict LRU would move the entry on every read (a `Map` delete and
 * insert, measurable on a proxy's hot path, which reads two of these per request). When the map is
 * full, the oldest entries are inspected in insertion order: a used one is moved to the back with
 * its flag cleared, the first unused one is dropped.
 *
 * Expired entries are not deleted on read; callers decide whether an expired value is still
 * useful (the route cache serves it stale when Redis is down).
 */
export class TtlLru<K, V> {
  private readonly entries = new Map<K, Slot<V>>();

  constructor(private readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('maxEntries must be a positive integer');
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry, fresh or not, marked as used. */
  get(key: K): Slot<V> | undefined {
    const slot = this.entries.get(key);
    if (slot !== undefined) slot.used = true;
    return slot;
  }

  set(key: K, value: V, ttlMs: number, now = Date.now()): void {
    const slot = this.entries.get(key);
    if (slot !== undefined) {
      slot.value = value;
      slot.expiresAt = now + ttlMs;
      slot.used = true;
      return;
    }
    if (this.entries.size >= this.maxEntries) this.evictOne();
    this.entries.set(key, { value, expiresAt: now + ttlMs, used: false });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  values(): IterableIterator<Slot<V>> {
    return this.entries.values();
  }

  private evictOne(): void {
    // Terminates: each pass clears a flag, so within maxEntries + 1 steps an unused entry is first.
    for (;;) {
      const oldest = this.entries.entries().next();
      if (oldest.done) return;
      const [key, slot] = oldest.value;
      this.entries.delete(key);
      if (!slot.used) return;
      slot.used = false;
      this.entries.set(key, slot);
    }
  }
}
