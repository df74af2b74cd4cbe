import { FloeError } from '../errors.js';
import type { ClusterView, HostView, TagView } from '../cluster/host-view.js';
import { Membership } from '../cluster/membership.js';
import { PROTOCOL_VERSION, replyProblem, type HostHello, type LockState, type PeerReply, type PeerRequest } from '../cluster/messages.js';
import { hash53, ownerOf } from '../cluster/rendezvous.js';
import { LOCK_PREFIX, TagLocks, type LockWrite } from '../cluster/tag-locks.js';
import type { RunRecord } from '../model/run.js';
import type { MetaWrite } from '../store/store.js';
import { errorMessage, type HubCore } from './core.js';

/** The URL a host on its own calls itself: it owns every tag and has no peers. */
const ALONE_URL = 'local:';
const UNLOCK_KEY = 'unlock:';
/** Run ids and tags never contain control characters (peers' are checked), so \u001f separates them. */
const unlockKey = (run: string, tag: string) => `${UNLOCK_KEY}${run}\u001f${tag}`;
const RETRY_MAX_MS = 5_000;

interface Unlock {
  run: string;
  tag: string;
  by?: string;
  inFlight?: boolean;
}

/** What the placer hears from the cluster. */
export interface ClusterEvents {
  /** A lock reply (or a pushed grant) for one of this host's pends. */
  lockAnswer(run: string, tag: string, answer: LockState | { state: 'unreachable'; reason: string }): void;
  /** A peer came online, went offline or changed its load: refused offers may be tried again. */
  peersChanged(): void;
  offer(req: Extract<PeerRequest, { kind: 'offer' }>): PeerReply;
  take(req: Extract<PeerRequest, { kind: 'take' }>): Promise<PeerReply>;
}

/**
 * This host's part in the cluster: membership and heartbeats, the resource tags it owns (their
 * FIFO queues, persisted before any answer), the outbox of tag releases (persisted with the
 * run's archive and retried until the owner confirms), and requests from peers. A host alone
 * runs the same code with itself as the only member, so one path is tested everywhere.
 */
export class ClusterLink {
  readonly membership: Membership;
  private locks = new TagLocks();
  private readonly outbox = new Map<string, Unlock>();
  private outboxRetryMs = 250;
  private outboxTimer = false;
  private events?: ClusterEvents;
  private readonly loggedRefusals = new Set<string>();
  /** Peers not yet heard from or given up on since this host started. */
  private readonly unmet: Set<string>;
  /** A client here follows live events (a websocket); told to peers in every hello. */
  watching = false;
  /** When each poll-git trigger (by its store key) was last polled, here or by the owner that told this host. */
  private readonly polled = new Map<string, number>();
  /** The flow versions this host runs, digested; told to peers in every hello. */
  private readonly flowsKey: string;

  constructor(private readonly core: HubCore) {
    const c = core.deps.cluster;
    const versions = core.config.flows.map((f) => `${f.id}/${f.ver}`).sort();
    this.flowsKey = String(hash53(versions.join('\n')));
    this.membership = new Membership({
      selfUrl: c?.selfUrl ?? ALONE_URL,
      selfName: core.deps.hostName,
      hosts: c ? core.config.common.hosts : [],
      offlineAfterMs: c?.offlineAfterMs ?? 2_000,
      now: core.deps.clock.now(),
    });
    this.unmet = new Set(this.membership.peerUrls());
  }

  get selfUrl(): string {
    return this.membership.selfUrl;
  }

  listen(events: ClusterEvents): void {
    this.events = events;
  }

  /** Loads the tags this host owns and the releases not yet confirmed. */
  async recover(): Promise<void> {
    const { store, log } = this.core.deps;
    const { locks, skipped } = TagLocks.restore(await store.listMeta(LOCK_PREFIX));
    for (const key of skipped) log?.error({ key }, 'unreadable resource-tag lock entry; skipped');
    this.locks = locks;
    for (const { key } of await store.listMeta(UNLOCK_KEY)) {
      const [run, tag] = key.slice(UNLOCK_KEY.length).split('\u001f');
      if (run && tag) this.outbox.set(key, { run, tag });
    }
  }

