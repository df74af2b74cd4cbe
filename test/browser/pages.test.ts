// Issue 9, Proof: every page of the dashboard has no serious accessibility violation (axe-core)
// in light and dark, and is saved as a screenshot for a person to look at.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { runDetail, trigger, waitArchived, waitFor } from '../e2e/cluster-client.js';
import { checkA11y, goInApp, LAPTOP, openPage, PHONE, screenshot, signIn, textsOf, until, untilText, type TestPage } from './browser.js';
import { startDash, type Dash } from './start-dash.js';
import { untilRunShows } from './run-page.js';

let dash: Dash | undefined;
const gates = new Set<string>();
/** Runs made before the tests, so that each page has something of each kind to show. */
const runs = { good: '', bad: '', waiting: '', holding: '', queued: '' };
/** The commit of the repository the build flow's poll-git trigger watches. */
let watchedHead = '';

/** A git repository of one commit on main, for a poll-git trigger to see; returns its path. */
function makeRepo(dir: string): string {
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=floe', '-c', 'user.email=floe@example.invalid', '-C', dir, ...args], { encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  git('commit', '-q', '--allow-empty', '-m', 'first');
  watchedHead = git('rev-parse', 'HEAD');
  return dir;
}

const BUILD_LINES = ['checking out main', 'compiling 12 packages', 'ok   floe/hub   0.41s', 'ok   floe/server   1.02s', 'PASS'];

before(async () => {
  dash = await startDash(
    [
      { name: 'h1', tags: ['linux', 'go'] },
      { name: 'h2', tags: ['linux', 'gpu'] },
    ],
    (s) => `
- id: build
  name: Build
  host-tags: [linux]
  triggers:
    - name: Manual
      type: data
      opts:
        form:
          title: Build a branch
          fields:
            - { id: ref, prompt: Branch or tag, type: string, value: main, required: true }
            - { id: runs, prompt: Test runs, type: int, value: "1" }
            - { id: race, prompt: Race detector, type: bool, value: "false" }
            - { id: target, prompt: Target, type: string, options: [linux, darwin], value: linux }
    - { name: nightly, type: timer, opts: { period: 86400 } }
    - { name: pushes, type: poll-git, opts: { url: '${makeRepo(s.path('repo'))}', period: 2, refs: refs/heads/* } }
  tasks:
    - name: compile
      listen: trigger.good
      type: exec
      opts: { shell: 'echo "checking out {{ref}}"; printf "\\033[1;34mcompiling\\033[0m 12 packages\\n"' }
    - name: test
      listen: task.compile.good
      type: exec
      opts: { shell: 'test {{runs}} -gt 0 || { echo "no test runs asked" >&2; exit 3; }; printf "ok   floe/hub   0.41s\\nok   floe/server   1.02s\\n\\033[32mPASS\\033[0m\\n"' }
    - name: lint
      listen: task.compile.good
      type: exec
      opts: { shell: 'true' }
    - { name: checked, class: merge, type: all, wait: [task.test.good, task.lint.good] }
    - { name: done, listen: merge.checked.good, type: end }
- id: quick
  name: Quick
  triggers: [{ name: start, type: data }]
  tasks: [{ name: done, listen: trigger.good, type: end }]
- id: approve
  name: Release
  triggers: [{ name: start, type: data }]
  tasks:
    - name: sign-off
      listen: trigger.good
      type: data
      opts:
        form:
          title: Ship this release?
          fields:
            - { id: ship, prompt: Ship it, type: bool, required: true }
            - { id: note, prompt: Release note, type: text }
    - { name: done, listen: task.sign-off.good, type: end }
- id: db
  name: Integration
  resource-tags: [integration-db]
  triggers: [{ name: start, type: data }]
  tasks:
    - { name: hold, listen: trigger.good, type: exec, opts: { shell: 'echo "holding the db"; while [ ! -e "${s.path('db')}-$FLOE_RUN_ID" ]; do sleep 0.05; done' } }
    - { name: done, listen: task.hold.good, type: end }
`,
    { gates: () => [...gates] },
  );
  const h1 = dash.cluster.host('h1');
  runs.good = await trigger(h1, 'build', { ref: 'main', runs: '2' });
  runs.bad = await trigger(h1, 'build', { ref: 'wip', runs: '0' });
  runs.waiting = await trigger(h1, 'approve');
  runs.holding = await trigger(h1, 'db');
  gates.add(`db-${runs.holding}`);
  runs.queued = await trigger(h1, 'db');
  gates.add(`db-${runs.queued}`);
  await waitFor('the runs to reach the states the pages show', async () => {
    const [good, bad, waiting] = await Promise.all([
      runDetail(h1, 'build', runs.good),
      runDetail(h1, 'build', runs.bad),
      runDetail(h1, 'approve', runs.waiting),
    ]);
    return good.status === 'good' && bad.status === 'bad' && waiting.status === 'running' ? true : undefined;
  });
});

after(() => dash?.stop());

