import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerRequest } from '../../src/cluster/messages.js';
import type { RunListing } from '../../src/hub/cluster-views.js';
import { entry, firstItem, itemAt } from '../items.js';
import { startCluster, type TestCluster } from './fakes.js';

const flows = `
flows:
  - id: gpu
    host-tags: [gpu]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: build, listen: trigger.good, type: sim, opts: { lines: [compiling, linked] } }
      - name: approve
        listen: task.build.good
        type: data
        opts: { form: { title: Ship it?, fields: [{ id: ok, prompt: Ship?, type: bool }] } }
      - { name: ship, listen: task.approve.good, type: sim, opts: { hold: ship } }
  - id: quick
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
  - id: locked
    resource-tags: [db]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: locked } }]
`;

/**
 * Cancels what still runs (the hubs' stop waits for its tasks on the manual clock), pends
 * included, as they would start next, then stops every hub.
 */
async function stopAll(c: TestCluster): Promise<void> {
  for (const t of c.hubs.values()) for (const r of t.hub.listPending()) await t.hub.cancel(r.ref.run, 'test').catch(() => {});
  for (const t of c.hubs.values()) for (const r of t.hub.listActive()) await t.hub.cancel(r.ref.run, 'test').catch(() => {});
  await c.stop();
}

/** Runs of a listing by id, in the listing's order. */
function ids(runs: Array<{ ref: { run: string } }>): string[] {
  return runs.map((r) => r.ref.run);
}

/** Waits until `host` publishes that `node` of `run` waits for an answer. */
async function whenAsking(c: TestCluster, host: string, run: string, node: string): Promise<void> {
  await c.until(() => c.hub(host).events.some((e) => e.kind === 'data-required' && e.ref.run === run && e.node === node));
}

test("a run executing on h2 is found, its output read, answered, cancelled and rerun through h1's hub", async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => stopAll(c));
  const h1 = c.hub('h1').hub;
  const ref = firstItem(await h1.trigger('gpu', { by: 'alice' }));
  await whenAsking(c, 'h2', ref.run, 'approve');
  await c.settle(100);
  assert.equal(await h1.findRun(ref.run), undefined, 'h1 handed the run over and forgot it');

  const at = await h1.views.locate(ref.run);
  assert.ok(at);
  assert.deepEqual([at.host, at.url, at.record.execHost, at.record.status], ['h2', c.url('h2'), 'h2', 'running']);
  const out = await h1.views.output(at, { tail: 10 });
  assert.deepEqual(
    out.lines.map((l) => l.line),
    ['compiling', 'linked'],
  );

  await h1.views.answer(at, 'approve', { ok: true }, 'bob');
  await c.sim.whenHeld('ship');
  const answered = await c.hub('h2').hub.findRun(ref.run);
  assert.equal(entry(answered?.nodes ?? {}, 'approve').answeredBy, 'bob', 'the answer is recorded as the user who gave it on h1');

  await h1.views.cancel(at, 'carol');
  assert.deepEqual(await c.hub('h2').ended(ref.run), { status: 'cancelled', reason: 'cancelled by carol' });
  await assert.rejects(h1.views.cancel(at, 'carol'), { code: 'conflict', message: new RegExp(`run ${ref.run} has already ended`) });
  await assert.rejects(h1.views.answer(at, 'approve', { ok: true }, 'bob'), { code: 'conflict' });

  const again = firstItem(await h1.views.rerun(at, 'dave'));
  assert.match(again.run, /^h2-/, 'the host holding the run adopts the rerun');
  const rerun = await h1.views.locate(again.run);
  assert.equal(rerun?.record.trigger.by, 'dave');
});

test('an action the holding host refuses answers with its error code: not-found, bad-request', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => stopAll(c));
  const h1 = c.hub('h1').hub;
  const ref = firstItem(await h1.trigger('gpu'));
  await whenAsking(c, 'h2', ref.run, 'approve');
  const at = await h1.views.locate(ref.run);
  assert.ok(at);
  await assert.rejects(h1.views.answer(at, 'nope', { ok: true }, 'bob'), { code: 'not-found', message: /has no node nope/ });
  await assert.rejects(h1.views.answer(at, 'build', {}, 'bob'), { code: 'bad-request', message: /not a data node/ });
  await h1.views.cancel(at, 'bob');
});

