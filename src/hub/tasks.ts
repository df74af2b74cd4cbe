import type { TaskConfig } from '../config/schema.js';
import { checkFormValues } from '../config/form.js';
import { FloeError } from '../errors.js';
import type { DataAnswer, NodeContext, NodeResult, OptsCheck } from '../nodes/node-type.js';
import type { ActiveRun } from './active-run.js';
import { errorMessage, type HubCore, type QueueItem } from './core.js';
import type { OutputStream } from '../model/output.js';
import { OutputBatches } from './output-batches.js';
import type { NodeRecord } from '../model/run.js';

/**
 * Executing a run's tasks: starting one, the context it runs in, its output, and the input a
 * data task waits for. A task's result comes back through the queue as a `node-result`.
 */
export class Tasks {
  private execToken = 0;
  private readonly batches: OutputBatches;

  constructor(private readonly core: HubCore) {
    this.batches = new OutputBatches({
      publish: (e) => core.publish(e),
      store: core.deps.store,
      saveFailed: (err, run) => core.deps.log?.error({ err, run }, 'could not save output'),
    });
  }

  startNode(ar: ActiveRun, task: TaskConfig): void {
    const run = ar.record.ref.run;
    if (ar.running.has(task.id)) {
      this.output(ar, task.id, 'floe', `${task.id} is still running; not started again`);
      return;
    }
    const type = this.core.deps.nodes.get(task.type);
    const prev = ar.record.nodes[task.id];
    const rec: NodeRecord = { id: task.id, status: 'running', startTime: this.core.deps.clock.now(), attempts: (prev?.attempts ?? 0) + 1 };
    ar.record.nodes[task.id] = rec;
    this.core.lists.markDirty(ar, task.id);
    this.core.publish({ kind: 'node-start', tag: 'sys.node-start', ref: ar.record.ref, node: task.id, attempt: rec.attempts });
    const token = ++this.execToken;
    const controller = new AbortController();
    ar.running.set(task.id, { task, controller, token });
    const done = (result: NodeResult) => this.core.enqueue({ kind: 'node-result', run, node: task.id, token, result });
    if (!type) return done({ status: 1, reason: `unknown task type ${task.type}` });
    const problems: string[] = [];
    const opts = type.parseOpts({ ...task.opts, good: task.good }, collectProblems(problems));
    if (problems.length > 0) return done({ status: 1, reason: `bad opts: ${problems.join('; ')}` });
    type
      .execute(this.nodeContext(ar, task, controller.signal), opts, controller.signal)
      .then(done, (err: unknown) => done({ status: 1, reason: controller.signal.aborted ? 'stopped' : errorMessage(err) }));
  }

  private nodeContext(ar: ActiveRun, task: TaskConfig, signal: AbortSignal): NodeContext {
    const run = ar.record.ref.run;
    return {
      ref: ar.record.ref,
      nodeId: task.id,
      workspace: ar.record.workspace ?? '',
      env: ar.env,
      vars: ar.vars,
      clock: this.core.deps.clock,
      cacheDir: this.core.deps.cacheDir,
      gitKey: this.core.config.common.gitKey,
      output: (stream, line) => this.output(ar, task.id, stream, line),
      onProcess: (pgid) => {
        const rec = ar.record.nodes[task.id];
        if (rec) (rec.procs ??= []).push({ pgid, id: this.core.deps.reaper?.identify(pgid) });
        // Handed to the store through the queue at once, so a restart after kill -9 finds the group.
        this.core.enqueue({ kind: 'persist', run, node: task.id });
      },
      requestData: (form, timeoutMs) =>
        new Promise<DataAnswer | undefined>((resolve, reject) => {
          // endRun rejects waiting requests too; this covers a request still in the queue.
          const stopped = () => reject(new FloeError('conflict', `run ${run} stopped while ${task.id} waited for input`));
          if (signal.aborted) return stopped();
          signal.addEventListener('abort', stopped, { once: true });
          const settle = () => signal.removeEventListener('abort', stopped);
          this.core.enqueue({
            kind: 'data-request',
            run,
            node: task.id,
            form,
            timeoutMs,
            waiter: {
              resolve: (a) => (settle(), resolve(a)),
              reject: (e) => (settle(), reject(e)),
            },
          });
        }),
    };
  }

