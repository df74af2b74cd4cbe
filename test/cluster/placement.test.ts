import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstItem } from '../items.js';
import { startCluster } from './fakes.js';

const flows = `
flows:
  - id: gpu
    host-tags: [gpu]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: gpu } }]
  - id: a
    resource-tags: [db]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: a } }]
  - id: b
    resource-tags: [db]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: b } }]
  - id: ab
    resource-tags: [db, zz]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: ab } }]
  - id: free
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: free } }]
`;

test('a flow whose host-tags only h2 has, triggered on h1, runs on h2 and leaves h1', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  const ref = firstItem(await c.hub('h1').hub.trigger('gpu'));
  await c.sim.whenHeld('gpu');
  assert.equal((await c.hub('h2').hub.findRun(ref.run))?.execHost, 'h2');
  await c.settle(100);
  assert.equal(c.hub('h1').hub.listPending().length, 0);
  c.sim.release('gpu');
  assert.equal((await c.hub('h2').ended(ref.run)).status, 'good');
  assert.equal(await c.hub('h1').hub.findRun(ref.run), undefined, 'the adopter handed the run over');
});

test('a pend goes to the other host when one is at -max_runs capacity', async (t) => {
  const c = await startCluster(flows, [
    { name: 'h1', maxRuns: 1 },
    { name: 'h2', maxRuns: 1 },
  ]);
  t.after(() => c.stop());
  const r1 = firstItem(await c.hub('h1').hub.trigger('free'));
  await c.sim.whenHeld('free');
  await c.settle(600);
  const r2 = firstItem(await c.hub('h1').hub.trigger('gpu'.replace('gpu', 'a')));
  await c.sim.whenHeld('a');
  const hosts = [(await c.hub('h1').hub.findRun(r1.run))?.execHost, (await c.hub('h2').hub.findRun(r2.run))?.execHost];
  assert.deepEqual(hosts, ['h1', 'h2']);
  c.sim.release('free');
  c.sim.release('a');
});

test('two flows sharing a resource tag, triggered on two hosts at once, never overlap', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }]);
  t.after(() => c.stop());
  const [ra, rb] = await Promise.all([c.hub('h1').hub.trigger('a'), c.hub('h2').hub.trigger('b')]);
  await c.settle(1_000);
  assert.equal(c.sim.started.length, 1, 'only one holder of db runs');
  const first = c.sim.isHeld('a') ? 'a' : 'b';
  const second = first === 'a' ? 'b' : 'a';
  c.sim.release(first);
  await c.sim.whenHeld(second);
  assert.equal(c.sim.started.length, 2);
  c.sim.release(second);
  const ends = await Promise.all([
    c
      .hub('h1')
      .ended(firstItem(ra).run)
      .then(() => 'ok'),
    c
      .hub('h2')
      .ended(firstItem(rb).run)
      .then(() => 'ok'),
  ]);
  assert.deepEqual(ends, ['ok', 'ok']);
});

test('a run taking two tags holds the first while it waits for the second, and says why', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }]);
  t.after(() => c.stop());
  const ra = firstItem(await c.hub('h1').hub.trigger('a'));
  await c.sim.whenHeld('a');
  const rab = firstItem(await c.hub('h2').hub.trigger('ab'));
  await c.settle(600);
  const waiting = c.hub('h2').hub.listPending()[0]?.waiting ?? '';
  assert.match(waiting, new RegExp(`run ${ra.run} holds resource tag db; 2nd in its queue`));
  c.sim.release('a');
  await c.sim.whenHeld('ab');
  c.sim.release('ab');
  assert.ok(rab.run);
});

test('a lost answer to take is asked again of the same host, and the run executes once', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  let lost = 0;
  c.net.drop = (_from, _to, req, leg) => req.kind === 'take' && leg === 'reply' && lost++ < 2;
  const ref = firstItem(await c.hub('h1').hub.trigger('gpu'));
  await c.sim.whenHeld('gpu');
  await c.settle(3_000);
  assert.equal(lost, 3, 'two replies lost, the third arrived');
  assert.equal(c.hub('h1').hub.listPending().length, 0);
  assert.deepEqual(c.sim.started, ['work']);
  c.sim.release('gpu');
  assert.equal((await c.hub('h2').ended(ref.run)).status, 'good');
});

