import type { MergeConfig, MergeType, NodeConfig, TaskConfig } from './schema.js';
import type { NodeRegistry } from '../nodes/node-type.js';
import { FieldReader, childPath, optsCheckAt, readNamed } from './field-reader.js';
import type { Named } from './field-reader.js';
import { entryOf, toPlain } from './load.js';
import type { Pos, TreeMap, TreeNode } from './load.js';
import { didYouMean } from './suggest.js';
import { quoteValue } from '../quote-value.js';

export const TASK_KEYS = ['id', 'name', 'class', 'listen', 'type', 'good', 'ignore-fail', 'use-status', 'opts'] as const;
export const MERGE_KEYS = ['id', 'name', 'class', 'wait', 'type'] as const;
export const NODE_CLASSES = ['task', 'merge'] as const;
export const MERGE_TYPES: readonly MergeType[] = ['all', 'any'];

/** Task types of the Go floe that this version does not run, and what to use instead. */
const UNSUPPORTED_TASKS: Readonly<Record<string, string>> = {
  'git-merge':
    'task type "git-merge" is not supported by this version; use a git-checkout task, then an exec task listening to it that fetches and merges the other ref (e.g. opts: {shell: "git fetch --unshallow origin {{from-ref}} && git merge FETCH_HEAD", sub-dir: <the checkout dir>})',
};

/** Task fields that mean nothing on a merge. */
const TASK_ONLY_ON_MERGE = ['good', 'ignore-fail', 'use-status', 'opts'];

/** A task or merge as read, with where its tags were written, for the flow's tag checks. */
export interface PlacedNode {
  node: NodeConfig;
  named: Named;
  path: string;
  /** Tasks: where `listen` was written; undefined when it is missing or not a string. */
  listenPos?: Pos;
  /** Merges: where each `wait` entry was written. */
  waitPos: Pos[];
  /** Problems were found in this node, so tag checks on it would only repeat them. */
  hasErrors: boolean;
}

/** Read one entry of a flow's `tasks` (task or merge by `class`) or `merges` list. */
export function readNode(
  r: FieldReader,
  item: TreeNode,
  path: string,
  list: 'tasks' | 'merges',
  registry: NodeRegistry,
): PlacedNode | undefined {
  const map = r.asMap(item, path, list === 'tasks' ? 'a task' : 'a merge');
  if (map === undefined) return undefined;
  const before = countErrors(r);
  const cls = r.given(map, 'class') ? r.oneOf(map, path, 'class', NODE_CLASSES) : list === 'tasks' ? 'task' : 'merge';
  if (list === 'merges' && cls === 'task') {
    r.error(entryOf(map, 'class')!.value.pos, childPath(path, 'class'), 'merges holds only merges; move this task to tasks');
    return undefined;
  }
  const named = readNamed(r, map, path, cls === 'merge' ? 'a merge' : 'a task');
  const placed = cls === 'merge' ? readMerge(r, map, path, named) : cls === 'task' ? readTask(r, map, path, named, registry) : undefined;
  if (placed === undefined) return undefined;
  placed.hasErrors = countErrors(r) > before;
  return placed;
}

function countErrors(r: FieldReader): number {
  return r.problems.filter((p) => p.severity === 'error').length;
}