test('a run is looked for first on the host its id names, then on every online host; an unknown one is undefined', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }, { name: 'h3' }]);
  t.after(() => stopAll(c));
  const ref = firstItem(await c.hub('h2').hub.trigger('quick'));
  await c.hub('h2').ended(ref.run);
  await c.settle(100);
  const asked = () => c.net.sent.filter((s) => s.kind === 'run' && s.from === c.url('h3')).map((s) => s.to);

  const at = await c.hub('h3').hub.views.locate(ref.run);
  assert.equal(at?.host, 'h2');
  assert.deepEqual(asked(), [c.url('h2')], 'only the adopter named by the run id was asked');

  assert.equal(await c.hub('h3').hub.views.locate('h1-999'), undefined);
  assert.deepEqual(asked().slice(1).sort(), [c.url('h1'), c.url('h2')]);
});

test('a pend whose hand-over answer was lost is found and listed once, where it runs', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => stopAll(c));
  c.net.drop = (_from, _to, req, leg) => req.kind === 'take' && leg === 'reply';
  const h1 = c.hub('h1').hub;
  const ref = firstItem(await h1.trigger('gpu'));
  await whenAsking(c, 'h2', ref.run, 'approve');
  assert.equal((await h1.findRun(ref.run))?.placedOn, c.url('h2'), 'h1 still keeps the pend it handed to h2');

  const at = await h1.views.locate(ref.run);
  assert.ok(at);
  assert.equal(at.host, 'h2');
  const list = await h1.views.listRuns({ flow: 'gpu', limit: 10 });
  assert.deepEqual([ids(list.pending), ids(list.active)], [[], [ref.run]]);
  c.net.drop = undefined;
  await h1.views.cancel(at, 'bob');
});

test('lists merge both hosts: pending by adoption, active by start, archive newest first, paged without a gap or a repeat', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }]);
  t.after(() => stopAll(c));
  const [h1, h2] = [c.hub('h1'), c.hub('h2')];

  // Six runs ending in turn, alternately on h1 and h2 (a host keeps what it adopts while its peer is as busy).
  const archived: string[] = [];
  for (let i = 0; i < 6; i++) {
    const on = i % 2 === 0 ? h1 : h2;
    const ref = firstItem(await on.hub.trigger('quick'));
    await on.ended(ref.run);
    await c.settle(100);
    archived.unshift(ref.run);
  }
  assert.deepEqual(
    archived.map((r) => r.split('-')[0]),
    ['h2', 'h1', 'h2', 'h1', 'h2', 'h1'],
  );

  const pages: string[][] = [];
  let page: RunListing = await h1.hub.views.listRuns({ flow: 'quick', limit: 4 });
  pages.push(ids(page.archive));
  // Runs archived while a client pages do not shift the pages it has yet to read.
  for (const on of [h1, h2]) await on.ended(firstItem(await on.hub.trigger('quick')).run);
  await c.settle(100);
  while (page.next !== undefined) {
    page = await h1.hub.views.listRuns({ flow: 'quick', limit: 4, before: h1.hub.views.readCursor(String(page.next)) });
    pages.push(ids(page.archive));
  }
  assert.deepEqual(pages, [archived.slice(0, 4), archived.slice(4)]);
  assert.deepEqual(page.unreachable, []);

  const lockedOn = async (on: typeof h1) => {
    const ref = firstItem(await on.hub.trigger('locked'));
    await c.settle(100);
    return ref.run;
  };
  const holder = await lockedOn(h2);
  await c.sim.whenHeld('locked');
  const waiting = [await lockedOn(h1), await lockedOn(h2), await lockedOn(h1)];
  for (const from of [h1, h2]) {
    const list = await from.hub.views.listRuns({ flow: 'locked', limit: 10 });
    assert.deepEqual([ids(list.pending), ids(list.active)], [waiting, [holder]], `as ${from.hub.hostName} lists them`);
  }
  c.sim.release('locked');
});

