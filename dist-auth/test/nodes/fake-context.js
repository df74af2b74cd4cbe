import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
export const realClock = {
    now: () => Date.now(),
    after: (ms, signal) => sleep(ms, undefined, { signal }),
};
function hostEnv() {
    const env = {};
    for (const [k, v] of Object.entries(process.env))
        if (v !== undefined)
            env[k] = v;
    return env;
}
export async function fakeContext(overrides = {}) {
    const root = await mkdtemp(path.join(tmpdir(), 'floe-node-'));
    const workspace = path.join(root, 'ws');
    const cacheDir = path.join(root, 'cache');
    await Promise.all([mkdir(workspace), mkdir(cacheDir)]);
    const lines = [];
    const pgids = [];
    const ctx = {
        ref: { flowRef: { id: 'build', ver: 1 }, run: 'h1-1' },
        nodeId: 'task',
        workspace,
        cacheDir,
        env: hostEnv(),
        vars: {},
        clock: realClock,
        output: (stream, line) => lines.push({ stream, line, at: Date.now() }),
        onProcess: (pgid) => pgids.push(pgid),
        requestData: () => Promise.reject(new Error('requestData is not available in node tests')),
        ...overrides,
        lines,
        pgids,
        linesOf: (stream) => lines.filter((l) => l.stream === stream).map((l) => l.line),
        cleanup: () => rm(root, { recursive: true, force: true }),
    };
    return ctx;
}
/** Records check.error / check.warn calls from parseOpts. */
export function recordingCheck() {
    const errors = [];
    const warnings = [];
    return {
        errors,
        warnings,
        error: (f, m) => errors.push(`${f ?? ''}: ${m}`),
        warn: (f, m) => warnings.push(`${f ?? ''}: ${m}`),
    };
}
/** True while `pid` is a live process (a zombie awaiting its reaper counts as gone). */
export function isAlive(pid) {
    try {
        process.kill(pid, 0);
    }
    catch {
        return false;
    }
    try {
        const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
        return stat !== '' && !stat.startsWith('Z');
    }
    catch {
        return false; // ps exits 1 when the pid is gone
    }
}
/** Pids of the processes in group `pgid`. */
export function groupMembers(pgid) {
    const out = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,stat='], { encoding: 'utf8' });
    return out
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length === 3 && Number(f[1]) === pgid && !f[2].startsWith('Z'))
        .map((f) => Number(f[0]));
}
//# sourceMappingURL=fake-context.js.map