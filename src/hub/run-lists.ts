import type { FlowConfig } from '../config/schema.js';
import type { RunRecord } from '../model/run.js';
import type { MetaWrite, RunChange, Store } from '../store/store.js';
import { ActiveRun } from './active-run.js';

/** How a run's resource tags are given back when it is archived (the cluster link does it). */
export interface Releases {
  /** Writes to store with the archive: the releases still to send. */
  ops(record: RunRecord): MetaWrite[];
  /** The archive (with `ops`) is on disk: send them. */
  sent(record: RunRecord): void;
}

/** What the hub hears of progress writes, which go on while its queue does. */
export interface ProgressHooks {
  /** A write finished and more changes wait: the queue should flush once more, even if idle. */
  waiting(): void;
  /** A write failed; its changes stay marked for the next flush. */
  failed(err: unknown): void;
}

/**
 * The one owner of this host's run lists: pending (pends, some offered and handed to a peer),
 * active, and the archive. Every move between them goes through here with its store write,
 * and the lists change only once the write is done, so memory never runs ahead of the disk.
 */
export class RunLists {
  private readonly pends: RunRecord[] = [];
  private readonly running = new Map<string, ActiveRun>();
  /** Active runs changed since their last save, with the ids of the nodes that changed. */
  private readonly changed = new Map<ActiveRun, Set<string>>();
  /** A progress write is in flight: changes made meanwhile wait for the next one. */
  private writing = false;

  constructor(
    private readonly store: Store,
    private readonly releases: Releases,
    private readonly progress?: ProgressHooks,
  ) {}

  /** Adopted (or handed-over) runs not yet active here, oldest first. */
  get pending(): readonly RunRecord[] {
    return this.pends;
  }

  /** Runs executing here, by run id. */
  get active(): ReadonlyMap<string, ActiveRun> {
    return this.running;
  }

  /** Active runs whose record changed since it was last handed to the store, with the nodes that changed. */
  get dirty(): ReadonlyMap<ActiveRun, ReadonlySet<string>> {
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

  /** A trigger adopted here: the pend `build` makes with the next run number; `shown` as Store.adoptPend's. */
  async adopt(build: (runNumber: number) => RunRecord, shown?: (record: RunRecord) => void): Promise<RunRecord> {
    const record = await this.store.adoptPend(build, shown);
    this.pends.push(record);
    return record;
  }

  /** A trigger adopted here and started at once: the run `build` makes with the next run number, active. */
  async adoptActive(build: (runNumber: number) => RunRecord, flow: FlowConfig): Promise<ActiveRun> {
    const record = await this.store.adoptActive(build);
    const ar = new ActiveRun(record, flow);
    this.running.set(record.ref.run, ar);
    return ar;
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

  /**
   * Writes an active run's whole record now, durably (an answer is acknowledged only once it is
   * on disk). Rare enough that the whole record costs nothing that matters.
   */
  async saveActive(ar: ActiveRun): Promise<void> {
    await this.store.updateRun(ar.record);
    this.changed.delete(ar);
  }

  /** The run's top-level fields changed, and the record of `node` if one is named. */
  markDirty(ar: ActiveRun, node?: string): void {
    let nodes = this.changed.get(ar);
    if (!nodes) this.changed.set(ar, (nodes = new Set()));
    if (node !== undefined) nodes.add(node);
  }

  /**
   * Hands what changed in active runs to the store in one progress write and returns at once:
   * the queue does not wait for the disk (issue 10). The store copies what it writes before
   * this returns and keeps it in order with the moves between lists. While a write is in flight
   * changes gather for the next, started by the flush after it settles; a failed write is
   * reported and its changes stay marked for the next flush.
   */
  flushDirty(): void {
    if (this.writing || this.changed.size === 0) return;
    const taken = [...this.changed].filter(([ar]) => this.running.has(ar.record.ref.run));
    this.changed.clear();
    if (taken.length === 0) return;
    const changes: RunChange[] = taken.map(([ar, nodes]) => ({ run: ar.record, nodes: [...nodes] }));
    this.writing = true;
    this.store.saveProgress(changes).then(
      () => {
        this.writing = false;
        if (this.changed.size > 0) this.progress?.waiting();
      },
      (err: unknown) => {
        this.writing = false;
        for (const [ar, nodes] of taken) {
          if (!this.running.has(ar.record.ref.run)) continue; // archived meanwhile, with its whole record
          this.markDirty(ar);
          for (const node of nodes) this.markDirty(ar, node);
        }
        this.progress?.failed(err);
      },
    );
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
