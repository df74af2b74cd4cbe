import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { gitCheckoutNode, refProblem, repoName, type GitCheckoutOpts } from '../../src/nodes/git-checkout.js';
import { gitEnv } from '../../src/nodes/git-client.js';
import { fakeContext, recordingCheck, type FakeContext } from './fake-context.js';
import { entry } from '../items.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' }).trim();
}

function parse(raw: Record<string, unknown>): GitCheckoutOpts {
  const check = recordingCheck();
  const opts = gitCheckoutNode.parseOpts(raw, check);
  assert.deepEqual(check.errors, [], 'opts are valid');
  return opts;
}

describe('git-checkout parseOpts and helpers', () => {
  test('repo names come from the url', () => {
    assert.equal(repoName('git@github.com:floeit/floe.git'), 'floe');
    assert.equal(repoName('https://github.com/floeit/floe.git/'), 'floe');
    assert.equal(repoName('file:///tmp/x/repo'), 'repo');
    assert.equal(repoName('host:'), '');
  });
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['a missing url', {}, /^url: is required/],
    ['an absolute sub-dir', { url: 'x/y', 'sub-dir': '/tmp' }, /^sub-dir:/],
    ['a ref that is an option', { url: 'x/y', ref: '--upload-pack=touch' }, /^ref:/],
    ['a ref that is a refspec', { url: 'x/y', ref: 'main:refs/heads/x' }, /^ref:/],
  ];
  for (const [what, raw, want] of bad) {
    test(`reports ${what}`, () => {
      const check = recordingCheck();
      gitCheckoutNode.parseOpts(raw, check);
      assert.ok(
        check.errors.some((e) => want.test(e)),
        check.errors.join('; '),
      );
    });
  }
  test('accepts branches, tags, hashes and templates as refs', () => {
    for (const ref of ['main', 'feature/x-1', 'v1.2.3', 'a1b2c3d', '{{ref}}'])
      assert.equal(refProblem(ref.replace(/[{}]/g, 'x')), undefined, ref);
    assert.deepEqual(parse({ url: 'git@h:a/b.git', ref: '{{ref}}', 'key-file': '/k' }), {
      url: 'git@h:a/b.git',
      ref: '{{ref}}',
      subDir: undefined,
      keyFile: '/k',
    });
  });
  test('git gets no prompts, the key through ssh, and none of the host GIT_ variables', () => {
    const env = gitEnv({ PATH: '/bin', GIT_DIR: '/elsewhere', HOME: '/h' }, "/keys/it's");
    assert.deepEqual(env, {
      PATH: '/bin',
      HOME: '/h',
      GIT_TERMINAL_PROMPT: '0',
      GIT_SSH_COMMAND: `ssh -i '/keys/it'\\''s' -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o BatchMode=yes`,
    });
    assert.equal(gitEnv({}, undefined).GIT_SSH_COMMAND, 'ssh -o BatchMode=yes', 'ssh never prompts, key or not');
  });
});

