// Issue 9, Proof: driving and watching runs from the dashboard in a real browser, on one real host.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Locator } from 'playwright-core';
import { runDetail, runsOf, trigger, waitArchived, waitFor } from '../e2e/cluster-client.js';
import type { ClusterHost } from '../e2e/cluster-harness.js';
import type { StampDir } from '../e2e/stamps.js';
import { controlLink, openPage, pathOf, screenshot, signIn, textsOf, until, untilText, type TestPage } from './browser.js';
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
  triggers:
    - name: start
      type: data
      opts:
        form:
          title: Hold
          fields:
            - { id: target, prompt: Target, type: text, value: staging }
            - { id: token, prompt: Deploy token, type: text, secret: true }
  tasks:
    - { name: hold, listen: trigger.good, type: exec, opts: { shell: 'echo holding; while true; do sleep 0.05; done' } }
    - { name: done, listen: task.hold.good, type: end }
- id: big
  triggers: [{ name: start, type: data }]
  tasks:
    - { name: print, listen: trigger.good, type: exec, opts: { shell: 'awk "BEGIN { for (i = 1; i <= 100000; i++) printf \\"row %06d\\\\n\\", i }"' } }
    - { name: done, listen: task.print.good, type: end }
- id: batch
  triggers: [{ name: start, type: data }]
  tasks:
    - { name: a, listen: trigger.good, type: exec, opts: { shell: 'printf "a 1\\na 2\\na 3\\na 4\\na 5\\n"; ${gateOf(s, 'batch-a')}; printf "a 6\\na 7\\na 8\\na 9\\na 10\\n"' } }
    - { name: b, listen: trigger.good, type: exec, opts: { shell: 'printf "b 1\\nb 2\\nb 3\\nb 4\\nb 5\\n"; ${gateOf(s, 'batch-b')}; printf "b 6\\nb 7\\nb 8\\nb 9\\nb 10\\n"' } }
    - { name: both, class: merge, type: all, wait: [task.a.good, task.b.good] }
    - { name: done, listen: merge.both.good, type: end }
- id: steps
  name: Steps
  triggers: [{ name: start, type: data }]
  tasks:
    - { name: one, listen: trigger.good, type: exec, opts: { shell: 'echo one' } }
    - { name: two, listen: task.one.good, type: exec, opts: { shell: '${gateOf(s, 'steps')}' } }
    - { name: three, listen: task.two.good, type: exec, opts: { shell: 'echo three' } }
    - { name: done, listen: task.three.good, type: end }
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

/** The lines the host holds for `run`, in its order (`n`): what the page's log must show. */
async function hostLines(flow: string, run: string, node?: string): Promise<string[]> {
  const d = await runDetail(h1(), flow, run);
  return d.output.lines.filter((l) => l.stream !== 'floe' && (node === undefined || l.node === node)).map((l) => l.line);
}

