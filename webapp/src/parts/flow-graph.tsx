import dagre from '@dagrejs/dagre';
import { useId, useLayoutEffect, useMemo, useRef } from 'preact/hooks';
import type { NodeListing, NodeViewStatus, RunNodeView, TriggerListing } from '../api-types.js';
import { navigate } from '../router.js';
import { ANY_TRIGGER, flowEdges, type GraphEdge, type GraphVertex } from './flow-edges.js';
import { formatDuration, now, STATUS_LABEL } from './status.js';
import './flow-graph.css';

export type GraphNode = NodeListing & Partial<Pick<RunNodeView, 'status' | 'startTime' | 'endTime' | 'emitted'>>;

export interface FlowGraphProps {
  triggers: TriggerListing[];
  /** The flow's nodes; with a run's `status` and times each is coloured and timed. */
  nodes: GraphNode[];
  /** The node shown as selected (its id). */
  selected?: string;
  /** Makes each node a link (triggers stay plain). */
  nodeHref?: (id: string) => string;
  /** The trigger that started the run: drawn as fired, its arrows as taken. */
  firedTrigger?: string;
}

const NODE_W = 176;
const NODE_H = 52;
/** Characters of a name that fit a box at the graph's font size; longer ones end in an ellipsis. */
const NAME_CHARS = 21;
const LABEL_CHAR_W = 7;

interface Placed {
  vertex: GraphVertex;
  x: number;
  y: number;
}

interface PlacedEdge {
  edge: GraphEdge;
  d: string;
  label?: { x: number; y: number };
}

interface Layout {
  width: number;
  height: number;
  vertices: Placed[];
  edges: PlacedEdge[];
}

/** A smooth path through dagre's points: straight ends, quadratic bends between them. */
function pathOf(points: Array<{ x: number; y: number }>): string {
  if (points.length === 0) return '';
  const f = (n: number) => n.toFixed(1);
  let d = `M${f(points[0]!.x)},${f(points[0]!.y)}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i]!;
    const q = points[i + 1]!;
    d += ` Q${f(p.x)},${f(p.y)} ${f((p.x + q.x) / 2)},${f((p.y + q.y) / 2)}`;
  }
  const last = points[points.length - 1]!;
  return `${d} L${f(last.x)},${f(last.y)}`;
}

/** Lays the graph out left to right. Only the structure counts: live states never move a box. */
function layoutOf(vertices: GraphVertex[], edges: GraphEdge[]): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 16, ranksep: 44, edgesep: 12, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const v of vertices) g.setNode(v.key, { width: NODE_W, height: NODE_H });
  for (const e of edges) {
    const label = e.label ? { width: e.label.length * LABEL_CHAR_W + 10, height: 16, labelpos: 'c' as const } : {};
    g.setEdge(e.from, e.to, label);
  }
  dagre.layout(g);
  const placed: Placed[] = vertices.map((vertex) => {
    const n = g.node(vertex.key) as { x: number; y: number };
    return { vertex, x: n.x - NODE_W / 2, y: n.y - NODE_H / 2 };
  });
  // Tab order follows the drawing: column by column, top to bottom.
  placed.sort((a, b) => a.x - b.x || a.y - b.y);
  const placedEdges: PlacedEdge[] = edges.map((edge) => {
    const l = g.edge(edge.from, edge.to) as { points?: Array<{ x: number; y: number }>; x?: number; y?: number };
    return {
      edge,
      d: pathOf(l.points ?? []),
      label: edge.label && l.x !== undefined && l.y !== undefined ? { x: l.x, y: l.y } : undefined,
    };
  });
  const graph = g.graph() as { width?: number; height?: number };
  return { width: Math.ceil(graph.width ?? 0), height: Math.ceil(graph.height ?? 0), vertices: placed, edges: placedEdges };
}

const GLYPH: Record<string, string> = {
  good: '✓',
  bad: '✗',
  running: '●',
  'waiting-data': '?',
  stopped: '■',
  cancelled: '■',
  'not-started': '○',
};

/** A name cut to fit its box, at a word's end where it can: the cut text stays words of the accessible name. */
function shorten(s: string): string {
  if (s.length <= NAME_CHARS) return s;
  const cut = s.slice(0, NAME_CHARS - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > NAME_CHARS / 2 ? cut.slice(0, space) : cut}…`;
}

