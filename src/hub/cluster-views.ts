import type { Membership } from '../cluster/membership.js';
import type { AnswerValues, PeerReply, PeerRequest, RunList } from '../cluster/messages.js';
import { FloeError } from '../errors.js';
import type { Clock } from '../model/clock.js';
import type { OutputLine } from '../model/output.js';
import type { RunRef } from '../model/refs.js';
import { isFinished, type EndStatus, type RunRecord, type RunSummary } from '../model/run.js';
import type { OutputQuery } from '../store/store.js';
import { decodeCursor, encodeCursor, type ArchiveCursor, type HostArchivePlace } from './archive-cursor.js';
import { askPeer, offlineReason, replyReason } from './ask-peer.js';
import { errorMessage } from './core.js';
import { listRunsHere, type LocalRuns, type RunsHere } from './run-requests.js';

/** How the views reach other hosts: the hub's cluster link. */
export interface PeerAccess {
  readonly membership: Membership;
  readonly selfUrl: string;
  /** Rejects when no reply comes (unreachable). */
  sendNow(url: string, req: PeerRequest): Promise<PeerReply>;
}

export interface ClusterViewOptions {
  /** How long a read (a list, a run, its output) waits for each host. Default 2,000 ms. */
  askMs?: number;
  /** How long an action (cancel, rerun, answer) waits for the host holding the run. Default 10,000 ms. */
  actMs?: number;
  /** Archived runs this host reads for one page of a status filter, at most. Default FILTER_SCAN_MAX. */
  scanMax?: number;
}

/** A host left out of an answer, and why: offline, refused, or silent past the time limit. */
export interface Unreachable {
  host: string;
  reason: string;
}

export interface RunListQuery {
  flow?: string;
  /** Archived runs on the page. */
  limit: number;
  /** Where the previous page ended; from each host's newest run when absent. */
  before?: ArchiveCursor;
  /** Only archived runs that ended so; every one when absent. */
  status?: EndStatus[];
}

/** The runs of every host that answered, merged as one host would list them. */
export interface RunListing {
  /** Oldest adopted first. */
  pending: RunSummary[];
  /** Longest running first. */
  active: RunSummary[];
  /** Newest ended first. */
  archive: RunSummary[];
  /**
   * Pass back as `before` for older archived runs; absent when no host that answered has more.
   * With `status`, a page may hold fewer than `limit` runs, or none, and still have a `next`.
   */
  next?: number | string;
  unreachable: Unreachable[];
}

/** A run and the host that holds it: where its detail, output and actions are read and done. */
export interface LocatedRun {
  record: RunRecord;
  url: string;
  host: string;
}

/**
 * The cluster seen from this host: run lists gathered from every online host in parallel, and
 * reads and actions on one run forwarded to the host that holds it. Each host answers from its
 * own runs (run-requests.ts), so nothing here keeps state between calls.
 */
export class ClusterViews {
  private readonly askMs: number;
  private readonly actMs: number;
  private readonly scanMax: number | undefined;

  constructor(
    private readonly local: LocalRuns,
    private readonly peers: PeerAccess,
    private readonly clock: Clock,
    private readonly hostName: string,
    opts: ClusterViewOptions = {},
  ) {
    this.askMs = opts.askMs ?? 2_000;
    this.actMs = opts.actMs ?? 10_000;
    this.scanMax = opts.scanMax;
  }

  /** A `next` of `listRuns` given back as text; throws bad-request when it is none. */
  readCursor(text: string): ArchiveCursor {
    return decodeCursor(text, this.peers.selfUrl);
  }

  /** Pending, active and a page of archived runs of every host, each asked at once under the time limit. */
  async listRuns(q: RunListQuery): Promise<RunListing> {
    const self = this.peers.selfUrl;
    const m = this.peers.membership;
    const cursor: ArchiveCursor = q.before ?? new Map([self, ...m.peerUrls()].map((url) => [url, { skip: 0 }]));
    const unreachable: Unreachable[] = [];
    const ask = async (url: string): Promise<[string, RunsHere | undefined]> => {
      const place = cursor.get(url);
      const lists: RunList[] = place ? ['pending', 'active', 'archive'] : ['pending', 'active'];
      const archive = place && { limit: q.limit, ...place, ...(q.status && { status: q.status }) };
      if (url === self) return [url, await listRunsHere(this.local, lists, q.flow, archive, this.scanMax)];
      try {
        const reply = await this.ask(url, { kind: 'runs', from: self, flow: q.flow, lists, archive });
        // A host of an older floe ignores the filter; its places count other runs, so it is left out.
        const unfiltered = q.status && reply.kind === 'runs' && reply.archive.some((r) => !q.status?.includes(r.status as EndStatus));
        if (reply.kind === 'runs' && !unfiltered) return [url, reply];
        const reason = unfiltered
          ? 'answered archived runs of other statuses: it may run a floe without status filters'
          : replyReason(reply);
        unreachable.push({ host: m.nameOf(url), reason });
      } catch (err) {
        unreachable.push({ host: m.nameOf(url), reason: errorMessage(err) });
      }
      return [url, undefined];
    };
    const asked: string[] = [self];
    for (const p of m.list()) {
      if (m.isOnline(p.url)) asked.push(p.url);
      else unreachable.push({ host: m.nameOf(p.url), reason: offlineReason(p) });
    }
    const answers = new Map<string, RunsHere>();
    for (const [url, here] of await Promise.all(asked.map(ask))) if (here) answers.set(url, here);
    unreachable.sort((a, b) => compare(a.host, b.host));
    return { ...mergeRuns(answers, q.limit, cursor, self), unreachable };
  }