test('a take asked again after its run ended there is answered, and the run does not execute again', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  let ended = false;
  c.net.drop = (_from, _to, req, leg) => req.kind === 'take' && leg === 'reply' && !ended;
  const ref = firstItem(await c.hub('h1').hub.trigger('gpu'));
  await c.sim.whenHeld('gpu');
  c.sim.release('gpu');
  assert.equal((await c.hub('h2').ended(ref.run)).status, 'good');
  ended = true;
  await c.until(() => c.hub('h1').hub.listPending().length === 0);
  assert.deepEqual(c.sim.started, ['work']);
  assert.deepEqual(
    (await c.hub('h2').hub.listArchive()).runs.map((r) => [r.ref.run, r.status]),
    [[ref.run, 'good']],
  );
});

test('a pend handed to a host that went down waits for that host, then runs there once', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  c.net.drop = (_from, _to, req) => req.kind === 'take';
  const ref = firstItem(await c.hub('h1').hub.trigger('gpu'));
  await c.settle(100);
  c.net.setDown(c.url('h2'), true);
  await c.settle(3_000);
  const pend = firstItem(c.hub('h1').hub.listPending());
  assert.equal(pend.placedOn, c.url('h2'));
  assert.match(pend.waiting ?? '', /handed to h2 \(offline since .*\), waiting for it to confirm/);
  c.net.drop = undefined;
  c.net.setDown(c.url('h2'), false);
  await c.until(() => c.sim.isHeld('gpu'));
  await c.settle(1_000);
  assert.equal(c.hub('h1').hub.listPending().length, 0);
  c.sim.release('gpu');
  assert.equal((await c.hub('h2').ended(ref.run)).status, 'good');
  assert.deepEqual(c.sim.started, ['work']);
});

test('a peer that stops answering is offline within 3 s and online again when it answers', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }]);
  t.after(() => c.stop());
  const h2 = () =>
    c
      .hub('h1')
      .hub.clusterView()
      .hosts.find((h) => h.name === 'h2');
  assert.equal(h2()?.online, true);
  c.net.setDown(c.url('h2'), true);
  await c.settle(2_500);
  assert.equal(h2()?.online, false);
  c.net.setDown(c.url('h2'), false);
  await c.settle(600);
  assert.equal(h2()?.online, true);
});

test('hosts with the same name, or different common.hosts, refuse each other and say why', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }, { name: 'h3' }], (cfg, name) => {
    if (name === 'h3') cfg.common.hosts = [...cfg.common.hosts, 'http://h4.test'];
  });
  t.after(() => c.stop());
  const view = c
    .hub('h1')
    .hub.clusterView()
    .hosts.find((h) => h.url === c.url('h3'));
  assert.equal(view?.online, false);
  assert.match(view?.refused ?? '', /common\.hosts differ/);
  const fromH3 = c
    .hub('h3')
    .hub.clusterView()
    .hosts.find((h) => h.url === c.url('h1'));
  assert.match(fromH3?.refused ?? '', /common\.hosts differ/);
});

test('a shared timer fires once per period for the cluster, and another host takes over when its owner is lost', async (t) => {
  const c = await startCluster(
    `
flows:
  - id: tick
    triggers: [{ name: every 10s, type: timer, opts: { period: 10 } }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`,
    [{ name: 'h1' }, { name: 'h2' }, { name: 'h3' }],
  );
  t.after(() => c.stop());
  const runs = () => c.sim.started.length;
  await c.settle(30_000);
  assert.equal(runs(), 3, 'three periods, three runs');
  const archived = async () => {
    const ids: string[] = [];
    for (const h of c.hubs.values()) ids.push(...(await h.hub.listArchive()).runs.map((r) => r.ref.run));
    return ids;
  };
  const owner = (await archived())[0]?.split('-')[0] ?? '';
  c.net.setDown(c.url(owner), true);
  await c.hub(owner).hub.stop(0);
  await c.settle(30_000);
  assert.ok(runs() >= 5 && runs() <= 6, `the others fired while the owner was lost (${runs()} runs)`);
  const byHost = new Set((await archived()).map((r) => r.split('-')[0]));
  assert.ok(byHost.size >= 2, 'another host fired');
});

