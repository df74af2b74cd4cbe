// Issue 9, Proof: driving and watching runs from the dashboard in a real browser, on one real host.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { runDetail, runsOf, trigger, waitFor } from '../e2e/cluster-client.js';
import type { ClusterHost } from '../e2e/cluster-harness.js';
import type { StampDir } from '../e2e/stamps.js';
import { controlLink, openPage, pathOf, signIn, until, untilText, type TestPage } from './browser.js';
import { runShown, runSummary, untilRunShows } from './run-page.js';
import { startDash, type Dash } from './start-dash.js';

let dash: Dash | undefined;
/** Gates the tests may leave shut; opened before the host stops. */
const gates = new Set<string>();

/** A shell loop that waits for gate `name` of the run (a file the test creates). */
const gateOf = (s: StampDir, name: string) => `while [ ! -e "${s.path(name)}-$FLOE_RUN_ID" ]; do sleep 0.05; done`;

before(async () => {
  dash = await startDash(
    [{ name: 'h1', tags: ['linux'] }],
    (s) => `
- id: count
  name: Count
  triggers:
    - name: start
      type: data
      opts:
        form:
          title: Count lines
          fields:
            - { id: lines, prompt: Lines, type: int, value: "6", required: true }
  tasks:
    - name: count
      listen: trigger.good
      type: exec
      opts:
        shell: 'i=1; while [ $i -le {{lines}} ]; do echo "line $i"; if [ $i -eq 3 ]; then ${gateOf(s, 'count')}; fi; sleep 0.05; i=$((i+1)); done'
    - { name: done, listen: task.count.good, type: end }
- id: stream
  triggers: [{ name: start, type: data }]
  tasks:
    - name: print
      listen: trigger.good
      type: exec
      opts:
        shell: 'for i in 1 2 3 4 5 6 7 8 9; do echo "line $i"; if [ $i -eq 3 ]; then ${gateOf(s, 'stream-a')}; fi; if [ $i -eq 6 ]; then ${gateOf(s, 'stream-b')}; fi; sleep 0.05; done'
    - { name: done, listen: task.print.good, type: end }
- id: approve
  name: Approve
  triggers: [{ name: start, type: data }]
  tasks:
    - name: ask
      listen: trigger.good
      type: data
      opts:
        form:
          title: Ship it?
          fields:
            - { id: ship, prompt: Ship, type: bool, required: true }
            - { id: note, prompt: Note, type: text }
    - { name: ship, listen: task.ask.good, type: exec, opts: { shell: 'echo "shipping: {{ask.note}}"' } }
    - { name: done, listen: task.ship.good, type: end }
- id: hold
  triggers: [{ name: start, type: data }]
  tasks:
    - { name: hold, listen: trigger.good, type: exec, opts: { shell: 'echo holding; while true; do sleep 0.05; done' } }
    - { name: done, listen: task.hold.good, type: end }
`,
    { gates: () => [...gates] },
  );
});

after(() => dash?.stop());

function h1(): ClusterHost {
  return dash!.cluster.host('h1');
}

/** A page on h1, logged in as admin, not yet on any page of the app. */
async function page(t: TestContext): Promise<TestPage> {
  const p = await openPage(t, dash!.browser, h1().url);
  await signIn(p.context, h1().apiUrl, dash!.login.user, dash!.login.password);
  return p;
}

test('a data node is answered from the dashboard inbox, and the run goes on to good', async (t) => {
  const { page: board, problems } = await page(t);
  await board.goto('/app/dash');
  await board.locator('[data-link="live"]').waitFor();

  // The run starts after the page has loaded: the question reaches the inbox live.
  const run = await trigger(h1(), 'approve');
  const ask = board.locator(`li.ask[data-run="${run}"][data-node="ask"]`);
  await ask.waitFor();
  await ask.getByRole('checkbox', { name: 'Ship' }).check();
  await ask.getByRole('textbox', { name: 'Note' }).fill('from the inbox');
  await ask.getByRole('button', { name: 'Answer' }).click();
  await ask.waitFor({ state: 'detached' });

  // The run goes on and ends good, and the dashboard says so without a reload.
  await board.getByRole('link', { name: `${run}: good` }).waitFor();
  const detail = await runDetail(h1(), 'approve', run);
  assert.equal(detail.status, 'good');
  assert.deepEqual(
    detail.output.lines.filter((l) => l.node === 'ship' && l.stream !== 'floe').map((l) => l.line),
    ['shipping: from the inbox'],
    'the values given in the inbox reached the run',
  );
  assert.deepEqual(problems, []);
});

const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);

/** The run page's address for `flow`, and the run it shows. */
const RUN_PATH = (flow: string) => new RegExp(`^/app/flows/${flow}/runs/([^/?]+)$`);

