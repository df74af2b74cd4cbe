import type { NodeListing, TriggerListing } from '../api-types.js';

/** One box of a flow's graph: a trigger (a source), a task, a merge, or an end task. */
export interface GraphVertex {
  /** Unique within the graph: `t:<trigger id>` or `n:<node id>` (a node may share a trigger's id). */
  key: string;
  id: string;
  kind: 'trigger' | 'task' | 'merge' | 'end';
}

/** Who starts whom: an arrow from the emitter of a tag to a node that listens for it. */
export interface GraphEdge {
  from: string;
  to: string;
  /** The tags the arrow stands for (`task.test.3`); two tags of one node to one listener share an arrow. */
  tags: string[];
  /** What the arrow says beside it: the tags' suffixes other than `good` (`bad`, `3`). */
  label: string;
}

/** A flow's graph, as the hub routes its events (src/config/graph.ts, describeFlowGraph). */
export interface FlowEdges {
  vertices: GraphVertex[];
  edges: GraphEdge[];
}

/** Stands for the triggers when the flow lists none (a run of a flow-file flow still starts on trigger.good). */
export const ANY_TRIGGER = 't:';

/**
 * `task.sign-off.good` -> task / sign-off / good. Ids hold no dots, so the middle is the id.
 * A copy of parseTag in src/config/tags.ts: the page cannot import the host's runtime code.
 */
export function parseTag(tag: string): { kind: 'trigger' | 'task' | 'merge' | 'other'; id: string; suffix: string } {
  const first = tag.indexOf('.');
  const last = tag.lastIndexOf('.');
  const head = tag.slice(0, first);
  if (tag === 'trigger.good' || head === 'trigger') return { kind: 'trigger', id: '', suffix: tag.slice(first + 1) };
  if (first > 0 && last > first && (head === 'task' || head === 'merge')) {
    return { kind: head, id: tag.slice(first + 1, last), suffix: tag.slice(last + 1) };
  }
  return { kind: 'other', id: '', suffix: '' };
}

/** The tags a node listens for: a task's `listen`, a merge's `wait`. */
export function listenedTags(n: NodeListing): string[] {
  if (n.class === 'merge') return n.wait ?? [];
  return n.listen ? [n.listen] : [];
}

export function vertexKind(n: NodeListing): GraphVertex['kind'] {
  if (n.class === 'merge') return 'merge';
  return n.type === 'end' ? 'end' : 'task';
}

/**
 * The flow's vertices and arrows. `trigger.good` comes from every trigger; `task.<id>.*` from the
 * task, `merge.<id>.good` from the merge. A tag no node of the flow emits draws no arrow (`floe
 * check` reports it).
 */
export function flowEdges(triggers: readonly Pick<TriggerListing, 'id'>[], nodes: readonly NodeListing[]): FlowEdges {
  const vertices: GraphVertex[] = triggers.map((t) => ({ key: `t:${t.id}`, id: t.id, kind: 'trigger' }));
  const byId = new Map<string, NodeListing>();
  for (const n of nodes) {
    if (byId.has(n.id)) continue;
    byId.set(n.id, n);
    vertices.push({ key: `n:${n.id}`, id: n.id, kind: vertexKind(n) });
  }
  const edges = new Map<string, GraphEdge>();
  const link = (from: string, to: string, tag: string): void => {
    const k = `${from}\n${to}`;
    const e = edges.get(k) ?? { from, to, tags: [], label: '' };
    if (!e.tags.includes(tag)) e.tags.push(tag);
    edges.set(k, e);
  };
  let anyTrigger = false;
  for (const n of byId.values()) {
    const to = `n:${n.id}`;
    for (const tag of listenedTags(n)) {
      const t = parseTag(tag);
      if (t.kind === 'trigger') {
        if (t.suffix !== 'good') continue;
        if (triggers.length === 0) {
          anyTrigger = true;
          link(ANY_TRIGGER, to, tag);
        } else for (const tr of triggers) link(`t:${tr.id}`, to, tag);
      } else if (t.kind === 'task' || t.kind === 'merge') {
        const from = byId.get(t.id);
        if (!from || (from.class === 'merge') !== (t.kind === 'merge')) continue;
        link(`n:${from.id}`, to, tag);
      }
    }
  }
  if (anyTrigger) vertices.unshift({ key: ANY_TRIGGER, id: 'trigger', kind: 'trigger' });
  for (const e of edges.values()) {
    e.label = e.tags
      .map((tag) => parseTag(tag).suffix)
      .filter((s) => s !== 'good')
      .join(', ');
  }
  return { vertices, edges: [...edges.values()] };
}
