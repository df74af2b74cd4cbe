import type { FlowConfig, NodeConfig, TaskConfig } from './schema.js';
import { isSystemTag } from '../model/events.js';
import { closest } from './suggest.js';
import { quoteValue } from '../quote-value.js';

/** Whether a task type ends the run when reached (such tasks emit nothing). */
export type EndsRun = (type: string) => boolean;

export interface ParsedTag {
  kind: 'trigger' | 'task' | 'merge' | 'other';
  id: string;
  suffix: string;
}

/** `task.sign-off.good` -> task / sign-off / good. Ids hold no dots, so the middle is the id. */
export function parseTag(tag: string): ParsedTag {
  const first = tag.indexOf('.');
  const last = tag.lastIndexOf('.');
  const head = tag.slice(0, first);
  if (tag === 'trigger.good' || head === 'trigger') return { kind: 'trigger', id: '', suffix: tag.slice(first + 1) };
  if (first > 0 && last > first && (head === 'task' || head === 'merge')) {
    return { kind: head, id: tag.slice(first + 1, last), suffix: tag.slice(last + 1) };
  }
  return { kind: 'other', id: '', suffix: '' };
}

const STATUS = /^\d+$/;

/** Whether `node` can ever emit `tag`. */
export function canEmit(node: NodeConfig, tag: string, endsRun: EndsRun): boolean {
  const t = parseTag(tag);
  if (node.class === 'merge') return t.kind === 'merge' && t.id === node.id && t.suffix === 'good';
  if (t.kind !== 'task' || t.id !== node.id || endsRun(node.type)) return false;
  if (node.useStatus) return STATUS.test(t.suffix);
  return t.suffix === 'good' || (t.suffix === 'bad' && !node.ignoreFail);
}

/** Whether some node of the flow (triggers included) can ever emit `tag`. */
export function isEmittable(flow: FlowConfig, tag: string, endsRun: EndsRun): boolean {
  return tag === 'trigger.good' || flow.nodes.some((n) => canEmit(n, tag, endsRun));
}

/**
 * Tags a node may emit, for listing and suggestions. A use-status task's statuses are
 * open-ended: its `good` statuses stand for the whole set.
 */
export function sampleTags(node: NodeConfig, endsRun: EndsRun): string[] {
  if (node.class === 'merge') return [`merge.${node.id}.good`];
  if (endsRun(node.type)) return [];
  if (node.useStatus) return node.good.map((s) => `task.${node.id}.${s}`);
  return node.ignoreFail ? [`task.${node.id}.good`] : [`task.${node.id}.good`, `task.${node.id}.bad`];
}

export interface TagVerdict {
  severity: 'error' | 'warning';
  message: string;
}

/**
 * Why no node of `flow` can emit `tag` (with the closest tag that could be meant), or
 * undefined when the tag is fine. Listening to `.bad` of an ignore-fail task is legal, so
 * it is only a warning. Without `suggest` the typo hint, which compares `tag` with every tag
 * of the flow, is left out.
 */
export function judgeTag(flow: FlowConfig, tag: string, endsRun: EndsRun, suggest = true): TagVerdict | undefined {
  if (isSystemTag(tag)) {
    return { severity: 'error', message: `${quoteValue(tag)} is a system event; nodes never listen to sys.* tags` };
  }
  if (isEmittable(flow, tag, endsRun)) return undefined;
  const t = parseTag(tag);
  const node = flow.nodes.find((n) => n.id === t.id);
  if (node?.class === 'task' && t.kind === 'task' && t.suffix === 'bad' && node.ignoreFail && !endsRun(node.type)) {
    return {
      severity: 'warning',
      message: `task ${node.id} has ignore-fail, so it never emits ${quoteValue(tag)}; what waits for it never runs`,
    };
  }
  const { why, instead } = whyNotEmitted(flow, t, node, endsRun);
  const candidates = (): string[] => ['trigger.good', ...flow.nodes.flatMap((n) => sampleTags(n, endsRun))];
  const meant = instead !== undefined && isEmittable(flow, instead, endsRun) ? instead : undefined;
  const near = meant ?? (suggest ? closest(tag, candidates()) : undefined);
  const hint = near === undefined ? '' : `; did you mean ${quoteValue(near)}?`;
  return { severity: 'error', message: `no node in this flow can emit ${quoteValue(tag)}: ${why}${hint}` };
}

/** Why a tag is not emitted, and the tag that was most likely meant when the reason shows it. */
interface Reason {
  why: string;
  instead?: string;
}

