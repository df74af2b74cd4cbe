import type { FlowConfig } from '../config/schema.js';
import { replyProblem, type LockState, type PeerReply, type PeerRequest } from '../cluster/messages.js';
import type { RunRecord } from '../model/run.js';
import type { ClusterLink } from './cluster-link.js';
import type { HubCore } from './core.js';
import { placePends, type ActiveHold, type PlacementPend } from './placement.js';
import type { AdoptionPlace } from './pends.js';
import { FloeError } from '../errors.js';

/** How long an accepted offer keeps a slot here for the adopter's `take`. */
const RESERVE_MS = 10_000;
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

type LockAnswer = LockState | { state: 'unreachable'; reason: string };

/** What the adopter knows, in memory, of placing one of its pends. Rebuilt by asking again after a restart. */
interface PendPlacing {
  granted: Set<string>;
  /** The tag whose lock request is in flight. */
  asking?: string;
  lockWait?: string;
  /** The peer an offer is in flight to. */
  offering?: string;
  /** Peers that refused since anything changed, with their reasons. */
  refused: Map<string, string>;
  taking: boolean;
  takeWait?: string;
  retryAt: number;
  backoff: number;
}

/**
 * Places pends across the cluster. For each pend, in arrival order, the adopting host takes its
 * resource tags from their owners (sorted, one at a time), then offers it to the least loaded
 * online host with the flow's host-tags (itself included). A peer's yes only reserves a slot;
 * the adopter then persists its choice (`placedOn`) and hands the run over with `take`, which
 * the peer accepts whatever happens, idempotently. So the one host a run may execute on is
 * decided once, on disk, by one host: a run never executes twice, whatever the network loses
 * or repeats. A pend handed to a host that does not answer waits for that host.
 */
export class Placer {
  private readonly placing = new Map<string, PendPlacing>();
  /** Offers this host accepted: run id -> until when the slot is kept. */
  private readonly reserved = new Map<string, { until: number; flowId: string; reuseSpace: boolean }>();
  /** Offers accepted by peers since their last hello (their load as this host should count it). */
  private readonly sentSince = new Map<string, number>();
  private retryArmed = Infinity;
  private timer?: AbortController;

  constructor(
    private readonly core: HubCore,
    private readonly link: ClusterLink,
    private readonly activate: (record: RunRecord) => Promise<void>,
    private readonly archivePend: (record: RunRecord, status: 'bad', reason: string) => Promise<void>,
  ) {
    core.stopSignal.addEventListener('abort', () => this.timer?.abort(), { once: true });
    link.listen({
      lockAnswer: (run, tag, answer) => this.lockAnswer(run, tag, answer),
      peersChanged: () => this.peersChanged(),
      offer: (req) => this.offered(req),
      take: (req) => this.take(req),
    });
  }

  private stateOf(run: string): PendPlacing {
    let st = this.placing.get(run);
    if (!st) {
      st = { granted: new Set(), refused: new Map(), taking: false, retryAt: 0, backoff: RETRY_FIRST_MS };
      this.placing.set(run, st);
    }
    return st;
  }

