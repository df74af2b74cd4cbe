import type { HostLoad, PeerSeen, TagView } from './messages.js';

export type { TagView };

/** One host as `GET /hosts` shows it: this host's view of itself or of a peer. */
export interface HostView {
  name?: string;
  url: string;
  self: boolean;
  tags: string[];
  online: boolean;
  lastContact?: number;
  offlineSince?: number;
  /** Why this host and that one refuse each other. */
  refused?: string;
  version?: string;
  load?: HostLoad;
  runs?: { pending: string[]; active: string[] };
  heldTags: string[];
  /** That host's own view of the others, from its last hello. */
  known: PeerSeen[];
}

export interface ClusterView {
  hosts: HostView[];
  /** Tags this host owns (by rendezvous hashing over common.hosts). */
  tags: TagView[];
}
