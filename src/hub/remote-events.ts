import type { Membership } from '../cluster/membership.js';
import type { PeerRequest } from '../cluster/messages.js';
import type { PublishedEvent } from '../model/events.js';

export type EventsRequest = Extract<PeerRequest, { kind: 'events' }>;

/**
 * Vets the events a peer forwards for this host's websocket clients (issue 8): only a member may
 * send them, and only its own, so no peer can publish here in this host's name or another's.
 * Keeps them in order per origin: a batch that arrives late (its send timed out and the next one
 * overtook it) is dropped rather than shown out of order. Pure: the hub republishes what it answers.
 */
export class RemoteEvents {
  /** The last seq republished from each peer, and the boot it was numbered in. */
  private readonly last = new Map<string, { boot?: string; seq: number }>();

  constructor(
    private readonly membership: Membership,
    private readonly selfName: string,
  ) {}

  /** The events of `req` to republish, oldest first, or why the whole request is refused. */
  accept(req: EventsRequest): PublishedEvent[] | string {
    const peer = req.from === this.membership.selfUrl ? undefined : this.membership.get(req.from);
    if (!peer) return `${req.from} is not a peer in common.hosts of ${this.selfName}`;
    if (peer.refused) return `${this.selfName} refuses ${peer.name ?? req.from}: ${peer.refused}`;
    if (peer.name === undefined) return `${this.selfName} has not heard ${req.from}'s hello yet`;
    for (const e of req.events) {
      if (e.host === this.selfName) return `${req.from} sent an event of host ${e.host}, which is this host`;
      if (e.host !== peer.name) return `${req.from} is ${peer.name} but sent an event of host ${e.host}`;
    }
    // Seqs rise across a host's restarts only as far as its clock does: a new boot starts afresh.
    let last = this.last.get(req.from);
    if (!last || last.boot !== peer.boot) this.last.set(req.from, (last = { boot: peer.boot, seq: -1 }));
    const fresh: PublishedEvent[] = [];
    for (const e of req.events) {
      if (e.seq <= last.seq) continue;
      last.seq = e.seq;
      fresh.push(e);
    }
    return fresh;
  }
}
