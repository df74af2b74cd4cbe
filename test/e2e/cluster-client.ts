import { setTimeout as sleep } from 'node:timers/promises';
import type { RunSummary } from '../../src/model/run.js';
import type { TestContext } from 'node:test';
import { startCluster, type Cluster, type ClusterHost, type ClusterOptions } from './cluster-harness.js';
import { StampDir } from './stamps.js';

/** A host as another host's `GET /hosts` shows it. */
export interface HostSeen {
  id?: string;
  url: string;
  self: boolean;
  tags: string[];
  online: boolean;
  lastContact?: number;
  offlineSince?: number;
  refused?: string;
  runs?: { pending: number; active: number };
}

/** A flow's runs as one host lists them, cluster-wide: every page of the archive. */
export interface RunsSeen {
  pending: RunSummary[];
  active: RunSummary[];
  archive: RunSummary[];
  /** Hosts that did not answer the listing (empty when every host's runs are in it). */
  unreachable: Array<{ host: string; reason: string }>;
}

/** The parsed envelope of an API answer; throws with the host's message unless the status is 2xx. */
async function payloadOf<T>(host: ClusterHost, res: Response, what: string): Promise<T> {
  const body = (await res.json()) as { message: string; payload: T };
  if (!res.ok) throw new Error(`${what} on ${host.name}: HTTP ${res.status}: ${body.message}`);
  return body.payload;
}

/** Starts `flow` by its data trigger through `host`'s API; resolves with the acknowledged run id. */
export async function trigger(host: ClusterHost, flow: string, values: Record<string, string> = {}): Promise<string> {
  const res = await host.api('/push/data', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ref: { id: flow }, form: { values } }),
  });
  const { runs } = await payloadOf<{ runs: string[] }>(host, res, `trigger ${flow}`);
  const run = runs[0];
  if (run === undefined) throw new Error(`trigger ${flow} on ${host.name} acknowledged no run`);
  return run;
}

/** `GET /flows/:id` on `host`, following `next` through the whole archive. */
export async function runsOf(host: ClusterHost, flow: string): Promise<RunsSeen> {
  const seen: RunsSeen = { pending: [], active: [], archive: [], unreachable: [] };
  let before: string | number | undefined;
  for (let page = 0; ; page++) {
    const query = before === undefined ? '?limit=500' : `?limit=500&before=${encodeURIComponent(String(before))}`;
    const p = await payloadOf<{
      runs: { pending: RunSummary[]; active: RunSummary[]; archive: RunSummary[] };
      next?: string | number;
      unreachable?: RunsSeen['unreachable'];
    }>(host, await host.api(`/flows/${flow}${query}`), `GET /flows/${flow}`);
    if (page === 0) {
      seen.pending = p.runs.pending;
      seen.active = p.runs.active;
    }
    seen.archive.push(...p.runs.archive);
    seen.unreachable.push(...(p.unreachable ?? []));
    if (p.next === undefined) return seen;
    before = p.next;
  }
}

/** `GET /flows/:flow/runs/:run` on `host`: the run's summary, nodes and output lines. */
export async function runDetail(
  host: ClusterHost,
  flow: string,
  run: string,
): Promise<RunSummary & { output: { lines: Array<{ node: string; stream: string; line: string }> } }> {
  return payloadOf(host, await host.api(`/flows/${flow}/runs/${run}`), `GET run ${run}`);
}

/** `GET /hosts` on `host`: itself and its peers as it sees them. */
export async function hostsSeenBy(host: ClusterHost): Promise<HostSeen[]> {
  return (await payloadOf<{ hosts: HostSeen[] }>(host, await host.api('/hosts'), 'GET /hosts')).hosts;
}

/** The peer named `name` in `host`'s `GET /hosts`; throws if it is not there. */
export async function peerSeenBy(host: ClusterHost, name: string): Promise<HostSeen> {
  const hosts = await hostsSeenBy(host);
  const peer = hosts.find((h) => h.id === name);
  if (!peer) throw new Error(`${host.name}'s GET /hosts has no ${name}: ${JSON.stringify(hosts)}`);
  return peer;
}

/**
 * Polls `probe` until it returns something other than undefined, and resolves with that; rejects
 * once `timeoutMs` pass, with `what` and the last thing the probe saw (or threw). A deadline for a
 * condition, not a measure of speed.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; everyMs?: number; last?: () => unknown } = {},
): Promise<T> {
  const until = Date.now() + (opts.timeoutMs ?? 20_000);
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      lastErr = undefined;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= until) {
      const seen = opts.last ? `; last seen: ${JSON.stringify(opts.last())}` : '';
      const thrown =
        lastErr === undefined ? '' : `; the last probe threw: ${lastErr instanceof Error ? lastErr.message : JSON.stringify(lastErr)}`;
      throw new Error(`timed out waiting for ${what}${seen}${thrown}`);
    }
    await sleep(opts.everyMs ?? 100);
  }
}

/**
 * Waits until `flow`'s listing on `host` holds every run of `runs` archived, and resolves with
 * that listing. Unless `partial`, only a listing every host answered counts.
 */
export async function waitArchived(
  host: ClusterHost,
  flow: string,
  runs: string[],
  opts: { timeoutMs?: number; partial?: boolean } = {},
): Promise<RunsSeen> {
  let last: RunsSeen | undefined;
  return waitFor(
    `runs ${runs.join(', ')} of ${flow} archived, as ${host.name} lists them`,
    async () => {
      last = await runsOf(host, flow);
      const archived = new Set(last.archive.map((r) => r.ref.run));
      const whole = opts.partial === true || last.unreachable.length === 0;
      return whole && runs.every((r) => archived.has(r)) ? last : undefined;
    },
    {
      timeoutMs: opts.timeoutMs ?? 20_000,
      last: () => last && { ...last, archive: last.archive.map((r) => `${r.ref.run}:${r.status}@${r.execHost}`) },
    },
  );
}

/** Waits until `host` sees peer `name` online (or offline); resolves with the peer as seen. */
export async function waitPeer(host: ClusterHost, name: string, online: boolean, timeoutMs = 20_000): Promise<HostSeen> {
  let last: HostSeen | undefined;
  return waitFor(
    `${host.name} to see ${name} ${online ? 'online' : 'offline'}`,
    async () => {
      last = await peerSeenBy(host, name);
      return last.online === online ? last : undefined;
    },
    { timeoutMs, everyMs: 50, last: () => last },
  );
}

/** Waits until every host of `hosts` sees every other online. */
export async function waitMet(hosts: ClusterHost[]): Promise<void> {
  for (const h of hosts) for (const other of hosts) if (other !== h) await waitPeer(h, other.name, true);
}

/**
 * A cluster on `flows` (given the stamp dir its tasks use) and that stamp dir, for one test:
 * both stopped and removed after it, however it ends. `gates` are opened before the hosts stop.
 */
export async function startStampedCluster(
  t: TestContext,
  flows: (s: StampDir) => string,
  opts: Omit<ClusterOptions, 'flows'>,
  gates: string[] = [],
): Promise<{ cluster: Cluster; stamps: StampDir }> {
  const stamps = await StampDir.create();
  let cluster: Cluster;
  try {
    cluster = await startCluster({ ...opts, flows: flows(stamps) });
  } catch (err) {
    await stamps.remove();
    throw err;
  }
  t.after(async () => {
    try {
      // A host stops sooner without tasks waiting out its grace.
      await stamps.openAll(gates);
      await cluster.stop();
    } finally {
      await stamps.remove();
    }
  });
  return { cluster, stamps };
}
