import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AuthCheck } from '../../src/server/auth.js';
import { clientKey, DEFAULT_LOGIN_LIMITS, LoginLimits, TooManyFailures } from '../../src/server/login-limits.js';
import { hashPassword } from '../../src/server/password.js';
import { ADMIN, call, type Reply } from './harness.js';
import { startLoggedHost, type LogEntry, type LoggedHost } from './logged-host.js';
import { upgradeFrom } from './raw-http.js';
import { itemAt } from '../items.js';

const MIN = 60_000;

/** LoginLimits on a manual clock, with its warnings kept. */
function limits(policies = DEFAULT_LOGIN_LIMITS) {
  let t = 1_000_000;
  const warnings: LogEntry[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) warnings.push(JSON.parse(line) as LogEntry);
      done();
    },
  });
  const l = new LoginLimits({ now: () => t, log: pino({ level: 'warn', base: undefined }, sink) }, policies);
  return { l, warnings, advance: (ms: number) => (t += ms) };
}

/**
 * Whether a login from `client` as `user` is let through (0) or how long it must wait; a
 * let-through one fails or succeeds as `ok` says. `isUser`: whether `user` is a configured name.
 */
function attempt(l: LoginLimits, client: string, user: string, ok = false, isUser = true): number {
  try {
    const a = l.admitLogin(client, user, { isUser });
    if (ok) l.loginSucceeded(a);
    else l.loginFailed(a);
    return 0;
  } catch (err) {
    assert.ok(err instanceof TooManyFailures, String(err));
    return err.retryAfterMs;
  }
}

test('clientKey: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64, nothing as ?', () => {
  const rows: Array<[string | undefined, string]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff::9', '2001:db8:1:2::/64'],
    ['2001:0db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, '?'],
  ];
  for (const [address, key] of rows) assert.equal(clientKey(address), key, String(address));
});

test('one client and one user: 5 failures are answered, then waits of 1 s, 2 s, 4 s; a success starts over', () => {
  const { l, advance } = limits();
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => attempt(l, '10.0.0.1', 'ana')),
    [0, 0, 0, 0, 0],
  );
  assert.equal(attempt(l, '10.0.0.1', 'ana'), 1000, 'the 6th is refused for 1 s');
  assert.equal(attempt(l, '10.0.0.1', 'ana', true), 1000, 'so is the right password');
  advance(999);
  assert.equal(attempt(l, '10.0.0.1', 'ana'), 1);
  advance(1);
  assert.equal(attempt(l, '10.0.0.1', 'ana'), 0, 'let through once the wait is over; it fails again');
  assert.equal(attempt(l, '10.0.0.1', 'ana'), 2000);
  advance(2000);
  assert.equal(attempt(l, '10.0.0.1', 'ana', true), 0, 'the right password after the wait logs in');
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => attempt(l, '10.0.0.1', 'ana')),
    [0, 0, 0, 0, 0],
    'counting started over',
  );
});

test('a client waiting on one user may still try other users, and other clients that user', () => {
  const { l } = limits();
  for (let i = 0; i < 5; i++) attempt(l, '10.0.0.1', 'ana');
  assert.ok(attempt(l, '10.0.0.1', 'ana') > 0);
  assert.equal(attempt(l, '10.0.0.1', 'bo', true), 0);
  assert.equal(attempt(l, '10.0.0.2', 'ana', true), 0);
});

test('one client spraying many user names waits after 20 failures in all', () => {
  const { l } = limits();
  const waits = Array.from({ length: 21 }, (_, i) => attempt(l, '10.0.0.1', `user${i}`));
  assert.deepEqual(waits.slice(0, 20), Array(20).fill(0));
  assert.equal(waits[20], 1000);
  assert.equal(attempt(l, '10.0.0.2', 'user0'), 0, 'another client is not held back');
});

