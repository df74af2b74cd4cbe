import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { ADMIN, startApiHost } from './harness.js';
import { upgradeRaw, type RawReply } from './raw-http.js';

/*
 * Cross-site request forgery and websocket hijacking (security review): a page on another port
 * or a sibling subdomain is the same site to the browser, so SameSite=Strict still sends it
 * the floe-sesh cookie. Such a page can send a body without Content-Type (a Blob, no preflight)
 * and open a websocket; neither may act or read with the cookie.
 */

const h = await startApiHost(`
flows:
  - id: env
    triggers: [{ name: start, type: data }]
    tasks: [{ name: done, listen: trigger.good, type: end }]
`);
after(() => h.close());
const port = Number(new URL(h.url).port);
const SELF = `http://127.0.0.1:${port}`;
const FOREIGN = 'http://127.0.0.1:9999';
const REFUSED = /^cross-origin request refused\b/;
const PUSH = JSON.stringify({ ref: { id: 'env' } });

const login = await h.call('POST', '/login', { user: 'admin', password: ADMIN }, {});
assert.equal(login.status, 200, login.text);
const TOKEN = login.body.payload.token as string;
const COOKIE = `floe-sesh=${TOKEN}`;

/** One request with exactly these headers (node adds only Host, `127.0.0.1:<port>`, and Content-Length). */
function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${h.api}${path}`, { method, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: text === '' ? '' : String(JSON.parse(text).message) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs of flow env, pending, active and archived. */
async function runsOfEnv(): Promise<number> {
  const r = await h.call('GET', '/flows/env');
  assert.equal(r.status, 200, r.text);
  const runs = r.body.payload.runs as Record<'pending' | 'active' | 'archive', unknown[]>;
  return runs.pending.length + runs.active.length + runs.archive.length;
}

test("the reviewer's repro: a cookie push from another port with no Content-Type is refused 403 and starts no run", async () => {
  const before = await runsOfEnv();
  const r = await send('POST', '/push/data', { 'Content-Type': '', Origin: FOREIGN, Cookie: COOKIE }, PUSH);
  assert.equal(r.status, 403, r.message);
  assert.match(r.message, REFUSED);
  // The push answers only once its run is persisted, so a run it started would be listed now.
  assert.equal(await runsOfEnv(), before);
});

test('a cookie request from another port, scheme-only or subdomain origin is refused 403 for every method', async () => {
  const foreign = [FOREIGN, `http://localhost:${port}`, 'null', 'not a url', `http://127.0.0.1:${port}.evil.example`];
  for (const origin of foreign) {
    const push = await send('POST', '/push/data', { 'Content-Type': 'application/json', Origin: origin, Cookie: COOKIE }, PUSH);
    assert.equal(push.status, 403, `POST with Origin ${origin}: ${push.message}`);
    assert.match(push.message, REFUSED);
    const read = await send('GET', '/flows', { Origin: origin, Cookie: COOKIE });
    assert.equal(read.status, 403, `GET with Origin ${origin}: ${read.message}`);
    const logout = await send('POST', '/logout', { Origin: origin, Cookie: COOKIE });
    assert.equal(logout.status, 403, `logout with Origin ${origin}: ${logout.message}`);
  }
  // A sibling subdomain, on the same port.
  const sibling = await send('GET', '/flows', {
    Host: `floe.example.com:${port}`,
    Origin: `https://evil.example.com:${port}`,
    Cookie: COOKIE,
  });
  assert.equal(sibling.status, 403, sibling.message);
  assert.equal((await send('GET', '/flows', { Cookie: COOKIE })).status, 200, 'the session is still alive');
});

test('a cookie write with no Origin but Sec-Fetch-Site same-site or cross-site is refused; a GET navigation is not', async () => {
  for (const site of ['same-site', 'cross-site']) {
    const r = await send('POST', '/push/data', { 'Content-Type': 'application/json', 'Sec-Fetch-Site': site, Cookie: COOKIE }, PUSH);
    assert.equal(r.status, 403, `${site}: ${r.message}`);
    assert.match(r.message, REFUSED);
  }
  assert.equal((await send('GET', '/flows', { 'Sec-Fetch-Site': 'cross-site', Cookie: COOKIE })).status, 200);
  const own = await send(
    'POST',
    '/push/data',
    { 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'same-origin', Cookie: COOKIE },
    PUSH,
  );
  assert.equal(own.status, 200, own.message);
});

