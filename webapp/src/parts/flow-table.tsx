import type { FlowListing, RunStatus, RunSummary } from '../api-types.js';
import { Link, to } from '../router.js';
import { Ago } from './ago.js';
import { StatusBadge } from './status.js';
import './flow-table.css';

/** A sign beside each chip's colour, so the colour is never the only sign. */
const MARK: Record<RunStatus, string> = { good: '✓', bad: '✕', cancelled: '–', running: '▸', pending: '…' };
const WORD: Record<RunStatus, string> = { good: 'good', bad: 'bad', cancelled: 'cancelled', running: 'running', pending: 'pending' };

/** When a run last changed: ended, started, or was adopted. */
function lastMoment(r: RunSummary): number {
  return r.endTime ?? r.startTime ?? r.createdAt;
}

function lastWord(r: RunSummary): string {
  if (r.endTime !== undefined) return 'ended';
  if (r.startTime !== undefined) return 'started';
  return 'queued';
}

/** A run as a small square of its status colour and sign, linking to it. */
function Chip({ run }: { run: RunSummary }) {
  const label = `${run.ref.run}: ${WORD[run.status]}`;
  const when = new Date(lastMoment(run)).toLocaleString();
  return (
    <li>
      <Link
        href={to.run(run.ref.flowRef.id, run.ref.run)}
        class={`run-chip s-${run.status}`}
        aria-label={label}
        title={`${label}, ${lastWord(run)} ${when}`}
      >
        <span aria-hidden="true">{MARK[run.status]}</span>
      </Link>
    </li>
  );
}

export interface FlowTableProps {
  /** Every version of every flow, as GET /flows lists them. */
  flows: FlowListing[];
  /** Each flow's latest runs, newest first. */
  recent: ReadonlyMap<string, RunSummary[]>;
  /** Some host did not answer: a flow with no runs here may have runs there. */
  partial?: boolean;
}

/** One row per flow: its name, its last run and how long ago, and its latest runs as chips. */
export function FlowTable({ flows, recent, partial }: FlowTableProps) {
  // GET /flows lists each version; the dashboard shows a flow once, named as its newest version.
  const byId = new Map<string, FlowListing>();
  for (const f of flows) if ((byId.get(f.id)?.ver ?? -1) < f.ver) byId.set(f.id, f);
  if (byId.size === 0) return <p class="muted">No flows in the config.</p>;
  return (
    <div class="table-wrap">
      <table class="flow-table" aria-label="Flows">
        <thead>
          <tr>
            <th scope="col">Flow</th>
            <th scope="col">Last run</th>
            <th scope="col">Latest runs</th>
          </tr>
        </thead>
        <tbody>
          {[...byId.values()].map((f) => {
            const runs = recent.get(f.id) ?? [];
            const last = runs[0];
            return (
              <tr key={f.id} data-flow={f.id}>
                <th scope="row">
                  <Link href={to.flow(f.id)}>{f.name || f.id}</Link>
                  {f.name && f.name !== f.id && <div class="muted mono flow-id">{f.id}</div>}
                </th>
                <td class="flow-last">
                  {last ? (
                    <>
                      <StatusBadge status={last.status} />{' '}
                      <span class="muted flow-last-when">
                        {lastWord(last)} <Ago at={lastMoment(last)} />
                      </span>
                    </>
                  ) : (
                    <span class="muted">{partial ? 'none found' : 'never run'}</span>
                  )}
                </td>
                <td>
                  {runs.length > 0 && (
                    <ol class="run-chips" aria-label={`Latest runs of ${f.name || f.id}`}>
                      {runs.map((r) => (
                        <Chip key={r.ref.run} run={r} />
                      ))}
                    </ol>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