  /** Starts heartbeats and sends the releases left from before a restart. */
  start(signal: AbortSignal): void {
    if (this.outbox.size > 0) this.core.enqueue({ kind: 'outbox' });
    const c = this.core.deps.cluster;
    if (!c || this.membership.peerUrls().length === 0) return;
    const period = c.heartbeatMs ?? 500;
    const loop = async () => {
      for (;;) {
        // Outside the queue, as hellos are answered: see Hub.receivePeer.
        this.heartbeat();
        await this.core.deps.clock.after(period, signal);
      }
    };
    loop().catch(() => {}); // ends with the host (AbortError)
  }

  // ---- tag ownership ------------------------------------------------------------------

  ownerOfTag(tag: string): string {
    return ownerOf(`tag:${tag}`, this.membership.members) ?? this.selfUrl;
  }

  /** Whether this host fires a timer or poll now: the owner among the online hosts. */
  ownsTrigger(key: string): boolean {
    return this.triggerOwner(key) === this.selfUrl;
  }

  /** The URL of the host that fires a timer or poll now; undefined while this host cannot tell. */
  triggerOwner(key: string): string | undefined {
    // Until every peer answered or failed once, this host cannot tell who else is online.
    if (this.unmet.size > 0) return undefined;
    return ownerOf(key, this.membership.onlineMembers());
  }

  /** Tells every online peer what a poll-git trigger has seen (best effort: the poll's own record is local). */
  sharePollState(key: string, seen: Record<string, string>, at?: number): void {
    for (const url of this.membership.peerUrls()) {
      if (this.membership.isOnline(url)) this.sendAsync(url, { kind: 'poll-seen', from: this.selfUrl, key, seen, at });
    }
  }

  /** A poll of the poll-git trigger stored under `key` happened at `at` (here, or on the owner that said so). */
  notePoll(key: string, at: number): void {
    if (at > (this.polled.get(key) ?? -1)) this.polled.set(key, at);
  }

  /** When the poll-git trigger stored under `key` was last polled, as far as this host knows. */
  lastPolled(key: string): number | undefined {
    return this.polled.get(key);
  }

  /** Ask the tag's owner to queue `run`; the answer reaches the placer as `lockAnswer`. */
  async requestLock(run: string, tag: string): Promise<void> {
    const owner = this.ownerOfTag(tag);
    if (owner === this.selfUrl) {
      const state = await this.lockHere(tag, run, this.selfUrl);
      this.events?.lockAnswer(run, tag, state);
      return;
    }
    this.sendAsync(owner, { kind: 'lock', from: this.selfUrl, tag, run });
  }

  private async lockHere(tag: string, run: string, host: string): Promise<LockState> {
    const { reply, writes } = this.locks.request(tag, run, host, this.core.deps.clock.now());
    await this.save(writes);
    return reply;
  }

  private async unlockHere(u: Unlock): Promise<void> {
    const { writes, granted } = this.locks.release(u.tag, u.run, this.core.deps.clock.now(), u.by);
    if (writes.length === 0) return;
    await this.save(writes);
    if (u.by !== undefined) this.core.deps.log?.warn({ tag: u.tag, run: u.run, by: u.by }, 'resource tag released by a person');
    if (!granted) return;
    if (granted.host === this.selfUrl) this.events?.lockAnswer(granted.run, u.tag, { state: 'granted' });
    else this.sendAsync(granted.host, { kind: 'granted', tag: u.tag, run: granted.run });
  }

  private async save(writes: LockWrite[]): Promise<void> {
    if (writes.length > 0) await this.core.deps.store.writeMeta(writes);
  }

  /** Meta writes to archive with a run: the releases of its resource tags, sent once it is archived. */
  releaseOps(record: RunRecord): MetaWrite[] {
    return (record.resourceTags ?? []).map((tag) => ({ key: unlockKey(record.ref.run, tag), value: '1' }));
  }

