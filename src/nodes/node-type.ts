import type { FormConfig } from '../model/form.js';
import type { OutputStream } from '../model/output.js';
import type { RunRef } from '../model/refs.js';
import type { Values } from '../model/values.js';
import type { Clock } from '../model/clock.js';

/** Records problems in a node's opts at the right place in the config file. */
export interface OptsCheck {
  /** `field` is the opts key (e.g. `cmd`, `form.fields[1].id`); undefined means the opts map itself. */
  error(field: string | undefined, message: string): void;
  warn(field: string | undefined, message: string): void;
}

/** An answer given to a data node. */
export interface DataAnswer {
  values: Values;
  by: string;
}

/** Everything a node may use while it executes; a node never touches the store or emits events. */
export interface NodeContext {
  ref: RunRef;
  nodeId: string;
  /** Absolute path of the run's workspace (exists). */
  workspace: string;
  /** Environment for processes: host env + flow env + FLOE_* values, already expanded. */
  env: Record<string, string>;
  /** Template view for `{{name}}` in opts: trigger values, answered data nodes (`{{node.field}}`), `ws`. */
  vars: Record<string, unknown>;
  /** Stream one line of output (without its newline) into the run's log. */
  output: (stream: OutputStream, line: string) => void;
  clock: Clock;
  /** Directory for caches that outlive runs (fetch downloads). */
  cacheDir: string;
  /** Key for git over ssh from common.git-key, if any. */
  gitKey?: string;
  /** Report a process group started for this node (killed when the run ends, or after a crash on restart). */
  onProcess(pgid: number): void;
  /**
   * data nodes: show the form and wait for its answer. Resolves undefined when `timeoutMs`
   * passes first (the hub decides which came first, so an accepted answer never times out);
   * rejects when the run ends.
   */
  requestData(form: FormConfig, timeoutMs?: number): Promise<DataAnswer | undefined>;
}

/** How a task ended. `status` is an exit status: 0 is conventionally good. */
export interface NodeResult {
  status: number;
  /** Why it failed, in words, when there is no process output to say so. */
  reason?: string;
  /** Values the node adds to the run (data node answers). */
  values?: Values;
  answeredBy?: string;
}

/** A task type: one file in src/nodes, registered in src/nodes/index.ts. */
export interface NodeType<Opts = unknown> {
  readonly type: string;
  /** Check and normalise the raw opts; problems go to `check`, never thrown. */
  parseOpts(raw: Record<string, unknown>, check: OptsCheck): Opts;
  /** Do the work. Must settle soon after `signal` aborts (cancel, timeout of the run, shutdown). */
  execute(ctx: NodeContext, opts: Opts, signal: AbortSignal): Promise<NodeResult>;
  /** Reaching this node ends the run (the `end` type). */
  readonly endsRun?: boolean;
}

export interface NodeRegistry {
  get(type: string): NodeType | undefined;
  types(): string[];
}
