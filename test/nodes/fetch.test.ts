import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { downloadName, fetchNode, resolveLocation, type FetchOpts } from '../../src/nodes/fetch.js';
import { shownUrl } from '../../src/nodes/shown-url.js';
import { fakeContext, recordingCheck, type FakeContext } from './fake-context.js';
import { firstItem } from '../items.js';

const body = 'floe release 1.0\n';
const sha256 = createHash('sha256').update(body).digest('hex');
const md5 = createHash('md5').update(body).digest('hex');

function parse(raw: Record<string, unknown>): FetchOpts {
  const check = recordingCheck();
  const opts = fetchNode.parseOpts(raw, check);
  assert.deepEqual(check.errors, [], 'opts are valid');
  return opts;
}

describe('fetch parseOpts', () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['a missing url', {}, /^url: is required/],
    ['a non-http url', { url: 'ftp://x/y' }, /^url: must be http or https/],
    ['an unknown algorithm', { url: 'http://x/y', checksum: sha256, 'checksum-algo': 'crc32' }, /^checksum-algo:/],
    ['a checksum of the wrong length', { url: 'http://x/y', checksum: md5 }, /^checksum: must be 64 hex digits for sha256/],
    ['a checksum that is not hex', { url: 'http://x/y', checksum: 'z'.repeat(64) }, /^checksum:/],
  ];
  for (const [what, raw, want] of bad) {
    test(`reports ${what}`, () => {
      const check = recordingCheck();
      fetchNode.parseOpts(raw, check);
      assert.ok(
        check.errors.some((e) => want.test(e)),
        check.errors.join('; '),
      );
    });
  }
  test('defaults to sha256 and accepts templates', () => {
    assert.deepEqual(parse({ url: 'https://x/{{v}}/a.tgz', checksum: sha256.toUpperCase() }), {
      url: 'https://x/{{v}}/a.tgz',
      checksum: sha256,
      algo: 'sha256',
      location: undefined,
    });
  });
  test('names and shows urls', () => {
    assert.equal(downloadName('https://h/a/go1.22.tar.gz?x=1'), 'go1.22.tar.gz');
    assert.equal(downloadName('https://h/'), 'download');
    assert.equal(downloadName('https://h/a%20b'), 'a b');
    assert.equal(shownUrl('https://u:secret@h/a'), 'https://u:***@h/a');
    assert.equal(shownUrl('https://ghp_token@github.com/x.git'), 'https://***@github.com/x.git');
  });
});

