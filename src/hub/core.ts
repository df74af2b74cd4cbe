import type { Config, FlowConfig } from '../config/schema.js';
import type { FormConfig } from '../model/form.js';
import type { DataAnswer, NodeResult } from '../nodes/node-type.js';
import type { RunLists } from './run-lists.js';
import type { HubDeps } from './deps.js';
import type { HubEvent, PublishedEvent } from '../model/events.js';
import type { RunRef } from '../model/refs.js';
import type { PeerReply, PeerRequest } from '../cluster/messages.js';

export type NodeEvent = Extract<HubEvent, { kind: 'node' }>;
export type TriggerEvent = Extract<HubEvent, { kind: 'trigger' }>;

// Function-typed fields, not methods: they are passed around detached from the object.
export interface Deferred<T> {
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

/** Work for the hub loop; every change of hub state is one of these, handled one at a time. */
export type QueueItem =
  | { kind: 'trigger'; event: TriggerEvent; done: Deferred<RunRef[]> }
  | { kind: 'route'; event: NodeEvent }
  | { kind: 'node-result'; run: string; node: string; token: number; result: NodeResult }
  | { kind: 'data-request'; run: string; node: string; form: FormConfig; timeoutMs?: number; waiter: Deferred<DataAnswer | undefined> }
  | { kind: 'data-expired'; run: string; node: string; timer: AbortController }
  | { kind: 'persist'; run: string; node: string }
  /** Progress waits to be saved and nothing else is queued to save it. */
  | { kind: 'flush' }
  | { kind: 'answer'; run: string; node: string; values: Record<string, unknown>; by: string; done: Deferred<void> }
  | { kind: 'cancel'; run: string; by: string; done: Deferred<void> }
  | { kind: 'flow-loaded'; run: string; flow?: FlowConfig; error?: string }
  | { kind: 'end-all'; reason: string }
  | { kind: 'place' }
  | { kind: 'peer'; req: PeerRequest; done: Deferred<PeerReply> }
  | { kind: 'peer-reply'; url: string; req: PeerRequest; reply?: PeerReply; error?: string }
  | { kind: 'outbox' }
  | { kind: 'pend-failed'; run: string; reason: string }
  | { kind: 'release-tag'; tag: string; by: string; run?: string; done: Deferred<{ run?: string }> };

/**
 * What the pend and run sides share with the hub: its state, and the primitives of its queue
 * loop. Only the hub's queue loop calls into those sides, so they change this state one queue
 * item at a time.
 */
export interface HubCore {
  readonly config: Config;
  readonly deps: HubDeps;
  /** Flows of the config by `id/ver`. */
  readonly flowsByKey: ReadonlyMap<string, FlowConfig>;
  /** Pending and active runs, and every move between the lists with its store write. */
  readonly lists: RunLists;
  /** Set once start() was called; resolves when recovery is done. */
  readonly ready: Promise<void> | undefined;
  /** stop() was called: no new runs are taken or placed. */
  readonly stopping: boolean;
  /** Aborts when the hub stops: timers the hub arms pass it on. */
  readonly stopSignal: AbortSignal;
  /** Queue work for the hub loop. */
  enqueue(item: QueueItem): void;
  /** Number, keep and hand an event to the subscribers; answers it as published. */
  publish(e: HubEvent): PublishedEvent;
  /** Queue a placement pass, unless one is queued already or the hub has not started. */
  schedulePlace(): void;
  /** Resolve the whenIdle() waiters; called once the last active run is archived. */
  wakeIdleWaiters(): void;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
