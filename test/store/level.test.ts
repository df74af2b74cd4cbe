import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Level } from 'level';
import type { NodeRecord, RunRecord } from '../../src/model/run.js';
import { LevelStore } from '../../src/store/level.js';
import { archivedIds, listsOf, runRecord, storeContract, type List } from './contract.js';

function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'floe-store-'));
}

storeContract('level', async () => {
  const dir = await tempDir();
  let current = await LevelStore.open(dir);
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = await LevelStore.open(dir);
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

/** Runs `body` with a temp dir that is removed afterwards, whatever happens. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('LevelStore on disk', () => {
  test('open creates a missing directory, nested', () =>
    inTempDir(async (dir) => {
      const store = await LevelStore.open(path.join(dir, 'a', 'store'));
      await store.addPend(runRecord('h1-1'));
      await store.close();
    }));

  test('an adoption shows its pend before its write when the adoption before kept its number, and a close gives a kept number back', () =>
    inTempDir(async (dir) => {
      let store = await LevelStore.open(dir);
      const seen: string[] = [];
      const adopt = async (): Promise<void> => {
        const r = await store.adoptPend(
          (n) => runRecord(`h1-${n}`),
          (shown) => seen.push(`shown ${shown.ref.run}`),
        );
        seen.push(`written ${r.ref.run}`);
      };
      await adopt(); // the first after opening: no number was kept for it
      await adopt();
      await store.close();
      store = await LevelStore.open(dir);
      await adopt();
      await store.close();
      assert.deepEqual(seen, ['written h1-1', 'shown h1-2', 'written h1-2', 'written h1-3']);
    }));

  test('reopening keeps every list in order, the output, the meta and both counters', () =>
    inTempDir(async (dir) => {
      let store = await LevelStore.open(dir);
      for (let i = 1; i <= 6; i++) {
        assert.equal(await store.nextRunNumber(), i);
        await store.addPend(runRecord(`h1-${i}`, i % 2 ? 'build' : 'deploy'));
      }
      await store.updatePend({ ...runRecord('h1-2', 'deploy'), waiting: 'resource db busy' });
      await store.activate(runRecord('h1-1', 'build', 'running'));
      await store.activate(runRecord('h1-3', 'build', 'running'));
      await store.archive(runRecord('h1-3', 'build', 'good'));
      await store.archive(runRecord('h1-4', 'deploy', 'cancelled'));
      await store.appendOutput('h1-3', [{ node: 'build', stream: 'stderr', at: 1, first: 0, lines: ['oops'] }]);
      await store.putMeta('poll-git:build', 'abc123');
      await store.close();

      store = await LevelStore.open(dir);
      assert.deepEqual(
        (await store.listPending()).map((r) => r.ref.run),
        ['h1-2', 'h1-5', 'h1-6'],
      );
      assert.equal((await store.getRun('h1-2'))?.waiting, 'resource db busy');
      assert.deepEqual(
        (await store.listActive()).map((r) => r.ref.run),
        ['h1-1'],
      );
      assert.deepEqual(await archivedIds(store), ['h1-4', 'h1-3']);
      assert.deepEqual(await archivedIds(store, 'build'), ['h1-3']);
      assert.deepEqual(await store.getOutput('h1-3'), [{ node: 'build', stream: 'stderr', line: 'oops', at: 1, n: 0 }]);
      assert.equal(await store.getMeta('poll-git:build'), 'abc123');
      assert.equal(await store.nextRunNumber(), 7);

      // New entries go after the reopened ones: arrival order and archive order carry on.
      await store.addPend(runRecord('h1-7'));
      await store.archive(runRecord('h1-5', 'build', 'cancelled'));
      assert.deepEqual(
        (await store.listPending()).map((r) => r.ref.run),
        ['h1-2', 'h1-6', 'h1-7'],
      );
      assert.deepEqual(await archivedIds(store), ['h1-5', 'h1-4', 'h1-3']);
      await store.close();
    }));

  test('archiving a run again after a restart does not add a second archive entry', () =>
    inTempDir(async (dir) => {
      let store = await LevelStore.open(dir);
      await store.activate(runRecord('h1-1', 'build', 'running'));
      await store.archive(runRecord('h1-1', 'build', 'good'));
      await store.archive(runRecord('h1-2', 'build', 'good'));
      await store.close();
      store = await LevelStore.open(dir);
      await store.archive({ ...runRecord('h1-1', 'build', 'good'), endTime: 42 });
      assert.deepEqual(await archivedIds(store), ['h1-2', 'h1-1']);
      assert.deepEqual(await archivedIds(store, 'build'), ['h1-2', 'h1-1']);
      assert.deepEqual(await listsOf(store, 'h1-1'), ['archive']);
      assert.equal((await store.getRun('h1-1'))?.endTime, 42);
      await store.close();
    }));

  test("a run's archive is written after the output it was given before, which a read also waits for", () =>
    inTempDir(async (dir) => {
      const store = await LevelStore.open(dir);
      await store.activate(runRecord('h1-1', 'build', 'running'));
      // Large and unsynced, against a small synced write: left alone, the archive would land first.
      const lines = Array.from({ length: 300_000 }, (_, i) => `line ${i} of a long build log`);
      let stored = false;
      const output = store.appendOutput('h1-1', [{ node: 'build', stream: 'stdout', at: 1, first: 0, lines }]).then(() => (stored = true));
      await store.archive(runRecord('h1-1', 'build', 'good'));
      assert.ok(stored, 'the output was written before the archive resolved');
      await output;
      const more = store.appendOutput('h1-2', [{ node: 'build', stream: 'stdout', at: 1, first: 0, lines }]);
      assert.equal((await store.getOutput('h1-2', { tail: 1 }))[0]?.n, lines.length - 1, 'a read sees what was given before it');
      await more;
      await store.close();
    }));

  test('output a store wrote a line per key, before chunks, reads as it did', () =>
    inTempDir(async (dir) => {
      const old = new Level<string, unknown>(dir, { valueEncoding: 'json' });
      const lines = [0, 1, 2].map((n) => ({ node: n === 1 ? 'test' : 'build', stream: 'stdout', line: `old ${n}`, at: 5, n }));
      await old.batch(lines.map((l) => ({ type: 'put', key: `out!h1-1!${String(l.n).padStart(16, '0')}`, value: l })));
      await old.close();
      const store = await LevelStore.open(dir);
      await store.appendOutput('h1-1', [{ node: 'build', stream: 'stderr', at: 6, first: 3, lines: ['new 3', 'new 4'] }]);
      const all = [
        ...lines,
        { node: 'build', stream: 'stderr', line: 'new 3', at: 6, n: 3 },
        { node: 'build', stream: 'stderr', line: 'new 4', at: 6, n: 4 },
      ];
      assert.deepEqual(await store.getOutput('h1-1'), all);
      assert.deepEqual(await store.getOutput('h1-1', { from: 1, limit: 3 }), all.slice(1, 4));
      assert.deepEqual(await store.getOutput('h1-1', { tail: 4, node: 'build' }), [all[0], ...all.slice(2)]);
      await store.close();
    }));

  test('after kill -9, every acknowledged run is in exactly one list, no earlier than acknowledged, its meta with it, and no number shown is handed out again', () =>
    inTempDir(async (dir) => {
      const storeDir = path.join(dir, 'store');
      const script = path.join(dir, 'writer.mjs');
      await writeFile(script, writerScript(new URL('../../src/store/level.js', import.meta.url).href));
      const lastState = new Map<string, List>();
      const progressed = new Set<string>();
      let maxNumber = 0;
      // The kill lands right after the ack the parent counted, so a varying count puts it in
      // varying places of the write cycle; later rounds also restart on a crashed store.
      for (let round = 0; round < 3; round++) {
        const acks = await runAndKill(script, storeDir, 300 + Math.floor(Math.random() * 900));
        for (const ack of acks) {
          const [what, value] = ack.split(' ');
          assert.ok(value !== undefined, `an ack is "<what> <value>", got ${JSON.stringify(ack)}`);
          if (what === 'num') maxNumber = Math.max(maxNumber, Number(value));
          else if (what === 'node') progressed.add(value);
          else lastState.set(value, what as List);
        }
        assert.ok(lastState.size > 20, `only ${lastState.size} runs acknowledged before the kill`);

        const store = await LevelStore.open(storeDir);
        try {
          const where = new Map<string, List[]>();
          const note = (id: string, list: List): void => void where.set(id, [...(where.get(id) ?? []), list]);
          for (const r of await store.listPending()) note(r.ref.run, 'pending');
          for (const r of await store.listActive()) note(r.ref.run, 'active');
          for (const id of await archivedIds(store, undefined, 500)) note(id, 'archive');

          const order: List[] = ['pending', 'active', 'archive'];
          for (const [id, lists] of where) assert.equal(lists.length, 1, `${id} is in ${lists.join(' and ')}`);
          for (const [id, acked] of lastState) {
            const lists = where.get(id);
            assert.ok(lists, `${id} was acknowledged as ${acked} but is in no list`);
            const [found] = lists;
            assert.ok(found !== undefined && order.indexOf(found) >= order.indexOf(acked), `${id} acknowledged ${acked}, found ${found}`);
          }
          assert.ok((await store.nextRunNumber()) > maxNumber, `counter not past ${maxNumber}`);
          // Progress is written without fsync, yet a kill -9 cannot lose it once it was handed over.
          for (const id of progressed) {
            assert.ok((await store.getRun(id))?.nodes.build?.procs?.length === 1, `the progress of ${id} was lost`);
          }

          // The writer releases a run's lock and marks it done in its archive's batch, so the
          // runs marked done are exactly the archived ones, and no archived run holds a lock.
          const archived = [...where].filter(([, lists]) => lists[0] === 'archive').map(([id]) => id);
          const done = (await store.listMeta('done:')).map((m) => m.key.slice('done:'.length));
          assert.deepEqual(done.sort(), archived.sort());
          const active = new Set((await store.listActive()).map((r) => r.ref.run));
          for (const { key, value } of await store.listMeta('lock:')) {
            assert.ok(active.has(value), `${key} is held by ${value}, which is not active`);
          }
        } finally {
          await store.close();
        }
      }
    }));

  test('an active run keeps each node under its own key, and the archive holds the whole record again', () =>
    inTempDir(async (dir) => {
      const store = await LevelStore.open(dir);
      const run = chain('h1!1', 3);
      await store.activate(run);
      run.nodes.t1 = { ...nodeRec('t1', 1), status: 'good' };
      await store.saveProgress([{ run, nodes: ['t1'] }]);
      await store.close();
      const raw = await rawEntries(dir);
      assert.deepEqual(
        Object.keys(raw).filter((k) => k.startsWith('node!')),
        ['node!h1%211!t0', 'node!h1%211!t1', 'node!h1%211!t2'],
      );
      assert.deepEqual(raw['node!h1%211!t1'], run.nodes.t1);
      assert.deepEqual((raw['run!h1%211'] as RunRecord).nodes, {}, 'the run key holds the record without its nodes');

      const again = await LevelStore.open(dir);
      assert.deepEqual(await again.getRun('h1!1'), run);
      await again.archive({ ...run, status: 'good' });
      await again.close();
      const archived = await rawEntries(dir);
      assert.deepEqual(
        Object.keys(archived).filter((k) => k.startsWith('node!')),
        [],
        'the node keys go in the archive batch',
      );
      assert.deepEqual((archived['run!h1%211'] as RunRecord).nodes, run.nodes);
    }));

  test('a progress save writes the nodes named, unsynced, and the same bytes whatever the length of the run', (t) =>
    inTempDir(async (dir) => {
      const store = await LevelStore.open(dir);
      try {
        const short = chain('short', 10);
        const long = chain('long', 1_000);
        await store.activate(short);
        await store.activate(long);
        const batch = t.mock.method(Level.prototype, 'batch');
        const written = async (run: RunRecord): Promise<{ keys: string[]; bytes: number; sync: unknown }> => {
          run.nodes.t5 = { ...nodeRec('t5', 5), status: 'good', endTime: 99 };
          await store.saveProgress([{ run, nodes: ['t5'] }]);
          const call = batch.mock.calls.at(-1);
          const [ops, options] = (call?.arguments ?? []) as unknown as [Array<{ key: string }>, { sync?: boolean }];
          return { keys: ops.map((op) => op.key), bytes: JSON.stringify(ops).length - run.ref.run.length, sync: options.sync };
        };
        const a = await written(short);
        const b = await written(long);
        assert.deepEqual(a.keys, ['node!short!t5'], 'the run key is written only when its fields change');
        assert.deepEqual(b.keys, ['node!long!t5']);
        assert.equal(a.bytes, b.bytes);
        assert.equal(a.sync, false);

        long.reason = 'top-level field changed';
        await store.saveProgress([{ run: long, nodes: [] }]);
        assert.deepEqual(
          (batch.mock.calls.at(-1)?.arguments as unknown as [Array<{ key: string }>])[0].map((op) => op.key),
          ['run!long'],
        );
        assert.equal(batch.mock.callCount(), 3);
      } finally {
        await store.close();
      }
    }));

  test('a page of 50 deep in 20,000 archived runs of two flows is the right page', () =>
    inTempDir(async (dir) => {
      // fsync off: this test is about key ranges, and the crash test covers durability.
      const store = await LevelStore.open(dir, { sync: false });
      try {
        for (let i = 1; i <= 20_000; i++) {
          await store.archive(runRecord(`h1-${i}`, i % 2 === 0 ? 'deploy' : 'build', 'good'));
        }
        const seqOf = (i: number): number => i; // a fresh store numbers archive positions from 1

        const deep = await store.listArchive({ before: seqOf(15_001) });
        assert.deepEqual(
          deep.runs.map((r) => r.ref.run),
          Array.from({ length: 50 }, (_, k) => `h1-${15_000 - k}`),
        );
        assert.equal(deep.next, seqOf(14_951));

        const deepDeploy = await store.listArchive({ flow: 'deploy', before: seqOf(3_001) });
        assert.deepEqual(
          deepDeploy.runs.map((r) => r.ref.run),
          Array.from({ length: 50 }, (_, k) => `h1-${3_000 - 2 * k}`),
        );

        const tail = await store.listArchive({ flow: 'build', before: seqOf(4) });
        assert.deepEqual(tail, { runs: [runRecord('h1-3', 'build', 'good'), runRecord('h1-1', 'build', 'good')] });

        const build = await archivedIds(store, 'build', 500);
        assert.equal(build.length, 10_000);
        assert.equal(new Set(build).size, 10_000);
        assert.deepEqual([build[0], build[9_999]], ['h1-19999', 'h1-1']);
      } finally {
        await store.close();
      }
    }));
});

function nodeRec(id: string, startTime: number): NodeRecord {
  return { id, status: 'running', startTime, attempts: 1 };
}

/** An active run of `length` nodes, each started after the one before. */
function chain(id: string, length: number): RunRecord {
  const run = runRecord(id, 'build', 'running');
  for (let i = 0; i < length; i++) run.nodes[`t${i}`] = nodeRec(`t${i}`, i);
  return run;
}

/** Every key and value in the closed store at `dir`, in key order, as LevelDB holds them. */
async function rawEntries(dir: string): Promise<Record<string, unknown>> {
  const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  try {
    return Object.fromEntries(await db.iterator().all());
  } finally {
    await db.close();
  }
}

/**
 * Starts the writer, SIGKILLs it once it has acknowledged `killAfter` writes, and returns
 * the complete ack lines it printed (a line cut by the kill is dropped).
 */
async function runAndKill(script: string, storeDir: string, killAfter: number): Promise<string[]> {
  const child = spawn(process.execPath, [script, storeDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let lines = 0;
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
    lines += chunk.split('\n').length - 1;
    if (lines >= killAfter) child.kill('SIGKILL');
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(guard);
  assert.equal(signal, 'SIGKILL', `writer exited by itself with code ${code}`);
  assert.ok(lines >= killAfter, `writer killed by the guard after ${lines} acks`);
  return out.slice(0, out.lastIndexOf('\n')).split('\n');
}

/**
 * A child process that moves runs through the lists with four concurrent writers, so
 * several writes are in flight when it is killed. It prints a line only after the write's
 * promise resolved; a pipe write on Linux is synchronous, so a printed line was acknowledged.
 */
function writerScript(levelStoreUrl: string): string {
  return `
import { LevelStore } from ${JSON.stringify(levelStoreUrl)};

const store = await LevelStore.open(process.argv[2]);
const ack = (line) => process.stdout.write(line + '\\n');
const run = (id, status) => ({
  ref: { flowRef: { id: id.endsWith('0') ? 'deploy' : 'build', ver: 1 }, run: id },
  adoptedBy: 'h1', status, createdAt: 0, nodes: {},
  trigger: { id: 'start', type: 'data', values: {} },
});
const withNode = (r) => ({ ...r, nodes: { build: { id: 'build', status: 'running', startTime: 1, attempts: 1, procs: [{ pgid: 7 }] } } });

// Half the writers adopt as the hub does (number and pend in one write, the number shown before
// the write when the store allows, as a hand-over's take is), half in two writes.
async function writer(adopts) {
  for (;;) {
    let n;
    if (adopts) {
      const shown = (r) => ack('num ' + r.ref.run.slice(3));
      n = Number((await store.adoptPend((k) => run('h1-' + k, 'pending'), shown)).ref.run.slice(3));
      ack('num ' + n);
    } else {
      n = await store.nextRunNumber();
      ack('num ' + n);
      await store.addPend(run('h1-' + n, 'pending'));
    }
    const id = 'h1-' + n;
    ack('pending ' + id);
    if (n % 5 === 0) {
      await store.archive(run(id, 'cancelled'), [{ key: 'done:' + id, value: '1' }]);
      ack('archive ' + id);
      continue;
    }
    await store.activate(run(id, 'running'));
    ack('active ' + id);
    const started = withNode(run(id, 'running'));
    await store.saveProgress([{ run: started, nodes: ['build'] }]);
    ack('node ' + id);
    await store.writeMeta([{ key: 'lock:' + id, value: id }]);
    await store.appendOutput(id, [{ node: 'build', stream: 'stdout', at: 0, first: 0, lines: ['x'] }]);
    if (n % 3 === 0) continue;
    await store.archive(withNode(run(id, 'good')), [{ key: 'lock:' + id }, { key: 'done:' + id, value: '1' }]);
    ack('archive ' + id);
  }
}

for (let w = 0; w < 4; w++) writer(w % 2 === 0).catch((err) => { console.error(err); process.exit(3); });
`;
}
