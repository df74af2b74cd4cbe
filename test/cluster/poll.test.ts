import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCluster } from './fakes.js';

test('poll-git polls on one host, and the next owner fires only changes the lost owner had not seen', async (t) => {
  let refs = [{ ref: 'refs/heads/main', hash: 'a1' }];
  const polledBy: string[] = [];
  const c = await startCluster(
    `
flows:
  - id: p
    triggers: [{ name: commits, type: poll-git, opts: { url: 'file:///repo', period: 10 } }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`,
    [{ name: 'h1' }, { name: 'h2' }],
    undefined,
    {
      gitPoller: {
        listRefs: async () => {
          polledBy.push('poll');
          return refs;
        },
      },
    },
  );
  t.after(() => c.stop());
  await c.settle(10_000);
  assert.equal(c.sim.started.length, 0, 'the first poll only records what is there');
  refs = [{ ref: 'refs/heads/main', hash: 'a2' }];
  await c.settle(10_000);
  assert.equal(c.sim.started.length, 1, 'the change fired once, on one host');
  const archived = async (name: string) => (await c.hub(name).hub.listArchive()).runs.map((r) => r.ref.run);
  const owner = (await archived('h1')).length > 0 ? 'h1' : 'h2';
  const other = owner === 'h1' ? 'h2' : 'h1';
  c.net.setDown(c.url(owner), true);
  await c.hub(owner).hub.stop(0);
  // Pushed while no host polls: the next owner must compare with what the lost one saw (a2),
  // neither firing a2 again nor taking a3 as its first look and missing it.
  refs = [{ ref: 'refs/heads/main', hash: 'a3' }];
  await c.settle(30_000);
  assert.equal(c.sim.started.length, 2, 'a3 fired once, a2 not again');
  assert.equal((await archived(other)).length, 1);
  const run = (await c.hub(other).hub.listArchive()).runs[0];
  assert.equal(run?.trigger.values.hash, 'a3');
});
