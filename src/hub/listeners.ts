import type { FlowConfig, MergeConfig, TaskConfig } from '../config/schema.js';

/** Who hears a tag in one flow. */
export interface Listeners {
  tasks: TaskConfig[];
  merges: MergeConfig[];
}

const NONE: Listeners = { tasks: [], merges: [] };

/** Tag -> listening nodes, built once per flow config so routing an event is one map lookup. */
export class ListenerIndex {
  private readonly byTag = new Map<string, Listeners>();

  constructor(flow: FlowConfig) {
    for (const node of flow.nodes) {
      if (node.class === 'task') this.entry(node.listen).tasks.push(node);
      else for (const tag of new Set(node.wait)) this.entry(tag).merges.push(node);
    }
  }

  of(tag: string): Listeners {
    return this.byTag.get(tag) ?? NONE;
  }

  private entry(tag: string): Listeners {
    let l = this.byTag.get(tag);
    if (!l) this.byTag.set(tag, (l = { tasks: [], merges: [] }));
    return l;
  }
}

const cache = new WeakMap<FlowConfig, ListenerIndex>();

export function listenersOf(flow: FlowConfig): ListenerIndex {
  let idx = cache.get(flow);
  if (!idx) cache.set(flow, (idx = new ListenerIndex(flow)));
  return idx;
}

/** The tag a finished task emits, and whether that event is good. */
export function taskOutcome(task: TaskConfig, status: number): { tag: string; good: boolean; succeeded: boolean } {
  const succeeded = task.good.includes(status);
  if (task.useStatus) return { tag: `task.${task.id}.${status}`, good: succeeded, succeeded };
  const good = succeeded || task.ignoreFail;
  return { tag: `task.${task.id}.${good ? 'good' : 'bad'}`, good, succeeded };
}
