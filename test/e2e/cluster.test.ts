// Issue 8, Proof: real hosts on 127.0.0.1 place runs on each other, share resource tags and
// timers. Faults (SIGSTOP, kill -9) are in cluster-faults.test.ts, 200 runs in cluster-load.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDetail, runsOf, startStampedCluster, trigger, waitArchived, waitFor, waitMet } from './cluster-client.js';
import { overlaps } from './stamps.js';

test('a flow whose host-tags only h2 has, triggered on h1 over HTTP, runs on h2', async (t) => {
  const { cluster } = await startStampedCluster(
    t,
    () => `
- id: gpu
  host-tags: [gpu]
  triggers: [{ name: start, type: data }]
  tasks:
    - { name: where, listen: trigger.good, type: exec, opts: { cmd: 'printenv FLOE_HOST' } }
    - { name: done, listen: task.where.good, type: end }
`,
    {
      hosts: [
        { name: 'h1', tags: ['linux'] },
        { name: 'h2', tags: ['linux', 'gpu'] },
      ],
    },
  );
  const [h1, h2] = [cluster.host('h1'), cluster.host('h2')];
  // Triggered at once, whether or not h1 has met h2 yet: a pend no host can take waits for one.
  const run = await trigger(h1, 'gpu');
  assert.match(run, /^h1-/, 'h1 adopted the trigger');
  const listed = await waitArchived(h1, 'gpu', [run]);
  assert.deepEqual(
    listed.archive.map((r) => [r.ref.run, r.execHost, r.status]),
    [[run, 'h2', 'good']],
  );
  for (const h of [h1, h2]) {
    const detail = await runDetail(h, 'gpu', run);
    assert.equal(detail.execHost, 'h2', `${h.name} says the run executed on h2`);
    const out = detail.output.lines.filter((l) => l.node === 'where' && l.stream === 'stdout').map((l) => l.line);
    assert.deepEqual(out, ['h2'], `${h.name} shows the task's FLOE_HOST`);
  }
});

test('with -max_runs=1 on both hosts, a second run triggered on busy h1 runs on h2; with both busy it waits for a free one', async (t) => {
  const { cluster, stamps } = await startStampedCluster(
    t,
    (s) => `
- id: block-h1
  host-tags: [a]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: wait, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('gate', s.path('open-h1'))}' } }]
- id: block-h2
  host-tags: [b]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: wait, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('gate', s.path('open-h2'))}' } }]
- id: work
  host-tags: [pair]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: where, listen: trigger.good, type: exec, opts: { cmd: 'printenv FLOE_HOST' } }]
`,
    {
      hosts: [
        { name: 'h1', tags: ['pair', 'a'], maxRuns: 1 },
        { name: 'h2', tags: ['pair', 'b'], maxRuns: 1 },
      ],
    },
    ['open-h1', 'open-h2'],
  );
  const [h1, h2] = [cluster.host('h1'), cluster.host('h2')];
  await waitMet(cluster.hosts);

  const blocker = await trigger(h1, 'block-h1');
  await waitFor(`${blocker} running on h1`, async () => (await runsOf(h1, 'block-h1')).active.find((r) => r.ref.run === blocker));
  const second = await trigger(h1, 'work');
  const done = await waitArchived(h1, 'work', [second]);
  assert.deepEqual(
    done.archive.map((r) => [r.ref.run, r.execHost, r.status]),
    [[second, 'h2', 'good']],
  );
  const still = await runsOf(h1, 'block-h1');
  assert.deepEqual(
    still.active.map((r) => [r.ref.run, r.execHost]),
    [[blocker, 'h1']],
    'h1 was busy all along',
  );

  // Both hosts busy: the pend waits, says why, and starts when one of them is free.
  const blocker2 = await trigger(h1, 'block-h2');
  await waitFor(`${blocker2} running on h2`, async () => (await runsOf(h2, 'block-h2')).active.find((r) => r.ref.run === blocker2));
  const third = await trigger(h1, 'work');
  const waiting = await waitFor(`${third} pending with a reason`, async () => {
    const pend = (await runsOf(h1, 'work')).pending.find((r) => r.ref.run === third);
    return pend?.waiting?.includes('capacity') ? pend : undefined;
  });
  assert.equal(waiting.execHost, undefined, `${third} has not started: ${waiting.waiting}`);
  await stamps.open('open-h2');
  const after = await waitArchived(h1, 'work', [third]);
  assert.equal(after.archive.find((r) => r.ref.run === third)?.execHost, 'h2', 'the pend went to the host that came free');
  assert.equal((await runsOf(h1, 'block-h1')).active[0]?.ref.run, blocker, 'h1 was still busy');
  await stamps.open('open-h1');
  await waitArchived(h2, 'block-h1', [blocker]);
});