function whyNotEmitted(flow: FlowConfig, t: ParsedTag, node: NodeConfig | undefined, endsRun: EndsRun): Reason {
  if (t.kind === 'other') return { why: 'tags look like trigger.good, task.<id>.good, task.<id>.bad or merge.<id>.good' };
  if (t.kind === 'trigger') return { why: 'triggers emit only trigger.good', instead: 'trigger.good' };
  if (node === undefined) {
    if (flow.triggers.some((tr) => tr.id === t.id)) {
      return { why: `${quoteValue(t.id)} is a trigger, and triggers emit trigger.good`, instead: 'trigger.good' };
    }
    return { why: `there is no task or merge with id ${quoteValue(t.id)}` };
  }
  const good = `${node.class}.${node.id}.good`;
  if (node.class === 'merge') {
    const why = t.kind === 'task' ? `${node.id} is a merge; it emits ${good}` : 'a merge emits only merge.<id>.good';
    return { why, instead: good };
  }
  if (t.kind === 'merge') return { why: `${node.id} is a task, not a merge; it emits ${good}`, instead: good };
  return whyTaskDoesNotEmit(node, t.suffix, endsRun);
}

function whyTaskDoesNotEmit(task: TaskConfig, suffix: string, endsRun: EndsRun): Reason {
  const id = task.id;
  if (endsRun(task.type)) {
    const what = task.type === 'end' ? 'an end task' : `a ${task.type} task, which ends the run`;
    return { why: `${id} is ${what}: reaching it ends the run, and it emits nothing` };
  }
  if (task.useStatus) {
    return {
      why: `task ${id} has use-status, so it emits its exit status (task.${id}.0, task.${id}.1, ...) instead of good or bad`,
      instead: suffix === 'good' ? `task.${id}.0` : undefined,
    };
  }
  if (STATUS.test(suffix)) {
    return {
      why: `task ${id} emits only task.${id}.good and task.${id}.bad; set use-status: true on it to emit exit statuses`,
      instead: suffix === '0' ? `task.${id}.good` : `task.${id}.bad`,
    };
  }
  return { why: 'a task emits only task.<id>.good and task.<id>.bad' };
}

/**
 * Nodes that can never run: listening to tags that only unreachable nodes (or cycles) emit.
 * Everything starts from trigger.good; `assumeReached` nodes count as running.
 */
export function unreachableNodes(flow: FlowConfig, endsRun: EndsRun, assumeReached: NodeConfig[] = []): NodeConfig[] {
  // A worklist: each listen or wait tag is filed under the id it names and checked only when a
  // node of that id is reached, so a flow of thousands of nodes takes one pass, not one per node.
  interface Waiting {
    node: NodeConfig;
    /** Tags still to fire before the node runs: all of a merge's for type all, else one. */
    left: number;
  }
  interface Entry {
    tag: string;
    waiting: Waiting;
    fired: boolean;
  }
  const byId = new Map<string, Entry[]>();
  const reached = new Set<NodeConfig>();
  const queue: NodeConfig[] = [];
  const reach = (n: NodeConfig): void => {
    if (reached.has(n)) return;
    reached.add(n);
    queue.push(n);
  };
  const fire = (e: Entry): void => {
    if (e.fired) return;
    e.fired = true;
    e.waiting.left -= 1;
    if (e.waiting.left === 0) reach(e.waiting.node);
  };
  const started: Entry[] = [];
  const ready: NodeConfig[] = [...assumeReached];
  for (const node of flow.nodes) {
    const tags = node.class === 'task' ? [node.listen] : node.wait;
    const waiting: Waiting = { node, left: node.class === 'merge' && node.type === 'all' ? tags.length : 1 };
    if (waiting.left === 0) ready.push(node);
    for (const tag of tags) {
      const e: Entry = { tag, waiting, fired: false };
      if (tag === 'trigger.good') {
        started.push(e);
        continue;
      }
      const id = parseTag(tag).id;
      const list = byId.get(id);
      if (list) list.push(e);
      else byId.set(id, [e]);
    }
  }
  for (const n of ready) reach(n);
  for (const e of started) fire(e);
  // The array iterator reads the length at each step, so emitters fired on the way are visited too.
  for (const emitter of queue) {
    for (const e of byId.get(emitter.id) ?? []) if (canEmit(emitter, e.tag, endsRun)) fire(e);
  }
  return flow.nodes.filter((n) => !reached.has(n));
}

/** Two tags of one task in an `all` merge can never both come: a task emits one tag per run. */
export function exclusiveWaits(wait: string[]): [string, string] | undefined {
  const seen = new Map<string, string>();
  for (const tag of wait) {
    const t = parseTag(tag);
    if (t.kind !== 'task') continue;
    const prev = seen.get(t.id);
    if (prev !== undefined && prev !== tag) return [prev, tag];
    seen.set(t.id, tag);
  }
  return undefined;
}
