import type { ProcessReaper } from '../hub/deps.js';

/** Kills a process group a crashed host left behind; a group already gone is fine. */
export const processReaper: ProcessReaper = {
  kill(pgid) {
    if (!Number.isInteger(pgid) || pgid <= 1) return;
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // ESRCH: the group has already exited
    }
  },
};