test('a flow is launched from its form on the flow page: a bad value is shown by its field, a good one starts a run that turns green live', async (t) => {
  const { page: flowPage, problems, loads } = await page(t);
  await flowPage.goto('/app/flows/count');
  const form = flowPage.getByRole('form', { name: 'Count lines' });
  const lines = form.getByRole('textbox', { name: 'Lines' });
  await lines.fill('eight');
  await form.getByRole('button', { name: 'Launch' }).click();

  // The host's check, shown next to the field it is about; the page stays, no run started.
  let invalid: string | null = null;
  await until(
    'the field to be marked invalid',
    async () => ((invalid = await lines.getAttribute('aria-invalid')) === 'true' ? true : undefined),
    () => ({ 'aria-invalid': invalid }),
  );
  const errorId = await lines.getAttribute('aria-describedby');
  assert.ok(errorId, 'the field points at its error');
  const error = await untilText(flowPage.locator(`[id="${errorId}"]`), /"lines"/, 'the error next to the field');
  assert.match(error, /integer/, `the error says what is wrong: ${error}`);
  assert.match(pathOf(flowPage), /^\/app\/flows\/count$/);
  const none = await runsOf(h1(), 'count');
  assert.deepEqual([...none.pending, ...none.active, ...none.archive], [], 'a bad value starts nothing');

  await lines.fill('8');
  await form.getByRole('button', { name: 'Launch' }).click();
  await flowPage.waitForURL((u) => RUN_PATH('count').test(u.pathname));
  const run = RUN_PATH('count').exec(new URL(flowPage.url()).pathname)![1]!;
  gates.add(`count-${run}`);

  // The task prints three lines and waits: they are on the page while the run is running.
  await untilRunShows(flowPage, { status: 'running', lines: numbered(1, 3) }, `${run} running with its first lines`);
  await dash!.stamps.open(`count-${run}`);
  const done = await untilRunShows(flowPage, { status: 'good', lines: numbered(1, 8) }, `${run} good with all its lines`);
  assert.equal(done.host, 'h1');
  assert.equal(loads(), 1, 'the page was never reloaded');
  assert.deepEqual(problems, []);
});

test('a run is cancelled from its page after a confirmation, and shows cancelled live', async (t) => {
  const { page: runPage, problems, loads } = await page(t);
  const run = await trigger(h1(), 'hold');
  await runPage.goto(`/app/flows/hold/runs/${run}`);
  await untilRunShows(runPage, { status: 'running', lines: ['holding'] }, `${run} running`);

  // Asked first: keeping it running changes nothing.
  await runSummary(runPage).getByRole('button', { name: 'Cancel run' }).click();
  const dialog = runPage.getByRole('dialog', { name: `Cancel run ${run}?` });
  await dialog.getByRole('button', { name: 'Keep running' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await runDetail(h1(), 'hold', run)).status, 'running');

  await runSummary(runPage).getByRole('button', { name: 'Cancel run' }).click();
  await dialog.getByRole('button', { name: 'Stop the run' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await untilRunShows(runPage, { status: 'cancelled', lines: ['holding'] }, `${run} cancelled`);
  await untilText(runSummary(runPage).locator('.run-reason'), new RegExp(`cancelled by ${dash!.login.user}`), 'why it ended');
  await runSummary(runPage).getByRole('button', { name: 'Cancel run' }).waitFor({ state: 'detached' });
  const detail = await runDetail(h1(), 'hold', run);
  assert.deepEqual([detail.status, detail.reason], ['cancelled', `cancelled by ${dash!.login.user}`]);
  assert.equal(loads(), 1, 'the page was never reloaded');
  assert.deepEqual(problems, []);
});

test('after the host side drops the websocket, the run page says it is reconnecting, reconnects and catches up', async (t) => {
  const { page: runPage, problems, loads } = await page(t);
  const link = await controlLink(runPage);
  const run = await trigger(h1(), 'stream');
  gates.add(`stream-a-${run}`).add(`stream-b-${run}`);
  await runPage.goto(`/app/flows/stream/runs/${run}`);
  await untilRunShows(runPage, { status: 'running', lines: numbered(1, 3) }, `${run} running with its first lines`);
  await runPage.locator('[data-link="live"]').waitFor();

  // Dropped, and the host stays out of reach while the run prints lines 4 to 6.
  link.refuse();
  await link.drop();
  await untilText(runPage.locator('[data-link]'), /reconnecting/, 'the page to say it is reconnecting');
  await dash!.stamps.open(`stream-a-${run}`);
  await waitFor(`${run} to print line 6 on the host`, async () => {
    const d = await runDetail(h1(), 'stream', run);
    return d.output.lines.some((l) => l.line === 'line 6') ? true : undefined;
  });
  assert.deepEqual((await runShown(runPage)).lines, numbered(1, 3), 'the page heard nothing while the socket was down');

  // Back: the page catches up on what it missed, then follows lines 7 to 9 live.
  link.admit();
  await runPage.locator('[data-link="live"]').waitFor();
  await untilRunShows(runPage, { status: 'running', lines: numbered(1, 6) }, `${run} caught up to line 6`);
  await dash!.stamps.open(`stream-b-${run}`);
  await untilRunShows(runPage, { status: 'good', lines: numbered(1, 9) }, `${run} good with every line once, in order`);
  assert.equal(link.connected, 2, 'one socket before the drop, one after');
  assert.equal(loads(), 1, 'the page was never reloaded');
  assert.deepEqual(problems, []);
});
