import { setTimeout as sleep } from 'node:timers/promises';
export const realClock = {
    now: () => Date.now(),
    after: (ms, signal) => sleep(ms, undefined, { signal }),
};
//# sourceMappingURL=real-clock.js.map