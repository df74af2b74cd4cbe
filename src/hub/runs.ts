import type { FlowConfig } from '../config/schema.js';
import { FloeError } from '../errors.js';
import type { NodeResult } from '../nodes/node-type.js';
import { renderEnvEntry } from '../nodes/template.js';
import { ActiveRun } from './active-run.js';
import { errorMessage, type Deferred, type HubCore, type NodeEvent } from './core.js';
import type { RunStatus, RunRecord } from '../model/run.js';
import { taskOutcome } from './listeners.js';
import type { Pends } from './pends.js';
import type { Tasks } from './tasks.js';

/**
 * Runs on this host: activating a placed pend, routing each event of a run to the nodes that
 * listen for it, and ending the run (archived once every node has settled).
 */
export class Runs {
  constructor(
    private readonly core: HubCore,
    private readonly pends: Pends,
    private readonly tasks: Tasks,
  ) {}

  /** A pend placed here, or a run handed here, becomes active: its write, then its first tasks. */
  async activate(record: RunRecord): Promise<void> {
    const flow = this.core.flowsByKey.get(`${record.ref.flowRef.id}/${record.ref.flowRef.ver}`);
    if (!flow) return;
    const workspace = this.core.deps.workspaces.pathOf(record.ref, flow);
    const made = this.makeWorkspace(workspace);
    // A failed write leaves it a pend as it was, for the next placement pass.
    const ar = await this.core.lists.activate(record, flow, this.activeFields(workspace));
    return this.begin(ar, made);
  }

  /**
   * Adopts a trigger straight into the active list (the placer saw nothing to wait for): the
   * run number and the active run in one write. Resolves once it is written; `start` then
   * starts its first tasks, left to the caller so the trigger is acknowledged first.
   */
  async adoptActive(flow: FlowConfig, build: (runNumber: number) => RunRecord): Promise<{ record: RunRecord; start: () => Promise<void> }> {
    let made: Promise<string | undefined> = Promise.resolve(undefined);
    const ar = await this.core.lists.adoptActive((n) => {
      const record = build(n);
      const workspace = this.core.deps.workspaces.pathOf(record.ref, flow);
      made = this.makeWorkspace(workspace);
      return { ...record, ...this.activeFields(workspace) };
    }, flow);
    return { record: ar.record, start: () => this.begin(ar, made) };
  }

  private activeFields(workspace: string): Partial<RunRecord> {
    return { status: 'running', execHost: this.core.deps.hostName, startTime: this.core.deps.clock.now(), workspace, waiting: undefined };
  }

  /**
   * Makes a run's workspace while its activation is written (its tasks need it, the write does
   * not): why it could not be made, or undefined. Never rejects, so nobody has to be waiting yet.
   */
  private makeWorkspace(dir: string): Promise<string | undefined> {
    return this.core.deps.workspaces.prepare(dir).then(
      () => undefined,
      (err: unknown) => errorMessage(err),
    );
  }

  /** A run just made active here starts: the events saying so, then its first tasks once its workspace is made. */
  private async begin(ar: ActiveRun, made: Promise<string | undefined>): Promise<void> {
    const { record, flow } = ar;
    this.core.publish({ kind: 'remove-pend', tag: 'sys.remove-pend', ref: record.ref });
    this.core.publish({
      kind: 'activate',
      tag: 'sys.activate',
      ref: record.ref,
      execHost: this.core.deps.hostName,
      workspace: record.workspace ?? '',
    });
    const unmade = await made;
    if (unmade !== undefined) return this.endRun(ar, 'bad', `could not make the workspace: ${unmade}`);
    const problem = this.contextProblem(ar);
    if (problem) return this.endRun(ar, 'bad', problem);
    if (flow.flowFile && this.core.deps.flowFiles) {
      ar.loading = true;
      this.core.deps.flowFiles.load(flow, record.trigger.values, this.core.config).then(
        (f) => this.core.enqueue({ kind: 'flow-loaded', run: record.ref.run, flow: f }),
        (err: unknown) => this.core.enqueue({ kind: 'flow-loaded', run: record.ref.run, error: errorMessage(err) }),
      );
      return;
    }
    this.startRouting(ar);
  }

  private startRouting(ar: ActiveRun): void {
    this.emit(ar, { kind: 'node', tag: 'trigger.good', ref: ar.record.ref, node: ar.record.trigger.id, good: true });
  }

  async flowLoaded(run: string, flow: FlowConfig | undefined, error: string | undefined): Promise<void> {
    const ar = this.core.lists.active.get(run);
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
    Object.assign(vars, { ws, run: r.ref.run, flow: r.ref.flowRef.id, host: this.core.deps.hostName });
    const env: Record<string, string> = { ...this.core.deps.baseEnv };
    for (const entry of ar.flow.env) {
      const [k, v] = renderEnvEntry(entry, { workspace: ws, vars });
      env[k] = v;
    }
    for (const [k, v] of Object.entries(r.trigger.values)) env[envName(k)] = v;
    Object.assign(env, {
      FLOE_RUN_ID: r.ref.run,
      FLOE_FLOW_ID: r.ref.flowRef.id,
      FLOE_FLOW_VER: String(r.ref.flowRef.ver),
      FLOE_HOST: this.core.deps.hostName,
      FLOE_WS: ws,
    });
    ar.vars = vars;
    ar.env = env;
  }

