import type { ErrorCode } from '../errors.js';
import type { HubEvent, PublishedEvent } from '../model/events.js';
import type { OutputLine, OutputStream } from '../model/output.js';
import type { FlowRef, RunRef } from '../model/refs.js';
import { END_STATUSES, type EndStatus, type RunRecord, type RunStatus, type RunSummary } from '../model/run.js';
import type { OutputQuery } from '../store/store.js';

/**
 * Bumped when a message changes incompatibly; hosts of different protocols refuse each other.
 * 2: `node-output` events carry a batch of lines (`first`, `last`, `lines`), not one `line`.
 */
export const PROTOCOL_VERSION = 2;

/** How busy a host is; `maxRuns` null means no limit. */
export interface HostLoad {
  active: number;
  pending: number;
  maxRuns: number | null;
}

/** A resource tag as the host that owns it keeps it: who holds it and who waits, in order. */
export interface TagView {
  tag: string;
  holder?: string;
  /** Waiting runs, first in line first (the holder not included). */
  waiting: string[];
  /** Releases by a person, newest last. */
  manual: Array<{ run: string; by: string; at: number }>;
}

/** What a host last heard of another, passed on so every host sees the whole cluster. */
export interface PeerSeen {
  url: string;
  name?: string;
  online: boolean;
  lastContact?: number;
}

/** A host's heartbeat: who it is and what it holds. Sent to every peer, answered with the peer's own. */
export interface HostHello {
  name: string;
  /** This host's URL as `common.hosts` lists it. */
  url: string;
  /** Differs on every start of the host, so a peer tells a restart from a pause. */
  boot: string;
  version: string;
  protocol: number;
  tags: string[];
  /** `common.hosts`, sorted and space-joined: hosts that disagree on it disagree on tag owners. */
  hostsKey: string;
  load: HostLoad;
  /** Run ids pending and active here (at most 100 of each; `load` has the counts). */
  runs: { pending: string[]; active: string[] };
  /** Resource tags held by runs active here. */
  heldTags: string[];
  known: PeerSeen[];
  /** A client here follows live events (a websocket): peers send this host their own events. Absent: false (older hosts). */
  watching?: boolean;
  /** A digest of the flow versions this host runs (`flowsKey`); a peer with the same one knows every flow this host may be handed. */
  flowsKey?: string;
  /** This host is shutting down and starts no new run. Absent: false. */
  stopping?: boolean;
}

/** Host-to-host requests, each answered by the reply of the same `kind` (or `refused`/`error`). */
export type PeerRequest =
  | { kind: 'hello'; hello: HostHello }
  /** May you start this pend now? A yes reserves a slot for a few seconds; nothing is persisted. */
  | { kind: 'offer'; from: string; run: string; flow: FlowRef }
  /** The adopter has decided (and persisted) that this run is yours: keep it and run it. Idempotent. */
  | { kind: 'take'; from: string; record: RunRecord }
  /** Queue `run` for resource tag `tag` (this host owns the tag). Idempotent. `from` gets the grant. */
  | { kind: 'lock'; from: string; tag: string; run: string }
  /** `run` no longer needs `tag` (it ended, or was cancelled while waiting). Idempotent. */
  | { kind: 'unlock'; from: string; tag: string; run: string; by?: string }
  /** The owner's push: `run` now holds `tag`. */
  | { kind: 'granted'; tag: string; run: string }
  /**
   * The poll-git owner's last seen refs of one trigger, so the next owner fires only what is new;
   * `at`: when it polled them (absent from older hosts).
   */
  | { kind: 'poll-seen'; from: string; key: string; seen: Record<string, string>; at?: number }
  /** The resource tags this host owns that are held, waited for or were released by a person: for views. */
  | { kind: 'tags'; from: string }
  /** The runs this host holds: the `lists` asked for, of one flow id or all; the archive newest first. */
  | { kind: 'runs'; from: string; flow?: string; lists: RunList[]; archive?: ArchiveSlice }
  /** This host's record of `run`, if it has one. */
  | { kind: 'run'; from: string; run: string }
  /** Output lines of a run held here. */
  | { kind: 'output'; from: string; run: string; query: OutputQuery }
  /** Actions on a run held here, done for the person `by` who asked another host. */
  | { kind: 'cancel'; from: string; run: string; by: string }
  | { kind: 'rerun'; from: string; run: string; by: string }
  | { kind: 'answer'; from: string; run: string; node: string; values: AnswerValues; by: string }
  /** The sender's own published events, oldest first, for this host's websocket clients. Best effort: nothing is retried. */
  | { kind: 'events'; from: string; events: PublishedEvent[] };