  /** One placement pass over every pend, oldest first. */
  async place(): Promise<void> {
    if (this.core.stopping || this.core.lists.pending.length === 0) return;
    const now = this.core.deps.clock.now();
    this.expireReservations(now);
    if (this.placing.size > this.core.lists.pending.length) {
      const live = new Set(this.core.lists.pending.map((r) => r.ref.run));
      for (const run of this.placing.keys()) if (!live.has(run)) this.placing.delete(run);
    }
    const self = this.link.selfUrl;
    const ready: Array<{ record: RunRecord; flow: FlowConfig; st: PendPlacing }> = [];
    for (const record of [...this.core.lists.pending]) {
      const flow = this.core.flowsByKey.get(`${record.ref.flowRef.id}/${record.ref.flowRef.ver}`);
      const st = this.stateOf(record.ref.run);
      if (record.placedOn !== undefined && record.placedOn !== self) {
        if (!st.taking && now >= st.retryAt) this.sendTake(record, st);
        else if (st.takeWait !== undefined) await this.setWaiting(record, this.handOverReason(record.placedOn, st.takeWait));
        continue;
      }
      if (!flow) {
        await this.archivePend(record, 'bad', `flow ${record.ref.flowRef.id} version ${record.ref.flowRef.ver} is no longer in the config`);
        continue;
      }
      // A pend handed to this host arrives holding its tags; the adopter takes them in sorted order.
      if (record.placedOn === undefined) {
        // Sorted at adoption (Pends.handleTrigger).
        const tags = record.resourceTags ?? [];
        let next = tags.find((t) => !st.granted.has(t));
        while (next !== undefined && st.asking === undefined && now >= st.retryAt) {
          st.asking = next;
          await this.link.requestLock(record.ref.run, next);
          // Answered at once when this host owns the tag.
          if (!st.granted.has(next)) break;
          next = tags.find((t) => !st.granted.has(t));
        }
        if (next !== undefined) {
          await this.setWaiting(record, st.lockWait ?? `waiting for resource tag ${next}`);
          continue;
        }
      }
      ready.push({ record, flow, st });
    }
    await this.placeReady(ready, now);
  }

  private async placeReady(ready: Array<{ record: RunRecord; flow: FlowConfig; st: PendPlacing }>, now: number): Promise<void> {
    if (ready.length === 0) return;
    const self = this.link.selfUrl;
    // Resource tags are the owners' business; here only the host's own limits count.
    const pends = ready.map(({ record, flow }) => placementPend(record.ref.run, flow));
    const local = placePends(pends, { name: this.core.deps.hostName, tags: this.core.deps.hostTags }, this.holds());
    let load = this.core.lists.active.size + this.reserved.size;
    const max = this.core.deps.maxRuns ?? Infinity;
    for (const [i, { record, flow, st }] of ready.entries()) {
      const d = local[i];
      if (!d) continue;
      const pinned = record.placedOn === self;
      const selfReason = !d.start
        ? d.reason
        : load >= max
          ? `${this.core.deps.hostName} is at -max_runs capacity (${load} of ${max})`
          : undefined;
      if (pinned) {
        if (selfReason === undefined) {
          load++;
          await this.activate(record);
        } else {
          await this.setWaiting(record, `placed on ${this.core.deps.hostName}: ${selfReason}`);
          // Slots kept for offers that are never taken lapse without an event: look again then.
          const lapse = Math.min(...[...this.reserved.values()].map((r) => r.until));
          if (lapse < Infinity) this.armTimer(lapse, now);
        }
        continue;
      }
      if (st.offering !== undefined) continue;
      const peers = this.candidates(flow, st.refused);
      const peerBest = peers[0];
      const selfFits = this.hasTags(this.core.deps.hostTags, flow.hostTags);
      if (selfFits && selfReason === undefined && (!peerBest || load <= peerBest.load)) {
        load++;
        await this.activate(record);
        continue;
      }
      if (peerBest) {
        // An offer only asks what the peer's hello already answers (issue 10: one round trip
        // less between a trigger and its task): hand the run over at once.
        if (!flow.reuseSpace && this.link.takesUnoffered(peerBest.url)) {
          await this.handOver(record, st, peerBest.url);
          continue;
        }
        st.offering = peerBest.url;
        this.link.sendAsync(peerBest.url, { kind: 'offer', from: self, run: record.ref.run, flow: { ...record.ref.flowRef } });
        continue;
      }
      await this.setWaiting(record, this.whyNoHost(flow, st, selfFits ? selfReason : undefined));
      this.armRetry(st, now);
    }
  }

