import type { PeerReply, PeerRequest, Peers } from '../cluster/messages.js';

/** What the network needs of a host: the hub's `receivePeer`. */
export interface PeerEndpoint {
  receivePeer(req: PeerRequest): Promise<PeerReply>;
}

/** A rule a test sets to lose messages: return true to drop this request (or its reply). */
export type DropRule = (from: string, to: string, req: PeerRequest, leg: 'request' | 'reply') => boolean;

/**
 * Hubs in one process talking through `Peers`, with messages copied as JSON would copy them.
 * A host that is down, or a dropped message, makes `send` reject as an unreachable host would.
 */
export class MemoryNetwork {
  private readonly hosts = new Map<string, PeerEndpoint>();
  private readonly down = new Set<string>();
  drop?: DropRule;
  readonly sent: Array<{ from: string; to: string; kind: PeerRequest['kind'] }> = [];

  attach(url: string, endpoint: PeerEndpoint): void {
    this.hosts.set(url, endpoint);
  }

  setDown(url: string, isDown: boolean): void {
    if (isDown) this.down.add(url);
    else this.down.delete(url);
  }

  peersOf(from: string): Peers {
    return {
      send: async (to, req) => {
        this.sent.push({ from, to, kind: req.kind });
        const target = this.hosts.get(to);
        if (!target || this.down.has(to) || this.down.has(from)) throw new Error(`${to} is unreachable`);
        if (this.drop?.(from, to, req, 'request')) throw new Error(`request to ${to} lost`);
        const reply = await target.receivePeer(JSON.parse(JSON.stringify(req)) as PeerRequest);
        if (this.down.has(from) || this.drop?.(from, to, req, 'reply')) throw new Error(`reply from ${to} lost`);
        return JSON.parse(JSON.stringify(reply)) as PeerReply;
      },
    };
  }
}
