import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiDeps } from '../../src/server/api.js';
import { createRouter } from '../../src/server/app.js';
import { hashPassword } from '../../src/server/password.js';
import { createP2pRouter, INVALID_CLUSTER_TOKEN, MISSING_CLUSTER_TOKEN } from '../../src/server/routes/p2p.js';
import { websocketPaths } from '../../src/server/ws.js';
import { ADMIN, startApiHost } from './harness.js';
import { sendRaw, upgradeRaw, type RawReply } from './raw-http.js';

/*
 * The auth table, derived from the router itself (issue 7): every route the API registers,
 * under every identity, at every spelling of its path. A route added tomorrow is in the table
 * the day it is added, and guarded unless it is listed in PUBLIC below. The host-to-host
 * routes (outside the base URL) have their own rule: the cluster token as Bearer, and nothing
 * else; the host here serves pub and prv on one server, so it serves them.
 */

/** Routes that answer without a session, relative to base-url (or, for /_floe, to the root). Anything else must not. */
const PUBLIC = new Set(['GET /health', 'HEAD /health', 'POST /login', 'OPTIONS /_floe/p2p']);
/** Non-read routes a viewer may call. */
const ANY_ROLE = new Set(['POST /logout']);
/** Routes only role admin may call. */
const ADMIN_ONLY = new Set(['POST /tags/:tag/release']);
const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);

const PASSWORDS = { ana: 'ana-pw', bo: 'bo-pw', cy: 'cy-pw' };
const hash = await Promise.all(Object.values(PASSWORDS).map((p) => hashPassword(p)));
const h = await startApiHost(`common:
  users:
    - { user: ana, password: "${hash[0]}", role: admin }
    - { user: bo, password: "${hash[1]}" }
    - { user: cy, password: "${hash[2]}", role: viewer }
flows:
  - id: hello
    triggers: [{ name: start, type: data }]
    tasks: [{ name: done, listen: trigger.good, type: end }]
`);
after(() => h.close());
const port = Number(new URL(h.url).port);
const base = h.real.host.config.common.baseUrl.replace(/\/+$/, '');

const pushed = await h.call('POST', '/push/data', { ref: { id: 'hello' }, form: { id: 'start', values: {} } });
assert.equal(pushed.status, 200, pushed.text);
const RUN = pushed.body.payload.runs[0] as string;
await h.ended(RUN);
// The table asks who reaches the route, not what the hub makes of it: no tag is held here.
h.real.host.hub.releaseTag = () => Promise.resolve({});

/** Real values for the routes' path parameters; a new parameter name fails the table until it is given one. */
const PARAMS: Record<string, string> = { id: 'hello', runId: RUN, tag: 'db' };
/** Bodies that get past parsing; other POSTs send `{}`. */
const BODIES: Record<string, unknown> = {
  'POST /push/data': { ref: { id: 'hello' }, form: { id: 'start', values: {} } },
  'POST /_floe/p2p': { kind: 'granted', tag: 'db', run: 'nobody-1' },
};

interface Route {
  method: string;
  /** As registered, relative to base-url, e.g. /flows/:id. */
  pattern: string;
  /** The full path with parameters filled in. */
  path: string;
  websocket?: boolean;
  /** A host-to-host route: only the cluster token lets one in. */
  cluster?: boolean;
}

function fill(pattern: string): string {
  assert.match(pattern, /^[\w/:-]*$/, `route ${pattern} uses path syntax this table does not fill in`);
  return pattern.replace(/:(\w+)/g, (_, name: string) => {
    const v = PARAMS[name];
    assert.ok(v !== undefined, `route ${pattern}: give PARAMS a value for :${name}`);
    return v;
  });
}

// The very function the app builds its router with. Routes use their deps only when called;
// the table needs just their methods and paths.
const router = createRouter({} as ApiDeps, '');
const routes: Route[] = [];
for (const layer of router.stack) {
  assert.equal(typeof layer.path, 'string');
  const pattern = String(layer.path);
  // allowedMethods answers OPTIONS on every path a route has.
  for (const method of [...layer.methods, 'OPTIONS']) {
    if (!routes.some((r) => r.method === method && r.pattern === pattern)) routes.push({ method, pattern, path: base + fill(pattern) });
  }
}
// The host-to-host routes, as a listener that serves prv_bind has them; no base URL.
for (const layer of createP2pRouter({} as ApiDeps, true).stack) {
  const pattern = String(layer.path);
  for (const method of [...layer.methods, 'OPTIONS']) routes.push({ method, pattern, path: fill(pattern), cluster: method !== 'OPTIONS' });
}
for (const p of websocketPaths(base)) routes.push({ method: 'GET', pattern: p === '/ws' ? '/ws (root)' : '/ws', path: p, websocket: true });