/** Which of a host's run lists a `runs` request wants. */
export type RunList = 'pending' | 'active' | 'archive';

/** `limit` archived runs, newest first, after skipping the `skip` newest of those archived before position `before`. */
export interface ArchiveSlice {
  limit: number;
  /** The host's archive position (its page `next`); from its newest run when absent. */
  before?: number;
  skip: number;
  /** Only runs that ended so; `skip` counts those alone. */
  status?: EndStatus[];
}

/**
 * Where an archive slice lies in the host's archive, so that the asking host can say where to go
 * on when it shows only the first `k` runs of the slice: `k` runs after skipping, before `from`.
 */
export interface ArchivePlaces {
  /** The position after the slice's last run; absent when the archive has no older runs. */
  next?: number;
  /** The position the slice starts before; absent only when the host has at most one such run. */
  from?: number;
  /**
   * A filtered slice: runs that match, after `from`, left out as already listed. It starts at a
   * position the host knows, which may lie before some of those.
   */
  skipped?: number;
  /**
   * A filtered slice that the host stopped reading at its limit before it found `limit` runs:
   * the end time of the last run it read. Its older runs, from `next` on, are yet to be read.
   */
  scannedTo?: number;
}

/** A data node's answer as a form sends it: one scalar per field. */
export type AnswerValues = Record<string, string | number | boolean>;

/** The error codes a host passes on with an `error` reply, so the asking host answers its client alike. */
export const RELAYED_CODES = ['not-found', 'conflict', 'bad-request', 'shutting-down'] as const satisfies readonly ErrorCode[];
export type RelayedCode = (typeof RELAYED_CODES)[number];

export type LockState =
  | { state: 'granted' }
  /** `position` 1 is the holder; `holder` is the run holding the tag now. */
  | { state: 'queued'; position: number; holder: string; ahead: string }
  /** The run released the tag already (or it was released for it): it must not take it again. */
  | { state: 'released' };

export type PeerReply =
  | { kind: 'hello'; hello: HostHello }
  | { kind: 'offer'; accept: true }
  | { kind: 'offer'; accept: false; reason: string }
  | { kind: 'take' }
  | ({ kind: 'lock' } & LockState)
  | { kind: 'unlock' }
  | { kind: 'granted' }
  | { kind: 'poll-seen' }
  | { kind: 'tags'; tags: TagView[] }
  | ({ kind: 'runs'; pending: RunSummary[]; active: RunSummary[]; archive: RunSummary[] } & ArchivePlaces)
  | { kind: 'run'; record?: RunRecord }
  /** `cut` when lines were left out to keep the reply small: ask again from after the last one. */
  | { kind: 'output'; lines: OutputLine[]; cut?: boolean }
  | { kind: 'cancel' }
  | { kind: 'rerun'; runs: RunRef[] }
  | { kind: 'answer' }
  | { kind: 'events' }
  /** The receiver will not deal with the sender (same name, different common.hosts, ...). */
  | { kind: 'refused'; reason: string }
  /** `code` when the request failed for a reason its sender's client should hear as such (a 404, 409, ...). */
  | { kind: 'error'; message: string; code?: RelayedCode };

/**
 * The transport between hosts: HTTP on `-prv_bind` in a host, an in-memory (or simulated)
 * network in tests. `send` rejects when no reply arrives (unreachable, timed out).
 */
export interface Peers {
  send(url: string, req: PeerRequest): Promise<PeerReply>;
}

/** Why a request got no usable answer: the transport's error, or what the peer said instead. */
export function replyProblem(reply: PeerReply | undefined, error: string | undefined): string {
  return error ?? (reply?.kind === 'refused' ? reply.reason : reply?.kind === 'error' ? reply.message : 'bad reply');
}