describe('git-checkout execute', () => {
  let root = '';
  let url = '';
  const hashes: Record<string, string> = {};
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'floe-git-'));
    const repo = path.join(root, 'upstream');
    await mkdir(repo);
    git(repo, 'init', '--quiet', '--initial-branch=main');
    for (const n of [1, 2, 3]) {
      await writeFile(path.join(repo, 'version'), `${n}\n`);
      git(repo, 'add', 'version');
      git(repo, 'commit', '--quiet', '-m', `commit ${n}`);
      hashes[n] = git(repo, 'rev-parse', 'HEAD');
      if (n === 2) git(repo, 'tag', '-a', 'v2', '-m', 'release 2');
    }
    git(repo, 'checkout', '--quiet', '-b', 'feature', entry(hashes, '1'));
    await writeFile(path.join(repo, 'version'), 'feature\n');
    git(repo, 'commit', '--quiet', '-am', 'feature work');
    hashes.feature = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'checkout', '--quiet', 'main');
    url = `file://${repo}`;
  });
  after(() => rm(root, { recursive: true, force: true }));

  let ctx: FakeContext;
  beforeEach(async () => {
    ctx = await fakeContext();
  });
  afterEach(() => ctx.cleanup());
  const run = (raw: Record<string, unknown>, signal = new AbortController().signal) => gitCheckoutNode.execute(ctx, parse(raw), signal);
  const checkout = (sub = 'upstream') => path.join(ctx.workspace, sub);

  test("default ref is the remote's HEAD, in a dir named after the repo, shallow", async () => {
    const result = await run({ url });
    assert.deepEqual(result, { status: 0 });
    assert.equal(await readFile(path.join(checkout(), 'version'), 'utf8'), '3\n');
    assert.equal(git(checkout(), 'rev-parse', '--is-shallow-repository'), 'true');
    assert.equal(git(checkout(), 'rev-list', '--count', 'HEAD'), '1');
    assert.ok(ctx.linesOf('floe').includes(`checked out ${hashes[3]}`));
  });

  test('credentials in the url never reach the run output or the reason', async () => {
    const result = await run({ url: 'http://bot:s3cret-token@127.0.0.1:1/repo.git', 'sub-dir': 'creds' });
    assert.equal(result.status, 1);
    const everything = [...ctx.lines.map((l) => l.line), result.reason ?? ''].join('\n');
    assert.doesNotMatch(everything, /s3cret-token/);
    assert.match(everything, /bot:\*\*\*@127\.0\.0\.1/);
  });

  test('checks out a branch, shallow', async () => {
    assert.equal((await run({ url, ref: 'feature' })).status, 0);
    assert.equal(git(checkout(), 'rev-parse', 'HEAD'), hashes.feature);
    assert.equal(git(checkout(), 'rev-list', '--count', 'HEAD'), '1');
  });

  test('checks out an annotated tag from a trigger value into a sub-dir, shallow', async () => {
    ctx.vars = { ref: 'v2' };
    assert.equal((await run({ url, ref: '{{ref}}', 'sub-dir': 'src/app' })).status, 0);
    assert.equal(git(checkout('src/app'), 'rev-parse', 'HEAD'), hashes[2]);
    assert.equal(git(checkout('src/app'), 'rev-parse', '--is-shallow-repository'), 'true');
  });

  test('checks out a full commit hash (shallow where the server allows it)', async () => {
    assert.equal((await run({ url, ref: hashes[1] })).status, 0);
    assert.equal(git(checkout(), 'rev-parse', 'HEAD'), hashes[1]);
  });

  test('an abbreviated hash cannot be fetched shallowly and falls back to full history', async () => {
    assert.equal((await run({ url, ref: entry(hashes, '2').slice(0, 10), 'sub-dir': 'short' })).status, 0);
    assert.equal(git(checkout('short'), 'rev-parse', 'HEAD'), hashes[2]);
    assert.ok(ctx.linesOf('floe').some((l) => l.includes('refused; fetching full history')));
    assert.equal(git(checkout('short'), 'rev-parse', '--is-shallow-repository'), 'false');
  });

  test('reuses an earlier checkout of the same repository', async () => {
    assert.equal((await run({ url, ref: 'v2' })).status, 0);
    await writeFile(path.join(checkout(), 'version'), 'local edit\n');
    assert.equal((await run({ url, ref: 'main' })).status, 0);
    assert.equal(git(checkout(), 'rev-parse', 'HEAD'), hashes[3]);
    assert.equal(await readFile(path.join(checkout(), 'version'), 'utf8'), '3\n');
    assert.ok(ctx.linesOf('floe').some((l) => l.startsWith('reusing the checkout')));
  });

  test('refuses a directory holding something else', async () => {
    await mkdir(checkout());
    await writeFile(path.join(checkout(), 'file'), 'x');
    const result = await run({ url });
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', /not a git checkout/);
  });

  test('an unknown ref fails with git’s reason, streamed to the log', async () => {
    const result = await run({ url, ref: 'no-such-branch' });
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', /no-such-branch/);
    assert.ok(
      ctx.linesOf('stderr').some((l) => l.includes('no-such-branch')),
      ctx.linesOf('stderr').join('\n'),
    );
  });

  test('a trigger value cannot smuggle a git option in as the ref', async () => {
    ctx.vars = { ref: '--upload-pack=touch /tmp/floe-pwned' };
    const result = await run({ url, ref: '{{ref}}' });
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', /must not start with -/);
  });

  test('an aborted checkout settles as cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    const result = await run({ url }, ac.signal);
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', /cancelled/);
  });
});
