import { signal } from '@preact/signals';
import type { NodeViewStatus, RunStatus } from '../api-types.js';

/** One clock for every elapsed time on the page: one re-render a second, not one timer each. */
export const now = signal(Date.now());
setInterval(() => (now.value = Date.now()), 1000);

/** A run's or node's state in words, as badges and the run page's graph say it. */
export const STATUS_LABEL: Record<string, string> = {
  pending: 'pending',
  running: 'running',
  good: 'good',
  bad: 'bad',
  cancelled: 'cancelled',
  'not-started': 'not started',
  'waiting-data': 'waiting for input',
  stopped: 'stopped',
};

/** A run's or node's state as a coloured word: the colour is never the only sign. */
export function StatusBadge({ status }: { status: RunStatus | NodeViewStatus }) {
  return <span class={`badge s-${status}`}>{STATUS_LABEL[status] ?? status}</span>;
}

/** `1.2 s`, `3 m 04 s`, `2 h 05 m`. */
export function formatDuration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}

/** How long something took, or has taken so far while it runs (ticking). */
export function Duration({ start, end }: { start?: number; end?: number }) {
  if (start === undefined) return <span class="muted">–</span>;
  const ms = (end ?? now.value) - start;
  return <span class="duration">{formatDuration(ms)}</span>;
}

/** A moment as local time, with the full date in its title. */
export function When({ at }: { at?: number }) {
  if (at === undefined) return <span class="muted">–</span>;
  const d = new Date(at);
  const today = new Date().toDateString() === d.toDateString();
  return (
    <time dateTime={d.toISOString()} title={d.toLocaleString()}>
      {today ? d.toLocaleTimeString() : d.toLocaleString()}
    </time>
  );
}
