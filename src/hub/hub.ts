import type { Config, FlowConfig, TriggerConfig } from '../config/schema.js';
import { assertNever, FloeError } from '../errors.js';
import type { ArchivePage, ArchiveQuery, OutputQuery } from '../store/store.js';
import type { HubCore, QueueItem } from './core.js';
import { EventRing } from './event-ring.js';
import type { HubDeps } from './deps.js';
import type { HubEvent, PublishedEvent } from '../model/events.js';
import type { RunRef } from '../model/refs.js';
import type { Values } from '../model/values.js';
import { Pends } from './pends.js';
import { ClusterLink } from './cluster-link.js';
import { Placer } from './placer.js';
import { RunLists } from './run-lists.js';
import { Runs } from './runs.js';
import { Tasks } from './tasks.js';
import { GitPollTrigger, TimerTrigger, type TriggerSource } from './trigger-sources.js';
import type { OutputLine } from '../model/output.js';
import type { RunRecord, RunSummary } from '../model/run.js';
import type { PeerReply, PeerRequest } from '../cluster/messages.js';
import type { ClusterView } from '../cluster/host-view.js';
import { ClusterViews } from './cluster-views.js';
import { answerRunRequest, isRunRequest } from './run-requests.js';
import { RemoteEvents, type EventsRequest } from './remote-events.js';
import { activeRunSummary } from './run-progress.js';
import { readTriggerStates, triggerOwnerKey, type TriggerState } from './trigger-state.js';
import { listClusterTags, type ClusterTags } from './cluster-tags.js';

export { envName } from './runs.js';

export interface TriggerRequest {
  /** Flow version; the highest version of the id when absent. */
  ver?: number;
  /** Trigger id; the flow's first data trigger when absent. */
  trigger?: string;
  values?: Record<string, unknown>;
  /** Who asked (user name), recorded with the run. */
  by?: string;
}

export type EventListener = (e: PublishedEvent) => void;

export interface SubscribeFilter {
  flow?: string;
  run?: string;
}

const LOG_STATES: Partial<Record<HubEvent['kind'], string>> = {
  'add-pend': 'run pending',
  'pend-waiting': 'run waiting',
  activate: 'run started',
  end: 'run ended',
};

/**
 * The central router. Trigger events are adopted into runs (pends), placed, activated, and
 * every event a node emits is routed to the nodes listening for it. All state changes happen
 * in one queue loop; I/O reaches the hub only through its deps.
 */
