import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import { FloeError } from '../errors.js';
/** Page size of `listArchive` when the query gives none. */
const DEFAULT_ARCHIVE_LIMIT = 50;
const RUN_COUNTER = 'sys!run-counter';
const ARCHIVE_SEQ = 'sys!archive-seq';
const PEND = 'pend!';
const ACT = 'act!';
const ARC = 'arc!';
/** The store for `store-type: local`: LevelDB in one directory under store-root. */
export class LevelStore {
    db;
    sync;
    runCounter;
    archiveSeq;
    nextPendSeq;
    pending;
    active;
    tail = Promise.resolve();
    constructor(db, sync, runCounter, archiveSeq, nextPendSeq, 
    /** Map order is insertion order, which is the pending list's arrival order. */
    pending, active) {
        this.db = db;
        this.sync = sync;
        this.runCounter = runCounter;
        this.archiveSeq = archiveSeq;
        this.nextPendSeq = nextPendSeq;
        this.pending = pending;
        this.active = active;
    }
    /** Opens (creating if needed) the store in `dir` and loads the pending and active lists. */
    static async open(dir, opts = {}) {
        await mkdir(dir, { recursive: true });
        const db = new Level(dir, { valueEncoding: 'json' });
        await db.open();
        try {
            const runCounter = asCount(await db.get(RUN_COUNTER), RUN_COUNTER);
            const archiveSeq = asCount(await db.get(ARCHIVE_SEQ), ARCHIVE_SEQ);
            const pendIds = [];
            const pendSeqs = [];
            for await (const [key, id] of db.iterator({ gte: PEND, lt: prefixEnd(PEND) })) {
                pendIds.push(asString(id, key));
                pendSeqs.push(Number(key.slice(PEND.length)));
            }
            const activeIds = [];
            for await (const [key, id] of db.iterator({ gte: ACT, lt: prefixEnd(ACT) }))
                activeIds.push(asString(id, key));
            const pending = new Map();
            (await readRuns(db, pendIds)).forEach((run, i) => pending.set(pendIds[i], { seq: pendSeqs[i], run }));
            const nextPendSeq = (pendSeqs[pendSeqs.length - 1] ?? 0) + 1; // keys come in ascending order
            const active = new Map((await readRuns(db, activeIds)).map((run, i) => [activeIds[i], run]));
            return new LevelStore(db, opts.sync ?? true, runCounter, archiveSeq, nextPendSeq, pending, active);
        }
        catch (err) {
            await db.close();
            throw err;
        }
    }
    nextRunNumber() {
        return this.serial(async () => {
            const n = this.runCounter + 1;
            await this.write([{ type: 'put', key: RUN_COUNTER, value: n }]);
            this.runCounter = n;
            return n;
        });
    }
    addPend(run) {
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
    activate(run) {
        const record = structuredClone(run);
        const id = record.ref.run;
        return this.serial(async () => {
            const pend = this.pending.get(id);
            const ops = [{ type: 'put', key: runKey(id), value: record }];
            if (pend) {
                ops.push({ type: 'del', key: pendKey(pend.seq) }, { type: 'put', key: actKey(id), value: id });
            }
            else if (!this.active.has(id)) {
                if ((await this.db.get(runKey(id))) !== undefined) {
                    throw new FloeError('conflict', `run ${id} is archived; it cannot become active`);
                }
                // A run adopted by another host was never pending here; it becomes active all the same.
                ops.push({ type: 'put', key: actKey(id), value: id });
            }
            await this.write(ops);
            this.pending.delete(id);
            this.active.set(id, record);
        });
    }
    updateRun(run) {
        const record = structuredClone(run);
        const id = record.ref.run;
        return this.serial(async () => {
            if (!this.active.has(id))
                throw new FloeError('not-found', `run ${id} is not active`);
            await this.write([{ type: 'put', key: runKey(id), value: record }]);
            this.active.set(id, record);
        });
    }
    updatePend(run) {
        const record = structuredClone(run);
        const id = record.ref.run;
        return this.serial(async () => {
            const pend = this.pending.get(id);
            if (!pend)
                throw new FloeError('not-found', `run ${id} is not pending`);
            await this.write([{ type: 'put', key: runKey(id), value: record }]);
            pend.run = record;
        });
    }
    archive(run) {
        const record = structuredClone(run);
        const id = record.ref.run;
        return this.serial(async () => {
            const pend = this.pending.get(id);
            const ops = [{ type: 'put', key: runKey(id), value: record }];
            if (pend)
                ops.push({ type: 'del', key: pendKey(pend.seq) });
            else if (this.active.has(id))
                ops.push({ type: 'del', key: actKey(id) });
            else if ((await this.db.get(runKey(id))) !== undefined) {
                // Archived already (a retry after a crash): save the newer state, keep its place.
                await this.write(ops);
                return;
            }
            const seq = this.archiveSeq + 1;
            ops.push({ type: 'put', key: ARC + pad(seq), value: id }, { type: 'put', key: archiveFlowPrefix(record.ref.flowRef.id) + pad(seq), value: id }, { type: 'put', key: ARCHIVE_SEQ, value: seq });
            await this.write(ops);
            this.archiveSeq = seq;
            this.pending.delete(id);
            this.active.delete(id);
        });
    }
    appendOutput(run, lines) {
        const prefix = outputPrefix(run);
        // Cloned now: the batch encodes later, and the caller may reuse its line objects meanwhile.
        const ops = lines.map((line) => ({ type: 'put', key: prefix + pad(line.n), value: structuredClone(line) }));
        if (ops.length === 0)
            return Promise.resolve();
        return this.serial(() => this.write(ops));
    }
    async listPending() {
        return [...this.pending.values()].map((p) => structuredClone(p.run));
    }
    async listActive() {
        return [...this.active.values()].map((r) => structuredClone(r));
    }
    async listArchive(q = {}) {
        const limit = checkCount('limit', q.limit ?? DEFAULT_ARCHIVE_LIMIT, 1);
        const prefix = q.flow === undefined ? ARC : archiveFlowPrefix(q.flow);
        const lt = q.before === undefined ? prefixEnd(prefix) : prefix + pad(checkCount('before', q.before, 0));
        const seqs = [];
        const ids = [];
        // One more than asked tells whether an older page exists without another read.
        for await (const [key, id] of this.db.iterator({ gte: prefix, lt, reverse: true, limit: limit + 1 })) {
            seqs.push(Number(key.slice(prefix.length)));
            ids.push(asString(id, key));
        }
        const hasMore = ids.length > limit;
        const runs = await readRuns(this.db, hasMore ? ids.slice(0, limit) : ids);
        return hasMore ? { runs, next: seqs[limit - 1] } : { runs };
    }
    async getRun(run) {
        const cached = this.pending.get(run)?.run ?? this.active.get(run);
        if (cached)
            return structuredClone(cached);
        const stored = await this.db.get(runKey(run));
        return stored === undefined ? undefined : asRun(stored, runKey(run));
    }
    async getOutput(run, q = {}) {
        const from = checkCount('from', q.from ?? 0, 0);
        const limit = q.limit === undefined ? Infinity : checkCount('limit', q.limit, 0);
        if (limit === 0)
            return [];
        const prefix = outputPrefix(run);
        if (q.tail !== undefined)
            return this.tailOutput(prefix, checkCount('tail', q.tail, 0), q.node);
        const range = { gte: prefix + pad(from), lt: prefixEnd(prefix) };
        const lines = [];
        // With a node filter the limit counts matching lines, so the read cannot be limited.
        const values = this.db.values(q.node === undefined ? { ...range, limit } : range);
        for await (const value of values) {
            const line = asLine(value, prefix);
            if (q.node !== undefined && line.node !== q.node)
                continue;
            lines.push(line);
            if (lines.length >= limit)
                break;
        }
        return lines;
    }
    /** The last `n` lines, read backwards so a long log costs only what is returned. */
    async tailOutput(prefix, n, node) {
        if (n === 0)
            return [];
        const lines = [];
        const range = { gte: prefix, lt: prefixEnd(prefix), reverse: true };
        for await (const value of this.db.values(node === undefined ? { ...range, limit: n } : range)) {
            const line = asLine(value, prefix);
            if (node !== undefined && line.node !== node)
                continue;
            lines.push(line);
            if (lines.length >= n)
                break;
        }
        return lines.reverse();
    }
    async getMeta(key) {
        const value = await this.db.get(metaKey(key));
        return value === undefined ? undefined : asString(value, metaKey(key));
    }
    putMeta(key, value) {
        return this.serial(() => this.write([{ type: 'put', key: metaKey(key), value }]));
    }
    /** Waits for queued writes, then closes the database. */
    close() {
        return this.serial(() => this.db.close());
    }
    write(ops) {
        return this.db.batch(ops, { sync: this.sync });
    }
    /** Runs `op` after every earlier write has settled; a failed write does not stop later ones. */
    serial(op) {
        const result = this.tail.then(op);
        this.tail = result.catch(() => undefined);
        return result;
    }
}
/** 16 digits hold every safe integer; a larger bound is clamped so it cannot outgrow the keys. */
function pad(n) {
    return String(Math.min(n, Number.MAX_SAFE_INTEGER)).padStart(16, '0');
}
function keyPart(s) {
    return encodeURIComponent(s).replace(/!/g, '%21');
}
/** The first key after every key starting with `prefix`: its last '!' bumped to '"'. */
function prefixEnd(prefix) {
    return prefix.slice(0, -1) + '"';
}
const runKey = (id) => `run!${keyPart(id)}`;
const pendKey = (seq) => PEND + pad(seq);
const actKey = (id) => ACT + keyPart(id);
const archiveFlowPrefix = (flow) => `arcf!${keyPart(flow)}!`;
const outputPrefix = (run) => `out!${keyPart(run)}!`;
const metaKey = (key) => `meta!${key}`;
async function readRuns(db, ids) {
    if (ids.length === 0)
        return [];
    const keys = ids.map(runKey);
    const values = await db.getMany(keys);
    return values.map((v, i) => asRun(v, keys[i]));
}
// The narrowing below guards against a store written by something else, not against
// floe's own writes; each failure names the key so the damaged store can be inspected.
function asRun(value, key) {
    if (typeof value !== 'object' || value === null || !('ref' in value))
        throw corrupt(key);
    return value;
}
function asLine(value, key) {
    if (typeof value !== 'object' || value === null || !('n' in value))
        throw corrupt(key);
    return value;
}
function asString(value, key) {
    if (typeof value !== 'string')
        throw corrupt(key);
    return value;
}
function asCount(value, key) {
    if (value === undefined)
        return 0;
    if (typeof value !== 'number')
        throw corrupt(key);
    return value;
}
function corrupt(key) {
    return new FloeError('internal', `store: missing or malformed value at ${key}`);
}
/** Rejects a count that is not an integer >= min; the server narrows input, this guards the rest. */
function checkCount(name, value, min) {
    if (!Number.isInteger(value) || value < min) {
        throw new FloeError('bad-request', `${name} must be an integer >= ${min}, got ${value}`);
    }
    return value;
}
//# sourceMappingURL=level.js.map