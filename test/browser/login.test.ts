// Issue 9: logging in to the dashboard, in a real browser.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { trigger } from '../e2e/cluster-client.js';
import { logIn, openPage, pathOf } from './browser.js';
import { ALICE, startDash, type Dash } from './start-dash.js';

let dash: Dash | undefined;

before(async () => {
  dash = await startDash(
    [{ name: 'h1', tags: ['linux'] }],
    () => `
- id: hello
  triggers: [{ name: start, type: data }]
  tasks: [{ name: done, listen: trigger.good, type: end }]
`,
    { users: true },
  );
});

after(() => dash?.stop());

test('a bad password is refused on the page; the right one leads to the dashboard; logout leads back to login', async (t) => {
  const { page, problems } = await openPage(t, dash!.browser, dash!.cluster.host('h1').url);
  await page.goto('/app/login');
  await page.getByLabel('User').fill(ALICE.user);
  await page.getByLabel('Password or token').fill('not-her-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'bad user or password' }).waitFor();
  assert.equal(pathOf(page), '/app/login', 'a failed login stays on the login page');

  await page.getByLabel('Password or token').fill(ALICE.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/app/dash');
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  await page.getByText(`${ALICE.user} (admin)`).waitFor();
  // The websocket is up on the session cookie.
  await page.locator('[data-link="live"]').waitFor();

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL('**/app/login');
  // The session is gone on the host too: the dashboard sends the page back to login.
  await page.goto('/app/hosts');
  await page.waitForURL((u) => u.pathname === '/app/login');

  // With users configured, admin still logs in with the admin token.
  await page.getByLabel('User').fill('admin');
  await page.getByLabel('Password or token').fill(dash!.cluster.adminToken);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/app/hosts');
  await page.getByText('admin (admin)').waitFor();
  assert.deepEqual(problems, []);
});

test('a deep link opened while logged out goes to login and back to it; so does a session that ends while the page is open', async (t) => {
  const h1 = dash!.cluster.host('h1');
  const { page, context, problems } = await openPage(t, dash!.browser, h1.url);
  await page.goto('/app/flows/hello');
  await page.waitForURL((u) => u.pathname === '/app/login');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/app/flows/hello', 'login remembers where the page was going');
  await logIn(page, ALICE.user, ALICE.password);
  assert.equal(pathOf(page), '/app/flows/hello');
  await page.getByText(`${ALICE.user} (admin)`).waitFor();
  await page.locator('[data-link="live"]').waitFor();

  // The session ends behind the page's back (as at its expiry). The host checks the session
  // before it sends an event, so the next event of the flow closes the page's socket.
  const session = (await context.cookies()).find((c) => c.name === 'floe-sesh');
  assert.ok(session, 'the login set the session cookie');
  const out = await h1.api('/logout', { method: 'POST', headers: { 'X-Floe-Auth': session.value } });
  assert.equal(out.status, 200, await out.text());
  await trigger(h1, 'hello');
  await page.waitForURL((u) => u.pathname === '/app/login');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/app/flows/hello', 'login remembers where the page was');
  await logIn(page, ALICE.user, ALICE.password);
  assert.equal(pathOf(page), '/app/flows/hello');
  assert.deepEqual(problems, []);
});
