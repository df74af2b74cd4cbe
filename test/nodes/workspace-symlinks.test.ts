import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { execNode } from '../../src/nodes/exec.js';
import { fetchNode } from '../../src/nodes/fetch.js';
import { gitCheckoutNode } from '../../src/nodes/git-checkout.js';
import type { NodeType } from '../../src/nodes/node-type.js';
import { fakeContext, recordingCheck, type FakeContext } from './fake-context.js';

// Issue 7: a symlink inside the workspace, made by an earlier task or committed in a checked-out
// repository, must not lead exec, fetch or git-checkout outside it.

const body = 'floe release 1.0\n';
const sha256 = createHash('sha256').update(body).digest('hex');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' }).trim();
}

let server: Server;
let base = '';
let gitRoot = '';
let repoUrl = '';
before(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A repository with committed symlinks: one out of any checkout of it, one inside it.
  gitRoot = await mkdtemp(path.join(tmpdir(), 'floe-git-links-'));
  const repo = path.join(gitRoot, 'upstream');
  await mkdir(path.join(repo, 'docs'), { recursive: true });
  git(repo, 'init', '--quiet', '--initial-branch=main');
  await writeFile(path.join(repo, 'version'), '1\n');
  await writeFile(path.join(repo, 'docs', 'readme'), 'docs\n');
  await symlink('../../outside', path.join(repo, 'escape')); // <ws>/upstream/escape -> <ws>/../outside
  await symlink('docs', path.join(repo, 'inner'));
  git(repo, 'add', '.');
  git(repo, 'commit', '--quiet', '-m', 'with links');
  repoUrl = `file://${repo}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(gitRoot, { recursive: true, force: true });
});

let ctx: FakeContext;
/** `<ws>/../outside`: must stay empty. */
let outside = '';
beforeEach(async () => {
  ctx = await fakeContext();
  outside = path.join(path.dirname(ctx.workspace), 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'file'), 'outside\n');
});
afterEach(() => ctx.cleanup());

async function run<O>(node: NodeType<O>, raw: Record<string, unknown>) {
  const check = recordingCheck();
  const opts = node.parseOpts(raw, check);
  assert.deepEqual(check.errors, [], 'opts are valid');
  return node.execute(ctx, opts, new AbortController().signal);
}

async function link(name: string, target: string): Promise<void> {
  await mkdir(path.dirname(path.join(ctx.workspace, name)), { recursive: true });
  await symlink(target, path.join(ctx.workspace, name));
}

async function assertOutsideUntouched(): Promise<void> {
  assert.deepEqual(await readdir(outside), ['file']);
  assert.equal(await readFile(path.join(outside, 'file'), 'utf8'), 'outside\n');
  const beside = (await readdir(path.dirname(outside))).filter((n) => n !== 'alias');
  assert.deepEqual(beside.sort(), ['cache', 'outside', 'ws'], 'nothing made beside the workspace');
}

/** Moves the workspace under a symlinked parent, as /tmp is on macOS. */
async function workspaceUnderSymlink(): Promise<void> {
  const root = path.dirname(ctx.workspace);
  await symlink(root, path.join(root, 'alias'));
  ctx.workspace = path.join(root, 'alias', 'ws');
}

describe('exec sub-dir and symlinks', () => {
  test('a sub-dir through a symlink to a dir outside is refused and nothing runs there', async () => {
    await link('out', outside);
    const result = await run(execNode, { cmd: 'touch ran', 'sub-dir': 'out' });
    assert.deepEqual(result, { status: 1, reason: 'sub-dir out leads outside the workspace through symlink out' });
    await assertOutsideUntouched();
  });

  test('a sub-dir from a value through a chain of links is refused, naming the link that leaves', async () => {
    await link('a', 'b');
    await link('b', outside);
    ctx.vars = { dir: 'a' };
    const result = await run(execNode, { cmd: 'touch ran', 'sub-dir': '{{dir}}' });
    assert.deepEqual(result, { status: 1, reason: 'sub-dir {{dir}} leads outside the workspace through symlink b' });
    await assertOutsideUntouched();
  });

  test('a sub-dir through a link to .. is refused', async () => {
    await link('up', '..');
    const result = await run(execNode, { cmd: 'touch ran', 'sub-dir': 'up' });
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', /through symlink up$/);
    await assertOutsideUntouched();
  });

  test('a link that stays inside the workspace still works, and runs in its real dir', async () => {
    await mkdir(path.join(ctx.workspace, 'src', 'app'), { recursive: true });
    await link('inner', 'src/app');
    assert.equal((await run(execNode, { cmd: 'touch ran', 'sub-dir': 'inner' })).status, 0);
    assert.deepEqual(await readdir(path.join(ctx.workspace, 'src', 'app')), ['ran']);
    await assertOutsideUntouched();
  });

  test('a workspace under a symlinked parent still works', async () => {
    await mkdir(path.join(ctx.workspace, 'src'));
    await workspaceUnderSymlink();
    assert.equal((await run(execNode, { cmd: 'touch ran', 'sub-dir': 'src' })).status, 0);
    assert.deepEqual(await readdir(path.join(ctx.workspace, 'src')), ['ran']);
  });
});

describe('fetch location and symlinks', () => {
  const url = () => `${base}/files/tool.tgz`;

  test('a location through a symlink to a dir outside is refused and nothing is written there', async () => {
    await link('out', outside);
    const result = await run(fetchNode, { url: url(), location: 'out/' });
    assert.deepEqual(result, { status: 1, reason: 'location "out/" leads outside the workspace through symlink out' });
    await assertOutsideUntouched();
  });

  test('so is one with a checksum (hard linked from the cache) built from a value', async () => {
    await link('repo/link', outside);
    ctx.vars = { dir: 'repo/link' };
    const result = await run(fetchNode, { url: url(), checksum: sha256, location: '{{dir}}/x.bin' });
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', /^location "\{\{dir\}\}\/x.bin" leads outside the workspace through symlink repo\/link$/);
    await assertOutsideUntouched();
  });

  test('a location through a link to .. is refused', async () => {
    await link('up', '..');
    const result = await run(fetchNode, { url: url(), location: 'up/x.bin' });
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', /through symlink up$/);
    await assertOutsideUntouched();
  });

  for (const checksum of [false, true]) {
    test(`a file name that is a symlink to a file outside is replaced, not written through (checksum: ${checksum})`, async () => {
      await link('f.bin', path.join(outside, 'file'));
      const result = await run(fetchNode, { url: url(), location: 'f.bin', ...(checksum ? { checksum: sha256 } : {}) });
      assert.deepEqual(result, { status: 0 });
      assert.ok((await lstat(path.join(ctx.workspace, 'f.bin'))).isFile(), 'the link itself was replaced');
      assert.equal(await readFile(path.join(ctx.workspace, 'f.bin'), 'utf8'), body);
      await assertOutsideUntouched();
    });
  }

  test('a link that stays inside, and a workspace under a symlinked parent, still work', async () => {
    await mkdir(path.join(ctx.workspace, 'src'));
    await link('dl', 'src');
    await workspaceUnderSymlink();
    assert.deepEqual(await run(fetchNode, { url: url(), location: 'dl/' }), { status: 0 });
    assert.deepEqual(await run(fetchNode, { url: url() }), { status: 0 });
    assert.equal(await readFile(path.join(ctx.workspace, 'src', 'tool.tgz'), 'utf8'), body);
    assert.equal(await readFile(path.join(ctx.workspace, 'tool.tgz'), 'utf8'), body);
  });
});

describe('git-checkout sub-dir and symlinks', () => {
  test('a second checkout into a symlink committed in the first is refused', async () => {
    assert.deepEqual(await run(gitCheckoutNode, { url: repoUrl }), { status: 0 });
    const result = await run(gitCheckoutNode, { url: repoUrl, 'sub-dir': 'upstream/escape/again' });
    assert.deepEqual(result, {
      status: 1,
      reason: 'sub-dir upstream/escape/again leads outside the workspace through symlink upstream/escape',
    });
    await assertOutsideUntouched();
  });

  test('exec and fetch into that committed symlink are refused too', async () => {
    assert.deepEqual(await run(gitCheckoutNode, { url: repoUrl }), { status: 0 });
    const exec = await run(execNode, { cmd: 'touch ran', 'sub-dir': 'upstream/escape' });
    assert.match(exec.reason ?? '', /through symlink upstream\/escape$/);
    const fetched = await run(fetchNode, { url: `${base}/tool.tgz`, location: 'upstream/escape/' });
    assert.match(fetched.reason ?? '', /through symlink upstream\/escape$/);
    await assertOutsideUntouched();
  });

  test('a default checkout dir that an earlier task made a symlink to outside is refused', async () => {
    await link('upstream', outside);
    const result = await run(gitCheckoutNode, { url: repoUrl });
    assert.deepEqual(result, { status: 1, reason: 'sub-dir upstream leads outside the workspace through symlink upstream' });
    await assertOutsideUntouched();
  });

  test('a committed link that stays inside, and a workspace under a symlinked parent, still work', async () => {
    await workspaceUnderSymlink();
    assert.deepEqual(await run(gitCheckoutNode, { url: repoUrl }), { status: 0 });
    assert.deepEqual(await run(gitCheckoutNode, { url: repoUrl, 'sub-dir': 'upstream/inner/nested' }), { status: 0 });
    assert.equal(await readFile(path.join(ctx.workspace, 'upstream', 'docs', 'nested', 'version'), 'utf8'), '1\n');
    await assertOutsideUntouched();
  });
});
