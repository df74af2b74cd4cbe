export function manualClock(start = 1_700_000_000_000) {
    let now = start;
    const timers = [];
    // Lets the promise chains that a fired timer starts run before the next timer fires.
    const settle = () => new Promise((r) => setImmediate(r));
    return {
        now: () => now,
        after(ms, signal) {
            return new Promise((resolve, reject) => {
                if (signal?.aborted)
                    return reject(abortError());
                const t = { due: now + Math.max(0, ms), resolve };
                timers.push(t);
                signal?.addEventListener('abort', () => {
                    const i = timers.indexOf(t);
                    if (i >= 0)
                        timers.splice(i, 1);
                    reject(abortError());
                }, { once: true });
            });
        },
        async advance(ms) {
            const end = now + ms;
            await settle();
            for (;;) {
                timers.sort((a, b) => a.due - b.due);
                const next = timers[0];
                if (!next || next.due > end)
                    break;
                timers.shift();
                now = next.due;
                next.resolve();
                await settle();
            }
            now = end;
            await settle();
        },
        pendingTimers: () => timers.length,
    };
}
export function abortError() {
    const e = new Error('aborted');
    e.name = 'AbortError';
    return e;
}
//# sourceMappingURL=manual-clock.js.map