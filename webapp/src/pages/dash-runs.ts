import type { DataWaiting, PublishedEvent, RunList, RunStatus, RunSummary, Unreachable } from '../api-types.js';

/** Archived runs of the first load: enough for most flows' recent runs in one request. */
export const FIRST_PAGE = 100;
/** Archived runs of a reload: the newest, merged into what is held (a gap means a full load). */
export const CATCH_UP_PAGE = 25;
/** Archived runs kept at most; older ones are dropped as new ones end. */
export const KEPT_ARCHIVE = 500;
/** Runs shown per flow. */
export const RECENT_RUNS = 10;

/** The dashboard's runs of every flow on every host, kept live by events. */
export interface DashRuns {
  /** Oldest adopted first. */
  pending: RunSummary[];
  /** Longest running first. */
  active: RunSummary[];
  /** Newest ended first. */
  archive: RunSummary[];
  /** Whether older archived runs exist than those held, so a flow with few here may have more. */
  hasOlder: boolean;
  unreachable: Unreachable[];
}

export function fromPage(page: RunList): DashRuns {
  return {
    pending: page.pending,
    active: page.active,
    archive: page.archive.slice(0, KEPT_ARCHIVE),
    hasOlder: page.next !== undefined || page.archive.length > KEPT_ARCHIVE,
    unreachable: page.unreachable,
  };
}

/**
 * A reload's first page merged into what is held: pending and active as the page says, and its
 * archived runs added to those held. Undefined when the page shares no run with the held
 * archive while older ones exist: more runs ended than a page holds, and a full load is due.
 */
export function mergePage(prev: DashRuns, page: RunList): DashRuns | undefined {
  const held = new Set(prev.archive.map((r) => r.ref.run));
  const overlaps = page.archive.some((r) => held.has(r.ref.run));
  if (page.next !== undefined && !overlaps) return undefined;
  const fresh = new Set(page.archive.map((r) => r.ref.run));
  const merged = [...page.archive, ...prev.archive.filter((r) => !fresh.has(r.ref.run))];
  merged.sort((a, b) => (b.endTime ?? 0) - (a.endTime ?? 0));
  // An end heard before the page was read stays: a run that ended never runs again.
  const done = new Set(merged.map((r) => r.ref.run));
  return {
    pending: page.pending.filter((r) => !done.has(r.ref.run)),
    active: page.active.filter((r) => !done.has(r.ref.run)),
    archive: merged.slice(0, KEPT_ARCHIVE),
    hasOlder: page.next !== undefined && (prev.hasOlder || merged.length > KEPT_ARCHIVE),
    unreachable: page.unreachable,
  };
}

const sameRun = (run: string) => (r: RunSummary) => r.ref.run === run;

/**
 * What an event does to the dashboard's runs: changes it can make from the event alone (a run
 * ended, an input answered, why a pend waits) are made here; the rest (a new pend, a start, a
 * node done, an input asked) need the host's counts and forms, so the runs are loaded again.
 * Applying an event twice does no harm, as events heard during a load may be in its result.
 */
export function applyRunEvent(s: DashRuns, e: PublishedEvent): DashRuns | 'reload' {
  switch (e.kind) {
    case 'trigger':
    case 'node':
    case 'node-start':
    case 'node-output':
      return s;
    case 'add-pend':
      return known(s, e.ref.run) ? s : 'reload';
    case 'remove-pend':
      return s.pending.some(sameRun(e.ref.run)) ? 'reload' : s;
    case 'activate':
      return s.active.some(sameRun(e.ref.run)) || s.archive.some(sameRun(e.ref.run)) ? s : 'reload';
    case 'pend-waiting': {
      const pend = s.pending.find(sameRun(e.ref.run));
      if (!pend) return known(s, e.ref.run) ? s : 'reload';
      if (pend.waiting === e.reason) return s;
      return { ...s, pending: s.pending.map((r) => (r === pend ? { ...r, waiting: e.reason } : r)) };
    }
    case 'node-end':
      return s.archive.some(sameRun(e.ref.run)) ? s : 'reload';
    case 'data-required': {
      const run = s.active.find(sameRun(e.ref.run));
      if (run?.dataWaiting?.some((d) => d.node === e.node)) return s;
      return s.archive.some(sameRun(e.ref.run)) ? s : 'reload';
    }
    case 'data-answered': {
      const run = s.active.find(sameRun(e.ref.run));
      if (!run?.dataWaiting?.some((d) => d.node === e.node)) return s;
      const dataWaiting = run.dataWaiting.filter((d) => d.node !== e.node);
      return { ...s, active: s.active.map((r) => (r === run ? { ...r, dataWaiting } : r)) };
    }
    case 'end':
      return ended(s, e.ref.run, e.status, e.at, e.reason);
    default:
      return assertNever(e);
  }
}

function known(s: DashRuns, run: string): boolean {
  const is = sameRun(run);
  return s.pending.some(is) || s.active.some(is) || s.archive.some(is);
}

/** The run moves to the archive as the event says; one not held is loaded with the rest. */
function ended(s: DashRuns, run: string, status: RunStatus, at: number, reason: string | undefined): DashRuns | 'reload' {
  if (s.archive.some(sameRun(run))) return s;
  const was = s.active.find(sameRun(run)) ?? s.pending.find(sameRun(run));
  if (!was) return 'reload';
  // An ended run has no progress, inputs or reason to wait.
  const done: RunSummary = { ...was, status, endTime: at, progress: undefined, dataWaiting: undefined, waiting: undefined };
  if (reason !== undefined) done.reason = reason;
  return {
    ...s,
    pending: s.pending.filter((r) => r !== was),
    active: s.active.filter((r) => r !== was),
    archive: [done, ...s.archive].slice(0, KEPT_ARCHIVE),
  };
}

function assertNever(e: never): never {
  throw new Error(`unknown event ${JSON.stringify(e)}`);
}

/** A data node waiting for input, with its run. */
export interface InboxItem {
  run: RunSummary;
  ask: DataWaiting;
}

/** Every data node waiting for input, longest waiting first. */
export function inboxOf(s: DashRuns): InboxItem[] {
  const items = s.active.flatMap((run) => (run.dataWaiting ?? []).map((ask) => ({ run, ask })));
  return items.sort((a, b) => a.ask.since - b.ask.since);
}

/**
 * Each flow's latest runs, newest adopted first: pending, active and archived runs held, and
 * `older` archived runs loaded for flows that have few among those.
 */
export function recentRunsByFlow(s: DashRuns, older: ReadonlyMap<string, RunSummary[]>): Map<string, RunSummary[]> {
  const out = new Map<string, RunSummary[]>();
  const seen = new Set<string>();
  const add = (r: RunSummary) => {
    if (seen.has(r.ref.run)) return;
    seen.add(r.ref.run);
    const list = out.get(r.ref.flowRef.id);
    if (list) list.push(r);
    else out.set(r.ref.flowRef.id, [r]);
  };
  // First the freshest copy of a run: a pend that started is listed once, as active.
  for (const r of s.active) add(r);
  for (const r of s.pending) add(r);
  for (const r of s.archive) add(r);
  for (const list of older.values()) for (const r of list) add(r);
  for (const [flow, list] of out) {
    list.sort((a, b) => b.createdAt - a.createdAt);
    out.set(flow, list.slice(0, RECENT_RUNS));
  }
  return out;
}
