import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { clientAddress, plainAddress, TrustedProxies } from '../../src/server/client-address.js';
import { proxyEntryError, proxyEntryWarning } from '../../src/config/trusted-proxies.js';
import { clientKey } from '../../src/server/login-limits.js';
import { hashPassword } from '../../src/server/password.js';
import { call, type Reply } from './harness.js';
import { startLoggedHost, type LoggedHost } from './logged-host.js';
import { upgradeFrom } from './raw-http.js';

/** What clientAddress sees of a request. */
function req(peer: string | undefined, xff?: string | string[]) {
  const headers: Record<string, string | string[]> = {};
  if (xff !== undefined) headers['x-forwarded-for'] = xff;
  return { socket: { remoteAddress: peer }, headers } as unknown as Parameters<typeof clientAddress>[0];
}

const PROXIES = new TrustedProxies(['10.0.0.0/24', '::1', 'fd00::/8', '192.168.1.7']);

test('without trusted proxies, or from a peer that is not one, X-Forwarded-For is not read', () => {
  const none = new TrustedProxies([]);
  assert.equal(clientAddress(req('10.0.0.1', '203.0.113.9'), none), '10.0.0.1');
  assert.equal(clientAddress(req('172.16.0.1', '203.0.113.9'), PROXIES), '172.16.0.1');
  assert.equal(clientAddress(req('192.168.1.8', '203.0.113.9'), PROXIES), '192.168.1.8');
  assert.equal(clientAddress(req(undefined, '203.0.113.9'), PROXIES), undefined);
});

test('from a trusted proxy, the nearest hop that is not a trusted proxy is the client', () => {
  const rows: Array<[string | undefined, string | string[] | undefined, string | undefined, string]> = [
    ['10.0.0.1', '203.0.113.9', '203.0.113.9', 'one hop'],
    ['10.0.0.1', ' 198.51.100.1 , 203.0.113.9 ', '203.0.113.9', 'what the client wrote to the left is not read'],
    ['10.0.0.1', '203.0.113.9, 10.0.0.2, 192.168.1.7', '203.0.113.9', 'past a chain of trusted proxies'],
    ['::ffff:10.0.0.1', '203.0.113.9', '203.0.113.9', 'an IPv4-mapped peer is IPv4'],
    ['::1', '2001:db8::7', '2001:db8::7', 'IPv6'],
    ['10.0.0.1', '203.0.113.9:4711', '203.0.113.9', 'a hop with a port'],
    ['10.0.0.1', '[2001:db8::7]:443', '2001:db8::7', 'a bracketed IPv6 hop with a port'],
    ['10.0.0.1', undefined, '10.0.0.1', 'no header: the proxy itself'],
    ['10.0.0.1', '', '10.0.0.1', 'an empty header'],
    ['10.0.0.1', '203.0.113.9, proxy.local', '10.0.0.1', 'a hop that is no address stops at the last trusted one'],
    ['10.0.0.1', '203.0.113.9, unknown, 10.0.0.2', '10.0.0.2', 'and so past a trusted hop'],
    ['10.0.0.1', '10.0.0.3, 10.0.0.2', '10.0.0.3', 'only trusted hops: the farthest read'],
    ['10.0.0.1', '[10.0.0.9]:80', '10.0.0.1', 'brackets are for IPv6 only'],
  ];
  for (const [peer, xff, want, why] of rows) assert.equal(clientAddress(req(peer, xff), PROXIES), want, why);
});

test('a listed address may name any client: a machine inside a listed range picks the address it is counted as', () => {
  // Why config.md says to list the proxies alone (a review finding).
  assert.equal(clientAddress(req('10.0.0.9', '203.0.113.9'), PROXIES), '203.0.113.9');
  assert.equal(clientAddress(req('10.0.0.1', '203.0.113.9, 10.0.0.9'), PROXIES), '203.0.113.9');
});