/** Narrows a request body from the network; returns a message naming the bad field. */
export function parsePeerRequest(body: unknown): PeerRequest | string {
  if (!isObject(body)) return 'request must be a JSON object';
  switch (body.kind) {
    case 'hello': {
      const h = parseHello(body.hello);
      return typeof h === 'string' ? `hello.${h}` : { kind: 'hello', hello: h };
    }
    case 'offer': {
      if (!isString(body.from)) return 'from must be a string';
      if (!isString(body.run)) return 'run must be a string';
      const flow = body.flow;
      if (!isObject(flow) || !isString(flow.id) || !Number.isInteger(flow.ver)) return 'flow must be {id, ver}';
      return { kind: 'offer', from: body.from, run: body.run, flow: { id: flow.id, ver: flow.ver as number } };
    }
    case 'take': {
      if (!isString(body.from)) return 'from must be a string';
      const bad = checkRecord(body.record);
      if (bad) return `record.${bad}`;
      return { kind: 'take', from: body.from, record: body.record as RunRecord };
    }
    case 'lock':
    case 'unlock': {
      if (!isString(body.from)) return 'from must be a string';
      if (!isName(body.tag)) return 'tag must be a string without control characters';
      if (!isName(body.run)) return 'run must be a string without control characters';
      if (body.kind === 'lock') return { kind: 'lock', from: body.from, tag: body.tag, run: body.run };
      if (body.by !== undefined && !isString(body.by)) return 'by must be a string';
      return { kind: 'unlock', from: body.from, tag: body.tag, run: body.run, by: body.by };
    }
    case 'granted':
      if (!isString(body.tag)) return 'tag must be a string';
      if (!isString(body.run)) return 'run must be a string';
      return { kind: 'granted', tag: body.tag, run: body.run };
    case 'poll-seen': {
      if (!isString(body.from)) return 'from must be a string';
      if (!isString(body.key) || !body.key.startsWith('poll-git/')) return 'key must be a poll-git key';
      const seen = body.seen;
      if (!isObject(seen) || Object.keys(seen).length > 100_000) return 'seen must be an object of ref -> hash';
      for (const [ref, hash] of Object.entries(seen)) if (!isString(hash)) return `seen.${ref.slice(0, 100)} must be a string`;
      const req: Extract<PeerRequest, { kind: 'poll-seen' }> = {
        kind: 'poll-seen',
        from: body.from,
        key: body.key,
        seen: seen as Record<string, string>,
      };
      if (body.at === undefined) return req;
      if (!isCount(body.at) || !Number.isSafeInteger(body.at)) return 'at must be an integer >= 0 (epoch ms)';
      return { ...req, at: body.at as number };
    }
    case 'tags':
      if (!isString(body.from)) return 'from must be a string';
      return { kind: 'tags', from: body.from };
    case 'runs':
      return parseRunsRequest(body);
    case 'run':
    case 'output':
    case 'cancel':
    case 'rerun':
    case 'answer':
      return parseRunRequest(body.kind, body);
    case 'events': {
      if (!isString(body.from)) return 'from must be a string';
      const events = parseEvents(body.events);
      return typeof events === 'string' ? events : { kind: 'events', from: body.from, events };
    }
    default:
      return `unknown kind ${JSON.stringify(body.kind)?.slice(0, 40)}`;
  }
}

