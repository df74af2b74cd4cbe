import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { execa } from 'execa';
// execa ignores `cleanup` for detached processes, so groups still running when this
// process exits are killed here; a crash (SIGKILL of floe) is covered by onStart + the reaper.
const liveGroups = new Set();
let exitHookInstalled = false;
function trackGroup(pgid) {
    if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once('exit', () => {
            for (const g of liveGroups)
                killGroup(g, 'SIGKILL');
        });
    }
    liveGroups.add(pgid);
}
/** Sends `sig` to every process in group `pgid`; false when the group is gone. */
export function killGroup(pgid, sig) {
    try {
        process.kill(-pgid, sig);
        return true;
    }
    catch {
        return false; // ESRCH: nobody left in the group
    }
}
/** Splits a text stream into lines: `\n` ends a line, a trailing `\r` is dropped, a final partial line is flushed. */
export class LineSplitter {
    emit;
    rest = '';
    constructor(emit) {
        this.emit = emit;
    }
    push(chunk) {
        const parts = (this.rest + chunk).split('\n');
        this.rest = parts.pop() ?? '';
        for (const p of parts)
            this.emit(stripCr(p));
    }
    flush() {
        if (this.rest !== '')
            this.emit(stripCr(this.rest));
        this.rest = '';
    }
}
function stripCr(line) {
    return line.endsWith('\r') ? line.slice(0, -1) : line;
}
export function signalStatus(sig) {
    const n = constants.signals[sig];
    return 128 + (n ?? 0);
}
/**
 * Runs one process as the leader of a new process group, streaming its output line by
 * line. Aborting `signal` kills the whole group (SIGTERM, then SIGKILL after the grace).
 * Always resolves, once the process has exited and its output is read.
 */
export async function runInProcessGroup(spec, signal) {
    if (signal.aborted)
        return { status: signalStatus('SIGTERM'), signal: 'SIGTERM', reason: 'cancelled before it started' };
    const child = execa(spec.file, [...spec.args], {
        cwd: spec.cwd,
        env: spec.env,
        extendEnv: false,
        detached: true, // setsid: the child leads a new group, so -pid reaches its whole tree
        cleanup: false,
        stdin: 'ignore',
        buffer: false,
        reject: false,
    });
    const pgid = child.pid;
    if (pgid === undefined) {
        const result = await child;
        return spawnFailure(spec, result.code);
    }
    trackGroup(pgid);
    spec.onStart?.(pgid);
    const splitters = [];
    for (const stream of ['stdout', 'stderr']) {
        const readable = child[stream];
        const splitter = new LineSplitter((line) => spec.onLine(stream, line));
        splitters.push(splitter);
        readable.setEncoding('utf8');
        readable.on('data', (chunk) => splitter.push(chunk));
    }
    let exitCode = null;
    let exitSignal = null;
    let drainTimer;
    let killTimer;
    child.once('exit', (code, sig) => {
        exitCode = code;
        exitSignal = sig;
        // A background grandchild may hold the pipes open forever; stop waiting for it
        // (Go's exec.Cmd.WaitDelay does the same). Destroyed pipes let execa settle.
        drainTimer = setTimeout(() => {
            child.stdout.destroy();
            child.stderr.destroy();
        }, spec.drainMs ?? 2000);
    });
    const onAbort = () => {
        killGroup(pgid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(pgid, 'SIGKILL'), spec.killGraceMs ?? 2000);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
        const result = await child;
        for (const s of splitters)
            s.flush();
        exitCode ??= result.exitCode ?? null;
        exitSignal ??= result.signal ?? null;
    }
    finally {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(drainTimer);
        clearTimeout(killTimer);
        // After an abort nothing of the tree may outlive the task, even what ignored SIGTERM.
        if (signal.aborted)
            killGroup(pgid, 'SIGKILL');
        liveGroups.delete(pgid);
    }
    if (exitSignal !== null)
        return { status: signalStatus(exitSignal), signal: exitSignal };
    return { status: exitCode ?? 1 };
}
async function spawnFailure(spec, code) {
    // spawn reports a missing cwd as ENOENT too; say which one is missing.
    const cwdExists = await stat(spec.cwd).then((s) => s.isDirectory(), () => false);
    if (!cwdExists)
        return { status: 127, reason: `working directory not found: ${spec.cwd}` };
    if (code === 'EACCES')
        return { status: 126, reason: `permission denied: ${spec.file}` };
    if (code === 'ENOENT')
        return { status: 127, reason: `command not found: ${spec.file}` };
    return { status: 127, reason: `could not start ${spec.file}: ${code ?? 'unknown error'}` };
}
//# sourceMappingURL=process-group.js.map