import type { PublishedEvent } from '../model/events.js';

/** Default cap on the text the history keeps; 256 output lines of the longest kind. */
export const MAX_HISTORY_BYTES = 16 * 1024 * 1024;

/**
 * The last published events, in order: at most `size` of them and about `maxBytes` of their
 * text (oldest dropped first); O(1) per event on the hot path, besides sizing the event.
 */
export class EventRing {
  private readonly buf: Array<PublishedEvent | undefined>;
  private readonly sizes: Float64Array;
  private oldest = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    size: number,
    private readonly maxBytes = MAX_HISTORY_BYTES,
  ) {
    this.buf = new Array<PublishedEvent | undefined>(Math.max(1, size));
    this.sizes = new Float64Array(this.buf.length);
  }

  push(e: PublishedEvent): void {
    if (this.count === this.buf.length) this.dropOldest();
    const slot = (this.oldest + this.count) % this.buf.length;
    const size = approxBytes(e);
    this.buf[slot] = e;
    this.sizes[slot] = size;
    this.count++;
    this.bytes += size;
    // Output lines are capped in length, not in number, so the count alone does not bound memory.
    while (this.bytes > this.maxBytes && this.count > 0) this.dropOldest();
  }

  /**
   * Events with seq > `seq`, oldest first; undefined when the oldest of them has already
   * been dropped (the caller must reload state instead of replaying).
   */
  since(seq: number, lastSeq: number): PublishedEvent[] | undefined {
    if (seq === lastSeq) return [];
    // A seq from the future was numbered by an earlier run of this host: replay cannot help.
    if (seq > lastSeq) return undefined;
    // Seqs are consecutive and every published event is pushed, so the kept events are the last
    // `count` seqs however many were dropped for size.
    const wanted = lastSeq - seq;
    if (wanted > this.count) return undefined;
    const out: PublishedEvent[] = [];
    for (let i = this.count - wanted; i < this.count; i++) {
      const e = this.buf[(this.oldest + i) % this.buf.length];
      if (e) out.push(e);
    }
    return out;
  }

  private dropOldest(): void {
    this.buf[this.oldest] = undefined;
    this.bytes -= this.sizes[this.oldest]!; // oldest is always a slot of the ring
    this.oldest = (this.oldest + 1) % this.buf.length;
    this.count--;
  }
}

/**
 * What keeping `v` costs, roughly: the length of its strings plus a fixed amount per value. No
 * serialising: it runs for every event, and events hold nothing but plain data.
 */
export function approxBytes(v: unknown, depth = 0): number {
  if (typeof v === 'string') return 16 + v.length;
  if (typeof v !== 'object' || v === null || depth > 32) return 16;
  let n = 16;
  if (Array.isArray(v)) {
    for (const x of v) n += approxBytes(x, depth + 1);
  } else {
    for (const [k, x] of Object.entries(v)) n += k.length + approxBytes(x, depth + 1);
  }
  return n;
}