  /**
   * Where a trigger of `flow` about to be adopted goes, when placement has nothing to wait for:
   * no resource tag to lock and no older pend here still to place. Then it is what placeReady
   * would decide for it alone: this host, when its limits allow and no peer is less loaded
   * (adopted straight into the active list: one durable write before its first task, not two);
   * else a peer that takes it without an offer (its `placedOn` written with the pend, in the
   * adoption's one write, and `take` sent while that write goes on). Undefined: adopt it as a
   * pend, for the next pass (issue 10: the writes and queue turns between a trigger and its task).
   */
  placeAtAdoption(flow: FlowConfig): AdoptionPlace | undefined {
    if (this.core.stopping || flow.resourceTags.length > 0) return undefined;
    const self = this.link.selfUrl;
    if (this.core.lists.pending.some((r) => r.placedOn === undefined || r.placedOn === self)) return undefined;
    this.expireReservations(this.core.deps.clock.now());
    const peerBest = this.candidates(flow, new Map())[0];
    const load = this.core.lists.active.size + this.reserved.size;
    // placePends says no for missing host tags and a busy shared workspace; -max_runs is this host's.
    const [d] = placePends([placementPend('', flow)], { name: this.core.deps.hostName, tags: this.core.deps.hostTags }, this.holds());
    const fitsHere = d?.start === true && load < (this.core.deps.maxRuns ?? Infinity);
    if (fitsHere && (!peerBest || load <= peerBest.load)) return { here: true };
    if (!peerBest || flow.reuseSpace || !this.link.takesUnoffered(peerBest.url)) return undefined;
    // Counted now, as a yes to an offer is: the next trigger may come before the adoption's write is done.
    this.sentSince.set(peerBest.url, (this.sentSince.get(peerBest.url) ?? 0) + 1);
    return { placedOn: peerBest.url, waiting: `handing over to ${this.link.membership.nameOf(peerBest.url)}` };
  }

  /**
   * Sends `take` for a pend being adopted with `placedOn` a peer (placeAtAdoption's choice), as
   * soon as its number may be shown: possibly before its write is done, while the trigger is not
   * acknowledged yet (Pends.handleTrigger says why that keeps a run on one host).
   */
  handOverAdopted(record: RunRecord): void {
    this.sendTake(record, this.stateOf(record.ref.run));
  }

  /** What this host holds against placePends' rules: its active runs, and the slots kept for offers. */
  private holds(): ActiveHold[] {
    const holds: ActiveHold[] = [...this.core.lists.active.values()].map((ar) => ({
      run: ar.record.ref.run,
      flowId: ar.flow.id,
      resourceTags: [],
      reuseSpace: ar.flow.reuseSpace,
    }));
    for (const [run, r] of this.reserved) holds.push({ run, flowId: r.flowId, resourceTags: [], reuseSpace: r.reuseSpace });
    return holds;
  }

  private hasTags(have: readonly string[], want: readonly string[]): boolean {
    return want.every((t) => have.includes(t));
  }

  /** Online peers with the flow's host-tags that have not refused it since anything changed, least loaded first. */
  private candidates(flow: FlowConfig, refused: ReadonlyMap<string, string>): Array<{ url: string; load: number }> {
    const out: Array<{ url: string; load: number }> = [];
    for (const p of this.link.membership.list()) {
      if (!this.link.membership.isOnline(p.url) || refused.has(p.url)) continue;
      if (!this.hasTags(p.tags, flow.hostTags)) continue;
      out.push({ url: p.url, load: (p.load?.active ?? 0) + (this.sentSince.get(p.url) ?? 0) });
    }
    return out.sort((a, b) => a.load - b.load || (a.url < b.url ? -1 : 1));
  }

  private whyNoHost(flow: FlowConfig, st: PendPlacing, selfReason: string | undefined): string {
    const m = this.link.membership;
    const parts: string[] = [];
    if (selfReason !== undefined) parts.push(`${this.core.deps.hostName}: ${selfReason}`);
    for (const [url, reason] of st.refused) parts.push(`${m.nameOf(url)}: ${reason}`);
    if (parts.length > 0) return parts.join('; ');
    const withTags = m.list().filter((p) => this.hasTags(p.tags, flow.hostTags));
    const down = withTags.map((p) =>
      p.refused ? `${m.nameOf(p.url)} refused: ${p.refused}` : `${m.nameOf(p.url)} offline since ${clockTime(p.offlineSince)}`,
    );
    const lacking = flow.hostTags.filter((t) => !this.core.deps.hostTags.includes(t));
    const have = `${this.core.deps.hostName} has [${this.core.deps.hostTags.join(', ')}], missing [${lacking.join(', ')}]`;
    return `no online host with tags [${flow.hostTags.join(', ')}] (${[have, ...down].join('; ')})`;
  }

