import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { ownerOf } from '../../src/cluster/rendezvous.js';
import { startCluster } from '../cluster/fakes.js';
import { firstItem } from '../items.js';
import { ADMIN, call } from './harness.js';
import { serveClusterHost } from './serve-cluster.js';

const members = ['http://h1.test', 'http://h2.test'];
/** A resource tag owned by h2, so h1 must ask h2 for it. */
const TAG = ['db', 'gpu', 'net', 'disk', 'lic', 'queue'].find((t) => ownerOf(`tag:${t}`, members) === 'http://h2.test') ?? 'none';

const flows = `
flows:
  - id: locked
    resource-tags: [${TAG}]
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { hold: locked } }]
`;

test('GET /hosts on h1 lists the resource tags h2 owns with owner h2, and names h2 unreachable once it is offline', async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2' }]);
  const serving = await serveClusterHost(c, 'h1');
  const agent = new Agent({ keepAlive: false });
  const api = `${serving.pubUrl}${c.hub('h1').hub.config.common.baseUrl}`;
  const hosts = () => call<{ payload: any }>(agent, `${api}/hosts`, 'GET', undefined, { 'X-Floe-Auth': ADMIN });
  t.after(async () => {
    await serving.close();
    for (const h of c.hubs.values())
      for (const r of [...h.hub.listPending(), ...h.hub.listActive()]) await h.hub.cancel(r.ref.run).catch(() => {});
    await c.stop();
  });
  const first = firstItem(await c.hub('h1').hub.trigger('locked')).run;
  await c.sim.whenHeld('locked');
  const second = firstItem(await c.hub('h1').hub.trigger('locked')).run;
  await c.until(() => [...c.hubs.values()].some((h) => h.hub.listPending().some((r) => r.waiting?.includes('in its queue') ?? false)));

  const r = await hosts();
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.payload.tags, [{ tag: TAG, holder: first, waiting: [second], manual: [], owner: 'h2' }]);
  assert.deepEqual(r.body.payload.unreachable, []);
  assert.deepEqual(
    r.body.payload.hosts.map((h: { id: string; online: boolean }) => [h.id, h.online]),
    [
      ['h1', true],
      ['h2', true],
    ],
  );

  c.net.setDown(c.url('h2'), true);
  await c.until(
    () =>
      !c
        .hub('h1')
        .hub.clusterView()
        .hosts.some((h) => h.name === 'h2' && h.online),
  );
  const down = await hosts();
  assert.equal(down.status, 200, down.text);
  assert.deepEqual(down.body.payload.tags, []);
  assert.deepEqual(
    down.body.payload.unreachable.map((u: { host: string }) => u.host),
    ['h2'],
  );
  assert.match(down.body.payload.unreachable[0].reason, /^offline since /);
  c.net.setDown(c.url('h2'), false);
});
