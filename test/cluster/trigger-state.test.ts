import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCluster } from './fakes.js';

test('every host names the same owner for a timer, and the owner fires it at the nextFire they name', async (t) => {
  const c = await startCluster(
    `
flows:
  - id: tick
    triggers: [{ name: every, type: timer, opts: { period: 10 } }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`,
    [{ name: 'h1' }, { name: 'h2' }, { name: 'h3' }],
  );
  t.after(() => c.stop());
  const states = await Promise.all(
    ['h1', 'h2', 'h3'].map(async (n) => (await c.hub(n).hub.triggerStates(c.hub(n).hub.findFlow('tick')!)).get('every')),
  );
  const [first] = states;
  assert.ok(first?.owner && first.nextFire);
  assert.deepEqual(states, [first, first, first]);
  await c.until(() => c.sim.started.length === 1);
  // No client watches, so each hub's events are its own.
  const fired = [...c.hubs.values()].flatMap((h) => h.events.filter((e) => e.kind === 'trigger'));
  assert.deepEqual(
    fired.map((e) => [e.host, e.at]),
    [[first.owner, first.nextFire]],
  );
});

test("a peer of the poll-git owner shows the refs the owner saw, and when it polled them, from the owner's poll-seen", async (t) => {
  let refs = [{ ref: 'refs/heads/main', hash: 'a1' }];
  const c = await startCluster(
    `
flows:
  - id: p
    triggers: [{ name: commits, type: poll-git, opts: { url: 'file:///repo', period: 10 } }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`,
    [{ name: 'h1' }, { name: 'h2' }],
    undefined,
    { gitPoller: { listRefs: async () => refs } },
  );
  t.after(() => c.stop());
  const state = async (name: string) => (await c.hub(name).hub.triggerStates(c.hub(name).hub.findFlow('p')!)).get('commits');
  await c.settle(10_000);
  const owner = (await state('h1'))?.owner;
  assert.ok(owner === 'h1' || owner === 'h2');
  const peer = owner === 'h1' ? 'h2' : 'h1';
  assert.equal((await state(peer))?.owner, owner, 'both hosts name the same owner');
  refs = [{ ref: 'refs/heads/main', hash: 'a2' }];
  await c.until(() => c.sim.started.length === 1);
  await c.settle(100);
  const atOwner = await state(owner);
  const atPeer = await state(peer);
  assert.deepEqual(atOwner?.lastSeen, { 'refs/heads/main': 'a2' });
  assert.deepEqual(atPeer?.lastSeen, { 'refs/heads/main': 'a2' });
  assert.equal(typeof atOwner?.lastPolled, 'number');
  assert.equal(atPeer?.lastPolled, atOwner?.lastPolled, 'the poll that saw a2, as the owner told it');
});
