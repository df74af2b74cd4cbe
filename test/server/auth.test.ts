import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Auth } from '../../src/server/auth.js';
import { hashPassword } from '../../src/server/password.js';
import { ADMIN, startApiHost, type ApiHost, type Reply } from './harness.js';
import { sendRaw } from './raw-http.js';
import { firstItem, itemAt } from '../items.js';

type Envelope = { message: string; payload: any };

/** Every route that needs a session; `x` and `h1-1` need not exist: only "not 401" is asked of them. */
const GUARDED: [string, string, unknown?][] = [
  ['GET', '/flows'],
  ['GET', '/flows/x'],
  ['GET', '/flows/x/runs/h1-1'],
  ['POST', '/push/data', { ref: { id: 'x', ver: 1 }, form: { id: 'start', values: {} } }],
  ['POST', '/flows/x/runs/h1-1/cancel'],
  ['POST', '/flows/x/runs/h1-1/rerun'],
  ['GET', '/hosts'],
  ['GET', '/metrics'],
  ['POST', '/logout'],
];
const WRITES = GUARDED.filter(([m, p]) => m === 'POST' && p !== '/logout');
const READS = GUARDED.filter(([m]) => m === 'GET');

// Not x: the table's routes must not start, cancel or rerun real runs.
const FLOW = `
flows:
  - id: hello
    triggers: [{ name: start, type: data }]
    tasks: [{ name: done, listen: trigger.good, type: end }]
`;

const PASSWORDS = { ana: 'ana-pw', bo: 'bo-pw', cy: 'cy-pw' };
const TTL_MS = 1000;

/** Fake time of the users host; tests move it forward. */
let now = 1_000_000;
let users: ApiHost;
let noUsers: ApiHost;

before(async () => {
  const hash = await Promise.all(Object.values(PASSWORDS).map((p) => hashPassword(p)));
  users = await startApiHost(
    `common:
  users:
    - { user: ana, password: "${hash[0]}", role: admin }
    - { user: bo, password: "${hash[1]}" }
    - { user: cy, password: "${hash[2]}", role: viewer }
${FLOW}`,
    { now: () => now, sessionTtlMs: TTL_MS },
  );
  noUsers = await startApiHost(FLOW);
});

after(async () => {
  await users?.close();
  await noUsers?.close();
});

function token(h: string): Record<string, string> {
  return { 'X-Floe-Auth': h };
}

async function login(h: ApiHost, user: string, password: string): Promise<Reply<Envelope>> {
  return h.call<Envelope>('POST', '/login', { user, password }, {});
}

/** Logs in and returns the session token. */
async function tokenOf(user: keyof typeof PASSWORDS): Promise<string> {
  const r = await login(users, user, PASSWORDS[user]);
  assert.equal(r.status, 200, r.text);
  return r.body.payload.token as string;
}

function cookieOf(r: Reply): string {
  const set = r.headers['set-cookie'];
  assert.ok(Array.isArray(set) && set.length === 1, `one Set-Cookie, got ${String(set)}`);
  return firstItem(set);
}

test('every guarded route answers 401 "missing session" without a token', async () => {
  for (const [method, path, body] of GUARDED) {
    const r = await users.call(method, path, body, {});
    assert.equal(r.status, 401, `${method} ${path}`);
    assert.deepEqual(r.body, { message: 'missing session', payload: null }, `${method} ${path}`);
  }
});

