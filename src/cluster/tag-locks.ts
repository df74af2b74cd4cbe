import type { LockState } from './messages.js';

/** One run waiting for (or, at the head, holding) a resource tag. */
export interface TagQueueEntry {
  run: string;
  /** URL of the host that asked: it is told when the run reaches the head. */
  host: string;
  at: number;
}

/** A person released a tag held by a run whose host was lost. */
export interface ManualRelease {
  run: string;
  by: string;
  at: number;
}

/** Everything the owner host persists for one tag (as one value, under `lock:<tag>`). */
export interface TagLockState {
  tag: string;
  /** First come, first served; the head holds the tag. */
  queue: TagQueueEntry[];
  /** Runs that released the tag, newest last: a late, duplicated request from one is refused. */
  released: string[];
  manual: ManualRelease[];
}

/** How many released runs are remembered per tag to refuse their late requests. */
const RELEASED_KEPT = 1000;
const MANUAL_KEPT = 50;

/**
 * The owner side of cluster-wide resource-tag locks: a FIFO queue per tag whose head holds it.
 * Pure: the hub persists `state(tag)` after every change that returns `changed`, before it
 * answers (so a grant is never forgotten by a restarted owner).
 */
export class TagLocks {
  private readonly tags = new Map<string, TagLockState>();

  constructor(saved: TagLockState[] = []) {
    for (const s of saved) this.tags.set(s.tag, s);
  }

  state(tag: string): TagLockState | undefined {
    return this.tags.get(tag);
  }

  all(): TagLockState[] {
    return [...this.tags.values()];
  }

  /** Queue `run` for `tag` (idempotent). */
  request(tag: string, run: string, host: string, now: number): { reply: LockState; changed: boolean } {
    const s = this.ensure(tag);
    if (s.released.includes(run)) return { reply: { state: 'released' }, changed: false };
    let i = s.queue.findIndex((e) => e.run === run);
    let changed = false;
    if (i < 0) {
      s.queue.push({ run, host, at: now });
      i = s.queue.length - 1;
      changed = true;
    }
    return { reply: replyAt(s, i), changed };
  }

  /** Where `run` stands for `tag`, without queueing it. */
  standing(tag: string, run: string): LockState | undefined {
    const s = this.tags.get(tag);
    if (!s) return undefined;
    if (s.released.includes(run)) return { state: 'released' };
    const i = s.queue.findIndex((e) => e.run === run);
    return i < 0 ? undefined : replyAt(s, i);
  }

  /**
   * `run` no longer needs `tag` (idempotent). Returns the entry that now holds the tag when the
   * holder changed, so its host can be told.
   */
  release(tag: string, run: string, now: number, by?: string): { changed: boolean; granted?: TagQueueEntry } {
    const s = this.ensure(tag);
    const i = s.queue.findIndex((e) => e.run === run);
    const known = s.released.includes(run);
    if (i < 0 && known) return { changed: false };
    if (i >= 0) s.queue.splice(i, 1);
    s.released.push(run);
    if (s.released.length > RELEASED_KEPT) s.released.splice(0, s.released.length - RELEASED_KEPT);
    if (by !== undefined) {
      s.manual.push({ run, by, at: now });
      if (s.manual.length > MANUAL_KEPT) s.manual.splice(0, s.manual.length - MANUAL_KEPT);
    }
    return { changed: true, granted: i === 0 ? s.queue[0] : undefined };
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

  private ensure(tag: string): TagLockState {
    let s = this.tags.get(tag);
    if (!s) {
      s = { tag, queue: [], released: [], manual: [] };
      this.tags.set(tag, s);
    }
    return s;
  }
}

function replyAt(s: TagLockState, i: number): LockState {
  const head = s.queue[0];
  if (i === 0 || !head) return { state: 'granted' };
  return { state: 'queued', position: i + 1, holder: head.run };
}

/** Parses a persisted lock state; undefined for anything malformed (the hub logs and skips it). */
export function parseTagLockState(json: string): TagLockState | undefined {
  try {
    const v = JSON.parse(json) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const s = v as Partial<TagLockState>;
    if (typeof s.tag !== 'string' || !Array.isArray(s.queue) || !Array.isArray(s.released)) return undefined;
    return { tag: s.tag, queue: s.queue, released: s.released, manual: Array.isArray(s.manual) ? s.manual : [] };
  } catch {
    return undefined;
  }
}