  /** The run was archived with `releaseOps`: send the releases. */
  released(record: RunRecord): void {
    const tags = record.resourceTags ?? [];
    for (const tag of tags) this.outbox.set(unlockKey(record.ref.run, tag), { run: record.ref.run, tag });
    if (tags.length > 0) this.core.enqueue({ kind: 'outbox' });
  }

  /** A person releases a tag held by a lost run (admin route); forwarded to the tag's owner. */
  async releaseTag(tag: string, by: string, run?: string): Promise<{ run?: string }> {
    const owner = this.ownerOfTag(tag);
    if (owner !== this.selfUrl) {
      throw new FloeError('conflict', `resource tag ${tag} is owned by ${this.membership.nameOf(owner)}; release it there`);
    }
    const holder = this.locks.holders().get(tag);
    const target = run ?? holder;
    if (!target) throw new FloeError('not-found', `resource tag ${tag} is not held`);
    await this.unlockHere({ tag, run: target, by });
    return { run: target };
  }

  /** Sends every release not yet confirmed; those owned here are applied at once. */
  async flushOutbox(): Promise<void> {
    for (const [key, u] of [...this.outbox]) {
      if (u.inFlight) continue;
      const owner = this.ownerOfTag(u.tag);
      if (owner !== this.selfUrl) {
        u.inFlight = true;
        this.sendAsync(owner, { kind: 'unlock', from: this.selfUrl, tag: u.tag, run: u.run });
        continue;
      }
      await this.unlockHere(u);
      await this.confirmed(key);
    }
  }

  private async confirmed(key: string): Promise<void> {
    await this.core.deps.store.writeMeta([{ key }]);
    this.outbox.delete(key);
    this.outboxRetryMs = 250;
  }

  /** A release was not confirmed: try the outbox again after a backoff. */
  private retryOutbox(): void {
    if (this.outboxTimer) return;
    this.outboxTimer = true;
    const wait = this.outboxRetryMs;
    this.outboxRetryMs = Math.min(this.outboxRetryMs * 2, RETRY_MAX_MS);
    this.core.deps.clock.after(wait, this.core.stopSignal).then(
      () => {
        this.outboxTimer = false;
        this.core.enqueue({ kind: 'outbox' });
      },
      () => {},
    );
  }

  // ---- membership -----------------------------------------------------------------------

  hello(): HostHello {
    const c = this.core.deps.cluster;
    const pending = this.core.lists.pending.map((r) => r.ref.run);
    const active = [...this.core.lists.active.keys()];
    const held = new Set<string>();
    for (const ar of this.core.lists.active.values()) for (const t of ar.record.resourceTags ?? []) held.add(t);
    return {
      name: this.core.deps.hostName,
      url: this.selfUrl,
      boot: c?.boot ?? '',
      version: c?.version ?? '',
      protocol: PROTOCOL_VERSION,
      tags: this.core.deps.hostTags,
      hostsKey: this.membership.hostsKey,
      load: { active: active.length, pending: pending.length, maxRuns: this.core.deps.maxRuns ?? null },
      runs: { pending: pending.slice(0, 100), active: active.slice(0, 100) },
      heldTags: [...held].sort(),
      known: this.membership.seen(),
      watching: this.watching,
      flowsKey: this.flowsKey,
      ...(this.core.stopping && { stopping: true }),
    };
  }

  /**
   * Whether a `take` sent to `url` now, with no offer before it, starts the run there at once as
   * far as this host can know: its hello, heard within two heartbeats, shows no -max_runs, no
   * shutdown and the same flow versions, so an offer could only be refused for a busy
   * reuse-space workspace (the caller's to rule out). A take is never refused anyway, so a
   * wrong guess only delays the run on that host; it never runs it twice.
   */
  takesUnoffered(url: string): boolean {
    const p = this.membership.get(url);
    const fresh = 2 * (this.core.deps.cluster?.heartbeatMs ?? 500);
    return (
      p !== undefined &&
      this.membership.isOnline(url) &&
      p.lastContact !== undefined &&
      this.core.deps.clock.now() - p.lastContact <= fresh &&
      p.load?.maxRuns === null &&
      p.stopping !== true &&
      p.flowsKey === this.flowsKey
    );
  }

