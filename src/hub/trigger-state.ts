import type { FlowConfig, TriggerConfig } from '../config/schema.js';

/** What a timer or poll-git trigger will do next and has seen, as this host knows it (`GET /flows`). */
export interface TriggerState {
  /** timer: epoch ms of its next firing. */
  nextFire?: number;
  /** timer and poll-git: the name of the host that fires (polls) it now; absent while this host cannot tell. */
  owner?: string;
  /** poll-git: ref -> hash last seen, by the owner or by this host; {} before the first poll. */
  lastSeen?: Record<string, string>;
  /** poll-git: epoch ms of the last poll this host knows of. */
  lastPolled?: number;
}

/** Where a trigger state is read from: the hub's clock, cluster link and store. */
export interface TriggerStateSources {
  now(): number;
  /** The name of the host that fires the trigger with this ownership key now, if known. */
  ownerOf(key: string): string | undefined;
  lastPolled(seenKey: string): number | undefined;
  getMeta(key: string): Promise<string | undefined>;
}

/** The key a timer's or poll's owner is picked by, over the online hosts. */
export function triggerOwnerKey(flow: FlowConfig, t: TriggerConfig): string {
  return `trigger:${flow.id}/${flow.ver}/${t.id}`;
}

/** The store key of what a poll-git trigger has seen (ref -> hash, JSON), on every host that knows it. */
export function pollSeenKey(flow: FlowConfig, t: TriggerConfig): string {
  return `poll-git/${flow.id}/${flow.ver}/${t.id}`;
}

/**
 * The first instant after `now` at which a timer of `periodSec` fires: timers fire at every
 * multiple of their period since the epoch, on whichever host owns them then.
 */
export function nextTimerFire(periodSec: number, now: number): number {
  const periodMs = periodSec * 1000;
  return (Math.floor(now / periodMs) + 1) * periodMs;
}

/** The state of each timer and poll-git trigger of `flow`, by trigger id (data triggers have none). */
export async function readTriggerStates(flow: FlowConfig, from: TriggerStateSources): Promise<Map<string, TriggerState>> {
  const out = new Map<string, TriggerState>();
  for (const t of flow.triggers) {
    if (t.type === 'data') continue;
    const state: TriggerState = {};
    if (t.type === 'timer') state.nextFire = nextTimerFire(t.periodSec ?? 60, from.now());
    const owner = from.ownerOf(triggerOwnerKey(flow, t));
    if (owner !== undefined) state.owner = owner;
    if (t.type === 'poll-git') {
      const key = pollSeenKey(flow, t);
      state.lastSeen = parseSeen(await from.getMeta(key));
      const at = from.lastPolled(key);
      if (at !== undefined) state.lastPolled = at;
    }
    out.set(t.id, state);
  }
  return out;
}

/** What a poll recorded, or {} when nothing readable is stored (a store written by hand, say). */
function parseSeen(raw: string | undefined): Record<string, string> {
  if (raw === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return {};
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const seen: Record<string, string> = {};
  for (const [ref, hash] of Object.entries(v)) if (typeof hash === 'string') seen[ref] = hash;
  return seen;
}
