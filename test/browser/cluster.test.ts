// Issue 9, Proof: a run that executes on the second host, launched and followed live from the
// first host's dashboard, with two real hosts on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { runDetail, trigger, waitArchived, waitFor, waitMet } from '../e2e/cluster-client.js';
import { logIn, openPage, signIn, untilText } from './browser.js';
import { startDash, type Dash } from './start-dash.js';
import { runShown, untilRunShows } from './run-page.js';

let dash: Dash | undefined;
const gates = new Set<string>();

before(async () => {
  dash = await startDash(
    [
      { name: 'h1', tags: ['linux'] },
      { name: 'h2', tags: ['linux', 'gpu'] },
    ],
    (s) => `
- id: gpu
  name: GPU build
  host-tags: [gpu]
  triggers:
    - name: start
      type: data
      opts: { form: { title: Build on a GPU, fields: [{ id: label, prompt: Label, type: text, value: nightly }] } }
  tasks:
    - name: build
      listen: trigger.good
      type: exec
      opts:
        shell: 'echo "line 1 on $FLOE_HOST"; echo "line 2 on $FLOE_HOST"; while [ ! -e "${s.path('gpu')}-$FLOE_RUN_ID" ]; do sleep 0.05; done; echo "line 3 on $FLOE_HOST"; echo "line 4 on $FLOE_HOST"'
    - { name: done, listen: task.build.good, type: end }
- id: gpu-ask
  name: GPU sign-off
  host-tags: [gpu]
  triggers: [{ name: start, type: data }]
  tasks:
    - name: ask
      listen: trigger.good
      type: data
      opts: { form: { title: Ship the GPU build?, fields: [{ id: note, prompt: Note, type: text, required: true }] } }
    - { name: ship, listen: task.ask.good, type: exec, opts: { shell: 'echo "shipping on $FLOE_HOST: {{ask.note}}"' } }
    - { name: done, listen: task.ship.good, type: end }
- id: ping
  host-tags: [gpu]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: done, listen: trigger.good, type: end }]
`,
    { gates: () => [...gates] },
  );
});

after(() => dash?.stop());

/**
 * A websocket client on `host` that keeps it watching, and says when an event of `from` reached
 * it: a peer forwards its events only once it has heard that this host is watching
 * (docs/cluster.md, live events), so the test waits for that before it starts the run.
 */
async function watchFrom(
  host: { apiUrl: string; name: string },
  token: string,
  from: string,
  poke: () => Promise<void>,
): Promise<WebSocket> {
  const ws = new WebSocket(`${host.apiUrl.replace(/^http/, 'ws')}/ws`, ['floe', `floe-token.${token}`]);
  let heard = false;
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as { type: string; event?: { host?: string } };
    if (f.type === 'hello') ws.send(JSON.stringify({ type: 'subscribe' }));
    if (f.type === 'event' && f.event?.host === from) heard = true;
  });
  ws.on('error', () => {});
  await waitFor(`${host.name} to hear events of ${from}`, async () => {
    if (!heard) await poke();
    return heard ? true : undefined;
  });
  return ws;
}

test("a run placed on h2 is launched from h1's dashboard and followed live there, to green", async (t) => {
  const { cluster, stamps } = dash!;
  const [h1, h2] = [cluster.host('h1'), cluster.host('h2')];
  await waitMet(cluster.hosts);
  const witness = await watchFrom(h1, cluster.adminToken, 'h2', async () => {
    await waitArchived(h1, 'ping', [await trigger(h1, 'ping')]);
  });
  t.after(() => witness.terminate());

  const { page, context, problems, loads } = await openPage(t, dash!.browser, h1.url);
  await signIn(context, h1.apiUrl, dash!.login.user, dash!.login.password);
  await page.goto('/app/dash');
  await page.getByRole('table', { name: 'Flows' }).getByRole('link', { name: 'GPU build' }).click();
  await page.waitForURL('**/app/flows/gpu');
  const form = page.getByRole('form', { name: 'Build on a GPU' });
  await form.getByRole('button', { name: 'Launch' }).click();
  await page.waitForURL((u) => /^\/app\/flows\/gpu\/runs\/[^/]+$/.test(u.pathname));
  const run = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
  gates.add(`gpu-${run}`);
  assert.match(run, /^h1-/, 'h1 took the launch');

  const started = await untilRunShows(page, { status: 'running', lines: ['line 1 on h2', 'line 2 on h2'] }, `${run} running on h2`);
  assert.equal(started.host, 'h2', 'the page names the host that runs it');
  await stamps.open(`gpu-${run}`);
  const done = await untilRunShows(
    page,
    { status: 'good', lines: [1, 2, 3, 4].map((i) => `line ${i} on h2`) },
    `${run} good, followed from h1`,
  );
  assert.equal(done.host, 'h2');
  assert.deepEqual((await runShown(page)).lines.length, 4);

  const detail = await runDetail(h2, 'gpu', run);
  assert.deepEqual([detail.status, detail.execHost], ['good', 'h2'], 'h2 ran it');
  assert.equal(loads(), 1, 'the page was never reloaded');

  // h1's flow page lists the run in its history, with the host that ran it.
  await page.getByRole('link', { name: 'gpu' }).first().click();
  await page.waitForURL('**/app/flows/gpu');
  const row = page.getByRole('table', { name: 'History' }).locator(`tr[data-run="${run}"]`);
  await untilText(row.locator('td').nth(3), /^h2$/, 'the history to name h2');
  assert.deepEqual(problems, []);
});

test("a data node of a run on h2 is answered from h1's dashboard inbox, and the run goes on to good on h2", async (t) => {
  const { cluster } = dash!;
  const [h1, h2] = [cluster.host('h1'), cluster.host('h2')];
  await waitMet(cluster.hosts);
  // As above: h2 forwards its events once it knows h1 is watched (when run alone, too).
  const witness = await watchFrom(h1, cluster.adminToken, 'h2', async () => {
    await waitArchived(h1, 'ping', [await trigger(h1, 'ping')]);
  });
  t.after(() => witness.terminate());
  // With no users in the config, admin logs in on the page with the admin token.
  const { page, problems, loads } = await openPage(t, dash!.browser, h1.url);
  await page.goto('/app/dash');
  await page.waitForURL((u) => u.pathname === '/app/login');
  await logIn(page, 'admin', cluster.adminToken);
  assert.equal(new URL(page.url()).pathname, '/app/dash');
  await page.locator('[data-link="live"]').waitFor();
  const loaded = loads();

  const run = await trigger(h1, 'gpu-ask');
  const ask = page.locator(`li.ask[data-run="${run}"][data-node="ask"]`);
  await ask.waitFor();
  assert.match(await ask.innerText(), /on h2/, 'the inbox says where the run waits');
  await ask.getByRole('textbox', { name: 'Note' }).fill('from h1');
  await ask.getByRole('button', { name: 'Answer' }).click();
  await ask.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: `${run}: good` }).waitFor();

  const detail = await runDetail(h2, 'gpu-ask', run);
  assert.deepEqual([detail.status, detail.execHost], ['good', 'h2']);
  assert.deepEqual(
    detail.output.lines.filter((l) => l.node === 'ship' && l.stream !== 'floe').map((l) => l.line),
    ['shipping on h2: from h1'],
    'the answer given on h1 reached the run on h2',
  );
  assert.equal(loads(), loaded, 'the page was never reloaded');
  assert.deepEqual(problems, []);
});