test('many clients guessing one user: after 20 failures new clients wait, clients that logged in as that user before do not', () => {
  const { l, advance } = limits();
  assert.equal(attempt(l, '10.9.9.9', 'admin', true), 0, 'the admin logs in from their usual address');
  for (let i = 0; i < 20; i++) assert.equal(attempt(l, `10.0.1.${i}`, 'admin'), 0, `client ${i}`);
  assert.equal(attempt(l, '10.0.2.1', 'admin', true), 1000, 'a new client waits, even with the right password');
  assert.equal(attempt(l, '10.0.2.1', 'bo', true), 0, 'other users are not held back');
  assert.equal(attempt(l, '10.9.9.9', 'admin', true), 0, 'the admin still logs in from where they did before');
  advance(1000);
  assert.equal(attempt(l, '10.0.2.1', 'admin', true), 0, 'the admin success started the user count over');
});

test('a warning when a wait starts, one per wait, naming client and user', () => {
  const { l, warnings, advance } = limits();
  for (let i = 0; i < 5; i++) attempt(l, '10.0.0.1', 'ana');
  assert.equal(warnings.length, 1);
  assert.deepEqual(
    {
      level: warnings[0]?.level,
      client: warnings[0]?.client,
      user: warnings[0]?.user,
      failures: warnings[0]?.failures,
      retryAfterSec: warnings[0]?.retryAfterSec,
    },
    { level: 40, client: '10.0.0.1', user: 'ana', failures: 5, retryAfterSec: 1 },
  );
  for (let i = 0; i < 10; i++) attempt(l, '10.0.0.1', 'ana');
  assert.equal(warnings.length, 1, 'refused attempts during the wait log nothing');
  advance(1000);
  attempt(l, '10.0.0.1', 'ana');
  assert.equal(warnings.length, 2);
  assert.equal(warnings[1]?.retryAfterSec, 2);
});

test('a success as the 5th attempt logs no warning and leaves no wait', () => {
  const { l, warnings } = limits();
  for (let i = 0; i < 4; i++) attempt(l, '10.0.0.1', 'ana');
  assert.equal(attempt(l, '10.0.0.1', 'ana', true), 0);
  assert.equal(warnings.length, 0);
  assert.equal(attempt(l, '10.0.0.1', 'ana'), 0);
});

test('parallel logins cannot slip under the limit: an attempt counts from admission until it succeeds', () => {
  const { l } = limits();
  // Five admitted and still checking their passwords; the sixth is refused before any has failed.
  const inFlight = Array.from({ length: 5 }, () => l.admitLogin('10.0.0.1', 'ana', { isUser: true }));
  assert.throws(() => l.admitLogin('10.0.0.1', 'ana', { isUser: true }), TooManyFailures);
  for (const a of inFlight) l.loginFailed(a);
});

test('behind one shared address, a user who logged in from it before still logs in while made-up names keep it waiting', () => {
  const { l, advance } = limits();
  assert.equal(attempt(l, '127.0.0.1', 'alice', true), 0, 'alice logs in once through the proxy');
  // The reviewer's lockout: 20 made-up names, then one more each time the address may, until it waits 15 min.
  for (let failed = 0, i = 0; failed < 40; i++) {
    const wait = attempt(l, '127.0.0.1', `made-up-${i}`, false, false);
    if (wait === 0) failed++;
    else advance(wait);
  }
  assert.equal(attempt(l, '127.0.0.1', 'bo', true), 15 * MIN, 'the address waits to log in as a user it never logged in as');
  assert.equal(attempt(l, '127.0.0.1', 'alice', true), 0, 'alice logs in from where she did before');
  assert.equal(attempt(l, '127.0.0.1', 'bo', true), 15 * MIN, 'her login did not end the wait of the address');
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map(() => attempt(l, '127.0.0.1', 'alice')),
    [0, 0, 0, 0, 0, 1000],
    'guesses at alice from there are still held to the per-(client, user) limit',
  );
});

