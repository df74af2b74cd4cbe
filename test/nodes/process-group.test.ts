import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HELPER_BINARY, HelperSpawner } from '../../src/nodes/helper-spawner.js';
import { nodeSpawner } from '../../src/nodes/node-spawner.js';
import { LineSplitter, MAX_LINE_BYTES, runInProcessGroup as runWith, type ProcessSpec } from '../../src/nodes/process-group.js';
import type { Spawner } from '../../src/nodes/spawner.js';
import { waitGone } from '../e2e/proc.js';
import { firstItem } from '../items.js';
import { groupMembers } from './fake-context.js';

describe('LineSplitter', () => {
  test('splits on \\n, drops \\r and flushes a final partial line', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    s.push('a\r\nb');
    s.push('c\n\nd');
    assert.deepEqual(got, ['a', 'bc', '']);
    s.flush();
    s.flush();
    assert.deepEqual(got, ['a', 'bc', '', 'd']);
  });

  test('a 32 MB line without a newline comes out in full pieces as it arrives, never held whole', () => {
    // 1 + 2 + 3 + 4 bytes: 64 KiB chunks and 64 KiB pieces both fall inside characters.
    const unit = Buffer.from('aé€😀');
    const input = Buffer.alloc(32 * 1024 * 1024);
    for (let i = 0; i < input.length; i += unit.length) unit.copy(input, i);
    const whole = input.subarray(0, input.length - (input.length % unit.length));
    const pieces: Buffer[] = [];
    const continues: boolean[] = [];
    let emitted = 0;
    const s = new LineSplitter((piece, more) => {
      const b = Buffer.from(piece);
      pieces.push(b);
      continues.push(more);
      emitted += b.length;
    });
    const chunk = 64 * 1024;
    for (let at = 0; at < whole.length; at += chunk) {
      s.push(whole.subarray(at, at + chunk));
      // Holding back at most a piece (plus the two bytes that may be \r\n) is what keeps the work
      // per chunk constant: nothing held is ever rejoined or searched again at quadratic cost.
      const pushed = Math.min(at + chunk, whole.length);
      assert.ok(emitted >= pushed - (MAX_LINE_BYTES + 1), `after ${pushed} bytes only ${emitted} were emitted`);
    }
    s.flush();
    for (const p of pieces) assert.ok(p.length <= MAX_LINE_BYTES, `a piece of ${p.length} bytes`);
    // Cut only to keep a character whole: every piece but the last is within 3 bytes of full.
    for (const p of pieces.slice(0, -1)) assert.ok(p.length >= MAX_LINE_BYTES - 3, `a short piece of ${p.length} bytes`);
    assert.deepEqual(continues, [...continues.slice(0, -1).map(() => true), false]);
    assert.ok(Buffer.concat(pieces).equals(whole), 'the pieces rejoin to the input, no character split or lost');
  });

  test('a line of exactly the limit is one piece, also before \r\n; one byte more is two', () => {
    const got: Array<[number, boolean]> = [];
    const s = new LineSplitter((l, more) => got.push([l.length, more]), 8);
    for (const c of ['12345678\r', '\n', '123456789\r', '\n', '12345678']) s.push(c);
    s.flush();
    assert.deepEqual(got, [
      [8, false],
      [8, true],
      [1, false],
      [8, false],
    ]);
  });

  test('a multi-byte character split across chunks and across a piece limit stays whole', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l), 4);
    const euro = Buffer.from('€'); // 3 bytes
    s.push(Buffer.from('ab'));
    s.push(euro.subarray(0, 1));
    s.push(euro.subarray(1));
    s.push(Buffer.from('c\n'));
    assert.deepEqual(got, ['ab', '€c']);
  });
});