  private async setWaiting(record: RunRecord, reason: string): Promise<void> {
    if (record.waiting === reason) return;
    record.waiting = reason;
    await this.core.lists.updatePend(record);
    this.core.publish({ kind: 'pend-waiting', tag: 'sys.pend-waiting', ref: record.ref, reason });
  }

  /** Try again later: refusals are forgotten, lock requests and hand-overs resent. */
  private armRetry(st: PendPlacing, now: number): void {
    // A retry already due later stays as it is: re-arming on every pass would push it back
    // each time another pend's retry fires, and it would never come.
    if (st.retryAt > now && st.retryAt < Infinity) return;
    st.retryAt = now + st.backoff;
    st.backoff = Math.min(st.backoff * 2, RETRY_MAX_MS);
    this.armTimer(st.retryAt, now);
  }

  /** One timer, for the earliest retry due; when it fires it arms the next. */
  private armTimer(at: number, now: number): void {
    if (at >= this.retryArmed) return;
    this.retryArmed = at;
    // The earlier timer replaces the later one, so waits never pile up on a long-lived signal.
    this.timer?.abort();
    const timer = new AbortController();
    this.timer = timer;
    this.core.deps.clock.after(at - now, timer.signal).then(
      () => {
        this.timer = undefined;
        this.retryArmed = Infinity;
        const t = this.core.deps.clock.now();
        let next = Infinity;
        for (const s of this.placing.values()) {
          if (s.retryAt <= t) s.refused.clear();
          else if (s.retryAt < Infinity) next = Math.min(next, s.retryAt);
        }
        if (next < Infinity) this.armTimer(next, t);
        this.core.schedulePlace();
      },
      () => {},
    );
  }

  // ---- answers ----------------------------------------------------------------------------

  private lockAnswer(run: string, tag: string, answer: LockAnswer): void {
    const record = this.core.lists.findPend(run);
    const st = this.placing.get(run);
    if (!record || !st || record.placedOn !== undefined) return;
    if (st.asking === tag) st.asking = undefined;
    const now = this.core.deps.clock.now();
    const before = st.lockWait;
    switch (answer.state) {
      case 'granted':
        st.granted.add(tag);
        st.lockWait = undefined;
        st.backoff = RETRY_FIRST_MS;
        st.retryAt = 0;
        this.core.schedulePlace();
        return;
      case 'queued':
        // Names the run just ahead (from 3rd on), which changes only when that one leaves: a
        // release rewrites one waiting pend's reason, not all of them.
        st.lockWait =
          answer.position === 2
            ? `run ${answer.holder} holds resource tag ${tag}; 2nd in its queue`
            : `queued for resource tag ${tag} behind run ${answer.ahead} (${ordinal(answer.position)})`;
        // The owner pushes the grant. A push over the network can be lost, so a remote owner is
        // asked again now and then; this host's own push cannot be, so it is not asked again.
        if (this.link.ownerOfTag(tag) !== this.link.selfUrl) this.armRetry(st, now);
        else st.retryAt = Infinity;
        break;
      case 'released':
        this.placing.delete(run);
        this.core.enqueue({
          kind: 'pend-failed',
          run,
          reason: `resource tag ${tag} was released for this run before it started; trigger it again`,
        });
        return;
      case 'unreachable':
        st.lockWait = `waiting for resource tag ${tag}: ${answer.reason}`;
        this.armRetry(st, now);
        break;
    }
    // Only a new reason needs a pass (to record it); an unchanged answer must not start one, or
    // passes that ask again would follow each other without end.
    if (st.lockWait !== before) this.core.schedulePlace();
  }

