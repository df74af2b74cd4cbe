import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, tagsOf } from './fakes.js';
import { firstItem, itemAt } from '../items.js';

const flow = (tasks: string, extra = '') => `
flows:
  - id: f
    ver: 1
${extra}
    triggers:
      - name: start
        type: data
    tasks:
${tasks}
`;

test('a linear chain runs in order and the end node ends the run good', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim }
      - { name: b, listen: task.a.good, type: sim }
      - { name: done, listen: task.b.good, type: end }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  assert.equal(ref.run, 'h1-1');
  assert.deepEqual(await t.ended(ref.run), { status: 'good', reason: undefined });
  assert.deepEqual(t.sim.started, ['a', 'b']);
  assert.deepEqual(tagsOf(t.events, ref.run), ['trigger.good', 'task.a.good', 'task.b.good']);
  const kinds = t.events
    .filter((e) => 'ref' in e && e.ref.run === ref.run && e.tag.startsWith('sys.') && e.kind !== 'node-start' && e.kind !== 'node-end')
    .map((e) => e.kind);
  assert.deepEqual(kinds, ['add-pend', 'remove-pend', 'activate', 'end']);
  const run = await t.hub.findRun(ref.run);
  assert.equal(run?.status, 'good');
  assert.equal(run?.execHost, 'h1');
  assert.equal(run?.nodes.a?.status, 'good');
  assert.equal(run?.nodes.b?.emitted, 'task.b.good');
  assert.equal(run?.nodes.done?.status, 'good', 'the end node that ended the run is recorded');
  assert.equal((await t.hub.listArchive()).runs.length, 1);
  assert.equal(t.hub.listActive().length + t.hub.listPending().length, 0);
});

test('merge all fires once, after every wait tag has arrived', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim, opts: { hold: a } }
      - { name: b, listen: trigger.good, type: sim, opts: { hold: b } }
      - { name: both, class: merge, type: all, wait: [task.a.good, task.b.good] }
      - { name: c, listen: merge.both.good, type: sim }
      - { name: done, listen: task.c.good, type: end }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('a');
  await t.sim.whenHeld('b');
  t.sim.release('a');
  await t.hub.drained();
  assert.ok(!t.sim.started.includes('c'), 'c must wait for b');
  t.sim.release('b');
  assert.equal((await t.ended(ref.run)).status, 'good');
  assert.deepEqual(
    t.sim.started.filter((n) => n === 'c'),
    ['c'],
  );
  assert.equal(tagsOf(t.events, ref.run).filter((x) => x === 'merge.both.good').length, 1);
});

test('merge any fires once, on the first of its wait tags', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim }
      - { name: b, listen: trigger.good, type: sim, opts: { hold: b } }
      - { name: first, class: merge, type: any, wait: [task.a.good, task.b.good] }
      - { name: c, listen: merge.first.good, type: sim }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('b');
  await t.hub.drained();
  assert.ok(t.sim.started.includes('c'), 'c starts on the first tag');
  t.sim.release('b');
  assert.equal((await t.ended(ref.run)).status, 'good');
  assert.equal(tagsOf(t.events, ref.run).filter((x) => x === 'merge.first.good').length, 1);
  assert.equal(t.sim.started.filter((n) => n === 'c').length, 1);
});

test('ignore-fail turns a failing task into a good event', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim, ignore-fail: true, opts: { status: 3 } }
      - { name: b, listen: task.a.good, type: sim }
      - { name: done, listen: task.b.good, type: end }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  assert.equal((await t.ended(ref.run)).status, 'good');
  const run = await t.hub.findRun(ref.run);
  assert.equal(run?.nodes.a?.status, 'bad', 'the node itself failed');
  assert.equal(run?.nodes.a?.exitStatus, 3);
  assert.equal(run?.nodes.a?.emitted, 'task.a.good');
});

test('use-status emits the exit status in the tag', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim, use-status: true, opts: { status: 3 } }
      - { name: three, listen: task.a.3, type: sim }
      - { name: zero, listen: task.a.0, type: sim }
      - { name: done, listen: task.three.good, type: end }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  assert.equal((await t.ended(ref.run)).status, 'good');
  assert.deepEqual(t.sim.started, ['a', 'three']);
  assert.ok(tagsOf(t.events, ref.run).includes('task.a.3'));
});

