// Issue 8, Proof: real hosts under faults. A paused peer (SIGSTOP) and an adopting host killed
// with -9 while its pends wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runsOf, startStampedCluster, trigger, waitArchived, waitFor, waitMet, waitPeer } from './cluster-client.js';
import { overlaps } from './stamps.js';

test('a peer stopped with SIGSTOP is offline within 3 s, work goes elsewhere meanwhile, and after SIGCONT it takes work again', async (t) => {
  const { cluster, stamps } = await startStampedCluster(
    t,
    (s) => `
- id: any
  host-tags: [linux]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: work, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('hold', s.path('any.log'), '0.2')}' } }]
- id: only-h2
  host-tags: [h2-only]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: work, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('stamp', s.path('h2.log'), 'ran')}' } }]
`,
    {
      hosts: [
        // One run at a time on h1: a run h1 cannot start at once would go to h2 if h2 were there.
        { name: 'h1', tags: ['linux'], maxRuns: 1 },
        { name: 'h2', tags: ['linux', 'h2-only'] },
      ],
    },
  );
  const [h1, h2] = [cluster.host('h1'), cluster.host('h2')];
  await waitMet(cluster.hosts);

  const stoppedAt = Date.now();
  h2.kill('SIGSTOP');
  const seen = await waitPeer(h1, 'h2', false, 3_000);
  t.diagnostic(`h1 saw h2 offline ${Date.now() - stoppedAt} ms after SIGSTOP`);
  assert.ok(seen.offlineSince !== undefined, 'GET /hosts says since when h2 is offline');

  const meanwhile = await Promise.all([1, 2, 3].map(() => trigger(h1, 'any')));
  const forH2 = await trigger(h1, 'only-h2');
  const ranMeanwhile = await waitArchived(h1, 'any', meanwhile, { partial: true });
  assert.deepEqual(
    ranMeanwhile.archive.map((r) => [r.ref.run, r.execHost, r.status]).sort(),
    meanwhile.map((r) => [r, 'h1', 'good']).sort(),
    'while h2 was stopped, runs it could have taken waited for h1',
  );
  assert.deepEqual(
    ranMeanwhile.unreachable.map((u) => u.host),
    ['h2'],
    'the listing says h2 did not answer',
  );
  const pend = (await runsOf(h1, 'only-h2')).pending.find((r) => r.ref.run === forH2);
  assert.ok(pend, `${forH2} waits on h1 while h2 is stopped`);
  assert.match(pend.waiting ?? '', /h2/, `its reason names h2: ${pend.waiting}`);
  assert.deepEqual(await stamps.read('h2.log'), [], 'nothing ran on the stopped h2');

  h2.kill('SIGCONT');
  await waitPeer(h1, 'h2', true);
  const onH2 = await waitArchived(h1, 'only-h2', [forH2]);
  assert.equal(onH2.archive[0]?.execHost, 'h2', 'the pend waiting for h2 ran there once it was back');
  assert.deepEqual(
    (await stamps.read('h2.log')).map((s) => [s.run, s.host]),
    [[forH2, 'h2']],
  );
  // h1 runs one at a time: of runs triggered together, h2 takes some again.
  const after = await Promise.all([1, 2, 3].map(() => trigger(h1, 'any')));
  const ranAfter = await waitArchived(h1, 'any', after);
  const hostsAfter = ranAfter.archive.filter((r) => after.includes(r.ref.run)).map((r) => r.execHost);
  assert.ok(hostsAfter.includes('h2'), `h2 took work again: ${hostsAfter.join(', ')}`);
  const ran = (await stamps.spans('any.log')).map((s) => s.run);
  assert.deepEqual(ran.sort(), [...meanwhile, ...after].sort(), 'each run executed once');
});

test('the adopting host killed with -9 while its pends wait for a resource tag held on the other host dispatches them after restart, each once', async (t) => {
  const { cluster, stamps } = await startStampedCluster(
    t,
    (s) => `
- id: hold-db
  host-tags: [b]
  resource-tags: [db]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: hold, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('gate', s.path('release-db'))}' } }]
- id: use-db
  host-tags: [linux]
  resource-tags: [db]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: use, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('hold', s.path('use.log'), '0.05')}' } }]
`,
    {
      hosts: [
        { name: 'h1', tags: ['linux'] },
        { name: 'h2', tags: ['linux', 'b'] },
      ],
    },
    ['release-db'],
  );
  const [h1, h2] = [cluster.host('h1'), cluster.host('h2')];
  await waitMet(cluster.hosts);
  const holder = await trigger(h2, 'hold-db');
  await waitFor(`${holder} running on h2`, async () => (await runsOf(h2, 'hold-db')).active.find((r) => r.ref.run === holder));

  const pends = await Promise.all([1, 2, 3].map(() => trigger(h1, 'use-db')));
  const waiting = async () => {
    const listed = await runsOf(h1, 'use-db');
    const mine = listed.pending.filter((r) => pends.includes(r.ref.run));
    return mine.length === pends.length && mine.every((r) => r.waiting?.includes('db')) ? mine : undefined;
  };
  await waitFor('the pends to wait for db on h1', waiting);

  h1.kill('SIGKILL');
  assert.equal((await h1.exited()).signal, 'SIGKILL');
  await h1.restart();
  await waitMet(cluster.hosts);
  const again = await waitFor('the pends to wait for db on the restarted h1', waiting);
  assert.deepEqual(again.map((r) => r.ref.run).sort(), [...pends].sort(), 'h1 came back with its pends');
  assert.deepEqual(await stamps.read('use.log'), [], 'none ran while db was held');

  await stamps.open('release-db');
  const done = await waitArchived(h1, 'use-db', pends);
  for (const r of done.archive) assert.equal(r.status, 'good', `${r.ref.run}: ${r.reason}`);
  assert.deepEqual(done.archive.map((r) => r.ref.run).sort(), [...pends].sort(), 'each archived once');
  const spans = await stamps.spans('use.log');
  assert.deepEqual(spans.map((s) => s.run).sort(), [...pends].sort(), 'each executed once');
  assert.deepEqual(overlaps(spans), [], 'one at a time, as db allows');
  const held = await waitArchived(h1, 'hold-db', [holder]);
  const end = held.archive[0]?.endTime ?? Infinity;
  for (const r of done.archive) assert.ok((r.startTime ?? 0) >= end, `${r.ref.run} started after ${holder} released db`);
});