/** Narrows a reply from the network; a malformed one is an `error` reply, never a throw. */
export function parsePeerReply(body: unknown): PeerReply {
  if (!isObject(body) || !isString(body.kind)) return { kind: 'error', message: 'reply is not a JSON object with a kind' };
  switch (body.kind) {
    case 'hello': {
      const h = parseHello(body.hello);
      return typeof h === 'string' ? { kind: 'error', message: `bad hello reply: ${h}` } : { kind: 'hello', hello: h };
    }
    case 'offer':
      if (body.accept === true) return { kind: 'offer', accept: true };
      return { kind: 'offer', accept: false, reason: isString(body.reason) ? body.reason : 'refused' };
    case 'lock':
      if (body.state === 'granted' || body.state === 'released') return { kind: 'lock', state: body.state };
      if (body.state === 'queued' && Number.isInteger(body.position) && isString(body.holder) && isString(body.ahead))
        return { kind: 'lock', state: 'queued', position: body.position as number, holder: body.holder, ahead: body.ahead };
      return { kind: 'error', message: 'bad lock reply' };
    case 'take':
    case 'unlock':
    case 'granted':
    case 'poll-seen':
    case 'cancel':
    case 'answer':
    case 'events':
      return { kind: body.kind };
    case 'runs':
      return parseRunsReply(body);
    case 'tags':
      return parseTagsReply(body);
    case 'run': {
      if (body.record === undefined) return { kind: 'run' };
      const bad = checkRecord(body.record);
      return bad ? { kind: 'error', message: `bad run reply: record.${bad}` } : { kind: 'run', record: body.record as RunRecord };
    }
    case 'output': {
      const lines = parseLines(body.lines);
      if (typeof lines === 'string') return { kind: 'error', message: `bad output reply: ${lines}` };
      return body.cut === true ? { kind: 'output', lines, cut: true } : { kind: 'output', lines };
    }
    case 'rerun': {
      if (!Array.isArray(body.runs) || body.runs.length > 1000 || !body.runs.every(isRunRef))
        return { kind: 'error', message: 'bad rerun reply: runs must be a list of {flowRef, run}' };
      return { kind: 'rerun', runs: body.runs };
    }
    case 'refused':
      return { kind: 'refused', reason: isString(body.reason) ? body.reason : 'refused' };
    case 'error': {
      const message = isString(body.message) ? body.message : 'error';
      const code = RELAYED_CODES.find((c) => c === body.code);
      return code ? { kind: 'error', message, code } : { kind: 'error', message };
    }
    default:
      return { kind: 'error', message: `unknown reply kind ${JSON.stringify(body.kind).slice(0, 40)}` };
  }
}

const RUN_LISTS: readonly RunList[] = ['pending', 'active', 'archive'];
const STATUSES: readonly RunStatus[] = ['pending', 'running', 'good', 'bad', 'cancelled'];
const STREAMS: readonly OutputStream[] = ['stdout', 'stderr', 'floe'];
/** A `runs` request's archive slice: `skip + limit` runs are read, so both stay within a page or two. */
const SLICE_MAX = 1000;
/**
 * A filtered slice's `skip` counts matching runs that an earlier slice read: up to as many as
 * its host reads for one slice. Reading them counts towards that limit, so a larger one costs no more.
 */
const FILTERED_SKIP_MAX = 100_000;

function parseRunsRequest(body: Record<string, unknown>): PeerRequest | string {
  if (!isString(body.from)) return 'from must be a string';
  if (body.flow !== undefined && !isString(body.flow)) return 'flow must be a string';
  const lists = body.lists;
  if (!Array.isArray(lists) || !lists.every((l) => RUN_LISTS.includes(l as RunList)))
    return `lists must be a list of ${RUN_LISTS.join(', ')}`;
  const req: Extract<PeerRequest, { kind: 'runs' }> = { kind: 'runs', from: body.from, lists: [...new Set(lists as RunList[])] };
  if (isString(body.flow)) req.flow = body.flow;
  if (body.archive === undefined) return req;
  const a = body.archive;
  if (!isObject(a)) return 'archive must be {limit, before?, skip}';
  if (!isCount(a.limit) || (a.limit as number) < 1 || (a.limit as number) > SLICE_MAX)
    return `archive.limit must be an integer from 1 to ${SLICE_MAX}`;
  const status = a.status;
  if (
    status !== undefined &&
    (!Array.isArray(status) || status.length === 0 || !status.every((s) => END_STATUSES.includes(s as EndStatus)))
  )
    return `archive.status must be a non-empty list of ${END_STATUSES.join(', ')}`;
  const skipMax = status === undefined ? SLICE_MAX : FILTERED_SKIP_MAX;
  if (!isCount(a.skip) || (a.skip as number) > skipMax) return `archive.skip must be an integer from 0 to ${skipMax}`;
  if (a.before !== undefined && !isCount(a.before)) return 'archive.before must be an integer >= 0';
  req.archive = { limit: a.limit as number, skip: a.skip as number };
  if (a.before !== undefined) req.archive.before = a.before as number;
  if (status !== undefined) req.archive.status = [...new Set(status as EndStatus[])];
  return req;
}

/** Tags in one `tags` reply, at most: a host owns a share of the cluster's resource tags. */
const TAGS_MAX = 10_000;
/** Runs in one tag's queue in a `tags` reply, at most, and releases by a person (the owner keeps 50). */
const TAG_QUEUE_MAX = 100_000;
const TAG_MANUAL_MAX = 1_000;