  /** A peer answered (or not) an offer or a hand-over of one of this host's pends. */
  async replied(url: string, req: PeerRequest, reply: PeerReply | undefined, error: string | undefined): Promise<void> {
    if (req.kind === 'offer') return this.offerAnswered(url, req.run, reply, error);
    if (req.kind === 'take') return this.takeAnswered(url, req.record.ref.run, reply, error);
  }

  private async offerAnswered(url: string, run: string, reply: PeerReply | undefined, error: string | undefined): Promise<void> {
    const st = this.placing.get(run);
    const record = this.core.lists.findPend(run);
    if (!st || !record || st.offering !== url) return;
    st.offering = undefined;
    if (reply?.kind !== 'offer' || !reply.accept || this.core.stopping || record.placedOn !== undefined) {
      // A lost answer to an offer is a no: a yes only reserved a slot, and nothing runs without `take`.
      const why =
        reply?.kind === 'offer' && !reply.accept ? reply.reason : (error ?? (reply?.kind === 'refused' ? reply.reason : 'no answer'));
      st.refused.set(url, why);
      this.core.schedulePlace();
      return;
    }
    await this.handOver(record, st, url);
  }

  /** Persists `url` as the one host the run may execute on, then sends it the run. */
  private async handOver(record: RunRecord, st: PendPlacing, url: string): Promise<void> {
    const before = { placedOn: record.placedOn, waiting: record.waiting };
    record.placedOn = url;
    record.waiting = `handing over to ${this.link.membership.nameOf(url)}`;
    try {
      await this.core.lists.updatePend(record);
    } catch (err) {
      // Not on disk, so not decided: a take must never go out on a choice a crash could forget.
      Object.assign(record, before);
      throw err;
    }
    this.sentSince.set(url, (this.sentSince.get(url) ?? 0) + 1);
    this.core.publish({ kind: 'pend-waiting', tag: 'sys.pend-waiting', ref: record.ref, reason: record.waiting });
    this.sendTake(record, st);
  }

  private sendTake(record: RunRecord, st: PendPlacing): void {
    if (record.placedOn === undefined) return;
    st.taking = true;
    this.link.sendAsync(record.placedOn, { kind: 'take', from: this.link.selfUrl, record: structuredClone(record) });
  }

  private async takeAnswered(url: string, run: string, reply: PeerReply | undefined, error: string | undefined): Promise<void> {
    const record = this.core.lists.findPend(run);
    if (!record || record.placedOn !== url) return;
    const st = this.stateOf(run);
    st.taking = false;
    if (reply?.kind === 'take') {
      await this.core.lists.handOff(record);
      this.placing.delete(run);
      this.core.publish({ kind: 'remove-pend', tag: 'sys.remove-pend', ref: record.ref });
      return;
    }
    st.takeWait = replyProblem(reply, error);
    // Never offered elsewhere: the choice is on disk, and the other host may be running it.
    await this.setWaiting(record, this.handOverReason(url, st.takeWait));
    this.armRetry(st, this.core.deps.clock.now());
  }

  private handOverReason(url: string, why: string): string {
    const m = this.link.membership;
    const state = m.isOnline(url) ? 'online' : `offline since ${clockTime(m.get(url)?.offlineSince)}`;
    return `handed to ${m.nameOf(url)} (${state}), waiting for it to confirm: ${why}`;
  }

  private peersChanged(): void {
    this.sentSince.clear();
    for (const st of this.placing.values()) st.refused.clear();
    this.core.schedulePlace();
  }

  // ---- this host as the one offered to ---------------------------------------------------

  private offered(req: Extract<PeerRequest, { kind: 'offer' }>): PeerReply {
    const flow = this.core.flowsByKey.get(`${req.flow.id}/${req.flow.ver}`);
    if (!flow) return this.refuse(`${this.core.deps.hostName} has no flow ${req.flow.id} version ${req.flow.ver}`);
    const now = this.core.deps.clock.now();
    this.expireReservations(now);
    if (!this.core.stopping && (this.core.lists.active.has(req.run) || this.core.lists.findPend(req.run)))
      return { kind: 'offer', accept: true };
    const why = this.limitReason(flow, req.run);
    if (why !== undefined) return this.refuse(why);
    this.reserved.set(req.run, { until: now + RESERVE_MS, flowId: flow.id, reuseSpace: flow.reuseSpace });
    return { kind: 'offer', accept: true };
  }