test('every guarded route answers 401 "invalid session" for an unknown token, by header or cookie', async () => {
  for (const [method, path, body] of GUARDED) {
    for (const headers of [token('not-a-token'), { Cookie: 'floe-sesh=not-a-token' }]) {
      const r = await users.call(method, path, body, headers);
      assert.equal(r.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
      assert.deepEqual(r.body, { message: 'invalid session', payload: null }, `${method} ${path}`);
    }
  }
});

test('a floe-sesh cookie that does not URL-decode is an invalid session (401), not a 500', async () => {
  for (const cookie of ['floe-sesh=%', 'floe-sesh=%zz', 'theme=dark; floe-sesh=a%E0%A4%A']) {
    for (const [method, path, body] of GUARDED) {
      const r = await users.call(method, path, body, { Cookie: cookie });
      assert.deepEqual([r.status, r.body], [401, { message: 'invalid session', payload: null }], `${method} ${path} ${cookie}`);
    }
  }
  assert.equal((await users.call('GET', '/health', undefined, { Cookie: 'floe-sesh=%' })).status, 200, 'a public route ignores it');
});

test('paths are case-sensitive and taken as sent: another casing, encoding or dot segment of a guarded route is 401 without a session, 404 with one', async () => {
  const variants = [
    '/BUILD/API/flows',
    '/Build/api/flows',
    '/build/api/Flows',
    '/build/api/%66lows',
    '/build/api/x/../flows',
    '/build/api//flows',
    '/BUILD/API/health',
    '/build/api/HEALTH',
    '/BUILD/API/login',
  ];
  const port = Number(new URL(users.url).port);
  for (const path of variants) {
    for (const method of ['GET', 'HEAD', 'POST', 'OPTIONS']) {
      const anon = await sendRaw(port, method, path);
      assert.equal(anon.status, 401, `${method} ${path} without a session: ${anon.text}`);
      const admin = await sendRaw(port, method, path, token(ADMIN));
      assert.equal(admin.status, 404, `${method} ${path} as admin: ${admin.text}`);
    }
  }
  // The base url's own spellings are outside the API: nothing there, for anyone.
  for (const path of ['/build//api/flows', '//build/api/flows', '/%62uild/api/flows', '/build/api%2Fflows']) {
    assert.equal((await sendRaw(port, 'GET', path)).status, 404, path);
  }
  assert.equal((await sendRaw(port, 'GET', '/build/api/flows/')).status, 401, 'a trailing slash is the same route');
  assert.equal((await sendRaw(port, 'GET', '/build/api/flows/', token(ADMIN))).status, 200);
});

test('every guarded route lets the admin token through as X-Floe-Auth, also with users configured', async () => {
  for (const h of [users, noUsers]) {
    for (const [method, path, body] of GUARDED) {
      const r = await h.call(method, path, body, token(ADMIN));
      assert.notEqual(r.status, 401, `${method} ${path}: ${r.text}`);
      assert.notEqual(r.status, 403, `${method} ${path}: ${r.text}`);
    }
  }
});

test('an admin token that is a prefix or extension of the real one is an invalid session', async () => {
  for (const t of [ADMIN.slice(0, -1), `${ADMIN}x`, ADMIN.toUpperCase()]) {
    const r = await users.call('GET', '/hosts', undefined, token(t));
    assert.deepEqual([r.status, r.body], [401, { message: 'invalid session', payload: null }], t);
  }
});

test('health and login need no session', async () => {
  const health = await users.call('GET', '/health', undefined, {});
  assert.equal(health.status, 200);
  assert.equal((await users.call('HEAD', '/health', undefined, {})).status, 200, 'HEAD like GET');
  assert.equal((await users.call('GET', '/health/', undefined, {})).status, 200, 'a trailing slash like none');
  const bad = await login(users, 'ana', 'wrong');
  assert.equal(bad.status, 401);
  assert.notEqual(bad.body.message, 'missing session');
});

test('a good login answers {user, role, token} and sets an HttpOnly SameSite=Strict floe-sesh cookie (not Secure over http)', async () => {
  const r = await login(users, 'bo', PASSWORDS.bo);
  assert.equal(r.status, 200, r.text);
  const { user, role, token: t } = r.body.payload as { user: string; role: string; token: string };
  assert.deepEqual({ user, role }, { user: 'bo', role: 'user' });
  assert.match(t, /^[A-Za-z0-9_-]{32}$/);
  const cookie = cookieOf(r);
  assert.ok(cookie.startsWith(`floe-sesh=${t};`), cookie);
  assert.match(cookie, /;\s*httponly/i);
  assert.match(cookie, /;\s*samesite=strict/i);
  assert.match(cookie, /;\s*path=\//i);
  assert.doesNotMatch(cookie, /;\s*secure/i);
  const expires = /expires=([^;]+)/i.exec(cookie)?.[1];
  assert.ok(expires !== undefined, cookie);
  assert.equal(new Date(expires).getTime(), Math.floor((now + TTL_MS) / 1000) * 1000);
});

test('each login makes a new session with the role of its user', async () => {
  const roles: Record<string, string> = {};
  const tokens = new Set<string>();
  for (const u of ['ana', 'bo', 'cy', 'bo'] as const) {
    const r = await login(users, u, PASSWORDS[u]);
    roles[u] = r.body.payload.role;
    tokens.add(r.body.payload.token);
  }
  assert.deepEqual(roles, { ana: 'admin', bo: 'user', cy: 'viewer' });
  assert.equal(tokens.size, 4);
});

test('a bad password and an unknown user both answer 401 with the same message and no cookie', async () => {
  const wrong = await login(users, 'ana', 'bo-pw');
  const unknown = await login(users, 'zed', 'ana-pw');
  const caseDiffers = await login(users, 'Ana', 'ana-pw');
  for (const r of [wrong, unknown, caseDiffers]) {
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { message: 'bad user or password', payload: null });
    assert.equal(r.headers['set-cookie'], undefined);
  }
});

test('with users configured, admin still logs in with the admin token, and only with it', async () => {
  const ok = await login(users, 'admin', ADMIN);
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual({ user: ok.body.payload.user, role: ok.body.payload.role }, { user: 'admin', role: 'admin' });
  assert.notEqual(ok.body.payload.token, ADMIN, 'a session has its own token');
  for (const [user, password] of [
    ['admin', 'wrong'],
    ['admin', `${ADMIN} `],
    ['ana', ADMIN],
    ['Admin', ADMIN],
  ] as const) {
    assert.equal((await login(users, user, password)).status, 401, `${user}/${password}`);
  }
});

test('with no users configured, admin logs in with the admin token as password, and nobody else does', async () => {
  const ok = await login(noUsers, 'admin', ADMIN);
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual({ user: ok.body.payload.user, role: ok.body.payload.role }, { user: 'admin', role: 'admin' });
  assert.notEqual(ok.body.payload.token, ADMIN, 'a session has its own token');
  assert.equal((await noUsers.call('GET', '/hosts', undefined, token(ok.body.payload.token))).status, 200);
  for (const [user, password] of [
    ['admin', 'wrong'],
    ['admin', `${ADMIN} `],
    ['root', ADMIN],
    ['ana', 'ana-pw'],
  ] as const) {
    assert.equal((await login(noUsers, user, password)).status, 401, `${user}/${password}`);
  }
});

test('login bodies that are not {user, password} strings answer 400 without quoting the password', async () => {
  const bodies: unknown[] = [
    { user: 'ana' },
    { password: 'ana-pw' },
    { user: 'ana', password: 987654321 },
    { user: 'ana', password: '' },
    { user: 'ana', password: ['hunter2'] },
    [],
  ];
  for (const body of bodies) {
    const r = await users.call<Envelope>('POST', '/login', body, {});
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.ok(!r.text.includes('987654321') && !r.text.includes('hunter2'), r.text);
  }
  // Sent chunked, without a declared length: the host reads past the limit before answering.
  const big = await users.call<Envelope>('POST', '/login', { user: 'ana', password: 'x'.repeat(20_000) }, {});
  assert.equal(big.status, 413, 'a login body is small; scrypt is not fed megabytes');
  assert.match(big.body.message, /over the limit of 16384/);
});

test('the session cookie alone authenticates', async () => {
  const r = await login(users, 'bo', PASSWORDS.bo);
  const cookie = firstItem(cookieOf(r).split(';'));
  const hosts = await users.call('GET', '/hosts', undefined, { Cookie: `theme=dark; ${cookie}; other=1` });
  assert.equal(hosts.status, 200, hosts.text);
  for (const [method, path, body] of GUARDED) {
    const res = await users.call(method, path, body, { Cookie: cookie });
    assert.notEqual(res.status, 401, `${method} ${path}`);
  }
});

test('a session token works as X-Floe-Auth on every guarded route', async () => {
  for (const [method, path, body] of GUARDED) {
    const t = await tokenOf('bo'); // fresh each time: /logout is in the table
    const res = await users.call(method, path, body, token(t));
    assert.notEqual(res.status, 401, `${method} ${path}`);
    assert.notEqual(res.status, 403, `${method} ${path}`);
  }
});

test('logout ends the session: its token then answers 401 invalid session; other sessions live on', async () => {
  const t = await tokenOf('bo');
  const other = await tokenOf('bo');
  const out = await users.call('POST', '/logout', undefined, token(t));
  assert.equal(out.status, 200, out.text);
  assert.match(cookieOf(out), /^floe-sesh=;.*expires=Thu, 01 Jan 1970/i, 'the cookie is cleared');
  for (const headers of [token(t), { Cookie: `floe-sesh=${t}` }]) {
    const r = await users.call('GET', '/hosts', undefined, headers);
    assert.deepEqual([r.status, r.body], [401, { message: 'invalid session', payload: null }]);
  }
  const again = await users.call('POST', '/logout', undefined, token(t));
  assert.deepEqual([again.status, again.body], [401, { message: 'invalid session', payload: null }]);
  assert.equal((await users.call('GET', '/hosts', undefined, token(other))).status, 200);
});

test('logout by cookie ends the session too', async () => {
  const t = await tokenOf('ana');
  assert.equal((await users.call('POST', '/logout', undefined, { Cookie: `floe-sesh=${t}` })).status, 200);
  assert.equal((await users.call('GET', '/hosts', undefined, token(t))).status, 401);
});

test('a session expires after sessionTtlMs of the injected clock', async () => {
  const t = await tokenOf('bo');
  const start = now;
  try {
    now = start + TTL_MS - 1;
    assert.equal((await users.call('GET', '/hosts', undefined, token(t))).status, 200);
    now = start + TTL_MS;
    const r = await users.call('GET', '/hosts', undefined, token(t));
    assert.deepEqual([r.status, r.body], [401, { message: 'invalid session', payload: null }]);
    now = start; // an expired session stays ended even if the clock were to go back
    assert.equal((await users.call('GET', '/hosts', undefined, token(t))).status, 401);
    now = start + 10 * TTL_MS;
    assert.equal((await users.call('GET', '/hosts', undefined, token(ADMIN))).status, 200, 'the admin token does not expire');
  } finally {
    now = start + 10 * TTL_MS;
  }
});

test('a viewer may read (200) but every write answers 403; logout is allowed', async () => {
  const t = await tokenOf('cy');
  for (const [method, path] of READS) {
    const r = await users.call(method, path, undefined, token(t));
    assert.notEqual(r.status, 401, `${method} ${path}`);
    assert.notEqual(r.status, 403, `${method} ${path}`);
  }
  for (const path of ['/flows', '/hosts', '/metrics']) {
    assert.equal((await users.call('GET', path, undefined, token(t))).status, 200, path);
  }
  for (const [method, path, body] of WRITES) {
    const r = await users.call<Envelope>(method, path, body, token(t));
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.match(r.body.message, /role viewer, which may only read/);
    assert.equal(r.body.payload, null);
  }
  assert.equal((await users.call('POST', '/logout', undefined, token(t))).status, 200);
});

test('roles user and admin may write', async () => {
  for (const u of ['bo', 'ana'] as const) {
    const t = await tokenOf(u);
    for (const [method, path, body] of WRITES) {
      const r = await users.call(method, path, body, token(t));
      assert.ok(r.status !== 401 && r.status !== 403, `${u}: ${method} ${path}: ${r.status}`);
    }
  }
});

// Unit tests of Auth itself: sessions in memory, bounded.

function adminOnly(opts: { maxSessions?: number; maxSessionsPerUser?: number; now?: () => number } = {}): Auth {
  return new Auth({ adminToken: 'tok', sessionTtlMs: 1000, now: opts.now ?? (() => 0), ...opts });
}

test('sessions are capped overall: past maxSessions the oldest is dropped', async () => {
  const auth = adminOnly({ maxSessions: 3 });
  const s = [];
  for (let i = 0; i < 5; i++) s.push((await auth.login('admin', 'tok'))!);
  assert.equal(auth.sessionCount(), 3);
  assert.deepEqual(
    s.map((x) => 'session' in auth.check(x.token)),
    [false, false, true, true, true],
  );
});

test("sessions are capped per user, so one user flooding logins does not end others' sessions", async () => {
  const hash = await hashPassword('pw');
  const auth = new Auth({
    adminToken: 'tok',
    users: [
      { user: 'a', password: hash, role: 'user' },
      { user: 'b', password: hash, role: 'viewer' },
    ],
    sessionTtlMs: 1000,
    now: () => 0,
    maxSessions: 10,
    maxSessionsPerUser: 2,
  });
  const b = (await auth.login('b', 'pw'))!;
  const a = [];
  for (let i = 0; i < 4; i++) a.push((await auth.login('a', 'pw'))!);
  assert.equal(auth.sessionCount(), 3);
  assert.deepEqual(
    a.map((x) => 'session' in auth.check(x.token)),
    [false, false, true, true],
  );
  assert.deepEqual(auth.check(b.token), { session: b });
  assert.equal(b.role, 'viewer');
});

test('the default cap keeps at most 1000 sessions whatever the number of logins', async () => {
  const auth = adminOnly();
  for (let i = 0; i < 1500; i++) await auth.login('admin', 'tok');
  assert.ok(auth.sessionCount() <= 1000, String(auth.sessionCount()));
});

test('expired sessions are purged when new ones are made', async () => {
  let t = 0;
  const auth = adminOnly({ now: () => t });
  for (let i = 0; i < 50; i++) await auth.login('admin', 'tok');
  assert.equal(auth.sessionCount(), 50);
  t = 1000;
  const fresh = (await auth.login('admin', 'tok'))!;
  assert.equal(auth.sessionCount(), 1);
  assert.ok('session' in auth.check(fresh.token));
});

test('check: no token is missing, an unknown one invalid, the admin token admin; logout is false for an unknown token', () => {
  const auth = adminOnly();
  assert.deepEqual(auth.check(undefined), { error: 'missing session' });
  assert.deepEqual(auth.check(''), { error: 'missing session' });
  assert.deepEqual(auth.check('nope'), { error: 'invalid session' });
  const admin = auth.check('tok');
  assert.ok('session' in admin && admin.session.role === 'admin' && admin.session.user === 'admin');
  assert.equal(auth.logout('nope'), false);
});

test('a mark from check holds only while its session does: any logout, eviction or expiry since makes unchangedSince false when check would refuse', async () => {
  // What a websocket relies on to skip the lookup before each event (server/ws.ts).
  type Op = { login: true } | { logout: number } | { advance: number } | { check: number };
  const op = fc.oneof(
    fc.constant<Op>({ login: true }),
    fc.nat(9).map<Op>((i) => ({ logout: i })),
    fc.integer({ min: 1, max: 700 }).map<Op>((ms) => ({ advance: ms })),
    fc.nat(9).map<Op>((i) => ({ check: i })),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(op, { maxLength: 40 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      async (ops, maxSessions, maxSessionsPerUser) => {
        let t = 0;
        // Either cap may be the one that evicts.
        const auth = adminOnly({ now: () => t, maxSessions, maxSessionsPerUser });
        const tokens: string[] = ['tok'];
        const marks = new Map<string, { at: number; expires: number }>();
        for (const o of ops) {
          if ('login' in o) tokens.push((await auth.login('admin', 'tok'))!.token);
          else if ('logout' in o) auth.logout(tokens[o.logout % tokens.length]!);
          else if ('advance' in o) t += o.advance;
          else {
            const token = tokens[o.check % tokens.length]!;
            const checked = auth.check(token);
            if ('session' in checked) marks.set(token, { at: auth.revision, expires: checked.session.expires });
          }
          for (const [token, m] of marks) {
            if (auth.unchangedSince(m.at, m.expires))
              assert.ok('session' in auth.check(token), `${token} was marked live but check refuses it`);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("a mark lapses at its session's expiry and at any session's end, and the admin token's only at an end", async () => {
  let t = 0;
  const auth = adminOnly({ now: () => t });
  const s = (await auth.login('admin', 'tok'))!;
  const other = (await auth.login('admin', 'tok'))!;
  const at = auth.revision;
  assert.equal(auth.unchangedSince(at, s.expires), true);
  assert.equal(auth.unchangedSince(at, Number.POSITIVE_INFINITY), true);
  t = s.expires;
  assert.equal(auth.unchangedSince(at, s.expires), false);
  assert.equal(auth.unchangedSince(at, Number.POSITIVE_INFINITY), true);
  auth.logout(other.token);
  assert.equal(auth.unchangedSince(at, Number.POSITIVE_INFINITY), false);
});

test('a malformed hash given to Auth directly is refused at construction, without quoting it', () => {
  assert.throws(
    () => new Auth({ adminToken: 'tok', users: [{ user: 'a', password: 'hunter2', role: 'user' }], sessionTtlMs: 1, now: () => 0 }),
    (err: Error) => /user a: password: not a hash/.test(err.message) && !err.message.includes('hunter2'),
  );
});

test('a login for an unknown user does the same scrypt work as for a known one', async () => {
  // A coarse check against a regression to an early return (about 1000x faster than scrypt);
  // the real timing is in what runs, not in this number.
  const auth = new Auth({
    adminToken: 'tok',
    users: [{ user: 'a', password: await hashPassword('pw'), role: 'user' }],
    sessionTtlMs: 1000,
    now: () => 0,
  });
  const median = async (user: string): Promise<number> => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      assert.equal(await auth.login(user, 'wrong'), undefined);
      times.push(Number(process.hrtime.bigint() - t0));
    }
    return itemAt(
      times.sort((x, y) => x - y),
      2,
    );
  };
  const known = await median('a');
  const unknown = await median('nobody');
  assert.ok(unknown > known / 4, `unknown user ${unknown / 1e6} ms vs known ${known / 1e6} ms`);
});
