import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory.js';
import type { RunRecord } from '../../src/model/run.js';
import { SimControl, startHub } from './fakes.js';
import { firstItem } from '../items.js';
import { listsOf as listsOfRun } from '../store/contract.js';

const twoFlows = `
flows:
  - id: a
    resource-tags: [db]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: a } }]
  - id: b
    resource-tags: [db, nic]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: b } }]
  - id: c
    host-tags: [gpu]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
  - id: r
    reuse-space: true
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: r } }]
`;

test('a pend waits while another run holds its resource tag, says why, and starts when it ends', async () => {
  const t = await startHub(twoFlows);
  const ra = firstItem(await t.hub.trigger('a'));
  const rb = firstItem(await t.hub.trigger('b'));
  await t.sim.whenHeld('a');
  await t.hub.drained();
  const pend = firstItem(t.hub.listPending());
  assert.equal(pend.ref.run, rb.run);
  assert.equal(pend.waiting, `run ${ra.run} holds resource tag db; 2nd in its queue`);
  assert.ok(t.events.some((e) => e.kind === 'pend-waiting' && e.ref.run === rb.run));
  assert.equal(t.sim.started.length, 1);
  t.sim.release('a');
  await t.ended(ra.run);
  await t.sim.whenHeld('b');
  assert.equal(t.hub.listPending().length, 0);
  const order = t.events.filter((e) => e.kind === 'end' || e.kind === 'activate').map((e) => `${e.kind}:${'ref' in e ? e.ref.run : ''}`);
  assert.deepEqual(order, [`activate:${ra.run}`, `end:${ra.run}`, `activate:${rb.run}`]);
  t.sim.release('b');
  await t.ended(rb.run);
});

test('a pend for tags no host has waits and says which tags are missing', async () => {
  const t = await startHub(twoFlows, { tags: ['linux'] });
  const rc = firstItem(await t.hub.trigger('c'));
  await t.hub.drained();
  assert.match(t.hub.listPending()[0]?.waiting ?? '', /no online host with tags \[gpu\].*missing \[gpu\]/);
  assert.equal((await t.hub.findRun(rc.run))?.status, 'pending');
});

test('reuse-space runs of a flow run one at a time, in arrival order', async () => {
  const t = await startHub(twoFlows);
  const runs = [...(await t.hub.trigger('r')), ...(await t.hub.trigger('r')), ...(await t.hub.trigger('r'))];
  for (const r of runs) {
    await t.sim.whenHeld('r');
    await t.hub.drained();
    assert.equal(t.hub.listActive().length, 1);
    assert.equal(t.hub.listActive()[0]?.ref.run, r.run);
    assert.equal(t.hub.listActive()[0]?.workspace, '/ws/r/single');
    t.sim.release('r');
    await t.ended(r.run);
  }
});

const oneFlow = `
flows:
  - id: f
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: f } }]
`;

test('a trigger with nothing to wait for is adopted straight into the active list: one store write before its task', async () => {
  const store = new MemoryStore();
  const writes: string[] = [];
  for (const m of ['adoptPend', 'adoptActive', 'addPend', 'activate', 'updatePend', 'updateRun'] as const) {
    const real = store[m].bind(store) as (...a: unknown[]) => Promise<unknown>;
    Object.assign(store, { [m]: (...a: unknown[]) => (writes.push(m), real(...a)) });
  }
  const t = await startHub(oneFlow, { store });
  const r = firstItem(await t.hub.trigger('f'));
  assert.deepEqual(await listsOfRun(store, r.run), ['active'], 'active once the trigger is acknowledged');
  await t.sim.whenHeld('f');
  assert.equal(writes[0], 'adoptActive');
  assert.ok(!writes.some((w) => w === 'adoptPend' || w === 'activate'), `no pend written first: ${writes.join(', ')}`);
  const kinds = t.events.filter((e) => 'ref' in e && e.ref.run === r.run).map((e) => e.kind);
  assert.deepEqual(
    kinds.slice(0, 5),
    ['add-pend', 'remove-pend', 'activate', 'node', 'node-start'],
    'the events a pend that starts would give',
  );
  assert.equal(t.hub.listActive()[0]?.workspace, `/ws/f/${r.run}`);
  t.sim.release('f');
  assert.equal((await t.ended(r.run)).status, 'good');
});

test('a trigger whose one write fails is refused, leaves no run, and the next trigger starts', async () => {
  const store = new MemoryStore();
  const adoptActive = store.adoptActive.bind(store);
  let refuse = 1;
  store.adoptActive = (build) => (refuse-- > 0 ? Promise.reject(new Error('disk full')) : adoptActive(build));
  const t = await startHub(oneFlow, { store });
  await assert.rejects(t.hub.trigger('f'), /disk full/);
  assert.deepEqual([t.hub.listPending(), t.hub.listActive()], [[], []]);
  const r = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('f');
  t.sim.release('f');
  assert.equal((await t.ended(r.run)).status, 'good');
  assert.deepEqual(t.sim.started, ['work']);
});