test('output of batched node-output events is shown live in the host order, per node by deep link and for all nodes, and again after a reload', async (t) => {
  const { page: runPage, problems } = await page(t);
  // What the socket brings: the test must see events that carry several lines each (docs/api.md).
  const batches: number[] = [];
  runPage.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      const f = JSON.parse(String(payload)) as { type: string; event?: { kind: string; lines?: string[] } };
      if (f.type === 'event' && f.event?.kind === 'node-output') batches.push(f.event.lines!.length);
    }),
  );
  const run = await trigger(h1(), 'batch');
  gates.add(`batch-a-${run}`).add(`batch-b-${run}`);
  const a = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `a ${from + i}`);
  const b = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `b ${from + i}`);

  // A pasted link to one node of the run shows that node's output alone.
  await runPage.goto(`/app/flows/batch/runs/${run}?node=a`);
  await runPage.getByRole('heading', { name: 'Output of a' }).waitFor();
  assert.equal(await runPage.getByRole('combobox', { name: 'Show output of' }).inputValue(), 'a');
  await untilRunShows(runPage, { status: 'running', lines: a(1, 5) }, `${run}: a's first batch`);
  await runPage.locator('[data-link="live"]').waitFor();
  // The graph colours each node by its state, with its duration, live.
  const node = (id: string) => runPage.locator(`a[data-node="${id}"]`);
  assert.match((await node('a').getAttribute('class')) ?? '', /\bs-running\b/);
  assert.match((await node('a').getAttribute('aria-label')) ?? '', /^a: running, \d/);
  await dash!.stamps.open(`batch-a-${run}`);
  await untilRunShows(runPage, { status: 'running', lines: a(1, 10) }, `${run}: a's second batch, live`);

  // The graph's node is a link to the node's own address.
  await runPage.locator('a[data-node="b"]').click();
  await runPage.waitForURL((u) => u.search === '?node=b');
  await untilRunShows(runPage, { status: 'running', lines: b(1, 5) }, `${run}: b's first batch`);
  await dash!.stamps.open(`batch-b-${run}`);
  await untilRunShows(runPage, { status: 'good', lines: b(1, 10) }, `${run}: b's second batch, live`);
  for (const id of ['a', 'b', 'both']) {
    await until(`${id} green in the graph`, async () =>
      /\bs-good\b/.test((await node(id).getAttribute('class')) ?? '') ? true : undefined,
    );
    assert.match((await node(id).getAttribute('aria-label')) ?? '', new RegExp(`^${id}: good, \\d+(\\.\\d+)? m?s$`));
  }
  // The timeline has a row for each node that ran, in its state (the end node once the run is read again after its end).
  let rowsSeen = '';
  await until(
    'every node green in the timeline',
    async () => {
      rowsSeen = await runPage
        .locator('.timeline li.tl-row')
        .evaluateAll((rows) => rows.map((r) => r.className.replace(/ selected$/, '')).join(' | '));
      return rowsSeen === Array(4).fill('tl-row tl-good').join(' | ') ? true : undefined;
    },
    () => rowsSeen,
  );
  assert.ok(
    batches.some((n) => n > 1),
    `some node-output event carried several lines (lines per event: ${JSON.stringify(batches)})`,
  );

  // All nodes: the lines in the order the host numbered them, live and after a reload.
  await runPage.getByRole('combobox', { name: 'Show output of' }).selectOption('');
  await runPage.waitForURL((u) => u.search === '');
  const all = await hostLines('batch', run);
  assert.equal(all.length, 20);
  await untilRunShows(runPage, { status: 'good', lines: all }, `${run}: all nodes' lines in the host's order`);
  await runPage.reload();
  await untilRunShows(runPage, { status: 'good', lines: all }, `${run}: all nodes' lines after a reload`);
  await runPage.goto(`/app/flows/batch/runs/${run}?node=b`);
  await untilRunShows(runPage, { status: 'good', lines: b(1, 10) }, `${run}: b's lines after a reload`);
  assert.deepEqual(problems, []);
});

