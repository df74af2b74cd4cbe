import { readFileSync } from 'node:fs';
import type { ProcessReaper } from '../hub/deps.js';

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}

/** Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), if it exists. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const BOOT = bootId();

/**
 * Kills process groups a run left behind. A group is identified by its leader's boot id and
 * start time: after a reboot nothing is killed, and a pgid whose leader is now some other
 * process is left alone. A pgid with no leader alive cannot have been reused (Linux does not
 * hand out a pid still in use as a group id), so its members are ours.
 */
export const processReaper: ProcessReaper = {
  identify(pgid) {
    const t = startTime(pgid);
    return t === undefined ? undefined : `${BOOT}/${t}`;
  },
  kill(pgid, id) {
    if (!Number.isInteger(pgid) || pgid <= 1) return;
    // Most tasks leave nothing behind: one signal-0 syscall says so, before /proc is read
    // (issue 10: the read was 0.8% of a host's time over 1,000 one-task runs). EPERM means the
    // group is someone else's now, which is left alone too.
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    if (id !== undefined) {
      const [boot, started] = id.split('/');
      if (boot !== BOOT) return;
      const now = startTime(pgid);
      if (now !== undefined && now !== started) return;
    }
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // ESRCH: the group has already exited
    }
  },
};
