import { useState } from 'preact/hooks';
import { get } from '../api.js';
import type { HostEntry, HostList, OwnedTag, RunList, RunSummary } from '../api-types.js';
import { Ago } from '../parts/ago.js';
import { HostState, hostLabel } from '../parts/host-state.js';
import { Layout, LoadError, Loading } from '../parts/layout.js';
import { ReleaseTag } from '../parts/release-tag.js';
import { UnreachableNote } from '../parts/unreachable-note.js';
import { usePolled } from '../parts/use-polled.js';
import { Link, to } from '../router.js';
import { me } from '../session.js';
import './hosts.css';

/**
 * Host state comes with heartbeats, not events, so the page asks again this often while it is
 * visible (and not at all while hidden).
 */
const REFRESH_MS = 3_000;

interface HostsData {
  list: HostList;
  /** Pending and active runs of every host that answered, by id: their flows make run links. */
  runs: ReadonlyMap<string, RunSummary>;
  unreachable: RunList['unreachable'];
  at: number;
}

/**
 * GET /hosts names runs without their flows; GET /runs (its smallest archive page) lists every
 * pending and active run with its flow. A run neither lists is shown as plain text.
 */
async function loadHosts(): Promise<HostsData> {
  const [list, runs] = await Promise.all([get<HostList>('/hosts'), get<RunList>('/runs?limit=1').catch(() => undefined)]);
  const byId = new Map<string, RunSummary>();
  for (const r of [...(runs?.pending ?? []), ...(runs?.active ?? [])]) byId.set(r.ref.run, r);
  return { list, runs: byId, unreachable: runs?.unreachable ?? [], at: Date.now() };
}

/** A run id, linked to its run page when its flow is known. */
function RunId({ id, runs }: { id: string; runs: ReadonlyMap<string, RunSummary> }) {
  const r = runs.get(id);
  if (!r) return <span class="mono">{id}</span>;
  return (
    <Link href={to.run(r.ref.flowRef.id, id)} class="mono" title={`run ${id} of flow ${r.ref.flowRef.id}`}>
      {id}
    </Link>
  );
}

function RunIds({ ids, runs, none }: { ids: string[]; runs: ReadonlyMap<string, RunSummary>; none: string }) {
  if (ids.length === 0) return <span class="muted">{none}</span>;
  return (
    <ul class="run-ids">
      {ids.map((id) => (
        <li key={id}>
          <RunId id={id} runs={runs} />
        </li>
      ))}
    </ul>
  );
}

function TagList({ tags, none }: { tags: string[]; none: string }) {
  if (tags.length === 0) return <span class="muted">{none}</span>;
  return (
    <span class="tags">
      {tags.map((t) => (
        <span class="tag" key={t}>
          {t}
        </span>
      ))}
    </span>
  );
}

function loadText(h: HostEntry): string {
  const l = h.load;
  if (!l) return 'unknown';
  return `${l.active} active, ${l.pending} pending, ${l.maxRuns === null ? 'no limit' : `at most ${l.maxRuns}`}`;
}

const idOf = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

function HostCard({ host, runs }: { host: HostEntry; runs: ReadonlyMap<string, RunSummary> }) {
  const name = hostLabel(host);
  const titleId = `host-${idOf(name)}`;
  return (
    <li>
      <article class={`host-card${host.online ? '' : ' down'}`} aria-labelledby={titleId} data-host={name}>
        <header class="host-card-head">
          <h2 id={titleId}>{name}</h2>
          {host.self && <span class="muted">this host</span>}
          <HostState host={host} />
        </header>
        {host.id !== undefined && <p class="mono muted host-url">{host.url}</p>}
        {host.refused && (
          <p class="error">
            <strong>Refused:</strong> {host.refused}
          </p>
        )}
        <dl class="host-facts">
          <dt>Host tags</dt>
          <dd>
            <TagList tags={host.tags} none="none known" />
          </dd>
          {!host.online && host.offlineSince !== undefined && (
            <>
              <dt>Offline since</dt>
              <dd>
                <Ago at={host.offlineSince} />
              </dd>
            </>
          )}
          <dt>Last contact</dt>
          <dd>
            {host.self ? (
              <span class="muted">this host answers</span>
            ) : host.lastContact !== undefined ? (
              <Ago at={host.lastContact} />
            ) : (
              <span class="muted">never</span>
            )}
          </dd>
          <dt>Version</dt>
          <dd>{host.version ?? <span class="muted">unknown</span>}</dd>
          <dt>Load</dt>
          <dd>{loadText(host)}</dd>
          <dt>Running</dt>
          <dd>
            <RunIds ids={host.runIds?.active ?? []} runs={runs} none="no runs" />
          </dd>
          {(host.runIds?.pending.length ?? 0) > 0 && (
            <>
              <dt>Pending</dt>
              <dd>
                <RunIds ids={host.runIds?.pending ?? []} runs={runs} none="none" />
              </dd>
            </>
          )}
          <dt>Resource tags held</dt>
          <dd>
            <TagList tags={host.heldTags} none="none" />
          </dd>
        </dl>
      </article>
    </li>
  );
}

/**
 * The host that runs `run`: the one GET /runs says executes it (fresh), else the one whose last
 * heartbeat lists it, active or pending (kept for a host gone offline), else the host its id names (`h2-7` was
 * adopted by h2), which is where a run no host lists any more most likely was.
 */
