import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { clientKey, LoginLimits, TooManyFailures } from '../../src/server/login-limits.js';
import { hashPassword } from '../../src/server/password.js';
import { ADMIN, call, type Reply } from './harness.js';
import { startLoggedHost, type LogEntry, type LoggedHost } from './logged-host.js';

const MIN = 60_000;

/** LoginLimits on a manual clock, with its warnings kept. */
function limits() {
  let t = 1_000_000;
  const warnings: LogEntry[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) warnings.push(JSON.parse(line) as LogEntry);
      done();
    },
  });
  const l = new LoginLimits({ now: () => t, log: pino({ level: 'warn', base: undefined }, sink) });
  return { l, warnings, advance: (ms: number) => (t += ms) };
}

/** Whether a login from `client` as `user` is let through; a let-through one fails or succeeds as `ok` says. */
function attempt(l: LoginLimits, client: string, user: string, ok = false): number {
  try {
    const a = l.admitLogin(client, user);
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
  assert.deepEqual([1, 2, 3, 4, 5].map(() => attempt(l, '10.0.0.1', 'ana')), [0, 0, 0, 0, 0]);
  assert.equal(attempt(l, '10.0.0.1', 'ana'), 1000, 'the 6th is refused for 1 s');
  assert.equal(attempt(l, '10.0.0.1', 'ana', true), 1000, 'so is the right password');
  advance(999);
  assert.equal(attempt(l, '10.0.0.1', 'ana'), 1);
  advance(1);
  assert.equal(attempt(l, '10.0.0.1', 'ana'), 0, 'let through once the wait is over; it fails again');
  assert.equal(attempt(l, '10.0.0.1', 'ana'), 2000);
  advance(2000);
  assert.equal(attempt(l, '10.0.0.1', 'ana', true), 0, 'the right password after the wait logs in');
  assert.deepEqual([1, 2, 3, 4, 5].map(() => attempt(l, '10.0.0.1', 'ana')), [0, 0, 0, 0, 0], 'counting started over');
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
    { level: warnings[0].level, client: warnings[0].client, user: warnings[0].user, failures: warnings[0].failures, retryAfterSec: warnings[0].retryAfterSec },
    { level: 40, client: '10.0.0.1', user: 'ana', failures: 5, retryAfterSec: 1 },
  );
  for (let i = 0; i < 10; i++) attempt(l, '10.0.0.1', 'ana');
  assert.equal(warnings.length, 1, 'refused attempts during the wait log nothing');
  advance(1000);
  attempt(l, '10.0.0.1', 'ana');
  assert.equal(warnings.length, 2);
  assert.equal(warnings[1].retryAfterSec, 2);
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
  const inFlight = Array.from({ length: 5 }, () => l.admitLogin('10.0.0.1', 'ana'));
  assert.throws(() => l.admitLogin('10.0.0.1', 'ana'), TooManyFailures);
  for (const a of inFlight) l.loginFailed(a);
});

test('bad tokens: the same one again counts once; 100 distinct ones make the client wait, for any token', () => {
  const { l, warnings, advance } = limits();
  for (let i = 0; i < 1000; i++) l.tokenFailed('10.0.0.1', 'stale-cookie');
  l.admitToken('10.0.0.1');
  for (let i = 0; i < 99; i++) l.tokenFailed('10.0.0.1', `guess-${i}`);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].client, '10.0.0.1');
  assert.ok(!JSON.stringify(warnings).includes('guess-'), 'no token in the log');
  assert.throws(() => l.admitToken('10.0.0.1'), (err: TooManyFailures) => err.code === 'too-many-requests' && err.retryAfterSec === 1);
  l.admitToken('10.0.0.2');
  advance(1000);
  l.admitToken('10.0.0.1');
});

