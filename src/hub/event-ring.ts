import type { PublishedEvent } from '../model/events.js';

/** The last `size` published events, in order; O(1) per event on the hot path. */
export class EventRing {
  private readonly buf: Array<PublishedEvent | undefined>;
  private next = 0;
  private count = 0;

  constructor(size: number) {
    this.buf = new Array<PublishedEvent | undefined>(Math.max(1, size));
  }

  push(e: PublishedEvent): void {
    this.buf[this.next] = e;
    this.next = (this.next + 1) % this.buf.length;
    if (this.count < this.buf.length) this.count++;
  }

  /**
   * Events with seq > `seq`, oldest first; undefined when the oldest of them has already
   * been dropped (the caller must reload state instead of replaying).
   */
  since(seq: number, lastSeq: number): PublishedEvent[] | undefined {
    if (seq === lastSeq) return [];
    // A seq from the future was numbered by an earlier run of this host: replay cannot help.
    if (seq > lastSeq) return undefined;
    const wanted = lastSeq - seq;
    if (wanted > this.count) return undefined;
    const out: PublishedEvent[] = [];
    for (let i = wanted; i > 0; i--) {
      const e = this.buf[(this.next - i + this.buf.length) % this.buf.length];
      if (e) out.push(e);
    }
    return out;
  }
}
