import type { PublishedEvent, RunDetail, RunNodeView } from '../api-types.js';

function assertNever(x: never): never {
  throw new Error(`unhandled event ${JSON.stringify(x)}`);
}

function withNode(r: RunDetail, id: string, change: (n: RunNodeView) => RunNodeView): RunDetail | 'reload' {
  const i = r.nodes.findIndex((n) => n.id === id);
  // A node the page does not know (a flow-file's, loaded when the run started): ask for the run again.
  if (i < 0) return 'reload';
  const nodes = r.nodes.slice();
  nodes[i] = change(nodes[i]!);
  return { ...r, nodes };
}

/**
 * What an event of the websocket does to a run's detail: node and run states change in place;
 * what the events do not carry in full (a run leaving the queue, a node the page does not
 * know) asks for the run again. Applying an event twice does no harm. Output lines are not
 * kept here (see run-output.ts).
 */
export function applyRunEvent(r: RunDetail, e: PublishedEvent): RunDetail | 'reload' {
  if (e.kind === 'trigger' || e.ref.run !== r.ref.run) return r;
  switch (e.kind) {
    case 'node-output':
      return r;
    case 'node-start':
      return withNode(r, e.node, (n) => ({
        ...n,
        status: 'running',
        startTime: e.at,
        endTime: undefined,
        exitStatus: undefined,
        emitted: undefined,
        reason: undefined,
        attempts: Math.max(n.attempts, e.attempt),
      }));
    case 'node-end': {
      // An ignore-fail task that failed emits a good tag with a bad status; only the host knows
      // the node's good statuses, so a good tag from a non-zero status is read again.
      if (e.good && e.status !== 0 && e.emitted.endsWith('.good')) return 'reload';
      return withNode(r, e.node, (n) => ({
        ...n,
        status: e.good ? 'good' : 'bad',
        startTime: n.startTime ?? e.at,
        endTime: e.at,
        exitStatus: e.status,
        emitted: e.emitted,
        reason: e.reason,
      }));
    }
    case 'node': {
      // Tasks say how they ended in node-end; a merge that fires says it only here.
      const n = r.nodes.find((x) => x.id === e.node);
      if (!n || n.class !== 'merge') return r;
      if (n.status === 'good' && n.emitted === e.tag) return r;
      return withNode(r, e.node, (m) => ({ ...m, status: 'good', startTime: e.at, endTime: e.at, emitted: e.tag, attempts: 1 }));
    }
    case 'data-required': {
      const next = withNode(r, e.node, (n) => ({ ...n, status: 'waiting-data', startTime: n.startTime ?? e.at }));
      if (next === 'reload') return next;
      const n = next.nodes.find((x) => x.id === e.node)!;
      const ask = { node: e.node, name: n.name || n.id, form: e.form, since: n.startTime ?? e.at };
      const dataWaiting = [...r.dataWaiting.filter((d) => d.node !== e.node), ask];
      return { ...next, dataWaiting };
    }
    case 'data-answered': {
      const next = withNode(r, e.node, (n) => ({
        ...n,
        status: n.status === 'waiting-data' ? 'running' : n.status,
        answeredBy: e.by,
        answeredAt: e.at,
      }));
      if (next === 'reload') return next;
      return { ...next, dataWaiting: r.dataWaiting.filter((d) => d.node !== e.node) };
    }
    case 'activate':
      return { ...r, status: 'running', execHost: e.execHost, workspace: e.workspace, startTime: r.startTime ?? e.at, waiting: undefined };
    case 'pend-waiting':
      return r.status === 'pending' ? { ...r, waiting: e.reason } : r;
    case 'remove-pend':
      // Followed by activate (it started) or end (cancelled while pending).
      return r;
    case 'add-pend':
      return 'reload';
    case 'end': {
      if (r.status === e.status && r.endTime !== undefined) return r;
      const nodes = r.nodes.map((n) =>
        n.status === 'running' || n.status === 'waiting-data' ? { ...n, status: 'stopped' as const, endTime: n.endTime ?? e.at } : n,
      );
      return { ...r, status: e.status, endTime: e.at, reason: e.reason, waiting: undefined, nodes, dataWaiting: [] };
    }
    default:
      return assertNever(e);
  }
}