test('100,000 made-up user names from as many clients keep memory bounded', () => {
  const { l, advance } = limits();
  for (let i = 0; i < 100_000; i++) {
    attempt(l, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `nobody-${i}-${'x'.repeat(100)}`);
    l.tokenFailed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `t${i}`);
    if (i % 1000 === 0) advance(1);
  }
  // pair, client, user, token and bad-token entries, 10,000 each at most.
  assert.ok(l.tracked() <= 50_000, `tracked ${l.tracked()}`);
});

// Over HTTP, on a host with users (scrypt hashes) and a manual clock. Each test uses its own
// client addresses (127.0.0.x; Linux routes all of 127/8 to lo) and users.

const PASSWORDS: Record<string, string> = { ana: 'ana-pw', bo: 'bo-pw', cy: 'cy-pw', dee: 'dee-pw' };
let now = 5_000_000;
let host: LoggedHost;

before(async () => {
  const users = await Promise.all(Object.entries(PASSWORDS).map(async ([u, p]) => `    - { user: ${u}, password: "${await hashPassword(p)}" }`));
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
function from(address: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<Envelope>> {
  let agent = agents.get(address);
  if (!agent) agents.set(address, (agent = new Agent({ localAddress: address, keepAlive: false })));
  return call<Envelope>(agent, `${host.api}${path}`, method, body, headers);
}

/** A websocket upgrade from local address `from` with `token`: its status, 101 when it upgraded. */
function upgrade(address: string, token: string): Promise<number> {
  const url = new URL(`${host.api}/ws`);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      localAddress: address,
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'X-Floe-Auth': token },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
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
  assert.deepEqual([sixth.status, sixth.headers['retry-after'], sixth.body], [429, '1', { message: 'too many failed logins; try again in 1 s', payload: null }]);
  const right = await login('127.0.0.11', 'ana', PASSWORDS.ana);
  assert.deepEqual([right.status, right.headers['retry-after']], [429, '1'], 'the right password is refused while waiting');
  now += 1000;
  const later = await login('127.0.0.11', 'ana', PASSWORDS.ana);
  assert.equal(later.status, 200, later.text);
  assert.equal((await login('127.0.0.11', 'ana', 'wrong-again')).status, 401, 'the success started the count over');

  const warnings = host.entries.slice(logged).filter((e) => e.level === 40);
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.equal(warnings[0].client, '127.0.0.11');
  assert.equal(warnings[0].user, 'ana');
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
  assert.equal((await from('127.0.0.31', 'GET', '/flows', undefined, { 'X-Floe-Auth': ADMIN })).status, 200, 'another client is not held back');
  assert.ok(!host.text().includes('guess-'), 'the log holds no token');
  now += 1000;
  assert.equal((await from('127.0.0.30', 'GET', '/flows', undefined, { 'X-Floe-Auth': ADMIN })).status, 200);
});

test('a flood of made-up user names from one client is refused after 20, so it cannot grow memory', async () => {
  const tracked = host.serving.limits.tracked();
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) statuses.push((await login('127.0.0.40', `made-up-${i}`, 'x')).status);
  assert.deepEqual(statuses, [...Array(20).fill(401), ...Array(20).fill(429)]);
  assert.ok(host.serving.limits.tracked() <= tracked + 2 * 20 + 1, 'refused attempts add no entries');
});

test('bad tokens at the websocket upgrade count too, and a waiting client is refused there with 429', async () => {
  for (let i = 0; i < 100; i++) assert.equal(await upgrade('127.0.0.50', `ws-guess-${i}`), 401);
  assert.equal(await upgrade('127.0.0.50', ADMIN), 429);
  assert.equal((await from('127.0.0.50', 'GET', '/flows', undefined, { 'X-Floe-Auth': ADMIN })).status, 429, 'and over HTTP');
  assert.equal(await upgrade('127.0.0.51', ADMIN), 101, 'another client is not held back');
  now += 1000;
  assert.equal(await upgrade('127.0.0.50', ADMIN), 101);
});