function parseTagsReply(body: Record<string, unknown>): PeerReply {
  const v = body.tags;
  if (!Array.isArray(v) || v.length > TAGS_MAX)
    return { kind: 'error', message: `bad tags reply: tags must be a list of at most ${TAGS_MAX}` };
  const tags: TagView[] = [];
  for (const [i, t] of v.entries()) {
    const tag = parseTagView(t);
    if (typeof tag === 'string') return { kind: 'error', message: `bad tags reply: tags[${i}]${tag}` };
    tags.push(tag);
  }
  return { kind: 'tags', tags };
}

function parseTagView(t: unknown): TagView | string {
  if (!isObject(t)) return ' must be {tag, holder?, waiting, manual}';
  if (!isName(t.tag)) return '.tag must be a string without control characters';
  if (t.holder !== undefined && !isName(t.holder)) return '.holder must be a run id';
  if (!Array.isArray(t.waiting) || t.waiting.length > TAG_QUEUE_MAX || !t.waiting.every(isName))
    return '.waiting must be a list of run ids';
  if (!Array.isArray(t.manual) || t.manual.length > TAG_MANUAL_MAX) return '.manual must be a list of {run, by, at}';
  const manual: TagView['manual'] = [];
  for (const [i, m] of t.manual.entries()) {
    if (!isObject(m) || !isName(m.run) || !isString(m.by) || typeof m.at !== 'number' || !Number.isFinite(m.at))
      return `.manual[${i}] must be {run, by, at}`;
    manual.push({ run: m.run, by: m.by, at: m.at });
  }
  const view: TagView = { tag: t.tag, waiting: [...t.waiting], manual };
  if (t.holder !== undefined) view.holder = t.holder;
  return view;
}

function parseRunRequest(kind: 'run' | 'output' | 'cancel' | 'rerun' | 'answer', body: Record<string, unknown>): PeerRequest | string {
  if (!isString(body.from)) return 'from must be a string';
  if (!isString(body.run)) return 'run must be a string';
  const { from, run } = body;
  if (kind === 'run') return { kind, from, run };
  if (kind === 'output') {
    const q = parseOutputQuery(body.query);
    return typeof q === 'string' ? `query.${q}` : { kind, from, run, query: q };
  }
  if (!isString(body.by)) return 'by must be a string';
  const by = body.by;
  if (kind !== 'answer') return { kind, from, run, by };
  if (!isString(body.node)) return 'node must be a string';
  const values = body.values;
  if (!isObject(values)) return 'values must be an object';
  const entries = Object.entries(values);
  if (entries.length > 1000) return 'values has over 1000 fields';
  for (const [k, v] of entries) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      return `values.${k.slice(0, 40)} must be a string, number or boolean`;
  }
  return { kind, from, run, node: body.node, values: values as AnswerValues, by };
}

function parseOutputQuery(v: unknown): OutputQuery | string {
  if (!isObject(v)) return 'must be an object';
  const q: OutputQuery = {};
  if (v.node !== undefined) {
    if (!isString(v.node)) return 'node must be a string';
    q.node = v.node;
  }
  for (const k of ['from', 'limit', 'tail'] as const) {
    const n = v[k];
    if (n === undefined) continue;
    if (!isCount(n) || !Number.isSafeInteger(n)) return `${k} must be an integer >= 0`;
    q[k] = n as number;
  }
  return q;
}

function parseRunsReply(body: Record<string, unknown>): PeerReply {
  const out: Extract<PeerReply, { kind: 'runs' }> = { kind: 'runs', pending: [], active: [], archive: [] };
  for (const list of RUN_LISTS) {
    const v = body[list];
    if (!Array.isArray(v) || v.length > 100_000) return { kind: 'error', message: `bad runs reply: ${list} must be a list` };
    for (const [i, s] of v.entries()) {
      const bad = checkSummary(s);
      if (bad) return { kind: 'error', message: `bad runs reply: ${list}[${i}].${bad}` };
      out[list].push(s as RunSummary);
    }
  }
  for (const k of ['next', 'from', 'skipped'] as const) {
    const v = body[k];
    if (v === undefined) continue;
    if (!isCount(v)) return { kind: 'error', message: `bad runs reply: ${k} must be an integer >= 0` };
    out[k] = v as number;
  }
  if (body.scannedTo !== undefined) {
    if (!isTime(body.scannedTo)) return { kind: 'error', message: 'bad runs reply: scannedTo must be a number' };
    out.scannedTo = body.scannedTo;
  }
  return out;
}

