// The API's shapes, taken from the server's own types so the page and the host cannot drift.
import type { TagView } from '../../src/cluster/host-view.js';
import type { RunSummary } from '../../src/model/run.js';
export type { FormConfig, FormField } from '../../src/model/form.js';
export type { OutputLine } from '../../src/model/output.js';
export type { FlowRef, RunRef } from '../../src/model/refs.js';
export type { NodeStatus, RunStatus, RunSummary, TriggerRecord } from '../../src/model/run.js';
export type { PublishedEvent } from '../../src/model/events.js';
export type { DataWaiting, RunProgress } from '../../src/model/run.js';
export type { HostLoad, PeerSeen } from '../../src/cluster/messages.js';
export type { HostEntry, TagView } from '../../src/cluster/host-view.js';
import type { HostEntry } from '../../src/cluster/host-view.js';
export type {
  FlowDetail,
  FlowListing,
  NodeListing,
  NodeViewStatus,
  OutputPage,
  RunDetail,
  RunNodeView,
  TriggerListing,
} from '../../src/server/routes/flow-view.js';

/** `{ message, payload }`: every answer of the API. */
export interface Envelope<T> {
  message: string;
  payload: T;
}

/** A host left out of a cluster-wide answer. */
export interface Unreachable {
  host: string;
  reason: string;
}

/** `GET /runs`: the runs of every flow on every host that answered. */
export interface RunList {
  /** Oldest adopted first. */
  pending: RunSummary[];
  /** Longest running first. */
  active: RunSummary[];
  /** Newest ended first. */
  archive: RunSummary[];
  /** Give back as `before` for older archived runs; absent on the last page. */
  next?: number | string;
  unreachable: Unreachable[];
}

/** A resource tag in `GET /hosts`: its queue on the host that owns it. */
export interface OwnedTag extends TagView {
  owner: string;
}

/** `GET /hosts`. */
export interface HostList {
  hosts: HostEntry[];
  tags: OwnedTag[];
  unreachable: Unreachable[];
}
