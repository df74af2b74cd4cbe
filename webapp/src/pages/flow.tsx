import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, seg } from '../api.js';
import type { FlowDetail, FlowListing, PublishedEvent, RunSummary, Unreachable } from '../api-types.js';
import { useLive } from '../live.js';
import { FlowGraph } from '../parts/flow-graph.js';
import { FlowTriggers } from '../parts/flow-triggers.js';
import { Layout, LoadError, Loading } from '../parts/layout.js';
import { RunTable } from '../parts/run-table.js';
import { UnreachableNote } from '../parts/unreachable-note.js';
import { Link, navigate, place, to } from '../router.js';
import './flow.css';

/** `GET /flows/:id`: the config of one version and the runs of every version, cluster-wide. */
interface FlowAnswer {
  config: FlowDetail;
  runs: { pending: RunSummary[]; active: RunSummary[]; archive: RunSummary[] };
  /** Opaque: given back as `before` for the older page. */
  next?: string | number;
  unreachable?: Unreachable[];
}

interface FlowState {
  answer: FlowAnswer;
  /** `run/node` of each node-end counted into a run's progress since the load: an event heard twice counts once. */
  counted: ReadonlySet<string>;
}

/** Archived runs per page. */
const PAGE = 25;

const END_STATUSES = ['good', 'bad', 'cancelled'] as const;
type EndStatus = (typeof END_STATUSES)[number];

/** What the address says this page shows: `?status=bad,cancelled&ver=2&before=...`. */
interface View {
  status: EndStatus[];
  ver?: string;
  before?: string;
}

function viewOf(q: URLSearchParams): View {
  const asked = (q.get('status') ?? '').split(',');
  const status = END_STATUSES.filter((s) => asked.includes(s));
  const ver = q.get('ver') ?? undefined;
  const before = q.get('before') ?? undefined;
  return { status, ver: ver && /^\d+$/.test(ver) ? ver : undefined, before: before || undefined };
}

function hrefOf(flow: string, v: View): string {
  return to.flow(flow, { status: v.status.join(','), ver: v.ver ?? '', before: v.before ?? '' });
}

function apiQuery(v: View): string {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (v.ver) q.set('ver', v.ver);
  if (v.before) q.set('before', v.before);
  if (v.status.length > 0 && v.status.length < END_STATUSES.length) q.set('status', v.status.join(','));
  return q.toString();
}

function mapRuns(a: FlowAnswer, ref: { run: string }, fn: (r: RunSummary) => RunSummary): FlowAnswer {
  const touch = (list: RunSummary[]) =>
    list.some((r) => r.ref.run === ref.run) ? list.map((r) => (r.ref.run === ref.run ? fn(r) : r)) : list;
  const pending = touch(a.runs.pending);
  const active = touch(a.runs.active);
  if (pending === a.runs.pending && active === a.runs.active) return a;
  return { ...a, runs: { ...a.runs, pending, active } };
}

/**
 * What an event does to the page. Runs that move between lists (a new pend, a start, an end)
 * are read again, debounced; a pend's reason and a node's end are applied in place, so the
 * progress bars move without a fetch per node.
 */
function applyEvent(s: FlowState, e: PublishedEvent): FlowState | 'reload' {
  if (!('ref' in e) || e.ref.flowRef.id !== s.answer.config.id) return s;
  switch (e.kind) {
    case 'add-pend':
    case 'remove-pend':
    case 'activate':
    case 'end':
    case 'data-required':
    case 'data-answered':
      return 'reload';
    case 'pend-waiting': {
      const answer = mapRuns(s.answer, e.ref, (r) => (r.waiting === e.reason ? r : { ...r, waiting: e.reason }));
      return answer === s.answer ? s : { ...s, answer };
    }
    case 'node-end': {
      const key = `${e.ref.run}/${e.node}`;
      if (s.counted.has(key)) return s;
      const answer = mapRuns(s.answer, e.ref, (r) =>
        r.progress ? { ...r, progress: { ...r.progress, done: Math.min(r.progress.total, r.progress.done + 1) } } : r,
      );
      return answer === s.answer ? s : { answer, counted: new Set(s.counted).add(key) };
    }
    default:
      return s;
  }
}

/** Versions of this flow in the config, newest first: `GET /flows` lists every version. */
function useVersions(flow: string): number[] {
  const [versions, setVersions] = useState<number[]>([]);
  useEffect(() => {
    let gone = false;
    get<{ flows: FlowListing[] }>('/flows')
      .then((p) => {
        if (!gone)
          setVersions(
            p.flows
              .filter((f) => f.id === flow)
              .map((f) => f.ver)
              .sort((a, b) => b - a),
          );
      })
      .catch(() => {
        // The version switch is a convenience: without the list the page shows the version it has.
      });
    return () => {
      gone = true;
    };
  }, [flow]);
  return versions;
}

function Tags({ tags, label }: { tags: string[]; label: string }) {
  if (tags.length === 0) return <span class="muted">none</span>;
  return (
    <span class="tags" aria-label={label}>
      {tags.map((t) => (
        <span class="tag" key={t}>
          {t}
        </span>
      ))}
    </span>
  );
}

function Fact({ label, children, mono }: { label: ComponentChildren; children: ComponentChildren; mono?: boolean }) {
  return (
    <div class="flow-fact">
      <dt>{label}</dt>
      <dd class={mono ? 'mono any-wrap' : undefined}>{children}</dd>
    </div>
  );
}

