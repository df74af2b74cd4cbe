import {
  RELAYED_CODES,
  type ArchivePlaces,
  type ArchiveSlice,
  type PeerReply,
  type PeerRequest,
  type RunList,
} from '../cluster/messages.js';
import { FloeError } from '../errors.js';
import type { OutputLine } from '../model/output.js';
import type { RunRef } from '../model/refs.js';
import { runSummary, type EndStatus, type RunRecord, type RunSummary } from '../model/run.js';
import { shownRecord } from '../model/secret-values.js';
import type { ArchivePage, ArchiveQuery, OutputQuery } from '../store/store.js';
import { errorMessage } from './core.js';

/** The hub's own reads and actions on the runs it holds: what a peer's run request is answered from. */
export interface LocalRuns {
  listPending(flow?: string): RunRecord[];
  /** Summaries of the runs executing here, with their progress and the data nodes waiting. */
  activeSummaries(flow?: string): RunSummary[];
  listArchive(q?: ArchiveQuery): Promise<ArchivePage>;
  findRun(run: string): Promise<RunRecord | undefined>;
  getOutput(run: string, q?: OutputQuery): Promise<OutputLine[]>;
  cancel(run: string, by?: string): Promise<void>;
  rerun(run: string, by?: string): Promise<RunRef[]>;
  answerData(run: string, node: string, values: Record<string, unknown>, by?: string): Promise<void>;
}

export type RunRequest = Extract<PeerRequest, { kind: 'runs' | 'run' | 'output' | 'cancel' | 'rerun' | 'answer' }>;

const RUN_REQUESTS: ReadonlySet<PeerRequest['kind']> = new Set<RunRequest['kind']>(['runs', 'run', 'output', 'cancel', 'rerun', 'answer']);

/**
 * JSON of output lines sent in one reply, at most. A line holds up to 64 KiB and a page up to
 * 5,000 lines, more than a peer takes in one reply (4 MiB); what is left out is asked for next.
 */
export const OUTPUT_REPLY_CHARS = 1024 * 1024;

/**
 * Archived runs a host reads for one filtered slice, at most, skipped ones included: a status
 * that few runs ended with would otherwise make one page read the whole archive.
 */
export const FILTER_SCAN_MAX = 5_000;

export function isRunRequest(req: PeerRequest): req is RunRequest {
  return RUN_REQUESTS.has(req.kind);
}

/** What this host's own lists hold: one flow's (or all) runs, and a slice of its archive. */
export interface RunsHere extends ArchivePlaces {
  pending: RunSummary[];
  active: RunSummary[];
  archive: RunSummary[];
}

/** Answers a peer's request about runs held here; never rejects (a failure is an `error` reply). */
export async function answerRunRequest(
  local: LocalRuns,
  members: readonly string[],
  req: RunRequest,
  scanMax = FILTER_SCAN_MAX,
): Promise<PeerReply> {
  if (!members.includes(req.from)) return { kind: 'refused', reason: `${req.from} is not in common.hosts` };
  try {
    switch (req.kind) {
      case 'runs':
        return { kind: 'runs', ...(await listRunsHere(local, req.lists, req.flow, req.archive, scanMax)) };
      case 'run': {
        const record = await local.findRun(req.run);
        // Asked for a view (run detail, or where the run is): secret values stay here, with the run.
        return record ? { kind: 'run', record: shownRecord(record) } : { kind: 'run' };
      }
      case 'output':
        return { kind: 'output', ...fitOutput(await local.getOutput(req.run, req.query), req.query) };
      case 'cancel':
        await local.cancel(req.run, req.by);
        return { kind: 'cancel' };
      case 'rerun':
        return { kind: 'rerun', runs: await local.rerun(req.run, req.by) };
      case 'answer':
        await local.answerData(req.run, req.node, req.values, req.by);
        return { kind: 'answer' };
    }
  } catch (err) {
    return errorReply(err);
  }
}

/** The error reply for `err`, with its code when the asking host should answer its client with the same status. */
export function errorReply(err: unknown): PeerReply {
  const message = errorMessage(err);
  const code = err instanceof FloeError ? RELAYED_CODES.find((c) => c === err.code) : undefined;
  return code ? { kind: 'error', message, code } : { kind: 'error', message };
}

/**
 * This host's runs, as summaries. Memory first, then the store: a run archived in between is
 * then in both lists (and the caller shows it only as archived), never in neither.
 */
export async function listRunsHere(
  local: LocalRuns,
  lists: readonly RunList[],
  flow: string | undefined,
  slice: ArchiveSlice | undefined,
  scanMax = FILTER_SCAN_MAX,
): Promise<RunsHere> {
  const out: RunsHere = { pending: [], active: [], archive: [] };
  if (lists.includes('pending')) out.pending = local.listPending(flow).map(runSummary);
  if (lists.includes('active')) out.active = local.activeSummaries(flow);
  if (lists.includes('archive') && slice) {
    const read = slice.status ? filteredSlice(local, flow, slice, slice.status, scanMax) : archiveSlice(local, flow, slice);
    Object.assign(out, await read);
  }
  return out;
}

