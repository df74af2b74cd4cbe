import { readFileSync } from 'node:fs';
/** True while `pid` runs; a zombie (exited, not yet reaped) counts as gone. */
export function isAlive(pid) {
    try {
        process.kill(pid, 0);
    }
    catch {
        return false;
    }
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    }
    catch {
        return false;
    }
}
/** Waits up to `ms` for `pid` to be gone; true if it went. */
export async function waitGone(pid, ms = 5_000) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
        if (!isAlive(pid))
            return true;
        await new Promise((r) => setTimeout(r, 50));
    }
    return !isAlive(pid);
}
//# sourceMappingURL=proc.js.map