  /** Takes a line of a task's output; it is published and stored with the others of its turn. */
  output(ar: ActiveRun, node: string, stream: OutputStream, line: string): void {
    if (!this.core.lists.active.has(ar.record.ref.run)) return;
    this.batches.add(ar.output, node, stream, line);
  }

  /** Publishes the output lines gathered so far: called before any other event is published. */
  flushOutput(): void {
    this.batches.flush();
  }

  /** The run is ending: its last lines are published and handed to the store, before its archive. */
  endOutput(ar: ActiveRun): void {
    this.batches.end(ar.output);
  }

  async dataRequested(item: Extract<QueueItem, { kind: 'data-request' }>): Promise<void> {
    const { run, node, form, timeoutMs, waiter } = item;
    const ar = this.core.lists.active.get(run);
    if (!ar || ar.ending || !ar.running.has(node)) return waiter.reject(new FloeError('conflict', `run ${run} is not waiting on ${node}`));
    const timer = timeoutMs === undefined ? undefined : new AbortController();
    ar.dataWaiters.set(node, { form, resolve: waiter.resolve, reject: waiter.reject, timer });
    if (timer) {
      this.core.deps.clock.after(timeoutMs ?? 0, timer.signal).then(
        () => this.core.enqueue({ kind: 'data-expired', run, node, timer }),
        () => {}, // answered or the run ended first
      );
    }
    const rec = ar.startedNode(node);
    rec.status = 'waiting-data';
    rec.form = form;
    this.core.lists.markDirty(ar, node);
    this.core.publish({ kind: 'data-required', tag: 'sys.data-required', ref: ar.record.ref, node, form });
  }

  /** The answer timeout of a data node passed; whichever of answer and expiry is queued first wins. */
  async dataExpired(run: string, node: string, timer: AbortController): Promise<void> {
    const waiter = this.core.lists.active.get(run)?.dataWaiters.get(node);
    if (!waiter || waiter.timer !== timer) return;
    this.core.lists.active.get(run)?.dataWaiters.delete(node);
    waiter.resolve(undefined);
  }

  async answer(item: Extract<QueueItem, { kind: 'answer' }>): Promise<void> {
    const { run, node, by } = item;
    const ar = this.core.lists.active.get(run);
    if (ar?.ending) throw new FloeError('conflict', `run ${run} is ending (${ar.ending.status}); its data nodes take no input`);
    if (!ar) {
      if (this.core.lists.pending.some((r) => r.ref.run === run))
        throw new FloeError('conflict', `run ${run} has not started yet; its data nodes take no input`);
      const archived = await this.core.deps.store.getRun(run);
      if (archived) throw new FloeError('conflict', `run ${run} has already ended (${archived.status})`);
      throw new FloeError('not-found', `no run ${run}`);
    }
    const waiter = ar.dataWaiters.get(node);
    if (!waiter) {
      const task = ar.flow.nodes.find((n) => n.id === node);
      if (!task) throw new FloeError('not-found', `run ${run} has no node ${node}`);
      if (task.class !== 'task' || task.type !== 'data')
        throw new FloeError('bad-request', `node ${node} is a ${task.class === 'task' ? task.type : 'merge'} node, not a data node`);
      const rec = ar.record.nodes[node];
      if (rec?.answeredBy) throw new FloeError('conflict', `data node ${node} was already answered by ${rec.answeredBy}`);
      throw new FloeError('conflict', `data node ${node} is not waiting for input yet (it starts on ${task.listen})`);
    }
    const checked = checkFormValues(waiter.form, item.values);
    if ('errors' in checked) throw new FloeError('bad-request', `bad values for ${node}: ${checked.errors.join('; ')}`);
    const rec = ar.startedNode(node);
    rec.answeredBy = by;
    rec.answeredAt = this.core.deps.clock.now();
    rec.values = checked.values;
    await this.core.lists.saveActive(ar);
    ar.dataWaiters.delete(node);
    waiter.timer?.abort();
    this.core.publish({ kind: 'data-answered', tag: 'sys.data-answered', ref: ar.record.ref, node, by });
    waiter.resolve({ values: checked.values, by });
    item.done.resolve();
  }
}

function collectProblems(into: string[]): OptsCheck {
  return {
    error: (field, message) => into.push(field ? `${field}: ${message}` : message),
    warn: () => {},
  };
}
