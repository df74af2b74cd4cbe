import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import type { PeerReply, PeerRequest } from '../../src/cluster/messages.js';
import { createLogger } from '../../src/host/logger.js';
import { P2P_BODY_LIMIT } from '../../src/server/routes/p2p.js';
import { serveHost, type Serving } from '../../src/server/serve.js';
import { startRealHost, type RealHost } from '../e2e/harness.js';
import { ADMIN, call, type Reply } from './harness.js';

const CLUSTER = 'the-cluster-token-0123456789';
const FLOWS = `flows:
  - id: hello
    triggers: [{ name: start, type: data }]
    tasks: [{ name: done, listen: trigger.good, type: end }]
`;
const GRANTED: PeerRequest = { kind: 'granted', tag: 'db', run: 'h2-1' };

const real: RealHost = await startRealHost(FLOWS);
const heard: PeerRequest[] = [];
// The route is under test, not the hub: this one answers every request with what it heard.
real.host.hub.receivePeer = (req: PeerRequest): Promise<PeerReply> => {
  heard.push(req);
  return Promise.resolve({ kind: 'error', message: `heard ${req.kind}` });
};
const log = createLogger({ level: 'silent', pretty: false });
const agent = new Agent({ keepAlive: false });

/** One server for pub and prv, with its own cluster token. */
const shared = await serveHost({
  host: real.host,
  hostName: 'h1',
  tags: [],
  adminToken: ADMIN,
  clusterToken: CLUSTER,
  pub: { bind: '127.0.0.1:0' },
  log,
});
/** Two servers: pub and prv differ. */
const split = await serveHost({
  host: real.host,
  hostName: 'h1',
  tags: [],
  adminToken: ADMIN,
  clusterToken: CLUSTER,
  pub: { bind: '127.0.0.1:0' },
  prv: { bind: '127.0.0.1:0' },
  log,
});
/** No -cluster_token: the admin token is the cluster token. */
const byAdmin = await serveHost({ host: real.host, hostName: 'h1', tags: [], adminToken: ADMIN, pub: { bind: '127.0.0.1:0' }, log });
after(async () => {
  for (const s of [shared, split, byAdmin]) await s.close();
  await real.close();
});

function p2p(s: Serving | string, body: unknown, headers: Record<string, string>): Promise<Reply<{ message?: string; kind?: string }>> {
  const base = typeof s === 'string' ? s : s.pubUrl;
  return call(agent, `${base}/_floe/p2p`, 'POST', body, headers);
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

test('the cluster token in Authorization: Bearer reaches the hub, whose reply is the body', async () => {
  heard.length = 0;
  const r = await p2p(shared, GRANTED, bearer(CLUSTER));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { kind: 'error', message: 'heard granted' });
  assert.deepEqual(heard, [GRANTED]);
});

test('anything but the cluster token as Bearer is 401, and the hub hears nothing', async () => {
  heard.length = 0;
  const login = await call<{ payload: { token: string } }>(agent, `${shared.pubUrl}/build/api/login`, 'POST', {
    user: 'admin',
    password: ADMIN,
  });
  assert.equal(login.status, 200, login.text);
  const session = login.body.payload.token;
  const cases: Array<[string, Record<string, string>, string]> = [
    ['no token', {}, 'missing cluster token'],
    ['a wrong token', bearer('not-it'), 'invalid cluster token'],
    ['the cluster token with one character more', bearer(`${CLUSTER}x`), 'invalid cluster token'],
    ['the cluster token in another scheme', { Authorization: `Basic ${CLUSTER}` }, 'invalid cluster token'],
    ['a session cookie', { Cookie: `floe-sesh=${session}` }, 'missing cluster token'],
    ['a session as X-Floe-Auth', { 'X-Floe-Auth': session }, 'missing cluster token'],
    ['a session as Bearer', bearer(session), 'invalid cluster token'],
    ['the admin token as X-Floe-Auth', { 'X-Floe-Auth': ADMIN }, 'missing cluster token'],
    ['the cluster token as X-Floe-Auth', { 'X-Floe-Auth': CLUSTER }, 'missing cluster token'],
    ['the admin token as Bearer, when the cluster token is another', bearer(ADMIN), 'invalid cluster token'],
  ];
  for (const [name, headers, message] of cases) {
    const r = await p2p(shared, GRANTED, headers);
    assert.equal(r.status, 401, `${name}: ${r.text}`);
    assert.deepEqual(r.body, { message, payload: null }, name);
  }
  assert.deepEqual(heard, []);
});

