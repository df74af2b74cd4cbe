import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownerOf } from '../../src/cluster/rendezvous.js';
import type { PeerReply, PeerRequest } from '../../src/cluster/messages.js';
import { startCluster, type TestCluster } from './fakes.js';

const url = (name: string) => `http://${name}.test`;
const members = ['h1', 'h2', 'h3'].map(url).sort();
/** A resource tag whose owner, over these three hosts, is `host`. */
const ownedBy = (host: string) => {
  for (let i = 0; ; i++) if (ownerOf(`tag:t${i}`, members) === url(host)) return `t${i}`;
};
const [T1, T2] = [ownedBy('h1'), ownedBy('h2')];

const flows = `
flows:
  - id: locked
    resource-tags: [${T1}, ${T2}]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: locked } }]
`;

async function stopAll(c: TestCluster): Promise<void> {
  for (const h of c.hubs.values())
    for (const r of [...h.hub.listPending(), ...h.hub.listActive()]) await h.hub.cancel(r.ref.run).catch(() => {});
  await c.stop();
}

test("any host lists every online host's held and awaited tags with their owner; an offline or silent host is unreachable", async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }, { name: 'h3' }]);
  t.after(() => stopAll(c));
  const first = (await c.hub('h3').hub.trigger('locked'))[0]!.run;
  await c.sim.whenHeld('locked');
  const second = (await c.hub('h3').hub.trigger('locked'))[0]!.run;
  // Tags are taken in sorted order, one at a time: the second run queues for the first tag only.
  const [A, B] = [T1, T2].sort();
  const ownerName = (tag: string) => (tag === T1 ? 'h1' : 'h2');
  const listed = (tag: string, waiting: string[]) => ({ tag, holder: first, waiting, manual: [], owner: ownerName(tag) });
  const both = [listed(A!, [second]), listed(B!, [])];
  await c.until(() =>
    c
      .hub('h3')
      .hub.listPending()
      .some((r) => r.waiting?.includes('in its queue') ?? false),
  );
  for (const from of ['h1', 'h2', 'h3']) {
    assert.deepEqual(await c.hub(from).hub.clusterTags(), { tags: both, unreachable: [] }, `as ${from} sees it`);
  }

  c.net.setDown(url('h2'), true);
  await c.until(
    () =>
      !c
        .hub('h3')
        .hub.clusterView()
        .hosts.some((h) => h.name === 'h2' && h.online),
  );
  const without = await c.hub('h3').hub.clusterTags();
  assert.deepEqual(
    without.tags,
    both.filter((t) => t.owner === 'h1'),
  );
  assert.equal(without.unreachable.length, 1);
  assert.equal(without.unreachable[0]?.host, 'h2');
  assert.match(without.unreachable[0]?.reason ?? '', /^offline since \d{4}-/);
  c.net.setDown(url('h2'), false);
  await c.until(() =>
    c
      .hub('h3')
      .hub.clusterView()
      .hosts.every((h) => h.online),
  );

  // h1 answers its heartbeats but never a tags request: it is left out after 2 s.
  const h1 = c.hub('h1').hub;
  const receive = h1.receivePeer.bind(h1);
  h1.receivePeer = (req: PeerRequest): Promise<PeerReply> => (req.kind === 'tags' ? new Promise(() => {}) : receive(req));
  const asked = c.hub('h3').hub.clusterTags();
  let answered = false;
  void asked.then(() => (answered = true));
  await c.clock.advance(1_950);
  assert.equal(answered, false, 'still waiting for h1');
  await c.clock.advance(50);
  assert.deepEqual(await asked, {
    tags: both.filter((t) => t.owner === 'h2'),
    unreachable: [{ host: 'h1', reason: 'no answer within 2000 ms' }],
  });
  h1.receivePeer = receive;
});
