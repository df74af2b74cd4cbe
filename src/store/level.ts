import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import { FloeError } from '../errors.js';
import type { OutputBatch, OutputLine, OutputStream } from '../model/output.js';
import type { NodeRecord, RunRecord } from '../model/run.js';
import { checkMetaWrites, type ArchivePage, type ArchiveQuery, type MetaWrite, type OutputQuery, type Store } from './store.js';
import type { RunChange } from './store.js';

/*
 * Keys (one LevelDB, JSON values; `<id>` is a run id, `<flow>` a flow id):
 *
 *   run!<id>                  -> RunRecord, whichever list the run is in; an active run's without its nodes
 *   node!<id>!<node>          -> NodeRecord of an active run, one key per node
 *   pend!<arrival seq>        -> run id; key order is the pending list's arrival order
 *   act!<id>                  -> run id
 *   arc!<archive seq>         -> run id; read in reverse for newest first
 *   arcf!<flow>!<archive seq> -> run id; the same, one range per flow
 *   out!<id>!<last n>         -> OutputChunk: consecutive lines of the run, up to line <last n>
 *   meta!<key>                -> string, the hub's own bookkeeping; `<key>` as the hub gave it
 *   sys!run-counter           -> last run number handed out, or the one after it (see adopt)
 *   sys!archive-seq           -> last archive seq used
 *
 * Numbers are zero-padded to 16 digits (enough for 2^53) so byte order is numeric order.
 * Ids inside keys are URI-encoded with '!' escaped too: a run `a!1` must not fall inside
 * the `out!a!` range of run `a`. Counters live under `sys!`, not `meta!`, so no meta
 * key the hub picks can overwrite them. Meta keys are not encoded, so `listMeta(prefix)` is
 * the range from `meta!<prefix>`, stopped at the first key without the prefix and never
 * read past the end of `meta!`, whatever the prefix holds.
 *
 * An active run's nodes have a key each, so saving a task's progress writes that node and,
 * if they changed, the run's few top-level fields: the same bytes whatever the run's length
 * (issue 10; the whole record once made a run of n tasks write O(n^2) bytes). Reads merge
 * them back. The archive holds the whole record under `run!<id>` again, written in the batch
 * that deletes the node keys, so a page of the archive stays one getMany.
 *
 * Output is kept in chunks of up to OUTPUT_CHUNK_LINES lines or about OUTPUT_CHUNK_CHARS of text,
 * a key each, named by the chunk's last line (issue 10: a key per line made a put per line). The
 * chunk holding line `from` is the first key at or after `pad(from)`; `tail` reads keys backwards
 * from the end: either reads what it returns plus at most a chunk (with `node`, the other nodes'
 * lines among them too). A store written before chunks holds an OutputLine per key, named by its
 * `n`: it reads as a chunk of one.
 *
 * Paging the archive is one reverse range read bounded by `lt <prefix><before>` with
 * `limit + 1`, then one getMany of the run records: the cost depends on the page size,
 * not on how many runs are archived.
 *
 * Crash safety:
 * - Each method writes one batch. LevelDB applies a batch atomically through its log, so
 *   a move (delete the old list's key, put the new list's key and the record) is seen
 *   after a crash entirely or not at all: a run is never in two lists, nor in none. The
 *   meta writes given to `archive` join its batch, so a run's archive and the release of
 *   its resource tags survive a crash together or not at all.
 * - A promise resolves only after its batch is written (fsynced unless `sync: false`), and
 *   the in-memory pending/active/counters change only after that, so memory never gets
 *   ahead of disk and the hub never acknowledges what a crash could lose.
 * - `saveProgress` is written without fsync. LevelDB hands every record of its log to the OS
 *   before the write returns, so progress survives kill -9 of the host (and with it the
 *   process groups tasks reported, which the reaper looks for after a restart), not a power
 *   cut. It goes through the same queue as every other write, and the log is one file: the
 *   next synced write (the archive, at the latest) makes it durable with everything before it.
 * - Writes run one at a time. Concurrent LevelDB writes may finish in any order, so two
 *   counter puts in flight could leave the smaller number on disk after the larger one
 *   was handed out; queuing them also lets each write decide on a settled cache.
 * - The archive seq is saved in the same batch as the archive keys it numbers, so after a
 *   restart it is at least every stored one. The arrival seq is not saved: reopening
 *   continues after the last `pend!` key, and only the order of pending keys matters.
 * - Output is the exception: progress, acknowledged to no one, so its batches are neither
 *   synced nor queued behind the other writes. A crash of the process keeps what was written;
 *   a power cut may lose the output since the last synced batch, which the run's archive is
 *   at the latest (it waits for the run's output writes under way).
 */