test('made-up user names, however many, do not push a user out of the per-user limit', () => {
  const { l } = limits();
  for (let i = 0; i < 20; i++) assert.equal(attempt(l, `10.1.0.${i}`, 'alice'), 0);
  assert.equal(attempt(l, '10.1.1.1', 'alice', true), 1000, 'alice waits');
  for (let i = 0; i < 10_000; i++) attempt(l, `10.2.${i >> 8}.${i & 255}`, `junk${i}`, false, false);
  assert.equal(attempt(l, '10.1.1.1', 'alice', true), 1000, 'alice still waits: her count was kept');
});

test('the per-user limit keeps every configured user, whatever its maxKeys', () => {
  const { l } = limits({ ...DEFAULT_LOGIN_LIMITS, user: { ...DEFAULT_LOGIN_LIMITS.user, maxKeys: 2 } });
  for (let i = 0; i < 20; i++) assert.equal(attempt(l, `10.1.0.${i}`, 'alice'), 0);
  for (const user of ['bo', 'cy', 'dee']) assert.equal(attempt(l, '10.1.2.1', user), 0);
  assert.equal(attempt(l, '10.1.1.1', 'alice', true), 1000, 'alice still waits');
});

const BAD: AuthCheck = { error: 'invalid session' };
/** What Auth.check answers for the admin token: a session that never expires. */
const ADMIN_TOKEN: AuthCheck = { session: { user: 'admin', role: 'admin', token: 'the-admin-token', expires: Number.POSITIVE_INFINITY } };
const LIVE_SESSION: AuthCheck = { session: { user: 'ana', role: 'user', token: 'a-login-session', expires: 9_000_000 } };

test('bad tokens: the same one again counts once; 100 distinct ones make the client wait, for the admin token too', () => {
  const { l, warnings, advance } = limits();
  for (let i = 0; i < 1000; i++) assert.equal(l.tokenRefusal('10.0.0.1', 'stale-cookie', BAD), undefined);
  for (let i = 0; i < 99; i++) assert.equal(l.tokenRefusal('10.0.0.1', `guess-${i}`, BAD), undefined);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.client, '10.0.0.1');
  assert.ok(!JSON.stringify(warnings).includes('guess-'), 'no token in the log');
  const refused = (err: TooManyFailures) => err.code === 'too-many-requests' && err.retryAfterSec === 1;
  assert.throws(() => l.admitToken('10.0.0.1', 'the-admin-token', ADMIN_TOKEN), refused);
  assert.throws(() => l.admitToken('10.0.0.1', 'guess-100', BAD), refused);
  assert.throws(() => l.admitToken('10.0.0.1', null, BAD), refused, 'nor a cookie that does not decode');
  l.admitToken('10.0.0.2', 'the-admin-token', ADMIN_TOKEN);
  advance(1000);
  l.admitToken('10.0.0.1', 'the-admin-token', ADMIN_TOKEN);
});

test('bad tokens: a client that waits is still served with a live login session, and without any token', () => {
  const { l } = limits();
  for (let i = 0; i < 100; i++) l.tokenRefusal('10.0.0.1', `guess-${i}`, BAD);
  assert.ok(l.tokenRefusal('10.0.0.1', 'the-admin-token', ADMIN_TOKEN) instanceof TooManyFailures, 'the client waits');
  assert.equal(l.tokenRefusal('10.0.0.1', 'a-login-session', LIVE_SESSION), undefined, 'a session of 192 random bits is no guess');
  assert.equal(l.tokenRefusal('10.0.0.1', undefined, { error: 'missing session' }), undefined, 'no token is no guess');
});

test('many addresses failing as one user hold back a fresh address 30 s at most; each address still waits up to 15 min', () => {
  const { l, advance } = limits();
  const attackers = ['10.0.3.30', '10.0.3.31', '10.0.3.32', '10.0.3.33'];
  let longest = 0;
  let letThrough = false;
  // Two hours of attackers trying as ana from each address as soon as it may, stopped just
  // after a failure, when the per-user wait it starts is at its longest.
  for (let s = 0; s < 2 * 3600 || !letThrough; s++) {
    letThrough = false;
    for (const a of attackers) {
      const wait = attempt(l, a, 'ana');
      longest = Math.max(longest, wait);
      letThrough ||= wait === 0;
    }
    if (!letThrough) advance(1000);
  }
  assert.equal(longest, 15 * MIN, 'the per-(client, user) limit still reaches 15 min');
  const wait = attempt(l, '10.0.3.40', 'ana', true);
  assert.equal(wait, 30_000, 'a fresh address waits out the per-user limit, 30 s');
  advance(wait);
  assert.equal(attempt(l, '10.0.3.40', 'ana', true), 0, 'then logs in');
});