test('a run handed to a host with room starts there at once, without writing a pend first', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  const store = c.hub('h2').store;
  const pended: string[] = [];
  const addPend = store.addPend.bind(store);
  store.addPend = (r) => {
    pended.push(r.ref.run);
    return addPend(r);
  };
  const ref = firstItem(await c.hub('h1').hub.trigger('gpu'));
  await c.until(() => c.sim.isHeld('gpu'));
  assert.deepEqual(pended, [], `${ref.run} went straight to active on h2`);
  c.sim.release('gpu');
  assert.equal((await c.hub('h2').ended(ref.run)).status, 'good');
});

/** The kinds of placement messages h1 sends to h2 (hellos, events and locks left out). */
function placementSends(c: Awaited<ReturnType<typeof startCluster>>): string[] {
  const kinds: string[] = [];
  c.net.drop = (from, to, req, leg) => {
    if (leg === 'request' && from === c.url('h1') && to === c.url('h2') && (req.kind === 'offer' || req.kind === 'take'))
      kinds.push(req.kind);
    return false;
  };
  return kinds;
}

test('a run goes to a peer whose hello shows no -max_runs, no shutdown and the same flows with take alone, no offer', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  const sent = placementSends(c);
  const ref = firstItem(await c.hub('h1').hub.trigger('gpu'));
  await c.sim.whenHeld('gpu');
  assert.deepEqual(sent, ['take']);
  await c.settle(100);
  assert.equal(c.hub('h1').hub.listPending().length, 0, 'handed off');
  c.sim.release('gpu');
  assert.equal((await c.hub('h2').ended(ref.run)).status, 'good');
  assert.deepEqual(c.sim.started, ['work'], 'executed once');
});

test('a trigger handed straight over is written once on the adopter, its placedOn with it, before it is acknowledged', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  const store = c.hub('h1').store;
  const writes: string[] = [];
  for (const m of ['adoptPend', 'updatePend'] as const) {
    const real = store[m].bind(store) as (...a: unknown[]) => Promise<unknown>;
    Object.assign(store, { [m]: (...a: unknown[]) => (writes.push(m), real(...a)) });
  }
  const triggered = c.hub('h1').hub.trigger('gpu');
  const ref = firstItem(await triggered);
  assert.equal((await store.getRun(ref.run))?.placedOn, c.url('h2'), 'placedOn was on disk when the trigger was acknowledged');
  await c.sim.whenHeld('gpu');
  assert.deepEqual(writes, ['adoptPend'], 'one write: no updatePend for the hand-over');
  c.sim.release('gpu');
  assert.equal((await c.hub('h2').ended(ref.run)).status, 'good');
});

/** Holds h1's next pend write until `release` (a slow disk): the adoption of a trigger waits on it. */
function holdPendWrites(c: Awaited<ReturnType<typeof startCluster>>): { release(): void } {
  const store = c.hub('h1').store;
  const addPend = store.addPend.bind(store);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let first = true;
  store.addPend = async (r) => {
    if (first) {
      first = false;
      await gate;
    }
    return addPend(r);
  };
  return { release: () => open() };
}

test('a trigger handed straight over sends take while its pend is written, and is acknowledged once it is on disk', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  const disk = holdPendWrites(c);
  let acknowledged = false;
  const triggered = c
    .hub('h1')
    .hub.trigger('gpu')
    .then((refs) => ((acknowledged = true), refs));
  await c.sim.whenHeld('gpu');
  assert.equal(acknowledged, false, 'the run started on h2 before the adopter finished its write');
  assert.equal(c.hub('h2').hub.listActive()[0]?.ref.run, 'h1-1');
  disk.release();
  const ref = firstItem(await triggered);
  assert.equal(ref.run, 'h1-1');
  await c.settle(100);
  assert.equal(c.hub('h1').hub.listPending().length, 0, 'handed off once h2 answered');
  c.sim.release('gpu');
  assert.equal((await c.hub('h2').ended(ref.run)).status, 'good');
  assert.deepEqual(c.sim.started, ['work'], 'executed once');
});

