import { RecentMap } from './recent-map.js';

export interface BackoffPolicy {
  /** Failures a key is answered before it must wait: the free-th failure starts the first wait. */
  free: number;
  /** The first wait, after the `free`-th failure; each further failure doubles it. */
  firstWaitMs: number;
  /** The longest wait. */
  maxWaitMs: number;
  /** Keys tracked at most; past it the key that failed longest ago is forgotten. */
  maxKeys: number;
  /** A key with no failure for this long is forgotten: its count starts over. At least maxWaitMs. */
  forgetMs: number;
}

interface Failures {
  count: number;
  /** Epoch ms before which the key must wait; 0 while its failures are free. */
  until: number;
}

/**
 * Exponential backoff per key (a client address, a user name): `free` failures, then a wait of
 * firstWaitMs, doubling with each failure up to maxWaitMs. A key that waits is refused without
 * its attempt being counted, so it meets at most one failure per wait. Memory is bounded by
 * maxKeys whatever keys a client makes up.
 */
export class Backoff {
  private readonly keys: RecentMap<Failures>;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly now: () => number,
  ) {
    this.keys = new RecentMap(Math.max(1, policy.maxKeys), Math.max(policy.forgetMs, policy.maxWaitMs), now);
  }

  /** Ms `key` must still wait; 0 when it may try now. */
  waitMs(key: string): number {
    const f = this.keys.get(key);
    // Capped: a wall clock stepped back must not stretch a wait past the longest one.
    return f ? Math.min(this.policy.maxWaitMs, Math.max(0, f.until - this.now())) : 0;
  }

  /** Counts a failure of `key`; answers the count and the wait it now has (0 within the free ones). */
  fail(key: string): { count: number; waitMs: number } {
    const count = (this.keys.get(key)?.count ?? 0) + 1;
    const { free, firstWaitMs, maxWaitMs } = this.policy;
    const waitMs = count < free ? 0 : Math.min(maxWaitMs, firstWaitMs * 2 ** Math.min(count - free, 52));
    this.keys.set(key, { count, until: waitMs > 0 ? this.now() + waitMs : 0 });
    return { count, waitMs };
  }

  /**
   * Takes back the failure that `fail` answered as `count` (it turned out to be a success), and
   * ends the wait that failure started, unless a later failure has been counted since: that one
   * keeps its wait. Unlike clear, the failures before it stand.
   */
  takeBack(key: string, count: number): void {
    const f = this.keys.get(key);
    // Cleared or forgotten since: nothing of this failure is left.
    if (!f || f.count < count) return;
    // Changed in place, so the key is forgotten forgetMs after its last real failure.
    if (f.count === count) f.until = 0;
    f.count -= 1;
  }

  /** Forgets the failures of `key` (it succeeded). */
  clear(key: string): void {
    this.keys.delete(key);
  }

  /** Keys tracked (some may have aged out and not been dropped yet). */
  get size(): number {
    return this.keys.size;
  }
}