test('the per-client limit still reaches 15 min', () => {
  const { l, advance } = limits();
  let longest = 0;
  // 40 failures as as many users, each sent as soon as the client may.
  for (let i = 0; i < 40; i++) {
    for (let wait = attempt(l, '10.0.0.1', `user${i}`); wait > 0; wait = attempt(l, '10.0.0.1', `user${i}`)) {
      longest = Math.max(longest, wait);
      advance(wait);
    }
  }
  assert.equal(longest, 15 * MIN);
});

test('logging in as oneself does not reset the per-client count: spraying other users still waits after 20 failures', () => {
  const { l } = limits();
  for (let i = 0; i < 19; i++) assert.equal(attempt(l, '10.0.0.1', `victim${i}`), 0);
  assert.equal(attempt(l, '10.0.0.1', 'me', true), 0, 'the sprayer logs in with their own account');
  assert.equal(attempt(l, '10.0.0.1', 'victim19'), 0, 'the 20th failure is answered, and starts the wait');
  assert.equal(attempt(l, '10.0.0.1', 'victim20'), 1000);
});

test('logins that succeed do not count against their client: after 100 of them, 20 failures are still free', () => {
  const { l } = limits();
  for (let i = 0; i < 100; i++) assert.equal(attempt(l, '10.0.0.1', `user${i % 7}`, true), 0);
  for (let i = 0; i < 20; i++) assert.equal(attempt(l, '10.0.0.1', `other${i}`), 0);
  assert.equal(attempt(l, '10.0.0.1', 'other20'), 1000);
});