test('a run started at its trigger whose workspace cannot be made ends bad and says why', async () => {
  const t = await startHub(oneFlow, {
    deps: {
      workspaces: {
        pathOf: (ref) => `/ws/${ref.run}`,
        prepare: () => Promise.reject(new Error('disk full')),
      },
    },
  });
  const r = firstItem(await t.hub.trigger('f'));
  const end = await t.ended(r.run);
  assert.equal(end.status, 'bad');
  assert.match(end.reason ?? '', /could not make the workspace: disk full/);
  assert.deepEqual(t.sim.started, [], 'no task started without its workspace');
});

test('a pend placed behind a run whose activation failed is placed again', async () => {
  let failOnce = true;
  const t = await startHub(twoFlows, {
    deps: {
      workspaces: {
        pathOf: (ref) => `/ws/${ref.run}`,
        prepare: async () => {
          if (failOnce) {
            failOnce = false;
            throw new Error('disk full');
          }
        },
      },
    },
  });
  const ra = firstItem(await t.hub.trigger('a'));
  const rb = firstItem(await t.hub.trigger('b'));
  const end = await t.ended(ra.run);
  assert.equal(end.status, 'bad');
  assert.match(end.reason ?? '', /could not make the workspace: disk full/);
  await t.sim.whenHeld('b');
  assert.equal(t.hub.listActive()[0]?.ref.run, rb.run, 'b was placed again once a was archived');
  t.sim.release('b');
  await t.ended(rb.run);
});

test('run ids count up per host and never repeat across a restart', async () => {
  const store = new MemoryStore();
  const flows = `
flows:
  - id: f
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`;
  const t1 = await startHub(flows, { store });
  const a = firstItem(await t1.hub.trigger('f'));
  const b = firstItem(await t1.hub.trigger('f'));
  await t1.ended(b.run);
  await t1.hub.stop();
  const t2 = await startHub(flows, { store });
  const c = firstItem(await t2.hub.trigger('f'));
  assert.deepEqual([a.run, b.run, c.run], ['h1-1', 'h1-2', 'h1-3']);
});

test('after a crash, pends are dispatched and runs that were executing are archived bad', async () => {
  const store = new MemoryStore();
  const flows = `
flows:
  - id: f
    resource-tags: [db]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`;
  // What a host that died mid-run leaves in its store: one active run, one pend behind it.
  const now = Date.now();
  const active: RunRecord = {
    ref: { flowRef: { id: 'f', ver: 1 }, run: 'h1-1' },
    adoptedBy: 'h1',
    execHost: 'h1',
    status: 'running',
    trigger: { id: 'start', type: 'data', values: {} },
    createdAt: now,
    startTime: now,
    nodes: { work: { id: 'work', status: 'running', startTime: now, attempts: 1, procs: [{ pgid: 424242, id: 'boot/1' }] } },
  };
  const pend: RunRecord = {
    ref: { flowRef: { id: 'f', ver: 1 }, run: 'h1-2' },
    adoptedBy: 'h1',
    status: 'pending',
    trigger: { id: 'start', type: 'data', values: {} },
    createdAt: now,
    nodes: {},
  };
  await store.nextRunNumber();
  await store.nextRunNumber();
  await store.addPend(active);
  await store.activate(active);
  await store.addPend(pend);
  const killed: number[] = [];
  const t = await startHub(flows, {
    store,
    sim: new SimControl(),
    deps: { reaper: { identify: () => undefined, kill: (pgid) => void killed.push(pgid) } },
  });
  assert.equal((await t.ended('h1-2')).status, 'good');
  const crashed = await t.hub.findRun('h1-1');
  assert.equal(crashed?.status, 'bad');
  assert.equal(crashed?.reason, 'host stopped during the run');
  assert.equal(crashed?.nodes.work?.status, 'stopped');
  assert.deepEqual(killed, [424242]);
  const ids = (await t.hub.listArchive()).runs.map((r) => r.ref.run).sort();
  assert.deepEqual(ids, ['h1-1', 'h1-2']);
  const next = firstItem(await t.hub.trigger('f'));
  assert.equal(next.run, 'h1-3');
});

