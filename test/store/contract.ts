import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { FloeError, type ErrorCode } from '../../src/errors.js';
import type { OutputBatch, OutputLine } from '../../src/model/output.js';
import type { NodeRecord, RunRecord, RunStatus } from '../../src/model/run.js';
import type { MetaWrite, Store } from '../../src/store/store.js';
import { entry, firstItem, itemAt } from '../items.js';

export interface OpenedStore {
  store: Store;
  /** Closes the store and opens it again on the same data; absent for stores that forget. */
  reopen?: () => Promise<Store>;
  /** Closes whichever store is open and removes its data. */
  cleanup(): Promise<void>;
}

export type List = 'pending' | 'active' | 'archive';

/** A run record with just enough in it; `id` doubles as the run id. */
export function runRecord(id: string, flow = 'build', status: RunStatus = 'pending'): RunRecord {
  return {
    ref: { flowRef: { id: flow, ver: 1 }, run: id },
    adoptedBy: 'h1',
    status,
    trigger: { id: 'start', type: 'data', values: { branch: 'main' } },
    createdAt: 1_700_000_000_000,
    nodes: {},
  };
}

/** Every run id in the archive, newest first, read page by page. */
export async function archivedIds(store: Store, flow?: string, limit = 7): Promise<string[]> {
  const ids: string[] = [];
  let before: number | undefined;
  do {
    const page = await store.listArchive({ flow, limit, before });
    ids.push(...page.runs.map((r) => r.ref.run));
    before = page.next;
  } while (before !== undefined);
  return ids;
}

/** The lists `id` is in; a sound store answers exactly one list for every stored run. */
export async function listsOf(store: Store, id: string): Promise<List[]> {
  const found: List[] = [];
  if ((await store.listPending()).some((r) => r.ref.run === id)) found.push('pending');
  if ((await store.listActive()).some((r) => r.ref.run === id)) found.push('active');
  if ((await archivedIds(store, undefined, 100)).includes(id)) found.push('archive');
  return found;
}

function ids(runs: RunRecord[]): string[] {
  return runs.map((r) => r.ref.run);
}

function isCode(code: ErrorCode): (err: unknown) => boolean {
  return (err) => err instanceof FloeError && err.code === code;
}

/** A meta write as the wire might deliver it, past what the type allows. */
function malformed(op: Record<string, unknown>): MetaWrite {
  return op as unknown as MetaWrite;
}

/** Every meta entry, key -> value, as listMeta gives it. */
async function allMeta(store: Store): Promise<Array<[string, string]>> {
  return (await store.listMeta('')).map(({ key, value }) => [key, value]);
}

/** A node record that started at `startTime`. */
function node(id: string, startTime = 1): NodeRecord {
  return { id, status: 'running', startTime, attempts: 1 };
}

/** `run` with a running node of each id, started in that order. */
function withNodes(run: RunRecord, ...nodes: string[]): RunRecord {
  nodes.forEach((id, i) => (run.nodes[id] = node(id, i + 1)));
  return run;
}

function line(node: string, n: number, text = `line ${n}`): OutputLine {
  return { node, stream: 'stdout', line: text, at: 1_700_000_000_000 + n, n };
}

/** Lines as the hub hands them to the store: a batch per stretch of consecutive lines of one node, stream and time. */
export function batched(lines: readonly OutputLine[]): OutputBatch[] {
  const out: OutputBatch[] = [];
  for (const l of lines) {
    const b = out[out.length - 1];
    if (b && b.first + b.lines.length === l.n && b.node === l.node && b.stream === l.stream && b.at === l.at) b.lines.push(l.line);
    else out.push({ node: l.node, stream: l.stream, at: l.at, first: l.n, lines: [l.line] });
  }
  return out;
}

