import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { webappFiles } from '../../src/server/webapp/files.js';
import { fuzzParams } from '../fuzz/settings.js';
import { ADMIN, call, startApiHost, type ApiHost } from './harness.js';
import { sendRaw } from './raw-http.js';

const YAML = `
common:
  base-url: /floe/api
flows:
  - id: hello
    ver: 1
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: done, type: end, listen: trigger.good }
`;

const JS = 'console.log("the dashboard");';

/** A built bundle in a temp folder, a secret file beside it, and a symlink out of it. */
async function bundleDir(): Promise<{ dir: string; outside: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'floe-webapp-test-'));
  const dir = path.join(root, 'webapp');
  await mkdir(dir);
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ js: 'app-ABC.js', css: 'app-DEF.css' }));
  await writeFile(path.join(dir, 'app-ABC.js'), JS);
  await writeFile(path.join(dir, 'app-DEF.css'), 'body{}');
  await writeFile(path.join(dir, 'app-ABC.js.map'), '{}');
  const outside = path.join(root, 'secret.js');
  await writeFile(outside, 'the secret');
  await symlink(outside, path.join(dir, 'leak.js'));
  await mkdir(path.join(dir, 'sub.js'));
  return { dir, outside, cleanup: () => rm(root, { recursive: true, force: true }) };
}

async function withHost(fn: (h: ApiHost, dir: string) => Promise<void>, opts: { built?: boolean } = {}): Promise<void> {
  const b = await bundleDir();
  const h = await startApiHost(YAML, { webapp: webappFiles(opts.built === false ? path.join(b.dir, 'none') : b.dir, true) });
  try {
    await fn(h, b.dir);
  } finally {
    await h.close();
    await b.cleanup();
  }
}

const none = {};

test('every path under /app is the page, without a session, telling it the base URL and the host, under a strict CSP', async () => {
  await withHost(async (h) => {
    for (const p of ['/app/dash', '/app/login', '/app/flows/hello/runs/h1-3?node=build', '/app/no/such/page']) {
      const r = await call(undefined, `${h.url}${p}`, 'GET', undefined, none);
      assert.equal(r.status, 200, p);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.match(r.text, /<meta name="floe-base" content="\/floe\/api">/);
      assert.match(r.text, /<meta name="floe-host" content="h1">/);
      assert.match(r.text, /<script type="module" src="\/app\/assets\/app-ABC\.js"><\/script>/);
      assert.match(r.text, /href="\/app\/assets\/app-DEF\.css"/);
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe/);
      assert.equal(r.headers['cache-control'], 'no-cache');
    }
    // The data behind it still needs a session.
    assert.equal((await call(undefined, `${h.api}/flows`, 'GET', undefined, none)).status, 401);
    const head = await call(undefined, `${h.url}/app/dash`, 'HEAD', undefined, none);
    assert.equal(head.status, 200);
    const post = await call(undefined, `${h.url}/app/dash`, 'POST', '{}', { 'Content-Type': 'application/json' });
    assert.equal(post.status, 405);
    assert.match(post.text, /not allowed on \/app\/dash/);
  });
});

test('/ and /app lead to the dashboard', async () => {
  await withHost(async (h) => {
    for (const p of ['/', '/app', '/app/']) {
      const r = await call(undefined, `${h.url}${p}`, 'GET', undefined, none);
      assert.equal(r.status, 302, p);
      assert.equal(r.headers.location, '/app/dash');
    }
  });
});

test('assets are the bundle files alone: hashed ones cached for ever; names that leave the folder, links out of it and folders are 404', async () => {
  await withHost(async (h) => {
    const js = await call(undefined, `${h.url}/app/assets/app-ABC.js`, 'GET', undefined, none);
    assert.equal(js.status, 200);
    assert.equal(js.text, JS);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.match(String(js.headers['cache-control']), /immutable/);
    assert.equal(js.headers['x-content-type-options'], 'nosniff');
    const css = await call(undefined, `${h.url}/app/assets/app-DEF.css`, 'GET', undefined, none);
    assert.match(String(css.headers['content-type']), /^text\/css/);
    for (const p of ['leak.js', 'sub.js', 'manifest.json', '..%2Fsecret.js', 'app-ABC.js%2F', '.hidden.js', 'nope.js', 'app-ABC.txt']) {
      const r = await call(undefined, `${h.url}/app/assets/${p}`, 'GET', undefined, none);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.text, /the secret/);
    }
    // Sent as is (no client normalising the dots away), a climb out of the folder is no file either.
    for (const p of ['../secret.js', '%2e%2e/secret.js', '..%2f..%2fsecret.js']) {
      const r = await sendRaw(Number(new URL(h.url).port), 'GET', `/app/assets/${p}`);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.text, /the secret/, p);
    }
  });
});

test('a host whose bundle was never built says how to build it', async () => {
  await withHost(
    async (h) => {
      const r = await call<{ message: string }>(undefined, `${h.url}/app/dash`, 'GET', undefined, none);
      assert.equal(r.status, 503);
      assert.match(r.body.message, /npm run build/);
    },
    { built: false },
  );
});

test('GET /session says who the caller is; without a session it is 401', async () => {
  await withHost(async (h) => {
    const r = await h.call<{ payload: { user: string; role: string; expires?: number } }>('GET', '/session');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.payload, { user: 'admin', role: 'admin' });
    const login = await h.call<{ payload: { token: string } }>('POST', '/login', { user: 'admin', password: ADMIN }, {});
    const s = await h.call<{ payload: { user: string; expires: number } }>('GET', '/session', undefined, {
      'X-Floe-Auth': login.body.payload.token,
    });
    assert.equal(s.body.payload.user, 'admin');
    assert.ok(s.body.payload.expires > Date.now());
    assert.equal((await h.call('GET', '/session', undefined, {})).status, 401);
  });
});

test('fuzz: no asset name serves anything but a file of the bundle, and none fails the host', async () => {
  const b = await bundleDir();
  try {
    const files = webappFiles(b.dir, true);
    const allowed = new Set(['app-ABC.js', 'app-DEF.css', 'app-ABC.js.map']);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.constantFrom('leak.js', '../secret.js', 'sub.js', '..', '.', '', 'app-ABC.js\u0000.css', 'app-ABC.js/../leak.js'),
          fc.array(fc.constantFrom('..', '.', 'leak.js', 'app-ABC.js', 'secret.js', '%2e'), { maxLength: 5 }).map((p) => p.join('/')),
        ),
        async (name) => {
          const got = await files.asset(name);
          if (got) assert.ok(allowed.has(name), `served ${JSON.stringify(name)}`);
          if (got) assert.doesNotMatch(got.body.toString(), /the secret/);
        },
      ),
      fuzzParams(300),
    );
  } finally {
    await b.cleanup();
  }
});
