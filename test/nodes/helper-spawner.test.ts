import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HELPER_BINARY, HelperSpawner } from '../../src/nodes/helper-spawner.js';
import { runInProcessGroup, type ProcessSpec } from '../../src/nodes/process-group.js';
import { waitGone } from '../e2e/proc.js';
import { groupMembers } from './fake-context.js';

// What only the helper can do wrong: die under its tasks, or leave them unreaped. The behaviour
// it shares with Node's spawn is process-group.test.ts's, run through both.
const helperMissing = existsSync(HELPER_BINARY) ? false : `${HELPER_BINARY} is not built (no C compiler at npm install)`;

/** Processes whose parent is `pid`: `pid stat` each. */
function childrenOf(pid: number): string[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,stat='], { encoding: 'utf8' });
  return out.split('\n').flatMap((l) => {
    const [p, parent, stat] = l.trim().split(/\s+/);
    return Number(parent) === pid ? [`${p} ${stat}`] : [];
  });
}

describe('the spawner helper', { skip: helperMissing }, () => {
  let cwd = '';
  before(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'floe-helper-'));
  });
  after(() => rm(cwd, { recursive: true, force: true }));

  function spec(script: string, lines: string[], onStart?: (pgid: number) => void): ProcessSpec {
    return { file: '/bin/sh', args: ['-c', script], cwd, env: { PATH: '/usr/bin:/bin' }, onLine: (_, l) => lines.push(l), onStart };
  }

  test('reaps every process it started: none is left, not even a zombie', async () => {
    const helper = await HelperSpawner.start(HELPER_BINARY);
    try {
      const runs = Array.from({ length: 20 }, (_, i) =>
        runInProcessGroup(spec(i % 2 ? 'true' : 'exit 3', []), new AbortController().signal, helper),
      );
      const statuses = (await Promise.all(runs)).map((e) => e.status);
      assert.deepEqual(
        statuses,
        Array.from({ length: 20 }, (_, i) => (i % 2 ? 0 : 3)),
      );
      assert.deepEqual(childrenOf(helper.pid ?? 0), []);
    } finally {
      await helper.stop();
    }
  });

  test('when it dies, its running tasks end bad saying why, their groups are killed, and it starts nothing more', async () => {
    const deaths: string[] = [];
    const helper = await HelperSpawner.start(HELPER_BINARY, { onDeath: (r) => deaths.push(r) });
    const lines: string[] = [];
    let pgid = 0;
    const done = runInProcessGroup(
      spec('sleep 30 & echo started; wait', lines, (g) => (pgid = g)),
      new AbortController().signal,
      helper,
    );
    while (!lines.includes('started')) await sleep(10);
    const members = groupMembers(pgid);
    assert.equal(members.length, 2, 'sh and sleep run');
    process.kill(helper.pid ?? 0, 'SIGKILL');
    const exit = await done;
    const reason = `the spawner helper (pid ${helper.pid}) was killed by SIGKILL`;
    assert.deepEqual(exit, { status: 137, signal: 'SIGKILL', reason: `${reason}; its process group was killed` });
    for (const pid of members) assert.equal(await waitGone(pid), true, `pid ${pid} outlived its task`);
    assert.deepEqual(deaths, [reason]);
    const later = await runInProcessGroup(spec('echo hi', []), new AbortController().signal, helper);
    assert.deepEqual(later, { status: 127, reason: `could not start /bin/sh: ${reason}` });
  });

  test("a task's stdout and stderr are 16 KiB pipes, so lines it prints faster than they are read wait less", async () => {
    const helper = await HelperSpawner.start(HELPER_BINARY);
    try {
      const lines: string[] = [];
      // F_GETPIPE_SZ (1032), asked from the task's side of each pipe.
      const exit = await runInProcessGroup(
        spec(`perl -e 'print fcntl(STDOUT, 1032, 0) + 0, "\\n"; print STDERR fcntl(STDERR, 1032, 0) + 0, "\\n"'`, lines),
        new AbortController().signal,
        helper,
      );
      assert.equal(exit.status, 0);
      // A pipe holds at least a page: 16 KiB where pages are 4 KiB, one page where they are 64.
      const page = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());
      const want = String(Math.max(16384, page));
      assert.deepEqual(lines, [want, want]);
    } finally {
      await helper.stop();
    }
  });

  test('a binary that is not the helper is refused at start', async () => {
    await assert.rejects(HelperSpawner.start(path.join(cwd, 'no-such-helper')), /ENOENT/);
    await assert.rejects(HelperSpawner.start('/bin/true'), /exited with code 0/);
  });
});
