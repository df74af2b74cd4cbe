import type { OptsCheck } from './node-type.js';
import { checkTemplate } from './template.js';

/** A positive number of seconds, or undefined when absent; problems go to `check`. */
export function positiveSeconds(v: unknown, field: string, check: OptsCheck): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
    check.error(field, `must be a positive number of seconds, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return n;
}

/** A non-empty string option that must parse as a template, or undefined when absent. */
export function templateOpt(raw: Record<string, unknown>, key: string, check: OptsCheck): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.trim() === '') {
    check.error(key, 'must be a non-empty string');
    return undefined;
  }
  const problem = checkTemplate(v);
  if (problem) check.error(key, `bad template: ${problem}`);
  return v;
}
