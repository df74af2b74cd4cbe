import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, seg } from '../api.js';
import type { FlowListing, RunDetail, RunNodeView, TriggerListing } from '../api-types.js';
import { useLive } from '../live.js';
import { ConfirmDialog } from '../parts/confirm-dialog.js';
import { FlowGraph } from '../parts/flow-graph.js';
import { FormView } from '../parts/form-view.js';
import { Layout, LoadError, Loading } from '../parts/layout.js';
import { LogView } from '../parts/log-view.js';
import { applyRunEvent } from '../parts/run-live.js';
import { fetchWholeLog, shownLines, useOutputView, useRunOutput, type RunOutput } from '../parts/run-output.js';
import { Duration, StatusBadge, STATUS_LABEL, When } from '../parts/status.js';
import { Timeline } from '../parts/timeline.js';
import { Link, navigate, to } from '../router.js';
import { canAct } from '../session.js';
import './run.css';

/** After a run ends, its detail is read again once: the end node that ended it, stopped nodes' times. */
const RELOAD_AFTER_END_MS = 300;

/** Element ids from node ids, which may hold characters an id should not. */
const idOf = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

const errorText = (err: unknown) => (err instanceof ApiError || err instanceof Error ? err.message : String(err));

/** The triggers of the run's flow version, to draw as the graph's sources; the run's own when the flow is gone. */
function useTriggers(flow: string, run: RunDetail | undefined): TriggerListing[] {
  const [flows, setFlows] = useState<FlowListing[] | undefined>(undefined);
  useEffect(() => {
    let gone = false;
    get<{ flows: FlowListing[] }>('/flows').then(
      (p) => !gone && setFlows(p.flows),
      () => !gone && setFlows([]),
    );
    return () => {
      gone = true;
    };
  }, [flow]);
  if (!run) return [];
  const listing = flows?.find((f) => f.id === flow && f.ver === run.ref.flowRef.ver);
  if (listing) return listing.triggers;
  return [{ id: run.trigger.id, name: run.trigger.id, type: run.trigger.type }];
}

export function RunPage({ flow, run, node }: { flow: string; run: string; node?: string }) {
  const path = `/flows/${seg(flow)}/runs/${seg(run)}`;
  const reloadRef = useRef<() => void>(() => {});
  const { data, error, reload } = useLive<RunDetail>(
    `run:${flow}/${run}`,
    { flow, run },
    // The output is loaded apart (run-output.ts), page by page.
    () => get<RunDetail>(`${path}?tail=0`),
    (r, e) => {
      const next = applyRunEvent(r, e);
      if (e.kind === 'end' && e.ref.run === run) setTimeout(() => reloadRef.current(), RELOAD_AFTER_END_MS);
      return next;
    },
  );
  reloadRef.current = reload;
  const triggers = useTriggers(flow, data);
  const known = data === undefined || node === undefined || data.nodes.some((n) => n.id === node);
  const shown = known ? node : undefined;
  const output = useRunOutput(flow, run);

  if (!data) {
    return <Layout title={`Run ${run}`}>{error ? <LoadError message={error} retry={reload} /> : <Loading />}</Layout>;
  }
  const selected = shown === undefined ? undefined : data.nodes.find((n) => n.id === shown);
  const nodeHref = (id: string) => to.run(flow, run, id === shown ? undefined : id);

  return (
    <Layout title={`Run ${run}`}>
      {error && (
        <p class="error" role="alert">
          Could not refresh the run: {error}{' '}
          <button type="button" class="link" onClick={reload}>
            Try again
          </button>
        </p>
      )}
      <RunHead run={data} flow={flow} onChanged={reload} />
      {data.dataWaiting.length > 0 && <WaitingInput run={data} flow={flow} onAnswered={reload} />}
      <section class="panel run-section" aria-labelledby="run-graph-title">
        <div class="section-head">
          <h2 id="run-graph-title">Graph</h2>
          <p class="muted section-hint">Select a node to see its output.</p>
        </div>
        <FlowGraph triggers={triggers} nodes={data.nodes} selected={shown} nodeHref={nodeHref} firedTrigger={data.trigger.id} />
      </section>
      <section class="panel run-section" aria-labelledby="run-timeline-title">
        <h2 id="run-timeline-title">Timeline</h2>
        <Timeline nodes={data.nodes} start={data.startTime ?? data.createdAt} end={data.endTime} selected={shown} nodeHref={nodeHref} />
      </section>
      <section class="panel run-section run-output" aria-labelledby="run-output-title">
        <div class="section-head">
          <h2 id="run-output-title">Output{selected && <> of {selected.name || selected.id}</>}</h2>
          <NodePicker flow={flow} run={data} shown={shown} />
        </div>
        {!known && (
          <p class="muted" role="note">
            This run has no node <code>{node}</code>; showing the output of all nodes.
          </p>
        )}
        {selected && <NodeFacts node={selected} flow={flow} run={run} />}
        <RunLog flow={flow} run={data} node={shown} output={output} />
      </section>
    </Layout>
  );
}