function hostOfRun(run: string, hosts: HostEntry[], runs: ReadonlyMap<string, RunSummary>): { host: HostEntry; sure: boolean } | undefined {
  const exec = runs.get(run)?.execHost;
  const byExec = exec === undefined ? undefined : hosts.find((h) => h.id === exec);
  if (byExec) return { host: byExec, sure: true };
  const byBeat = hosts.find((h) => h.runIds?.active.includes(run) || h.runIds?.pending.includes(run));
  if (byBeat) return { host: byBeat, sure: true };
  const adopter = run.slice(0, run.lastIndexOf('-'));
  const byName = hosts.find((h) => h.id === adopter);
  return byName && { host: byName, sure: false };
}

function whereText(at: ReturnType<typeof hostOfRun>): string {
  if (!at) return 'a host not known here';
  const state = at.host.online ? 'online' : 'offline';
  return `${hostLabel(at.host)}${at.sure ? '' : ' (by its id)'}, ${state}`;
}

interface Releasable {
  tag: OwnedTag & { holder: string };
  where: string;
}

function TagsTable({ data, onRelease }: { data: HostsData; onRelease: (r: Releasable) => void }) {
  const { tags, hosts } = data.list;
  const isAdmin = me.value?.role === 'admin';
  if (tags.length === 0) return <p class="muted">No resource tag is held or waited for.</p>;
  return (
    <div class="table-wrap">
      <table class="tags-table" aria-label="Resource tags">
        <thead>
          <tr>
            <th scope="col">Tag</th>
            <th scope="col">Held by</th>
            <th scope="col">Waiting, in order</th>
            <th scope="col" class="hide-narrow">
              Owner
            </th>
            <th scope="col">Released by hand</th>
            {isAdmin && <th scope="col">Action</th>}
          </tr>
        </thead>
        <tbody>
          {tags.map((t) => {
            const holder = t.holder;
            const at = holder === undefined ? undefined : hostOfRun(holder, hosts, data.runs);
            // A holder no online host runs will not release the tag by itself.
            const stuck = holder !== undefined && !at?.host.online;
            return (
              <tr key={`${t.tag}@${t.owner}`} data-tag={t.tag}>
                <th scope="row">
                  <span class="tag">{t.tag}</span>
                </th>
                <td>
                  {holder === undefined ? (
                    <span class="muted">nobody</span>
                  ) : (
                    <>
                      <RunId id={holder} runs={data.runs} />
                      <div class={stuck ? 'tag-holder-host down' : 'tag-holder-host muted'}>on {whereText(at)}</div>
                    </>
                  )}
                </td>
                <td>
                  {t.waiting.length === 0 ? (
                    <span class="muted">nobody</span>
                  ) : (
                    <ol class="tag-queue" aria-label={`Runs waiting for ${t.tag}`}>
                      {t.waiting.map((id) => (
                        <li key={id}>
                          <RunId id={id} runs={data.runs} />
                        </li>
                      ))}
                    </ol>
                  )}
                </td>
                <td class="hide-narrow">{t.owner}</td>
                <td>
                  {t.manual.length === 0 ? (
                    <span class="muted">never</span>
                  ) : (
                    <ul class="tag-manual">
                      {t.manual
                        .slice()
                        .reverse()
                        .map((m) => (
                          <li key={`${m.run}@${m.at}`}>
                            <span class="mono">{m.run}</span> by {m.by}, <Ago at={m.at} />
                          </li>
                        ))}
                    </ul>
                  )}
                </td>
                {isAdmin && (
                  <td>
                    {stuck && holder !== undefined ? (
                      <button type="button" class="danger" onClick={() => onRelease({ tag: { ...t, holder }, where: whereText(at) })}>
                        Release {t.tag}
                      </button>
                    ) : (
                      <span class="muted">–</span>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function HostsPage() {
  const polled = usePolled('hosts', loadHosts, REFRESH_MS);
  const [releasing, setReleasing] = useState<Releasable | undefined>(undefined);
  const [said, setSaid] = useState<string | undefined>(undefined);
  const data = polled.data;

  return (
    <Layout title="Hosts">
      {data && (
        <UnreachableNote
          hosts={[...data.list.unreachable, ...data.unreachable]}
          what="Their resource tags, and the flows of their runs, are missing below until they answer."
        />
      )}
      {polled.error && !data && <LoadError message={polled.error} retry={polled.reload} />}
      {polled.error && data && (
        <p class="error" role="alert">
          Could not refresh ({polled.error}); this is what the host said <Ago at={data.at} />.
        </p>
      )}
      {!data && !polled.error && <Loading />}
      {data && (
        <>
          <ul class="host-cards" aria-label="Fleet">
            {data.list.hosts.map((h) => (
              <HostCard key={h.url} host={h} runs={data.runs} />
            ))}
          </ul>
          <section aria-labelledby="tags-title">
            <h2 id="tags-title">Resource tags</h2>
            <p class="muted tags-intro">
              A run holds its flow's resource tags, cluster-wide, from its start to its end; other runs needing one wait in line.
            </p>
            <p class="tags-said" role="status">
              {said && <>✓ {said}</>}
            </p>
            <TagsTable data={data} onRelease={setReleasing} />
          </section>
        </>
      )}
      {releasing && (
        <ReleaseTag
          tag={releasing.tag}
          holderWhere={releasing.where}
          onCancel={() => setReleasing(undefined)}
          onDone={(message) => {
            setReleasing(undefined);
            setSaid(message);
            polled.reload();
          }}
        />
      )}
    </Layout>
  );
}
