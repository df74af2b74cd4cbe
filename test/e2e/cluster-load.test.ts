// Issue 8, Proof: many runs triggered at once over three real hosts each execute exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { RunRecord } from '../../src/model/run.js';
import { LevelStore } from '../../src/store/level.js';
import type { ClusterHost } from './cluster-harness.js';
import { hostsSeenBy, runDetail, runsOf, startStampedCluster, trigger, waitArchived, waitFor } from './cluster-client.js';

const RUNS = 200;
/** Triggers in flight at once, over the three APIs together. */
const IN_FLIGHT = 30;

test(`${RUNS} runs triggered concurrently over three hosts' APIs each execute exactly once and are archived once`, async (t) => {
  const { cluster, stamps } = await startStampedCluster(
    t,
    (s) => `
- id: count
  host-tags: [linux]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: mark, listen: trigger.good, type: exec, opts: { cmd: '${s.cmd('stamp', s.path('ran.log'), 'ran')}' } }]
`,
    {
      hosts: [
        { name: 'h1', tags: ['linux'] },
        { name: 'h2', tags: ['linux'] },
        { name: 'h3', tags: ['linux'] },
      ],
    },
  );
  const hosts = cluster.hosts;

  // Triggered from the first second: hosts meet while the runs pour in.
  const acked: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < RUNS; i = next++) {
        const host = hosts[i % hosts.length];
        assert.ok(host);
        acked.push(await trigger(host, 'count'));
      }
    }),
  );
  assert.equal(new Set(acked).size, RUNS, 'every trigger was acknowledged with its own run id');

  const listed = await waitArchived(cluster.host('h2'), 'count', acked, { timeoutMs: 60_000 }).catch(async (err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${await stuckRuns(cluster.host('h2'), acked)}`);
  });
  assert.deepEqual(listed.pending, []);
  assert.deepEqual(listed.active, []);
  // The listing shows each id once whatever the hosts hold: each host's store is the truth.
  assert.deepEqual(listed.archive.map((r) => r.ref.run).sort(), [...acked].sort(), 'the listing shows every acknowledged run archived');
  // An adopter drops a handed-over pend once the executor confirms the take; under load that
  // answer can time out and is asked for again (docs/cluster.md), after the run has ended.
  await waitFor('every host to hold no pend or active run', async () => {
    const held = await Promise.all(hosts.map(async (h) => (await hostsSeenBy(h)).find((x) => x.self)?.runs));
    return held.every((r) => r?.pending === 0 && r.active === 0) ? true : undefined;
  });
  await Promise.all(
    hosts.map(async (h) => {
      h.kill('SIGTERM');
      await h.exited();
    }),
  );
  const stored = await Promise.all(hosts.map((h) => storedRuns(path.join(cluster.dir, 'store', h.name))));
  const archived = stored.flatMap((st, i) =>
    st.archive.map((r) => ({ run: r.ref.run, status: r.status, execHost: r.execHost, on: hosts[i]?.name })),
  );
  assert.deepEqual(
    stored.map((st) => [...st.pending, ...st.active]),
    hosts.map(() => []),
    'no host holds a pend or an active run',
  );
  assert.deepEqual(
    archived.map((r) => r.run).sort(),
    [...acked].sort(),
    'each acknowledged run is archived once, on one host, and nothing else',
  );
  const odd = archived.filter((r) => r.status !== 'good' || r.execHost !== r.on);
  assert.deepEqual(odd, [], 'every run ended good, archived by the host that executed it');

  const ran = (await stamps.read('ran.log')).map((s) => s.run);
  const twice = ran.filter((r, i) => ran.indexOf(r) !== i);
  assert.deepEqual(twice, [], 'no run executed twice');
  assert.deepEqual([...ran].sort(), [...acked].sort(), 'every acknowledged run executed, once');
  // The stamps and the records agree on where each run executed.
  const where = new Map(listed.archive.map((r) => [r.ref.run, r.execHost]));
  for (const s of await stamps.read('ran.log')) assert.equal(where.get(s.run), s.host, `${s.run} executed on ${s.host}`);
  const spread = Object.fromEntries(hosts.map((h) => [h.name, listed.archive.filter((r) => r.execHost === h.name).length]));
  const local = listed.archive.filter((r) => r.ref.run.startsWith(`${r.execHost}-`)).length;
  t.diagnostic(`runs executed per host: ${JSON.stringify(spread)}; ${local} of ${RUNS} on the host that adopted them`);
});

/** For a failure message: the first few runs of `runs` not archived, in detail, from the hosts that hold them. */
async function stuckRuns(host: ClusterHost, runs: string[]): Promise<string> {
  const archived = new Set((await runsOf(host, 'count')).archive.map((r) => r.ref.run));
  const stuck = runs.filter((r) => !archived.has(r));
  const details = await Promise.all(
    stuck.slice(0, 3).map(async (r) => JSON.stringify(await runDetail(host, 'count', r).catch((err: unknown) => String(err)))),
  );
  return `${stuck.length} runs not archived (${stuck.join(', ')}); the first in detail:\n${details.join('\n')}`;
}

/** What a stopped host's store holds: its pends and active runs (in brief), and every archived run. */
async function storedRuns(dir: string): Promise<{ pending: string[]; active: string[]; archive: RunRecord[] }> {
  const store = await LevelStore.open(dir);
  try {
    const archive: RunRecord[] = [];
    let before: number | undefined;
    do {
      const page = await store.listArchive({ limit: 200, before });
      archive.push(...page.runs);
      before = page.next;
    } while (before !== undefined);
    const brief = (r: RunRecord) => `${r.ref.run} ${r.status} placedOn=${r.placedOn ?? '-'} execHost=${r.execHost ?? '-'}`;
    return { pending: (await store.listPending()).map(brief), active: (await store.listActive()).map(brief), archive };
  } finally {
    await store.close();
  }
}