describe('fetch execute', () => {
  let server: Server;
  let base = '';
  const requests: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url?.startsWith('/files/')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(body);
      } else if (req.url === '/slow') {
        res.writeHead(200);
        res.write('part');
        // never ends: only an abort gets the client out
      } else {
        res.writeHead(404, 'Not Found');
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  let ctx: FakeContext;
  beforeEach(async () => {
    ctx = await fakeContext();
    requests.length = 0;
  });
  afterEach(() => ctx.cleanup());
  const run = (raw: Record<string, unknown>, signal = new AbortController().signal) => fetchNode.execute(ctx, parse(raw), signal);
  const cacheFiles = async () => (await readdir(path.join(ctx.cacheDir, 'fetch'))).sort();

  test('downloads, verifies and links into the workspace root', async () => {
    const result = await run({ url: `${base}/files/tool.tgz`, checksum: sha256 });
    assert.deepEqual(result, { status: 0 });
    assert.equal(await readFile(path.join(ctx.workspace, 'tool.tgz'), 'utf8'), body);
    assert.deepEqual(ctx.linesOf('floe').slice(0, 2), [`downloading ${base}/files/tool.tgz`, 'sha256 ok']);
    assert.equal((await cacheFiles()).length, 1);
  });

  test('a second fetch of the same file comes from the cache', async () => {
    await run({ url: `${base}/files/tool.tgz`, checksum: sha256 });
    const second = await run({ url: `${base}/files/tool.tgz`, checksum: sha256, location: 'again/' });
    assert.equal(second.status, 0);
    assert.deepEqual(requests, ['/files/tool.tgz']);
    assert.ok(ctx.linesOf('floe').includes(`cached ${base}/files/tool.tgz`));
    const linked = await stat(path.join(ctx.workspace, 'again', 'tool.tgz'));
    assert.ok(linked.nlink >= 2, 'hard linked from the cache');
  });

  test('a cached file that changed on disk is fetched again', async () => {
    await run({ url: `${base}/files/tool.tgz`, checksum: sha256 });
    await writeFile(path.join(ctx.cacheDir, 'fetch', firstItem(await cacheFiles())), 'tampered');
    const result = await run({ url: `${base}/files/tool.tgz`, checksum: sha256, location: 'x' });
    assert.equal(result.status, 0);
    assert.equal(requests.length, 2);
    assert.equal(await readFile(path.join(ctx.workspace, 'x'), 'utf8'), body);
  });

  test('a checksum mismatch fails, names both sums and caches nothing', async () => {
    const wrong = 'f'.repeat(32);
    const result = await run({ url: `${base}/files/tool.tgz`, checksum: wrong, 'checksum-algo': 'md5' });
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', new RegExp(`md5 mismatch .*expected ${wrong}, got ${md5}`));
    assert.deepEqual(await cacheFiles(), []);
    await assert.rejects(stat(path.join(ctx.workspace, 'tool.tgz')));
  });

  test('location rules: exact path, directory with /, {{ws}}, existing directory', async () => {
    await mkdir(path.join(ctx.workspace, 'existing'));
    const url = `${base}/files/tool.tgz`;
    for (const location of ['bin/renamed', 'deep/dir/', '{{ws}}/abs/t', 'existing', './dot/x']) {
      assert.equal((await run({ url, checksum: sha256, location })).status, 0, location);
    }
    for (const file of ['bin/renamed', 'deep/dir/tool.tgz', 'abs/t', 'existing/tool.tgz', 'dot/x']) {
      assert.equal(await readFile(path.join(ctx.workspace, file), 'utf8'), body, file);
    }
  });

  test('without a checksum it downloads every time and caches nothing', async () => {
    await run({ url: `${base}/files/a.txt` });
    const result = await run({ url: `${base}/files/a.txt` });
    assert.equal(result.status, 0);
    assert.equal(requests.length, 2);
    assert.ok(ctx.linesOf('floe').includes(`sha256 ${sha256} (no checksum given)`));
    assert.deepEqual(await cacheFiles(), []);
    assert.equal(await readFile(path.join(ctx.workspace, 'a.txt'), 'utf8'), body);
  });

  test('an HTTP error fails with its status code', async () => {
    const result = await run({ url: `${base}/missing.tgz`, checksum: sha256 });
    assert.equal(result.status, 1);
    assert.equal(result.reason, `GET ${base}/missing.tgz: HTTP 404 Not Found`);
    assert.deepEqual(await cacheFiles(), []);
  });

  test('an abort mid-download settles and leaves no partial file', async () => {
    const ac = new AbortController();
    const pending = run({ url: `${base}/slow`, checksum: sha256 }, ac.signal);
    while (!requests.includes('/slow')) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    const result = await pending;
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', /cancelled/);
    assert.deepEqual(await cacheFiles(), []);
  });
});

test('a location built from values must stay inside the workspace; one the config spells out may not', async () => {
  const scope = { workspace: '/ws/run', vars: { dest: '../../../home/u/.bashrc', sub: 'tools/' } };
  await assert.rejects(resolveLocation('{{dest}}', 'x.tgz', scope), /outside the workspace/);
  await assert.rejects(resolveLocation('/opt/{{dest}}', 'x.tgz', scope), /outside the workspace/);
  assert.equal(await resolveLocation('{{sub}}', 'x.tgz', scope), '/ws/run/tools/x.tgz');
  assert.equal(await resolveLocation('{{ws}}/bin/x', 'x.tgz', scope), '/ws/run/bin/x');
  assert.equal(await resolveLocation('/opt/cache/x', 'x.tgz', scope), '/opt/cache/x');
});
