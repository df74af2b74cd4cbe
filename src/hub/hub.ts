import type { Config, FlowConfig, FormConfig, TaskConfig, TriggerConfig } from '../config/schema.js';
import { checkFormValues } from '../config/form.js';
import { FloeError } from '../errors.js';
import type { DataAnswer, NodeContext, NodeResult, OptsCheck } from '../nodes/node-type.js';
import { renderEnvEntry } from '../nodes/template.js';
import type { ArchivePage, ArchiveQuery, OutputQuery } from '../store/store.js';
import { ActiveRun } from './active-run.js';
import { EventRing } from './event-ring.js';
import type { HubDeps } from './deps.js';
import type { HubEvent, OutputStream, PublishedEvent, RunRef, RunStatus, Values } from './events.js';
import { taskOutcome } from './listeners.js';
import { placePends, type PlacementPend } from './placement.js';
import { GitPollTrigger, TimerTrigger, type TriggerSource } from './trigger-sources.js';
import type { OutputLine, RunRecord } from './run.js';

type NodeEvent = Extract<HubEvent, { kind: 'node' }>;
type TriggerEvent = Extract<HubEvent, { kind: 'trigger' }>;

interface Deferred<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
}

/** Work for the hub loop; every change of hub state is one of these, handled one at a time. */
type QueueItem =
  | { kind: 'trigger'; event: TriggerEvent; done: Deferred<RunRef[]> }
  | { kind: 'route'; event: NodeEvent }
  | { kind: 'node-result'; run: string; node: string; token: number; result: NodeResult }
  | { kind: 'data-request'; run: string; node: string; form: FormConfig; timeoutMs?: number; waiter: Deferred<DataAnswer | undefined> }
  | { kind: 'data-expired'; run: string; node: string; timer: AbortController }
  | { kind: 'persist'; run: string }
  | { kind: 'answer'; run: string; node: string; values: Record<string, unknown>; by: string; done: Deferred<void> }
  | { kind: 'cancel'; run: string; by: string; done: Deferred<void> }
  | { kind: 'flow-loaded'; run: string; flow?: FlowConfig; error?: string }
  | { kind: 'end-all'; reason: string }
  | { kind: 'place' };

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
  private readonly pending: RunRecord[] = [];
  private readonly active = new Map<string, ActiveRun>();
  private readonly dirty = new Set<ActiveRun>();
  private readonly subscribers = new Set<{ fn: EventListener; filter?: SubscribeFilter }>();
  private readonly flowsByKey = new Map<string, FlowConfig>();
  private readonly sources: TriggerSource[] = [];
  private seq = 0;
  /** The last published events, for subscribers that reconnect and ask for what they missed. */
  private readonly history: EventRing;
  private execToken = 0;
  private started = false;
  private ready?: Promise<void>;
  private stopping = false;
  private readonly stopCtl = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];

  constructor(
    readonly config: Config,
    private readonly deps: HubDeps,
  ) {
    for (const f of config.flows) this.flowsByKey.set(`${f.id}/${f.ver}`, f);
    this.history = new EventRing(deps.eventHistory ?? 10_000);
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
    const { store } = this.deps;
    this.pending.push(...(await store.listPending()));
    for (const run of await store.listActive()) await this.archiveInterrupted(run);
    for (const flow of this.config.flows) {
      for (const t of flow.triggers) {
        const src = this.sourceFor(flow, t);
        if (src) this.sources.push(src);
      }
    }
    for (const s of this.sources) s.start(this.stopCtl.signal);
    this.started = true;
    this.schedulePlace();
  }

  /**
   * Stop taking runs, give running tasks `graceMs` to finish, then stop what is left (its
   * runs are archived bad). Pends stay in the store and are dispatched on the next start.
   */
  async stop(graceMs = this.deps.graceMs ?? 10_000): Promise<void> {
    if (this.stopping) return this.whenIdle();
    this.stopping = true;
    this.stopCtl.abort();
    if (this.active.size > 0) {
      const grace = new AbortController();
      await Promise.race([this.whenIdle(), this.deps.clock.after(graceMs, grace.signal).catch(() => {})]);
      grace.abort();
    }
    if (this.active.size > 0) this.enqueue({ kind: 'end-all', reason: 'host shut down during the run' });
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
    const trig = this.pickTrigger(flow, req.trigger);
    const values = this.checkTriggerValues(flow, trig, req.values ?? {});
    return this.adopt(flow, trig, values, req.by);
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
    if (!flow) throw new FloeError('conflict', `flow ${old.ref.flowRef.id} version ${old.ref.flowRef.ver} of run ${run} is no longer in the config`);
    if (this.stopping) throw new FloeError('shutting-down', 'host is shutting down and takes no new runs');
    const trig = flow.triggers.find((t) => t.id === old.trigger.id);
    if (!trig) throw new FloeError('conflict', `trigger ${old.trigger.id} of run ${run} is no longer in flow ${flow.id}`);
    return this.adopt(flow, trig, { ...old.trigger.values }, by);
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
    return this.pending.filter((r) => !flow || r.ref.flowRef.id === flow).map((r) => structuredClone(r));
  }

  listActive(flow?: string): RunRecord[] {
    const out: RunRecord[] = [];
    for (const ar of this.active.values()) {
      if (!flow || ar.record.ref.flowRef.id === flow) out.push(structuredClone(ar.record));
    }
    return out;
  }

  listArchive(q: ArchiveQuery = {}): Promise<ArchivePage> {
    return this.deps.store.listArchive(q);
  }

  async findRun(run: string): Promise<RunRecord | undefined> {
    const p = this.pending.find((r) => r.ref.run === run);
    if (p) return structuredClone(p);
    const a = this.active.get(run);
    if (a) return structuredClone(a.record);
    return this.deps.store.getRun(run);
  }

  async getOutput(run: string, q?: OutputQuery): Promise<OutputLine[]> {
    const ar = this.active.get(run);
    if (ar) await ar.outFlush;
    return this.deps.store.getOutput(run, q);
  }

  /** Hear every published event (optionally only one flow's or one run's); returns an unsubscribe. */
  subscribe(fn: EventListener, filter?: SubscribeFilter): () => void {
    const sub = { fn, filter };
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  /** Resolves when no run is active on this host. */
  whenIdle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
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
          await this.flushDirty();
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
        return this.handleTrigger(item.event, item.done);
      case 'route':
        return this.route(item.event);
      case 'node-result':
        return this.nodeFinished(item.run, item.node, item.token, item.result);
      case 'data-request':
        return this.dataRequested(item);
      case 'data-expired':
        return this.dataExpired(item.run, item.node, item.timer);
      case 'persist': {
        const ar = this.active.get(item.run);
        if (ar) this.dirty.add(ar);
        return;
      }
      case 'answer':
        return this.answer(item);
      case 'cancel':
        return this.handleCancel(item.run, item.by, item.done);
      case 'flow-loaded':
        return this.flowLoaded(item.run, item.flow, item.error);
      case 'end-all':
        for (const ar of [...this.active.values()]) await this.endRun(ar, 'bad', item.reason);
        return;
      case 'place':
        this.placeQueued = false;
        return this.place();
    }
  }

  private async flushDirty(): Promise<void> {
    if (this.dirty.size === 0) return;
    const runs = [...this.dirty];
    this.dirty.clear();
    for (const ar of runs) if (this.active.has(ar.record.ref.run)) await this.deps.store.updateRun(ar.record);
  }

  private publish(e: HubEvent): void {
    const published = { ...e, seq: ++this.seq, at: this.deps.clock.now() } as PublishedEvent;
    this.history.push(published);
    const ref = 'ref' in e ? e.ref : undefined;
    const flowId = ref ? ref.flowRef.id : e.kind === 'trigger' ? e.flowRef.id : undefined;
    for (const { fn, filter } of this.subscribers) {
      if (filter?.run && filter.run !== ref?.run) continue;
      if (filter?.flow && filter.flow !== flowId) continue;
      try {
        fn(published);
      } catch (err) {
        this.deps.log?.warn({ err }, 'event subscriber threw');
      }
    }
    const msg = LOG_STATES[e.kind];
    if (msg && ref) this.deps.log?.info(logFields(e), msg);
  }

  // ---- pends: adoption and placement ---------------------------------------------------

  private async adopt(flow: FlowConfig, trig: TriggerConfig, values: Values, by?: string): Promise<RunRef[]> {
    if (!this.ready) throw new FloeError('shutting-down', 'host has not started');
    // Recovery fills the pending list first; a pend adopted before that would be listed twice.
    await this.ready;
    const event: TriggerEvent = {
      kind: 'trigger',
      tag: 'trigger.good',
      flowRef: { id: flow.id, ver: flow.ver },
      trigger: trig.id,
      triggerType: trig.type,
      values,
      by,
    };
    return new Promise((resolve, reject) => this.enqueue({ kind: 'trigger', event, done: { resolve, reject } }));
  }

  private async handleTrigger(e: TriggerEvent, done: Deferred<RunRef[]>): Promise<void> {
    this.publish(e);
    const n = await this.deps.store.nextRunNumber();
    const ref: RunRef = { flowRef: { ...e.flowRef }, run: `${this.deps.hostName}-${n}` };
    const record: RunRecord = {
      ref,
      adoptedBy: this.deps.hostName,
      status: 'pending',
      trigger: { id: e.trigger, type: e.triggerType, values: e.values, by: e.by },
      createdAt: this.deps.clock.now(),
      nodes: {},
    };
    await this.deps.store.addPend(record);
    this.pending.push(record);
    this.publish({ kind: 'add-pend', tag: 'sys.add-pend', ref, trigger: e.trigger, values: e.values });
    done.resolve([ref]);
    this.schedulePlace();
  }

  private schedulePlace(): void {
    if (this.placeQueued || !this.started) return;
    this.placeQueued = true;
    this.enqueue({ kind: 'place' });
  }

  private async place(): Promise<void> {
    if (this.stopping || this.pending.length === 0) return;
    const pends: PlacementPend[] = [];
    const orphans: RunRecord[] = [];
    for (const r of this.pending) {
      const flow = this.flowsByKey.get(`${r.ref.flowRef.id}/${r.ref.flowRef.ver}`);
      if (!flow) orphans.push(r);
      else pends.push({ run: r.ref.run, flowId: flow.id, hostTags: flow.hostTags, resourceTags: flow.resourceTags, reuseSpace: flow.reuseSpace });
    }
    for (const r of orphans) {
      await this.archivePend(r, 'bad', `flow ${r.ref.flowRef.id} version ${r.ref.flowRef.ver} is no longer in the config`);
    }
    const holds = [...this.active.values()].map((ar) => ({
      run: ar.record.ref.run,
      flowId: ar.flow.id,
      resourceTags: ar.flow.resourceTags,
      reuseSpace: ar.flow.reuseSpace,
    }));
    const decisions = placePends(pends, { name: this.deps.hostName, tags: this.deps.hostTags }, holds);
    const byRun = new Map(this.pending.map((r) => [r.ref.run, r]));
    for (const d of decisions) {
      const record = byRun.get(d.run);
      if (!record) continue;
      if (d.start) await this.activate(record);
      else if (record.waiting !== d.reason) {
        record.waiting = d.reason;
        await this.deps.store.updatePend(record);
        this.publish({ kind: 'pend-waiting', tag: 'sys.pend-waiting', ref: record.ref, reason: d.reason });
      }
    }
  }

  private removePending(record: RunRecord): void {
    const i = this.pending.indexOf(record);
    if (i >= 0) this.pending.splice(i, 1);
  }

  private async archivePend(record: RunRecord, status: RunStatus, reason: string): Promise<void> {
    record.status = status;
    record.reason = reason;
    record.endTime = this.deps.clock.now();
    record.waiting = undefined;
    await this.deps.store.archive(record);
    this.removePending(record);
    this.publish({ kind: 'remove-pend', tag: 'sys.remove-pend', ref: record.ref });
    this.publish({ kind: 'end', tag: 'sys.end', ref: record.ref, status, reason });
    // Pends placed behind this one in the same pass were told it holds their tags.
    this.schedulePlace();
  }

  // ---- runs: activation, routing, execution --------------------------------------------

  private async activate(record: RunRecord): Promise<void> {
    const flow = this.flowsByKey.get(`${record.ref.flowRef.id}/${record.ref.flowRef.ver}`);
    if (!flow) return;
    let workspace: string;
    try {
      workspace = await this.deps.workspaces.prepare(record.ref, flow);
    } catch (err) {
      return this.archivePend(record, 'bad', `could not make the workspace: ${errorMessage(err)}`);
    }
    record.status = 'running';
    record.execHost = this.deps.hostName;
    record.startTime = this.deps.clock.now();
    record.workspace = workspace;
    record.waiting = undefined;
    await this.deps.store.activate(record);
    this.removePending(record);
    const ar = new ActiveRun(record, flow);
    this.active.set(record.ref.run, ar);
    this.publish({ kind: 'remove-pend', tag: 'sys.remove-pend', ref: record.ref });
    this.publish({ kind: 'activate', tag: 'sys.activate', ref: record.ref, execHost: this.deps.hostName, workspace });
    const problem = this.contextProblem(ar);
    if (problem) return this.endRun(ar, 'bad', problem);
    if (flow.flowFile && this.deps.flowFiles) {
      ar.loading = true;
      this.deps.flowFiles.load(flow, record.trigger.values, this.config).then(
        (f) => this.enqueue({ kind: 'flow-loaded', run: record.ref.run, flow: f }),
        (err: unknown) => this.enqueue({ kind: 'flow-loaded', run: record.ref.run, error: errorMessage(err) }),
      );
      return;
    }
    this.startRouting(ar);
  }

  private startRouting(ar: ActiveRun): void {
    this.emit(ar, { kind: 'node', tag: 'trigger.good', ref: ar.record.ref, node: ar.record.trigger.id, good: true });
  }

  private async flowLoaded(run: string, flow: FlowConfig | undefined, error: string | undefined): Promise<void> {
    const ar = this.active.get(run);
    if (!ar || ar.ending) return;
    ar.loading = false;
    if (!flow) return this.endRun(ar, 'bad', `could not load flow-file ${ar.flow.flowFile}: ${error ?? 'unknown error'}`);
    ar.setFlow(flow);
    const problem = this.contextProblem(ar);
    if (problem) return this.endRun(ar, 'bad', problem);
    this.startRouting(ar);
  }

  /** Sets the run's context; returns why it could not (e.g. a flow env template that cannot render). */
  private contextProblem(ar: ActiveRun): string | undefined {
    try {
      this.setRunContext(ar);
      return undefined;
    } catch (err) {
      return `could not prepare the run's environment: ${errorMessage(err)}`;
    }
  }

  /** The `{{name}}` view and the environment every task of the run gets. */
  private setRunContext(ar: ActiveRun): void {
    const r = ar.record;
    const ws = r.workspace ?? '';
    const vars: Record<string, unknown> = { ...r.trigger.values };
    for (const [id, node] of Object.entries(r.nodes)) if (node.values) vars[id] = node.values;
    Object.assign(vars, { ws, run: r.ref.run, flow: r.ref.flowRef.id, host: this.deps.hostName });
    const env: Record<string, string> = { ...this.deps.baseEnv };
    for (const entry of ar.flow.env) {
      const [k, v] = renderEnvEntry(entry, { workspace: ws, vars });
      env[k] = v;
    }
    for (const [k, v] of Object.entries(r.trigger.values)) env[envName(k)] = v;
    Object.assign(env, {
      FLOE_RUN_ID: r.ref.run,
      FLOE_FLOW_ID: r.ref.flowRef.id,
      FLOE_FLOW_VER: String(r.ref.flowRef.ver),
      FLOE_HOST: this.deps.hostName,
      FLOE_WS: ws,
    });
    ar.vars = vars;
    ar.env = env;
  }

  /** Queue an event of a run for routing. */
  private emit(ar: ActiveRun, e: NodeEvent): void {
    ar.inFlight++;
    this.enqueue({ kind: 'route', event: e });
  }

  private async route(e: NodeEvent): Promise<void> {
    const ar = this.active.get(e.ref.run);
    if (!ar || ar.ending) return;
    ar.inFlight--;
    this.publish(e);
    const { tasks, merges } = ar.listeners.of(e.tag);
    if (tasks.length === 0 && merges.length === 0) {
      if (!e.good) return this.endRun(ar, 'bad', `${e.tag} was emitted and no node listens to it`);
      return this.endIfIdle(ar);
    }
    for (const task of tasks) {
      if (!this.deps.nodes.get(task.type)?.endsRun) continue;
      const now = this.deps.clock.now();
      // Recorded so a run's detail shows where it ended.
      ar.record.nodes[task.id] = { id: task.id, status: e.good ? 'good' : 'bad', startTime: now, endTime: now, attempts: 1 };
      return this.endRun(ar, e.good ? 'good' : 'bad', e.good ? undefined : `end node ${task.id} reached by ${e.tag}`);
    }
    for (const task of tasks) this.startNode(ar, task);
    for (const m of merges) {
      if (ar.mergeArrive(m.id, m.type, m.wait, e.tag)) {
        const now = this.deps.clock.now();
        const tag = `merge.${m.id}.good`;
        ar.record.nodes[m.id] = { id: m.id, status: 'good', startTime: now, endTime: now, attempts: 1, emitted: tag };
        this.dirty.add(ar);
        this.emit(ar, { kind: 'node', tag, ref: ar.record.ref, node: m.id, good: true });
      }
    }
    return this.endIfIdle(ar);
  }

  private async endIfIdle(ar: ActiveRun): Promise<void> {
    if (!ar.isIdle()) return;
    const stalled = ar.stalledMerges();
    if (stalled.length > 0) return this.endRun(ar, 'bad', `stalled: ${stalled.join('; ')}`);
    return this.endRun(ar, 'good');
  }

  private startNode(ar: ActiveRun, task: TaskConfig): void {
    const run = ar.record.ref.run;
    if (ar.running.has(task.id)) {
      this.output(ar, task.id, 'floe', `${task.id} is still running; not started again`);
      return;
    }
    const type = this.deps.nodes.get(task.type);
    const prev = ar.record.nodes[task.id];
    ar.record.nodes[task.id] = { id: task.id, status: 'running', startTime: this.deps.clock.now(), attempts: (prev?.attempts ?? 0) + 1 };
    this.dirty.add(ar);
    this.publish({ kind: 'node-start', tag: 'sys.node-start', ref: ar.record.ref, node: task.id, attempt: ar.record.nodes[task.id].attempts });
    const token = ++this.execToken;
    const controller = new AbortController();
    ar.running.set(task.id, { task, controller, token });
    const done = (result: NodeResult) => this.enqueue({ kind: 'node-result', run, node: task.id, token, result });
    if (!type) return done({ status: 1, reason: `unknown task type ${task.type}` });
    const problems: string[] = [];
    const opts = type.parseOpts({ ...task.opts, good: task.good }, collectProblems(problems));
    if (problems.length > 0) return done({ status: 1, reason: `bad opts: ${problems.join('; ')}` });
    type.execute(this.nodeContext(ar, task, controller.signal), opts, controller.signal).then(done, (err: unknown) =>
      done({ status: 1, reason: controller.signal.aborted ? 'stopped' : errorMessage(err) }),
    );
  }

  private nodeContext(ar: ActiveRun, task: TaskConfig, signal: AbortSignal): NodeContext {
    const run = ar.record.ref.run;
    return {
      ref: ar.record.ref,
      nodeId: task.id,
      workspace: ar.record.workspace ?? '',
      env: ar.env,
      vars: ar.vars,
      clock: this.deps.clock,
      cacheDir: this.deps.cacheDir,
      gitKey: this.config.common.gitKey,
      output: (stream, line) => this.output(ar, task.id, stream, line),
      onProcess: (pgid) => {
        const rec = ar.record.nodes[task.id];
        if (rec) (rec.procs ??= []).push({ pgid, id: this.deps.reaper?.identify(pgid) });
        // Persisted through the queue at once, so a restart after kill -9 can find the group.
        this.enqueue({ kind: 'persist', run });
      },
      requestData: (form, timeoutMs) =>
        new Promise<DataAnswer | undefined>((resolve, reject) => {
          // endRun rejects waiting requests too; this covers a request still in the queue.
          const stopped = () => reject(new FloeError('conflict', `run ${run} stopped while ${task.id} waited for input`));
          if (signal.aborted) return stopped();
          signal.addEventListener('abort', stopped, { once: true });
          this.enqueue({ kind: 'data-request', run, node: task.id, form, timeoutMs, waiter: { resolve, reject } });
        }),
    };
  }

  private output(ar: ActiveRun, node: string, stream: OutputStream, line: string): void {
    if (!this.active.has(ar.record.ref.run)) return;
    const n = ar.outputN++;
    ar.outBuf.push({ node, stream, line, at: this.deps.clock.now(), n });
    this.publish({ kind: 'node-output', tag: 'sys.node-output', ref: ar.record.ref, node, stream, line, n });
    if (ar.outScheduled) return;
    ar.outScheduled = true;
    // Lines that arrive while a write is under way go out together in the next one.
    ar.outFlush = ar.outFlush.then(async () => {
      ar.outScheduled = false;
      const lines = ar.outBuf.splice(0);
      if (lines.length > 0) await this.deps.store.appendOutput(ar.record.ref.run, lines);
    }).catch((err: unknown) => this.deps.log?.error({ err, run: ar.record.ref.run }, 'could not save output'));
  }

  private async nodeFinished(run: string, node: string, token: number, result: NodeResult): Promise<void> {
    const ar = this.active.get(run);
    const rn = ar?.running.get(node);
    if (!ar || !rn || rn.token !== token) return;
    ar.running.delete(node);
    ar.dataWaiters.delete(node);
    const rec = ar.record.nodes[node];
    rec.endTime = this.deps.clock.now();
    rec.exitStatus = result.status;
    if (ar.ending) {
      rec.status = 'stopped';
      rec.reason = ar.ending.status === 'cancelled' ? 'run cancelled' : 'run ended';
      if (ar.running.size === 0) await this.finishRun(ar);
      return;
    }
    const { tag, good, succeeded } = taskOutcome(rn.task, result.status);
    rec.status = succeeded ? 'good' : 'bad';
    rec.emitted = tag;
    rec.reason = result.reason;
    if (result.values) {
      rec.values = result.values;
      ar.vars[node] = result.values;
    }
    if (result.reason && !succeeded) this.output(ar, node, 'floe', result.reason);
    this.dirty.add(ar);
    this.publish({ kind: 'node-end', tag: 'sys.node-end', ref: ar.record.ref, node, status: result.status, good, emitted: tag, reason: result.reason });
    this.emit(ar, { kind: 'node', tag, ref: ar.record.ref, node, good, status: result.status });
  }

  private async dataRequested(item: Extract<QueueItem, { kind: 'data-request' }>): Promise<void> {
    const { run, node, form, timeoutMs, waiter } = item;
    const ar = this.active.get(run);
    if (!ar || ar.ending || !ar.running.has(node)) return waiter.reject(new FloeError('conflict', `run ${run} is not waiting on ${node}`));
    const timer = timeoutMs === undefined ? undefined : new AbortController();
    ar.dataWaiters.set(node, { form, resolve: waiter.resolve, reject: waiter.reject, timer });
    if (timer) {
      this.deps.clock.after(timeoutMs ?? 0, timer.signal).then(
        () => this.enqueue({ kind: 'data-expired', run, node, timer }),
        () => {}, // answered or the run ended first
      );
    }
    const rec = ar.record.nodes[node];
    rec.status = 'waiting-data';
    rec.form = form;
    this.dirty.add(ar);
    this.publish({ kind: 'data-required', tag: 'sys.data-required', ref: ar.record.ref, node, form });
  }

  /** The answer timeout of a data node passed; whichever of answer and expiry is queued first wins. */
  private async dataExpired(run: string, node: string, timer: AbortController): Promise<void> {
    const waiter = this.active.get(run)?.dataWaiters.get(node);
    if (!waiter || waiter.timer !== timer) return;
    this.active.get(run)?.dataWaiters.delete(node);
    waiter.resolve(undefined);
  }

  private async answer(item: Extract<QueueItem, { kind: 'answer' }>): Promise<void> {
    const { run, node, by } = item;
    const ar = this.active.get(run);
    if (ar?.ending) throw new FloeError('conflict', `run ${run} is ending (${ar.ending.status}); its data nodes take no input`);
    if (!ar) {
      if (this.pending.some((r) => r.ref.run === run)) throw new FloeError('conflict', `run ${run} has not started yet; its data nodes take no input`);
      const archived = await this.deps.store.getRun(run);
      if (archived) throw new FloeError('conflict', `run ${run} has already ended (${archived.status})`);
      throw new FloeError('not-found', `no run ${run}`);
    }
    const waiter = ar.dataWaiters.get(node);
    if (!waiter) {
      const task = ar.flow.nodes.find((n) => n.id === node);
      if (!task) throw new FloeError('not-found', `run ${run} has no node ${node}`);
      if (task.class !== 'task' || task.type !== 'data') throw new FloeError('bad-request', `node ${node} is a ${task.class === 'task' ? task.type : 'merge'} node, not a data node`);
      const rec = ar.record.nodes[node];
      if (rec?.answeredBy) throw new FloeError('conflict', `data node ${node} was already answered by ${rec.answeredBy}`);
      throw new FloeError('conflict', `data node ${node} is not waiting for input yet (it starts on ${task.listen})`);
    }
    const checked = checkFormValues(waiter.form, item.values);
    if ('errors' in checked) throw new FloeError('bad-request', `bad values for ${node}: ${checked.errors.join('; ')}`);
    const rec = ar.record.nodes[node];
    rec.answeredBy = by;
    rec.answeredAt = this.deps.clock.now();
    rec.values = checked.values;
    await this.deps.store.updateRun(ar.record);
    ar.dataWaiters.delete(node);
    waiter.timer?.abort();
    this.publish({ kind: 'data-answered', tag: 'sys.data-answered', ref: ar.record.ref, node, by });
    waiter.resolve({ values: checked.values, by });
    item.done.resolve();
  }

  private async handleCancel(run: string, by: string, done: Deferred<void>): Promise<void> {
    const pend = this.pending.find((r) => r.ref.run === run);
    if (pend) {
      await this.archivePend(pend, 'cancelled', `cancelled by ${by} while pending`);
      this.schedulePlace();
      return done.resolve();
    }
    const ar = this.active.get(run);
    if (!ar) {
      const archived = await this.deps.store.getRun(run);
      if (archived) throw new FloeError('conflict', `run ${run} has already ended (${archived.status})`);
      throw new FloeError('not-found', `no run ${run}`);
    }
    if (ar.ending) throw new FloeError('conflict', `run ${run} is already ending (${ar.ending.status})`);
    // Acknowledged once archived as cancelled, so a crash in between cannot contradict the answer.
    ar.onArchived.push(() => done.resolve());
    await this.endRun(ar, 'cancelled', `cancelled by ${by}`);
  }

  /** End a run: stop what still runs, and archive it once every node has settled. */
  private async endRun(ar: ActiveRun, status: RunStatus, reason?: string): Promise<void> {
    if (ar.ending) return;
    ar.ending = { status, reason };
    for (const rn of ar.running.values()) rn.controller.abort();
    for (const w of ar.dataWaiters.values()) {
      w.timer?.abort();
      w.reject(new FloeError('conflict', `run ended (${status})`));
    }
    ar.dataWaiters.clear();
    if (ar.running.size === 0) await this.finishRun(ar);
  }

  private async finishRun(ar: ActiveRun): Promise<void> {
    const r = ar.record;
    const ending = ar.ending ?? { status: 'bad' as const, reason: 'ended without a status' };
    r.status = ending.status;
    r.reason = ending.reason;
    r.endTime = this.deps.clock.now();
    await ar.outFlush;
    await this.deps.store.archive(r);
    this.active.delete(r.ref.run);
    this.dirty.delete(ar);
    this.killLeftovers(r);
    this.publish({ kind: 'end', tag: 'sys.end', ref: r.ref, status: r.status, reason: r.reason });
    for (const f of ar.onArchived.splice(0)) f();
    if (this.active.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    this.schedulePlace();
  }

  /** Process groups a run's tasks left running in the background die with the run. */
  private killLeftovers(r: RunRecord): void {
    for (const node of Object.values(r.nodes)) for (const p of node.procs ?? []) this.deps.reaper?.kill(p.pgid, p.id);
  }

  /** A run that was active when the host died: kill what it left behind, archive it bad. */
  private async archiveInterrupted(r: RunRecord): Promise<void> {
    const now = this.deps.clock.now();
    for (const node of Object.values(r.nodes)) {
      if (node.status !== 'running' && node.status !== 'waiting-data') continue;
      node.status = 'stopped';
      node.reason = 'host stopped during the run';
      node.endTime = now;
    }
    r.status = 'bad';
    r.reason = 'host stopped during the run';
    r.endTime = now;
    this.killLeftovers(r);
    await this.deps.store.archive(r);
    this.publish({ kind: 'end', tag: 'sys.end', ref: r.ref, status: 'bad', reason: r.reason });
  }

  // ---- triggers --------------------------------------------------------------------------

  private pickTrigger(flow: FlowConfig, id: string | undefined): TriggerConfig {
    if (id !== undefined) {
      const t = flow.triggers.find((x) => x.id === id);
      if (!t) throw new FloeError('not-found', `flow ${flow.id} has no trigger ${id} (it has: ${flow.triggers.map((x) => x.id).join(', ') || 'none'})`);
      return t;
    }
    const t = flow.triggers.find((x) => x.type === 'data');
    if (!t) throw new FloeError('bad-request', `flow ${flow.id} has no data trigger, so it cannot be started by request`);
    return t;
  }

  private checkTriggerValues(flow: FlowConfig, trig: TriggerConfig, values: Record<string, unknown>): Values {
    if (trig.form) {
      const checked = checkFormValues(trig.form, values);
      if ('errors' in checked) throw new FloeError('bad-request', `bad values for trigger ${trig.id} of flow ${flow.id}: ${checked.errors.join('; ')}`);
      return checked.values;
    }
    const out: Values = {};
    for (const [k, v] of Object.entries(values)) {
      if (typeof v === 'object' && v !== null) throw new FloeError('bad-request', `value ${k} must be a string, number or boolean`);
      out[k] = String(v);
    }
    return out;
  }

  private sourceFor(flow: FlowConfig, t: TriggerConfig): TriggerSource | undefined {
    // Pollers must know when adoption failed (to retry the change), so errors reach them.
    const fire = (values: Values) => this.adopt(flow, t, values);
    const ctx = { flow, trigger: t, clock: this.deps.clock, fire, log: this.deps.log, store: this.deps.store };
    if (t.type === 'timer') return new TimerTrigger(ctx);
    if (t.type === 'poll-git' && this.deps.gitPoller) return new GitPollTrigger(ctx, this.deps.gitPoller, this.config.common.gitKey);
    return undefined;
  }

}

/** Environment variable for a trigger value: `from-ref` -> `FLOE_FROM_REF`. */
export function envName(key: string): string {
  return `FLOE_${key.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}

function collectProblems(into: string[]): OptsCheck {
  return {
    error: (field, message) => into.push(field ? `${field}: ${message}` : message),
    warn: () => {},
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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