test('custom good codes make a non-zero exit good', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim, good: [0, 2], opts: { status: 2 } }
      - { name: b, listen: task.a.good, type: sim, good: [0, 2], opts: { status: 1 } }
      - { name: on-bad, listen: task.b.bad, type: sim }
      - { name: done, listen: task.on-bad.good, type: end }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  assert.equal((await t.ended(ref.run)).status, 'good');
  assert.deepEqual(tagsOf(t.events, ref.run), ['trigger.good', 'task.a.good', 'task.b.bad', 'task.on-bad.good']);
});

test('a bad event nothing listens to ends the run bad at once and stops what still runs', async () => {
  const t = await startHub(
    flow(`
      - { name: slow, listen: trigger.good, type: sim, opts: { hold: slow } }
      - { name: fails, listen: trigger.good, type: sim, opts: { status: 1 } }
      - { name: after, listen: task.slow.good, type: sim }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  const end = await t.ended(ref.run);
  assert.equal(end.status, 'bad');
  assert.match(end.reason ?? '', /task\.fails\.bad was emitted and no node listens to it/);
  assert.deepEqual(t.sim.aborted, ['slow']);
  const run = await t.hub.findRun(ref.run);
  assert.equal(run?.nodes.slow?.status, 'stopped');
  assert.ok(!t.sim.started.includes('after'));
});

test('a good event nothing listens to ends the run good only once nothing is running', async () => {
  const t = await startHub(
    flow(`
      - { name: quick, listen: trigger.good, type: sim }
      - { name: slow, listen: trigger.good, type: sim, opts: { hold: slow } }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('slow');
  await t.hub.drained();
  assert.equal(t.hub.listActive().length, 1, 'still active while slow runs');
  t.sim.release('slow');
  assert.deepEqual(await t.ended(ref.run), { status: 'good', reason: undefined });
});

test('an end node reached by a bad event ends the run bad', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim, opts: { status: 1 } }
      - { name: failed, listen: task.a.bad, type: end }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  assert.equal((await t.ended(ref.run)).status, 'bad');
});

test('an idle run whose merge can no longer complete ends bad, saying what it waits for', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim, opts: { status: 1 } }
      - { name: b, listen: trigger.good, type: sim }
      - { name: recover, listen: task.a.bad, type: sim }
      - { name: both, class: merge, type: all, wait: [task.a.good, task.b.good] }
      - { name: done, listen: merge.both.good, type: end }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  const end = await t.ended(ref.run);
  assert.equal(end.status, 'bad');
  assert.match(end.reason ?? '', /merge both still waits for task\.a\.good/);
});

