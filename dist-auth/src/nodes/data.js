import { parseForm } from '../config/form.js';
import { positiveSeconds } from './opts.js';
/** Pauses its run until someone answers its form (through the hub's answerData). */
export const dataNode = {
    type: 'data',
    parseOpts(raw, check) {
        const form = parseForm(raw.form, check, 'form') ?? { title: 'Data', fields: [] };
        return { form, timeoutSec: positiveSeconds(raw.timeout, 'timeout', check) };
    },
    async execute(ctx, opts, signal) {
        if (opts.timeoutSec === undefined) {
            const a = await ctx.requestData(opts.form);
            return { status: 0, values: a.values, answeredBy: a.by };
        }
        const timer = new AbortController();
        signal.addEventListener('abort', () => timer.abort(), { once: true });
        const expired = ctx.clock.after(opts.timeoutSec * 1000, timer.signal).then(() => 'expired');
        try {
            const first = await Promise.race([ctx.requestData(opts.form), expired]);
            if (first === 'expired')
                return { status: 1, reason: `no answer within ${opts.timeoutSec}s` };
            return { status: 0, values: first.values, answeredBy: first.by };
        }
        finally {
            timer.abort();
            expired.catch(() => { });
        }
    },
};
//# sourceMappingURL=data.js.map