  /** Sends hellos to every peer and marks the silent ones offline. */
  heartbeat(): void {
    const gone = this.membership.expire(this.core.deps.clock.now());
    for (const url of gone) this.core.deps.log?.warn({ peer: url, name: this.membership.nameOf(url) }, 'peer offline');
    if (gone.length > 0) this.events?.peersChanged();
    this.announce();
  }

  /** Sends this host's hello to every peer (also between heartbeats, when whether it is watching changed). */
  announce(): void {
    if (!this.core.deps.cluster) return;
    const hello = this.hello();
    for (const url of this.membership.peerUrls()) this.sendAsync(url, { kind: 'hello', hello });
  }

  private heardHello(hello: HostHello): void {
    const h = this.membership.heard(hello, this.core.deps.clock.now());
    if (h.newlyRefused) this.logRefusal(hello.url, h.newlyRefused);
    if (h.cameOnline) this.core.deps.log?.info({ peer: hello.url, name: hello.name }, 'peer online');
    if (h.cameOnline || h.changed) this.events?.peersChanged();
  }

  private logRefusal(url: string, reason: string): void {
    const key = `${url} ${reason}`;
    if (this.loggedRefusals.has(key)) return;
    this.loggedRefusals.add(key);
    this.core.deps.log?.error({ peer: url }, `cluster: ${reason}`);
  }

  // ---- messages -------------------------------------------------------------------------

  /** Handles a request from a peer (inside the hub's queue loop). */
  async receive(req: PeerRequest): Promise<PeerReply> {
    if (req.kind === 'hello') {
      const refused = this.membership.refusal(req.hello);
      this.heardHello(req.hello);
      if (refused) return { kind: 'refused', reason: refused };
      return { kind: 'hello', hello: this.hello() };
    }
    if (!this.isMember(req.kind === 'granted' ? undefined : req.from)) {
      return {
        kind: 'refused',
        reason: `${req.kind === 'granted' ? 'sender' : req.from} is not in common.hosts of ${this.core.deps.hostName}`,
      };
    }
    switch (req.kind) {
      case 'lock':
        if (this.ownerOfTag(req.tag) !== this.selfUrl)
          return { kind: 'error', message: `${this.core.deps.hostName} does not own resource tag ${req.tag}` };
        return { kind: 'lock', ...(await this.lockHere(req.tag, req.run, req.from)) };
      case 'unlock':
        if (this.ownerOfTag(req.tag) !== this.selfUrl)
          return { kind: 'error', message: `${this.core.deps.hostName} does not own resource tag ${req.tag}` };
        await this.unlockHere({ tag: req.tag, run: req.run, by: req.by });
        return { kind: 'unlock' };
      case 'granted':
        this.events?.lockAnswer(req.run, req.tag, { state: 'granted' });
        return { kind: 'granted' };
      case 'poll-seen':
        // Kept for the day this host owns the trigger; a late, older copy can only make a change fire twice (at least once).
        await this.core.deps.store.putMeta(req.key, JSON.stringify(req.seen));
        if (req.at !== undefined) this.notePoll(req.key, req.at);
        return { kind: 'poll-seen' };
      case 'tags':
        return { kind: 'tags', tags: this.ownedTags() };
      case 'offer':
        return this.events?.offer(req) ?? { kind: 'offer', accept: false, reason: 'not ready' };
      case 'take':
        if (!this.events) return { kind: 'error', message: 'not ready' };
        return this.events.take(req);
      case 'runs':
      case 'run':
      case 'output':
      case 'cancel':
      case 'rerun':
      case 'answer':
      case 'events':
        // The hub answers these outside its queue (run-requests.ts, remote-events.ts).
        return { kind: 'error', message: `${req.kind} requests are not queued` };
    }
  }

  private isMember(url: string | undefined): boolean {
    return url === undefined || this.membership.members.includes(url);
  }