function triggeredBy(r: RunDetail): string {
  const t = r.trigger;
  const what = `${t.type} trigger ${t.id}`;
  return t.by ? `${what}, by ${t.by}` : what;
}

function RunHead({ run, flow, onChanged }: { run: RunDetail; flow: string; onChanged: () => void }) {
  const [asking, setAsking] = useState<'cancel' | 'rerun' | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | undefined>(undefined);
  const id = run.ref.run;
  const active = run.status === 'pending' || run.status === 'running';
  const mayAct = canAct();

  const ask = (what: 'cancel' | 'rerun') => {
    setErr(undefined);
    setAsking(what);
  };
  const act = async () => {
    setBusy(true);
    setErr(undefined);
    try {
      if (asking === 'cancel') {
        await post(`/flows/${seg(flow)}/runs/${seg(id)}/cancel`);
        setAsking(undefined);
        onChanged();
      } else {
        const res = await post<{ runs: string[] }>(`/flows/${seg(flow)}/runs/${seg(id)}/rerun`);
        const next = res.payload.runs[0];
        setAsking(undefined);
        if (next) navigate(to.run(flow, next));
      }
    } catch (e) {
      setErr(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const values = Object.entries(run.trigger.values);
  const secret = new Set(run.trigger.secret ?? []);
  return (
    <section class="panel run-head" aria-label="Run summary">
      <div class="run-head-top">
        <div class="run-title">
          <StatusBadge status={run.status} />
          <span>
            run <span class="mono">{id}</span> of flow{' '}
            <Link href={to.flow(flow)}>
              <strong>{flow}</strong>
            </Link>{' '}
            <span class="muted">v{run.ref.flowRef.ver}</span>
          </span>
        </div>
        {mayAct && (
          <div class="run-actions">
            {active && (
              <button type="button" class="danger" onClick={() => ask('cancel')}>
                Cancel run
              </button>
            )}
            <button type="button" onClick={() => ask('rerun')}>
              Rerun
            </button>
          </div>
        )}
      </div>
      {run.reason && (run.status === 'bad' || run.status === 'cancelled') && (
        <p class={`run-reason ${run.status}`}>
          <strong>{run.status === 'bad' ? 'Failed' : 'Cancelled'}:</strong> {run.reason}
        </p>
      )}
      {run.status === 'pending' && (
        <p class="run-reason pending">
          <strong>Waiting to start:</strong> {run.waiting ?? 'no host has taken it yet'}
        </p>
      )}
      <dl class="facts">
        <div>
          <dt>Triggered</dt>
          <dd>{triggeredBy(run)}</dd>
        </div>
        <div>
          <dt>Host</dt>
          <dd>{run.execHost ? <Link href={to.hosts()}>{run.execHost}</Link> : <span class="muted">not placed yet</span>}</dd>
        </div>
        <div class="wide">
          <dt>Workspace</dt>
          <dd>{run.workspace ? <CopyText text={run.workspace} label="Copy workspace path" /> : <span class="muted">none yet</span>}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <When at={run.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>
            <When at={run.startTime} />
          </dd>
        </div>
        <div>
          <dt>Ended</dt>
          <dd>
            <When at={run.endTime} />
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            <Duration start={run.startTime} end={run.endTime} />
          </dd>
        </div>
      </dl>
      <div class="run-values">
        <h2 class="small-title" id="run-values-title">
          Values
        </h2>
        {values.length === 0 ? (
          <p class="muted">Started with no values.</p>
        ) : (
          <dl class="values" aria-labelledby="run-values-title">
            {values.map(([k, v]) => (
              <div key={k}>
                <dt class="mono">{k}</dt>
                <dd class={secret.has(k) ? 'secret' : 'mono'}>
                  {secret.has(k) ? '(secret)' : v === '' ? <span class="muted">(empty)</span> : v}
                </dd>
              </div>
            ))}
          </dl>
        )}
      </div>
      <ConfirmDialog
        open={asking === 'cancel'}
        title={`Cancel run ${id}?`}
        confirmLabel="Stop the run"
        dismissLabel="Keep running"
        danger
        busy={busy}
        error={err}
        onConfirm={() => void act()}
        onClose={() => setAsking(undefined)}
      >
        <p>Its running tasks are stopped, and the run ends as cancelled. This cannot be undone.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={asking === 'rerun'}
        title={`Rerun ${id}?`}
        confirmLabel="Start new run"
        dismissLabel="Back"
        busy={busy}
        error={err}
        onConfirm={() => void act()}
        onClose={() => setAsking(undefined)}
      >
        <p>
          Starts a new run of {flow} v{run.ref.flowRef.ver} with the same trigger ({run.trigger.id}) and values, as you.
        </p>
      </ConfirmDialog>
    </section>
  );
}

/** A path to copy by hand or with a button (the button needs a secure context). */
function CopyText({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  const canCopy = typeof navigator !== 'undefined' && navigator.clipboard !== undefined;
  return (
    <span class="copy-text">
      <code>{text}</code>
      {canCopy && (
        <button
          type="button"
          class="small"
          aria-label={label}
          onClick={() =>
            void navigator.clipboard.writeText(text).then(
              () => {
                setDone(true);
                setTimeout(() => setDone(false), 1500);
              },
              () => {},
            )
          }
        >
          {done ? 'Copied' : 'Copy'}
        </button>
      )}
    </span>
  );
}

function WaitingInput({ run, flow, onAnswered }: { run: RunDetail; flow: string; onAnswered: () => void }) {
  const mayAct = canAct();
  return (
    <section class="panel run-input" aria-labelledby="run-input-title">
      <h2 id="run-input-title">Waiting for input</h2>
      {!mayAct && <p class="muted">You may read these forms, but your role (viewer) may not answer them.</p>}
      {run.dataWaiting.map((d) => {
        const id = `answer-${idOf(d.node)}`;
        return (
          <article key={d.node} class="input-item" aria-labelledby={`${id}-title`}>
            <h3 id={`${id}-title`}>
              <Link href={to.run(flow, run.ref.run, d.node)} keepScroll>
                {d.name || d.node}
              </Link>{' '}
              <span class="muted small">
                waiting for <Duration start={d.since} />
              </span>
            </h3>
            <FormView
              form={d.form}
              idPrefix={id}
              submitLabel="Answer"
              disabled={!mayAct}
              onSubmit={async (values) => {
                await post('/push/data', { ref: { id: flow }, run: run.ref.run, form: { id: d.node, values } });
                onAnswered();
              }}
            />
          </article>
        );
      })}
    </section>
  );
}

function NodePicker({ flow, run, shown }: { flow: string; run: RunDetail; shown: string | undefined }) {
  return (
    <label class="node-picker">
      <span>Show</span>
      <select
        aria-label="Show output of"
        value={shown ?? ''}
        onChange={(e) => {
          const v = e.currentTarget.value;
          navigate(to.run(flow, run.ref.run, v || undefined), { keepScroll: true });
        }}
      >
        <option value="">all nodes</option>
        {run.nodes.map((n) => (
          <option key={n.id} value={n.id}>
            {n.name || n.id} ({STATUS_LABEL[n.status] ?? n.status})
          </option>
        ))}
      </select>
    </label>
  );
}

function NodeFacts({ node, flow, run }: { node: RunNodeView; flow: string; run: string }) {
  const what = node.class === 'merge' ? `merge (${node.mergeType ?? 'all'})` : (node.type ?? 'task');
  const listens = node.class === 'merge' ? (node.wait ?? []).join(', ') : node.listen;
  const values = node.values ? Object.entries(node.values) : [];
  return (
    <div class="node-facts" aria-label={`Node ${node.id}`} role="group">
      <StatusBadge status={node.status} />
      <span>
        <strong>{node.name || node.id}</strong> <span class="muted">({node.id})</span>
      </span>
      <span class="muted">{what}</span>
      {listens && (
        <span>
          on <code>{listens}</code>
        </span>
      )}
      {node.startTime !== undefined && node.status !== 'not-started' && (
        <span>
          {node.endTime === undefined ? 'running for ' : 'took '}
          <Duration start={node.startTime} end={node.endTime} />
        </span>
      )}
      {node.exitStatus !== undefined && <span>exit status {node.exitStatus}</span>}
      {node.emitted && (
        <span>
          emitted <code>{node.emitted}</code>
        </span>
      )}
      {node.attempts > 1 && <span>{node.attempts} attempts</span>}
      {node.answeredBy && (
        <span>
          answered by {node.answeredBy}
          {node.answeredAt !== undefined && (
            <>
              {' '}
              at <When at={node.answeredAt} />
            </>
          )}
          {values.length > 0 && <>: {values.map(([k, v]) => `${k}=${v}`).join(', ')}</>}
        </span>
      )}
      {node.reason && <span class="node-reason">{node.reason}</span>}
      <Link href={to.run(flow, run)} keepScroll class="node-all">
        Show all output
      </Link>
    </div>
  );
}

function RunLog({ flow, run, node, output }: { flow: string; run: RunDetail; node: string | undefined; output: RunOutput }) {
  const { held, version } = useOutputView(output, node);
  const [earlier, setEarlier] = useState<'one' | 'all' | undefined>(undefined);
  const [earlierErr, setEarlierErr] = useState<string | undefined>(undefined);
  const [download, setDownload] = useState<{ lines: number } | undefined>(undefined);
  const [downloadErr, setDownloadErr] = useState<string | undefined>(undefined);
  const id = run.ref.run;
  const lines = held.lines;

  const loadEarlier = async (all: boolean) => {
    setEarlier(all ? 'all' : 'one');
    setEarlierErr(undefined);
    try {
      await output.loadEarlier(node, all);
    } catch (e) {
      setEarlierErr(errorText(e));
    } finally {
      setEarlier(undefined);
    }
  };

  const save = async () => {
    setDownload({ lines: 0 });
    setDownloadErr(undefined);
    try {
      const text = await fetchWholeLog(flow, id, node, (n) => setDownload({ lines: n }));
      const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${flow}-${id}${node ? `-${node}` : ''}.txt`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setDownloadErr(errorText(e));
    } finally {
      setDownload(undefined);
    }
  };

  const nodeView = node === undefined ? undefined : run.nodes.find((n) => n.id === node);
  const empty = held.error ? (
    <p class="log-empty error" role="alert">
      Could not load the output: {held.error}
    </p>
  ) : !held.loaded ? (
    <p class="log-empty">Loading output…</p>
  ) : run.status === 'pending' ? (
    <p class="log-empty">No output yet: the run has not started.</p>
  ) : nodeView && nodeView.status === 'not-started' ? (
    <p class="log-empty">This node has not started{run.endTime === undefined ? ' yet' : ''}.</p>
  ) : (
    <p class="log-empty">No output{run.endTime === undefined ? ' yet' : ''}.</p>
  );

  const before =
    held.loaded && lines.heldFrom > 0 ? (
      <div class="log-earlier" role="group" aria-label="Earlier lines">
        <span class="muted">
          {node === undefined
            ? `Lines before ${(lines.heldFrom + 1).toLocaleString()} are not loaded.`
            : 'Earlier lines of this node are not loaded.'}
        </span>
        <button type="button" class="small" disabled={earlier !== undefined} onClick={() => void loadEarlier(false)}>
          {earlier === 'one' ? 'Loading…' : 'Load earlier lines'}
        </button>
        <button type="button" class="small" disabled={earlier !== undefined} onClick={() => void loadEarlier(true)}>
          {earlier === 'all' ? 'Loading all…' : 'Load all lines'}
        </button>
        {earlierErr && (
          <span class="error" role="alert">
            {earlierErr}
          </span>
        )}
      </div>
    ) : null;

  const tools = (
    <div class="log-download">
      <button
        type="button"
        onClick={() => void save()}
        disabled={download !== undefined}
        aria-label={node ? `Download the log of ${node}` : 'Download the log'}
      >
        {download ? `Downloading… ${download.lines.toLocaleString()} lines` : 'Download'}
      </button>
      {downloadErr && (
        <span class="error" role="alert">
          Download failed: {downloadErr}
        </span>
      )}
    </div>
  );

  return (
    <LogView
      key={node ?? ''}
      lines={shownLines(held)}
      version={version}
      rewrites={lines.rewrites}
      showNode={node === undefined}
      label={node ? `Log of ${node}` : 'Log of all nodes'}
      empty={empty}
      before={before}
      tools={tools}
      partial={lines.heldFrom > 0}
    />
  );
}
