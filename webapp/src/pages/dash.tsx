import { useEffect, useRef, useState } from 'preact/hooks';
import { get, seg } from '../api.js';
import type { FlowListing, HostList, RunList, RunSummary } from '../api-types.js';
import { useLive } from '../live.js';
import { FlowTable } from '../parts/flow-table.js';
import { HostSummary } from '../parts/host-summary.js';
import { Inbox } from '../parts/inbox.js';
import { Layout, LoadError, Loading } from '../parts/layout.js';
import { RunTable } from '../parts/run-table.js';
import { UnreachableNote } from '../parts/unreachable-note.js';
import { usePolled } from '../parts/use-polled.js';
import { Link, to } from '../router.js';
import {
  applyRunEvent,
  CATCH_UP_PAGE,
  FIRST_PAGE,
  fromPage,
  inboxOf,
  mergePage,
  RECENT_RUNS,
  recentRunsByFlow,
  type DashRuns,
  type InboxItem,
} from './dash-runs.js';
import './dash.css';

/** Hosts publish no events: their state is asked again this often while the page is visible. */
const HOSTS_EVERY_MS = 5_000;
/** Flows whose older runs are loaded at the same time, at most. */
const OLDER_AT_ONCE = 4;

/** The first load reads a page of the archive; a reload reads the newest runs and merges them. */
async function loadRuns(prev: DashRuns | undefined): Promise<DashRuns> {
  if (prev) {
    const merged = mergePage(prev, await get<RunList>(`/runs?limit=${CATCH_UP_PAGE}`));
    if (merged) return merged;
  }
  return fromPage(await get<RunList>(`/runs?limit=${FIRST_PAGE}`));
}

async function eachAtMost<T>(items: T[], atOnce: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, queue.length) }, worker));
}

/**
 * Archived runs of flows that have fewer than RECENT_RUNS among the dashboard's page of runs
 * while older runs exist: one `GET /flows/:id` each, once per visit (ended runs do not change;
 * newer ones come with the page and the events), a few at a time. A flow that fails to load
 * shows what the page has.
 */
function useOlderRuns(flows: FlowListing[] | undefined, runs: DashRuns | undefined): ReadonlyMap<string, RunSummary[]> {
  const [older, setOlder] = useState<ReadonlyMap<string, RunSummary[]>>(new Map());
  const asked = useRef(new Set<string>());
  useEffect(() => {
    if (!flows || !runs?.hasOlder) return;
    const recent = recentRunsByFlow(runs, new Map());
    const want = [...new Set(flows.map((f) => f.id))].filter((id) => !asked.current.has(id) && (recent.get(id)?.length ?? 0) < RECENT_RUNS);
    if (want.length === 0) return;
    for (const id of want) asked.current.add(id);
    void eachAtMost(want, OLDER_AT_ONCE, async (id) => {
      try {
        const got = await get<{ runs: { archive: RunSummary[] } }>(`/flows/${seg(id)}?limit=${RECENT_RUNS}`);
        setOlder((m) => new Map(m).set(id, got.runs.archive));
      } catch {
        // The flow keeps the runs the page has.
      }
    });
  }, [flows, runs]);
  return older;
}

const keyOf = (i: InboxItem) => `${i.run.ref.run}/${i.ask.node}`;

function Count({ n }: { n: number | undefined }) {
  return n === undefined ? null : <span class="count"> ({n})</span>;
}

export function DashPage() {
  const latest = useRef<DashRuns | undefined>(undefined);
  const runs = useLive<DashRuns>('dash-runs', {}, () => loadRuns(latest.current), applyRunEvent);
  latest.current = runs.data;
  const flows = useLive<FlowListing[]>(
    'dash-flows',
    {},
    () => get<{ flows: FlowListing[] }>('/flows').then((p) => p.flows),
    (s) => s,
  );
  const hosts = usePolled('dash-hosts', () => get<HostList>('/hosts'), HOSTS_EVERY_MS);
  const older = useOlderRuns(flows.data, runs.data);
  const [answered, setAnswered] = useState<ReadonlySet<string>>(new Set());
  const [said, setSaid] = useState<string | undefined>(undefined);

  const r = runs.data;
  const flowsById = new Map((flows.data ?? []).map((f) => [f.id, f]));
  const inbox = r ? inboxOf(r).filter((i) => !answered.has(keyOf(i))) : [];
  const onAnswered = (item: InboxItem, message: string) => {
    setAnswered((s) => new Set(s).add(keyOf(item)));
    setSaid(message);
  };

  return (
    <Layout title="Dashboard">
      <UnreachableNote
        hosts={[...(r?.unreachable ?? []), ...(hosts.data?.unreachable ?? [])]}
        what="Their runs, inputs and resource tags are missing below until they answer."
      />
      {runs.error && !r && <LoadError message={runs.error} retry={runs.reload} />}
      {r ? <Inbox items={inbox} flows={flowsById} onAnswered={onAnswered} said={said} /> : !runs.error && <Loading />}
      <div class="dash">
        <div class="dash-main">
          <section aria-labelledby="active-title">
            <h2 id="active-title">
              Running
              <Count n={r?.active.length} />
            </h2>
            {r && <RunTable runs={r.active} showFlow label="Active runs" empty="Nothing is running." />}
          </section>
          <section aria-labelledby="pending-title">
            <h2 id="pending-title">
              Pending
              <Count n={r?.pending.length} />
            </h2>
            {r && <RunTable runs={r.pending} showFlow label="Pending runs" empty="No run waits to start." />}
          </section>
          <section aria-labelledby="flows-title">
            <h2 id="flows-title">Flows</h2>
            {flows.error && !flows.data && <LoadError message={flows.error} retry={flows.reload} />}
            {flows.data && r ? (
              <FlowTable flows={flows.data} recent={recentRunsByFlow(r, older)} partial={r.unreachable.length > 0} />
            ) : (
              !flows.error && <Loading />
            )}
          </section>
        </div>
        <aside class="dash-side" aria-labelledby="hosts-title">
          <div class="dash-side-head">
            <h2 id="hosts-title">Hosts</h2>
            <Link href={to.hosts()}>All hosts</Link>
          </div>
          {hosts.error && (
            <p class="error" role="alert">
              Could not load the hosts: {hosts.error}
            </p>
          )}
          {hosts.data ? <HostSummary hosts={hosts.data.hosts} /> : !hosts.error && <Loading />}
        </aside>
      </div>
    </Layout>
  );
}