/** The fields a merged listing sorts and dedupes by; the rest is passed on as it came. */
function checkSummary(v: unknown): string | undefined {
  if (!isObject(v)) return 'must be an object';
  if (!isRunRef(v.ref)) return 'ref must be {flowRef: {id, ver}, run}';
  if (!STATUSES.includes(v.status as RunStatus)) return `status must be one of ${STATUSES.join(', ')}`;
  if (typeof v.createdAt !== 'number' || !Number.isFinite(v.createdAt)) return 'createdAt must be a number';
  for (const k of ['startTime', 'endTime'] as const) if (v[k] !== undefined && typeof v[k] !== 'number') return `${k} must be a number`;
  const p = v.progress;
  if (p !== undefined && !(isObject(p) && isCount(p.done) && isCount(p.total))) return 'progress must be {done, total}';
  if (v.dataWaiting === undefined) return undefined;
  if (!Array.isArray(v.dataWaiting) || v.dataWaiting.length > 10_000) return 'dataWaiting must be a list';
  for (const [i, w] of v.dataWaiting.entries()) {
    const ok = isObject(w) && isString(w.node) && isString(w.name) && isTime(w.since) && isObject(w.form) && Array.isArray(w.form.fields);
    if (!ok) return `dataWaiting[${i}] must be {node, name, form, since}`;
  }
  return undefined;
}

function isRunRef(v: unknown): v is RunRef {
  return isObject(v) && isString(v.run) && isObject(v.flowRef) && isString(v.flowRef.id) && Number.isInteger(v.flowRef.ver);
}

function parseLines(v: unknown): OutputLine[] | string {
  if (!Array.isArray(v) || v.length > 100_000) return 'lines must be a list';
  for (const [i, l] of v.entries()) {
    const ok =
      isObject(l) &&
      typeof l.node === 'string' &&
      STREAMS.includes(l.stream as OutputStream) &&
      typeof l.line === 'string' &&
      typeof l.at === 'number' &&
      isCount(l.n);
    if (!ok) return `lines[${i}] must be {node, stream, line, at, n}`;
  }
  return v as OutputLine[];
}

function parseHello(v: unknown): HostHello | string {
  if (!isObject(v)) return 'must be an object';
  for (const k of ['name', 'url', 'boot', 'version', 'hostsKey'] as const) if (!isString(v[k])) return `${k} must be a string`;
  if (!Number.isInteger(v.protocol)) return 'protocol must be an integer';
  if (!isStringArray(v.tags)) return 'tags must be a list of strings';
  if (!isStringArray(v.heldTags)) return 'heldTags must be a list of strings';
  const load = v.load;
  if (!isObject(load) || !isCount(load.active) || !isCount(load.pending) || !(load.maxRuns === null || isCount(load.maxRuns)))
    return 'load must be {active, pending, maxRuns}';
  const runs = v.runs;
  if (!isObject(runs) || !isStringArray(runs.pending) || !isStringArray(runs.active)) return 'runs must be {pending, active}';
  if (!Array.isArray(v.known)) return 'known must be a list';
  const known: PeerSeen[] = [];
  for (const k of v.known.slice(0, 1000)) {
    if (!isObject(k) || !isString(k.url) || typeof k.online !== 'boolean') return 'known entries must be {url, online}';
    known.push({
      url: k.url,
      name: isString(k.name) ? k.name : undefined,
      online: k.online,
      lastContact: typeof k.lastContact === 'number' ? k.lastContact : undefined,
    });
  }
  return {
    name: v.name as string,
    url: v.url as string,
    boot: v.boot as string,
    version: v.version as string,
    protocol: v.protocol as number,
    tags: v.tags,
    hostsKey: v.hostsKey as string,
    load: { active: load.active as number, pending: load.pending as number, maxRuns: load.maxRuns as number | null },
    runs: { pending: runs.pending, active: runs.active },
    heldTags: v.heldTags,
    known,
    ...(typeof v.watching === 'boolean' && { watching: v.watching }),
    ...(isString(v.flowsKey) && { flowsKey: v.flowsKey }),
    ...(v.stopping === true && { stopping: true }),
  };
}

