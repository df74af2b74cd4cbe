import { positiveSeconds } from './opts.js';
/** Waits `period` seconds, then succeeds. */
export const timerNode = {
    type: 'timer',
    parseOpts(raw, check) {
        const periodSec = positiveSeconds(raw.period, 'period', check);
        if (periodSec === undefined)
            check.error('period', 'a timer task needs period: the seconds to wait, e.g. period: 30');
        return { periodSec: periodSec ?? 0 };
    },
    async execute(ctx, opts, signal) {
        await ctx.clock.after(opts.periodSec * 1000, signal);
        return { status: 0 };
    },
};
//# sourceMappingURL=timer.js.map