import type { Unreachable } from '../api-types.js';
import './unreachable-note.css';

/**
 * Says which hosts a cluster-wide answer left out, and why: what the page shows lacks their
 * runs (or tags) until they answer again.
 */
export function UnreachableNote({ hosts, what }: { hosts: Unreachable[]; what: string }) {
  const seen = new Map<string, string>();
  for (const u of hosts) if (!seen.has(u.host)) seen.set(u.host, u.reason);
  if (seen.size === 0) return null;
  return (
    <section class="unreachable-note" aria-labelledby="unreachable-title">
      <h2 id="unreachable-title">
        <span aria-hidden="true">⚠ </span>
        {seen.size === 1 ? 'A host did not answer' : `${seen.size} hosts did not answer`}
      </h2>
      <p>{what}</p>
      <ul>
        {[...seen].map(([host, reason]) => (
          <li key={host}>
            <strong>{host}</strong>: {reason}
          </li>
        ))}
      </ul>
    </section>
  );
}