test('the adopting host killed with -9 while its pends wait for a host-tag only a stopped host has dispatches them there after both restart', async (t) => {
  const { cluster, stamps } = await startStampedCluster(
    t,
    (s) => `
- id: gpu
  host-tags: [gpu]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: work, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('stamp', s.path('gpu.log'), 'ran')}' } }]
`,
    {
      hosts: [
        { name: 'h1', tags: ['linux'] },
        { name: 'h2', tags: ['linux', 'gpu'] },
      ],
    },
  );
  const [h1, h2] = [cluster.host('h1'), cluster.host('h2')];
  await waitMet(cluster.hosts);
  h2.kill('SIGTERM');
  await h2.exited();
  await waitPeer(h1, 'h2', false);

  const pends = await Promise.all([1, 2, 3].map(() => trigger(h1, 'gpu')));
  await waitFor('the pends to wait for a host with gpu', async () => {
    const mine = (await runsOf(h1, 'gpu')).pending.filter((r) => pends.includes(r.ref.run));
    return mine.length === pends.length && mine.every((r) => r.waiting?.includes('gpu')) ? mine : undefined;
  });

  h1.kill('SIGKILL');
  await h1.exited();
  await Promise.all([h1.restart(), h2.restart()]);
  const done = await waitArchived(h1, 'gpu', pends);
  assert.deepEqual(done.archive.map((r) => [r.ref.run, r.execHost, r.status]).sort(), pends.map((r) => [r, 'h2', 'good']).sort());
  const ran = (await stamps.read('gpu.log')).map((s) => `${s.run}@${s.host}`);
  assert.deepEqual(ran.sort(), pends.map((r) => `${r}@h2`).sort(), 'each executed once, on h2');
});

test('a timer owner paused past an instant does not fire it late on SIGCONT, in a period its peer already fired', async (t) => {
  const PERIOD_MS = 2_000;
  const { cluster } = await startStampedCluster(
    t,
    () => `
- id: tick
  triggers: [{ name: every, type: timer, opts: { period: ${PERIOD_MS / 1000} } }]
  tasks: [{ name: mark, listen: trigger.good, type: exec, opts: { cmd: 'true' } }]
`,
    {
      hosts: [
        { name: 'h1', tags: ['linux'] },
        { name: 'h2', tags: ['linux'] },
      ],
    },
  );
  await waitMet(cluster.hosts);
  const [h1] = cluster.hosts;
  assert.ok(h1);
  // The host that fires is the one that adopts the runs: their ids name it.
  const first = await waitFor('the first tick', async () => (await runsOf(h1, 'tick')).archive[0]);
  const owner = cluster.host(first.ref.run.slice(0, first.ref.run.lastIndexOf('-')));
  const other = cluster.hosts.find((h) => h !== owner);
  assert.ok(other);
  owner.kill('SIGSTOP');
  await waitPeer(other, owner.name, false, 3_000);
  const pausedAt = Date.now();
  await waitFor(`${other.name} to take the timer over`, async () =>
    (await runsOf(other, 'tick')).archive.find((r) => r.ref.run.startsWith(`${other.name}-`) && r.createdAt > pausedAt),
  );
  // Resume mid-period, so that a late firing is told from an instant's by its time.
  const midPeriod = () => Date.now() % PERIOD_MS >= PERIOD_MS / 2 && Date.now() % PERIOD_MS < PERIOD_MS / 2 + 300;
  await waitFor('mid-period', () => (midPeriod() ? true : undefined), { everyMs: 10 });
  const resumedAt = Date.now();
  owner.kill('SIGCONT');
  await waitPeer(other, owner.name, true);
  const nextInstant = (Math.floor(resumedAt / PERIOD_MS) + 1) * PERIOD_MS;
  await waitFor('a tick after the resume', async () => (await runsOf(other, 'tick')).archive.find((r) => r.createdAt >= nextInstant));
  const runs = [...(await runsOf(other, 'tick')).archive].sort((a, b) => a.createdAt - b.createdAt);
  // Far from every instant: a timer may wake a millisecond before its instant by the wall clock
  // (1,999 ms into a period is that instant's run), while one fired late on the resume comes
  // 1,000 ms or more into its period.
  const late = runs
    .filter((r) => {
      const into = r.createdAt % PERIOD_MS;
      return Math.min(into, PERIOD_MS - into) >= PERIOD_MS / 4;
    })
    .map((r) => `${r.ref.run} at ${r.createdAt % PERIOD_MS} ms into its period`);
  assert.deepEqual(late, [], `runs fire at their instants (resumed ${resumedAt % PERIOD_MS} ms into a period)`);
});
