import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApiHost } from './harness.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' }).trim();
}

test('GET /flows and GET /flows/:id show what a poll-git trigger last saw and when, and when a timer fires next', async (t) => {
  const repo = await mkdtemp(path.join(tmpdir(), 'floe-poll-'));
  git(repo, 'init', '--quiet', '--initial-branch=main');
  await writeFile(path.join(repo, 'f'), '1\n');
  git(repo, 'add', 'f');
  git(repo, 'commit', '--quiet', '-m', 'one');
  const hash = git(repo, 'rev-parse', 'HEAD');
  const before = Date.now();
  const h = await startApiHost(`
flows:
  - id: watch
    triggers:
      - { name: commits, type: poll-git, opts: { url: 'file://${repo}', period: 3600 } }
      - { name: hourly, type: timer, opts: { period: 3600 } }
    tasks: [{ name: done, listen: trigger.good, type: end }]
`);
  t.after(async () => {
    await h.close();
    await rm(repo, { recursive: true, force: true });
  });
  // The first poll happens at start; it only records what is there.
  const deadline = Date.now() + 20_000;
  let listed: Array<Record<string, unknown>> = [];
  for (;;) {
    const r = await h.call('GET', '/flows');
    assert.equal(r.status, 200, r.text);
    listed = r.body.payload.flows[0].triggers;
    if (listed[0]?.lastPolled !== undefined || Date.now() > deadline) break;
    await new Promise((res) => setTimeout(res, 25));
  }
  const after = Date.now();
  const [poll, timer] = listed;
  assert.deepEqual(
    { ...poll, lastPolled: 0 },
    {
      id: 'commits',
      name: 'commits',
      type: 'poll-git',
      period: 3600,
      owner: 'h1',
      lastSeen: { 'refs/heads/main': hash },
      lastPolled: 0,
    },
  );
  const polledAt = poll?.lastPolled as number;
  assert.ok(polledAt >= before && polledAt <= after, `polled during the test: ${polledAt}`);
  assert.equal(timer?.owner, 'h1');
  assert.equal((timer?.nextFire as number) % 3_600_000, 0);

  const one = await h.call('GET', '/flows/watch');
  assert.equal(one.status, 200, one.text);
  const [detailPoll, detailTimer] = one.body.payload.config.triggers as Array<Record<string, unknown>>;
  assert.deepEqual([detailPoll?.lastSeen, detailPoll?.lastPolled, detailPoll?.owner], [{ 'refs/heads/main': hash }, polledAt, 'h1']);
  assert.equal(detailTimer?.nextFire, timer?.nextFire);
  assert.deepEqual(detailPoll?.opts, { url: `file://${repo}`, period: 3600, refs: ['refs/heads/*'], 'exclude-refs': [] });
});
