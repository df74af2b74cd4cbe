import type { TagView } from '../cluster/host-view.js';
import type { Membership } from '../cluster/membership.js';
import type { PeerReply, PeerRequest } from '../cluster/messages.js';
import type { Clock } from '../model/clock.js';
import { askPeer, offlineReason, replyReason } from './ask-peer.js';
import type { Unreachable } from './cluster-views.js';
import { errorMessage } from './core.js';

/** A resource tag as `GET /hosts` lists it: its queue on the host that owns it. */
export interface OwnedTag extends TagView {
  /** The name of the host that owns the tag (keeps its queue). */
  owner: string;
}

export interface ClusterTags {
  /** Every online host's owned tags that are held, waited for or were released by a person; by tag, then owner. */
  tags: OwnedTag[];
  /** Hosts left out, and why, by name. */
  unreachable: Unreachable[];
}

/** How the tag view reaches the hosts: the hub's cluster link. */
export interface TagSources {
  readonly membership: Membership;
  readonly selfUrl: string;
  ownedTags(): TagView[];
  sendNow(url: string, req: PeerRequest): Promise<PeerReply>;
}

/**
 * The owned tags of this host and of every online peer, asked at once, each for at most
 * `askMs`. A tag normally has one owner; hosts that disagree on `common.hosts` (or a queue
 * left on a former owner) can list one tag twice, each with its owner.
 */
export async function listClusterTags(from: TagSources, clock: Clock, askMs = 2_000): Promise<ClusterTags> {
  const m = from.membership;
  const unreachable: Unreachable[] = [];
  const ask = async (url: string): Promise<OwnedTag[]> => {
    const owner = m.nameOf(url);
    try {
      const reply = await askPeer((u, r) => from.sendNow(u, r), clock, url, { kind: 'tags', from: from.selfUrl }, askMs);
      if (reply.kind === 'tags') return reply.tags.map((t) => ({ ...t, owner }));
      unreachable.push({ host: owner, reason: replyReason(reply) });
    } catch (err) {
      unreachable.push({ host: owner, reason: errorMessage(err) });
    }
    return [];
  };
  const asked: string[] = [];
  for (const p of m.list()) {
    if (m.isOnline(p.url)) asked.push(p.url);
    else unreachable.push({ host: m.nameOf(p.url), reason: offlineReason(p) });
  }
  const self = m.nameOf(from.selfUrl);
  const tags: OwnedTag[] = from.ownedTags().map((t) => ({ ...t, owner: self }));
  for (const theirs of await Promise.all(asked.map(ask))) tags.push(...theirs);
  tags.sort((a, b) => compare(a.tag, b.tag) || compare(a.owner, b.owner));
  unreachable.sort((a, b) => compare(a.host, b.host));
  return { tags, unreachable };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
