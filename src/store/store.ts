import { FloeError } from '../errors.js';
import type { RunRecord } from '../model/run.js';
import type { OutputBatch, OutputLine } from '../model/output.js';

export interface ArchiveQuery {
  /** Only runs of this flow id. */
  flow?: string;
  /** At most this many, newest first. Default 50. */
  limit?: number;
  /** Only runs archived before this archive position (from a previous page's `next`). */
  before?: number;
}

export interface ArchivePage {
  runs: RunRecord[];
  /** Pass as `before` to get the next page; undefined on the last page. */
  next?: number;
}

/** One change to the meta area; a write without a value deletes the key. */
export interface MetaWrite {
  key: string;
  value?: string;
}

export interface OutputQuery {
  node?: string;
  /** First line number (`n`) to return. */
  from?: number;
  limit?: number;
  /** Only the last `tail` lines (after the node filter); `from` and `limit` are then ignored. */
  tail?: number;
}

/** What changed in an active run since it was last saved: its top-level fields and the nodes named. */
export interface RunChange {
  run: RunRecord;
  /** Ids of the node records to save from `run.nodes`; an id absent there deletes that node's record. */
  nodes: readonly string[];
}

/**
 * The run store speaks the hub's words. Every method that changes state resolves only once
 * the change is durable (fsynced where the store is on disk), so the hub acknowledges nothing
 * that a crash could lose. The exceptions are `saveProgress` and `appendOutput`, which the hub
 * acknowledges to no one: on return they survive a crash of the process (kill -9), not a power
 * cut, and the next durable write makes them durable along with it.
 */
export interface Store {
  /** The next run number of this host; never repeats, across restarts too. */
  nextRunNumber(): Promise<number>;
  /**
   * Adopt a trigger: take the next run number, and add the pend `build` makes with it to the
   * pending list, counter and pend in one atomic write (one durable write per adoption, not
   * two). Resolves with the pend; on a failed write neither is kept.
   *
   * `shown`, if given, is called with the pend before the write is done when its number is on
   * disk already (an adoption keeps the next number in its write), so the caller may show it to
   * another host meanwhile (issue 10: a hand-over's take goes out while the pend is written). A
   * number shown is never handed out again, whatever the write or a crash does.
   */
  adoptPend(build: (runNumber: number) => RunRecord, shown?: (run: RunRecord) => void): Promise<RunRecord>;
  /**
   * Adopt a trigger this host starts at once: as adoptPend, but the run goes straight to the
   * active list, counter and run in one atomic write (one durable write before its first task,
   * not two: issue 10).
   */
  adoptActive(build: (runNumber: number) => RunRecord): Promise<RunRecord>;
  /** Add a new pend to the pending list (in arrival order), whichever host's id it has; the run counter is not touched. */
  addPend(run: RunRecord): Promise<void>;
  /**
   * Move a pend from pending to active, atomically, saving its new state; a run that is not
   * pending here becomes active all the same. Rejects with conflict when the run is archived.
   */
  activate(run: RunRecord): Promise<void>;
  /**
   * Save the new state of an active run, durably: its top-level fields and the records of
   * `nodes` (every node of the run when absent). The cost is that of what is saved, not of
   * the run's length.
   */
  updateRun(run: RunRecord, nodes?: readonly string[]): Promise<void>;
  /**
   * Save the progress of active runs (a node started, ended, recorded a process group) in one
   * write that is not fsynced, ordered after every write asked for before it and before every
   * one asked for after. Resolves once the write is with the OS: it survives kill -9, not a power
   * cut. What `changes` holds is copied before this returns, so the caller may change the records
   * at once. Costs what changed, whatever the length of the run; a run that is not active rejects
   * the whole write with not-found.
   */
  saveProgress(changes: readonly RunChange[]): Promise<void>;
  /** Save the new state of a pending run (e.g. why it waits). */
  updatePend(run: RunRecord): Promise<void>;
  /**
   * Move a run from pending or active to the archive, and apply `meta` in the same atomic
   * write, so a crash never keeps one without the other; archiving an archived run again
   * saves its new state (and `meta`) and keeps its place in the archive.
   */
  archive(run: RunRecord, meta?: MetaWrite[]): Promise<void>;
  /**
   * Forget a pend that another host now runs: its pending entry and its record go in one
   * atomic write; a run that is not pending here (active, archived or unknown) is left alone.
   */
  handOff(run: string): Promise<void>;
  /**
   * Add lines to a run's output: in ascending `n`, after every line added before (the hub numbers
   * them so). Output is progress, acknowledged to no one: this may resolve before the lines are
   * durable, but a later getOutput sees them, and a later `archive` of the run stores (and makes
   * durable) them first. The batches' arrays are not changed, nor kept.
   */
  appendOutput(run: string, batches: OutputBatch[]): Promise<void>;
  listPending(): Promise<RunRecord[]>;
  listActive(): Promise<RunRecord[]>;
  listArchive(q?: ArchiveQuery): Promise<ArchivePage>;
  getRun(run: string): Promise<RunRecord | undefined>;
  getOutput(run: string, q?: OutputQuery): Promise<OutputLine[]>;
  /** A small durable key/value area for hub bookkeeping (e.g. poll-git's last seen refs). */
  getMeta(key: string): Promise<string | undefined>;
  putMeta(key: string, value: string): Promise<void>;
  /** Apply every write in order (a later one on the same key wins) in one atomic write; a malformed one rejects them all. */
  writeMeta(ops: MetaWrite[]): Promise<void>;
  /** Every meta entry whose key starts with `prefix`, in code point order of the keys. */
  listMeta(prefix: string): Promise<Array<{ key: string; value: string }>>;
  close(): Promise<void>;
}

/**
 * Copies `ops` for a store to apply, or throws bad-request naming the first malformed write.
 * The hub builds meta writes from peers' messages too, and a null stored as a value would
 * only fail later, at a read, far from where it came in.
 */
export function checkMetaWrites(ops: readonly MetaWrite[]): MetaWrite[] {
  if (!Array.isArray(ops)) throw new FloeError('bad-request', 'meta writes must be an array');
  return ops.map((op: unknown, i) => {
    if (typeof op !== 'object' || op === null) throw new FloeError('bad-request', `meta write [${i}] is not an object`);
    const { key, value } = op as Record<string, unknown>;
    if (typeof key !== 'string') throw new FloeError('bad-request', `meta write [${i}]: key must be a string, got ${typeof key}`);
    if (value !== undefined && typeof value !== 'string') {
      throw new FloeError(
        'bad-request',
        `meta write [${i}] (${key}): value must be a string or absent, got ${value === null ? 'null' : typeof value}`,
      );
    }
    return value === undefined ? { key } : { key, value };
  });
}