test('a data node pauses the run until answered; answers are checked and recorded', async () => {
  const t = await startHub(
    flow(`
      - { name: build, listen: trigger.good, type: sim }
      - name: Sign Off
        listen: task.build.good
        type: data
        opts:
          form:
            title: Sign off
            fields:
              - { id: ok, prompt: Passed?, type: bool }
      - { name: ship, listen: task.sign-off.good, type: sim }
      - { name: done, listen: task.ship.good, type: end }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await assert.rejects(t.hub.answerData(ref.run, 'sign-off', { ok: 'x' }), (e: Error & { code?: string }) => {
    // before the node is waiting, or with a bad value: a clear refusal either way
    return e.code === 'conflict' || e.code === 'bad-request';
  });
  await t.hub.drained();
  const waiting = await t.hub.findRun(ref.run);
  assert.equal(waiting?.nodes['sign-off']?.status, 'waiting-data');
  assert.ok(t.events.some((e) => e.kind === 'data-required' && e.node === 'sign-off'));
  await assert.rejects(t.hub.answerData(ref.run, 'sign-off', { ok: 'maybe' }), { code: 'bad-request' });
  await assert.rejects(t.hub.answerData(ref.run, 'build', { ok: 'true' }), { code: 'bad-request' });
  await t.hub.answerData(ref.run, 'sign-off', { OK: true }, 'alice');
  assert.equal((await t.ended(ref.run)).status, 'good');
  const run = await t.hub.findRun(ref.run);
  assert.equal(run?.nodes['sign-off']?.answeredBy, 'alice');
  assert.equal(run?.nodes['sign-off'].values?.ok, 'true');
  assert.ok(typeof run?.nodes['sign-off']?.answeredAt === 'number');
  await assert.rejects(t.hub.answerData(ref.run, 'sign-off', { ok: true }), { code: 'conflict' });
});

test('cancel stops a data node waiting for input without a timeout, and archives the run cancelled', async () => {
  const t = await startHub(
    flow(`
      - { name: ask, listen: trigger.good, type: data, opts: { form: { title: Q, fields: [{ id: x, prompt: X, type: text }] } } }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await t.hub.drained();
  assert.equal((await t.hub.findRun(ref.run))?.nodes.ask?.status, 'waiting-data');
  await t.hub.cancel(ref.run, 'bob');
  assert.deepEqual(await t.ended(ref.run), { status: 'cancelled', reason: 'cancelled by bob' });
  assert.equal((await t.hub.findRun(ref.run))?.nodes.ask?.status, 'stopped');
  await assert.rejects(t.hub.answerData(ref.run, 'ask', { x: 'late' }), { code: 'conflict' });
});

test('a data node with a timeout ends bad when nobody answers', async () => {
  const t = await startHub(
    flow(`
      - { name: ask, listen: trigger.good, type: data, opts: { timeout: 60, form: { title: Q, fields: [{ id: x, prompt: X, type: text }] } } }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await t.hub.drained();
  await t.clock.advance(59_000);
  assert.equal(t.hub.listActive().length, 1);
  await t.clock.advance(2_000);
  const end = await t.ended(ref.run);
  assert.equal(end.status, 'bad');
  const run = await t.hub.findRun(ref.run);
  assert.match(run?.nodes.ask?.reason ?? '', /no answer within 60s/);
});

test('a timer task waits its period on the clock', async () => {
  const t = await startHub(
    flow(`
      - { name: wait, listen: trigger.good, type: timer, opts: { period: 30 } }
      - { name: done, listen: task.wait.good, type: end }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await t.clock.advance(29_000);
  assert.equal(t.hub.listActive().length, 1);
  await t.clock.advance(1_000);
  assert.equal((await t.ended(ref.run)).status, 'good');
});

test('trigger values are checked against the form and reach tasks', async () => {
  const t = await startHub(`
flows:
  - id: f
    env: ['GREETING=hello {{who}}']
    triggers:
      - name: start
        type: data
        opts: { form: { title: Go, fields: [{ id: who, prompt: Who, type: text }, { id: n, prompt: N, type: int, value: "3" }] } }
    tasks:
      - { name: a, listen: trigger.good, type: sim }
`);
  await assert.rejects(t.hub.trigger('f', { values: { n: 'three' } }), { code: 'bad-request' });
  await assert.rejects(t.hub.trigger('f', { values: { nope: '1' } }), { code: 'bad-request' });
  await assert.rejects(t.hub.trigger('nope'), { code: 'not-found' });
  const ref = firstItem(await t.hub.trigger('f', { values: { who: 'bob' } }));
  await t.ended(ref.run);
  const run = await t.hub.findRun(ref.run);
  assert.deepEqual(run?.trigger.values, { who: 'bob', n: '3' });
});

test('cancel stops an active run and archives it cancelled; a pend is cancelled without running', async () => {
  const t = await startHub(
    flow(
      `
      - { name: a, listen: trigger.good, type: sim, opts: { hold: a } }`,
      '    resource-tags: [db]',
    ),
  );
  const r1 = firstItem(await t.hub.trigger('f'));
  const r2 = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('a');
  await t.hub.drained();
  assert.equal(t.hub.listPending().length, 1);
  await t.hub.cancel(r2.run, 'bob');
  assert.equal((await t.ended(r2.run)).status, 'cancelled');
  await t.hub.cancel(r1.run, 'bob');
  const end = await t.ended(r1.run);
  assert.equal(end.status, 'cancelled');
  assert.equal(end.reason, 'cancelled by bob');
  assert.deepEqual(t.sim.aborted, ['a']);
  await assert.rejects(t.hub.cancel(r1.run), { code: 'conflict' });
  await assert.rejects(t.hub.cancel('h1-99'), { code: 'not-found' });
  assert.equal(t.sim.started.length, 1, 'the cancelled pend never ran');
});

test('a task can read values answered earlier in the run', async () => {
  const t = await startHub(
    flow(`
      - { name: ask, listen: trigger.good, type: data, opts: { form: { title: Q, fields: [{ id: ver, prompt: V, type: text }] } } }
      - { name: use, listen: task.ask.good, type: sim }`),
  );
  const ref = firstItem(await t.hub.trigger('f', { values: { msg: 'hi' } }));
  await t.hub.drained();
  await t.hub.answerData(ref.run, 'ask', { ver: '1.2' });
  await t.ended(ref.run);
  const vars = t.sim.vars.get('use');
  assert.deepEqual(vars?.ask, { ver: '1.2' }, '{{ask.ver}} resolves');
  assert.equal(vars?.msg, 'hi', 'trigger values are there too');
  assert.equal(vars?.run, ref.run);
  assert.equal((await t.hub.findRun(ref.run))?.nodes.ask?.values?.ver, '1.2');
});

test('cancel, a dangling bad event and stop all end a run whose data node waits without a timeout', async () => {
  const yaml = flow(`
      - { name: ask, listen: trigger.good, type: data, opts: { form: { title: Q, fields: [{ id: x, prompt: X, type: text }] } } }
      - { name: fails, listen: trigger.good, type: sim, opts: { hold: fails } }`);
  const t = await startHub(yaml);
  const r1 = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('fails');
  await t.hub.drained();
  await t.hub.cancel(r1.run, 'ann');
  assert.equal((await t.hub.findRun(r1.run))?.status, 'cancelled', 'cancel resolves only once archived');
  assert.equal((await t.hub.findRun(r1.run))?.nodes.ask?.status, 'stopped');

  const r2 = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('fails');
  await t.hub.drained();
  t.sim.release('fails', 1);
  assert.equal((await t.ended(r2.run)).status, 'bad');

  const r3 = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('fails');
  await t.hub.drained();
  const stopped = t.hub.stop(1_000);
  await t.clock.advance(1_000);
  await stopped;
  assert.equal((await t.ended(r3.run)).reason, 'host shut down during the run');
});

test('an answer queued before the timeout expires wins over it', async () => {
  const t = await startHub(
    flow(`
      - { name: ask, listen: trigger.good, type: data, opts: { timeout: 60, form: { title: Q, fields: [{ id: x, prompt: X, type: text }] } } }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await t.hub.drained();
  const answered = t.hub.answerData(ref.run, 'ask', { x: 'just in time' });
  await t.clock.advance(60_000);
  await answered;
  assert.equal((await t.ended(ref.run)).status, 'good');
  assert.equal((await t.hub.findRun(ref.run))?.nodes.ask?.status, 'good');
});

test('a process group a task reports is persisted at once, and killed when the run ends', async () => {
  const killed: number[] = [];
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim, opts: { pgid: 4242, hold: a } }`),
    { deps: { reaper: { identify: (pgid) => `boot/${pgid}`, kill: (pgid) => void killed.push(pgid) } } },
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await t.sim.whenHeld('a');
  await t.hub.drained();
  const stored = await t.store.getRun(ref.run);
  assert.deepEqual(stored?.nodes.a?.procs, [{ pgid: 4242, id: 'boot/4242' }], 'in the store while the task runs');
  assert.deepEqual(killed, []);
  t.sim.release('a');
  await t.ended(ref.run);
  assert.deepEqual(killed, [4242], 'leftovers of the run are killed when it ends');
});

test('eventsSince answers undefined for a seq this host never reached (numbered before a restart)', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim }`),
  );
  assert.equal(t.hub.eventsSince(t.hub.lastSeq() + 10), undefined);
});

test('a trigger before start() is refused', async () => {
  const { Hub } = await import('../../src/hub/hub.js');
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim }`),
  );
  const cold = new Hub(t.hub.config, {
    hostName: 'h2',
    hostTags: [],
    clock: t.clock,
    store: t.store,
    nodes: t.registry,
    workspaces: { pathOf: () => '/ws', prepare: async () => {} },
    cacheDir: '/c',
  });
  await assert.rejects(cold.trigger('f'), /has not started/);
});

test('task output lines printed together are published in one event and kept with the run', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim, opts: { lines: [one, two] } }`),
  );
  const ref = firstItem(await t.hub.trigger('f'));
  await t.ended(ref.run);
  const published = t.events.flatMap((e) => (e.kind === 'node-output' ? [[e.first, e.last, ...e.lines]] : []));
  assert.deepEqual(published, [[0, 1, 'one', 'two']]);
  const kept = await t.hub.getOutput(ref.run);
  assert.deepEqual(
    kept.map((l) => [l.node, l.line, l.n]),
    [
      ['a', 'one', 0],
      ['a', 'two', 1],
    ],
  );
});

test('eventsSince replays what a subscriber missed, or says it is too old to replay', async () => {
  const t = await startHub(
    flow(`
      - { name: a, listen: trigger.good, type: sim }`),
    { deps: { eventHistory: 5 } },
  );
  const r1 = firstItem(await t.hub.trigger('f'));
  await t.ended(r1.run);
  const last = t.hub.lastSeq();
  assert.deepEqual(t.hub.eventsSince(last), []);
  assert.deepEqual(
    t.hub.eventsSince(last - 3)?.map((e) => e.seq),
    [last - 2, last - 1, last],
  );
  assert.deepEqual(
    t.hub.eventsSince(last - 5)?.map((e) => e.seq),
    [last - 4, last - 3, last - 2, last - 1, last],
  );
  assert.equal(t.hub.eventsSince(last - 6), undefined, 'older than the history keeps');
  assert.deepEqual(t.hub.eventsSince(last - 2), t.events.slice(-2));
});

test('rerun starts a new run with the same trigger values', async () => {
  const t = await startHub(`
flows:
  - id: f
    triggers:
      - { name: start, type: data, opts: { form: { title: Go, fields: [{ id: who, prompt: Who, type: text }] } } }
    tasks:
      - { name: a, listen: trigger.good, type: sim }
`);
  const r1 = firstItem(await t.hub.trigger('f', { values: { who: 'ann' } }));
  await t.ended(r1.run);
  const r2 = firstItem(await t.hub.rerun(r1.run, 'bob'));
  assert.notEqual(r2.run, r1.run);
  await t.ended(r2.run);
  const again = await t.hub.findRun(r2.run);
  assert.deepEqual(again?.trigger.values, { who: 'ann' });
  assert.equal(again?.trigger.by, 'bob');
  await assert.rejects(t.hub.rerun('h1-99'), { code: 'not-found' });
});

test('a flow env template that cannot render ends the run bad instead of leaving it active', async () => {
  // floe check refuses such a template; this is the hub's own guard for a config it gets anyway.
  const t = await startHub(
    `
flows:
  - id: f
    triggers: [{ name: start, type: data }]
    tasks: [{ name: a, listen: trigger.good, type: sim }]
`,
    { edit: (c) => (itemAt(c.flows, 0).env = ['A={{#x}}unclosed']) },
  );
  const ref = firstItem(await t.hub.trigger('f'));
  const end = await t.ended(ref.run);
  assert.equal(end.status, 'bad');
  assert.match(end.reason ?? '', /could not prepare the run's environment/);
  assert.equal(t.hub.listActive().length, 0);
});

test('event numbers keep rising across a restart, so an old seq asks for a resync', async () => {
  const { MemoryStore } = await import('../../src/store/memory.js');
  const store = new MemoryStore();
  const yaml = flow(`
      - { name: a, listen: trigger.good, type: sim }`);
  const first = await startHub(yaml, { store });
  const r1 = firstItem(await first.hub.trigger('f'));
  await first.ended(r1.run);
  const seen = first.hub.lastSeq();
  await first.hub.stop();
  const second = await startHub(yaml, { store, clockStart: first.clock.now() + 1_000 });
  const r2 = firstItem(await second.hub.trigger('f'));
  await second.ended(r2.run);
  assert.ok(second.hub.lastSeq() > seen, 'numbers rise across the restart');
  assert.equal(second.hub.eventsSince(seen), undefined, 'a seq from before the restart asks for a resync');
});
