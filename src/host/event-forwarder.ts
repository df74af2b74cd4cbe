import type { PeerReply, Peers } from '../cluster/messages.js';
import { approxBytes } from '../hub/event-ring.js';
import type { PublishedEvent } from '../model/events.js';

/** What the forwarder uses of its hub. */
export interface ForwardingHub {
  readonly hostName: string;
  subscribe(fn: (e: PublishedEvent) => void): () => void;
  /** Online peers with a client following live events. */
  watchingPeers(): string[];
}

export interface EventForwarderOptions {
  hub: ForwardingHub;
  peers: Peers;
  /** This host's URL in common.hosts: the `from` of each request. */
  selfUrl: string;
  log: { warn(obj: object, msg: string): void };
  /** Events waiting to go to one peer, at most; past it the oldest are dropped. Default 10,000. */
  maxQueued?: number;
  /** About this many bytes of JSON per request (at least one event); the peer takes 8 MiB. Default 1 MiB. */
  maxBatchBytes?: number;
  /**
   * How long the events of one request gather, from the first. Default 10 ms: a run's start
   * publishes several events over a few turns of the loop, and a request per turn cost both
   * hosts CPU just as the receiving one was starting a task (issue 10).
   */
  batchMs?: number;
  /** Runs `fn` when a batch is due; tests pass their own. Default: `batchMs` later. */
  defer?: (fn: () => void) => void;
}

/** One peer's queue: events not yet sent, and whether a request to it is under way. */
interface Outgoing {
  events: PublishedEvent[];
  sending: boolean;
  /** Events were lost since the last batch that got through, and the log has said so. */
  inGap: boolean;
}

/**
 * Sends this host's own events to the peers whose websocket clients follow live events (issue 8):
 * the events of a short window (`batchMs`) in one request per peer, one request at a time per
 * peer so they arrive in order. Best effort: a failed request is not retried, and a peer that
 * cannot keep up gets a gap, logged once, rather than a queue that grows without bound.
 */
export class EventForwarder {
  private batch: PublishedEvent[] = [];
  private readonly outgoing = new Map<string, Outgoing>();
  /** JSON bytes of each event, about; counted once however many peers it goes to. */
  private readonly sizes = new WeakMap<PublishedEvent, number>();
  private readonly maxQueued: number;
  private readonly maxBatchBytes: number;
  private readonly defer: (fn: () => void) => void;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly opts: EventForwarderOptions) {
    this.maxQueued = opts.maxQueued ?? 10_000;
    this.maxBatchBytes = opts.maxBatchBytes ?? 1024 * 1024;
    const batchMs = opts.batchMs ?? 10;
    // Unref'd: a batch due must not keep a stopping host up; close() drops it anyway.
    this.defer = opts.defer ?? ((fn) => void setTimeout(fn, batchMs).unref());
    this.unsubscribe = opts.hub.subscribe((e) => this.heard(e));
  }

  /** Stops forwarding; requests under way finish, nothing more is sent. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.batch = [];
    this.outgoing.clear();
  }

  private heard(e: PublishedEvent): void {
    // A peer's events republished here (named by that peer) went to the others from that peer itself.
    if (this.closed || e.host !== this.opts.hub.hostName) return;
    this.batch.push(e);
    if (this.batch.length === 1) this.defer(() => this.endBatch());
  }

  private endBatch(): void {
    const events = this.batch;
    this.batch = [];
    if (this.closed || events.length === 0) return;
    for (const url of this.opts.hub.watchingPeers()) {
      let out = this.outgoing.get(url);
      if (!out) this.outgoing.set(url, (out = { events: [], sending: false, inGap: false }));
      out.events = out.events.length === 0 ? events.slice() : out.events.concat(events);
      const over = out.events.length - this.maxQueued;
      if (over > 0) {
        out.events.splice(0, over);
        this.gap(url, out, `${over} events dropped: more than ${this.maxQueued} were waiting for it`);
      }
      if (!out.sending) void this.send(url, out);
    }
  }

  /** Sends the peer's queue one request at a time, until it is empty or the peer stops watching. */
  private async send(url: string, out: Outgoing): Promise<void> {
    out.sending = true;
    try {
      while (out.events.length > 0 && !this.closed) {
        if (!this.opts.hub.watchingPeers().includes(url)) {
          out.events = [];
          break;
        }
        const batch = this.takeBatch(out);
        const failed = await this.opts.peers.send(url, { kind: 'events', from: this.opts.selfUrl, events: batch }).then(
          (reply) => failure(reply),
          (err: unknown) => (err instanceof Error ? err.message : String(err)),
        );
        if (failed !== undefined) this.gap(url, out, `${batch.length} events not delivered: ${failed}`);
        else out.inGap = false;
      }
    } finally {
      out.sending = false;
    }
  }

  /** The oldest queued events that fit one request; at least one. */
  private takeBatch(out: Outgoing): PublishedEvent[] {
    let bytes = 0;
    let n = 0;
    for (const e of out.events) {
      let size = this.sizes.get(e);
      if (size === undefined) this.sizes.set(e, (size = approxBytes(e)));
      if (n > 0 && bytes + size > this.maxBatchBytes) break;
      bytes += size;
      n++;
    }
    return out.events.splice(0, n);
  }

  private gap(url: string, out: Outgoing, what: string): void {
    if (out.inGap) return;
    out.inGap = true;
    this.opts.log.warn(
      { peer: url },
      `live events for ${url} have a gap: ${what}; its websocket clients miss them (logged once until events reach it again)`,
    );
  }
}

/** Why a reply is not the acknowledgement of an `events` request, or undefined when it is. */
function failure(reply: PeerReply): string | undefined {
  if (reply.kind === 'events') return undefined;
  if (reply.kind === 'refused') return `refused: ${reply.reason}`;
  if (reply.kind === 'error') return reply.message;
  return `unexpected ${reply.kind} reply`;
}
