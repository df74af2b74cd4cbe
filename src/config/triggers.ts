import type { FormConfig } from '../model/form.js';
import type { TriggerConfig } from './schema.js';
import type { TriggerType } from '../model/run.js';
import { FieldReader, childPath, optsCheckAt, readNamed } from './field-reader.js';
import type { Named } from './field-reader.js';
import { entryOf, toPlain } from './load.js';
import type { TreeEntry, TreeMap, TreeNode } from './load.js';
import { parseForm } from './form.js';
import { didYouMean } from './suggest.js';
import { quoteValue } from '../quote-value.js';

export const TRIGGER_KEYS = ['id', 'name', 'type', 'opts'] as const;
export const TRIGGER_TYPES: readonly TriggerType[] = ['data', 'timer', 'poll-git'];

/** The opts each trigger type reads. */
export const TRIGGER_OPTS_KEYS: Readonly<Record<TriggerType, readonly string[]>> = {
  data: ['form'],
  timer: ['period'],
  'poll-git': ['url', 'period', 'refs', 'exclude-refs'],
};

/** Seconds between polls of a poll-git trigger without `period`. */
export const DEFAULT_POLL_SEC = 60;
/** Refs a poll-git trigger without `refs` watches: every branch. */
export const DEFAULT_POLL_REFS: readonly string[] = ['refs/heads/*'];

/** Trigger types of the Go floe that this version does not run, and what to use instead. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  'git-push':
    'trigger type "git-push" is not supported by this version; use type: poll-git (opts: url, refs, period) to start runs when the repository changes',
};

/** A trigger as read: its id (for the flow's unique-id check) even when the rest is wrong. */
export interface ReadTrigger {
  named?: Named;
  path: string;
  trigger?: TriggerConfig;
}

/** Read one entry of a flow's `triggers` list. */
export function readTrigger(r: FieldReader, node: TreeNode, path: string): ReadTrigger {
  const map = r.asMap(node, path, 'a trigger');
  if (map === undefined) return { path };
  r.checkKeys(map, path, TRIGGER_KEYS, 'a trigger');
  const named = readNamed(r, map, path, 'a trigger');
  const type = readTriggerType(r, map, path);
  const optsEntry = entryOf(map, 'opts');
  const opts = r.given(map, 'opts') ? r.asMap(optsEntry!.value, childPath(path, 'opts'), 'opts') : undefined;
  const optsMisshapen = r.given(map, 'opts') !== undefined && opts === undefined;
  if (type === undefined || named === undefined || optsMisshapen) return { named, path };
  const before = r.problems.filter((p) => p.severity === 'error').length;
  const optsPath = childPath(path, 'opts');
  if (opts) r.checkKeys(opts, optsPath, TRIGGER_OPTS_KEYS[type], `${type} trigger opts`);
  const empty: TreeMap = { kind: 'map', entries: [], pos: map.pos };
  const o = opts ?? empty;
  const trigger: TriggerConfig = { id: named.id, name: named.name, type, opts: {}, at: r.at(map.pos, path) };
  switch (type) {
    case 'data': {
      const form = readForm(r, optsEntry, map, path);
      if (form) {
        trigger.form = form;
        trigger.opts = { form: toPlain(entryOf(o, 'form')!.value) };
      }
      break;
    }
    case 'timer': {
      const period = r.positive(o, optsPath, 'period', 'seconds');
      if (r.given(o, 'period') === undefined) {
        r.missing(o, optsPath, 'period', 'a timer trigger needs opts.period: seconds between runs, e.g. period: 300');
      }
      trigger.periodSec = period;
      trigger.opts = { period };
      break;
    }
    case 'poll-git': {
      const url = r.str(o, optsPath, 'url');
      if (r.given(o, 'url') === undefined) {
        r.missing(o, optsPath, 'url', 'a poll-git trigger needs opts.url: the repository to watch');
      }
      const period = r.positive(o, optsPath, 'period', 'seconds') ?? DEFAULT_POLL_SEC;
      const refs = readRefs(r, o, optsPath, 'refs') ?? [...DEFAULT_POLL_REFS];
      const excludeRefs = readRefs(r, o, optsPath, 'exclude-refs') ?? [];
      trigger.periodSec = period;
      trigger.opts = { url, period, refs, 'exclude-refs': excludeRefs };
      break;
    }
  }
  const after = r.problems.filter((p) => p.severity === 'error').length;
  return after === before ? { named, path, trigger } : { named, path };
}

function readTriggerType(r: FieldReader, map: TreeMap, path: string): TriggerType | undefined {
  const type = r.str(map, path, 'type');
  const p = childPath(path, 'type');
  if (type === undefined) {
    if (r.given(map, 'type') === undefined) r.missing(map, path, 'type', `a trigger needs a type (${TRIGGER_TYPES.join(', ')})`);
    return undefined;
  }
  if ((TRIGGER_TYPES as readonly string[]).includes(type)) return type as TriggerType;
  const pos = entryOf(map, 'type')!.value.pos;
  const unsupported = UNSUPPORTED[type];
  if (unsupported !== undefined) r.error(pos, p, unsupported);
  else r.error(pos, p, `unknown trigger type ${quoteValue(type)} (known: ${TRIGGER_TYPES.join(', ')})${didYouMean(type, TRIGGER_TYPES)}`);
  return undefined;
}

function readForm(r: FieldReader, optsEntry: TreeEntry | undefined, owner: TreeMap, path: string): FormConfig | undefined {
  if (optsEntry === undefined || optsEntry.value.kind !== 'map') return undefined;
  const formEntry = entryOf(optsEntry.value, 'form');
  if (formEntry === undefined) return undefined;
  const check = optsCheckAt(r, optsEntry, owner.pos, path);
  return parseForm(toPlain(formEntry.value), check, 'form');
}

/** Git ref globs: one string or a list of them. */
function readRefs(r: FieldReader, opts: TreeMap, path: string, key: string): string[] | undefined {
  const refs = r.strList(opts, path, key, true);
  if (refs === undefined) return undefined;
  const e = entryOf(opts, key)!;
  refs.forEach((ref, i) => {
    if (ref.startsWith('refs/')) return;
    const item = (e.value.kind === 'seq' ? e.value.items[i] : undefined) ?? e.value;
    const p = e.value.kind === 'seq' ? childPath(childPath(path, key), i) : childPath(path, key);
    r.warn(
      item.pos,
      p,
      `${quoteValue(ref)} does not start with refs/ and will match no ref; did you mean ${quoteValue(`refs/heads/${ref}`)}?`,
    );
  });
  return refs;
}
