/**
 * A map that forgets: at most `max` entries, and none older than `ttlMs` since it was last set.
 * Past `max` the entry set longest ago goes first. Time comes from `now`, so tests need no
 * sleeping. Map iteration order is the set order (set moves a key to the end), which makes both
 * purges a walk from the front.
 */
export class RecentMap<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** The value of `key`, unless it was never set, was deleted or has aged out. */
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() - e.at >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Sets `key` and makes it the most recent, dropping aged-out entries and, past `max`, the oldest. */
  set(key: string, value: V): void {
    const now = this.now();
    this.entries.delete(key);
    for (const [k, e] of this.entries) {
      if (now - e.at < this.ttlMs && this.entries.size < this.max) break;
      this.entries.delete(k);
    }
    this.entries.set(key, { value, at: now });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Entries held, aged-out ones not yet dropped included. */
  get size(): number {
    return this.entries.size;
  }
}