interface PageCheck {
  /** The screenshot's name: `test-output/screenshots/<name>-<scheme>[-phone].png`. */
  name: string;
  /** Resolves once the page shows what it is for (loaded data, not "Loading…"). */
  ready: (page: Page) => Promise<void>;
  /** Also at phone size. */
  phone?: boolean;
}

/** No element says it is still loading. */
async function settled(page: Page): Promise<void> {
  await until('the page to finish loading', async () => ((await page.locator('[aria-busy="true"]').count()) === 0 ? true : undefined));
}

/**
 * The page in light and dark (and at phone size when asked): a screenshot of each, and axe on
 * each at laptop size. The scheme is switched by emulating `prefers-color-scheme` in place, as a system
 * switching its theme does. Every view is checked before the test fails, so one run lists all
 * that is wrong.
 */
async function checkViews(t: TestContext, tp: TestPage, c: PageCheck): Promise<void> {
  const { page } = tp;
  const failures: string[] = [];
  const seen = tp.problems.length;
  await c.ready(page);
  await settled(page);
  for (const phone of c.phone ? [false, true] : [false]) {
    await page.setViewportSize(phone ? PHONE : LAPTOP);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const what = `${c.name} page, ${scheme}${phone ? ', phone' : ''}`;
      // axe in light and dark at laptop size; the phone views are for a person to look at, and each axe run costs a second or two.
      if (!phone) await checkA11y(page, what).catch((err: Error) => failures.push(err.message));
      t.diagnostic(`screenshot: ${await screenshot(page, c.name, scheme, phone)}`);
    }
  }
  await page.setViewportSize(LAPTOP);
  failures.push(...tp.problems.slice(seen).map((p) => `${c.name} page: ${p}`));
  if (failures.length > 0) assert.fail(failures.join('\n'));
}

/**
 * The logged-in pages share one page, moved between them inside the app: axe is injected once
 * (its first run in a page costs seconds) and each page is reached as a user reaches it.
 */
let app: TestPage | undefined;
async function appAt(path: string): Promise<TestPage> {
  const d = dash!;
  const h1 = d.cluster.host('h1');
  if (!app) {
    app = await openPage(undefined, d.browser, h1.url);
    await signIn(app.context, h1.apiUrl, d.login.user, d.login.password);
    await app.page.goto(path);
  } else await goInApp(app.page, path);
  return app;
}

after(() => app?.context.close());

test('the login page: no serious accessibility violation in light and dark', async (t) => {
  const tp = await openPage(t, dash!.browser, dash!.cluster.host('h1').url);
  const res = await tp.page.goto('/app/login');
  // axe runs in the page as users get it: the page's CSP is on (checkA11y says how axe gets in).
  assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await checkViews(t, tp, { name: 'login', ready: (page) => page.getByRole('button', { name: 'Log in' }).waitFor() });
});

test('the dashboard: no serious accessibility violation in light and dark, laptop and phone', async (t) => {
  await checkViews(t, await appAt('/app/dash'), {
    name: 'dash',
    phone: true,
    ready: async (page) => {
      await page.locator('[data-link="live"]').waitFor();
      await page.locator(`li.ask[data-run="${runs.waiting}"]`).waitFor();
      await page
        .getByRole('table', { name: 'Flows' })
        .getByRole('link', { name: `${runs.good}: good` })
        .waitFor();
      const h2 = page.locator('ul.host-summary [data-host="h2"]');
      await untilText(h2.locator('.host-summary-head'), /online/, 'h2 online');
      assert.deepEqual(await textsOf(h2.locator('.tag')), ['linux', 'gpu']);
      // A pend says why it waits: the run ahead of it holds the flow's resource tag.
      const pend = page.getByRole('table', { name: 'Pending runs' }).locator(`tr[data-run="${runs.queued}"]`);
      await untilText(pend.locator('.run-note'), new RegExp(`${runs.holding} holds resource tag integration-db`), 'why the pend waits');
    },
  });
});

test('the flow page: no serious accessibility violation in light and dark', async (t) => {
  await checkViews(t, await appAt('/app/flows/build'), {
    name: 'flow',
    ready: async (page) => {
      await page.getByRole('form', { name: 'Build a branch' }).waitFor();
      await page.getByRole('table', { name: 'History' }).locator(`[data-run="${runs.bad}"]`).waitFor();
      const timer = page.getByRole('region', { name: 'timer nightly' });
      await untilText(timer.locator('dt:text-is("Next firing") + dd'), /\(in \d+ h/, "the timer's next firing");
      // The git poll says what it saw last (its owner polled it, on either host).
      const seen = page.getByRole('table', { name: 'Last seen by pushes' });
      await untilText(seen.locator('tbody tr'), new RegExp(`^refs/heads/main\\s+${watchedHead.slice(0, 12)}$`), 'the hash the poll saw');
    },
  });
});

test('the run page: no serious accessibility violation in light and dark, laptop and phone', async (t) => {
  await checkViews(t, await appAt(`/app/flows/build/runs/${runs.good}`), {
    name: 'run',
    phone: true,
    ready: async (page) => {
      await untilRunShows(page, { status: 'good', lines: BUILD_LINES }, `${runs.good} with its output`);
      // ANSI colours are rendered, not shown as escape codes: bold blue "compiling", green "PASS".
      const log = page.getByRole('region', { name: 'Log of all nodes' });
      const colour = (text: string) =>
        log
          .locator('.log-text span', { hasText: new RegExp(`^${text}$`) })
          .evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).color);
      const [blue, green, plain] = await Promise.all([
        colour('compiling'),
        colour('PASS'),
        log
          .locator('.log-text')
          .first()
          .evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).color),
      ]);
      assert.notEqual(blue, plain);
      assert.notEqual(green, plain);
      assert.notEqual(blue, green);
    },
  });
});

