import type { PublishedEvent } from '../model/events.js';

/**
 * Default cap on the JSON the history keeps: 64 output lines of the longest kind, fewer when escapes
 * swell them. A flood of output fills it in a fraction of a second whatever its size, and after a
 * run it stays held (with each event's websocket frame) until other events push it out, so it is
 * kept small (issue 10: at 16 MiB a host stayed some 25 MB further up after a 1,000,000-line run than
 * at 4 MiB). A client further behind resyncs.
 */
export const MAX_HISTORY_BYTES = 4 * 1024 * 1024;

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
 * What keeping `v` costs: at least the bytes of its JSON (UTF-8), which is what the websocket
 * caches beside each kept event, plus a fixed amount per value. Counted without serialising, as
 * it runs for every event, and events hold nothing but plain data; a string of control characters
 * encodes to six times its length, so its length alone would let the cached frames outgrow the cap.
 */
export function approxBytes(v: unknown, depth = 0): number {
  if (typeof v === 'string') return 16 + jsonStringBytes(v);
  if (typeof v !== 'object' || v === null) return 32; // a number's JSON is at most 24 characters
  // Deeper than events go unless a client sent it (a webhook's payload): rare, so serialising is fine.
  if (depth > 32) return 16 + deepJsonBytes(v);
  let n = 16;
  if (Array.isArray(v)) {
    for (const x of v) n += 1 + approxBytes(x, depth + 1);
  } else {
    for (const [k, x] of Object.entries(v)) n += 2 + jsonStringBytes(k) + approxBytes(x, depth + 1);
  }
  return n;
}

/** Any character JSON does not write as itself in one byte (that is: printable ASCII but `"` and `\`). */
const NOT_PLAIN = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/** Bytes of `JSON.stringify(s)` in UTF-8, or a little more; one pass, no copy. */
export function jsonStringBytes(s: string): number {
  // The regex skips a plain prefix (most output lines are all of it) several times faster than the loop.
  const first = s.search(NOT_PLAIN);
  if (first < 0) return 2 + s.length;
  let n = 2 + first;
  for (let i = first; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) n += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
    else if (c === 0x22 || c === 0x5c) n += 2;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c < 0xd800 || c > 0xdfff) n += 3;
    // A surrogate pair is one 4-byte character; a lone surrogate is escaped as \udXXX.
    else if (c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 6;
  }
  return n;
}

function deepJsonBytes(v: object): number {
  try {
    // Counts the JSON's own quotes and backslashes twice: still a bound, and no Buffer in the hub.
    return jsonStringBytes(JSON.stringify(v) ?? '');
  } catch {
    // Too deep even for JSON.stringify: the websocket cannot encode it either, so it caches nothing.
    return 0;
  }
}
