import { now } from './status.js';

/** `just now`, `12 s`, `5 m`, `3 h`, `2 d`: how long ago, short enough for a table cell. */
export function formatAgo(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

/** A moment as how long ago it was (ticking), with the full date in its title. */
export function Ago({ at }: { at?: number }) {
  if (at === undefined) return <span class="muted">–</span>;
  const d = new Date(at);
  return (
    <time dateTime={d.toISOString()} title={d.toLocaleString()}>
      {formatAgo(now.value - at)}
    </time>
  );
}