/** A stretch of a chunk's lines of one node, stream and time: [first n, count, node, stream, at]. */
type OutputSpan = [n: number, count: number, node: string, stream: OutputStream, at: number];

/** Lines of a run's output under one key: `lines[i]` is described by the span it falls in. */
interface OutputChunk {
  spans: OutputSpan[];
  lines: string[];
}

type Stored = RunRecord | NodeRecord | OutputChunk | OutputLine | string | number;
type Op = { type: 'put'; key: string; value: Stored } | { type: 'del'; key: string };

/** Page size of `listArchive` when the query gives none. */
const DEFAULT_ARCHIVE_LIMIT = 50;
/** Lines in one output key, at most: a tail of a long log parses this much more than it returns. */
export const OUTPUT_CHUNK_LINES = 1024;
/** Characters of line text in one output key, about (a chunk holds at least one line). */
export const OUTPUT_CHUNK_CHARS = 64 * 1024;
const RUN_COUNTER = 'sys!run-counter';
const ARCHIVE_SEQ = 'sys!archive-seq';
const PEND = 'pend!';
const ACT = 'act!';
const ARC = 'arc!';
const META = 'meta!';

export interface LevelStoreOptions {
  /** fsync every write (default true); without it a write survives a process crash but not a power cut. */
  sync?: boolean;
}

interface Pend {
  seq: number;
  run: RunRecord;
}

/** An active run as stored: the record without its nodes, and each node apart. */
interface ActiveEntry {
  top: RunRecord;
  /** `top` as last written, so a save that changed none of its fields does not write it again. */
  topJson: string;
  /** In the order the nodes first appeared, as the hub's record has them. */
  nodes: Map<string, NodeRecord>;
}

/** A copy of what a save writes, taken when the save is asked for: the hub changes the record on. */
interface RunSnapshot {
  id: string;
  top: RunRecord;
  topJson: string;
  /** A node absent from the record is deleted. */
  nodes: Array<[string, NodeRecord | undefined]>;
  /** Every node of the run is in `nodes`: stored nodes not among them are deleted. */
  whole: boolean;
}

/** The store for `store-type: local`: LevelDB in one directory under store-root. */
export class LevelStore implements Store {
  /** Output writes under way, by run: reads of the run and its archive wait for them. */
  private readonly outputWrites = new Map<string, Set<Promise<void>>>();
  private tail: Promise<unknown> = Promise.resolve();
  /** The run counter on disk: a number up to it may be shown before the write that uses it. */
  private keptNumber: number;

  private constructor(
    private readonly db: Level<string, Stored>,
    private readonly sync: boolean,
    private runCounter: number,
    private archiveSeq: number,
    private nextPendSeq: number,
    /** Map order is insertion order, which is the pending list's arrival order. */
    private readonly pending: Map<string, Pend>,
    private readonly active: Map<string, ActiveEntry>,
  ) {
    this.keptNumber = runCounter;
  }

