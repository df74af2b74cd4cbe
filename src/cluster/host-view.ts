import type { HostLoad, PeerSeen } from './messages.js';
import type { ManualRelease } from './tag-locks.js';

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

/** A resource tag owned by this host: who holds it and who waits, in order. */
export interface TagView {
  tag: string;
  holder?: string;
  /** Waiting runs, first in line first (the holder not included). */
  waiting: string[];
  /** Releases by a person, newest last. */
  manual: ManualRelease[];
}

export interface ClusterView {
  hosts: HostView[];
  /** Tags this host owns (by rendezvous hashing over common.hosts). */
  tags: TagView[];
}
