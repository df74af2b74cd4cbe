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

/** One host in `GET /hosts`: HostView with the names this route has always used (`id`, `runs` as counts). */
export interface HostEntry {
  id?: string;
  url: string;
  self: boolean;
  tags: string[];
  online: boolean;
  /** How many runs are pending and active there, when known. */
  runs?: { pending: number; active: number };
  lastContact?: number;
  offlineSince?: number;
  refused?: string;
  version?: string;
  load?: HostLoad;
  /** Ids of those runs (at most 100 of each). */
  runIds?: { pending: string[]; active: string[] };
  heldTags: string[];
  known: PeerSeen[];
}