test('a 100,000-line log: only the rows in view are in the page; it loads whole, scrolls, is searched and downloaded whole', async (t) => {
  const { page: runPage, problems } = await page(t);
  const run = await trigger(h1(), 'big');
  await waitArchived(h1(), 'big', [run], { timeoutMs: 60_000 });
  const row = (i: number) => `row ${String(i).padStart(6, '0')}`;
  await runPage.goto(`/app/flows/big/runs/${run}?node=print`);
  const log = runPage.getByRole('region', { name: 'Log of print' });
  const rows = log.locator('.log-row');
  const texts = () => textsOf(log.locator('.log-row .log-text'));
  // It opens on the last lines, following the end.
  await untilText(log.locator('.log-row .log-text').last(), /^row 100000$/, 'the last line in view');

  // A search before the whole log is held says where it looked.
  const search = runPage.getByRole('searchbox', { name: 'Search the log' });
  await search.fill('row 000042');
  await untilText(runPage.locator('.log-count'), /no matches in the loaded lines/, 'the search to say it looked in the loaded lines');

  await runPage.getByRole('button', { name: 'Load all lines' }).click();
  let held: string | null = null;
  await until(
    'all 100,000 lines held',
    async () => ((held = await log.getAttribute('data-lines')) === '100000' ? true : undefined),
    () => held,
  );
  // The search goes on over the lines that came: one match, far up, brought into view.
  await untilText(runPage.locator('.log-count'), /^1 of 1$/, 'the one match');
  await until('the match in view', async () => ((await log.locator('mark.current').count()) === 1 ? true : undefined));
  assert.equal((await log.locator('mark.current').innerText()).trim(), 'row 000042');
  const drawn = await rows.count();
  assert.ok(drawn > 0 && drawn < 200, `only the rows in view (and a few around) are in the page: ${drawn}`);
  t.diagnostic(`screenshot: ${await screenshot(runPage, 'run-log-100k', 'light')}`);

  // Scrolled to the middle, the rows there are drawn, still only a few.
  await log.evaluate((el) => {
    el.scrollTop = 50_000 * 20;
  });
  await until('the middle rows drawn', async () => ((await texts()).includes(row(50_001)) ? true : undefined), texts);
  assert.ok((await rows.count()) < 200);
  const middle = await texts();
  assert.deepEqual(
    middle,
    middle.map((_, i) => row(Number(middle[0]!.slice(4)) + i)),
    'the rows drawn are consecutive lines',
  );

  const [download] = await Promise.all([
    runPage.waitForEvent('download', { timeout: 60_000 }),
    runPage.getByRole('button', { name: 'Download the log of print' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `big-${run}-print.txt`);
  const saved = (await readFile(await download.path(), 'utf8')).split('\n');
  assert.equal(saved.pop(), '', 'the file ends with a newline');
  assert.equal(saved.length, 100_000);
  assert.deepEqual([saved[0], saved[41], saved[99_999]], [row(1), row(42), row(100_000)]);
  assert.ok(
    saved.every((l, i) => l === row(i + 1)),
    'every line once, in order',
  );
  assert.deepEqual(problems, []);
});

test('the dashboard shows an active run live with its nodes done of total and the time it has run, until it ends', async (t) => {
  const { page: board, problems, loads } = await page(t);
  await board.goto('/app/dash');
  await board.locator('[data-link="live"]').waitFor();
  const run = await trigger(h1(), 'steps');
  gates.add(`steps-${run}`);
  const row = board.getByRole('table', { name: 'Active runs' }).locator(`tr[data-run="${run}"]`);
  // Node one done, two running, three to come; the end node is not work to do.
  await row.getByRole('progressbar', { name: `${run}: 1 of 3 nodes done` }).waitFor();
  assert.equal((await row.locator('.run-progress-text').innerText()).trim(), '1 / 3');
  const elapsed = row.locator('.duration');
  const first = await untilText(elapsed, /^\d+(\.\d+)? s$/, 'the time it has run');
  // Elapsed goes on with the page's clock.
  await untilText(elapsed, new RegExp(`^(?!${first.replace('.', '\\.')}$)\\d+(\\.\\d+)? s$`), 'the elapsed time to tick');
  await dash!.stamps.open(`steps-${run}`);
  await board.getByRole('link', { name: `${run}: good` }).waitFor();
  await row.waitFor({ state: 'detached' });
  assert.equal(loads(), 1, 'the page was never reloaded');
  assert.deepEqual(problems, []);
});

/** Whether `target` has the focus. */
async function isFocused(target: Locator): Promise<boolean> {
  return target.evaluate((el) => el === el.ownerDocument.activeElement);
}

/** Presses Tab until `target` has the focus (at most `max` times); fails if it never does. */
async function tabTo(p: TestPage['page'], target: Locator, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await isFocused(target)) return;
    await p.keyboard.press('Tab');
  }
  assert.fail(`Tab never reached ${target.toString()}`);
}

test('by keyboard alone: skip to content, rerun and cancel a run through their dialogs, which hold and give back the focus; its values keep secrets hidden', async (t) => {
  const { page: runPage, problems } = await page(t);
  const secret = 'tok-3f9a-never-shown';
  const run = await trigger(h1(), 'hold', { target: 'prod', token: secret });
  t.after(() => h1().api(`/flows/hold/runs/${run}/cancel`, { method: 'POST' }));
  await runPage.goto(`/app/flows/hold/runs/${run}`);
  await untilRunShows(runPage, { status: 'running', lines: ['holding'] }, `${run} running`);

  // Where it runs, and with what: the secret as (secret), nowhere in the page.
  const res = await h1().api(`/flows/hold/runs/${run}?tail=0`);
  const detail = ((await res.json()) as { payload: { workspace?: string } }).payload;
  const summary = runSummary(runPage);
  const fact = (name: string) =>
    summary.locator('dl > div', { has: runPage.locator('dt', { hasText: new RegExp(`^${name}$`) }) }).locator('dd');
  assert.equal((await fact('Host').innerText()).trim(), 'h1');
  assert.ok(detail.workspace, 'the run has a workspace');
  assert.equal((await fact('Workspace').locator('code').innerText()).trim(), detail.workspace);
  assert.equal((await fact('target').innerText()).trim(), 'prod');
  assert.equal((await fact('token').innerText()).trim(), '(secret)');
  assert.ok(!(await runPage.content()).includes(secret), 'the secret value is nowhere in the page');

  // The first Tab reaches the skip link, which moves the focus to the page's content.
  await runPage.keyboard.press('Tab');
  const skip = runPage.getByRole('link', { name: 'Skip to content' });
  assert.ok(await isFocused(skip), 'the first Tab is on the skip link');
  await runPage.keyboard.press('Enter');
  assert.ok(await isFocused(runPage.locator('main#main')), 'the focus is on the page content');

  // Cancel, then step back: the dialog holds the focus, Escape closes it and gives it back.
  const cancel = summary.getByRole('button', { name: 'Cancel run' });
  await tabTo(runPage, cancel);
  await runPage.keyboard.press('Enter');
  const cancelDialog = runPage.getByRole('dialog', { name: `Cancel run ${run}?` });
  await cancelDialog.waitFor();
  for (let i = 0; i < 5; i++) {
    assert.ok(await cancelDialog.evaluate((d) => d.contains(d.ownerDocument.activeElement)), `focus inside the dialog after ${i} Tabs`);
    await runPage.keyboard.press('Tab');
  }
  await runPage.keyboard.press('Escape');
  await cancelDialog.waitFor({ state: 'hidden' });
  assert.ok(await isFocused(cancel), 'the focus is back on Cancel run');
  assert.equal((await runDetail(h1(), 'hold', run)).status, 'running');

  // Rerun: its dialog starts on the way out; Tab, Enter starts a new run with the same values.
  await tabTo(runPage, summary.getByRole('button', { name: 'Rerun' }));
  await runPage.keyboard.press('Enter');
  const rerunDialog = runPage.getByRole('dialog', { name: `Rerun ${run}?` });
  await rerunDialog.waitFor();
  t.diagnostic(`screenshot: ${await screenshot(runPage, 'run-dialog', 'light')}`);
  assert.ok(await isFocused(rerunDialog.getByRole('button', { name: 'Back' })), 'the dialog starts on the way out');
  await runPage.keyboard.press('Tab');
  await runPage.keyboard.press('Enter');
  await runPage.waitForURL((u) => RUN_PATH('hold').test(u.pathname) && !u.pathname.endsWith(`/${run}`));
  const rerun = RUN_PATH('hold').exec(new URL(runPage.url()).pathname)![1]!;
  t.after(() => h1().api(`/flows/hold/runs/${rerun}/cancel`, { method: 'POST' }));
  await untilRunShows(runPage, { status: 'running', lines: ['holding'] }, `${rerun} running`);
  assert.equal((await fact('token').innerText()).trim(), '(secret)');

  // The new run is cancelled by keyboard too.
  await tabTo(runPage, summary.getByRole('button', { name: 'Cancel run' }));
  await runPage.keyboard.press('Enter');
  await runPage.getByRole('dialog', { name: `Cancel run ${rerun}?` }).waitFor();
  await runPage.keyboard.press('Tab');
  await runPage.keyboard.press('Enter');
  await untilRunShows(runPage, { status: 'cancelled', lines: ['holding'] }, `${rerun} cancelled`);
  assert.ok(!(await runPage.content()).includes(secret), 'the secret value is nowhere in the page');
  assert.deepEqual(problems, []);
});