test('the warning names a configured user as is; any other name as unknown user and a tag, the same for the same name', () => {
  const { l, warnings } = limits();
  const fail5 = (client: string, user: string, isUser: boolean) => {
    for (let i = 0; i < 5; i++) attempt(l, client, user, false, isUser);
  };
  fail5('10.0.0.1', 'ana', true);
  fail5('10.0.0.2', 'hunter2-typed-as-user', false);
  fail5('10.0.0.3', 'hunter2-typed-as-user', false);
  fail5('10.0.0.4', 'another-password', false);
  const users = warnings.map((w) => w.user);
  assert.equal(users.length, 4);
  assert.equal(users[0], 'ana');
  for (const u of users.slice(1)) assert.match(String(u), /^unknown user #[0-9a-f]{8}$/);
  assert.equal(users[1], users[2], 'repeated attempts on one name can be told apart from others');
  assert.notEqual(users[1], users[3]);
  assert.match(itemAt(warnings, 1).msg, /as unknown user #[0-9a-f]{8}:/);
  assert.ok(
    !JSON.stringify(warnings).includes('hunter2') && !JSON.stringify(warnings).includes('another-password'),
    'never the name as typed',
  );
});

test('100,000 made-up user names from as many clients keep memory bounded', () => {
  const { l, advance } = limits();
  for (let i = 0; i < 100_000; i++) {
    attempt(l, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `nobody-${i}-${'x'.repeat(100)}`, false, false);
    l.tokenRefusal(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `t${i}`, BAD);
    if (i % 1000 === 0) advance(1);
  }
  // pair, client, user, token and bad-token entries, 10,000 each at most.
  assert.ok(l.tracked() <= 50_000, `tracked ${l.tracked()}`);
});

// Over HTTP, on a host with users (scrypt hashes) and a manual clock. Each test uses its own
// client addresses (127.0.0.x; Linux routes all of 127/8 to lo) and users.

const PASSWORDS = { ana: 'ana-pw', bo: 'bo-pw', cy: 'cy-pw', dee: 'dee-pw', eve: 'eve-pw', fay: 'fay-pw', gus: 'gus-pw' };
let now = 5_000_000;
let host: LoggedHost;

before(async () => {
  const users = await Promise.all(
    Object.entries(PASSWORDS).map(async ([u, p]) => `    - { user: ${u}, password: "${await hashPassword(p)}" }`),
  );
  host = await startLoggedHost(
    `common:
  users:
${users.join('\n')}
flows:
  - id: hello
    triggers: [{ name: start, type: data }]
    tasks: [{ name: done, listen: trigger.good, type: end }]
`,
    { now: () => now },
  );
});

after(async () => {
  await host?.close();
});

const agents = new Map<string, Agent>();
after(() => {
  for (const a of agents.values()) a.destroy();
});

type Envelope = { message: string; payload: unknown };

/** A request from local address `from`. */
function from(
  address: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply<Envelope>> {
  let agent = agents.get(address);
  if (!agent) agents.set(address, (agent = new Agent({ localAddress: address, keepAlive: false })));
  return call<Envelope>(agent, `${host.api}${path}`, method, body, headers);
}

/** A websocket upgrade from local address `address` with `token`: its status, 101 when it upgraded. */
function upgrade(address: string, token: string): Promise<number> {
  return upgradeFrom(`${host.api}/ws`, address, { 'X-Floe-Auth': token });
}

function login(address: string, user: string, password: string): Promise<Reply<Envelope>> {
  return from(address, 'POST', '/login', { user, password });
}

test('the 6th wrong password from one client is answered 429 with Retry-After; so is the right one, until the wait is over', async () => {
  const logged = host.entries.length;
  for (let i = 1; i <= 5; i++) {
    const r = await login('127.0.0.11', 'ana', `wrong-${i}`);
    assert.equal(r.status, 401, `attempt ${i}: ${r.text}`);
  }
  const sixth = await login('127.0.0.11', 'ana', 'wrong-6');
  assert.deepEqual(
    [sixth.status, sixth.headers['retry-after'], sixth.body],
    [429, '1', { message: 'too many failed logins; try again in 1 s', payload: null }],
  );
  const right = await login('127.0.0.11', 'ana', PASSWORDS.ana);
  assert.deepEqual([right.status, right.headers['retry-after']], [429, '1'], 'the right password is refused while waiting');
  now += 1000;
  const later = await login('127.0.0.11', 'ana', PASSWORDS.ana);
  assert.equal(later.status, 200, later.text);
  assert.equal((await login('127.0.0.11', 'ana', 'wrong-again')).status, 401, 'the success started the count over');

  const warnings = host.entries.slice(logged).filter((e) => e.level === 40);
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.equal(warnings[0]?.client, '127.0.0.11');
  assert.equal(warnings[0]?.user, 'ana');
  for (const secret of ['wrong-', PASSWORDS.ana]) assert.ok(!host.text().includes(secret), `the log holds no password (${secret})`);
});

test('a client locked out of one user is not locked out of others, and other clients are not locked out of that user', async () => {
  for (let i = 0; i < 6; i++) await login('127.0.0.12', 'bo', 'nope');
  assert.equal((await login('127.0.0.12', 'bo', PASSWORDS.bo)).status, 429);
  assert.equal((await login('127.0.0.12', 'cy', PASSWORDS.cy)).status, 200, 'same client, other user');
  assert.equal((await login('127.0.0.13', 'bo', PASSWORDS.bo)).status, 200, 'other client, same user');
});

test('many clients failing as one user: the 21st new client waits; a client that logged in as that user before does not', async () => {
  assert.equal((await login('127.0.0.20', 'dee', PASSWORDS.dee)).status, 200);
  for (let i = 0; i < 20; i++) assert.equal((await login(`127.0.1.${i}`, 'dee', 'guess')).status, 401);
  const fresh = await login('127.0.2.1', 'dee', PASSWORDS.dee);
  assert.deepEqual([fresh.status, fresh.headers['retry-after']], [429, '1']);
  assert.equal((await login('127.0.0.20', 'dee', PASSWORDS.dee)).status, 200, 'the known client logs in');
});

test('bad tokens: a stale one repeated is not throttled; after 100 distinct ones the client gets 429 with Retry-After, even with the admin token', async () => {
  const stale = { 'X-Floe-Auth': 'stale-session' };
  for (let i = 0; i < 150; i++) assert.equal((await from('127.0.0.30', 'GET', '/flows', undefined, stale)).status, 401);
  for (let i = 1; i < 100; i++) {
    const r = await from('127.0.0.30', 'GET', '/flows', undefined, { Cookie: `floe-sesh=guess-${i}` });
    assert.equal(r.status, 401, `guess ${i}`);
  }
  const admin = await from('127.0.0.30', 'GET', '/flows', undefined, { 'X-Floe-Auth': ADMIN });
  assert.deepEqual([admin.status, admin.headers['retry-after'], admin.body.message], [429, '1', 'too many bad tokens; try again in 1 s']);
  assert.equal(
    (await from('127.0.0.31', 'GET', '/flows', undefined, { 'X-Floe-Auth': ADMIN })).status,
    200,
    'another client is not held back',
  );
  assert.ok(!host.text().includes('guess-'), 'the log holds no token');
  now += 1000;
  assert.equal((await from('127.0.0.30', 'GET', '/flows', undefined, { 'X-Floe-Auth': ADMIN })).status, 200);
});

test('a flood of made-up user names from one client counts as one user: refused after 5, and it cannot grow memory', async () => {
  const tracked = host.serving.limits.tracked();
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) statuses.push((await login('127.0.0.40', `made-up-${i}`, 'x')).status);
  assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(35).fill(429)]);
  assert.ok(host.serving.limits.tracked() <= tracked + 3, 'one pair, one client and one user entry at most');
});

