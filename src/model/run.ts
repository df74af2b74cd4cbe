import type { FormConfig } from './form.js';
import type { RunRef } from './refs.js';
import { shownTrigger } from './secret-values.js';
import type { Values } from './values.js';

export type RunStatus = 'pending' | 'running' | 'good' | 'bad' | 'cancelled';

export type TriggerType = 'data' | 'timer' | 'poll-git';

export type NodeStatus = 'running' | 'waiting-data' | 'good' | 'bad' | 'stopped';

/** What a run knows of one of its nodes. */
export interface NodeRecord {
  id: string;
  status: NodeStatus;
  startTime: number;
  endTime?: number;
  /** Exit status (exec) or 0/1 for other task types. */
  exitStatus?: number;
  /** The tag the node emitted when it finished. */
  emitted?: string;
  attempts: number;
  reason?: string;
  /** data nodes: the form waiting for input, who answered and when. */
  form?: FormConfig;
  answeredBy?: string;
  answeredAt?: number;
  values?: Values;
  /** Process groups started for this node: killed when the run ends, or on restart after a crash. */
  procs?: ProcessRef[];
}

/** A process group and what identifies its leader, so a reused pid is never killed. */
export interface ProcessRef {
  pgid: number;
  /** Opaque identity from the reaper (boot id and start time); undefined when unknown. */
  id?: string;
}

export interface TriggerRecord {
  id: string;
  type: TriggerType;
  values: Values;
  by?: string;
  /** Ids of the values given in secret form fields: kept for the run, shown as `(secret)`. */
  secret?: string[];
}

/** One run in any of its three lists: pending (a pend), active, or archive. */
export interface RunRecord {
  ref: RunRef;
  /** Host that adopted the trigger into this run. */
  adoptedBy: string;
  /** Host executing (or that executed) it. */
  execHost?: string;
  status: RunStatus;
  trigger: TriggerRecord;
  /** Arrival time (adoption). */
  createdAt: number;
  startTime?: number;
  endTime?: number;
  /** Why it ended bad or was cancelled. */
  reason?: string;
  /** While pending: why it has not started yet. */
  waiting?: string;
  workspace?: string;
  /** The flow's resource tags when it was adopted: held from activation until archived, cluster-wide. */
  resourceTags?: string[];
  /** While pending: the host the adopter handed it to (persisted before the hand-over, never changed after). */
  placedOn?: string;
  nodes: Record<string, NodeRecord>;
}

export function isFinished(status: RunStatus): boolean {
  return status === 'good' || status === 'bad' || status === 'cancelled';
}

/** The statuses a run ends with: those of archived runs. */
export type EndStatus = Extract<RunStatus, 'good' | 'bad' | 'cancelled'>;
export const END_STATUSES: readonly EndStatus[] = ['good', 'bad', 'cancelled'];

/** Of the nodes of an active run that can run (its flow's task and merge nodes but `end`), how many ended. */
export interface RunProgress {
  /** Ended good or bad. */
  done: number;
  total: number;
}

/** A data node of an active run waiting for input. */
export interface DataWaiting {
  node: string;
  name: string;
  form: FormConfig;
  /** When the node started waiting. */
  since: number;
}

/** The short form of a run used in every listing: the API's run summary. */
export interface RunSummary {
  ref: RunRef;
  execHost?: string;
  status: RunStatus;
  startTime?: number;
  endTime?: number;
  /** When it was adopted (pending since). */
  createdAt: number;
  trigger: TriggerRecord;
  reason?: string;
  waiting?: string;
  /** Active runs alone. */
  progress?: RunProgress;
  /** Active runs alone: what a person can answer now. */
  dataWaiting?: DataWaiting[];
}

export function runSummary(r: RunRecord): RunSummary {
  return {
    ref: r.ref,
    execHost: r.execHost,
    status: r.status,
    startTime: r.startTime,
    endTime: r.endTime,
    createdAt: r.createdAt,
    trigger: shownTrigger(r.trigger),
    reason: r.reason,
    waiting: r.waiting,
  };
}
