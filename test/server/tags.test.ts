import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/server/password.js';
import { startApiHost } from './harness.js';

const PASSWORDS = { ana: 'ana-pw', bo: 'bo-pw' };
const h = await startApiHost(`common:
  users:
    - { user: ana, password: "${await hashPassword(PASSWORDS.ana)}", role: admin }
    - { user: bo, password: "${await hashPassword(PASSWORDS.bo)}", role: user }
flows:
  - id: hello
    triggers: [{ name: start, type: data }]
    tasks: [{ name: done, listen: trigger.good, type: end }]
`);
after(() => h.close());

const asked: Array<{ tag: string; by: string; run?: string }> = [];
// The route is under test: the hub's answer is made up here.
h.real.host.hub.releaseTag = (tag: string, by: string, run?: string) => {
  asked.push({ tag, by, run });
  return Promise.resolve({ run: run ?? 'h2-7' });
};

async function tokenOf(user: keyof typeof PASSWORDS): Promise<Record<string, string>> {
  const r = await h.call('POST', '/login', { user, password: PASSWORDS[user] }, {});
  assert.equal(r.status, 200, r.text);
  return { 'X-Floe-Auth': r.body.payload.token as string };
}

test('an admin releases a resource tag; the hub hears who did it, and for which run when given', async () => {
  const ana = await tokenOf('ana');
  asked.length = 0;
  const bare = await h.call('POST', '/tags/db/release', undefined, ana);
  assert.equal(bare.status, 200, bare.text);
  assert.deepEqual(bare.body, { message: 'released resource tag db held by run h2-7', payload: { tag: 'db', run: 'h2-7' } });
  const named = await h.call('POST', '/tags/db.eu/release', { Run: 'h1-3' }, ana);
  assert.equal(named.status, 200, named.text);
  assert.equal(named.body.payload.run, 'h1-3');
  assert.deepEqual(asked, [
    { tag: 'db', by: 'ana', run: undefined },
    { tag: 'db.eu', by: 'ana', run: 'h1-3' },
  ]);
});

test('a user of role user may not release a tag: 403, and the hub hears nothing', async () => {
  const bo = await tokenOf('bo');
  asked.length = 0;
  const r = await h.call('POST', '/tags/db/release', undefined, bo);
  assert.equal(r.status, 403, r.text);
  assert.deepEqual(r.body, { message: 'user bo has role user; only role admin may do this', payload: null });
  assert.deepEqual(asked, []);
});

test('a bad body or query is a 400 that says why', async () => {
  const ana = await tokenOf('ana');
  asked.length = 0;
  const cases: Array<[string, unknown, RegExp]> = [
    ['/tags/db/release', { run: 7 }, /^body\.run must be a non-empty string, got number 7$/],
    ['/tags/db/release', [], /^body must be a JSON object/],
    ['/tags/db/release', '{', /^malformed JSON body/],
    ['/tags/db/release?force=1', undefined, /^unknown query parameter "force"/],
  ];
  for (const [path, body, message] of cases) {
    const r = await h.call('POST', path, body, ana);
    assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.body.message, message);
  }
  assert.deepEqual(asked, []);
});