test('bad tokens at the websocket upgrade count too, and a waiting client is refused there with 429', async () => {
  for (let i = 0; i < 100; i++) assert.equal(await upgrade('127.0.0.50', `ws-guess-${i}`), 401);
  assert.equal(await upgrade('127.0.0.50', ADMIN), 429);
  assert.equal((await from('127.0.0.50', 'GET', '/flows', undefined, { 'X-Floe-Auth': ADMIN })).status, 429, 'and over HTTP');
  assert.equal(await upgrade('127.0.0.51', ADMIN), 101, 'another client is not held back');
  now += 1000;
  assert.equal(await upgrade('127.0.0.50', ADMIN), 101);
});

test('four addresses failing as one user keep a fresh address from logging in as that user for 30 s at most', async () => {
  const attackers = ['127.0.3.30', '127.0.3.31', '127.0.3.32', '127.0.3.33'];
  // The reviewer's lockout: each address sends wrong passwords for eve as soon as it may, 30 in all.
  for (let failed = 0; failed < 30;) {
    const waits: number[] = [];
    for (const a of attackers) {
      const r = await login(a, 'eve', 'guess');
      if (r.status === 401) failed++;
      else waits.push(Number(r.headers['retry-after']));
    }
    if (waits.length === attackers.length) now += Math.min(...waits) * 1000;
  }
  const fresh = await login('127.0.3.40', 'eve', PASSWORDS.eve);
  assert.deepEqual([fresh.status, fresh.headers['retry-after']], [429, '30'], 'a fresh address waits out the per-user limit');
  now += 30_000;
  assert.equal((await login('127.0.3.40', 'eve', PASSWORDS.eve)).status, 200, fresh.text);
});