  /**
   * The host that holds `run`: this one; else the host a pend here was handed to, or the one
   * that adopted it (named by the run id), who knows where it went; else every online host at
   * once. Undefined when every host answered that it has no such run; `unreachable` when
   * some host that may hold it did not answer.
   */
  async locate(run: string): Promise<LocatedRun | undefined> {
    const self = this.peers.selfUrl;
    const m = this.peers.membership;
    const here = await this.local.findRun(run);
    if (here && isHeldBy(here, self)) return { record: here, url: self, host: this.hostName };
    const silent = new Map<string, string>();
    const asked = new Set<string>([self]);
    // A pend handed to a host that has not taken it yet is still its adopter's.
    let handedOver: LocatedRun | undefined = here && { record: here, url: self, host: this.hostName };
    const askRun = async (url: string): Promise<RunRecord | undefined> => {
      asked.add(url);
      const p = m.get(url);
      if (!p) return undefined;
      if (!m.isOnline(url)) {
        silent.set(url, offlineReason(p));
        return undefined;
      }
      try {
        const reply = await this.ask(url, { kind: 'run', from: self, run });
        if (reply.kind === 'run') return reply.record;
        silent.set(url, replyReason(reply));
      } catch (err) {
        silent.set(url, errorMessage(err));
      }
      return undefined;
    };
    const likely = [here?.placedOn, m.urlOf(adopterName(run))];
    while (likely.length > 0) {
      const url = likely.shift();
      if (url === undefined || asked.has(url)) continue;
      const record = await askRun(url);
      if (!record) continue;
      const at = { record, url, host: m.nameOf(url) };
      if (isHeldBy(record, url)) return at;
      handedOver ??= at;
      likely.push(record.placedOn);
    }
    const rest = m.peerUrls().filter((url) => !asked.has(url));
    const found = await Promise.all(rest.map(async (url) => ({ url, record: await askRun(url) })));
    let best: LocatedRun | undefined;
    for (const { url, record } of found) {
      if (!record) continue;
      const at = { record, url, host: m.nameOf(url) };
      if (!isHeldBy(record, url)) handedOver ??= at;
      else if (!best || progress(record) > progress(best.record)) best = at;
    }
    const at = best ?? handedOver;
    if (at || silent.size === 0) return at;
    const answered = [self, ...m.peerUrls()].filter((url) => !silent.has(url)).map((url) => m.nameOf(url));
    const why = [...silent].map(([url, reason]) => `${m.nameOf(url)}: ${reason}`).join('; ');
    throw new FloeError('unreachable', `no run ${run} on ${answered.join(', ')}, and not every host answered (${why})`);
  }

  /** Output lines of a located run; `cut` when its host left some out to keep its reply small. */
  async output(at: LocatedRun, q: OutputQuery): Promise<{ lines: OutputLine[]; cut: boolean }> {
    if (at.url === this.peers.selfUrl) return { lines: await this.local.getOutput(at.record.ref.run, q), cut: false };
    const reply = await this.forward(at, { kind: 'output', from: this.peers.selfUrl, run: at.record.ref.run, query: q }, this.askMs);
    if (reply.kind !== 'output') throw unexpected(at, reply);
    return { lines: reply.lines, cut: reply.cut === true };
  }

  /** Cancel a located run on its host, recorded as done by `by`. */
  async cancel(at: LocatedRun, by: string): Promise<void> {
    if (at.url === this.peers.selfUrl) return this.local.cancel(at.record.ref.run, by);
    const reply = await this.forward(at, { kind: 'cancel', from: this.peers.selfUrl, run: at.record.ref.run, by }, this.actMs);
    if (reply.kind !== 'cancel') throw unexpected(at, reply);
  }

  /** Start a located run again; its host adopts the new run. */
  async rerun(at: LocatedRun, by: string): Promise<RunRef[]> {
    if (at.url === this.peers.selfUrl) return this.local.rerun(at.record.ref.run, by);
    const reply = await this.forward(at, { kind: 'rerun', from: this.peers.selfUrl, run: at.record.ref.run, by }, this.actMs);
    if (reply.kind !== 'rerun') throw unexpected(at, reply);
    return reply.runs;
  }

  /** Answer a data node of a located run. */
  async answer(at: LocatedRun, node: string, values: AnswerValues, by: string): Promise<void> {
    const run = at.record.ref.run;
    if (at.url === this.peers.selfUrl) return this.local.answerData(run, node, values, by);
    const reply = await this.forward(at, { kind: 'answer', from: this.peers.selfUrl, run, node, values, by }, this.actMs);
    if (reply.kind !== 'answer') throw unexpected(at, reply);
  }

