/** Kills a process group a crashed host left behind; a group already gone is fine. */
export const processReaper = {
    kill(pgid) {
        if (!Number.isInteger(pgid) || pgid <= 1)
            return;
        try {
            process.kill(-pgid, 'SIGKILL');
        }
        catch {
            // ESRCH: the group has already exited
        }
    },
};
//# sourceMappingURL=reaper.js.map