test('after 101 bad tokens from an address, its live sessions, /health and login are still served; the admin token and unknown tokens wait', async () => {
  const session = await login('127.0.4.1', 'cy', PASSWORDS.cy);
  assert.equal(session.status, 200, session.text);
  const token = (session.body.payload as { token: string }).token;
  const statuses: number[] = [];
  for (let i = 0; i < 101; i++) statuses.push((await from('127.0.4.1', 'GET', '/flows', undefined, { 'X-Floe-Auth': `bad-${i}` })).status);
  assert.deepEqual(statuses, [...Array(100).fill(401), 429]);

  assert.equal((await from('127.0.4.1', 'GET', '/flows', undefined, { 'X-Floe-Auth': token })).status, 200, 'a live session is served');
  assert.equal(await upgrade('127.0.4.1', token), 101, 'and upgraded to the websocket');
  const stale = { Cookie: 'floe-sesh=stale-after-restart' };
  assert.equal((await from('127.0.4.1', 'GET', '/health', undefined, stale)).status, 200, '/health ignores a stale cookie');
  assert.equal((await from('127.0.4.1', 'GET', '/health', undefined, { 'X-Floe-Auth': 'stale' })).status, 200, 'and a stale header');
  const relogin = await from('127.0.4.1', 'POST', '/login', { user: 'cy', password: PASSWORDS.cy }, stale);
  assert.equal(relogin.status, 200, `login with a stale cookie: ${relogin.text}`);

  const admin = await from('127.0.4.1', 'GET', '/flows', undefined, { 'X-Floe-Auth': ADMIN });
  assert.deepEqual([admin.status, admin.headers['retry-after']], [429, '1'], 'the admin token waits: it may be short');
  assert.equal((await from('127.0.4.1', 'GET', '/flows', undefined, { 'X-Floe-Auth': 'bad-101' })).status, 429, 'so does an unknown token');
  assert.equal(await upgrade('127.0.4.1', ADMIN), 429, 'at the websocket upgrade too');
});

test('a failed login with a stale cookie attached counts no bad token', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await from('127.0.4.4', 'POST', '/login', { user: 'gus', password: 'wrong' }, { Cookie: `floe-sesh=stale-${i}` });
    assert.equal(r.status, 401, r.text);
  }
  // 99 more distinct bad tokens where a token is needed: still within the 100 free ones.
  const statuses: number[] = [];
  for (let i = 0; i < 99; i++) statuses.push((await from('127.0.4.4', 'GET', '/flows', undefined, { 'X-Floe-Auth': `bad-${i}` })).status);
  assert.deepEqual(statuses, Array(99).fill(401));
});

test('logging in as oneself between guesses does not reset the per-client limit', async () => {
  // Configured users, at most 4 guesses each: made-up names would meet the per-pair limit.
  const victims = ['ana', 'bo', 'cy', 'dee', 'eve', 'gus'] as const;
  const victim = (i: number) => itemAt(victims, i % victims.length);
  for (let i = 0; i < 19; i++) assert.equal((await login('127.0.4.2', victim(i), 'guess')).status, 401, `guess ${i}`);
  assert.equal((await login('127.0.4.2', 'fay', PASSWORDS.fay)).status, 200, 'the attacker logs in with their own account');
  assert.equal((await login('127.0.4.2', victim(19), 'guess')).status, 401);
  const refused = await login('127.0.4.2', victim(20), 'guess');
  assert.deepEqual([refused.status, refused.headers['retry-after']], [429, '1']);
});

test('a password typed as the user name never reaches the log; the warning says unknown user and a tag', async () => {
  const logged = host.entries.length;
  for (let i = 0; i < 5; i++) assert.equal((await login('127.0.4.3', 'Tr0ub4dor&3-typed-as-user', 'x')).status, 401);
  const warnings = host.entries.slice(logged).filter((e) => e.level === 40);
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.match(String(warnings[0]?.user), /^unknown user #[0-9a-f]{8}$/);
  assert.ok(!host.text().includes('Tr0ub4dor'), 'the name as typed is nowhere in the log');
});

test('guesses at the admin token through /login are named admin in the warning, not an unknown user, also with users configured', async () => {
  const logged = host.entries.length;
  for (let i = 0; i < 5; i++) assert.equal((await login('127.0.4.4', 'admin', `not-the-token-${i}`)).status, 401);
  const warnings = host.entries.slice(logged).filter((e) => e.level === 40);
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.equal(warnings[0]?.user, 'admin');
});
