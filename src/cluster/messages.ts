import type { FlowRef } from '../model/refs.js';
import type { RunRecord } from '../model/run.js';

/** Bumped when a message changes incompatibly; hosts of different protocols refuse each other. */
export const PROTOCOL_VERSION = 1;

/** How busy a host is; `maxRuns` null means no limit. */
export interface HostLoad {
  active: number;
  pending: number;
  maxRuns: number | null;
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
  | { kind: 'granted'; tag: string; run: string };

export type LockState =
  | { state: 'granted' }
  /** `position` 1 is the holder; `holder` is the run holding the tag now. */
  | { state: 'queued'; position: number; holder: string }
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
  /** The receiver will not deal with the sender (same name, different common.hosts, ...). */
  | { kind: 'refused'; reason: string }
  | { kind: 'error'; message: string };

/**
 * The transport between hosts: HTTP on `-prv_bind` in a host, an in-memory (or simulated)
 * network in tests. `send` rejects when no reply arrives (unreachable, timed out).
 */
export interface Peers {
  send(url: string, req: PeerRequest): Promise<PeerReply>;
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
      if (!isString(body.tag)) return 'tag must be a string';
      if (!isString(body.run)) return 'run must be a string';
      if (body.kind === 'lock') return { kind: 'lock', from: body.from, tag: body.tag, run: body.run };
      if (body.by !== undefined && !isString(body.by)) return 'by must be a string';
      return { kind: 'unlock', from: body.from, tag: body.tag, run: body.run, by: body.by };
    }
    case 'granted':
      if (!isString(body.tag)) return 'tag must be a string';
      if (!isString(body.run)) return 'run must be a string';
      return { kind: 'granted', tag: body.tag, run: body.run };
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
      if (body.state === 'queued' && Number.isInteger(body.position) && isString(body.holder))
        return { kind: 'lock', state: 'queued', position: body.position as number, holder: body.holder };
      return { kind: 'error', message: 'bad lock reply' };
    case 'take':
    case 'unlock':
    case 'granted':
      return { kind: body.kind };
    case 'refused':
      return { kind: 'refused', reason: isString(body.reason) ? body.reason : 'refused' };
    case 'error':
      return { kind: 'error', message: isString(body.message) ? body.message : 'error' };
    default:
      return { kind: 'error', message: `unknown reply kind ${JSON.stringify(body.kind).slice(0, 40)}` };
  }
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
  };
}

/** The fields the receiving hub relies on; the rest of a record is carried as it came. */
function checkRecord(v: unknown): string | undefined {
  if (!isObject(v)) return 'must be an object';
  const ref = v.ref;
  if (!isObject(ref) || !isString(ref.run) || !isObject(ref.flowRef) || !isString(ref.flowRef.id) || !Number.isInteger(ref.flowRef.ver))
    return 'ref must be {flowRef: {id, ver}, run}';
  if (!isString(v.adoptedBy)) return 'adoptedBy must be a string';
  if (typeof v.createdAt !== 'number') return 'createdAt must be a number';
  const t = v.trigger;
  if (!isObject(t) || !isString(t.id) || !isString(t.type) || !isObject(t.values)) return 'trigger must be {id, type, values}';
  for (const [k, val] of Object.entries(t.values)) if (!isString(val)) return `trigger.values.${k} must be a string`;
  if (!isObject(v.nodes)) return 'nodes must be an object';
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 4096;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= 10_000 && v.every(isString);
}

function isCount(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 0;
}