test('a timer trigger starts a run at every multiple of its period', async () => {
  const t = await startHub(
    `
flows:
  - id: tick
    triggers: [{ name: every minute, type: timer, opts: { period: 60 } }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`,
    { clockStart: 28_333_333 * 60_000 },
  );
  await t.clock.advance(59_000);
  assert.equal(t.sim.started.length, 0);
  await t.clock.advance(1_000);
  await t.ended('h1-1');
  await t.clock.advance(60_000);
  await t.ended('h1-2');
  assert.equal(t.sim.started.length, 2);
  await t.hub.stop();
  assert.equal(t.clock.pendingTimers(), 0, 'stop cancels the timer');
});

test('stop lets running tasks finish within the grace period and refuses new runs', async () => {
  const t = await startHub(twoFlows);
  const ra = firstItem(await t.hub.trigger('a'));
  await t.sim.whenHeld('a');
  const stopped = t.hub.stop(5_000);
  await assert.rejects(t.hub.trigger('a'), { code: 'shutting-down' });
  t.sim.release('a');
  await stopped;
  assert.equal((await t.ended(ra.run)).status, 'good');
});

test('stop archives runs still going after the grace period as bad and kills them', async () => {
  const t = await startHub(twoFlows);
  const ra = firstItem(await t.hub.trigger('a'));
  await t.sim.whenHeld('a');
  const stopped = t.hub.stop(5_000);
  await t.clock.advance(5_000);
  await stopped;
  assert.deepEqual(await t.ended(ra.run), { status: 'bad', reason: 'host shut down during the run' });
  assert.deepEqual(t.sim.aborted, ['work']);
});

test('poll-git fires a run for each ref whose hash changed since the last poll', async () => {
  let refs = [
    { ref: 'refs/heads/main', hash: 'a1' },
    { ref: 'refs/heads/dev', hash: 'b1' },
    { ref: 'refs/heads/skip', hash: 'c1' },
  ];
  const t = await startHub(
    `
flows:
  - id: p
    triggers: [{ name: commits, type: poll-git, opts: { url: 'file:///repo', period: 10, exclude-refs: refs/heads/skip } }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`,
    { deps: { gitPoller: { listRefs: async () => refs } } },
  );
  for (let i = 0; i < 20 && !(await t.store.getMeta('poll-git/p/1/commits')); i++) await new Promise((r) => setImmediate(r));
  assert.ok(await t.store.getMeta('poll-git/p/1/commits'), 'the first poll ran');
  await t.hub.drained();
  assert.equal(t.sim.started.length, 0, 'the first poll only records what is there');
  refs = [
    { ref: 'refs/heads/main', hash: 'a2' },
    { ref: 'refs/heads/dev', hash: 'b1' },
    { ref: 'refs/heads/skip', hash: 'c2' },
  ];
  await t.clock.advance(10_000);
  await t.ended('h1-1');
  const run = await t.hub.findRun('h1-1');
  assert.deepEqual(run?.trigger.values, { ref: 'main', branch: 'main', hash: 'a2', 'git-ref': 'refs/heads/main' });
  await t.clock.advance(10_000);
  await t.hub.drained();
  assert.equal(t.sim.started.length, 1, 'nothing changed, nothing fired');
  await t.hub.stop();
});

test('poll-git records a changed ref only once its run is adopted, so a failed adoption is retried', async () => {
  let refs = [{ ref: 'refs/heads/main', hash: 'a1' }];
  const store = new MemoryStore();
  let failAdds = 0;
  // A run with nothing to wait for is adopted straight into the active list.
  const realAdopt = store.adoptActive.bind(store);
  store.adoptActive = async (build) => {
    if (failAdds > 0) {
      failAdds--;
      throw new Error('disk full');
    }
    return realAdopt(build);
  };
  const t = await startHub(
    `
flows:
  - id: p
    triggers: [{ name: commits, type: poll-git, opts: { url: 'file:///repo', period: 10 } }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`,
    { store, deps: { gitPoller: { listRefs: async () => refs } } },
  );
  for (let i = 0; i < 20 && !(await store.getMeta('poll-git/p/1/commits')); i++) await new Promise((r) => setImmediate(r));
  refs = [{ ref: 'refs/heads/main', hash: 'a2' }];
  failAdds = 1;
  await t.clock.advance(10_000);
  await t.hub.drained();
  assert.equal(t.sim.started.length, 0, 'adoption failed');
  assert.equal(JSON.parse((await store.getMeta('poll-git/p/1/commits'))!)['refs/heads/main'], 'a1', 'not recorded as seen');
  await t.clock.advance(10_000);
  // The failed write took no number.
  await t.ended('h1-1');
  assert.deepEqual((await t.hub.findRun('h1-1'))?.trigger.values.hash, 'a2', 'the next poll fired it');
  await t.hub.stop();
});

