import type { RunNodeView } from '../api-types.js';
import { Link } from '../router.js';
import { formatDuration, now, STATUS_LABEL } from './status.js';
import './timeline.css';

export interface TimelineProps {
  nodes: RunNodeView[];
  /** Where the axis starts: the run's start (or creation while pending). */
  start: number;
  /** Where it ends: the run's end; while it runs, now. */
  end?: number;
  selected?: string;
  nodeHref: (id: string) => string;
}

/** Tick steps for the axis: the first that gives at most about six ticks is used. */
const STEPS_MS = [
  100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
];

function pct(ms: number, span: number): string {
  return `${Math.max(0, Math.min(100, (ms / span) * 100)).toFixed(3)}%`;
}

/** Where a bar's duration is written: after its end, else before its start, else inside it. */
function tookPlace(start: number, end: number): 'after' | 'before' | 'inside' {
  if (end <= 0.8) return 'after';
  return start >= 0.2 ? 'before' : 'inside';
}

/**
 * When each node ran, as bars on one time axis from the run's start; bars of running nodes grow
 * while they run. Each row is a link to its node, and says its times in words as well.
 */
export function Timeline({ nodes, start, end, selected, nodeHref }: TimelineProps) {
  const ran = nodes.filter((n) => n.startTime !== undefined && n.status !== 'not-started');
  if (ran.length === 0) return <p class="muted">No node has started yet.</p>;
  ran.sort((a, b) => a.startTime! - b.startTime! || (a.endTime ?? Infinity) - (b.endTime ?? Infinity));
  const live = end === undefined || ran.some((n) => n.endTime === undefined);
  const at = live ? now.value : Date.now();
  const t0 = Math.min(start, ...ran.map((n) => n.startTime!));
  const t1 = Math.max(end ?? at, ...ran.map((n) => n.endTime ?? at), t0 + 1);
  const span = t1 - t0;
  const step = STEPS_MS.find((s) => span / s <= 6) ?? STEPS_MS[STEPS_MS.length - 1]!;
  const ticks: number[] = [];
  for (let t = 0; t <= span; t += step) ticks.push(t);

  return (
    <div class="timeline">
      <div class="tl-axis" aria-hidden="true">
        <span class="tl-label" />
        <span class="tl-track">
          {ticks.map((t) => (
            <span key={t} class="tl-tick" style={{ left: pct(t, span) }}>
              {t === 0 ? '0' : formatDuration(t)}
            </span>
          ))}
        </span>
      </div>
      <ol class="tl-rows">
        {ran.map((n) => {
          const s = n.startTime! - t0;
          const e = (n.endTime ?? at) - t0;
          const took = formatDuration(e - s);
          const place = tookPlace(s / span, e / span);
          const words = `${STATUS_LABEL[n.status] ?? n.status}, started at +${formatDuration(s)}, ${n.endTime === undefined ? 'running for' : 'took'} ${took}`;
          return (
            <li key={n.id} class={`tl-row tl-${n.status}${selected === n.id ? ' selected' : ''}`}>
              <Link
                href={nodeHref(n.id)}
                class="tl-label"
                aria-label={`${n.name || n.id}, ${words}`}
                aria-current={selected === n.id ? 'true' : undefined}
                title={`${n.name || n.id}: ${words}`}
                keepScroll
              >
                {n.name || n.id}
              </Link>
              <span class="tl-track" aria-hidden="true">
                <span class="tl-grid" />
                <span class="tl-bar" style={{ left: pct(s, span), width: `max(3px, ${pct(e - s, span)})` }} />
                <span class={`tl-took ${place}`} style={{ left: pct(place === 'after' ? e : s, span) }}>
                  {took}
                </span>
              </span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
