import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeRealDir, realPathInWorkspace } from '../../src/nodes/workspace-path.js';

describe('realPathInWorkspace', () => {
  let root = '';
  let realWs = '';
  let outside = '';
  // The workspace is reached through a symlinked parent, as /tmp is on macOS.
  let ws = '';
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'floe-wspath-'));
    realWs = path.join(root, 'real', 'ws');
    outside = path.join(root, 'outside');
    ws = path.join(root, 'alias', 'ws');
    await mkdir(path.join(realWs, 'src', 'app'), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(outside, 'file'), 'outside\n');
    await symlink(path.join(root, 'real'), path.join(root, 'alias'));
    const links: [string, string][] = [
      ['out', outside],
      ['up', '..'],
      ['a', 'b'],
      ['b', outside],
      ['inner', 'src/app'],
      ['self', '.'],
      ['flink', path.join(outside, 'file')],
      ['dangling', path.join(outside, 'new')],
      ['dangling-in', 'src/new'],
      ['dangling-up', 'missing/../..'],
      ['loop1', 'loop2'],
      ['loop2', 'loop1'],
      ['abs-in', path.join(ws, 'src')],
      ['back', '../ws/src'],
    ];
    for (const [name, target] of links) await symlink(target, path.join(realWs, name));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const inside: [string, string][] = [
    ['', ''],
    ['src/app', 'src/app'],
    ['./src//app/', 'src/app'],
    ['inner', 'src/app'],
    ['inner/x/y', 'src/app/x/y'],
    ['self/self/src', 'src'],
    ['abs-in/app', 'src/app'],
    ['back/app', 'src/app'],
    ['up/ws/src', 'src'],
    ['dangling-in/z', 'src/new/z'],
    ['new/dir', 'new/dir'],
  ];
  for (const [candidate, want] of inside) {
    test(`${JSON.stringify(candidate)} stays inside, at ${JSON.stringify(want)} of the real workspace`, async () => {
      assert.equal(await realPathInWorkspace(ws, candidate, `sub-dir ${candidate}`), path.join(realWs, want));
    });
  }
  test('an absolute candidate inside the workspace is resolved the same way', async () => {
    assert.equal(await realPathInWorkspace(ws, path.join(ws, 'inner'), 'sub-dir x'), path.join(realWs, 'src', 'app'));
  });

  const refused: [string, RegExp][] = [
    ['out', /^sub-dir out leads outside the workspace through symlink out$/],
    ['out/deeper/x', /through symlink out$/],
    ['a/x', /through symlink b$/],
    ['up', /through symlink up$/],
    ['self/up/x', /through symlink up$/],
    ['flink', /through symlink flink$/],
    ['dangling/x', /through symlink dangling$/],
    ['dangling-up/x', /goes up \(\.\.\) out of .*missing, which does not exist/],
    ['loop1', /passes through more than 40 symlinks/],
    ['../x', /is outside the workspace/],
  ];
  for (const [candidate, want] of refused) {
    test(`${JSON.stringify(candidate)} is refused`, async () => {
      await assert.rejects(realPathInWorkspace(ws, candidate, `sub-dir ${candidate}`), (err: Error) => {
        assert.equal(err.name, 'TemplateError');
        assert.match(err.message, want);
        return true;
      });
    });
  }

  test('makeRealDir makes the dir, and notices a symlink put on the way after the check', async () => {
    const fine = await realPathInWorkspace(ws, 'made/here', 'sub-dir made/here');
    await makeRealDir(fine, 'sub-dir made/here');
    assert.deepEqual(await readdir(path.join(realWs, 'made')), ['here']);
    const swapped = await realPathInWorkspace(ws, 'later/dir', 'sub-dir later/dir');
    await symlink(outside, path.join(realWs, 'later'));
    await assert.rejects(makeRealDir(swapped, 'sub-dir later/dir'), /sub-dir later\/dir changed while it was being made/);
  });
});
