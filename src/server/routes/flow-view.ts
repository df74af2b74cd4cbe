import type { FlowConfig, MergeType, NodeConfig, TriggerConfig } from '../../config/schema.js';
import type { FormConfig } from '../../model/form.js';
import type { DataWaiting, TriggerType, NodeStatus, RunRecord, RunSummary } from '../../model/run.js';
import type { OutputLine } from '../../model/output.js';
import { runSummary } from '../../model/run.js';
import { secretFieldIds, shownValues } from '../../model/secret-values.js';
import type { Values } from '../../model/values.js';
import type { TriggerState } from '../../hub/trigger-state.js';
import { dataWaitingOf } from '../../hub/run-progress.js';

/** A flow as `GET /flows` lists it: what a dashboard needs to draw it, without opts. */
export interface FlowListing {
  id: string;
  ver: number;
  name: string;
  hostTags: string[];
  resourceTags: string[];
  reuseSpace: boolean;
  triggers: TriggerListing[];
  flowFile?: string;
  nodes: NodeListing[];
}

export interface TriggerListing extends TriggerState {
  id: string;
  name: string;
  type: TriggerType;
  form?: FormConfig;
  /** timer and poll-git: seconds between firings. */
  period?: number;
}

/** What the hub knows of each timer and poll-git trigger of a flow, by trigger id. */
export type TriggerStates = ReadonlyMap<string, TriggerState>;

export interface NodeListing {
  id: string;
  name: string;
  class: 'task' | 'merge';
  type?: string;
  listen?: string;
  wait?: string[];
  mergeType?: MergeType;
}

/** A flow as `GET /flows/:id` shows it: the listing plus env and each node's and trigger's opts. */
export interface FlowDetail extends FlowListing {
  env: string[];
  triggers: Array<TriggerListing & { opts: Record<string, unknown> }>;
  nodes: Array<NodeListing & { opts?: Record<string, unknown>; good?: number[]; ignoreFail?: boolean; useStatus?: boolean }>;
}

/** Not in NodeStatus: the run has not reached this node (yet). */
export type NodeViewStatus = NodeStatus | 'not-started';

/** One node of a run in `GET /flows/:id/runs/:runId`: its config and what the run made of it. */
export interface RunNodeView extends NodeListing {
  status: NodeViewStatus;
  startTime?: number;
  endTime?: number;
  exitStatus?: number;
  emitted?: string;
  attempts: number;
  reason?: string;
  answeredBy?: string;
  answeredAt?: number;
  values?: Values;
}

export interface RunDetail extends RunSummary {
  workspace?: string;
  nodes: RunNodeView[];
  /** Forms of the data nodes waiting for input, answered through `POST /push/data` with `run`. */
  dataWaiting: DataWaiting[];
  output: OutputPage;
}

export interface OutputPage {
  lines: OutputLine[];
  /** Pass as `from` for the lines after these; absent when there are none yet. */
  next?: number;
}

export function flowListing(f: FlowConfig, states?: TriggerStates): FlowListing {
  return {
    id: f.id,
    ver: f.ver,
    name: f.name,
    hostTags: f.hostTags,
    resourceTags: f.resourceTags,
    reuseSpace: f.reuseSpace,
    triggers: f.triggers.map((t) => triggerListing(t, states)),
    flowFile: f.flowFile,
    nodes: f.nodes.map(nodeListing),
  };
}

export function flowDetail(f: FlowConfig, states?: TriggerStates): FlowDetail {
  return {
    ...flowListing(f),
    env: f.env,
    triggers: f.triggers.map((t) => ({ ...triggerListing(t, states), opts: t.opts })),
    nodes: f.nodes.map((n) =>
      n.class === 'task'
        ? { ...nodeListing(n), opts: n.opts, good: n.good, ignoreFail: n.ignoreFail, useStatus: n.useStatus }
        : nodeListing(n),
    ),
  };
}

function triggerListing(t: TriggerConfig, states: TriggerStates | undefined): TriggerListing {
  return { id: t.id, name: t.name, type: t.type, form: t.form, period: t.periodSec, ...states?.get(t.id) };
}

function nodeListing(n: NodeConfig): NodeListing {
  if (n.class === 'merge') return { id: n.id, name: n.name, class: 'merge', wait: n.wait, mergeType: n.type };
  return { id: n.id, name: n.name, class: 'task', type: n.type, listen: n.listen };
}

/**
 * The run in detail. Nodes follow the flow's config order; a node the run knows but the config
 * does not (a flow-file flow, or a version since edited) comes after them, in record order.
 */
export function runDetail(r: RunRecord, flow: FlowConfig | undefined, output: OutputPage): RunDetail {
  const configured = flow?.nodes ?? [];
  const known = new Set(configured.map((n) => n.id));
  const nodes: RunNodeView[] = configured.map((n) => runNodeView(nodeListing(n), r));
  for (const id of Object.keys(r.nodes)) {
    if (!known.has(id)) nodes.push(runNodeView({ id, name: id, class: 'task' }, r));
  }
  return { ...runSummary(r), workspace: r.workspace, nodes, dataWaiting: dataWaitingOf(r, flow), output };
}

function runNodeView(listing: NodeListing, r: RunRecord): RunNodeView {
  const rec = r.nodes[listing.id];
  if (!rec) return { ...listing, status: 'not-started', attempts: 0 };
  // procs and form stay out: process ids are the hub's business, and forms are in dataWaiting.
  return {
    ...listing,
    status: rec.status,
    startTime: rec.startTime,
    endTime: rec.endTime,
    exitStatus: rec.exitStatus,
    emitted: rec.emitted,
    attempts: rec.attempts,
    reason: rec.reason,
    answeredBy: rec.answeredBy,
    answeredAt: rec.answeredAt,
    values: rec.values && shownValues(rec.values, secretFieldIds(rec.form)),
  };
}
