import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineSplitter, runInProcessGroup } from '../../src/nodes/process-group.js';
import { groupMembers, isAlive } from './fake-context.js';
describe('LineSplitter', () => {
    test('splits on \\n, drops \\r and flushes a final partial line', () => {
        const got = [];
        const s = new LineSplitter((l) => got.push(l));
        s.push('a\r\nb');
        s.push('c\n\nd');
        assert.deepEqual(got, ['a', 'bc', '']);
        s.flush();
        s.flush();
        assert.deepEqual(got, ['a', 'bc', '', 'd']);
    });
});
describe('runInProcessGroup', () => {
    let cwd = '';
    before(async () => {
        cwd = await mkdtemp(path.join(tmpdir(), 'floe-pg-'));
    });
    after(() => rm(cwd, { recursive: true, force: true }));
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    function spec(script, extra = {}) {
        const lines = [];
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
        assert.deepEqual(s.lines.filter((l) => l.startsWith('stdout:')), ['stdout:one', 'stdout:two', 'stdout:partial']);
        assert.deepEqual(s.lines.filter((l) => l.startsWith('stderr:')), ['stderr:err']);
        assert.ok(s.pgid() > 0);
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
        let members = [];
        for (let i = 0; i < 100 && members.length < 3; i++) {
            await sleep(20);
            if (s.pgid() > 0)
                members = groupMembers(s.pgid());
        }
        assert.equal(members.length, 3, 'sh and both sleeps are running');
        ac.abort();
        const exit = await done;
        assert.equal(exit.status, 143);
        for (const pid of members)
            assert.equal(isAlive(pid), false, `pid ${pid} survived`);
    });
    test('children that ignore SIGTERM are killed after the grace', async () => {
        const s = spec("trap '' TERM; sh -c \"trap '' TERM; sleep 30\" & echo started; wait", { killGraceMs: 200 });
        const ac = new AbortController();
        const done = runInProcessGroup(s, ac.signal);
        while (!s.lines.includes('stdout:started'))
            await sleep(10);
        const members = groupMembers(s.pgid());
        ac.abort();
        const exit = await done;
        assert.equal(exit.status, 137);
        for (const pid of members)
            assert.equal(isAlive(pid), false, `pid ${pid} survived`);
    });
    test('settles when a background child keeps the pipes open after the process exits', async () => {
        const s = spec('sleep 30 & echo bye', { drainMs: 100 });
        const exit = await runInProcessGroup(s, new AbortController().signal);
        assert.equal(exit.status, 0);
        assert.deepEqual(s.lines, ['stdout:bye']);
        // The background sleep was not asked to stop; clean it up ourselves.
        for (const pid of groupMembers(s.pgid()))
            process.kill(pid, 'SIGKILL');
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
//# sourceMappingURL=process-group.test.js.map