  /** Opens (creating if needed) the store in `dir` and loads the pending and active lists. */
  static async open(dir: string, opts: LevelStoreOptions = {}): Promise<LevelStore> {
    await mkdir(dir, { recursive: true });
    // LevelDB's defaults (8 MB block cache, 4 MB memtable) are sized for a database read far
    // more than floe's: its reads are a run, a page of the archive or a log's last chunk, and
    // 1 MB each kept an idle host 3.4 MB smaller (issue 10; archive rows unchanged).
    const db = new Level<string, Stored>(dir, { valueEncoding: 'json', cacheSize: 1 << 20, writeBufferSize: 1 << 20 });
    await db.open();
    try {
      const runCounter = asCount(await db.get(RUN_COUNTER), RUN_COUNTER);
      const archiveSeq = asCount(await db.get(ARCHIVE_SEQ), ARCHIVE_SEQ);
      const pends: Array<{ id: string; seq: number }> = [];
      for await (const [key, id] of db.iterator({ gte: PEND, lt: prefixEnd(PEND) })) {
        pends.push({ id: asString(id, key), seq: Number(key.slice(PEND.length)) });
      }
      const activeIds: string[] = [];
      for await (const [key, id] of db.iterator({ gte: ACT, lt: prefixEnd(ACT) })) activeIds.push(asString(id, key));

      const pending = new Map<string, Pend>((await readRuns(db, pends, (p) => p.id)).map(([{ id, seq }, run]) => [id, { seq, run }]));
      const nextPendSeq = (pends.at(-1)?.seq ?? 0) + 1; // keys come in ascending order
      const active = new Map<string, ActiveEntry>();
      for (const [id, run] of await readRuns(db, activeIds, (id) => id)) active.set(id, await readActive(db, run));
      return new LevelStore(db, opts.sync ?? true, runCounter, archiveSeq, nextPendSeq, pending, active);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  nextRunNumber(): Promise<number> {
    return this.serial(async () => {
      const n = this.runCounter + 1;
      await this.write([{ type: 'put', key: RUN_COUNTER, value: n }]);
      this.runCounter = n;
      this.keptNumber = n;
      return n;
    });
  }

  adoptPend(build: (runNumber: number) => RunRecord, shown?: (run: RunRecord) => void): Promise<RunRecord> {
    return this.adopt(build, 'pending', shown);
  }

  adoptActive(build: (runNumber: number) => RunRecord): Promise<RunRecord> {
    return this.adopt(build, 'active');
  }

  /**
   * The next run number and the run `build` makes with it, into `list`, in one batch. The batch
   * also keeps the number after it (the counter goes one past), so the next adoption may show
   * its number (`shown`) before its own write is done: a crash then skips that number rather
   * than hand it out twice. close() gives back a kept number that was never used.
   */
  private adopt(build: (runNumber: number) => RunRecord, list: 'pending' | 'active', shown?: (run: RunRecord) => void): Promise<RunRecord> {
    return this.serial(async () => {
      const n = this.runCounter + 1;
      const run = build(n);
      const record = structuredClone(run);
      const id = record.ref.run;
      // No read of the archive as addPend does: every number is written in the same batch as
      // the run it names (and before, by nextRunNumber), so no stored run of this host has it.
      if (this.pending.has(id) || this.active.has(id)) {
        this.runCounter = n; // taken: the next adoption gets the next number
        throw new FloeError('conflict', `run ${id} is already stored`);
      }
      if (shown && n <= this.keptNumber) {
        // Shown now, so used up whatever the write does.
        this.runCounter = n;
        shown(run);
      }
      const seq = this.nextPendSeq;
      // An active run is stored as activate stores it: the record without its nodes, each node under its own key.
      const snap = list === 'active' ? snapshot(record) : undefined;
      await this.write([
        { type: 'put', key: RUN_COUNTER, value: n + 1 },
        ...(snap
          ? [
              { type: 'put', key: runKey(id), value: snap.top } as const,
              ...nodeOps(snap, undefined),
              { type: 'put', key: actKey(id), value: id } as const,
            ]
          : [{ type: 'put', key: runKey(id), value: record } as const, { type: 'put', key: pendKey(seq), value: id } as const]),
      ]);
      this.runCounter = n;
      this.keptNumber = n + 1;
      if (snap) this.active.set(id, applySnapshot(snap, { top: snap.top, topJson: snap.topJson, nodes: new Map() }));
      else {
        this.nextPendSeq = seq + 1;
        this.pending.set(id, { seq, run: record });
      }
      return run;
    });
  }

  addPend(run: RunRecord): Promise<void> {
    const record = structuredClone(run);
    const id = record.ref.run;
    return this.serial(async () => {
      // The disk read is for archived runs only; ids come from the counter, so this is a guard.
      if (this.pending.has(id) || this.active.has(id) || (await this.db.get(runKey(id))) !== undefined) {
        throw new FloeError('conflict', `run ${id} is already stored`);
      }
      const seq = this.nextPendSeq;
      await this.write([
        { type: 'put', key: runKey(id), value: record },
        { type: 'put', key: pendKey(seq), value: id },
      ]);
      this.nextPendSeq = seq + 1;
      this.pending.set(id, { seq, run: record });
    });
  }

  activate(run: RunRecord): Promise<void> {
    const snap = snapshot(run);
    const id = snap.id;
    return this.serial(async () => {
      const pend = this.pending.get(id);
      const stored = this.active.get(id);
      const ops: Op[] = [{ type: 'put', key: runKey(id), value: snap.top }, ...nodeOps(snap, stored)];
      if (pend) {
        ops.push({ type: 'del', key: pendKey(pend.seq) }, { type: 'put', key: actKey(id), value: id });
      } else if (!this.active.has(id)) {
        // Read in this turn: one key, usually absent, costs less than the turn of the event loop
        // an async read takes on the way from a take to its first task (issue 10).
        if (this.db.getSync(runKey(id)) !== undefined) {
          throw new FloeError('conflict', `run ${id} is archived; it cannot become active`);
        }
        // A run adopted by another host was never pending here; it becomes active all the same.
        ops.push({ type: 'put', key: actKey(id), value: id });
      }
      await this.write(ops);
      this.pending.delete(id);
      this.active.set(id, applySnapshot(snap, { top: snap.top, topJson: snap.topJson, nodes: new Map() }));
    });
  }

  updateRun(run: RunRecord, nodes?: readonly string[]): Promise<void> {
    const snap = snapshot(run, nodes);
    return this.serial(() => this.saveSnapshots([snap], this.sync));
  }

  saveProgress(changes: readonly RunChange[]): Promise<void> {
    const snaps = changes.map((c) => snapshot(c.run, c.nodes));
    if (snaps.length === 0) return Promise.resolve();
    return this.serial(() => this.saveSnapshots(snaps, false));
  }

  /** Writes what changed of active runs in one batch; a run that is not active writes none. */
  private async saveSnapshots(snaps: readonly RunSnapshot[], sync: boolean): Promise<void> {
    const ops: Op[] = [];
    for (const snap of snaps) {
      const stored = this.active.get(snap.id);
      if (!stored) throw new FloeError('not-found', `run ${snap.id} is not active`);
      if (snap.topJson !== stored.topJson) ops.push({ type: 'put', key: runKey(snap.id), value: snap.top });
      ops.push(...nodeOps(snap, stored));
    }
    if (ops.length > 0) await this.write(ops, sync);
    for (const snap of snaps) applySnapshot(snap, this.active.get(snap.id) as ActiveEntry);
  }

  updatePend(run: RunRecord): Promise<void> {
    const record = structuredClone(run);
    const id = record.ref.run;
    return this.serial(async () => {
      const pend = this.pending.get(id);
      if (!pend) throw new FloeError('not-found', `run ${id} is not pending`);
      await this.write([{ type: 'put', key: runKey(id), value: record }]);
      pend.run = record;
    });
  }

  async archive(run: RunRecord, meta: MetaWrite[] = []): Promise<void> {
    const record = structuredClone(run);
    const id = record.ref.run;
    const metaOps = toMetaOps(meta); // checked before queuing: a bad write archives nothing
    return this.serial(async () => {
      // Given before the archive, the run's output is stored before it, and made durable with it.
      await this.outputSaved(id);
      const pend = this.pending.get(id);
      const stored = this.active.get(id);
      const ops: Op[] = [{ type: 'put', key: runKey(id), value: record }, ...metaOps];
      if (pend) ops.push({ type: 'del', key: pendKey(pend.seq) });
      else if (stored) {
        // The whole record now holds the nodes: their keys go in the same batch.
        ops.push({ type: 'del', key: actKey(id) });
        for (const node of stored.nodes.keys()) ops.push({ type: 'del', key: nodeKey(id, node) });
      } else if ((await this.db.get(runKey(id))) !== undefined) {
        // Archived already (a retry after a crash): save the newer state, keep its place.
        await this.write(ops);
        return;
      }
      const seq = this.archiveSeq + 1;
      ops.push(
        { type: 'put', key: ARC + pad(seq), value: id },
        { type: 'put', key: archiveFlowPrefix(record.ref.flowRef.id) + pad(seq), value: id },
        { type: 'put', key: ARCHIVE_SEQ, value: seq },
      );
      await this.write(ops);
      this.archiveSeq = seq;
      this.pending.delete(id);
      this.active.delete(id);
    });
  }

  handOff(run: string): Promise<void> {
    return this.serial(async () => {
      const pend = this.pending.get(run);
      // Only a pend: an active or archived run is this host's to finish or keep.
      if (!pend) return;
      await this.write([
        { type: 'del', key: pendKey(pend.seq) },
        { type: 'del', key: runKey(run) },
      ]);
      this.pending.delete(run);
    });
  }

  appendOutput(run: string, batches: OutputBatch[]): Promise<void> {
    const prefix = outputPrefix(run);
    // Encoded here rather than by the database's json encoding: the same bytes, but Buffer.from
    // writes the string's UTF-8 in one pass and classic-level copies a Buffer as it is, where
    // for a string it measures the UTF-8 and then converts it (issue 10: the synchronous part of
    // these writes in a flood of output went from 40 to 8-23 of every 200 ms).
    const ops = chunksOf(batches).map((chunk) => ({
      type: 'put' as const,
      key: prefix + pad(lastN(chunk)),
      value: Buffer.from(JSON.stringify(chunk)),
      valueEncoding: 'view',
    }));
    if (ops.length === 0) return Promise.resolve();
    // Output is acknowledged to no one (it is progress, not a transition) and keyed by line
    // number, so it skips the fsync and the serial chain: a chatty task never delays a trigger's
    // acknowledgement. The run's archive waits for it and, synced, makes it durable too.
    let writes = this.outputWrites.get(run);
    if (!writes) this.outputWrites.set(run, (writes = new Set()));
    const pending = writes;
    const write: Promise<void> = this.db.batch<string, Uint8Array>(ops, { sync: false }).finally(() => {
      pending.delete(write);
      if (pending.size === 0 && this.outputWrites.get(run) === pending) this.outputWrites.delete(run);
    });
    pending.add(write);
    return write;
  }

  async listPending(): Promise<RunRecord[]> {
    return [...this.pending.values()].map((p) => structuredClone(p.run));
  }

  async listActive(): Promise<RunRecord[]> {
    return [...this.active.values()].map(wholeRecord);
  }

  async listArchive(q: ArchiveQuery = {}): Promise<ArchivePage> {
    const limit = checkCount('limit', q.limit ?? DEFAULT_ARCHIVE_LIMIT, 1);
    const prefix = q.flow === undefined ? ARC : archiveFlowPrefix(q.flow);
    const lt = q.before === undefined ? prefixEnd(prefix) : prefix + pad(checkCount('before', q.before, 0));
    const seqs: number[] = [];
    const ids: string[] = [];
    // One more than asked tells whether an older page exists without another read.
    for await (const [key, id] of this.db.iterator({ gte: prefix, lt, reverse: true, limit: limit + 1 })) {
      seqs.push(Number(key.slice(prefix.length)));
      ids.push(asString(id, key));
    }
    const hasMore = ids.length > limit;
    const runs = (await readRuns(this.db, hasMore ? ids.slice(0, limit) : ids, (id) => id)).map(([, run]) => run);
    return hasMore ? { runs, next: seqs[limit - 1] } : { runs };
  }

  async getRun(run: string): Promise<RunRecord | undefined> {
    const pend = this.pending.get(run);
    if (pend) return structuredClone(pend.run);
    const active = this.active.get(run);
    if (active) return wholeRecord(active);
    const stored = await this.db.get(runKey(run));
    return stored === undefined ? undefined : asRun(stored, runKey(run));
  }

  async getOutput(run: string, q: OutputQuery = {}): Promise<OutputLine[]> {
    const from = checkCount('from', q.from ?? 0, 0);
    const limit = q.limit === undefined ? Infinity : checkCount('limit', q.limit, 0);
    if (limit === 0) return [];
    const tail = q.tail === undefined ? undefined : checkCount('tail', q.tail, 0);
    if (tail === 0) return [];
    await this.outputSaved(run);
    const prefix = outputPrefix(run);
    const lines: OutputLine[] = [];
    if (tail !== undefined) {
      // Backwards, so a long log costs what is returned and at most a chunk more.
      for await (const [key, value] of this.db.iterator({ gte: prefix, lt: prefixEnd(prefix), reverse: true })) {
        readBackward(asChunk(value, key), q.node, tail, lines);
        if (lines.length >= tail) break;
      }
      return lines.reverse();
    }
    // The chunk holding line `from` is the first whose last line is `from` or later.
    for await (const [key, value] of this.db.iterator({ gte: prefix + pad(from), lt: prefixEnd(prefix) })) {
      readForward(asChunk(value, key), from, q.node, limit, lines);
      if (lines.length >= limit) break;
    }
    return lines;
  }

  /** Settles once the output writes of `run` under way now are done: reads see every line given before. */
  private async outputSaved(run: string): Promise<void> {
    const writes = this.outputWrites.get(run);
    if (writes) await Promise.allSettled([...writes]);
  }

  async getMeta(key: string): Promise<string | undefined> {
    const value = await this.db.get(metaKey(key));
    return value === undefined ? undefined : asString(value, metaKey(key));
  }

  putMeta(key: string, value: string): Promise<void> {
    return this.serial(() => this.write([{ type: 'put', key: metaKey(key), value }]));
  }

  async writeMeta(ops: MetaWrite[]): Promise<void> {
    const batch = toMetaOps(ops);
    if (batch.length === 0) return;
    return this.serial(() => this.write(batch));
  }

  async listMeta(prefix: string): Promise<Array<{ key: string; value: string }>> {
    const start = META + prefix;
    const found: Array<{ key: string; value: string }> = [];
    // Keys with the prefix are one contiguous run in byte order: stop at the first without it.
    for await (const [key, value] of this.db.iterator({ gte: start, lt: prefixEnd(META) })) {
      if (!key.startsWith(start)) break;
      found.push({ key: key.slice(META.length), value: asString(value, key) });
    }
    return found;
  }

  /** Waits for queued writes, gives back the run number kept for an adoption to come, then closes the database. */
  close(): Promise<void> {
    return this.serial(async () => {
      await Promise.allSettled([...this.outputWrites.values()].flatMap((w) => [...w]));
      // Best effort: kept, the number is only skipped by the next start.
      if (this.keptNumber > this.runCounter) await this.write([{ type: 'put', key: RUN_COUNTER, value: this.runCounter }]).catch(() => {});
      await this.db.close();
    });
  }

  private write(ops: Op[], sync = this.sync): Promise<void> {
    return this.db.batch(ops, { sync });
  }

  /** Runs `op` after every earlier write has settled; a failed write does not stop later ones. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** 16 digits hold every safe integer; a larger bound is clamped so it cannot outgrow the keys. */
function pad(n: number): string {
  return String(Math.min(n, Number.MAX_SAFE_INTEGER)).padStart(16, '0');
}

function keyPart(s: string): string {
  return encodeURIComponent(s).replace(/!/g, '%21');
}

/** The first key after every key starting with `prefix`: its last '!' bumped to '"'. */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + '"';
}

const runKey = (id: string): string => `run!${keyPart(id)}`;
const pendKey = (seq: number): string => PEND + pad(seq);
const actKey = (id: string): string => ACT + keyPart(id);
const nodePrefix = (run: string): string => `node!${keyPart(run)}!`;
const nodeKey = (run: string, node: string): string => nodePrefix(run) + keyPart(node);
const archiveFlowPrefix = (flow: string): string => `arcf!${keyPart(flow)}!`;
const outputPrefix = (run: string): string => `out!${keyPart(run)}!`;
const metaKey = (key: string): string => META + key;

/** A copy of `run` as a save writes it: top-level fields apart, and the nodes named (all when none are). */
function snapshot(run: RunRecord, nodes?: readonly string[]): RunSnapshot {
  const top = structuredClone({ ...run, nodes: {} });
  const ids = nodes ?? Object.keys(run.nodes);
  const copied = ids.map((n): [string, NodeRecord | undefined] => [n, run.nodes[n] && structuredClone(run.nodes[n])]);
  return { id: run.ref.run, top, topJson: JSON.stringify(top), nodes: copied, whole: nodes === undefined };
}

/** The puts and deletes of the node keys that make the stored nodes of `stored` those of `snap`. */
function nodeOps(snap: RunSnapshot, stored: ActiveEntry | undefined): Op[] {
  const ops = snap.nodes.map(([node, rec]): Op => {
    const key = nodeKey(snap.id, node);
    return rec ? { type: 'put', key, value: rec } : { type: 'del', key };
  });
  if (snap.whole && stored) {
    const kept = new Set(snap.nodes.map(([node]) => node));
    for (const node of stored.nodes.keys()) if (!kept.has(node)) ops.push({ type: 'del', key: nodeKey(snap.id, node) });
  }
  return ops;
}

/** Makes `entry` what `snap` wrote (once it is written); returns it. */
function applySnapshot(snap: RunSnapshot, entry: ActiveEntry): ActiveEntry {
  entry.top = snap.top;
  entry.topJson = snap.topJson;
  if (snap.whole) entry.nodes.clear();
  for (const [node, rec] of snap.nodes) {
    if (rec) entry.nodes.set(node, rec);
    else entry.nodes.delete(node);
  }
  return entry;
}

/** The run as the hub knows it: a copy of the stored record with its nodes back in it. */
function wholeRecord(entry: ActiveEntry): RunRecord {
  return structuredClone({ ...entry.top, nodes: Object.fromEntries(entry.nodes) });
}

/**
 * An active run read back at open: its record, whose nodes (a store written before the node
 * keys had them there) the node keys override. Key order is not the order the nodes started
 * in, which a run's detail shows, so they are put back in order of start time.
 */
async function readActive(db: Level<string, Stored>, run: RunRecord): Promise<ActiveEntry> {
  const prefix = nodePrefix(run.ref.run);
  const nodes = new Map(Object.entries(run.nodes));
  for await (const [key, value] of db.iterator({ gte: prefix, lt: prefixEnd(prefix) })) {
    nodes.set(decodeURIComponent(key.slice(prefix.length)), asNode(value, key));
  }
  const ordered = [...nodes].sort(([, a], [, b]) => a.startTime - b.startTime);
  // The old record's JSON, nodes and all, so the first save writes the record without them.
  return { top: { ...run, nodes: {} }, topJson: JSON.stringify(run), nodes: new Map(ordered) };
}

/** The batch ops of checked meta writes: a write without a value deletes its key. */
function toMetaOps(writes: readonly MetaWrite[]): Op[] {
  return checkMetaWrites(writes).map(({ key, value }): Op =>
    value === undefined ? { type: 'del', key: metaKey(key) } : { type: 'put', key: metaKey(key), value },
  );
}

/** The run of each item, in order, paired with its item; a missing or garbled run is corruption. */
async function readRuns<T>(db: Level<string, Stored>, items: readonly T[], idOf: (item: T) => string): Promise<Array<[T, RunRecord]>> {
  if (items.length === 0) return [];
  const keys = items.map((item) => runKey(idOf(item)));
  const values: (Stored | undefined)[] = await db.getMany(keys);
  return items.map((item, i) => [item, asRun(values[i], runKey(idOf(item)))]);
}

// The narrowing below guards against a store written by something else, not against
// floe's own writes; each failure names the key so the damaged store can be inspected.

function asRun(value: Stored | undefined, key: string): RunRecord {
  if (typeof value !== 'object' || value === null || !('ref' in value)) throw corrupt(key);
  return value;
}

function asNode(value: Stored | undefined, key: string): NodeRecord {
  if (typeof value !== 'object' || value === null || !('startTime' in value) || !('id' in value)) throw corrupt(key);
  return value;
}

/** A chunk as stored; an OutputLine (a key of a store written before chunks) is a chunk of one. */
function asChunk(value: Stored | undefined, key: string): OutputChunk {
  if (typeof value !== 'object' || value === null) throw corrupt(key);
  if ('spans' in value && Array.isArray(value.spans) && Array.isArray(value.lines)) return value;
  if ('n' in value && 'line' in value) return { spans: [[value.n, 1, value.node, value.stream, value.at]], lines: [value.line] };
  throw corrupt(key);
}

/** The lines of `batches` as chunks of at most OUTPUT_CHUNK_LINES lines and about OUTPUT_CHUNK_CHARS characters. */
function chunksOf(batches: readonly OutputBatch[]): OutputChunk[] {
  const chunks: OutputChunk[] = [];
  let chunk: OutputChunk | undefined;
  let chars = 0;
  for (const { node, stream, at, first, lines } of batches) {
    for (let i = 0; i < lines.length; i++) {
      if (!chunk || chunk.lines.length >= OUTPUT_CHUNK_LINES || chars >= OUTPUT_CHUNK_CHARS) {
        chunks.push((chunk = { spans: [], lines: [] }));
        chars = 0;
      }
      const span = chunk.spans[chunk.spans.length - 1];
      const n = first + i;
      if (span && span[0] + span[1] === n && span[2] === node && span[3] === stream && span[4] === at) span[1]++;
      else chunk.spans.push([n, 1, node, stream, at]);
      const line = lines[i]!;
      chunk.lines.push(line);
      chars += line.length;
    }
  }
  return chunks;
}

function lastN(chunk: OutputChunk): number {
  const span = chunk.spans[chunk.spans.length - 1];
  return span ? span[0] + span[1] - 1 : 0;
}

/** Appends to `into` the chunk's lines from line `from` on (only `node`'s, when given), until it holds `limit`. */
function readForward(chunk: OutputChunk, from: number, node: string | undefined, limit: number, into: OutputLine[]): void {
  let start = 0;
  for (const [n, count, spanNode, stream, at] of chunk.spans) {
    if ((node === undefined || spanNode === node) && n + count > from) {
      for (let k = Math.max(0, from - n); k < count && into.length < limit; k++)
        into.push({ node: spanNode, stream, line: chunk.lines[start + k] ?? '', at, n: n + k });
    }
    start += count;
  }
}

/** Appends to `into` the chunk's lines, last first (only `node`'s, when given), until it holds `limit`. */
function readBackward(chunk: OutputChunk, node: string | undefined, limit: number, into: OutputLine[]): void {
  let end = chunk.lines.length;
  for (let s = chunk.spans.length - 1; s >= 0 && into.length < limit; s--) {
    const [n, count, spanNode, stream, at] = chunk.spans[s]!;
    const start = end - count;
    if (node === undefined || spanNode === node) {
      for (let k = count - 1; k >= 0 && into.length < limit; k--)
        into.push({ node: spanNode, stream, line: chunk.lines[start + k] ?? '', at, n: n + k });
    }
    end = start;
  }
}

function asString(value: Stored | undefined, key: string): string {
  if (typeof value !== 'string') throw corrupt(key);
  return value;
}

function asCount(value: Stored | undefined, key: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number') throw corrupt(key);
  return value;
}

function corrupt(key: string): FloeError {
  return new FloeError('internal', `store: missing or malformed value at ${key}`);
}

/** Rejects a count that is not an integer >= min; the server narrows input, this guards the rest. */
function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new FloeError('bad-request', `${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}
