import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startRealHost, tempDir } from './harness.js';
import { firstItem } from '../items.js';

const data = `triggers: [{ name: start, type: data, opts: { form: { title: Go, fields: [{ id: ref, prompt: Ref, type: text, value: main }] } } }]`;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();
}

test('git-checkout clones a local repository over file:// at a branch, a tag and a hash', async (t) => {
  const repo = await tempDir('floe-repo-');
  t.after(() => rm(repo, { recursive: true, force: true }));
  git(repo, 'init', '-q');
  await writeFile(path.join(repo, 'VERSION'), 'one\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-qm', 'one');
  const first = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'tag', 'v1');
  await writeFile(path.join(repo, 'VERSION'), 'two\n');
  git(repo, 'commit', '-qam', 'two');
  git(repo, 'checkout', '-qb', 'feature');
  await writeFile(path.join(repo, 'VERSION'), 'feature\n');
  git(repo, 'commit', '-qam', 'feature');
  git(repo, 'checkout', '-q', 'main');

  const h = await startRealHost(`
flows:
  - id: checkout
    ${data}
    tasks:
      - { name: co, listen: trigger.good, type: git-checkout, opts: { url: 'file://${repo}', ref: '{{ref}}', sub-dir: src } }
      - { name: show, listen: task.co.good, type: exec, opts: { cmd: cat VERSION, sub-dir: src } }
      - { name: done, listen: task.show.good, type: end }
`);
  t.after(() => h.close());
  for (const [ref, want] of [
    ['main', 'two'],
    ['v1', 'one'],
    ['feature', 'feature'],
    [first, 'one'],
  ]) {
    const r = firstItem(await h.host.hub.trigger('checkout', { values: { ref } }));
    const end = await h.ended(r.run);
    assert.equal(end.status, 'good', `${ref}: ${end.reason}`);
    const lines = (await h.host.hub.getOutput(r.run, { node: 'show' })).map((l) => l.line);
    assert.deepEqual(lines, [want], `checkout of ${ref}`);
    const ws = (await h.host.hub.findRun(r.run))!.workspace!;
    if (ref !== first) assert.equal(git(path.join(ws, 'src'), 'rev-parse', '--is-shallow-repository'), 'true', `${ref} is a shallow clone`);
  }
});

test('fetch downloads into the workspace, checks the checksum, and fails on a mismatch', async (t) => {
  const body = 'artifact contents\n';
  const sha = createHash('sha256').update(body).digest('hex');
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    if (req.url === '/tool.tar.gz') res.end(body);
    else res.writeHead(404).end('no');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tool.tar.gz`;
  const h = await startRealHost(`
flows:
  - id: good
    ${data}
    tasks:
      - { name: get, listen: trigger.good, type: fetch, opts: { url: '${url}', checksum: '${sha}', checksum-algo: sha256, location: tools/ } }
      - { name: done, listen: task.get.good, type: end }
  - id: bad
    ${data}
    tasks:
      - { name: get, listen: trigger.good, type: fetch, opts: { url: '${url}', checksum: '${'0'.repeat(64)}', checksum-algo: sha256 } }
      - { name: done, listen: task.get.good, type: end }
`);
  t.after(() => h.close());
  const g = firstItem(await h.host.hub.trigger('good'));
  assert.equal((await h.ended(g.run)).status, 'good');
  const ws = (await h.host.hub.findRun(g.run))!.workspace!;
  assert.equal(await readFile(path.join(ws, 'tools/tool.tar.gz'), 'utf8'), body);
  const g2 = firstItem(await h.host.hub.trigger('good'));
  assert.equal((await h.ended(g2.run)).status, 'good');
  assert.equal(hits, 1, 'the second run used the cache');
  const b = firstItem(await h.host.hub.trigger('bad'));
  const end = await h.ended(b.run);
  assert.equal(end.status, 'bad');
  const run = await h.host.hub.findRun(b.run);
  assert.equal(run?.nodes.get?.status, 'bad');
  const floeLines = (await h.host.hub.getOutput(b.run, { node: 'get' })).map((l) => l.line).join('\n');
  assert.match(floeLines, /checksum|sha256/i);
});
