import type { HostEntry } from '../api-types.js';
import { HostState, hostLabel } from './host-state.js';
import './host-summary.css';

/** How busy a host is: `1 of 2 runs`, `3 runs, 1 pending`. */
function loadText(h: HostEntry): string | undefined {
  const l = h.load;
  if (!l) return undefined;
  const of = l.maxRuns === null ? '' : ` of ${l.maxRuns}`;
  const pending = l.pending > 0 ? `, ${l.pending} pending` : '';
  return `${l.active}${of} running${pending}`;
}

/** The fleet in a few lines: each host's state, name, tags and load, for the dashboard. */
export function HostSummary({ hosts }: { hosts: HostEntry[] }) {
  if (hosts.length === 0) return <p class="muted">No hosts.</p>;
  return (
    <ul class="host-summary" aria-label="Hosts">
      {hosts.map((h) => {
        const load = loadText(h);
        return (
          <li key={h.url} class={h.online ? 'up' : 'down'} data-host={hostLabel(h)}>
            <div class="host-summary-head">
              <strong class="host-summary-name">{hostLabel(h)}</strong>
              {h.self && <span class="muted"> (this host)</span>}
              <HostState host={h} />
            </div>
            {(h.tags.length > 0 || load) && (
              <div class="host-summary-detail">
                {h.tags.length > 0 && (
                  <span class="tags">
                    {h.tags.map((t) => (
                      <span class="tag" key={t}>
                        {t}
                      </span>
                    ))}
                  </span>
                )}
                {load && <span class="muted host-summary-load">{load}</span>}
              </div>
            )}
          </li>
        );
      })}
    </ul>
  );
}
