import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlowConfig } from '../../src/config/schema.js';
import { RunLists } from '../../src/hub/run-lists.js';
import type { RunRecord } from '../../src/model/run.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { MetaWrite, RunChange } from '../../src/store/store.js';

function pend(run: string): RunRecord {
  return {
    ref: { flowRef: { id: 'f', ver: 1 }, run },
    adoptedBy: 'h1',
    status: 'pending',
    trigger: { id: 'start', type: 'data', values: {} },
    createdAt: 1,
    resourceTags: ['db'],
    nodes: {},
  };
}

// Only what an ActiveRun reads of its flow.
const flow = { id: 'f', ver: 1, nodes: [] } as unknown as FlowConfig;

/** A store whose next call of `method` fails, and a record of the releases sent. */
function setup(failing?: 'activate' | 'archive' | 'handOff' | 'addPend') {
  const store = new MemoryStore();
  const sent: string[] = [];
  let fail = failing;
  const original = store[failing ?? 'addPend'].bind(store) as (...a: unknown[]) => Promise<void>;
  if (failing)
    Object.assign(store, {
      [failing]: (...a: unknown[]) => {
        if (fail) {
          fail = undefined;
          return Promise.reject(new Error('disk full'));
        }
        return original(...a);
      },
    });
  const lists = new RunLists(store, {
    ops: (r): MetaWrite[] => [{ key: `unlock:${r.ref.run}`, value: '1' }],
    sent: (r) => sent.push(r.ref.run),
  });
  return { store, lists, sent };
}

test('a pend the store did not take is not listed', async () => {
  const { lists } = setup('addPend');
  await assert.rejects(lists.addPend(pend('h1-1')), /disk full/);
  assert.deepEqual(lists.pending, []);
});

test('an activation the store refused leaves the pend listed, as it was', async () => {
  const { lists, store } = setup('activate');
  const r = pend('h1-1');
  await lists.addPend(r);
  await assert.rejects(lists.activate(r, flow, { status: 'running', execHost: 'h1', workspace: '/ws' }), /disk full/);
  assert.deepEqual(
    lists.pending.map((p) => [p.ref.run, p.status, p.execHost, p.workspace]),
    [['h1-1', 'pending', undefined, undefined]],
  );
  assert.equal(lists.active.size, 0);
  const ar = await lists.activate(r, flow, { status: 'running', execHost: 'h1', workspace: '/ws' });
  assert.equal(ar.record.status, 'running');
  assert.deepEqual(lists.pending, []);
  assert.equal((await store.listActive())[0]?.ref.run, 'h1-1');
});

test('an archive the store refused keeps the run listed and sends no release; the next one sends it', async () => {
  const { lists, sent, store } = setup('archive');
  const r = pend('h1-1');
  await lists.addPend(r);
  const ar = await lists.activate(r, flow, { status: 'running' });
  lists.markDirty(ar);
  await assert.rejects(lists.archiveActive(ar), /disk full/);
  assert.ok(lists.active.has('h1-1'));
  assert.deepEqual(sent, []);
  await lists.archiveActive(ar);
  assert.equal(lists.active.size, 0);
  assert.equal(lists.dirty.size, 0);
  assert.deepEqual(sent, ['h1-1']);
  assert.equal(await store.getMeta('unlock:h1-1'), '1', 'the release is written with the archive');
});

test('a hand-over the store did not record keeps the pend here', async () => {
  const { lists } = setup('handOff');
  const r = pend('h1-1');
  await lists.addPend(r);
  await assert.rejects(lists.handOff(r), /disk full/);
  assert.equal(lists.findPend('h1-1'), r);
  await lists.handOff(r);
  assert.equal(lists.findPend('h1-1'), undefined);
});

test('progress writes go one at a time: changes made during one go together in the next, and a failed one keeps its changes marked', async () => {
  const store = new MemoryStore();
  const calls: Array<{ nodes: string[]; settle: (err?: Error) => void }> = [];
  store.saveProgress = (changes: readonly RunChange[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ nodes: changes.flatMap((c) => c.nodes), settle: (err) => (err ? reject(err) : resolve()) });
    });
  const hooks = { waiting: 0, failed: [] as unknown[] };
  const lists = new RunLists(
    store,
    { ops: () => [], sent: () => {} },
    { waiting: () => void hooks.waiting++, failed: (err) => void hooks.failed.push(err) },
  );
  const r = pend('h1-1');
  await lists.addPend(r);
  const ar = await lists.activate(r, flow, { status: 'running' });
  const settled = async (i: number, err?: Error): Promise<void> => {
    calls[i]?.settle(err);
    await new Promise((res) => setImmediate(res));
  };

  lists.markDirty(ar, 'x');
  lists.flushDirty();
  lists.markDirty(ar, 'y');
  lists.markDirty(ar, 'z');
  lists.flushDirty();
  assert.deepEqual(
    calls.map((c) => c.nodes),
    [['x']],
    'one write in flight',
  );
  await settled(0);
  assert.equal(hooks.waiting, 1, 'told that changes wait');
  lists.flushDirty();
  assert.deepEqual(
    calls.map((c) => c.nodes),
    [['x'], ['y', 'z']],
  );

  await settled(1, new Error('disk full'));
  assert.equal(hooks.failed.length, 1);
  assert.deepEqual([...(lists.dirty.get(ar) ?? [])], ['y', 'z'], 'kept for the next flush');
  lists.flushDirty();
  assert.deepEqual(calls[2]?.nodes, ['y', 'z']);
  await settled(2);
  assert.equal(lists.dirty.size, 0);
  assert.equal(hooks.waiting, 1, 'nothing waited this time');
});