test('the hosts page: no serious accessibility violation in light and dark', async (t) => {
  await checkViews(t, await appAt('/app/hosts'), {
    name: 'hosts',
    ready: async (page) => {
      await page.locator('article.host-card[data-host="h1"]').waitFor();
      await page.locator('article.host-card[data-host="h2"]').waitFor();
      // The resource tag: the run holding it, and the queue of runs waiting for it, in order.
      const tag = page.getByRole('table', { name: 'Resource tags' }).locator('tr[data-tag="integration-db"]');
      await untilText(tag.locator('td').first(), new RegExp(`^${runs.holding}`), 'the run holding integration-db');
      assert.deepEqual(await textsOf(tag.getByRole('list', { name: 'Runs waiting for integration-db' }).getByRole('listitem')), [
        runs.queued,
      ]);
    },
  });
});

test("the flow page's history is filtered by status, kept in the address, with each run's duration", async () => {
  const { page, problems } = await appAt('/app/flows/build');
  const history = page.getByRole('table', { name: 'History' });
  await history.locator(`[data-run="${runs.good}"]`).waitFor();
  await page.getByRole('checkbox', { name: 'bad' }).check();
  await page.waitForURL((u) => u.search === '?status=bad');
  await history.locator(`[data-run="${runs.good}"]`).waitFor({ state: 'detached' });
  assert.deepEqual(await history.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run'))), [runs.bad]);
  assert.match((await history.locator(`[data-run="${runs.bad}"] .duration`).innerText()).trim(), /^\d+(\.\d+)? (ms|s)$/);
  // The address alone brings the same view back.
  await goInApp(page, '/app/flows/build');
  await history.locator(`[data-run="${runs.good}"]`).waitFor();
  await goInApp(page, '/app/flows/build?status=bad');
  await history.locator(`[data-run="${runs.good}"]`).waitFor({ state: 'detached' });
  assert.ok(await page.getByRole('checkbox', { name: 'bad' }).isChecked());
  assert.deepEqual(problems, []);
});

test("the flow page's history is paged, newest first", async () => {
  const h1 = dash!.cluster.host('h1');
  // One more run than a page holds (25), each ended before the next starts: a known order.
  const made: string[] = [];
  for (let i = 0; i < 26; i++) {
    const run = await trigger(h1, 'quick');
    await waitArchived(h1, 'quick', [run]);
    made.push(run);
  }
  const { page, problems } = await appAt('/app/flows/quick');
  const history = page.getByRole('table', { name: 'History' });
  const shown = () => history.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')));
  const newest = [...made].reverse();
  await history.locator(`[data-run="${made[25]}"]`).waitFor();
  assert.deepEqual(await shown(), newest.slice(0, 25));
  await page.getByRole('button', { name: 'Older' }).click();
  await page.waitForURL((u) => u.searchParams.has('before'));
  await history.locator(`[data-run="${made[25]}"]`).waitFor({ state: 'detached' });
  assert.deepEqual(await shown(), newest.slice(25));
  assert.ok(await page.getByRole('button', { name: 'Older' }).isDisabled(), 'no page after the last');
  await page.getByRole('button', { name: 'Newest' }).click();
  await history.locator(`[data-run="${made[25]}"]`).waitFor();
  assert.deepEqual(problems, []);
});

test('a data node waiting for input is answered on its run page', async () => {
  const { page, problems } = await appAt(`/app/flows/approve/runs/${runs.waiting}`);
  const form = page.getByRole('region', { name: 'Waiting for input' }).getByRole('form', { name: 'Ship this release?' });
  await form.getByRole('checkbox', { name: 'Ship it' }).check();
  await form.getByRole('textbox', { name: 'Release note' }).fill('from the run page');
  await form.getByRole('button', { name: 'Answer' }).click();
  await untilText(page.locator('.run-title .badge'), /^good$/, `${runs.waiting} good`);
  await page.getByRole('region', { name: 'Waiting for input' }).waitFor({ state: 'detached' });
  const detail = (await (await dash!.cluster.host('h1').api(`/flows/approve/runs/${runs.waiting}?tail=0`)).json()) as {
    payload: { nodes: Array<{ id: string; values?: Record<string, unknown>; answeredBy?: string }> };
  };
  const asked = detail.payload.nodes.find((n) => n.id === 'sign-off');
  assert.deepEqual([asked?.values?.note, asked?.answeredBy], ['from the run page', dash!.login.user]);
  assert.deepEqual(problems, []);
});