test('an IPv6 client behind a proxy is counted by its /64; any spelling of an IPv4-mapped hop as IPv4', () => {
  assert.equal(clientKey(clientAddress(req('10.0.0.1', '2001:db8:1:2::5'), PROXIES)), '2001:db8:1:2::/64');
  assert.equal(clientKey(clientAddress(req('10.0.0.1', '2001:db8:1:2:ffff::9'), PROXIES)), '2001:db8:1:2::/64');
  for (const hop of ['::ffff:203.0.113.9', '::ffff:cb00:7109', '0:0:0:0:0:ffff:203.0.113.9', '[::ffff:cb00:7109]:80'])
    assert.equal(clientAddress(req('10.0.0.1', hop), PROXIES), '203.0.113.9', hop);
  assert.equal(clientAddress(req('::ffff:a00:1', '203.0.113.9'), PROXIES), '203.0.113.9', 'a peer in another spelling is trusted too');
});

test('at most 32 hops are read', () => {
  const trustedHops = Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 2}`);
  assert.equal(clientAddress(req('10.0.0.1', ['203.0.113.9', ...trustedHops].join(',')), PROXIES), '10.0.0.10');
});

test('plainAddress: IPv4-mapped as IPv4, anything not an address as undefined', () => {
  assert.equal(plainAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(plainAddress('::ffff:7f00:1'), '127.0.0.1');
  assert.equal(plainAddress('::ffff:0:7f00:1'), '::ffff:0:7f00:1', 'IPv4-translated, not mapped');
  assert.equal(plainAddress('2001:db8::1'), '2001:db8::1');
  assert.equal(plainAddress('localhost'), undefined);
  assert.equal(plainAddress(undefined), undefined);
});

test('entries: addresses and CIDR ranges are taken; anything else is refused, and TrustedProxies throws on it', () => {
  for (const ok of ['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '::1', 'fd00::/8', '::/0', ' 10.0.0.0/24 '])
    assert.equal(proxyEntryError(ok), undefined, ok);
  for (const bad of [
    '',
    'proxy',
    '10.0.0.0/33',
    '10.0.0.0/-1',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    'fd00::/129',
    '10.0.0.256',
    '10.0.0.0/0x8',
    'fe80::1%eth0',
    '010.0.0.1',
  ])
    assert.ok(proxyEntryError(bad), bad);
  assert.throws(() => new TrustedProxies(['10.0.0.0/33']), /trusted proxy "10.0.0.0\/33" must have a prefix length/);
});

test('warnings: a range holding every client, or with bits set past its prefix; none for a plain range or address', () => {
  const everyone = /trusts every client to name the address it is counted as/;
  for (const e of ['0.0.0.0/0', '::/0', '::ffff:0:0/96', '::/80', '::ffff:0:0/95']) assert.match(proxyEntryWarning(e) ?? '', everyone, e);
  assert.match(proxyEntryWarning('10.0.0.1/8') ?? '', /has bits set past its prefix, so it trusts all of 10\.0\.0\.0\/8/);
  assert.match(proxyEntryWarning('fd00::1/8') ?? '', /trusts all of fd00::\/8/);
  for (const e of ['10.0.0.0/8', '10.0.0.1', '10.0.0.1/32', 'fd00::/8', '::ffff:10.0.0.0/104', '::/96', '2001:db8::/32'])
    assert.equal(proxyEntryWarning(e), undefined, e);
});

test('a client behind a trusted proxy cannot pick its address: whatever it writes, the proxy-added hop wins', () => {
  const hop = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.string({ maxLength: 40 }),
    fc.constantFrom('10.0.0.2', '::1', '[::1]:80', '10.0.0.5:8080', ',', ' ', '\u0000'),
  );
  fc.assert(
    fc.property(fc.array(hop, { maxLength: 8 }), fc.ipV4(), (written, client) => {
      fc.pre(!PROXIES.has(client));
      // The proxy appends the address it got the request from.
      const got = clientAddress(req('10.0.0.1', [...written, client].join(', ')), PROXIES);
      assert.equal(got, client);
    }),
    { numRuns: 500 },
  );
});

test('whatever the header, the answer is the peer or an address, and never throws', () => {
  fc.assert(
    fc.property(fc.constantFrom('10.0.0.1', '::1', '172.16.0.1', '::ffff:10.0.0.3'), fc.string({ maxLength: 300 }), (peer, xff) => {
      const got = clientAddress(req(peer, xff), PROXIES);
      assert.ok(got === peer || (got !== undefined && isIP(got) !== 0), String(got));
      if (!PROXIES.has(plainAddress(peer)!)) assert.equal(got, peer);
    }),
    { numRuns: 1000 },
  );
});

// Over HTTP: a host behind a proxy at 127.0.0.50 (trusted); 127.0.0.51 sends the header too but
// is not trusted.

const PASSWORD = 'ana-pw';
let host: LoggedHost;
const agents = new Map<string, Agent>();

before(async () => {
  host = await startLoggedHost(`common:
  trusted-proxies: [127.0.0.50]
  users:
    - { user: ana, password: "${await hashPassword(PASSWORD)}" }
flows:
  - id: hello
    triggers: [{ name: start, type: data }]
    tasks: [{ name: done, listen: trigger.good, type: end }]
`);
});

after(async () => {
  for (const a of agents.values()) a.destroy();
  await host?.close();
});

function login(via: string, forwardedFor: string, password: string): Promise<Reply<{ message: string }>> {
  let agent = agents.get(via);
  if (!agent) agents.set(via, (agent = new Agent({ localAddress: via, keepAlive: false })));
  return call(agent, `${host.api}/login`, 'POST', { user: 'ana', password }, { 'X-Forwarded-For': forwardedFor });
}

test('behind a trusted proxy, failed logins count per forwarded client: one client waits, another logs in', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await login('127.0.0.50', '203.0.113.7', 'wrong')).status, 401);
  assert.equal((await login('127.0.0.50', '203.0.113.7', PASSWORD)).status, 429, 'the guessing client waits');
  assert.equal((await login('127.0.0.50', '203.0.113.8', PASSWORD)).status, 200, 'another client of the same proxy does not');
  assert.equal(
    (await login('127.0.0.50', '198.51.100.1, 203.0.113.7', PASSWORD)).status,
    429,
    'a hop written by the client changes nothing',
  );
  const warning = host.entries.find((e) => e.level === 40 && e.user === 'ana');
  assert.equal(warning?.client, '203.0.113.7', 'the warning names the client, not the proxy');
});

test('two X-Forwarded-For headers are read as one list, the last hop first', async () => {
  // Node joins them in order ("a, b"); the proxy's own hop is the last.
  const status = await new Promise<number>((resolve, reject) => {
    const r = request(new URL(`${host.api}/login`), {
      method: 'POST',
      localAddress: '127.0.0.50',
      agent: false,
      headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': ['203.0.113.7', '203.0.113.40'] },
    });
    r.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on('error', reject);
    r.end(JSON.stringify({ user: 'ana', password: PASSWORD }));
  });
  assert.equal(status, 200, 'counted as 203.0.113.40, not the waiting 203.0.113.7');
  assert.equal((await login('127.0.0.50', '203.0.113.40, 203.0.113.7', PASSWORD)).status, 429, 'the other way round, as 203.0.113.7');
});

test('from a peer that is not a trusted proxy, X-Forwarded-For is ignored: the peer is the client', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await login('127.0.0.51', `203.0.113.${20 + i}`, 'wrong')).status, 401);
  assert.equal((await login('127.0.0.51', '203.0.113.99', PASSWORD)).status, 429, 'a new forwarded address does not start over');
});

/** A websocket upgrade through the proxy for `forwardedFor` with `token`: its status, 101 when it upgraded. */
function upgrade(forwardedFor: string, token: string): Promise<number> {
  return upgradeFrom(`${host.api}/ws`, '127.0.0.50', { 'X-Floe-Auth': token, 'X-Forwarded-For': forwardedFor });
}

test('bad tokens at the websocket upgrade count per forwarded client too', async () => {
  for (let i = 0; i < 100; i++) assert.equal(await upgrade('203.0.113.30', `bad-token-${i}`), 401);
  assert.equal(await upgrade('203.0.113.30', 'bad-token-x'), 429, 'the guessing client waits');
  assert.equal(await upgrade('203.0.113.31', 'bad-token-y'), 401, 'another client of the proxy is answered');
});