  private refuse(reason: string): PeerReply {
    return { kind: 'offer', accept: false, reason };
  }

  private async take(req: Extract<PeerRequest, { kind: 'take' }>): Promise<PeerReply> {
    const run = req.record.ref.run;
    this.reserved.delete(run);
    if (this.core.lists.active.has(run) || this.core.lists.findPend(run)) return { kind: 'take' };
    const record: RunRecord = { ...structuredClone(req.record), status: 'pending', placedOn: this.link.selfUrl, waiting: undefined };
    const flow = this.core.flowsByKey.get(`${record.ref.flowRef.id}/${record.ref.flowRef.ver}`);
    // Runs handed here earlier and still waiting keep their turn.
    const pinnedWaiting = this.core.lists.pending.some((r) => r.placedOn === this.link.selfUrl);
    try {
      if (flow && !pinnedWaiting && this.limitReason(flow, run) === undefined) {
        // Straight to active: one write fewer than a pend activated by the next pass. The answer
        // waits for the activation's write, so a retried take finds the run.
        await this.activate(record);
        return { kind: 'take' };
      }
      await this.core.lists.addPend(record);
    } catch (err) {
      // The store has the run already: archived here, by a take that ran it before this one
      // (whose answer was lost). Both writes look for it as they go, so no read comes first; its
      // workspace directory may have been made again meanwhile, empty.
      if (err instanceof FloeError && err.code === 'conflict') return { kind: 'take' };
      throw err;
    }
    this.core.publish({
      kind: 'add-pend',
      tag: 'sys.add-pend',
      ref: record.ref,
      trigger: record.trigger.id,
      values: record.trigger.values,
    });
    this.core.schedulePlace();
    return { kind: 'take' };
  }

  /**
   * Why this host may not take `run` of `flow` now, or undefined when it may: shutting down,
   * host tags, -max_runs (runs active, slots kept for offers, runs handed here and waiting; a
   * slot already kept for `run` counts as its own), a busy shared workspace.
   */
  private limitReason(flow: FlowConfig, run: string): string | undefined {
    const name = this.core.deps.hostName;
    if (this.core.stopping) return `${name} is shutting down`;
    const missing = flow.hostTags.filter((t) => !this.core.deps.hostTags.includes(t));
    if (missing.length > 0) return `${name} lacks host tags [${missing.join(', ')}]`;
    const pinned = this.core.lists.pending.filter((r) => r.placedOn === this.link.selfUrl).length;
    const load = this.core.lists.active.size + this.reserved.size + pinned;
    const max = this.core.deps.maxRuns ?? Infinity;
    if (!this.reserved.has(run) && load >= max) return `${name} is at -max_runs capacity (${load} of ${max})`;
    if (flow.reuseSpace) {
      const busy =
        [...this.core.lists.active.values()].some((ar) => ar.flow.id === flow.id && ar.flow.reuseSpace) ||
        [...this.reserved].some(([other, r]) => other !== run && r.flowId === flow.id && r.reuseSpace);
      if (busy) return `reuse-space: the shared workspace of flow ${flow.id} on ${name} is busy`;
    }
    return undefined;
  }

  private expireReservations(now: number): void {
    for (const [run, r] of this.reserved) if (r.until <= now) this.reserved.delete(run);
  }
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}

function clockTime(ms: number | undefined): string {
  return ms === undefined ? 'start' : new Date(ms).toISOString().slice(11, 19);
}

/** A pend of `flow` as placePends sees it here: resource tags are their owners' business. */
function placementPend(run: string, flow: FlowConfig): PlacementPend {
  return { run, flowId: flow.id, hostTags: flow.hostTags, resourceTags: [], reuseSpace: flow.reuseSpace };
}
