import type { RunRecord } from '../model/run.js';
import type { OutputLine } from '../model/output.js';

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

export interface OutputQuery {
  node?: string;
  /** First line number (`n`) to return. */
  from?: number;
  limit?: number;
  /** Only the last `tail` lines (after the node filter); `from` and `limit` are then ignored. */
  tail?: number;
}

/**
 * The run store speaks the hub's words. Every method resolves only once the change is
 * durable, so the hub acknowledges nothing that a crash could lose.
 */
export interface Store {
  /** The next run number of this host; never repeats, across restarts too. */
  nextRunNumber(): Promise<number>;
  /** Add a new pend to the pending list (in arrival order). */
  addPend(run: RunRecord): Promise<void>;
  /** Move a pend from pending to active, atomically, saving its new state. */
  activate(run: RunRecord): Promise<void>;
  /** Save the new state of an active run. */
  updateRun(run: RunRecord): Promise<void>;
  /** Save the new state of a pending run (e.g. why it waits). */
  updatePend(run: RunRecord): Promise<void>;
  /** Move a run from pending or active to the archive, atomically. */
  archive(run: RunRecord): Promise<void>;
  appendOutput(run: string, lines: OutputLine[]): Promise<void>;
  listPending(): Promise<RunRecord[]>;
  listActive(): Promise<RunRecord[]>;
  listArchive(q?: ArchiveQuery): Promise<ArchivePage>;
  getRun(run: string): Promise<RunRecord | undefined>;
  getOutput(run: string, q?: OutputQuery): Promise<OutputLine[]>;
  /** A small durable key/value area for hub bookkeeping (e.g. poll-git's last seen refs). */
  getMeta(key: string): Promise<string | undefined>;
  putMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}