test("a cookie request from the host's own origin works, whatever the scheme or the case of the host", async () => {
  const before = await runsOfEnv();
  for (const origin of [SELF, `https://127.0.0.1:${port}`, `HTTP://127.0.0.1:${port}`]) {
    const r = await send('POST', '/push/data', { 'Content-Type': 'application/json', Origin: origin, Cookie: COOKIE }, PUSH);
    assert.equal(r.status, 200, `Origin ${origin}: ${r.message}`);
  }
  assert.equal(await runsOfEnv(), before + 3);
  const named = await send('GET', '/flows', { Host: `LocalHost:${port}`, Origin: `http://localhost:${port}`, Cookie: COOKIE });
  assert.equal(named.status, 200, named.message);
});

test('requests with no Origin (curl, scripts) keep working with the cookie', async () => {
  const r = await send('POST', '/push/data', { 'Content-Type': 'application/json', Cookie: COOKIE }, PUSH);
  assert.equal(r.status, 200, r.message);
});

test('a request with the X-Floe-Auth header works from any Origin: a foreign page cannot set it without a preflight', async () => {
  for (const token of [ADMIN, TOKEN]) {
    const r = await send(
      'POST',
      '/push/data',
      { 'Content-Type': 'application/json', Origin: FOREIGN, 'X-Floe-Auth': token, Cookie: COOKIE },
      PUSH,
    );
    assert.equal(r.status, 200, r.message);
  }
  assert.equal((await send('GET', '/flows', { Origin: FOREIGN, 'X-Floe-Auth': TOKEN })).status, 200);
});

test('a body without Content-Type is a 400 that says to send application/json, and starts no run', async () => {
  const before = await runsOfEnv();
  const r = await send('POST', '/push/data', { 'X-Floe-Auth': ADMIN }, PUSH);
  assert.equal(r.status, 400, r.message);
  assert.equal(r.message, 'body must be JSON and say so: the request has no Content-Type; send Content-Type: application/json');
  const empty = await send('POST', '/push/data', { 'X-Floe-Auth': ADMIN, 'Content-Type': '' }, PUSH);
  assert.equal(empty.status, 400, empty.message);
  assert.match(empty.message, /has no Content-Type/);
  const loginBlob = await send('POST', '/login', {}, JSON.stringify({ user: 'admin', password: ADMIN }));
  assert.equal(loginBlob.status, 400, loginBlob.message);
  assert.match(loginBlob.message, /has no Content-Type/);
  assert.equal(await runsOfEnv(), before);
});

function upgrade(path: string, headers: Record<string, string>): Promise<RawReply> {
  return upgradeRaw(port, path, headers);
}

test('a websocket upgrade by cookie with a foreign Origin is refused 403; from its own origin it opens', async () => {
  for (const path of ['/build/api/ws', '/ws']) {
    for (const origin of [FOREIGN, 'null', `http://evil.example:${port}`]) {
      const r = await upgrade(path, { Origin: origin, Cookie: COOKIE });
      assert.equal(r.status, 403, `${path} from ${origin}: ${r.text}`);
      assert.match(JSON.parse(r.text).message, REFUSED);
    }
    assert.equal((await upgrade(path, { Origin: SELF, Cookie: COOKIE })).status, 101, `${path} from its own origin`);
    assert.equal((await upgrade(path, { Origin: `https://127.0.0.1:${port}`, Cookie: COOKIE })).status, 101, `${path} behind a TLS proxy`);
    assert.equal((await upgrade(path, { Cookie: COOKIE })).status, 101, `${path} with no Origin`);
  }
});

test('a websocket upgrade by header or floe-token subprotocol opens from any Origin', async () => {
  const byHeader = await upgrade('/build/api/ws', { Origin: FOREIGN, 'X-Floe-Auth': TOKEN, Cookie: COOKIE });
  assert.equal(byHeader.status, 101, byHeader.text);
  const byProtocol = await upgrade('/build/api/ws', { Origin: FOREIGN, 'Sec-WebSocket-Protocol': `floe-token.${TOKEN}`, Cookie: COOKIE });
  assert.equal(byProtocol.status, 101, byProtocol.text);
});