export class Hub {
  private readonly queue: QueueItem[] = [];
  private pumping = false;
  private placeQueued = false;
  private readonly lists: RunLists;
  private readonly subscribers = new Set<{ fn: EventListener; filter?: SubscribeFilter }>();
  private readonly flowsByKey = new Map<string, FlowConfig>();
  private readonly sources: TriggerSource[] = [];
  private seq: number;
  /** The last published events, for subscribers that reconnect and ask for what they missed. */
  private readonly history: EventRing;
  private started = false;
  private ready?: Promise<void>;
  private stopping = false;
  private readonly stopCtl = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];
  private readonly pends: Pends;
  private readonly runs: Runs;
  private readonly tasks: Tasks;
  private readonly link: ClusterLink;
  private readonly placer: Placer;
  private readonly remote: RemoteEvents;
  /** Clients here following live events (websockets); while there are any, peers forward theirs. */
  private watchers = 0;
  /** Run lists, run detail and actions on runs across the cluster, for the API. */
  readonly views: ClusterViews;

  constructor(
    readonly config: Config,
    private readonly deps: HubDeps,
  ) {
    for (const f of config.flows) this.flowsByKey.set(`${f.id}/${f.ver}`, f);
    this.history = new EventRing(deps.eventHistory ?? 10_000);
    // Numbering starts from the clock in microseconds, so seqs keep rising across restarts (short
    // of a million events a second): a client resuming with a seq from before a restart is told
    // to resync instead of being replayed this boot's unrelated events of the same numbers.
    this.seq = deps.clock.now() * 1000;
    // The releases are the cluster link's, made just below; they are only called later.
    this.lists = new RunLists(
      deps.store,
      {
        ops: (r) => this.link.releaseOps(r),
        sent: (r) => this.link.released(r),
      },
      {
        // A busy queue flushes after its current item anyway; an idle one needs an item.
        waiting: () => {
          if (!this.pumping) this.enqueue({ kind: 'flush' });
        },
        failed: (err) => this.deps.log?.error({ err }, 'could not save the progress of runs; trying again at the next flush'),
      },
    );
    const core = this.shareCore();
    this.tasks = new Tasks(core);
    this.link = new ClusterLink(core);
    // The placer and the run side are made below; the pend side asks them only when a trigger comes.
    this.pends = new Pends(core, this.link, {
      place: (flow) => this.placer.placeAtAdoption(flow),
      handOver: (record) => this.placer.handOverAdopted(record),
      startHere: (flow, build) => this.runs.adoptActive(flow, build),
    });
    this.runs = new Runs(core, this.pends, this.tasks);
    this.placer = new Placer(
      core,
      this.link,
      (record) => this.runs.activate(record),
      (record, status, reason) => this.pends.archivePend(record, status, reason),
    );
    this.views = new ClusterViews(this, this.link, deps.clock, deps.hostName);
    this.remote = new RemoteEvents(this.link.membership, deps.hostName);
  }

  /** The state and loop primitives the pend and run sides work with; reads stay live. */
  private shareCore(): HubCore {
    // Getters, not copies: these fields change after construction.
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below run with the returned object as `this`
    const hub = this;
    return {
      config: this.config,
      deps: this.deps,
      flowsByKey: this.flowsByKey,
      lists: this.lists,
      get ready() {
        return hub.ready;
      },
      get stopping() {
        return hub.stopping;
      },
      stopSignal: this.stopCtl.signal,
      enqueue: (item) => this.enqueue(item),
      publish: (e) => this.publish(e),
      schedulePlace: () => this.schedulePlace(),
      wakeIdleWaiters: () => this.wakeIdleWaiters(),
    };
  }

  get hostName(): string {
    return this.deps.hostName;
  }

  flows(): FlowConfig[] {
    return this.config.flows;
  }

  findFlow(id: string, ver?: number): FlowConfig | undefined {
    if (ver !== undefined) return this.flowsByKey.get(`${id}/${ver}`);
    let best: FlowConfig | undefined;
    for (const f of this.config.flows) if (f.id === id && (!best || f.ver > best.ver)) best = f;
    return best;
  }

  /** Recover the store after a restart, start the trigger sources, and dispatch pends. */
  start(): Promise<void> {
    this.ready ??= this.recover();
    return this.ready;
  }

  private async recover(): Promise<void> {
    const interrupted = await this.lists.recover();
    await this.link.recover();
    for (const run of interrupted) await this.runs.archiveInterrupted(run);
    for (const flow of this.config.flows) {
      for (const t of flow.triggers) {
        const src = this.sourceFor(flow, t);
        if (src) this.sources.push(src);
      }
    }
    for (const s of this.sources) s.start(this.stopCtl.signal);
    this.link.start(this.stopCtl.signal);
    this.started = true;
    this.schedulePlace();
  }

  private sourceFor(flow: FlowConfig, t: TriggerConfig): TriggerSource | undefined {
    // Pollers must know when adoption failed (to retry the change), so errors reach them.
    const fire = (values: Values) => this.pends.adopt(flow, t, values);
    const key = triggerOwnerKey(flow, t);
    const isOwner = () => this.link.ownsTrigger(key);
    const shareSeen = (k: string, seen: Record<string, string>, at: number) => this.link.sharePollState(k, seen, at);
    const polled = (k: string, at: number) => this.link.notePoll(k, at);
    const { clock, log, store } = this.deps;
    const ctx = { flow, trigger: t, clock, fire, isOwner, shareSeen, polled, log, store };
    if (t.type === 'timer') return new TimerTrigger(ctx);
    if (t.type === 'poll-git' && this.deps.gitPoller) return new GitPollTrigger(ctx, this.deps.gitPoller, this.config.common.gitKey);
    return undefined;
  }

  /**
   * Stop taking runs, give running tasks `graceMs` to finish, then stop what is left (its
   * runs are archived bad). Pends stay in the store and are dispatched on the next start.
   */
  async stop(graceMs = this.deps.graceMs ?? 10_000): Promise<void> {
    if (this.stopping) return this.whenIdle();
    this.stopping = true;
    this.stopCtl.abort();
    // Peers hand runs over without an offer only to hosts not stopping: tell them now, not at the next hello.
    if (this.started) this.link.announce();
    if (this.lists.active.size > 0) {
      const grace = new AbortController();
      await Promise.race([this.whenIdle(), this.deps.clock.after(graceMs, grace.signal).catch(() => {})]);
      grace.abort();
    }
    if (this.lists.active.size > 0) this.enqueue({ kind: 'end-all', reason: 'host shut down during the run' });
    await this.whenIdle();
    await this.drained();
  }

  /** Adopt a trigger into a run; resolves once the pend is persisted. */
  async trigger(flowId: string, req: TriggerRequest = {}): Promise<RunRef[]> {
    if (this.stopping) throw new FloeError('shutting-down', 'host is shutting down and takes no new runs');
    const flow = this.findFlow(flowId, req.ver);
    if (!flow) {
      const ver = req.ver === undefined ? '' : ` version ${req.ver}`;
      throw new FloeError('not-found', `no flow ${flowId}${ver}`);
    }
    const trig = this.pends.pickTrigger(flow, req.trigger);
    const values = this.pends.checkTriggerValues(flow, trig, req.values ?? {});
    return this.pends.adopt(flow, trig, values, req.by);
  }

  /** Answer a data node that is waiting for input; resolves once the answer is persisted. */
  answerData(run: string, node: string, values: Record<string, unknown>, by = 'anonymous'): Promise<void> {
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'answer', run, node, values, by, done: { resolve, reject } });
    });
  }

  /** Start a new run of the same flow with the trigger values of `run`. */
  async rerun(run: string, by?: string): Promise<RunRef[]> {
    const old = await this.findRun(run);
    if (!old) throw new FloeError('not-found', `no run ${run}`);
    const flow = this.findFlow(old.ref.flowRef.id, old.ref.flowRef.ver);
    if (!flow)
      throw new FloeError('conflict', `flow ${old.ref.flowRef.id} version ${old.ref.flowRef.ver} of run ${run} is no longer in the config`);
    if (this.stopping) throw new FloeError('shutting-down', 'host is shutting down and takes no new runs');
    const trig = flow.triggers.find((t) => t.id === old.trigger.id);
    if (!trig) throw new FloeError('conflict', `trigger ${old.trigger.id} of run ${run} is no longer in flow ${flow.id}`);
    return this.pends.adopt(flow, trig, { ...old.trigger.values }, by);
  }

  /**
   * Events published after `seq`, oldest first; undefined when some of them are no longer
   * kept, so the caller must reload state instead of replaying.
   */
  eventsSince(seq: number): PublishedEvent[] | undefined {
    return this.history.since(Math.max(0, seq), this.seq);
  }

  /** Sequence number of the last published event. */
  lastSeq(): number {
    return this.seq;
  }

  /** Cancel a pending or active run: its processes are killed and it is archived as cancelled. */
  cancel(run: string, by = 'anonymous'): Promise<void> {
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'cancel', run, by, done: { resolve, reject } });
    });
  }

  listPending(flow?: string): RunRecord[] {
    return this.lists.pending.filter((r) => !flow || r.ref.flowRef.id === flow).map((r) => structuredClone(r));
  }

  listActive(flow?: string): RunRecord[] {
    const out: RunRecord[] = [];
    for (const ar of this.lists.active.values()) {
      if (!flow || ar.record.ref.flowRef.id === flow) out.push(structuredClone(ar.record));
    }
    return out;
  }

  /** Summaries of the runs executing here (one flow's, or all), with progress and the data nodes waiting. */
  activeSummaries(flow?: string): RunSummary[] {
    const endsRun = (type: string) => this.deps.nodes.get(type)?.endsRun === true;
    const out: RunSummary[] = [];
    for (const ar of this.lists.active.values()) {
      if (!flow || ar.record.ref.flowRef.id === flow) out.push(activeRunSummary(ar.record, ar.flow, endsRun));
    }
    return out;
  }

  listArchive(q: ArchiveQuery = {}): Promise<ArchivePage> {
    return this.deps.store.listArchive(q);
  }

  async findRun(run: string): Promise<RunRecord | undefined> {
    const p = this.lists.pending.find((r) => r.ref.run === run);
    if (p) return structuredClone(p);
    const a = this.lists.active.get(run);
    if (a) return structuredClone(a.record);
    return this.deps.store.getRun(run);
  }

  async getOutput(run: string, q?: OutputQuery): Promise<OutputLine[]> {
    const ar = this.lists.active.get(run);
    if (ar) {
      // Every line printed so far, published and stored: a reader sees what the events showed.
      this.tasks.flushOutput();
      await ar.output.saved;
    }
    return this.deps.store.getOutput(run, q);
  }

  /** Handle a request from another host; never rejects (a failure is answered `error`). */
  receivePeer(req: PeerRequest): Promise<PeerReply> {
    if (!this.started) return Promise.resolve({ kind: 'error', message: `${this.deps.hostName} is starting` });
    // Reads and actions on runs call the methods the API calls, outside the queue: a read waits
    // behind nothing, and an action queues its own item.
    if (isRunRequest(req)) return answerRunRequest(this, this.link.membership.members, req);
    // Forwarded events are only shown, never routed or acted on, so they need none of the queue's state.
    if (req.kind === 'events') return Promise.resolve(this.republish(req));
    // Heartbeats skip the queue: a host busy with a burst of runs is busy, not gone, and must
    // not be seen offline because its answer waited behind the burst. A view of the tags only reads.
    if (req.kind === 'hello' || req.kind === 'tags') return this.link.receive(req);
    return new Promise<PeerReply>((resolve, reject) => {
      this.enqueue({ kind: 'peer', req, done: { resolve, reject } });
    }).catch((err: unknown) => ({ kind: 'error', message: err instanceof Error ? err.message : String(err) }));
  }

  /** This host and every peer as this host sees them, and the resource tags it owns. */
  clusterView(): ClusterView {
    return this.link.view();
  }

  /** The resource tags every online host owns, each asked at once for at most `askMs` (default 2 s). */
  clusterTags(askMs?: number): Promise<ClusterTags> {
    return listClusterTags(this.link, this.deps.clock, askMs);
  }

  /** What each timer and poll-git trigger of `flow` does next and has seen, as this host knows it, by trigger id. */
  triggerStates(flow: FlowConfig): Promise<Map<string, TriggerState>> {
    const { link } = this;
    return readTriggerStates(flow, {
      now: () => this.deps.clock.now(),
      ownerOf: (key) => {
        const url = link.triggerOwner(key);
        return url === undefined ? undefined : link.membership.nameOf(url);
      },
      lastPolled: (key) => link.lastPolled(key),
      getMeta: (key) => this.deps.store.getMeta(key),
    });
  }

  /** A person releases a resource tag held by a run whose host was lost (admin only; recorded). */
  releaseTag(tag: string, by: string, run?: string): Promise<{ run?: string }> {
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'release-tag', tag, by, run, done: { resolve, reject } });
    });
  }

  /**
   * A client here follows live events (a websocket): while any does, peers send this host their
   * own events, which it publishes as its own with their `host`. Returns the release.
   */
  watch(): () => void {
    this.watchers++;
    if (this.watchers === 1) this.watchingChanged();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.watchers--;
      if (this.watchers === 0) this.watchingChanged();
    };
  }

  /** Online peers with a client following live events: where this host's own events go. */
  watchingPeers(): string[] {
    return this.link.watchingPeers();
  }

  private watchingChanged(): void {
    this.link.watching = this.watchers > 0;
    // Told at once, not at the next heartbeat, so a client that just connected misses less of a peer's events.
    if (this.started && !this.stopping) this.link.announce();
  }

  /** Publishes a peer's events here, numbered in this host's seq (so a client catches up by it), keeping their origin. */
  private republish(req: EventsRequest): PeerReply {
    const events = this.remote.accept(req);
    if (typeof events === 'string') return { kind: 'refused', reason: events };
    for (const e of events) this.deliver({ ...e, seq: ++this.seq, originSeq: e.seq });
    return { kind: 'events' };
  }

  /** Hear every published event (optionally only one flow's or one run's); returns an unsubscribe. */
  subscribe(fn: EventListener, filter?: SubscribeFilter): () => void {
    const sub = { fn, filter };
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  /** Resolves when no run is active on this host. */
  whenIdle(): Promise<void> {
    if (this.lists.active.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Resolves when the queue has nothing left to do. */
  drained(): Promise<void> {
    if (!this.pumping && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  // ---- the queue loop -------------------------------------------------------------------

  private enqueue(item: QueueItem): void {
    this.queue.push(item);
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        try {
          await this.handle(item);
          // Not awaited: progress writes go on while the queue does (issue 10).
          this.lists.flushDirty();
        } catch (err) {
          this.fail(item, err);
        }
      }
    } finally {
      this.pumping = false;
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** A handler threw: answer the caller if there is one, and log; the loop goes on. */
  private fail(item: QueueItem, err: unknown): void {
    let answered = true;
    if ('done' in item) item.done.reject(err);
    else if (item.kind === 'data-request') item.waiter.reject(err);
    else answered = false;
    // A caller that gets the error reports it; otherwise the log is the only place it shows.
    if (!answered || !(err instanceof FloeError) || err.code === 'internal') {
      this.deps.log?.error({ err, item: item.kind }, 'hub failed to handle an event');
    }
  }

  private async handle(item: QueueItem): Promise<void> {
    switch (item.kind) {
      case 'trigger':
        return this.pends.handleTrigger(item.event, item.done);
      case 'route':
        return this.runs.route(item.event);
      case 'node-result':
        return this.runs.nodeFinished(item.run, item.node, item.token, item.result);
      case 'data-request':
        return this.tasks.dataRequested(item);
      case 'data-expired':
        return this.tasks.dataExpired(item.run, item.node, item.timer);
      case 'persist': {
        const ar = this.lists.active.get(item.run);
        if (ar) this.lists.markDirty(ar, item.node);
        return;
      }
      case 'flush':
        return; // the flush after every item does it
      case 'answer':
        return this.tasks.answer(item);
      case 'cancel':
        return this.runs.handleCancel(item.run, item.by, item.done);
      case 'flow-loaded':
        return this.runs.flowLoaded(item.run, item.flow, item.error);
      case 'end-all':
        for (const ar of [...this.lists.active.values()]) await this.runs.endRun(ar, 'bad', item.reason);
        return;
      case 'place':
        this.placeQueued = false;
        return this.placer.place();
      case 'peer':
        return item.done.resolve(await this.link.receive(item.req));
      case 'peer-reply':
        await this.link.replied(item.url, item.req, item.reply, item.error);
        return this.placer.replied(item.url, item.req, item.reply, item.error);
      case 'outbox':
        return this.link.flushOutbox();
      case 'pend-failed': {
        const record = this.lists.pending.find((r) => r.ref.run === item.run);
        if (record) await this.pends.archivePend(record, 'bad', item.reason);
        return;
      }
      case 'release-tag':
        return item.done.resolve(await this.link.releaseTag(item.tag, item.by, item.run));
      default:
        return assertNever(item);
    }
  }

  private schedulePlace(): void {
    if (this.placeQueued || !this.started) return;
    this.placeQueued = true;
    this.enqueue({ kind: 'place' });
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private publish(e: HubEvent): PublishedEvent {
    // Output lines gathered in this turn happened before this event: they go first.
    if (e.kind !== 'node-output') this.tasks.flushOutput();
    const published: PublishedEvent = { ...e, seq: ++this.seq, at: this.deps.clock.now(), host: this.deps.hostName };
    this.deliver(published);
    const msg = LOG_STATES[e.kind];
    if (msg && 'ref' in e) this.deps.log?.info(logFields(e), msg);
    return published;
  }

  /** Keeps a numbered event for catching up and hands it to the subscribers. */
  private deliver(published: PublishedEvent): void {
    this.history.push(published);
    const ref = 'ref' in published ? published.ref : undefined;
    const flowId = ref ? ref.flowRef.id : published.kind === 'trigger' ? published.flowRef.id : undefined;
    for (const { fn, filter } of this.subscribers) {
      if (filter?.run && filter.run !== ref?.run) continue;
      if (filter?.flow && filter.flow !== flowId) continue;
      try {
        fn(published);
      } catch (err) {
        this.deps.log?.warn({ err }, 'event subscriber threw');
      }
    }
  }
}

function logFields(e: HubEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { event: e.tag };
  if ('ref' in e) {
    out.run = e.ref.run;
    out.flow = `${e.ref.flowRef.id}/${e.ref.flowRef.ver}`;
  }
  if (e.kind === 'end') Object.assign(out, { status: e.status, reason: e.reason });
  if (e.kind === 'pend-waiting') out.reason = e.reason;
  if (e.kind === 'activate') Object.assign(out, { execHost: e.execHost, workspace: e.workspace });
  return out;
}