// Every behaviour holds whichever spawner starts the process: Node's, or the posix_spawn helper.
const helperMissing = existsSync(HELPER_BINARY) ? false : `${HELPER_BINARY} is not built (no C compiler at npm install)`;
for (const name of ['node', 'helper'] as const)
  describe(`runInProcessGroup through the ${name} spawner`, { skip: name === 'helper' && helperMissing }, () => {
    let cwd = '';
    let spawner: Spawner = nodeSpawner;
    let helper: HelperSpawner | undefined;
    before(async () => {
      cwd = await mkdtemp(path.join(tmpdir(), 'floe-pg-'));
      if (name === 'helper') spawner = helper = await HelperSpawner.start(HELPER_BINARY);
    });
    after(async () => {
      await helper?.stop();
      await rm(cwd, { recursive: true, force: true });
    });
    const runInProcessGroup = (s: ProcessSpec, signal: AbortSignal) => runWith(s, signal, spawner);

    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    function spec(script: string, extra: Partial<ProcessSpec> = {}): ProcessSpec & { lines: string[]; pgid: () => number } {
      const lines: string[] = [];
      let pgid = 0;
      return {
        file: '/bin/sh',
        args: ['-c', script],
        cwd,
        env,
        onLine: (stream, line) => lines.push(`${stream}:${line}`),
        onStart: (g) => {
          pgid = g;
        },
        ...extra,
        lines,
        pgid: () => pgid,
      };
    }

    test('streams both streams line by line and returns the exit code', async () => {
      const s = spec("printf 'one\\ntwo\\r\\n'; echo err >&2; printf partial; exit 3");
      const exit = await runInProcessGroup(s, new AbortController().signal);
      assert.equal(exit.status, 3);
      assert.deepEqual(
        s.lines.filter((l) => l.startsWith('stdout:')),
        ['stdout:one', 'stdout:two', 'stdout:partial'],
      );
      assert.deepEqual(
        s.lines.filter((l) => l.startsWith('stderr:')),
        ['stderr:err'],
      );
      assert.ok(s.pgid() > 0);
    });

    test('a 5 MB line with no newline arrives as ceil(5e6 / limit) full pieces', async () => {
      const s = spec("head -c 5000000 /dev/zero | tr '\\0' x");
      const exit = await runInProcessGroup(s, new AbortController().signal);
      assert.equal(exit.status, 0);
      const lengths = s.lines.map((l) => (l.startsWith('stdout:') ? l.length - 'stdout:'.length : -1));
      assert.equal(lengths.length, Math.ceil(5_000_000 / MAX_LINE_BYTES));
      assert.deepEqual(
        lengths.slice(0, -1),
        lengths.slice(0, -1).map(() => MAX_LINE_BYTES),
      );
      assert.equal(lengths.at(-1), 5_000_000 % MAX_LINE_BYTES);
      assert.ok(s.lines.every((l) => /^stdout:x+$/.test(l)));
    });

    test('a long line of multi-byte characters is cut between characters, whatever the pipe chunks', async () => {
      // 3-byte characters: a full piece holds floor(limit / 3) of them.
      const s = { ...spec(''), file: process.execPath, args: ['-e', "process.stdout.write('€'.repeat(200000))"] };
      const exit = await runInProcessGroup(s, new AbortController().signal);
      assert.equal(exit.status, 0);
      const perPiece = Math.floor(MAX_LINE_BYTES / 3);
      assert.deepEqual(
        s.lines.map((l) => l.length - 'stdout:'.length),
        [...Array(Math.floor(200000 / perPiece)).fill(perPiece), 200000 % perPiece],
      );
      assert.equal(s.lines.map((l) => l.slice('stdout:'.length)).join(''), '€'.repeat(200000));
    });

    test('a process killed by a signal reports 128+signo', async () => {
      const exit = await runInProcessGroup(spec('kill -KILL $$'), new AbortController().signal);
      assert.equal(exit.status, 137);
      assert.equal(exit.signal, 'SIGKILL');
    });

    test('a missing command is status 127 with a reason, not an exception', async () => {
      const exit = await runInProcessGroup({ ...spec(''), file: 'floe-no-such-command' }, new AbortController().signal);
      assert.equal(exit.status, 127);
      assert.equal(exit.reason, 'command not found: floe-no-such-command');
    });

    test('a missing working directory is named as such', async () => {
      const exit = await runInProcessGroup({ ...spec('true'), cwd: path.join(cwd, 'nope') }, new AbortController().signal);
      assert.equal(exit.status, 127);
      assert.match(exit.reason ?? '', /working directory not found/);
    });

    test('abort kills the whole tree, grandchildren included, and settles', async () => {
      const s = spec('sleep 30 & sleep 30; wait');
      const ac = new AbortController();
      const done = runInProcessGroup(s, ac.signal);
      let members: number[] = [];
      for (let i = 0; i < 100 && members.length < 3; i++) {
        await sleep(20);
        if (s.pgid() > 0) members = groupMembers(s.pgid());
      }
      assert.equal(members.length, 3, 'sh and both sleeps are running');
      ac.abort();
      const exit = await done;
      assert.equal(exit.status, 143);
      // Killed, but a process may still be inside its exit for a moment after its pipes closed.
      for (const pid of members) assert.equal(await waitGone(pid), true, `pid ${pid} survived`);
    });

    test('children that ignore SIGTERM are killed after the grace', async () => {
      const s = spec("trap '' TERM; sh -c \"trap '' TERM; sleep 30\" & echo started; wait", { killGraceMs: 200 });
      const ac = new AbortController();
      const done = runInProcessGroup(s, ac.signal);
      while (!s.lines.includes('stdout:started')) await sleep(10);
      const members = groupMembers(s.pgid());
      ac.abort();
      const exit = await done;
      assert.equal(exit.status, 137);
      // Killed, but a process may still be inside its exit for a moment after its pipes closed.
      for (const pid of members) assert.equal(await waitGone(pid), true, `pid ${pid} survived`);
    });

    test('settles when a background child keeps the pipes open after the process exits', async () => {
      const s = spec('sleep 30 & echo bye', { drainMs: 100 });
      const exit = await runInProcessGroup(s, new AbortController().signal);
      assert.equal(exit.status, 0);
      assert.deepEqual(s.lines, ['stdout:bye']);
      // The background sleep was not asked to stop; clean it up ourselves.
      for (const pid of groupMembers(s.pgid())) process.kill(pid, 'SIGKILL');
    });

    test('the process leads a new session and process group, both its pid', async () => {
      const s = spec('cat /proc/$$/stat');
      assert.equal((await runInProcessGroup(s, new AbortController().signal)).status, 0);
      const stat = firstItem(s.lines);
      const [pgrp, session] = stat
        .slice(stat.lastIndexOf(')') + 2)
        .split(' ')
        .slice(2, 4)
        .map(Number);
      assert.deepEqual([pgrp, session], [s.pgid(), s.pgid()]);
    });

    test('the environment is exactly the one given, and stdin is empty', async () => {
      const s = { ...spec(''), file: '/usr/bin/env', args: [], env: { ONLY: 'this one' } };
      assert.equal((await runInProcessGroup(s, new AbortController().signal)).status, 0);
      assert.deepEqual(s.lines, ['stdout:ONLY=this one']);
      const c = { ...spec(''), file: 'cat', args: [] };
      assert.equal((await runInProcessGroup(c, new AbortController().signal)).status, 0);
      assert.deepEqual(c.lines, []);
    });

    test("a bare command is looked up on the given env's PATH, not the host's", async () => {
      const bin = path.join(cwd, 'tools');
      await mkdir(bin, { recursive: true });
      await writeFile(path.join(bin, 'floe-pg-tool'), '#!/bin/sh\necho "tool $1"\n', { mode: 0o755 });
      const s = { ...spec(''), file: 'floe-pg-tool', args: ['x'], env: { PATH: `${bin}:/usr/bin:/bin` } };
      const exit = await runInProcessGroup(s, new AbortController().signal);
      assert.deepEqual([exit.status, s.lines], [0, ['stdout:tool x']]);
      const missing = await runInProcessGroup({ ...s, env: env }, new AbortController().signal);
      assert.deepEqual([missing.status, missing.reason], [127, 'command not found: floe-pg-tool']);
    });

    test('a file without execute permission is status 126', async () => {
      const file = path.join(cwd, 'not-executable');
      await writeFile(file, 'echo hi\n', { mode: 0o644 });
      const exit = await runInProcessGroup({ ...spec(''), file, args: [] }, new AbortController().signal);
      assert.deepEqual([exit.status, exit.reason], [126, `permission denied: ${file}`]);
    });

    test('an argument holding a NUL byte starts nothing and says so', async () => {
      const exit = await runInProcessGroup(spec('echo "a\0b"'), new AbortController().signal);
      assert.equal(exit.status, 127);
      assert.match(exit.reason ?? '', /^could not start \/bin\/sh: /);
    });

    test('an already aborted signal starts nothing', async () => {
      const ac = new AbortController();
      ac.abort();
      const s = spec('echo hi');
      const exit = await runInProcessGroup(s, ac.signal);
      assert.equal(exit.status, 143);
      assert.equal(s.pgid(), 0);
      assert.deepEqual(s.lines, []);
    });
  });