  /** Sends to the run's host: its coded errors come back as the same FloeError, silence as `unreachable`. */
  private async forward(at: LocatedRun, req: PeerRequest, ms: number): Promise<PeerReply> {
    let reply: PeerReply;
    try {
      reply = await this.ask(at.url, req, ms);
    } catch (err) {
      throw new FloeError('unreachable', `run ${at.record.ref.run} is on ${at.host}, which did not answer: ${errorMessage(err)}`);
    }
    if (reply.kind === 'error' && reply.code) throw new FloeError(reply.code, reply.message);
    return reply;
  }

  /** A peer's reply, or a rejection once `ms` pass on the clock without one. */
  private ask(url: string, req: PeerRequest, ms = this.askMs): Promise<PeerReply> {
    return askPeer((u, q) => this.peers.sendNow(u, q), this.clock, url, req, ms);
  }
}

/**
 * One listing from every host's answer: archived runs newest first, `limit` of them, and each
 * host's place after them. A host that did not answer keeps its place, but only a host that
 * answered and has older runs makes a `next`, so a client paging to the end always ends.
 */
function mergeRuns(
  answers: ReadonlyMap<string, RunsHere>,
  limit: number,
  cursor: ArchiveCursor,
  self: string,
): Omit<RunListing, 'unreachable'> {
  // Each host's slice is taken in its own order, newest ended first between hosts: a host's
  // order may differ from its end times (clocks, two runs ending at once), and where it goes
  // on must be after a prefix of what it sent.
  // A host that stopped reading before its slice was full (a status filter) has runs after its
  // slice yet unread, which may have ended after another host's next run: the page stops there.
  const slices = [...answers].map(([url, here]) => ({ url, runs: here.archive, taken: 0, unread: here.scannedTo }));
  const page: RunSummary[] = [];
  while (page.length < limit) {
    let best: (typeof slices)[number] | undefined;
    let bestEnd = -Infinity;
    for (const s of slices) {
      const run = s.runs[s.taken];
      const end = run ? (run.endTime ?? 0) : s.unread;
      if (end !== undefined && end > bestEnd) [best, bestEnd] = [s, end];
    }
    const run = best?.runs[best.taken];
    if (!best || !run) break;
    page.push(run);
    best.taken++;
  }
  const taken = new Map(slices.map((s) => [s.url, s.taken]));
  const after: ArchiveCursor = new Map();
  let more = false;
  for (const [url, place] of cursor) {
    const here = answers.get(url);
    const next = here ? placeAfter(place, here, taken.get(url) ?? 0) : place;
    if (!next) continue;
    after.set(url, next);
    more ||= here !== undefined;
  }
  // A run archived on a host while it was read is in two of its lists: it shows as archived.
  // Every id is shown once: a pend in hand-over is on two hosts, the later state wins.
  const seen = new Set<string>();
  const once = (runs: RunSummary[]) =>
    runs.filter((r) => {
      if (seen.has(r.ref.run)) return false;
      seen.add(r.ref.run);
      return true;
    });
  const hosts = [...answers.values()];
  const archive = once(page);
  for (const s of slices) for (const r of s.runs) seen.add(r.ref.run);
  const active = once(hosts.flatMap((h) => h.active)).sort((a, b) => (a.startTime ?? 0) - (b.startTime ?? 0));
  const pending = once(hosts.flatMap((h) => h.pending)).sort((a, b) => a.createdAt - b.createdAt);
  return { pending, active, archive, next: more ? encodeCursor(after, self) : undefined };
}

/** Where a host's listing goes on once `taken` of the slice it sent are shown; undefined when it has no more. */
function placeAfter(place: HostArchivePlace, here: RunsHere, taken: number): HostArchivePlace | undefined {
  if (taken === here.archive.length) return here.next === undefined ? undefined : { before: here.next, skip: 0 };
  if (here.from !== undefined) return { before: here.from, skip: (here.skipped ?? 0) + taken };
  // A host with one run (not taken) cannot say where it lies: it goes on from its newest.
  return taken === 0 ? place : { skip: taken };
}

/** Whether `url`'s record of a run is the one that counts: not a pend it handed to another host. */
function isHeldBy(r: RunRecord, url: string): boolean {
  return !(r.status === 'pending' && r.placedOn !== undefined && r.placedOn !== url);
}

/** Of two hosts' records of a run (a hand-over in flight), the later state wins. */
function progress(r: RunRecord): number {
  if (isFinished(r.status)) return 2;
  return r.status === 'running' ? 1 : 0;
}

/** Run ids are `<adopting host>-<number>`. */
function adopterName(run: string): string {
  const dash = run.lastIndexOf('-');
  return dash > 0 ? run.slice(0, dash) : run;
}

function unexpected(at: LocatedRun, reply: PeerReply): FloeError {
  return new FloeError('unreachable', `${at.host}, which holds run ${at.record.ref.run}, failed: ${replyReason(reply)}`);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
