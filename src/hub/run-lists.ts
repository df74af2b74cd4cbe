import type { FlowConfig } from '../config/schema.js';
import type { RunRecord } from '../model/run.js';
import type { MetaWrite, Store } from '../store/store.js';
import { ActiveRun } from './active-run.js';

/** How a run's resource tags are given back when it is archived (the cluster link does it). */
export interface Releases {
  /** Writes to store with the archive: the releases still to send. */
  ops(record: RunRecord): MetaWrite[];
  /** The archive (with `ops`) is on disk: send them. */
  sent(record: RunRecord): void;
}

/**
 * The one owner of this host's run lists: pending (pends, some offered and handed to a peer),
 * active, and the archive. Every move between them goes through here with its store write,
 * and the lists change only once the write is done, so memory never runs ahead of the disk.
 */
export class RunLists {
  private readonly pends: RunRecord[] = [];
  private readonly running = new Map<string, ActiveRun>();
  private readonly changed = new Set<ActiveRun>();

  constructor(
    private readonly store: Store,
    private readonly releases: Releases,
  ) {}

  /** Adopted (or handed-over) runs not yet active here, oldest first. */
  get pending(): readonly RunRecord[] {
    return this.pends;
  }

  /** Runs executing here, by run id. */
  get active(): ReadonlyMap<string, ActiveRun> {
    return this.running;
  }

  /** Active runs whose record changed since it was last written. */
  get dirty(): ReadonlySet<ActiveRun> {
    return this.changed;
  }

  findPend(run: string): RunRecord | undefined {
    return this.pends.find((r) => r.ref.run === run);
  }

  /** Reads the pends back after a restart; returns the runs that were active when the host stopped. */
  async recover(): Promise<RunRecord[]> {
    this.pends.push(...(await this.store.listPending()));
    return this.store.listActive();
  }

  /** A trigger adopted here: the pend `build` makes with the next run number. */
  async adopt(build: (runNumber: number) => RunRecord): Promise<RunRecord> {
    const record = await this.store.adoptPend(build);
    this.pends.push(record);
    return record;
  }

  /** A new pend handed here by its adopter. */
  async addPend(record: RunRecord): Promise<void> {
    await this.store.addPend(record);
    this.pends.push(record);
  }

  /** Saves a pend's new state (why it waits, the host it is handed to). */
  async updatePend(record: RunRecord): Promise<void> {
    await this.store.updatePend(record);
  }

  /** The pend's host confirmed it has the run: it leaves this host. */
  async handOff(record: RunRecord): Promise<void> {
    await this.store.handOff(record.ref.run);
    this.dropPend(record);
  }

  /**
   * The pend becomes active here with `fields` (status, start time, workspace). On a failed
   * write it is left as it was, still a pend.
   */
  async activate(record: RunRecord, flow: FlowConfig, fields: Partial<RunRecord>): Promise<ActiveRun> {
    const before: Partial<RunRecord> = {};
    for (const k of Object.keys(fields) as Array<keyof RunRecord>) Object.assign(before, { [k]: record[k] });
    Object.assign(record, fields);
    try {
      await this.store.activate(record);
    } catch (err) {
      Object.assign(record, before);
      throw err;
    }
    this.dropPend(record);
    const ar = new ActiveRun(record, flow);
    this.running.set(record.ref.run, ar);
    return ar;
  }

  /** Writes an active run's record now (an answer is acknowledged only once it is on disk). */
  async saveActive(ar: ActiveRun): Promise<void> {
    await this.store.updateRun(ar.record);
    this.changed.delete(ar);
  }

  markDirty(ar: ActiveRun): void {
    this.changed.add(ar);
  }

  /** Writes every changed active run; one that fails stays marked (with those after it) for the next flush. */
  async flushDirty(): Promise<void> {
    for (const ar of [...this.changed]) {
      if (this.running.has(ar.record.ref.run)) await this.store.updateRun(ar.record);
      this.changed.delete(ar);
    }
  }

  /** A pend ends without running here (cancelled, refused, its flow gone). */
  async archivePend(record: RunRecord): Promise<void> {
    await this.store.archive(record, this.releases.ops(record));
    this.dropPend(record);
    this.releases.sent(record);
  }

  /** An active run is over. */
  async archiveActive(ar: ActiveRun): Promise<void> {
    await this.store.archive(ar.record, this.releases.ops(ar.record));
    this.running.delete(ar.record.ref.run);
    this.changed.delete(ar);
    this.releases.sent(ar.record);
  }

  /** A run that was active when the host stopped (never in the active list of this start). */
  async archiveInterrupted(record: RunRecord): Promise<void> {
    await this.store.archive(record, this.releases.ops(record));
    this.releases.sent(record);
  }

  private dropPend(record: RunRecord): void {
    const i = this.pends.indexOf(record);
    if (i >= 0) this.pends.splice(i, 1);
  }
}