test('a pend whose activation the store refused stays a clean pend and starts on the next placement', async () => {
  const store = new MemoryStore();
  const realActivate = store.activate.bind(store);
  let refuse = 1;
  store.activate = async (run) => {
    if (refuse-- > 0) throw new Error('disk full');
    return realActivate(run);
  };
  const t = await startHub(
    `
flows:
  - id: f
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
  - id: gpu
    host-tags: [gpu]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`,
    { store },
  );
  // An older pend still to place (no host has gpu) makes the trigger of f a pend too, activated by a pass.
  await t.hub.trigger('gpu');
  const r1 = firstItem(await t.hub.trigger('f'));
  await t.hub.drained();
  const pend = t.hub.listPending()[1];
  assert.equal(pend?.ref.run, r1.run);
  assert.equal(pend.status, 'pending', 'not left saying running');
  assert.equal(pend.execHost, undefined);
  const r2 = firstItem(await t.hub.trigger('f')); // any later event places again
  assert.equal((await t.ended(r1.run)).status, 'good');
  assert.equal((await t.ended(r2.run)).status, 'good');
});

test('a run whose progress could not be saved stays marked, is logged, and is saved by the next flush', async () => {
  const store = new MemoryStore();
  const realSave = store.saveProgress.bind(store);
  let refuse = 0;
  store.saveProgress = async (changes) => {
    if (refuse > 0) {
      refuse--;
      throw new Error('disk full');
    }
    return realSave(changes);
  };
  const logged: string[] = [];
  const log = { info: () => {}, warn: () => {}, error: (_: object, msg: string) => void logged.push(msg) };
  const t = await startHub(
    `
flows:
  - id: f
    triggers: [{ name: start, type: data }]
    tasks: [{ name: a, listen: trigger.good, type: sim, opts: { hold: a } }]
  - id: other
    triggers: [{ name: start, type: data }]
    tasks: [{ name: o, listen: trigger.good, type: sim, opts: { hold: o } }]
`,
    { store, deps: { log } },
  );
  refuse = 1;
  const ref = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('a');
  await t.hub.drained();
  assert.deepEqual((await store.getRun(ref.run))?.nodes, {}, 'the write of a starting failed');
  assert.deepEqual(logged, ['could not save the progress of runs; trying again at the next flush']);
  // Nothing in run f changes now; only another run's events give the hub a chance to flush.
  await t.hub.trigger('other');
  await t.sim.whenHeld('o');
  await t.hub.drained();
  assert.equal((await store.getRun(ref.run))?.nodes.a?.status, 'running', 'saved by a later flush');
  t.sim.release('a');
  t.sim.release('o');
  await t.ended(ref.run);
});

test('the queue does not wait for a progress write: with one that never ends, a chain still runs to its end', async () => {
  const store = new MemoryStore();
  let asked = 0;
  store.saveProgress = () => {
    asked++;
    return new Promise<void>(() => {});
  };
  const t = await startHub(
    `
flows:
  - id: f
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: a, listen: trigger.good, type: sim }
      - { name: b, listen: task.a.good, type: sim }
      - { name: c, listen: task.b.good, type: sim }
`,
    { store },
  );
  const ref = firstItem(await t.hub.trigger('f'));
  assert.equal((await t.ended(ref.run)).status, 'good');
  assert.deepEqual(t.sim.started, ['a', 'b', 'c']);
  assert.equal(asked, 1, 'one write in flight; later changes wait for it, then go with the archive');
  assert.deepEqual(Object.keys((await store.getRun(ref.run))?.nodes ?? {}), ['a', 'b', 'c']);
});

test('a process group reported while a progress write is in flight is saved once it settles, though nothing else happens', async () => {
  const store = new MemoryStore();
  const realSave = store.saveProgress.bind(store);
  let openGate = (): void => {};
  const gate = new Promise<void>((r) => (openGate = r));
  const writes: Array<Promise<void>> = [];
  store.saveProgress = (changes) => {
    const copy = structuredClone(changes); // a store copies what it saves before it returns
    const write = gate.then(() => realSave(copy));
    writes.push(write);
    return write;
  };
  const t = await startHub(
    `
flows:
  - id: f
    triggers: [{ name: start, type: data }]
    tasks: [{ name: a, listen: trigger.good, type: sim, opts: { pgid: 4242, hold: a } }]
`,
    { store, deps: { reaper: { identify: () => 'boot/1', kill: () => {} } } },
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('a');
  await t.hub.drained();
  assert.equal(writes.length, 1, 'the group waits for the write in flight');
  openGate();
  await writes[0];
  await t.hub.drained();
  assert.equal(writes.length, 2);
  await writes[1];
  assert.deepEqual((await store.getRun(ref.run))?.nodes.a?.procs, [{ pgid: 4242, id: 'boot/1' }]);
  t.sim.release('a');
  await t.ended(ref.run);
});
