import type { NodeRegistry, NodeType, OptsCheck } from '../../src/nodes/node-type.js';
import { parseForm } from '../../src/config/form.js';

/** A stand-in for src/nodes/index.ts: the real types' names with small opts checks. */
function fakeType(type: string, parseOpts: (raw: Record<string, unknown>, check: OptsCheck) => unknown, endsRun = false): NodeType {
  return {
    type,
    endsRun,
    parseOpts,
    execute: () => Promise.resolve({ status: 0 }),
  };
}

const none = (): unknown => ({});

export const fakeRegistry: NodeRegistry = (() => {
  const types = new Map<string, NodeType>([
    [
      'exec',
      fakeType('exec', (raw, check) => {
        if (raw.cmd === undefined && raw.shell === undefined) check.error(undefined, 'exec needs cmd or shell');
        if (raw.cmd !== undefined && typeof raw.cmd !== 'string') check.error('cmd', 'cmd must be a string');
        if (raw.args !== undefined && !Array.isArray(raw.args)) check.error('args', 'args must be a list of strings');
        return raw;
      }),
    ],
    [
      'fetch',
      fakeType('fetch', (raw, check) => {
        if (typeof raw.url !== 'string') check.error('url', 'fetch needs url');
        return raw;
      }),
    ],
    [
      'git-checkout',
      fakeType('git-checkout', (raw, check) => {
        if (typeof raw['url'] !== 'string') check.error('url', 'git-checkout needs url');
        return raw;
      }),
    ],
    ['data', fakeType('data', (raw, check) => parseForm(raw.form, check, 'form'))],
    [
      'timer',
      fakeType('timer', (raw, check) => {
        if (typeof raw.period !== 'number') check.error('period', 'timer needs period (seconds)');
        return raw;
      }),
    ],
    ['end', fakeType('end', none, true)],
  ]);
  return {
    get: (type) => types.get(type),
    types: () => [...types.keys()],
  };
})();
