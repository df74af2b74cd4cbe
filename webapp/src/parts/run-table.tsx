import type { RunSummary } from '../api-types.js';
import { Link, to } from '../router.js';
import { Duration, StatusBadge, When } from './status.js';
import './run-table.css';

export interface RunTableProps {
  runs: RunSummary[];
  /** A column naming each run's flow, for lists that mix flows (the dashboard). */
  showFlow?: boolean;
  /** The table's accessible name (`Running`, `History`): tests and screen readers find it by this. */
  label?: string;
  /** Said instead of an empty table. */
  empty?: string;
  /** Each run's flow version beside its id, for a flow with several versions. */
  showVersion?: boolean;
}

/** Who or what started a run: `start by alice`, `every-hour`. */
function startedBy(r: RunSummary) {
  return (
    <>
      <span class="mono">{r.trigger.id}</span>
      {r.trigger.by && <span class="muted"> by {r.trigger.by}</span>}
    </>
  );
}

/** Nodes done of the nodes that can run, as a bar and in words ("3 / 7"). */
function Progress({ run }: { run: RunSummary }) {
  const p = run.progress;
  if (!p) return <span class="muted">–</span>;
  return (
    <span class="run-progress">
      <progress value={p.done} max={Math.max(p.total, 1)} aria-label={`${run.ref.run}: ${p.done} of ${p.total} nodes done`} />
      <span class="run-progress-text" aria-hidden="true">
        {p.done} / {p.total}
      </span>
    </span>
  );
}

/** Why it ended as it did, why it waits, or what input it waits for. */
function Note({ run }: { run: RunSummary }) {
  const asks = run.dataWaiting ?? [];
  if (asks.length > 0) {
    return (
      <span class="run-note waiting">
        waiting for input:{' '}
        {asks.map((a, i) => (
          <span key={a.node}>
            {i > 0 && ', '}
            <Link href={to.run(run.ref.flowRef.id, run.ref.run, a.node)}>{a.name}</Link>
          </span>
        ))}
      </span>
    );
  }
  const text = run.status === 'pending' ? run.waiting : run.reason;
  if (!text) return <span class="muted">–</span>;
  return (
    <span class={`run-note${run.status === 'bad' ? ' bad' : ''}`} title={text}>
      {text}
    </span>
  );
}

/**
 * Run summaries as a table: state, id (a link to the run), trigger, host, start, duration
 * (ticking while it runs), progress of active runs and why a run waits or ended so.
 */
export function RunTable({ runs, showFlow, label, empty, showVersion }: RunTableProps) {
  if (runs.length === 0) return <p class="muted run-table-empty">{empty ?? 'No runs.'}</p>;
  // Columns follow what a list can hold, not what is in it now, so a live update does not shift them.
  const progress = runs.some((r) => r.status === 'running' || r.progress !== undefined);
  return (
    <div class="table-wrap">
      <table class="run-table" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Run</th>
            {showFlow && <th scope="col">Flow</th>}
            <th scope="col" class="hide-narrow">
              Trigger
            </th>
            <th scope="col" class="hide-narrow">
              Host
            </th>
            <th scope="col" class="hide-narrow">
              Started
            </th>
            <th scope="col">Duration</th>
            {progress && <th scope="col">Progress</th>}
            <th scope="col">Note</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.ref.run} data-run={r.ref.run} data-status={r.status}>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td class="run-cell">
                <Link href={to.run(r.ref.flowRef.id, r.ref.run)} class="mono run-id">
                  {r.ref.run}
                </Link>
                {showVersion && <span class="muted run-ver"> v{r.ref.flowRef.ver}</span>}
              </td>
              {showFlow && (
                <td>
                  <Link href={to.flow(r.ref.flowRef.id)}>{r.ref.flowRef.id}</Link>
                </td>
              )}
              <td class="hide-narrow">{startedBy(r)}</td>
              <td class="hide-narrow">{r.execHost ?? <span class="muted">–</span>}</td>
              <td class="hide-narrow">
                {r.startTime !== undefined ? (
                  <When at={r.startTime} />
                ) : (
                  <span class="muted">
                    queued <When at={r.createdAt} />
                  </span>
                )}
              </td>
              <td class="num">
                {r.status === 'pending' ? <Duration start={r.createdAt} /> : <Duration start={r.startTime} end={r.endTime} />}
              </td>
              {progress && (
                <td>
                  <Progress run={r} />
                </td>
              )}
              <td class="run-note-cell">
                <Note run={r} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