test('active runs of both hosts are listed by start time, whichever host lists them', async (t) => {
  const c = await startCluster(
    `
flows:
  - { id: s1, triggers: [{ name: start, type: data }], tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: s1 } }] }
  - { id: s2, triggers: [{ name: start, type: data }], tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: s2 } }] }
  - { id: s3, triggers: [{ name: start, type: data }], tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: s3 } }] }
`,
    [{ name: 'h1' }, { name: 'h2' }],
  );
  t.after(() => stopAll(c));
  const started: string[] = [];
  for (const [on, flow] of [
    ['h2', 's1'],
    ['h1', 's2'],
    ['h2', 's3'],
  ] as const) {
    started.push(firstItem(await c.hub(on).hub.trigger(flow)).run);
    await c.sim.whenHeld(flow);
    await c.settle(100);
  }
  assert.deepEqual(
    started.map((r) => r.split('-')[0]),
    ['h2', 'h1', 'h2'],
  );
  for (const from of ['h1', 'h2']) {
    const list = await c.hub(from).hub.views.listRuns({ limit: 1 });
    assert.deepEqual(ids(list.active), started, `as ${from} lists them`);
  }
  for (const flow of ['s1', 's2', 's3']) c.sim.release(flow);
});

test('a host that does not answer is named in unreachable, and the list comes when the time limit passes', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }]);
  t.after(() => stopAll(c));
  const ref = firstItem(await c.hub('h1').hub.trigger('quick'));
  await c.hub('h1').ended(ref.run);
  // h2 keeps sending heartbeats (so it stays online) but never answers a run request.
  const h2 = c.hub('h2').hub;
  c.net.attach(c.url('h2'), {
    receivePeer: (req: PeerRequest) => (req.kind === 'runs' || req.kind === 'run' ? new Promise(() => {}) : h2.receivePeer(req)),
  });

  const answered: RunListing[] = [];
  const asked = c
    .hub('h1')
    .hub.views.listRuns({ flow: 'quick', limit: 10 })
    .then((l) => answered.push(l));
  await c.clock.advance(1_999);
  assert.equal(answered.length, 0, 'still waiting for h2 before the limit');
  await c.clock.advance(1);
  await asked;
  const listing = firstItem(answered);
  assert.deepEqual(ids(listing.archive), [ref.run]);
  assert.deepEqual(listing.unreachable, [{ host: 'h2', reason: 'no answer within 2000 ms' }]);

  let located: unknown;
  const looking = c
    .hub('h1')
    .hub.views.locate('h2-5')
    .catch((err: unknown) => (located = err));
  await c.clock.advance(2_000);
  await looking;
  assert.equal((located as { code?: string }).code, 'unreachable');
  assert.match(String(located), /no run h2-5 on h1, and not every host answered \(h2: no answer within 2000 ms\)/);
});

test('an offline host is named in unreachable with the time it went offline; its runs cannot be reached', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }]);
  t.after(() => stopAll(c));
  const ref = firstItem(await c.hub('h2').hub.trigger('locked'));
  await c.sim.whenHeld('locked');
  const at = await c.hub('h1').hub.views.locate(ref.run);
  assert.ok(at);
  assert.equal(at.host, 'h2');
  c.net.setDown(c.url('h2'), true);
  await c.until(
    () =>
      !c
        .hub('h1')
        .hub.clusterView()
        .hosts.some((h) => h.name === 'h2' && h.online),
  );

  const list = await c.hub('h1').hub.views.listRuns({ flow: 'locked', limit: 10 });
  assert.deepEqual(ids(list.active), []);
  assert.equal(list.unreachable.length, 1);
  assert.match(itemAt(list.unreachable, 0).reason, /^offline since \d{4}-\d\d-\d\dT/);
  await assert.rejects(c.hub('h1').hub.views.locate(ref.run), { code: 'unreachable', message: /h2: offline since/ });
  await assert.rejects(c.hub('h1').hub.views.cancel(at, 'bob'), {
    code: 'unreachable',
    message: new RegExp(`run ${ref.run} is on h2, which did not answer`),
  });
  c.net.setDown(c.url('h2'), false);
  c.sim.release('locked');
});
