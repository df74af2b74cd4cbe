import type { FlowConfig, TaskConfig } from '../config/schema.js';
import type { FormConfig } from '../model/form.js';
import type { DataAnswer } from '../nodes/node-type.js';
import type { NodeRecord, RunStatus, RunRecord } from '../model/run.js';
import { FloeError } from '../errors.js';
import { listenersOf, type ListenerIndex } from './listeners.js';
import { RunOutput } from './output-batches.js';

export interface RunningNode {
  task: TaskConfig;
  controller: AbortController;
  /** Distinguishes a node's executions when a flow runs the same node more than once. */
  token: number;
}

export interface DataWaiter {
  form: FormConfig;
  resolve: (a: DataAnswer | undefined) => void;
  reject: (err: unknown) => void;
  /** Cancels the answer timeout, if there is one. */
  timer?: AbortController;
}

/** In-memory state of a run executing on this host; the record is what gets persisted. */
export class ActiveRun {
  listeners: ListenerIndex;
  readonly mergeSeen = new Map<string, Set<string>>();
  readonly mergeFired = new Set<string>();
  readonly running = new Map<string, RunningNode>();
  readonly dataWaiters = new Map<string, DataWaiter>();
  /** Events of this run enqueued but not routed yet. */
  inFlight = 0;
  /** Waiting for the flow-file to load. */
  loading = false;
  ending?: { status: RunStatus; reason?: string };
  /** Called once the run is archived (a cancel is acknowledged only then). */
  readonly onArchived: Array<() => void> = [];
  vars: Record<string, unknown> = {};
  env: Record<string, string> = {};
  /** Its output lines on their way to events and the store. */
  readonly output: RunOutput;

  constructor(
    readonly record: RunRecord,
    public flow: FlowConfig,
  ) {
    this.listeners = listenersOf(flow);
    this.output = new RunOutput(record.ref);
  }

  setFlow(flow: FlowConfig): void {
    this.flow = flow;
    this.listeners = listenersOf(flow);
  }

  /** The record of a node that has started; a missing one is a hub bug, never bad input. */
  startedNode(id: string): NodeRecord {
    const rec = this.record.nodes[id];
    if (!rec) throw new FloeError('internal', `run ${this.record.ref.run} has no record of node ${id}`);
    return rec;
  }

  /** Nothing executing, nothing in flight: the run can make no further progress by itself. */
  isIdle(): boolean {
    return !this.ending && !this.loading && this.running.size === 0 && this.inFlight === 0;
  }

  /** Records a tag arriving at a merge; true when the merge fires now. */
  mergeArrive(id: string, type: 'all' | 'any', wait: string[], tag: string): boolean {
    if (this.mergeFired.has(id)) return false;
    let seen = this.mergeSeen.get(id);
    if (!seen) this.mergeSeen.set(id, (seen = new Set()));
    seen.add(tag);
    const fires = type === 'any' || wait.every((w) => seen.has(w));
    if (fires) this.mergeFired.add(id);
    return fires;
  }

  /** Merges that heard some but not all of their tags: why an idle run is stuck. */
  stalledMerges(): string[] {
    const out: string[] = [];
    for (const [id, seen] of this.mergeSeen) {
      if (this.mergeFired.has(id)) continue;
      const merge = this.flow.nodes.find((n) => n.id === id);
      if (merge?.class !== 'merge') continue;
      const missing = merge.wait.filter((w) => !seen.has(w));
      out.push(`merge ${id} still waits for ${missing.join(', ')}`);
    }
    return out;
  }
}
