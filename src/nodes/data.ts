import type { FormConfig } from '../model/form.js';
import { parseForm } from '../config/form.js';
import type { NodeType } from './node-type.js';
import { positiveSeconds } from './opts.js';

export interface DataOpts {
  form: FormConfig;
  /** Seconds to wait for an answer before the task fails; none means wait for ever. */
  timeoutSec?: number;
}

/** Pauses its run until someone answers its form (through the hub's answerData). */
export const dataNode: NodeType<DataOpts> = {
  type: 'data',
  parseOpts(raw, check) {
    for (const k of Object.keys(raw)) if (!['form', 'timeout'].includes(k)) check.warn(k, 'unknown option');
    const form = parseForm(raw.form, check, 'form') ?? { title: 'Data', fields: [] };
    return { form, timeoutSec: positiveSeconds(raw.timeout, 'timeout', check) };
  },
  // The hub owns the wait and its timeout, and rejects the request when the run ends.
  async execute(ctx, opts) {
    const answer = await ctx.requestData(opts.form, opts.timeoutSec === undefined ? undefined : opts.timeoutSec * 1000);
    if (!answer) return { status: 1, reason: `no answer within ${opts.timeoutSec}s` };
    return { status: 0, values: answer.values, answeredBy: answer.by };
  },
};