  /** Queue an event of a run for routing. */
  private emit(ar: ActiveRun, e: NodeEvent): void {
    ar.inFlight++;
    this.core.enqueue({ kind: 'route', event: e });
  }

  async route(e: NodeEvent): Promise<void> {
    const ar = this.core.lists.active.get(e.ref.run);
    if (!ar || ar.ending) return;
    ar.inFlight--;
    this.core.publish(e);
    const { tasks, merges } = ar.listeners.of(e.tag);
    if (tasks.length === 0 && merges.length === 0) {
      if (!e.good) return this.endRun(ar, 'bad', `${e.tag} was emitted and no node listens to it`);
      return this.endIfIdle(ar);
    }
    for (const task of tasks) {
      if (!this.core.deps.nodes.get(task.type)?.endsRun) continue;
      const now = this.core.deps.clock.now();
      // Recorded so a run's detail shows where it ended.
      ar.record.nodes[task.id] = { id: task.id, status: e.good ? 'good' : 'bad', startTime: now, endTime: now, attempts: 1 };
      this.core.lists.markDirty(ar, task.id);
      return this.endRun(ar, e.good ? 'good' : 'bad', e.good ? undefined : `end node ${task.id} reached by ${e.tag}`);
    }
    for (const task of tasks) this.tasks.startNode(ar, task);
    for (const m of merges) {
      if (ar.mergeArrive(m.id, m.type, m.wait, e.tag)) {
        const now = this.core.deps.clock.now();
        const tag = `merge.${m.id}.good`;
        ar.record.nodes[m.id] = { id: m.id, status: 'good', startTime: now, endTime: now, attempts: 1, emitted: tag };
        this.core.lists.markDirty(ar, m.id);
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

  async nodeFinished(run: string, node: string, token: number, result: NodeResult): Promise<void> {
    const ar = this.core.lists.active.get(run);
    const rn = ar?.running.get(node);
    if (!ar || !rn || rn.token !== token) return;
    ar.running.delete(node);
    ar.dataWaiters.delete(node);
    const rec = ar.startedNode(node);
    rec.endTime = this.core.deps.clock.now();
    rec.exitStatus = result.status;
    if (ar.ending) {
      rec.status = 'stopped';
      rec.reason = ar.ending.status === 'cancelled' ? 'run cancelled' : 'run ended';
      this.core.lists.markDirty(ar, node);
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
    if (result.reason && !succeeded) this.tasks.output(ar, node, 'floe', result.reason);
    this.core.lists.markDirty(ar, node);
    this.core.publish({
      kind: 'node-end',
      tag: 'sys.node-end',
      ref: ar.record.ref,
      node,
      status: result.status,
      good,
      emitted: tag,
      reason: result.reason,
    });
    this.emit(ar, { kind: 'node', tag, ref: ar.record.ref, node, good, status: result.status });
  }

  async handleCancel(run: string, by: string, done: Deferred<void>): Promise<void> {
    const pend = this.core.lists.pending.find((r) => r.ref.run === run);
    if (pend) {
      await this.pends.archivePend(pend, 'cancelled', `cancelled by ${by} while pending`);
      this.core.schedulePlace();
      return done.resolve();
    }
    const ar = this.core.lists.active.get(run);
    if (!ar) {
      const archived = await this.core.deps.store.getRun(run);
      if (archived) throw new FloeError('conflict', `run ${run} has already ended (${archived.status})`);
      throw new FloeError('not-found', `no run ${run}`);
    }
    if (ar.ending) throw new FloeError('conflict', `run ${run} is already ending (${ar.ending.status})`);
    // Acknowledged once archived as cancelled, so a crash in between cannot contradict the answer.
    ar.onArchived.push(() => done.resolve());
    await this.endRun(ar, 'cancelled', `cancelled by ${by}`);
  }

  /** End a run: stop what still runs, and archive it once every node has settled. */
  async endRun(ar: ActiveRun, status: RunStatus, reason?: string): Promise<void> {
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
    r.endTime = this.core.deps.clock.now();
    // Not awaited: the store writes the archive after the output it was given before it.
    this.tasks.endOutput(ar);
    await this.core.lists.archiveActive(ar);
    this.killLeftovers(r);
    this.core.publish({ kind: 'end', tag: 'sys.end', ref: r.ref, status: r.status, reason: r.reason });
    for (const f of ar.onArchived.splice(0)) f();
    if (this.core.lists.active.size === 0) this.core.wakeIdleWaiters();
    this.core.schedulePlace();
  }

  /** Process groups a run's tasks left running in the background die with the run. */
  private killLeftovers(r: RunRecord): void {
    for (const node of Object.values(r.nodes)) for (const p of node.procs ?? []) this.core.deps.reaper?.kill(p.pgid, p.id);
  }

  /** A run that was active when the host died: kill what it left behind, archive it bad. */
  async archiveInterrupted(r: RunRecord): Promise<void> {
    const now = this.core.deps.clock.now();
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
    await this.core.lists.archiveInterrupted(r);
    this.core.publish({ kind: 'end', tag: 'sys.end', ref: r.ref, status: 'bad', reason: r.reason });
  }
}

/** Environment variable for a trigger value: `from-ref` -> `FLOE_FROM_REF`. */
export function envName(key: string): string {
  return `FLOE_${key.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}
