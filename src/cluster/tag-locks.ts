import type { LockState } from './messages.js';

/** One run waiting for (or, at the head, holding) a resource tag. */
export interface TagQueueEntry {
  run: string;
  /** URL of the host that asked: it is told when the run reaches the head. */
  host: string;
  at: number;
  /** Arrival number within the tag; orders the persisted entries. */
  seq: number;
}

/** A person released a tag held by a run whose host was lost. */
export interface ManualRelease {
  run: string;
  by: string;
  at: number;
}

/** One tag's state as the owner keeps it in memory. */
export interface TagLockState {
  tag: string;
  /** First come, first served; the head holds the tag. */
  queue: TagQueueEntry[];
  /** Runs that released the tag, oldest first: a late, duplicated request from one is refused. */
  released: string[];
  manual: ManualRelease[];
}

/** A change to persist, as the store's meta writes take it (no value: delete). */
export interface LockWrite {
  key: string;
  value?: string;
}

/** How many released runs are remembered per tag to refuse their late requests. */
const RELEASED_KEPT = 1000;
const MANUAL_KEPT = 50;
/** Separates a tag from the rest of a key; tags and run ids never contain it (parsePeerRequest refuses control characters). */
const SEP = '\u001f';
export const LOCK_PREFIX = 'lock:';
const QUEUE = `${LOCK_PREFIX}q:`;
const RELEASED = `${LOCK_PREFIX}r:`;
const MANUAL = `${LOCK_PREFIX}m:`;

const queueKey = (tag: string, seq: number) => `${QUEUE}${tag}${SEP}${pad(seq)}`;
const releasedKey = (tag: string, run: string) => `${RELEASED}${tag}${SEP}${run}`;
const manualKey = (tag: string, at: number, run: string) => `${MANUAL}${tag}${SEP}${pad(at)}${SEP}${run}`;

/**
 * The owner side of cluster-wide resource-tag locks: a FIFO queue per tag whose head holds it.
 * Pure: every change returns the writes that make it durable, each a small key, so a request
 * or release costs the same with 1,000 runs queued as with one. The hub writes them before it
 * answers, so a grant is never forgotten by a restarted owner.
 */
export class TagLocks {
  private readonly tags = new Map<string, TagLockState & { nextSeq: number; releasedAt: Map<string, number> }>();

  /** Rebuilds the state from the persisted writes (`listMeta(LOCK_PREFIX)`); unreadable entries are returned. */
  static restore(entries: Array<{ key: string; value: string }>): { locks: TagLocks; skipped: string[] } {
    const locks = new TagLocks();
    const skipped: string[] = [];
    const released: Array<{ tag: string; run: string; n: number }> = [];
    for (const { key, value } of entries) {
      const parts = key.slice(QUEUE.length).split(SEP);
      const tag = parts[0] ?? '';
      try {
        if (key.startsWith(QUEUE)) {
          const e = JSON.parse(value) as TagQueueEntry;
          if (typeof e.run !== 'string' || typeof e.host !== 'string' || typeof e.seq !== 'number') throw new Error('bad entry');
          const s = locks.ensure(tag);
          s.queue.push(e);
          s.nextSeq = Math.max(s.nextSeq, e.seq + 1);
        } else if (key.startsWith(RELEASED)) {
          released.push({ tag, run: parts.slice(1).join(SEP), n: Number(value) });
        } else if (key.startsWith(MANUAL)) {
          const m = JSON.parse(value) as ManualRelease;
          locks.ensure(tag).manual.push(m);
        } else skipped.push(key);
      } catch {
        skipped.push(key);
      }
    }
    released.sort((a, b) => a.n - b.n);
    for (const r of released) {
      const s = locks.ensure(r.tag);
      s.released.push(r.run);
      s.releasedAt.set(r.run, r.n);
      s.nextSeq = Math.max(s.nextSeq, r.n + 1);
    }
    for (const s of locks.tags.values()) s.queue.sort((a, b) => a.seq - b.seq);
    return { locks, skipped };
  }

  state(tag: string): TagLockState | undefined {
    return this.tags.get(tag);
  }

  all(): TagLockState[] {
    return [...this.tags.values()];
  }

  /** Queue `run` for `tag` (idempotent). */
  request(tag: string, run: string, host: string, now: number): { reply: LockState; writes: LockWrite[] } {
    const s = this.ensure(tag);
    if (s.releasedAt.has(run)) return { reply: { state: 'released' }, writes: [] };
    let i = s.queue.findIndex((e) => e.run === run);
    const writes: LockWrite[] = [];
    if (i < 0) {
      const e: TagQueueEntry = { run, host, at: now, seq: s.nextSeq++ };
      s.queue.push(e);
      writes.push({ key: queueKey(tag, e.seq), value: JSON.stringify(e) });
      i = s.queue.length - 1;
    }
    return { reply: replyAt(s, i), writes };
  }

  /**
   * `run` no longer needs `tag` (idempotent). Returns the entry that now holds the tag when the
   * holder changed, so its host can be told.
   */
  release(tag: string, run: string, now: number, by?: string): { writes: LockWrite[]; granted?: TagQueueEntry } {
    const s = this.ensure(tag);
    if (s.releasedAt.has(run)) return { writes: [] };
    const i = s.queue.findIndex((e) => e.run === run);
    const writes: LockWrite[] = [];
    const entry = i >= 0 ? s.queue[i] : undefined;
    if (entry) {
      s.queue.splice(i, 1);
      writes.push({ key: queueKey(tag, entry.seq) });
    }
    const n = s.nextSeq++;
    s.released.push(run);
    s.releasedAt.set(run, n);
    writes.push({ key: releasedKey(tag, run), value: String(n) });
    while (s.released.length > RELEASED_KEPT) {
      const old = s.released.shift() as string;
      s.releasedAt.delete(old);
      writes.push({ key: releasedKey(tag, old) });
    }
    if (by !== undefined) {
      const m: ManualRelease = { run, by, at: now };
      s.manual.push(m);
      writes.push({ key: manualKey(tag, now, run), value: JSON.stringify(m) });
      while (s.manual.length > MANUAL_KEPT) {
        const old = s.manual.shift() as ManualRelease;
        writes.push({ key: manualKey(tag, old.at, old.run) });
      }
    }
    return { writes, granted: i === 0 ? s.queue[0] : undefined };
  }

  /** The run holding each tag. */
  holders(): Map<string, string> {
    const out = new Map<string, string>();
    for (const s of this.tags.values()) {
      const head = s.queue[0];
      if (head) out.set(s.tag, head.run);
    }
    return out;
  }

  private ensure(tag: string) {
    let s = this.tags.get(tag);
    if (!s) {
      s = { tag, queue: [], released: [], manual: [], nextSeq: 0, releasedAt: new Map() };
      this.tags.set(tag, s);
    }
    return s;
  }
}

/**
 * Where the run at `i` stands. A waiting run names the run just ahead of it, which changes only
 * when that one leaves, so a release changes one waiting run's answer, not every one's.
 */
function replyAt(s: TagLockState, i: number): LockState {
  const head = s.queue[0];
  const ahead = s.queue[i - 1];
  if (i === 0 || !head || !ahead) return { state: 'granted' };
  return { state: 'queued', position: i + 1, holder: head.run, ahead: ahead.run };
}

function pad(n: number): string {
  return String(n).padStart(16, '0');
}
