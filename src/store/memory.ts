import { FloeError } from '../errors.js';
import type { OutputBatch, OutputLine } from '../model/output.js';
import type { RunRecord } from '../model/run.js';
import { checkMetaWrites, type ArchivePage, type ArchiveQuery, type MetaWrite, type OutputQuery, type Store } from './store.js';
import type { RunChange } from './store.js';

/** Page size of `listArchive` when the query gives none. */
const DEFAULT_ARCHIVE_LIMIT = 50;

interface ArchiveEntry {
  /** Archive position: grows by one per archived run, so newest has the highest. */
  seq: number;
  run: string;
}

/**
 * The store for `store-type: memory`: everything is lost when the process ends.
 * Records are cloned on the way in and out, so neither the hub nor a test can change
 * stored state by mutating an object it passed in or got back.
 */
export class MemoryStore implements Store {
  private runCounter = 0;
  private archiveSeq = 0;
  /** Map iteration order is insertion order, which is the pending list's arrival order. */
  private readonly pending = new Map<string, RunRecord>();
  private readonly active = new Map<string, RunRecord>();
  private readonly archived = new Map<string, RunRecord>();
  /** Ascending by seq, overall and per flow id, so a page is a binary search and a slice. */
  private readonly archiveAll: ArchiveEntry[] = [];
  private readonly archiveByFlow = new Map<string, ArchiveEntry[]>();
  /** Per run, ascending by `n`. */
  private readonly output = new Map<string, OutputLine[]>();
  private readonly meta = new Map<string, string>();

  async nextRunNumber(): Promise<number> {
    this.runCounter += 1;
    return this.runCounter;
  }

  async adoptPend(build: (runNumber: number) => RunRecord, shown?: (run: RunRecord) => void): Promise<RunRecord> {
    this.runCounter += 1;
    const run = build(this.runCounter);
    // Nothing outlives this process, so every number is as good as kept: shown at once.
    shown?.(run);
    await this.addPend(run);
    return run;
  }

  async adoptActive(build: (runNumber: number) => RunRecord): Promise<RunRecord> {
    this.runCounter += 1;
    const run = build(this.runCounter);
    const id = run.ref.run;
    if (this.pending.has(id) || this.active.has(id) || this.archived.has(id)) {
      throw new FloeError('conflict', `run ${id} is already stored`);
    }
    this.active.set(id, structuredClone(run));
    return run;
  }

  async addPend(run: RunRecord): Promise<void> {
    const id = run.ref.run;
    if (this.pending.has(id) || this.active.has(id) || this.archived.has(id)) {
      throw new FloeError('conflict', `run ${id} is already stored`);
    }
    this.pending.set(id, structuredClone(run));
  }

  async activate(run: RunRecord): Promise<void> {
    const id = run.ref.run;
    if (this.archived.has(id)) throw new FloeError('conflict', `run ${id} is archived; it cannot become active`);
    // A run adopted by another host was never pending here; it becomes active all the same.
    this.pending.delete(id);
    this.active.set(id, structuredClone(run));
  }

  async updateRun(run: RunRecord, nodes?: readonly string[]): Promise<void> {
    if (nodes === undefined) {
      const id = run.ref.run;
      if (!this.active.has(id)) throw new FloeError('not-found', `run ${id} is not active`);
      this.active.set(id, structuredClone(run));
      return;
    }
    return this.saveProgress([{ run, nodes }]);
  }

  async saveProgress(changes: readonly RunChange[]): Promise<void> {
    // All or nothing, as LevelStore's one batch: check every run before changing any.
    for (const { run } of changes) {
      if (!this.active.has(run.ref.run)) throw new FloeError('not-found', `run ${run.ref.run} is not active`);
    }
    for (const { run, nodes } of changes) {
      const id = run.ref.run;
      const stored = this.active.get(id) as RunRecord;
      // Only the named nodes are copied, so a save costs what changed, as on disk.
      const saved: RunRecord = { ...structuredClone({ ...run, nodes: {} }), nodes: stored.nodes };
      for (const node of nodes) {
        const rec = run.nodes[node];
        if (rec) saved.nodes[node] = structuredClone(rec);
        else delete saved.nodes[node];
      }
      this.active.set(id, saved);
    }
  }

  async updatePend(run: RunRecord): Promise<void> {
    const id = run.ref.run;
    if (!this.pending.has(id)) throw new FloeError('not-found', `run ${id} is not pending`);
    this.pending.set(id, structuredClone(run));
  }