function nodeDuration(n: GraphNode, at: number): string | undefined {
  if (n.startTime === undefined || n.status === 'not-started') return undefined;
  return formatDuration((n.endTime ?? at) - n.startTime);
}

/** What a static graph (no run) says under a node's name. */
function kindText(n: GraphNode): string {
  if (n.class === 'merge') return `merge (${n.mergeType ?? 'all'})`;
  return n.type ?? 'task';
}

function triggerText(t: TriggerListing | undefined): string {
  return t ? `${t.type} trigger` : 'trigger';
}

/**
 * The flow drawn as the hub routes it: triggers as sources, tasks, merges and end tasks, joined by
 * the tags they listen for, laid out by dagre left to right. With a run's states each node shows
 * its state in colour and in words, and its duration (ticking while it runs).
 */
export function FlowGraph({ triggers, nodes, selected, nodeHref, firedTrigger }: FlowGraphProps) {
  const uid = useId();
  const structure = JSON.stringify([triggers.map((t) => t.id), nodes.map((n) => [n.id, n.class, n.type, n.listen, n.wait])]);
  const { layout, edgeList } = useMemo(() => {
    const { vertices, edges } = flowEdges(triggers, nodes);
    return { layout: layoutOf(vertices, edges), edgeList: edges };
    // Laid out again only when the flow's shape changes, not on every state.
  }, [structure]);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const triggerById = new Map(triggers.map((t) => [t.id, t]));
  const hasRun = nodes.some((n) => n.status !== undefined);
  const running = nodes.some((n) => n.status === 'running' || n.status === 'waiting-data');
  const at = running ? now.value : Date.now();
  const started = (key: string) => {
    const n = byId.get(key.slice(2));
    return n?.status !== undefined && n.status !== 'not-started';
  };

  const isTaken = (e: GraphEdge): boolean => {
    if (e.from.startsWith('t:')) {
      const fired = e.from === ANY_TRIGGER ? hasRun : e.from === `t:${firedTrigger}`;
      return fired && started(e.to);
    }
    const from = byId.get(e.from.slice(2));
    return from?.emitted !== undefined && e.tags.includes(from.emitted);
  };

  // Brings the selected node, else the first one running or waiting, into view once it changes:
  // a wide graph on a phone opens where the run is.
  const box = useRef<HTMLDivElement>(null);
  const focus = selected ?? nodes.find((n) => n.status === 'waiting-data' || n.status === 'running')?.id;
  useLayoutEffect(() => {
    const el = box.current;
    const at = focus === undefined ? undefined : layout.vertices.find((v) => v.vertex.key === `n:${focus}`);
    if (!el || !at) return;
    if (at.x < el.scrollLeft || at.x + NODE_W > el.scrollLeft + el.clientWidth) el.scrollLeft = at.x + NODE_W / 2 - el.clientWidth / 2;
    if (at.y < el.scrollTop || at.y + NODE_H > el.scrollTop + el.clientHeight) el.scrollTop = at.y + NODE_H / 2 - el.clientHeight / 2;
  }, [focus, layout]);

  if (layout.vertices.length === 0) return <p class="muted">This flow has no nodes to draw.</p>;
  const arrow = `${uid}-arrow`;
  const arrowTaken = `${uid}-arrow-taken`;
  const links = nodeHref !== undefined;

  return (
    <div
      ref={box}
      class="flow-graph"
      {...(links ? {} : { tabIndex: 0, role: 'group', 'aria-label': 'Flow graph (scrollable)' })}
      data-nodes={layout.vertices.length}
    >
      <svg
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        role="group"
        aria-label={`Graph of ${nodes.length} nodes and ${triggers.length} triggers`}
      >
        <defs>
          <marker id={arrow} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="fg-head" />
          </marker>
          <marker id={arrowTaken} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="fg-head taken" />
          </marker>
        </defs>
        <g aria-hidden="true">
          {layout.edges.map(({ edge, d, label }) => {
            const taken = hasRun && isTaken(edge);
            return (
              <g key={`${edge.from}>${edge.to}`} class={`fg-edge${!hasRun ? ' static' : taken ? ' taken' : ''}`}>
                <path d={d} marker-end={`url(#${taken ? arrowTaken : arrow})`} />
                {label && (
                  <text x={label.x} y={label.y} class="fg-edge-label">
                    {edge.label}
                  </text>
                )}
              </g>
            );
          })}
        </g>
        {layout.vertices.map(({ vertex, x, y }) => {
          if (vertex.kind === 'trigger') {
            const t = triggerById.get(vertex.id);
            const fired = firedTrigger !== undefined && firedTrigger === vertex.id;
            const name = t?.name || vertex.id;
            const sub = fired ? `${triggerText(t)} · fired` : triggerText(t);
            return (
              <g
                key={vertex.key}
                class={`fg-node fg-trigger${fired ? ' s-fired' : ''}`}
                transform={`translate(${x},${y})`}
                role="img"
                aria-label={`${name}: ${triggerText(t)}${fired ? ', fired' : ''}`}
              >
                <Box kind="trigger" />
                <NodeText glyph={fired ? '▶' : '▷'} name={name} sub={sub} />
              </g>
            );
          }
          const n = byId.get(vertex.id)!;
          const status: NodeViewStatus | undefined = n.status;
          const dur = nodeDuration(n, at);
          const words = status ? `${STATUS_LABEL[status] ?? status}${dur ? ` · ${dur}` : ''}` : kindText(n);
          // The visible words, in order: a screen reader and a voice command hear what is shown.
          const name = `${n.name || n.id}: ${status ? `${STATUS_LABEL[status] ?? status}${dur ? `, ${dur}` : ''}` : kindText(n)}`;
          const cls = `fg-node fg-${vertex.kind}${status ? ` s-${status}` : ''}${selected === n.id ? ' selected' : ''}`;
          const body = (
            <>
              <Box kind={vertex.kind} />
              <NodeText glyph={status ? (GLYPH[status] ?? '') : ''} name={n.name || n.id} sub={words} />
            </>
          );
          if (!links) {
            return (
              <g key={vertex.key} class={cls} transform={`translate(${x},${y})`} role="img" aria-label={name}>
                {body}
              </g>
            );
          }
          const href = nodeHref(n.id);
          return (
            <a
              key={vertex.key}
              href={href}
              class={cls}
              aria-label={name}
              aria-current={selected === n.id ? 'true' : undefined}
              data-node={n.id}
              onClick={(e: MouseEvent) => {
                if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
                e.preventDefault();
                navigate(href, { replace: false, keepScroll: true });
              }}
            >
              <g transform={`translate(${x},${y})`}>{body}</g>
            </a>
          );
        })}
      </svg>
      {edgeList.length === 0 && nodes.length > 1 && <p class="muted">No node listens for another's tags.</p>}
    </div>
  );
}

/** Shapes tell kinds apart: a trigger is a dashed pill, a task a box, a merge a box with pointed ends, an end a double pill. */
function Box({ kind }: { kind: GraphVertex['kind'] }) {
  if (kind === 'merge') {
    const h = NODE_H / 2;
    return <path class="fg-box" d={`M${h / 2},0 H${NODE_W - h / 2} L${NODE_W},${h} L${NODE_W - h / 2},${NODE_H} H${h / 2} L0,${h} Z`} />;
  }
  const r = kind === 'trigger' || kind === 'end' ? NODE_H / 2 : 6;
  return (
    <>
      <rect class="fg-box" width={NODE_W} height={NODE_H} rx={r} ry={r} />
      {kind === 'end' && <rect class="fg-end-ring" x={3} y={3} width={NODE_W - 6} height={NODE_H - 6} rx={r - 3} ry={r - 3} />}
    </>
  );
}

function NodeText({ glyph, name, sub }: { glyph: string; name: string; sub: string }) {
  return (
    <g aria-hidden="true">
      {name.length > NAME_CHARS && <title>{name}</title>}
      <text x={glyph ? 30 : 16} y={21} class="fg-name">
        {shorten(name)}
      </text>{' '}
      <text x={glyph ? 30 : 16} y={39} class="fg-sub">
        {sub}
      </text>{' '}
      {glyph && (
        <text x={15} y={31} class="fg-glyph">
          {glyph}
        </text>
      )}
    </g>
  );
}