  /** A reply to one of this host's requests (inside the queue loop). */
  async replied(url: string, req: PeerRequest, reply: PeerReply | undefined, error: string | undefined): Promise<void> {
    if (req.kind === 'unlock') {
      const key = unlockKey(req.run, req.tag);
      const u = this.outbox.get(key);
      if (!u) return;
      u.inFlight = false;
      if (reply?.kind === 'unlock') await this.confirmed(key);
      else this.retryOutbox();
      return;
    }
    if (req.kind === 'hello') {
      this.unmet.delete(url);
      if (reply?.kind === 'hello') {
        if (reply.hello.url !== url) {
          this.logRefusal(url, `${url} answered as ${reply.hello.url}`);
          return;
        }
        const refused = this.membership.refusal(reply.hello);
        this.heardHello(reply.hello);
        if (refused) this.logRefusal(url, refused);
      } else if (reply?.kind === 'refused') {
        const fresh = this.membership.refusedBy(url, reply.reason, this.core.deps.clock.now());
        if (fresh) this.logRefusal(url, `refused by ${url}: ${fresh}`);
      }
      return;
    }
    if (req.kind === 'lock') {
      if (reply?.kind === 'lock') {
        const state: LockState =
          reply.state === 'queued'
            ? { state: 'queued', position: reply.position, holder: reply.holder, ahead: reply.ahead }
            : { state: reply.state };
        this.events?.lockAnswer(req.run, req.tag, state);
      } else {
        const why = replyProblem(reply, error);
        this.events?.lockAnswer(req.run, req.tag, {
          state: 'unreachable',
          reason: `its owner ${this.membership.nameOf(url)} (${url}) did not answer: ${why}`,
        });
      }
    }
  }

  /** Online peers with a client following live events: where this host's own events go. */
  watchingPeers(): string[] {
    return this.membership
      .list()
      .filter((p) => p.watching && this.membership.isOnline(p.url))
      .map((p) => p.url);
  }

  /** Sends without waiting; the reply comes back through the queue. */
  sendAsync(url: string, req: PeerRequest): void {
    const peers = this.core.deps.cluster?.peers;
    if (!peers) return;
    if (req.kind === 'hello') {
      // Membership only: handled as it arrives, like the hello it answers.
      peers.send(url, req).then(
        (reply) => void this.replied(url, req, reply, undefined),
        (err: unknown) => void this.replied(url, req, undefined, errorMessage(err)),
      );
      return;
    }
    peers.send(url, req).then(
      (reply) => this.core.enqueue({ kind: 'peer-reply', url, req, reply }),
      (err: unknown) => this.core.enqueue({ kind: 'peer-reply', url, req, error: errorMessage(err) }),
    );
  }

  /** Sends and waits (outside the hub's state: callers must not hold hub state across it). */
  sendNow(url: string, req: PeerRequest): Promise<PeerReply> {
    const peers = this.core.deps.cluster?.peers;
    if (!peers) return Promise.reject(new Error('no peers'));
    return peers.send(url, req);
  }

  // ---- views ----------------------------------------------------------------------------

  view(): ClusterView {
    const self = this.hello();
    const hosts: HostView[] = [
      {
        name: self.name,
        url: this.selfUrl,
        self: true,
        tags: self.tags,
        online: true,
        version: self.version,
        load: self.load,
        runs: self.runs,
        heldTags: self.heldTags,
        known: self.known,
      },
    ];
    for (const p of this.membership.list()) {
      hosts.push({
        name: p.name,
        url: p.url,
        self: false,
        tags: p.tags,
        online: p.online && !p.refused,
        lastContact: p.lastContact,
        offlineSince: p.offlineSince,
        refused: p.refused,
        version: p.version,
        load: p.load,
        runs: p.runs,
        heldTags: p.heldTags,
        known: p.known,
      });
    }
    return { hosts, tags: this.ownedTags() };
  }

  /** The resource tags this host owns that are held, waited for or were released by a person. */
  ownedTags(): TagView[] {
    return this.locks
      .all()
      .filter((s) => s.queue.length > 0 || s.manual.length > 0)
      .map((s) => {
        const view: TagView = { tag: s.tag, waiting: s.queue.slice(1).map((e) => e.run), manual: [...s.manual] };
        const holder = s.queue[0]?.run;
        if (holder !== undefined) view.holder = holder;
        return view;
      });
  }
}