test('without -cluster_token the admin token is the cluster token, as Bearer only', async () => {
  heard.length = 0;
  assert.equal((await p2p(byAdmin, GRANTED, bearer(ADMIN))).status, 200);
  assert.equal((await p2p(byAdmin, GRANTED, { 'X-Floe-Auth': ADMIN })).status, 401);
  assert.equal((await p2p(byAdmin, GRANTED, bearer(CLUSTER))).status, 401);
  assert.deepEqual(heard, [GRANTED]);
});

test('a body that is no peer request is a 400 that says why, and the hub hears nothing', async () => {
  heard.length = 0;
  const auth = bearer(CLUSTER);
  const cases: Array<[string, unknown, Record<string, string>, RegExp]> = [
    ['not JSON', '{"kind":', auth, /^malformed JSON body/],
    ['no Content-Type', JSON.stringify(GRANTED), { ...auth, 'Content-Type': '' }, /has no Content-Type/],
    ['not an object', [1, 2], auth, /^bad peer request: request must be a JSON object$/],
    ['an unknown kind', { kind: 'gossip' }, auth, /^bad peer request: unknown kind "gossip"$/],
    [
      'a field missing',
      { kind: 'offer', from: 'http://127.0.0.1:8090', flow: { id: 'hello', ver: 1 } },
      auth,
      /^bad peer request: run must be a string$/,
    ],
    ['a bad hello', { kind: 'hello', hello: { name: 'h2' } }, auth, /^bad peer request: hello\.url must be a string$/],
    ['an empty body', '', auth, /body is empty/],
  ];
  for (const [name, body, headers, message] of cases) {
    const r = await p2p(shared, body, headers);
    assert.equal(r.status, 400, `${name}: ${r.text}`);
    assert.match(String(r.body.message), message, name);
  }
  const big = await p2p(shared, { kind: 'take', pad: 'x'.repeat(P2P_BODY_LIMIT) }, auth);
  assert.equal(big.status, 413, big.text);
  assert.deepEqual(heard, []);
});

test('with prv_bind apart from pub_bind, only the private server serves the route', async () => {
  heard.length = 0;
  const [pubUrl, prvUrl] = split.urls;
  assert.ok(pubUrl !== undefined && prvUrl !== undefined && pubUrl === split.pubUrl && prvUrl !== pubUrl, split.urls.join(' '));
  for (const headers of [bearer(CLUSTER), {}]) {
    const r = await p2p(pubUrl, GRANTED, headers);
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(r.body, { message: 'no route POST /_floe/p2p', payload: null });
    const get: Reply = await call(agent, `${pubUrl}/_floe/p2p`, 'GET', undefined, headers);
    assert.equal(get.status, 404, `not even a 405 on the public server: ${get.text}`);
  }
  const onPrv = await p2p(prvUrl, GRANTED, bearer(CLUSTER));
  assert.equal(onPrv.status, 200, onPrv.text);
  assert.deepEqual(heard, [GRANTED]);
  assert.equal((await call(agent, `${prvUrl}/_floe/p2p`, 'GET', undefined, bearer(CLUSTER))).status, 405, 'POST only');
  const api = await call(agent, `${prvUrl}/build/api/health`, 'GET');
  assert.equal(api.status, 200, 'the private server serves the API too');
});

test('bad cluster tokens count against the client as bad API tokens do; then even the right one waits', async (t) => {
  const fresh = await serveHost({ host: real.host, hostName: 'h1', tags: [], adminToken: ADMIN, pub: { bind: '127.0.0.1:0' }, log });
  t.after(() => fresh.close());
  // The 100th distinct bad token from one client starts a wait; the same one again counts once.
  for (let i = 0; i < 99; i++) assert.equal((await p2p(fresh, GRANTED, bearer(`guess-${i}`))).status, 401);
  assert.equal((await p2p(fresh, GRANTED, bearer('guess-0'))).status, 401);
  assert.equal((await p2p(fresh, GRANTED, bearer(ADMIN))).status, 200, 'not waiting yet');
  const r = await p2p(fresh, GRANTED, bearer('guess-99'));
  assert.equal(r.status, 401, 'the failure that uses up the free ones is still answered');
  const waiting = await p2p(fresh, GRANTED, bearer(ADMIN));
  assert.equal(waiting.status, 429, waiting.text);
  assert.match(String(waiting.body.message), /too many bad tokens/);
  assert.ok(Number(waiting.headers['retry-after']) >= 1);
});