/** The rules every Store keeps; `open` gives a fresh, empty store for each test. */
export function storeContract(name: string, open: () => Promise<OpenedStore>): void {
  const it = (title: string, body: (opened: OpenedStore, t: TestContext) => Promise<void>): void => {
    test(title, async (t) => {
      const opened = await open();
      try {
        await body(opened, t);
      } finally {
        await opened.cleanup();
      }
    });
  };

  describe(`${name} store contract`, () => {
    describe('run counter', () => {
      it('hands out increasing numbers that never repeat, even when asked concurrently', async ({ store }) => {
        const first = await store.nextRunNumber();
        const many = await Promise.all(Array.from({ length: 20 }, () => store.nextRunNumber()));
        const all = [first, ...many];
        assert.equal(new Set(all).size, all.length);
        assert.ok(many.every((n) => n > first));
        assert.ok((await store.nextRunNumber()) > Math.max(...all));
      });

      it('continues after the last number handed out when reopened', async ({ store, reopen }, t) => {
        if (!reopen) return t.skip('this store does not outlive close');
        await store.nextRunNumber();
        const last = await store.nextRunNumber();
        const again = await reopen();
        assert.ok((await again.nextRunNumber()) > last);
      });

      it('adoptPend names a new pend with the next number, in step with nextRunNumber', async ({ store }) => {
        const before = await store.nextRunNumber();
        const adopted = await store.adoptPend((n) => runRecord(`h1-${n}`));
        assert.equal(adopted.ref.run, `h1-${before + 1}`);
        assert.deepEqual(ids(await store.listPending()), [`h1-${before + 1}`]);
        assert.equal(await store.nextRunNumber(), before + 2);
        assert.equal((await store.adoptPend((n) => runRecord(`h1-${n}`))).ref.run, `h1-${before + 3}`);
      });

      it('an adopted pend and its number are on disk together after a reopen', async ({ store, reopen }, t) => {
        if (!reopen) return t.skip('this store does not outlive close');
        await store.adoptPend((n) => runRecord(`h1-${n}`));
        const last = await store.adoptPend((n) => runRecord(`h1-${n}`));
        const again = await reopen();
        assert.deepEqual(ids(await again.listPending()), ['h1-1', last.ref.run]);
        assert.equal((await again.adoptPend((n) => runRecord(`h1-${n}`))).ref.run, 'h1-3');
      });

      it('adoptActive stores the run it names with the next number straight as active, in step with adoptPend', async ({
        store,
        reopen,
      }) => {
        await store.adoptPend((n) => runRecord(`h1-${n}`));
        const started = await store.adoptActive((n) => ({ ...runRecord(`h1-${n}`, 'build', 'running'), workspace: `/ws/${n}` }));
        assert.equal(started.ref.run, 'h1-2');
        assert.deepEqual(await listsOf(store, 'h1-2'), ['active']);
        assert.equal((await store.getRun('h1-2'))?.workspace, '/ws/2');
        assert.equal((await store.adoptPend((n) => runRecord(`h1-${n}`))).ref.run, 'h1-3');
        if (!reopen) return;
        const again = await reopen();
        assert.deepEqual(ids(await again.listActive()), ['h1-2']);
        assert.equal((await again.adoptActive((n) => runRecord(`h1-${n}`, 'build', 'running'))).ref.run, 'h1-4');
      });

      it('a number adoptPend showed before its write is never handed out again', async ({ store, reopen }) => {
        const shown: string[] = [];
        for (let i = 0; i < 3; i++)
          await store.adoptPend(
            (n) => runRecord(`h1-${n}`),
            (r) => shown.push(r.ref.run),
          );
        const again = reopen ? await reopen() : store;
        const next = Number((await again.adoptPend((n) => runRecord(`h1-${n}`))).ref.run.slice(3));
        for (const id of shown) assert.ok(Number(id.slice(3)) < next, `${id} shown, and the next adoption got h1-${next}`);
      });

      it('adoptPend of an id already pending rejects with conflict, and the next adoption takes the next number', async ({ store }) => {
        await store.addPend(runRecord('h1-1'));
        await assert.rejects(
          store.adoptPend((n) => runRecord(`h1-${n}`)),
          isCode('conflict'),
        );
        assert.equal((await store.adoptPend((n) => runRecord(`h1-${n}`))).ref.run, 'h1-2');
        assert.deepEqual(ids(await store.listPending()), ['h1-1', 'h1-2']);
      });
    });

    describe('pending', () => {
      it('lists pends in arrival order', async ({ store }) => {
        for (const id of ['h1-3', 'h1-1', 'h1-2']) await store.addPend(runRecord(id));
        assert.deepEqual(ids(await store.listPending()), ['h1-3', 'h1-1', 'h1-2']);
      });

      it('rejects a pend whose id is already stored in any list, with code conflict', async ({ store }) => {
        await store.addPend(runRecord('p'));
        await store.activate(runRecord('a'));
        await store.archive(runRecord('z'));
        for (const id of ['p', 'a', 'z']) await assert.rejects(store.addPend(runRecord(id)), isCode('conflict'));
        assert.deepEqual(await listsOf(store, 'p'), ['pending']);
        assert.deepEqual(await listsOf(store, 'a'), ['active']);
        assert.deepEqual(await listsOf(store, 'z'), ['archive']);
      });

      it('updatePend saves the new state and keeps the pend in its place', async ({ store }) => {
        for (const id of ['a', 'b', 'c']) await store.addPend(runRecord(id));
        await store.updatePend({ ...runRecord('b'), waiting: 'no host has tag db' });
        assert.deepEqual(ids(await store.listPending()), ['a', 'b', 'c']);
        assert.equal((await store.getRun('b'))?.waiting, 'no host has tag db');
      });

      it('a pend whose id another host made is kept like a local one and leaves the run counter alone', async ({ store, reopen }) => {
        const before = await store.nextRunNumber();
        await store.addPend(runRecord('h1-1'));
        await store.addPend({ ...runRecord('h2-5'), adoptedBy: 'h2' });
        await store.updatePend({ ...runRecord('h2-5'), adoptedBy: 'h2', waiting: 'no host has tag gpu' });
        assert.deepEqual(ids(await store.listPending()), ['h1-1', 'h2-5']);
        assert.equal((await store.getRun('h2-5'))?.waiting, 'no host has tag gpu');
        assert.equal(await store.nextRunNumber(), before + 1);
        await assert.rejects(store.addPend(runRecord('h2-5')), isCode('conflict'));
        const again = reopen ? await reopen() : store;
        assert.deepEqual(ids(await again.listPending()), ['h1-1', 'h2-5']);
        assert.equal((await again.getRun('h2-5'))?.adoptedBy, 'h2');
        assert.equal(await again.nextRunNumber(), before + 2);
      });

      it('updatePend of a run that is not pending rejects with not-found', async ({ store }) => {
        await assert.rejects(store.updatePend(runRecord('x')), isCode('not-found'));
        await store.activate(runRecord('a'));
        await assert.rejects(store.updatePend(runRecord('a')), isCode('not-found'));
      });
    });

    describe('active', () => {
      it('activate moves a pend from pending to active with its new state', async ({ store }) => {
        await store.addPend(runRecord('a'));
        await store.addPend(runRecord('b'));
        await store.activate({ ...runRecord('a', 'build', 'running'), execHost: 'h2' });
        assert.deepEqual(ids(await store.listPending()), ['b']);
        assert.deepEqual(ids(await store.listActive()), ['a']);
        assert.equal((await store.getRun('a'))?.execHost, 'h2');
      });

      it('activate of a run pended on another host makes it active here', async ({ store }) => {
        await store.activate(runRecord('h2-1', 'build', 'running'));
        assert.deepEqual(await listsOf(store, 'h2-1'), ['active']);
      });

      it('activate of an active run saves its state without a second entry', async ({ store }) => {
        await store.addPend(runRecord('a'));
        await store.activate(runRecord('a', 'build', 'running'));
        await store.activate({ ...runRecord('a', 'build', 'running'), workspace: '/ws/a' });
        assert.deepEqual(ids(await store.listActive()), ['a']);
        assert.equal((await store.getRun('a'))?.workspace, '/ws/a');
      });

      it('activate of an archived run rejects with conflict and leaves it archived', async ({ store }) => {
        await store.archive(runRecord('a', 'build', 'good'));
        await assert.rejects(store.activate(runRecord('a', 'build', 'running')), isCode('conflict'));
        assert.deepEqual(await listsOf(store, 'a'), ['archive']);
        assert.equal((await store.getRun('a'))?.status, 'good');
      });

      it('updateRun saves an active run; a run that is not active rejects with not-found', async ({ store }) => {
        await store.addPend(runRecord('a'));
        await assert.rejects(store.updateRun(runRecord('a', 'build', 'running')), isCode('not-found'));
        await store.activate(runRecord('a', 'build', 'running'));
        const run = runRecord('a', 'build', 'running');
        run.nodes.build = { id: 'build', status: 'running', startTime: 5, attempts: 1 };
        await store.updateRun(run);
        assert.deepEqual((await store.getRun('a'))?.nodes, run.nodes);
        assert.deepEqual(await listsOf(store, 'a'), ['active']);
      });
    });

    describe('progress', () => {
      it('saveProgress saves the top-level fields and the nodes named, and leaves the other nodes as stored', async ({ store }) => {
        const run = withNodes(runRecord('a', 'build', 'running'), 'one', 'two');
        await store.activate(run);
        run.nodes.one = { ...node('one'), status: 'good', endTime: 9 };
        run.nodes.two = { ...node('two'), status: 'bad' }; // changed, but not named: not saved
        run.nodes.three = node('three');
        run.workspace = '/ws/a';
        await store.saveProgress([{ run, nodes: ['one', 'three'] }]);
        const got = await store.getRun('a');
        assert.equal(got?.workspace, '/ws/a');
        assert.deepEqual(got?.nodes, { one: run.nodes.one, two: node('two', 2), three: node('three') });
        assert.deepEqual(await store.listActive(), [got]);
      });

      it('a node named but gone from the record is deleted; updateRun with nodes saves just those, durably', async ({ store }) => {
        const run = withNodes(runRecord('a', 'build', 'running'), 'one', 'two');
        await store.activate(run);
        delete run.nodes.one;
        await store.saveProgress([{ run, nodes: ['one'] }]);
        assert.deepEqual(Object.keys((await store.getRun('a'))?.nodes ?? {}), ['two']);
        run.nodes.two = { ...node('two'), answeredBy: 'ann' };
        await store.updateRun(run, ['two']);
        assert.equal((await store.getRun('a'))?.nodes.two?.answeredBy, 'ann');
      });

      it('saveProgress of several runs saves each; one that is not active rejects them all with not-found', async ({ store }) => {
        const a = withNodes(runRecord('a', 'build', 'running'), 'x');
        const b = withNodes(runRecord('b', 'build', 'running'), 'y');
        await store.activate(a);
        await store.activate(b);
        await store.addPend(runRecord('p'));
        a.nodes.x = { ...node('x'), status: 'good' };
        b.nodes.y = { ...node('y'), status: 'bad' };
        await assert.rejects(
          store.saveProgress([
            { run: a, nodes: ['x'] },
            { run: runRecord('p'), nodes: [] },
          ]),
          isCode('not-found'),
        );
        assert.equal((await store.getRun('a'))?.nodes.x?.status, 'running', 'nothing of the rejected write is kept');
        await store.saveProgress([
          { run: a, nodes: ['x'] },
          { run: b, nodes: ['y'] },
        ]);
        assert.equal((await store.getRun('a'))?.nodes.x?.status, 'good');
        assert.equal((await store.getRun('b'))?.nodes.y?.status, 'bad');
        await store.saveProgress([]);
      });

      it('saveProgress copies what it saves before it returns', async ({ store }) => {
        const run = withNodes(runRecord('a', 'build', 'running'), 'x');
        await store.activate(run);
        const saved = store.saveProgress([{ run, nodes: ['x'] }]);
        run.nodes.x = { ...node('x'), status: 'bad' };
        run.reason = 'changed after the save';
        await saved;
        assert.deepEqual(await store.getRun('a'), withNodes(runRecord('a', 'build', 'running'), 'x'));
      });

      it('a progress save not awaited before an archive is in the archive, which has the last word', async ({ store }) => {
        const run = withNodes(runRecord('a', 'build', 'running'), 'x');
        await store.activate(run);
        run.nodes.y = node('y');
        const order: string[] = [];
        const progress = store.saveProgress([{ run, nodes: ['y'] }]).then(() => order.push('progress'));
        const done = structuredClone(run);
        done.status = 'good';
        done.nodes.x = { ...node('x'), status: 'good' };
        const archived = store.archive(done).then(() => order.push('archive'));
        await Promise.all([progress, archived]);
        assert.deepEqual(order, ['progress', 'archive']);
        assert.deepEqual(await store.getRun('a'), done);
        assert.deepEqual((await store.listArchive()).runs, [done]);
        assert.deepEqual(await listsOf(store, 'a'), ['archive']);
      });

      it('an active run comes back after a reopen with every node saved, by activate, updateRun or saveProgress', async ({
        store,
        reopen,
      }, t) => {
        if (!reopen) return t.skip('this store does not outlive close');
        const run = withNodes(runRecord('a', 'build', 'running'), 'one');
        await store.activate(run);
        run.nodes.two = node('two', 2);
        await store.updateRun(run, ['two']);
        run.nodes.three = { ...node('three', 3), procs: [{ pgid: 42, id: 'boot 1' }] };
        run.nodes.one = { ...node('one'), status: 'good' };
        run.execHost = 'h1';
        await store.saveProgress([{ run, nodes: ['three', 'one'] }]);
        const again = await reopen();
        assert.deepEqual(await again.listActive(), [run]);
        assert.deepEqual(Object.keys((await again.getRun('a'))?.nodes ?? {}), ['one', 'two', 'three'], 'in the order they started');
        run.status = 'bad';
        await again.archive(run);
        assert.deepEqual(await (await reopen()).getRun('a'), run);
      });
    });

    describe('archive', () => {
      it('archive moves an active run out of active', async ({ store }) => {
        await store.addPend(runRecord('a'));
        await store.activate(runRecord('a', 'build', 'running'));
        await store.archive({ ...runRecord('a', 'build', 'good'), endTime: 9 });
        assert.deepEqual(await listsOf(store, 'a'), ['archive']);
        assert.equal((await store.getRun('a'))?.endTime, 9);
      });

      it('archive of a cancelled pend moves it out of pending', async ({ store }) => {
        await store.addPend(runRecord('a'));
        await store.addPend(runRecord('b'));
        await store.archive({ ...runRecord('a', 'build', 'cancelled'), reason: 'cancelled by admin' });
        assert.deepEqual(await listsOf(store, 'a'), ['archive']);
        assert.deepEqual(ids(await store.listPending()), ['b']);
        assert.equal((await store.getRun('a'))?.reason, 'cancelled by admin');
      });

      it('archiving the same run twice keeps one entry in its first place and the latest state', async ({ store }) => {
        await store.activate(runRecord('a', 'build', 'running'));
        await store.archive(runRecord('a', 'build', 'bad'));
        await store.archive(runRecord('b', 'build', 'good'));
        await store.archive({ ...runRecord('a', 'build', 'bad'), reason: 'exit 2' });
        assert.deepEqual(await archivedIds(store), ['b', 'a']);
        assert.deepEqual(await archivedIds(store, 'build'), ['b', 'a']);
        assert.equal((await store.getRun('a'))?.reason, 'exit 2');
      });

      it('archive applies its meta writes with the move, from pending, active and again from the archive', async ({ store }) => {
        await store.writeMeta([
          { key: 'lock:db', value: 'h1-1' },
          { key: 'lock:net', value: 'h1-2' },
        ]);
        await store.activate(runRecord('h1-1', 'build', 'running'));
        await store.addPend(runRecord('h1-2'));
        await store.archive(runRecord('h1-1', 'build', 'good'), [{ key: 'lock:db' }, { key: 'done:h1-1', value: 'good' }]);
        await store.archive(runRecord('h1-2', 'build', 'cancelled'), [{ key: 'lock:net' }]);
        assert.deepEqual(await listsOf(store, 'h1-1'), ['archive']);
        assert.deepEqual(await listsOf(store, 'h1-2'), ['archive']);
        assert.deepEqual(await allMeta(store), [['done:h1-1', 'good']]);

        // A repeated archive (a retry after a crash) still applies its meta writes.
        await store.archive({ ...runRecord('h1-1', 'build', 'good'), reason: 'again' }, [{ key: 'done:h1-1', value: 'again' }]);
        assert.deepEqual(await archivedIds(store), ['h1-2', 'h1-1']);
        assert.equal((await store.getRun('h1-1'))?.reason, 'again');
        assert.equal(await store.getMeta('done:h1-1'), 'again');
      });

      it('archive with a malformed meta write rejects with bad-request and changes nothing', async ({ store }) => {
        await store.putMeta('lock:db', 'a');
        await store.addPend(runRecord('a'));
        const bad = [{ key: 'lock:db' }, malformed({ key: 'x', value: 5 })];
        await assert.rejects(store.archive(runRecord('a', 'build', 'cancelled'), bad), isCode('bad-request'));
        assert.deepEqual(await listsOf(store, 'a'), ['pending']);
        assert.equal((await store.getRun('a'))?.status, 'pending');
        assert.deepEqual(await allMeta(store), [['lock:db', 'a']]);
      });

      it('an archive and its meta writes are both there after a reopen', async ({ store, reopen }, t) => {
        if (!reopen) return t.skip('this store does not outlive close');
        await store.putMeta('lock:db', 'h1-1');
        await store.activate(runRecord('h1-1', 'build', 'running'));
        await store.archive(runRecord('h1-1', 'build', 'good'), [{ key: 'lock:db' }, { key: 'released:h1-1', value: 'db' }]);
        const again = await reopen();
        assert.deepEqual(await listsOf(again, 'h1-1'), ['archive']);
        assert.equal((await again.getRun('h1-1'))?.status, 'good');
        assert.deepEqual(await allMeta(again), [['released:h1-1', 'db']]);
      });

      it('every run is in exactly one list after each move', async ({ store }) => {
        const moves: Array<[string, (s: Store) => Promise<void>, List]> = [
          ['a', (s) => s.addPend(runRecord('a')), 'pending'],
          ['b', (s) => s.addPend(runRecord('b')), 'pending'],
          ['a', (s) => s.activate(runRecord('a', 'build', 'running')), 'active'],
          ['b', (s) => s.archive(runRecord('b', 'build', 'cancelled')), 'archive'],
          ['a', (s) => s.archive(runRecord('a', 'build', 'good')), 'archive'],
        ];
        for (const [id, move, list] of moves) {
          await move(store);
          assert.deepEqual(await listsOf(store, id), [list], `${id} after a move to ${list}`);
        }
        assert.deepEqual(await listsOf(store, 'a'), ['archive']);
      });
    });

    describe('handOff', () => {
      it('handOff forgets a pend: it is neither pending nor found, and the other pends keep their order', async ({ store }) => {
        for (const id of ['h1-1', 'h2-5', 'h1-2']) await store.addPend(runRecord(id));
        await store.handOff('h2-5');
        await store.handOff('h1-1');
        assert.deepEqual(ids(await store.listPending()), ['h1-2']);
        assert.equal(await store.getRun('h2-5'), undefined);
        assert.deepEqual(await listsOf(store, 'h2-5'), []);
        assert.equal(await store.getRun('h1-1'), undefined);
        // Handed back later, it is a run like any other here.
        await store.addPend(runRecord('h2-5'));
        await store.activate(runRecord('h1-1', 'build', 'running'));
        assert.deepEqual(ids(await store.listPending()), ['h1-2', 'h2-5']);
        assert.deepEqual(await listsOf(store, 'h1-1'), ['active']);
      });

      it('handOff of an active, archived or unknown run changes nothing, after a reopen too', async ({ store, reopen }) => {
        await store.addPend(runRecord('p'));
        await store.activate(runRecord('a', 'build', 'running'));
        await store.archive(runRecord('z', 'build', 'good'));
        for (const id of ['a', 'z', 'nope']) await store.handOff(id);
        const check = async (s: Store): Promise<void> => {
          assert.deepEqual(await listsOf(s, 'p'), ['pending']);
          assert.deepEqual(await listsOf(s, 'a'), ['active']);
          assert.deepEqual(await listsOf(s, 'z'), ['archive']);
          assert.deepEqual(await s.getRun('a'), runRecord('a', 'build', 'running'));
          assert.deepEqual(await s.getRun('z'), runRecord('z', 'build', 'good'));
          assert.equal(await s.getRun('nope'), undefined);
        };
        await check(store);
        if (reopen) await check(await reopen());
      });

      it('a handed-off pend stays gone after a reopen', async ({ store, reopen }, t) => {
        if (!reopen) return t.skip('this store does not outlive close');
        for (const id of ['h1-1', 'h2-5', 'h1-2']) await store.addPend(runRecord(id));
        await store.handOff('h2-5');
        let again = await reopen();
        assert.deepEqual(ids(await again.listPending()), ['h1-1', 'h1-2']);
        assert.equal(await again.getRun('h2-5'), undefined);
        await again.addPend(runRecord('h1-3'));
        again = await reopen();
        assert.deepEqual(ids(await again.listPending()), ['h1-1', 'h1-2', 'h1-3']);
        assert.equal(await again.getRun('h2-5'), undefined);
      });
    });

    describe('listArchive', () => {
      it('lists newest first, per flow id, 50 to a page by default', async ({ store }) => {
        for (let i = 1; i <= 60; i++) await store.archive(runRecord(`r${i}`, i % 3 === 0 ? 'deploy' : 'build', 'good'));
        const page = await store.listArchive();
        assert.equal(page.runs.length, 50);
        assert.deepEqual(ids(page.runs).slice(0, 3), ['r60', 'r59', 'r58']);
        const deploy = await store.listArchive({ flow: 'deploy', limit: 3 });
        assert.deepEqual(ids(deploy.runs), ['r60', 'r57', 'r54']);
        assert.deepEqual(await store.listArchive({ flow: 'nope' }), { runs: [] });
      });

      it('pages with before cover every archived run exactly once, and the last page has no next', async ({ store }) => {
        const expected: Record<string, string[]> = { build: [], deploy: [], 'build-x': [] };
        for (let i = 1; i <= 45; i++) {
          const flow = itemAt(['build', 'deploy', 'build-x'], i % 3);
          await store.archive(runRecord(`r${i}`, flow, 'good'));
          entry(expected, flow).unshift(`r${i}`);
        }
        for (const [flow, want] of Object.entries(expected)) assert.deepEqual(await archivedIds(store, flow, 4), want);
        const all = await archivedIds(store, undefined, 10);
        assert.equal(all.length, 45);
        assert.equal(new Set(all).size, 45);
        assert.equal(all[0], 'r45');
        const last = await store.listArchive({ limit: 45 });
        assert.equal(last.runs.length, 45);
        assert.equal(last.next, undefined);
      });

      it('a page ending exactly at the oldest run says there is no next page', async ({ store }) => {
        for (let i = 1; i <= 4; i++) await store.archive(runRecord(`r${i}`, 'build', 'good'));
        const first = await store.listArchive({ limit: 2 });
        assert.notEqual(first.next, undefined);
        const second = await store.listArchive({ limit: 2, before: first.next });
        assert.deepEqual(ids(second.runs), ['r2', 'r1']);
        assert.equal(second.next, undefined);
      });

      it('rejects a limit below 1 or a negative before with bad-request', async ({ store }) => {
        await assert.rejects(store.listArchive({ limit: 0 }), isCode('bad-request'));
        await assert.rejects(store.listArchive({ before: -1 }), isCode('bad-request'));
      });
    });

    describe('getRun', () => {
      it('finds a run in any list, and nothing for an unknown id', async ({ store }) => {
        await store.addPend(runRecord('p'));
        await store.activate(runRecord('a', 'build', 'running'));
        await store.archive(runRecord('z', 'build', 'good'));
        assert.deepEqual(await store.getRun('p'), runRecord('p'));
        assert.deepEqual(await store.getRun('a'), runRecord('a', 'build', 'running'));
        assert.deepEqual(await store.getRun('z'), runRecord('z', 'build', 'good'));
        assert.equal(await store.getRun('missing'), undefined);
      });
    });

    describe('output', () => {
      it('returns lines in order of n, filtered by node, from a line number, up to a limit', async ({ store }) => {
        await store.appendOutput('r1', batched([line('build', 0), line('test', 1), line('build', 2)]));
        await store.appendOutput('r1', batched([line('test', 3), line('build', 4)]));
        await store.appendOutput('r1!x', batched([line('build', 0, 'another run')]));
        assert.deepEqual(
          (await store.getOutput('r1')).map((l) => l.n),
          [0, 1, 2, 3, 4],
        );
        assert.deepEqual(
          (await store.getOutput('r1', { node: 'build' })).map((l) => l.n),
          [0, 2, 4],
        );
        assert.deepEqual(
          (await store.getOutput('r1', { from: 2 })).map((l) => l.n),
          [2, 3, 4],
        );
        assert.deepEqual(
          (await store.getOutput('r1', { from: 1, limit: 2 })).map((l) => l.n),
          [1, 2],
        );
        assert.deepEqual(
          (await store.getOutput('r1', { node: 'build', from: 1, limit: 1 })).map((l) => l.n),
          [2],
        );
        assert.deepEqual(await store.getOutput('r1', { limit: 0 }), []);
        assert.deepEqual(await store.getOutput('r1!x'), [line('build', 0, 'another run')]);
        assert.deepEqual(await store.getOutput('nope'), []);
      });

      it('tails the last lines of a run, or of one node, in order', async ({ store }) => {
        await store.appendOutput('r1', batched([line('build', 0), line('test', 1), line('build', 2), line('test', 3), line('build', 4)]));
        await store.appendOutput('r1!x', batched([line('build', 0, 'another run')]));
        assert.deepEqual(
          (await store.getOutput('r1', { tail: 2 })).map((l) => l.n),
          [3, 4],
        );
        assert.deepEqual(
          (await store.getOutput('r1', { tail: 2, node: 'test' })).map((l) => l.n),
          [1, 3],
        );
        assert.deepEqual(
          (await store.getOutput('r1', { tail: 99 })).map((l) => l.n),
          [0, 1, 2, 3, 4],
        );
        assert.deepEqual(await store.getOutput('r1', { tail: 0 }), []);
        assert.deepEqual(await store.getOutput('nope', { tail: 3 }), []);
      });

      it('reads exactly what was appended across the boundaries of appends and of what the store keeps together', async ({ store }) => {
        // Long enough that a store keeping lines in chunks has many, and lines of three nodes,
        // two streams and changing times take turns within appends and within chunks.
        const all: OutputLine[] = [];
        for (let n = 0; n < 5000; n++) {
          const node = ['build', 'test', 'lint'][Math.floor(n / 7) % 3]!;
          all.push({
            node,
            stream: n % 11 === 0 ? 'stderr' : 'stdout',
            line: n % 97 === 0 ? 'x'.repeat(3000) : `line ${n}`,
            at: 1_000 + Math.floor(n / 50),
            n,
          });
        }
        for (let at = 0, size = 1; at < all.length; at += size, size = (size * 7) % 1500 || 1)
          await store.appendOutput('r1', batched(all.slice(at, at + size)));
        await store.appendOutput('r2', batched([line('build', 0, 'another run')]));
        const of = (node?: string) => all.filter((l) => node === undefined || l.node === node);
        assert.deepEqual(await store.getOutput('r1'), all);
        assert.deepEqual(await store.getOutput('r1', { node: 'test' }), of('test'));
        assert.deepEqual(await store.getOutput('r1', { from: 1023, limit: 3 }), all.slice(1023, 1026));
        assert.deepEqual(await store.getOutput('r1', { from: 4999 }), all.slice(4999));
        assert.deepEqual(await store.getOutput('r1', { from: 5000 }), []);
        assert.deepEqual(
          await store.getOutput('r1', { from: 1000, limit: 5, node: 'lint' }),
          of('lint')
            .filter((l) => l.n >= 1000)
            .slice(0, 5),
        );
        assert.deepEqual(await store.getOutput('r1', { tail: 10 }), all.slice(-10));
        assert.deepEqual(await store.getOutput('r1', { tail: 2500 }), all.slice(-2500));
        assert.deepEqual(await store.getOutput('r1', { tail: 10, node: 'build' }), of('build').slice(-10));
        assert.deepEqual(await store.getOutput('r1', { tail: 9999, node: 'lint' }), of('lint'));
        assert.deepEqual(await store.getOutput('r2'), [line('build', 0, 'another run')]);
      });
    });

    describe('meta', () => {
      it('stores, overwrites and reads small values; unknown keys read undefined', async ({ store }) => {
        assert.equal(await store.getMeta('poll-git:build'), undefined);
        await store.putMeta('poll-git:build', 'abc');
        await store.putMeta('poll-git:build', 'def');
        await store.putMeta('run-counter', 'not the counter');
        assert.equal(await store.getMeta('poll-git:build'), 'def');
        const n = await store.nextRunNumber();
        assert.equal(await store.getMeta('run-counter'), 'not the counter');
        assert.ok((await store.nextRunNumber()) > n);
      });
    });

    describe('meta writes and lists', () => {
      it('writeMeta applies puts and deletes in order, a later write on a key winning', async ({ store }) => {
        await store.putMeta('old', '1');
        await store.putMeta('keep', 'k');
        await store.writeMeta([
          { key: 'a', value: '1' },
          { key: 'old' },
          { key: 'b', value: 'x' },
          { key: 'b', value: undefined },
          { key: 'never' },
          { key: 'd' },
          { key: 'd', value: '2' },
        ]);
        await store.writeMeta([]);
        assert.deepEqual(await allMeta(store), [
          ['a', '1'],
          ['d', '2'],
          ['keep', 'k'],
        ]);
        assert.equal(await store.getMeta('old'), undefined);
      });

      it('a malformed meta write rejects the whole batch with bad-request', async ({ store }) => {
        await store.putMeta('x', '1');
        const bad = [
          [{ key: 'a', value: '1' }, { key: 'x' }, malformed({ key: 'b', value: null })],
          [{ key: 'a', value: '1' }, malformed({ key: 7, value: '1' })],
          [{ key: 'a', value: '1' }, malformed({ value: '1' })],
          [malformed({ key: 'a', value: { nested: true } })],
        ];
        for (const ops of bad) await assert.rejects(store.writeMeta(ops), isCode('bad-request'));
        assert.deepEqual(await allMeta(store), [['x', '1']]);
      });

      it('listMeta returns only keys starting with the prefix, sorted', async ({ store }) => {
        const keys = ['lock:b', 'lock', 'lockx', 'lock:', 'lock:a:1', 'lock;', 'loc', 'lock:a', 'LOCK:a', 'x!lock:a'];
        for (const key of keys) await store.putMeta(key, `v ${key}`);
        const listed = async (prefix: string): Promise<string[]> => {
          const found = await store.listMeta(prefix);
          for (const { key, value } of found) assert.equal(value, `v ${key}`);
          return found.map((m) => m.key);
        };
        assert.deepEqual(await listed('lock:'), ['lock:', 'lock:a', 'lock:a:1', 'lock:b']);
        assert.deepEqual(await listed('lock:a'), ['lock:a', 'lock:a:1']);
        assert.deepEqual(await listed('lock'), ['lock', 'lock:', 'lock:a', 'lock:a:1', 'lock:b', 'lock;', 'lockx']);
        assert.deepEqual(await listed('lock:c'), []);
        assert.deepEqual(await listed('m'), []);
        assert.deepEqual(await listed(''), [...keys].sort());
      });

      it('listMeta sorts keys by code point, as LevelDB orders their UTF-8 bytes', async ({ store }) => {
        // UTF-16 order would put the astral key (a surrogate pair, 0xD800..) before U+E000.
        for (const key of ['u:\u{10000}', 'u:\uE000', 'u:\u00e9', 'u:z']) await store.putMeta(key, key);
        assert.deepEqual(
          (await store.listMeta('u:')).map((m) => m.key),
          ['u:z', 'u:\u00e9', 'u:\uE000', 'u:\u{10000}'],
        );
      });

      it('listMeta sees nothing of runs, output or counters, whatever the prefix', async ({ store }) => {
        await store.nextRunNumber();
        await store.addPend(runRecord('p'));
        await store.activate(runRecord('a', 'build', 'running'));
        await store.archive(runRecord('z', 'build', 'good'));
        await store.appendOutput('a', batched([line('build', 0)]));
        await store.putMeta('m', '1');
        assert.deepEqual(await allMeta(store), [['m', '1']]);
        for (const prefix of ['"', '!', 'z', '\uffff', '~']) assert.deepEqual(await store.listMeta(prefix), [], `prefix ${prefix}`);
      });

      it('meta writes are all there after a reopen', async ({ store, reopen }, t) => {
        if (!reopen) return t.skip('this store does not outlive close');
        await store.putMeta('gone', '1');
        await store.writeMeta([{ key: 'lock:db', value: 'h1-1' }, { key: 'gone' }, { key: 'lock:net', value: 'h2-3' }]);
        const again = await reopen();
        assert.deepEqual(await allMeta(again), [
          ['lock:db', 'h1-1'],
          ['lock:net', 'h2-3'],
        ]);
      });
    });

    describe('copies', () => {
      it('changing a record after storing it, or one read back, leaves the stored run alone', async ({ store }) => {
        const pend = runRecord('p');
        await store.addPend(pend);
        pend.status = 'bad';
        firstItem(await store.listPending()).status = 'good';
        const gotPend = await store.getRun('p');
        assert.equal(gotPend?.status, 'pending');
        if (gotPend) gotPend.trigger.values.branch = 'evil';

        const act = runRecord('a', 'build', 'running');
        await store.activate(act);
        act.nodes.x = { id: 'x', status: 'bad', startTime: 0, attempts: 1 };
        firstItem(await store.listActive()).reason = 'changed';

        const arc = runRecord('z', 'build', 'good');
        await store.archive(arc);
        arc.reason = 'changed';
        firstItem((await store.listArchive()).runs).reason = 'changed';

        const stored = batched([line('build', 0)]);
        await store.appendOutput('a', stored);
        firstItem(stored).lines[0] = 'changed';
        firstItem(await store.getOutput('a')).line = 'changed';

        assert.deepEqual(await store.getRun('p'), runRecord('p'));
        assert.deepEqual(await store.getRun('a'), runRecord('a', 'build', 'running'));
        assert.deepEqual(await store.getRun('z'), runRecord('z', 'build', 'good'));
        assert.deepEqual(await store.getOutput('a'), [line('build', 0)]);
      });
    });
  });
}
