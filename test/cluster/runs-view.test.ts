import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerRequest } from '../../src/cluster/messages.js';
import type { RunListing } from '../../src/hub/cluster-views.js';
import type { RunStatus } from '../../src/model/run.js';
import { entry, firstItem } from '../items.js';
import { startCluster, type TestCluster } from './fakes.js';

// What the dashboard reads of the whole cluster from one host (issue 9): every active run with
// its progress and the data nodes waiting for input, and the archive filtered by status.

const flows = `
flows:
  - id: gpu
    host-tags: [gpu]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: build, listen: trigger.good, type: sim, opts: { lines: [compiling] } }
      - name: Sign Off
        listen: task.build.good
        type: data
        opts: { form: { title: Ship it?, fields: [{ id: ok, prompt: Ship?, type: bool }] } }
      - { name: ship, listen: task.sign-off.good, type: sim, opts: { hold: ship } }
      - { name: both, class: merge, type: all, wait: [task.ship.good] }
      - { name: done, listen: merge.both.good, type: end }
  - id: quick
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
  - id: flaky
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: work, listen: trigger.good, type: sim, opts: { status: 1 } }
`;

async function stopAll(c: TestCluster): Promise<void> {
  for (const t of c.hubs.values()) for (const r of t.hub.listActive()) await t.hub.cancel(r.ref.run, 'test').catch(() => {});
  await c.stop();
}

function ids(runs: Array<{ ref: { run: string } }>): string[] {
  return runs.map((r) => r.ref.run);
}

test('an active run on h2 is listed by h1 with its progress and the data nodes waiting for input; ended runs without', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  t.after(() => stopAll(c));
  const h1 = c.hub('h1').hub;
  const ref = firstItem(await h1.trigger('gpu'));
  await c.until(() => c.hub('h2').events.some((e) => e.kind === 'data-required' && e.ref.run === ref.run));
  await c.settle(100);
  const asking = entry((await c.hub('h2').hub.findRun(ref.run))?.nodes ?? {}, 'sign-off');

  for (const from of ['h1', 'h2']) {
    const list = await c.hub(from).hub.views.listRuns({ limit: 10 });
    const run = firstItem(list.active);
    assert.equal(run.ref.run, ref.run);
    // build, sign-off, ship and the merge can run; the end node only ends the run.
    assert.deepEqual(run.progress, { done: 1, total: 4 }, `as ${from} lists it`);
    assert.deepEqual(run.dataWaiting, [
      {
        node: 'sign-off',
        name: 'Sign Off',
        form: { title: 'Ship it?', fields: [{ id: 'ok', prompt: 'Ship?', type: 'bool' }] },
        since: asking.startTime,
      },
    ]);
    assert.equal('nodes' in run || 'output' in run, false, 'a summary stays small');
  }

  const at = await h1.views.locate(ref.run);
  assert.ok(at);
  await h1.views.answer(at, 'sign-off', { ok: true }, 'bob');
  await c.sim.whenHeld('ship');
  const answered = firstItem((await h1.views.listRuns({ flow: 'gpu', limit: 10 })).active);
  assert.deepEqual([answered.progress, answered.dataWaiting], [{ done: 2, total: 4 }, []]);

  c.sim.release('ship');
  assert.equal((await c.hub('h2').ended(ref.run)).status, 'good');
  await c.settle(100);
  const ended = firstItem((await h1.views.listRuns({ flow: 'gpu', limit: 10 })).archive);
  assert.equal(ended.ref.run, ref.run);
  assert.equal('progress' in ended || 'dataWaiting' in ended, false, 'only active runs carry them');
});

test("a status filter pages the archive of every flow on both hosts; h2 is asked for h1's filter", async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }]);
  t.after(() => stopAll(c));
  const h2 = c.hub('h2').hub;
  const asked: PeerRequest[] = [];
  c.net.attach(c.url('h2'), {
    receivePeer: (req: PeerRequest) => {
      if (req.kind === 'runs') asked.push(req);
      return h2.receivePeer(req);
    },
  });

  // Runs of two flows ending in turn on h1 and h2, newest first in `ended`.
  const ended: Array<{ run: string; status: RunStatus }> = [];
  for (let i = 0; i < 8; i++) {
    const on = c.hub(i % 2 === 0 ? 'h1' : 'h2');
    const ref = firstItem(await on.hub.trigger(i % 3 === 0 ? 'quick' : 'flaky'));
    ended.unshift({ run: ref.run, ...(await on.ended(ref.run)) });
    await c.settle(100);
  }
  const bad = ended.filter((r) => r.status === 'bad').map((r) => r.run);
  assert.ok(bad.length >= 4 && bad.some((r) => r.startsWith('h1-')) && bad.some((r) => r.startsWith('h2-')));

  const pages: string[][] = [];
  let page: RunListing = await c.hub('h1').hub.views.listRuns({ limit: 2, status: ['bad'] });
  pages.push(ids(page.archive));
  while (page.next !== undefined) {
    page = await c.hub('h1').hub.views.listRuns({ limit: 2, status: ['bad'], before: c.hub('h1').hub.views.readCursor(String(page.next)) });
    pages.push(ids(page.archive));
  }
  assert.deepEqual(pages.flat(), bad, 'every bad run once, newest first, across hosts and flows');
  assert.ok(pages.every((p) => p.length === 2 || p === pages.at(-1)));
  assert.ok(asked.length > 0);
  for (const req of asked) assert.deepEqual(req.kind === 'runs' && req.archive?.status, ['bad']);

  const all = await c.hub('h1').hub.views.listRuns({ limit: 20, status: ['good', 'bad', 'cancelled'] });
  assert.deepEqual(
    ids(all.archive),
    ended.map((r) => r.run),
  );
});

test('a host that ignores the status filter (an older floe) is left out of a filtered listing as unreachable, saying why', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }]);
  t.after(() => stopAll(c));
  const h2 = c.hub('h2').hub;
  c.net.attach(c.url('h2'), {
    receivePeer: (req: PeerRequest) => {
      if (req.kind === 'runs' && req.archive) delete req.archive.status;
      return h2.receivePeer(req);
    },
  });
  const mine = firstItem(await c.hub('h1').hub.trigger('flaky'));
  await c.hub('h1').ended(mine.run);
  await c.hub('h2').ended(firstItem(await h2.trigger('quick')).run);
  await c.settle(100);

  const list = await c.hub('h1').hub.views.listRuns({ limit: 10, status: ['bad'] });
  assert.deepEqual(ids(list.archive), [mine.run]);
  assert.deepEqual(list.unreachable, [
    { host: 'h2', reason: 'answered archived runs of other statuses: it may run a floe without status filters' },
  ]);
  assert.deepEqual((await c.hub('h1').hub.views.listRuns({ limit: 10 })).unreachable, [], 'unfiltered, it is listed as ever');
});