test('the table covers the routes it knows to be public and a guarded route of each method', () => {
  const keys = new Set(routes.map((r) => `${r.method} ${r.pattern}`));
  for (const k of [...PUBLIC, ...ANY_ROLE, ...ADMIN_ONLY, 'GET /flows/:id/runs/:runId', 'POST /push/data', 'POST /_floe/p2p']) {
    assert.ok(keys.has(k), `${k} is registered`);
  }
  assert.ok(routes.length >= 25, `${routes.length} routes`);
});

interface Identity {
  name: string;
  /** A session the host accepts; else the answer must be 401 (or 404 off the base URL). */
  valid: boolean;
  /** Sends no X-Floe-Auth or cookie at all: the API's 401 says `missing session`. */
  noApiToken?: boolean;
  /** Sends an Authorization: Bearer token, the only one the host-to-host routes read. */
  bearer?: boolean;
  /** That token is the cluster token: the host-to-host routes let it in, the API does not. */
  cluster?: boolean;
  role?: 'viewer' | 'user' | 'admin';
  /** A good session cookie sent from a page of another port: every guarded route is 403. */
  crossOrigin?: boolean;
  headers(): Promise<Record<string, string>>;
}

/**
 * A logged-in user whose session is renewed when a logout in the table ended it; by the
 * X-Floe-Auth header, or by the floe-sesh cookie from a page at `origin`.
 */
function userIdentity(user: keyof typeof PASSWORDS, role: Identity['role'], cookieFrom?: string): Identity {
  let token = '';
  const crossOrigin = cookieFrom !== undefined && cookieFrom !== h.url;
  return {
    name: `${user} (${role})${cookieFrom === undefined ? '' : ` by cookie from ${cookieFrom}`}`,
    valid: true,
    role,
    crossOrigin,
    headers: async (): Promise<Record<string, string>> => {
      if (token === '' || 'error' in h.serving.auth.check(token)) {
        const r = await h.call('POST', '/login', { user, password: PASSWORDS[user] }, {});
        assert.equal(r.status, 200, r.text);
        token = r.body.payload.token as string;
      }
      return cookieFrom === undefined ? { 'X-Floe-Auth': token } : { Cookie: `floe-sesh=${token}`, Origin: cookieFrom };
    },
  };
}

const IDENTITIES: Identity[] = [
  { name: 'no token', valid: false, noApiToken: true, headers: async () => ({}) },
  { name: 'a wrong token', valid: false, headers: async () => ({ 'X-Floe-Auth': 'not-a-token' }) },
  { name: 'a cookie that does not decode', valid: false, headers: async () => ({ Cookie: 'floe-sesh=%' }) },
  userIdentity('cy', 'viewer'),
  userIdentity('bo', 'user'),
  userIdentity('ana', 'admin'),
  userIdentity('ana', 'admin', h.url),
  // Another port of the same host is the same site: SameSite=Strict sends it the cookie.
  userIdentity('ana', 'admin', `http://127.0.0.1:${port === 9999 ? 9998 : 9999}`),
  { name: 'the admin token', valid: true, role: 'admin', headers: async () => ({ 'X-Floe-Auth': ADMIN }) },
  // The host has no -cluster_token, so the admin token is the cluster token: as Bearer, it is that.
  {
    name: 'the cluster token',
    valid: false,
    noApiToken: true,
    bearer: true,
    cluster: true,
    headers: async () => ({ Authorization: `Bearer ${ADMIN}` }),
  },
  {
    name: 'a wrong cluster token',
    valid: false,
    noApiToken: true,
    bearer: true,
    headers: async () => ({ Authorization: 'Bearer not-it' }),
  },
];

/** Other spellings of `path`; the first is the path as written. */
function variants(path: string): Array<{ name: string; path: string }> {
  const inBase = path.startsWith(`${base}/`);
  const head = inBase ? base : '';
  const rest = path.slice(head.length); // starts with '/'
  const letter = rest.search(/[a-z]/i);
  const pct = (c: string): string => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
  const alternating = [...path].map((c, i) => (i % 2 ? c.toLowerCase() : c.toUpperCase())).join('');
  const all = [
    { name: 'as written', path },
    { name: 'upper case', path: path.toUpperCase() },
    { name: 'mixed case', path: alternating },
    { name: 'base url in upper case', path: head.toUpperCase() + rest },
    { name: 'route in title case', path: head + rest.slice(0, letter) + rest.charAt(letter).toUpperCase() + rest.slice(letter + 1) },
    { name: 'trailing slash', path: `${path}/` },
    { name: 'a letter percent-encoded', path: head + rest.slice(0, letter) + pct(rest.charAt(letter)) + rest.slice(letter + 1) },
    { name: 'a letter of the base url percent-encoded', path: inBase ? `/${pct(base.charAt(1))}${path.slice(2)}` : path },
    { name: 'a slash percent-encoded', path: inBase ? `${head}%2F${rest.slice(1)}` : path },
    { name: 'double slash after the base url', path: `${head}/${rest}` },
    { name: 'leading double slash', path: `/${path}` },
    { name: 'a dot-dot segment', path: `${head}/x/..${rest}` },
    { name: 'a dot segment', path: `${head}/.${rest}` },
  ];
  return all.filter((v, i) => i === 0 || all.findIndex((w) => w.path === v.path) === i);
}

