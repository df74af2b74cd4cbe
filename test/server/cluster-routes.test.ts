import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { startCluster, type TestCluster } from '../cluster/fakes.js';
import { firstItem } from '../items.js';
import { ADMIN, call } from './harness.js';
import { serveClusterHost } from './serve-cluster.js';

const flows = `
flows:
  - id: gpu
    host-tags: [gpu]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: build, listen: trigger.good, type: sim, opts: { lines: [compiling] } }
      - name: approve
        listen: task.build.good
        type: data
        opts: { form: { title: Ship it?, fields: [{ id: ok, prompt: Ship?, type: bool }] } }
      - { name: ship, listen: task.approve.good, type: sim, opts: { hold: ship } }
`;

/** h1's API over HTTP, in front of an in-memory cluster of h1 and h2 (only h2 has tag gpu). */
async function start(t: { after(fn: () => Promise<void>): void }) {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  const h1 = c.hub('h1').hub;
  const serving = await serveClusterHost(c, 'h1');
  const agent = new Agent({ keepAlive: false });
  const api = `${serving.pubUrl}${h1.config.common.baseUrl.replace(/\/+$/, '')}`;
  t.after(async () => {
    await serving.close();
    for (const h of c.hubs.values()) for (const r of h.hub.listActive()) await h.hub.cancel(r.ref.run).catch(() => {});
    await c.stop();
  });
  return {
    c,
    api: (method: string, path: string, body?: unknown) =>
      call<{ message: string; payload: any }>(agent, `${api}${path}`, method, body, { 'X-Floe-Auth': ADMIN }),
  };
}

async function whenAsking(c: TestCluster, run: string): Promise<void> {
  await c.until(() => c.hub('h2').events.some((e) => e.kind === 'data-required' && e.ref.run === run));
}

test("h1's API shows, answers and cancels a run that executes on h2, and lists it with h2's name for hosts that did not answer", async (t) => {
  const { c, api } = await start(t);
  const ref = firstItem(await c.hub('h1').hub.trigger('gpu'));
  await whenAsking(c, ref.run);
  await c.settle(100);

  const detail = await api('GET', `/flows/gpu/runs/${ref.run}`);
  assert.equal(detail.status, 200, detail.text);
  assert.equal(detail.body.payload.execHost, 'h2');
  assert.deepEqual(
    detail.body.payload.output.lines.map((l: { line: string }) => l.line),
    ['compiling'],
  );
  assert.deepEqual(
    detail.body.payload.dataWaiting.map((d: { node: string }) => d.node),
    ['approve'],
  );

  const answer = await api('POST', '/push/data', { ref: { id: 'gpu' }, run: ref.run, form: { id: 'approve', values: { ok: true } } });
  assert.equal(answer.status, 200, answer.text);
  assert.equal((await c.hub('h2').hub.findRun(ref.run))?.nodes.approve?.answeredBy, 'admin');

  const listed = await api('GET', '/flows/gpu');
  assert.deepEqual(
    listed.body.payload.runs.active.map((r: { ref: { run: string } }) => r.ref.run),
    [ref.run],
  );
  assert.deepEqual(listed.body.payload.unreachable, []);

  assert.equal((await api('POST', `/flows/gpu/runs/${ref.run}/cancel`)).status, 200);
  const again = await api('POST', `/flows/gpu/runs/${ref.run}/cancel`);
  assert.equal(again.status, 409, 'h2 says the run has ended; h1 answers with the same status');
  assert.match(again.body.message, new RegExp(`run ${ref.run} has already ended \\(cancelled\\)`));

  const bad = await api('GET', '/flows/gpu?before=cnot-a-cursor');
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /query parameter before must be the next of a previous page/);

  c.net.setDown(c.url('h2'), true);
  await c.until(
    () =>
      !c
        .hub('h1')
        .hub.clusterView()
        .hosts.some((h) => h.name === 'h2' && h.online),
  );
  const without = await api('GET', '/flows/gpu');
  assert.equal(without.status, 200);
  assert.deepEqual(without.body.payload.runs.archive, []);
  assert.deepEqual(
    without.body.payload.unreachable.map((u: { host: string }) => u.host),
    ['h2'],
  );
  const lost = await api('GET', `/flows/gpu/runs/${ref.run}`);
  assert.equal(lost.status, 502, lost.text);
  assert.match(lost.body.message, /not every host answered \(h2: offline since/);
  c.net.setDown(c.url('h2'), false);
});