function readTask(r: FieldReader, map: TreeMap, path: string, named: Named | undefined, registry: NodeRegistry): PlacedNode | undefined {
  r.checkKeys(map, path, TASK_KEYS, 'a task', ['wait']);
  const listenEntry = entryOf(map, 'listen');
  let listen: string | undefined;
  if (listenEntry?.value.kind === 'seq') {
    r.error(
      listenEntry.value.pos,
      childPath(path, 'listen'),
      'listen must be one tag (a string); to wait for several tags use a merge (class: merge, wait: [...])',
    );
  } else {
    listen = r.str(map, path, 'listen');
    if (r.given(map, 'listen') === undefined) {
      const hint = entryOf(map, 'wait') ? '; to wait for tags, set class: merge' : ', e.g. listen: trigger.good';
      r.missing(map, path, 'listen', `a task needs listen: the event tag that starts it${hint}`);
    }
  }
  if (entryOf(map, 'wait') && listenEntry) {
    r.warn(
      entryOf(map, 'wait')!.keyPos,
      childPath(path, 'wait'),
      'wait is for merges (class: merge); a task only listens, so wait is ignored',
    );
  }
  const type = readTaskType(r, map, path, registry);
  const good = r.intList(map, path, 'good') ?? [0];
  const ignoreFail = r.bool(map, path, 'ignore-fail') ?? false;
  const useStatus = r.bool(map, path, 'use-status') ?? false;
  if (ignoreFail && useStatus) {
    r.error(
      entryOf(map, 'use-status')!.value.pos,
      childPath(path, 'use-status'),
      'ignore-fail and use-status cannot both be true: ignore-fail always emits .good, use-status emits the exit status',
    );
  }
  const optsEntry = entryOf(map, 'opts');
  let opts: Record<string, unknown> = {};
  let optsShaped = true;
  if (r.given(map, 'opts')) {
    const m = r.asMap(optsEntry!.value, childPath(path, 'opts'), 'opts');
    if (m) opts = toPlain(m) as Record<string, unknown>;
    optsShaped = m !== undefined;
  }
  const nodeType = type === undefined ? undefined : registry.get(type);
  if (nodeType && optsShaped) {
    const check = optsCheckAt(r, optsEntry, map.pos, path);
    try {
      nodeType.parseOpts(opts, check);
    } catch (err) {
      // parseOpts should report through `check`; a throw is its bug, not a reason to stop validating.
      check.error(undefined, `${type} opts could not be checked: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (named === undefined) return undefined;
  const task: TaskConfig = {
    id: named.id,
    name: named.name,
    class: 'task',
    listen: listen ?? '',
    type: type ?? '',
    good,
    ignoreFail,
    useStatus,
    opts,
    at: r.at(map.pos, path),
  };
  const listenPos = listen === undefined ? undefined : listenEntry!.value.pos;
  return { node: task, named, path, listenPos, waitPos: [], hasErrors: false };
}

/** The task's type when the registry knows it; unknown and unsupported types are errors. */
function readTaskType(r: FieldReader, map: TreeMap, path: string, registry: NodeRegistry): string | undefined {
  const known = registry.types();
  const type = r.str(map, path, 'type');
  if (type === undefined) {
    if (r.given(map, 'type') === undefined) r.missing(map, path, 'type', `a task needs a type (known: ${known.join(', ')})`);
    return undefined;
  }
  if (registry.get(type)) return type;
  const pos = entryOf(map, 'type')!.value.pos;
  const p = childPath(path, 'type');
  const unsupported = UNSUPPORTED_TASKS[type];
  if (unsupported !== undefined) r.error(pos, p, unsupported);
  else if (type === 'all' || type === 'any') r.error(pos, p, `task type "${type}" is a merge type; add class: merge to make this a merge`);
  else r.error(pos, p, `unknown task type ${quoteValue(type)} (known: ${known.join(', ')})${didYouMean(type, known)}`);
  // The node still exists and emits its tags; only its type is wrong, so listeners are not blamed.
  return type;
}

function readMerge(r: FieldReader, map: TreeMap, path: string, named: Named | undefined): PlacedNode | undefined {
  r.checkKeys(map, path, MERGE_KEYS, 'a merge', ['listen', ...TASK_ONLY_ON_MERGE]);
  const listen = entryOf(map, 'listen');
  if (listen) {
    const tag = listen.value.kind === 'scalar' ? ` [${String(listen.value.value)}]` : '';
    r.error(
      listen.keyPos,
      childPath(path, 'listen'),
      `a merge does not listen; it waits for the tags in wait (e.g. wait:${tag || ' [task.a.good, task.b.good]'})`,
    );
  }
  for (const key of TASK_ONLY_ON_MERGE) {
    const e = entryOf(map, key);
    if (e) r.warn(e.keyPos, childPath(path, key), `${key} is for tasks; a merge ignores it`);
  }
  const type = r.oneOf(map, path, 'type', MERGE_TYPES) ?? 'all';
  const waitEntry = entryOf(map, 'wait');
  const wait = r.strList(map, path, 'wait');
  if (r.given(map, 'wait') === undefined || (waitEntry?.value.kind === 'seq' && waitEntry.value.items.length === 0)) {
    r.missing(map, path, 'wait', 'merge without wait: a merge needs wait, a non-empty list of tags, e.g. wait: [task.a.good, task.b.good]');
  }
  if (named === undefined) return undefined;
  const merge: MergeConfig = { id: named.id, name: named.name, class: 'merge', wait: wait ?? [], type, at: r.at(map.pos, path) };
  const waitPos = wait === undefined || waitEntry?.value.kind !== 'seq' ? [] : waitEntry.value.items.map((i) => i.pos);
  return { node: merge, named, path, waitPos, hasErrors: false };
}
