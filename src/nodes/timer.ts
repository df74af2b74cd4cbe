import type { NodeType } from './node-type.js';
import { positiveSeconds } from './opts.js';

export interface TimerOpts {
  periodSec: number;
}

/** Waits `period` seconds, then succeeds. */
export const timerNode: NodeType<TimerOpts> = {
  type: 'timer',
  parseOpts(raw, check) {
    for (const k of Object.keys(raw)) if (!['period'].includes(k)) check.warn(k, 'unknown option');
    const periodSec = positiveSeconds(raw.period, 'period', check);
    if (periodSec === undefined) check.error('period', 'a timer task needs period: the seconds to wait, e.g. period: 30');
    return { periodSec: periodSec ?? 0 };
  },
  async execute(ctx, opts, signal) {
    await ctx.clock.after(opts.periodSec * 1000, signal);
    return { status: 0 };
  },
};