test('two flows sharing a resource tag, triggered on h1 and h2 at the same instant, round after round, never overlap', async (t) => {
  const ROUNDS = 4;
  const { cluster, stamps } = await startStampedCluster(
    t,
    (s) => `
- id: db-a
  host-tags: [a]
  resource-tags: [db]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: use, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('hold', s.path('db.log'), '0.15')}' } }]
- id: db-b
  host-tags: [b]
  resource-tags: [db]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: use, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('hold', s.path('db.log'), '0.15')}' } }]
`,
    {
      hosts: [
        { name: 'h1', tags: ['a'] },
        { name: 'h2', tags: ['b'] },
      ],
    },
  );
  const [h1, h2] = [cluster.host('h1'), cluster.host('h2')];
  await waitMet(cluster.hosts);
  const runs: { a: string[]; b: string[] } = { a: [], b: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Every other round each flow is adopted by the host that cannot run it, so the tag's
    // lock and the run travel separately.
    const [onA, onB] = round % 2 === 0 ? [h1, h2] : [h2, h1];
    const [a, b] = await Promise.all([trigger(onA, 'db-a'), trigger(onB, 'db-b')]);
    runs.a.push(a);
    runs.b.push(b);
    await Promise.all([waitArchived(h1, 'db-a', [a]), waitArchived(h2, 'db-b', [b])]);
  }
  // And a burst: all at once, several waiting on the tag together.
  const burst = await Promise.all([h1, h2].flatMap((h) => [trigger(h, 'db-a'), trigger(h, 'db-b')]));
  burst.forEach((r, i) => (i % 2 === 0 ? runs.a : runs.b).push(r));

  const listed = { a: await waitArchived(h1, 'db-a', runs.a), b: await waitArchived(h1, 'db-b', runs.b) };
  const records = [...listed.a.archive, ...listed.b.archive];
  assert.equal(records.length, 2 * ROUNDS + 4);
  for (const r of records) assert.equal(r.status, 'good', `${r.ref.run}: ${r.reason}`);
  assert.deepEqual(new Set(listed.a.archive.map((r) => r.execHost)), new Set(['h1']));
  assert.deepEqual(new Set(listed.b.archive.map((r) => r.execHost)), new Set(['h2']));

  const spans = await stamps.spans('db.log');
  assert.equal(spans.length, records.length, 'every run stamped its start and end once');
  assert.deepEqual(overlaps(spans), [], 'the tasks holding db never ran at the same time');
  // The runs themselves (activation to archive) did not overlap either: a tag is held for all of it.
  const recordSpans = records.map((r) => ({
    run: r.ref.run,
    host: r.execHost ?? '',
    start: BigInt(r.startTime ?? 0),
    end: BigInt(r.endTime ?? 0),
  }));
  assert.deepEqual(overlaps(recordSpans), [], 'no two runs with db were active at once');
});

test('a shared timer fires once per period for the cluster, not once per host', async (t) => {
  const PERIOD_MS = 2_000;
  const { cluster, stamps } = await startStampedCluster(
    t,
    (s) => `
- id: tick
  triggers: [{ name: every, type: timer, opts: { period: ${PERIOD_MS / 1000} } }]
  tasks: [{ name: mark, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('stamp', s.path('tick.log'), 'tick')}' } }]
`,
    {
      hosts: [
        { name: 'h1', tags: ['linux'] },
        { name: 'h2', tags: ['linux'] },
      ],
    },
  );
  const periodOf = (ms: number) => Math.floor(ms / PERIOD_MS);
  // Every execution of the timer's task, on either host, with the period its run was adopted
  // in (the run's record on the host that executed it): the tasks are the truth, whatever
  // the listings say.
  let ticks: Array<{ run: string; host: string; period: number }> = [];
  await waitFor(
    'the timer to fire in 4 periods',
    async () => {
      ticks = await Promise.all(
        (await stamps.read('tick.log')).map(async (s) => ({
          run: s.run,
          host: s.host,
          period: periodOf((await runDetail(cluster.host(s.host), 'tick', s.run)).createdAt),
        })),
      );
      return new Set(ticks.map((r) => r.period)).size >= 4 ? true : undefined;
    },
    { timeoutMs: 8 * PERIOD_MS, everyMs: 250, last: () => ticks },
  );
  const periods = [...new Set(ticks.map((r) => r.period))].sort((a, b) => a - b);
  const first = periods[0] ?? 0;
  assert.deepEqual(
    periods,
    periods.map((_, i) => first + i),
    'no period was skipped',
  );
  // The newest period may yet see a late second firing: the three before it are settled.
  const settled = periods.slice(0, -1);
  for (const p of settled) {
    const runs = ticks.filter((r) => r.period === p).map((r) => `${r.run}@${r.host}`);
    assert.equal(runs.length, 1, `one run per period, got ${runs.join(', ')}`);
  }
  const runs = ticks.filter((r) => settled.includes(r.period)).map((r) => r.run);
  assert.equal(new Set(runs).size, runs.length, `no run executed twice: ${runs.join(', ')}`);
  // And the cluster-wide listing shows each of them archived once.
  const listed = (await waitArchived(cluster.host('h1'), 'tick', runs)).archive.map((r) => r.ref.run);
  for (const r of runs) assert.equal(listed.filter((x) => x === r).length, 1, `${r} is archived once`);
});