/** Events in one `events` request, at most; a sender batches by size and sends far fewer. */
export const EVENTS_MAX = 10_000;

/** Where each kind of event names its flow: the run's `ref`, or (a trigger, no run yet) `flowRef`. */
const EVENT_KINDS: Readonly<Record<HubEvent['kind'], 'ref' | 'flowRef'>> = {
  trigger: 'flowRef',
  node: 'ref',
  'add-pend': 'ref',
  'pend-waiting': 'ref',
  'remove-pend': 'ref',
  activate: 'ref',
  'node-start': 'ref',
  'node-output': 'ref',
  'node-end': 'ref',
  'data-required': 'ref',
  'data-answered': 'ref',
  end: 'ref',
};

/**
 * The fields a host files and filters forwarded events by (kind, seq, host, run, flow); the rest
 * of each event is passed on to websocket clients as it came.
 */
function parseEvents(v: unknown): PublishedEvent[] | string {
  if (!Array.isArray(v) || v.length > EVENTS_MAX) return `events must be a list of at most ${EVENTS_MAX} events`;
  for (const [i, e] of v.entries()) {
    const bad = checkEvent(e);
    if (bad) return `events[${i}]${bad}`;
  }
  return v as PublishedEvent[];
}

function checkEvent(v: unknown): string | undefined {
  if (!isObject(v)) return ' must be an object';
  if (!isString(v.kind) || !Object.hasOwn(EVENT_KINDS, v.kind)) return `.kind must be one of ${Object.keys(EVENT_KINDS).join(', ')}`;
  if (!isString(v.tag)) return '.tag must be a string';
  if (!isCount(v.seq) || !Number.isSafeInteger(v.seq)) return '.seq must be an integer >= 0';
  if (typeof v.at !== 'number' || !Number.isFinite(v.at)) return '.at must be a number';
  if (!isName(v.host)) return '.host must be a host name';
  if (v.kind === 'node-output') {
    const bad = checkOutputBatch(v);
    if (bad) return bad;
  }
  if (EVENT_KINDS[v.kind as HubEvent['kind']] === 'ref') return isRunRef(v.ref) ? undefined : '.ref must be {flowRef: {id, ver}, run}';
  const f = v.flowRef;
  return isObject(f) && isString(f.id) && Number.isInteger(f.ver) ? undefined : '.flowRef must be {id, ver}';
}

/** A batch of output lines, as websocket clients render it: lines numbered first..last. */
function checkOutputBatch(v: Record<string, unknown>): string | undefined {
  if (!isString(v.node)) return '.node must be a string';
  if (v.stream !== 'stdout' && v.stream !== 'stderr' && v.stream !== 'floe') return '.stream must be stdout, stderr or floe';
  if (!Array.isArray(v.lines) || v.lines.length === 0 || !v.lines.every((l) => typeof l === 'string'))
    return '.lines must be a list of strings';
  if (!isCount(v.first) || !Number.isSafeInteger(v.first)) return '.first must be an integer >= 0';
  if (v.last !== (v.first as number) + v.lines.length - 1) return '.last must be first + the number of lines - 1';
  return undefined;
}

/** The fields the receiving hub relies on; the rest of a record is carried as it came. */
function checkRecord(v: unknown): string | undefined {
  if (!isObject(v)) return 'must be an object';
  if (!isRunRef(v.ref)) return 'ref must be {flowRef: {id, ver}, run}';
  if (!isString(v.adoptedBy)) return 'adoptedBy must be a string';
  if (typeof v.createdAt !== 'number' || !Number.isFinite(v.createdAt)) return 'createdAt must be a number';
  const t = v.trigger;
  if (!isObject(t) || !isString(t.id) || !isString(t.type) || !isObject(t.values)) return 'trigger must be {id, type, values}';
  // Form values may be long; the whole body is size-capped by the transport.
  for (const [k, val] of Object.entries(t.values)) if (typeof val !== 'string') return `trigger.values.${k} must be a string`;
  if (!isObject(v.nodes)) return 'nodes must be an object';
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 4096;
}

/** Tags and run ids become parts of store keys, separated by a control character. */
function isName(v: unknown): v is string {
  return isString(v) && v.length > 0 && !/[\u0000-\u001f]/.test(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= 10_000 && v.every(isString);
}

function isCount(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 0;
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