const isUnderBase = (p: string): boolean => p.toLowerCase().startsWith(`${base.toLowerCase()}/`);
const is2xx = (s: number): boolean => s >= 200 && s < 300;

async function send(route: Route, path: string, id: Identity): Promise<RawReply> {
  const headers = await id.headers();
  if (route.websocket) return upgradeRaw(port, path, headers);
  const key = `${route.method} ${route.pattern}`;
  const body = route.method === 'POST' ? JSON.stringify(BODIES[key] ?? {}) : undefined;
  return sendRaw(port, route.method, path, headers, body);
}

for (const route of routes) {
  const key = `${route.method} ${route.pattern}`;
  const isPublic = PUBLIC.has(key);
  const viewerMay = READ_ONLY.has(route.method) || ANY_ROLE.has(key);
  const adminOnly = ADMIN_ONLY.has(key);
  const rule = isPublic
    ? 'public'
    : route.cluster
      ? 'needs the cluster token'
      : `needs a session${adminOnly ? ' of role admin' : viewerMay ? '' : ', not for viewers'}`;
  test(`${key}: ${rule}, in every spelling of its path, never 5xx`, async () => {
    for (const id of IDENTITIES) {
      const [canonical, ...others] = variants(route.path);
      assert.ok(canonical, `${route.path} has a spelling as written`);
      const first = await send(route, canonical.path, id);
      const where = `${id.name}: ${route.method} ${canonical.path} -> ${first.status} ${first.text.slice(0, 200)}`;
      assert.ok(first.status < 500, where);
      if (route.cluster) {
        if (id.cluster) assert.ok(first.status !== 401 && first.status !== 403 && first.status !== 404, where);
        else {
          // No session, cookie or X-Floe-Auth counts here: only a Bearer token is read.
          assert.equal(first.status, 401, where);
          const message = id.bearer ? INVALID_CLUSTER_TOKEN : MISSING_CLUSTER_TOKEN;
          assert.deepEqual(JSON.parse(first.text), { message, payload: null }, where);
        }
      } else if (!id.valid && !isPublic) {
        assert.equal(first.status, 401, where);
        if (route.method !== 'HEAD') {
          assert.deepEqual(
            JSON.parse(first.text),
            { message: id.noApiToken ? 'missing session' : 'invalid session', payload: null },
            where,
          );
        }
      } else if (id.crossOrigin && !isPublic) {
        assert.equal(first.status, 403, where);
        if (route.method !== 'HEAD') assert.match(JSON.parse(first.text).message, /^cross-origin request refused\b/, where);
      } else if (id.role === 'viewer' && !viewerMay && !isPublic) {
        assert.equal(first.status, 403, where);
      } else if (adminOnly && id.role !== 'admin') {
        assert.equal(first.status, 403, where);
      } else {
        assert.ok(first.status !== 401 && first.status !== 403 && first.status !== 404, where);
      }
      if (route.websocket && id.valid && !id.crossOrigin) assert.equal(first.status, 101, where);

      for (const v of others) {
        const r = await send(route, v.path, id);
        const at = `${id.name}: ${route.method} ${v.path} (${v.name}) -> ${r.status} ${r.text.slice(0, 200)}; as written ${first.status}`;
        assert.ok(r.status < 500, at);
        if (r.status === first.status) continue;
        assert.ok(!is2xx(r.status) && r.status !== 101, at);
        // Any other answer means the router (or the websocket) does not take this spelling:
        // without a session that is the same 401 as any probe under the base url, and from a
        // foreign page the same 403.
        if (id.crossOrigin) assert.equal(r.status, isUnderBase(v.path) ? 403 : 404, at);
        else if (id.valid) assert.equal(r.status, 404, at);
        else assert.equal(r.status, isUnderBase(v.path) ? 401 : 404, at);
      }
    }
  });
}

test('the host still answers after the table', async () => {
  assert.equal((await h.call('GET', '/health', undefined, {})).status, 200);
});