test('an adopter that dies after its take went out, before its pend was written, leaves the run to that host alone', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  holdPendWrites(c); // never written: the process dies first
  const lost = c.hub('h1').hub.trigger('gpu');
  lost.catch(() => {});
  await c.sim.whenHeld('gpu');
  c.net.setDown(c.url('h1'), true);
  const h1 = await c.restart('h1');
  await c.settle(1_000);
  assert.deepEqual(h1.hub.listPending(), [], 'the restarted adopter knows nothing of the run');
  c.sim.release('gpu');
  assert.equal((await c.hub('h2').ended('h1-1')).status, 'good', 'it ran on h2');
  const next = firstItem(await h1.hub.trigger('free'));
  assert.notEqual(next.run, 'h1-1', 'its number is not handed out again');
  await c.sim.whenHeld('free');
  c.sim.release('free');
  assert.deepEqual(c.sim.started, ['work', 'work'], 'each run executed once');
});

test('a hand-over whose write failed sends no take: the pend stays as on disk, and the next pass hands it over', async (t) => {
  const yaml = `${flows}
  - id: gpu-db
    host-tags: [gpu]
    resource-tags: [db]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: gpu-db } }]
`;
  const c = await startCluster(yaml, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  const store = c.hub('h1').store;
  const updatePend = store.updatePend.bind(store);
  let failing = true;
  store.updatePend = (r) => (failing && r.placedOn !== undefined ? Promise.reject(new Error('disk full')) : updatePend(r));
  const sent = placementSends(c);
  const ref = firstItem(await c.hub('h1').hub.trigger('gpu-db'));
  await c.settle(100);
  assert.deepEqual(sent, [], 'no take on a choice that is not on disk');
  assert.equal(firstItem(c.hub('h1').hub.listPending()).placedOn, undefined);
  assert.equal((await store.getRun(ref.run))?.placedOn, undefined);
  failing = false;
  await c.hub('h1').hub.trigger('free'); // any pass
  await c.sim.whenHeld('gpu-db');
  assert.deepEqual(sent, ['take']);
  c.sim.release('gpu-db');
  await c.sim.whenHeld('free');
  c.sim.release('free');
  assert.equal((await c.hub('h2').ended(ref.run)).status, 'good');
});

test('a peer with -max_runs, or one with other flow versions, is offered the run first', async (t) => {
  const limited = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'], maxRuns: 4 }]);
  t.after(() => limited.stop());
  const sentLimited = placementSends(limited);
  await limited.hub('h1').hub.trigger('gpu');
  await limited.sim.whenHeld('gpu');
  assert.deepEqual(sentLimited, ['offer', 'take']);
  limited.sim.release('gpu');
  await limited.stop();

  const other = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }], (cfg, name) => {
    if (name === 'h2') cfg.flows = [...cfg.flows, { ...cfg.flows.find((f) => f.id === 'free')!, id: 'only-h2' }];
  });
  t.after(() => other.stop());
  const sentOther = placementSends(other);
  await other.hub('h1').hub.trigger('gpu');
  await other.sim.whenHeld('gpu');
  assert.deepEqual(sentOther, ['offer', 'take']);
  other.sim.release('gpu');
});

test('a host shutting down says so at once, and is offered runs, not handed them', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => c.stop());
  await c.hub('h2').hub.trigger('gpu');
  await c.sim.whenHeld('gpu');
  // The grace period keeps h2 stopping, and answering, while its run goes on.
  const stopped = c.hub('h2').hub.stop(60_000);
  await c.clock.advance(1);
  const sent = placementSends(c);
  const ref = firstItem(await c.hub('h1').hub.trigger('gpu'));
  await c.clock.advance(1);
  assert.deepEqual(sent, ['offer'], 'no take before its next hello: the stop was told at once');
  await c.until(() => /h2 is shutting down/.test(c.hub('h1').hub.listPending()[0]?.waiting ?? ''));
  assert.equal(firstItem(c.hub('h1').hub.listPending()).ref.run, ref.run);
  c.sim.release('gpu');
  await stopped;
});