function FlowFacts({ config, versions, view }: { config: FlowDetail; versions: number[]; view: View }) {
  const many = versions.length > 1;
  const newest = versions[0];
  const pick = (ver: string) => navigate(hrefOf(config.id, { ...view, ver: Number(ver) === newest ? undefined : ver, before: undefined }));
  return (
    <dl class="flow-facts panel">
      <Fact label="Id" mono>
        {config.id}
      </Fact>
      <Fact label={many ? <label for="flow-version">Version</label> : 'Version'}>
        {many ? (
          <select id="flow-version" value={String(config.ver)} onChange={(e) => pick(e.currentTarget.value)}>
            {versions.map((v) => (
              <option key={v} value={String(v)}>
                {v}
                {v === newest ? ' (newest)' : ''}
              </option>
            ))}
          </select>
        ) : (
          config.ver
        )}
      </Fact>
      <Fact label="Host tags">
        <Tags tags={config.hostTags} label="host tags" />
      </Fact>
      <Fact label="Resource tags">
        <Tags tags={config.resourceTags} label="resource tags" />
      </Fact>
      <Fact label="Workspace">{config.reuseSpace ? 'one, reused by every run' : 'a new one per run'}</Fact>
      {config.flowFile && (
        <Fact label="Flow file" mono>
          {config.flowFile}
        </Fact>
      )}
    </dl>
  );
}

/** Which ended runs to list: none ticked is all of them. */
function StatusFilter({ view, flow }: { view: View; flow: string }) {
  const toggle = (s: EndStatus, on: boolean) => {
    const status = END_STATUSES.filter((x) => (x === s ? on : view.status.includes(x)));
    // A new filter starts from the newest runs; it replaces the address, so Back leaves the page.
    navigate(hrefOf(flow, { ...view, status, before: undefined }), { replace: true });
  };
  return (
    <fieldset class="status-filter">
      <legend>Show ended runs</legend>
      {END_STATUSES.map((s) => (
        <label key={s} class={`status-chip s-${s}${view.status.includes(s) ? ' on' : ''}`}>
          <input type="checkbox" checked={view.status.includes(s)} onChange={(e) => toggle(s, e.currentTarget.checked)} />
          {s}
        </label>
      ))}
      <span class="muted filter-note">{view.status.length === 0 ? 'all shown' : `only ${view.status.join(', ')}`}</span>
    </fieldset>
  );
}

function Runs({
  answer,
  view,
  flow,
  busy,
  showVersion,
}: {
  answer: FlowAnswer;
  view: View;
  flow: string;
  busy: boolean;
  showVersion: boolean;
}) {
  const { pending, active, archive } = answer.runs;
  const next = answer.next;
  const filtered = view.status.length > 0 && view.status.length < END_STATUSES.length;
  return (
    <section class="flow-runs" aria-labelledby="runs-title" aria-busy={busy}>
      <h2 id="runs-title">Runs</h2>
      <UnreachableNote hosts={answer.unreachable ?? []} what="Their runs of this flow are missing below until they answer." />
      <h3>Running</h3>
      <RunTable runs={active} label="Running" empty="Nothing running." showVersion={showVersion} />
      <h3>Waiting to start</h3>
      <RunTable runs={pending} label="Waiting to start" empty="No run is waiting." showVersion={showVersion} />
      <div class="history-head">
        <h3 id="history-title">History</h3>
        <StatusFilter view={view} flow={flow} />
      </div>
      <RunTable
        runs={archive}
        label="History"
        showVersion={showVersion}
        empty={
          filtered
            ? `No ${view.status.join(' or ')} runs${view.before ? ' on this page' : ''}.`
            : view.before
              ? 'No older runs.'
              : 'No run has ended yet.'
        }
      />
      <nav class="history-pager" aria-label="History pages">
        <button type="button" disabled={!view.before} onClick={() => navigate(hrefOf(flow, { ...view, before: undefined }))}>
          Newest
        </button>
        <button
          type="button"
          disabled={next === undefined}
          onClick={() => next !== undefined && navigate(hrefOf(flow, { ...view, before: String(next) }))}
        >
          Older
        </button>
        <span class="muted">{view.before ? 'an older page, newest ended first' : 'newest ended first'}</span>
      </nav>
    </section>
  );
}

export function FlowPage({ flow }: { flow: string }) {
  const view = viewOf(place.value.query);
  const query = apiQuery(view);
  const versions = useVersions(flow);
  const { data, error, reload } = useLive<FlowState>(
    `flow ${flow}?${query}`,
    { flow },
    async () => ({ answer: await get<FlowAnswer>(`/flows/${seg(flow)}?${query}`), counted: new Set<string>() }),
    applyEvent,
  );
  // While another page of runs or version loads, the last one stays on screen: no jump to "Loading…".
  const shown = useRef<FlowState | undefined>(undefined);
  if (data) shown.current = data;
  const state = data ?? shown.current;
  const config = state?.answer.config;
  const title = config ? config.name : flow;

  return (
    <Layout title={title}>
      {error && <LoadError message={error} retry={reload} />}
      {error && view.ver && (
        <p>
          <Link href={hrefOf(flow, { ...view, ver: undefined, before: undefined })}>Show the newest version</Link>
        </p>
      )}
      {!state && !error && <Loading />}
      {state && config && (
        <div class="flow-page">
          <FlowFacts config={config} versions={versions} view={view} />
          <section class="panel graph-panel" aria-labelledby="graph-title">
            <h2 id="graph-title">Graph</h2>
            {config.flowFile && <p class="muted">The tasks come from the flow file, read for each run; this is the config's own.</p>}
            <FlowGraph triggers={config.triggers} nodes={config.nodes} />
          </section>
          <section aria-labelledby="triggers-title">
            <h2 id="triggers-title">Triggers</h2>
            <FlowTriggers flow={config} />
          </section>
          <Runs answer={state.answer} view={view} flow={flow} busy={!data} showVersion={versions.length > 1} />
        </div>
      )}
    </Layout>
  );
}