  async archive(run: RunRecord, meta: MetaWrite[] = []): Promise<void> {
    const id = run.ref.run;
    const writes = checkMetaWrites(meta); // before any change: a bad write archives nothing
    this.applyMeta(writes);
    if (this.archived.has(id)) {
      // A repeated archive (e.g. after a crash) saves the newer state but keeps its place.
      this.archived.set(id, structuredClone(run));
      return;
    }
    this.pending.delete(id);
    this.active.delete(id);
    this.archived.set(id, structuredClone(run));
    this.archiveSeq += 1;
    const entry: ArchiveEntry = { seq: this.archiveSeq, run: id };
    this.archiveAll.push(entry);
    const flow = run.ref.flowRef.id;
    const perFlow = this.archiveByFlow.get(flow);
    if (perFlow) perFlow.push(entry);
    else this.archiveByFlow.set(flow, [entry]);
  }

  async handOff(run: string): Promise<void> {
    // Only a pend: an active or archived run is this host's to finish or keep.
    this.pending.delete(run);
  }

  async appendOutput(run: string, batches: OutputBatch[]): Promise<void> {
    let stored = this.output.get(run);
    if (!stored) {
      stored = [];
      this.output.set(run, stored);
    }
    for (const { node, stream, at, first, lines } of batches) {
      lines.forEach((line, i) => insertByN(stored, { node, stream, line, at, n: first + i }));
    }
  }

  async listPending(): Promise<RunRecord[]> {
    return [...this.pending.values()].map((r) => structuredClone(r));
  }

  async listActive(): Promise<RunRecord[]> {
    return [...this.active.values()].map((r) => structuredClone(r));
  }

  async listArchive(q: ArchiveQuery = {}): Promise<ArchivePage> {
    const limit = checkCount('limit', q.limit ?? DEFAULT_ARCHIVE_LIMIT, 1);
    const entries = q.flow === undefined ? this.archiveAll : (this.archiveByFlow.get(q.flow) ?? []);
    const end = q.before === undefined ? entries.length : firstAtOrAfter(entries, checkCount('before', q.before, 0));
    const start = Math.max(0, end - limit);
    const page = entries.slice(start, end).reverse();
    const runs = page.map((e) => structuredClone(this.archived.get(e.run) as RunRecord));
    const last = page[page.length - 1];
    return start > 0 && last ? { runs, next: last.seq } : { runs };
  }

  async getRun(run: string): Promise<RunRecord | undefined> {
    const found = this.pending.get(run) ?? this.active.get(run) ?? this.archived.get(run);
    return found && structuredClone(found);
  }

  async getOutput(run: string, q: OutputQuery = {}): Promise<OutputLine[]> {
    const from = checkCount('from', q.from ?? 0, 0);
    const limit = q.limit === undefined ? Infinity : checkCount('limit', q.limit, 0);
    if (q.tail !== undefined) {
      const n = checkCount('tail', q.tail, 0);
      const mine = (this.output.get(run) ?? []).filter((l) => q.node === undefined || l.node === q.node);
      return n === 0 ? [] : mine.slice(-n).map((l) => structuredClone(l));
    }
    const result: OutputLine[] = [];
    for (const line of this.output.get(run) ?? []) {
      if (result.length >= limit) break;
      if (line.n < from || (q.node !== undefined && line.node !== q.node)) continue;
      result.push(structuredClone(line));
    }
    return result;
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.meta.get(key);
  }

  async putMeta(key: string, value: string): Promise<void> {
    this.meta.set(key, value);
  }

  async writeMeta(ops: MetaWrite[]): Promise<void> {
    this.applyMeta(checkMetaWrites(ops));
  }

  async listMeta(prefix: string): Promise<Array<{ key: string; value: string }>> {
    const found = [...this.meta].filter(([key]) => key.startsWith(prefix));
    return found.sort(([a], [b]) => byCodePoint(a, b)).map(([key, value]) => ({ key, value }));
  }

  async close(): Promise<void> {}

  private applyMeta(writes: readonly MetaWrite[]): void {
    for (const { key, value } of writes) {
      if (value === undefined) this.meta.delete(key);
      else this.meta.set(key, value);
    }
  }
}

/**
 * Orders keys as LevelStore lists them (LevelDB compares UTF-8 bytes, which is code point
 * order); `<` compares UTF-16 units, which puts U+10000 and above before U+E000..U+FFFF.
 */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Rejects a count that is not an integer >= min; the server narrows input, this guards the rest. */
function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new FloeError('bad-request', `${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/** Index of the first entry with seq >= `seq` (entries ascend by seq). */
function firstAtOrAfter(entries: ArchiveEntry[], seq: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.seq < seq)
      lo = mid + 1; // lo <= mid < hi <= length
    else hi = mid;
  }
  return lo;
}

/** Keeps lines ordered by `n`; a line with an `n` already stored replaces it, as in LevelStore. */
function insertByN(lines: OutputLine[], line: OutputLine): void {
  const last = lines[lines.length - 1];
  if (!last || last.n < line.n) {
    lines.push(line); // the usual case: output arrives in order
    return;
  }
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lines[mid]!.n < line.n)
      lo = mid + 1; // lo <= mid < hi <= length
    else hi = mid;
  }
  if (lines[lo]?.n === line.n) lines[lo] = line;
  else lines.splice(lo, 0, line);
}