/**
 * The slice's runs and where they lie, each read anchored at a position: runs archived
 * meanwhile (they get higher positions) never shift a slice or what the asker skips next time.
 */
async function archiveSlice(
  local: LocalRuns,
  flow: string | undefined,
  { before, skip, limit }: ArchiveSlice,
): Promise<ArchivePlaces & { archive: RunSummary[] }> {
  let from = before;
  if (skip > 0) {
    const skipped = await local.listArchive({ flow, before, limit: skip });
    if (skipped.next === undefined) return { archive: [] };
    from = skipped.next;
  }
  if (from === undefined) {
    const top = await local.listArchive({ flow, limit: 1 });
    if (top.next === undefined) return { archive: top.runs.map(runSummary) };
    // Positions are integers and `before` leaves its own out: one past the newest run starts
    // at it, and a run archived after this read (a higher position) stays out of every page.
    from = top.next + 1;
  }
  const page = await local.listArchive({ flow, before: from, limit });
  return { archive: page.runs.map(runSummary), next: page.next, from };
}

type SlicePart = ArchivePlaces & { archive: RunSummary[] };

/**
 * The runs that ended with one of `status`, after skipping the `skip` newest of them, read a
 * page at a time from `before`. The store tells a position only at the end of a page, so the
 * slice starts at the last page end before its first run and says how many matching runs after
 * that it `skipped`. It ends at a page end too: with `limit` runs (more are cut to one more, so
 * the asker sees that the slice goes on past its page), at the archive's end, or once `scanMax`
 * runs are read, where `scannedTo` tells the asker how far it got.
 */
async function filteredSlice(
  local: LocalRuns,
  flow: string | undefined,
  { before, skip, limit }: ArchiveSlice,
  status: readonly EndStatus[],
  scanMax: number,
): Promise<SlicePart> {
  const matches = (r: RunRecord) => status.includes(r.status as EndStatus);
  let at = before;
  if (at === undefined) {
    const top = await local.listArchive({ flow, limit: 1 });
    if (top.next === undefined) return { archive: skip > 0 ? [] : top.runs.filter(matches).map(runSummary) };
    at = top.next + 1; // as in archiveSlice: runs archived after this read stay out
  }
  const out: SlicePart = { archive: [], from: at, skipped: skip };
  let toSkip = skip;
  let scanned = 0;
  // A first page of `skip` runs holds no run to show, so the slice can start after it: an asker
  // that shows part of the slice then skips a few runs next time, not more with every page.
  let size = skip > 0 ? skip : limit;
  for (;;) {
    const page = await local.listArchive({ flow, before: at, limit: Math.min(size, scanMax - scanned) });
    for (const r of page.runs) {
      if (!matches(r)) continue;
      if (toSkip > 0) toSkip--;
      else out.archive.push(runSummary(r));
    }
    scanned += page.runs.length;
    const last = page.runs[page.runs.length - 1];
    if (out.archive.length > limit) {
      out.archive.length = limit + 1;
      return out;
    }
    if (page.next === undefined || !last) return out;
    at = page.next;
    // Every match so far was skipped: the slice can start after this page.
    if (out.archive.length === 0) Object.assign(out, { from: at, skipped: toSkip });
    if (out.archive.length === limit) return { ...out, next: at };
    // A skip reaches past the limit only when it goes past what an earlier slice read (a
    // made-up cursor): the asker then goes on from here, and shows again the runs not skipped.
    if (scanned >= scanMax) return { ...out, next: at, scannedTo: last.endTime ?? last.createdAt };
    size = Math.max(2 * size, limit + toSkip); // few matches so far: read further at once
  }
}

/**
 * `lines` cut to what one reply carries: with `tail` the last ones, else the first ones.
 * At least one line goes, so a reader paging with `from` always moves on.
 */
export function fitOutput(lines: OutputLine[], q: OutputQuery): { lines: OutputLine[]; cut?: true } {
  let chars = 0;
  const fits = (l: OutputLine, kept: number) => {
    chars += JSON.stringify(l).length;
    return kept === 0 || chars <= OUTPUT_REPLY_CHARS;
  };
  if (q.tail !== undefined) {
    let start = lines.length;
    while (start > 0 && fits(lines[start - 1] as OutputLine, lines.length - start)) start--;
    return start === 0 ? { lines } : { lines: lines.slice(start), cut: true };
  }
  let end = 0;
  while (end < lines.length && fits(lines[end] as OutputLine, end)) end++;
  return end === lines.length ? { lines } : { lines: lines.slice(0, end), cut: true };
}
