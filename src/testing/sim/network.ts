import type { PeerReply, PeerRequest, Peers } from '../../cluster/messages.js';
import type { ManualClock } from '../manual-clock.js';
import type { Prng } from './prng.js';

/** Faults of the simulated network, each off unless set. */
export interface NetworkFaults {
  /** Chance that a request, or its reply, is lost. Default 0. */
  drop?: number;
  /** Chance that a request is delivered twice (the sender sees the first reply). Default 0. */
  dup?: number;
  /** Each message takes between these (whole ms of sim time) to arrive. Default 0..50. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A sender gives up on a reply after this long. Default 1,000 ms. */
  timeoutMs?: number;
}

/** One thing that happened, for the replay trace. */
export interface TraceEvent {
  at: number;
  /** Host name (or URL) the event starts from; a host event has only `from`. */
  from: string;
  to?: string;
  /** Message kind (`offer`, `reply:lock`) or simulation event (`trigger`, `kill`, `exec`). */
  kind: string;
  /** What became of it: `delivered`, `dropped`, `partitioned`, `held: h2 paused`, ... */
  fate: string;
  /** A heartbeat that went as it should: most of a trace, and rarely what explains a failure. */
  isRoutine?: boolean;
}

/** Receives a request on a host: the hub's `receivePeer`. */
export type PeerHandler = (req: PeerRequest) => Promise<PeerReply>;

/** One running process of a host. A restart makes a new one; messages of the old one go nowhere. */
interface Endpoint {
  url: string;
  handler: PeerHandler;
  isAlive: boolean;
}

interface HostState {
  current?: Endpoint;
  isPaused: boolean;
  /** What waits for the host to resume: arrivals, departures and time-outs, in order. */
  held: Array<() => void>;
}

interface Call {
  id: number;
  from: Endpoint;
  to: string;
  req: PeerRequest;
  isDone: boolean;
  /** Sim time the sender gives up at. */
  deadline: number;
  resolve(reply: PeerReply): void;
  reject(err: Error): void;
}

/**
 * Hosts in one process talking through `Peers`, over a network that delays every message by a
 * seeded amount on the manual clock (so messages overtake each other), and, when told to, loses
 * and duplicates them, splits hosts into partitions, pauses hosts and loses dead ones. Messages
 * are copied as JSON would copy them. Every event goes to `trace`.
 */
export class SimNetwork {
  private readonly hosts = new Map<string, HostState>();
  /** host URL -> side of the current partition. */
  private sides?: Map<string, number>;
  private faults: Required<NetworkFaults>;
  private nextId = 0;
  /** Messages sent, lost, duplicated; for the summary. */
  readonly counts = { sent: 0, dropped: 0, duplicated: 0, timedOut: 0 };

  constructor(
    private readonly clock: ManualClock,
    private readonly prng: Prng,
    faults: NetworkFaults,
    private readonly trace: (e: TraceEvent) => void,
    /** Short name of a host URL for the trace. */
    private readonly nameOf: (url: string) => string = (url) => url,
  ) {
    this.faults = withDefaults(faults);
  }

  setFaults(faults: NetworkFaults): void {
    this.faults = withDefaults(faults);
  }

  get timeoutMs(): number {
    return this.faults.timeoutMs;
  }

  /**
   * Connects a new process of host `url`: requests to `url` reach `handler` from now on, and the
   * returned `Peers` sends as this process. A previous process of the host is dead from now on.
   */
  attach(url: string, handler: PeerHandler): Peers {
    const host = this.host(url);
    if (host.current) host.current.isAlive = false;
    const ep: Endpoint = { url, handler, isAlive: true };
    host.current = ep;
    return { send: (to, req) => this.send(ep, to, req) };
  }

  /** The host's process died: nothing reaches it, it sends nothing more, and what it waited for is lost. */
  kill(url: string): void {
    const host = this.host(url);
    if (host.current) host.current.isAlive = false;
    host.isPaused = false;
    this.releaseHeld(host);
  }

  /** The host receives nothing and sends nothing until `resume`; what comes and goes meanwhile waits. */
  pause(url: string): void {
    this.host(url).isPaused = true;
  }

  resume(url: string): void {
    const host = this.host(url);
    host.isPaused = false;
    this.releaseHeld(host);
  }

  isPaused(url: string): boolean {
    return this.hosts.get(url)?.isPaused ?? false;
  }

  /** Hosts on different sides cannot reach each other until `heal`; a host not listed is alone. */
  partition(sides: readonly (readonly string[])[]): void {
    this.sides = new Map();
    sides.forEach((side, i) => side.forEach((url) => this.sides?.set(url, i)));
  }

  heal(): void {
    this.sides = undefined;
  }

  canReach(from: string, to: string): boolean {
    if (!this.sides || from === to) return true;
    const a = this.sides.get(from);
    return a !== undefined && a === this.sides.get(to);
  }

  private send(from: Endpoint, to: string, req: PeerRequest): Promise<PeerReply> {
    // A dead process waits for nothing; its callers never hear back.
    if (!from.isAlive) return new Promise<PeerReply>(() => {});
    const id = ++this.nextId;
    this.counts.sent++;
    return new Promise<PeerReply>((resolve, reject) => {
      const call: Call = { id, from, to, req, isDone: false, deadline: this.clock.now() + this.faults.timeoutMs, resolve, reject };
      this.awaitDeadline(call);
      const copies = this.prng.chance(this.faults.dup) ? 2 : 1;
      if (copies === 2) this.counts.duplicated++;
      for (let copy = 1; copy <= copies; copy++) {
        this.depart(from, () => this.transmitRequest(call, copy === 2));
      }
    });
  }

  /** Leaves `from` now, or when it resumes if it is paused; a process that died first never sends it. */
  private depart(from: Endpoint, go: () => void): void {
    const host = this.host(from.url);
    if (host.isPaused) host.held.push(() => this.depart(from, go));
    else if (from.isAlive) go();
  }

  private transmitRequest(call: Call, isCopy: boolean): void {
    const label = this.label(call, isCopy);
    if (this.prng.chance(this.faults.drop)) {
      this.counts.dropped++;
      this.log(call.from.url, call.to, label, 'dropped');
      return;
    }
    void this.clock.after(this.delay()).then(() => this.arriveRequest(call, label));
  }

  private arriveRequest(call: Call, label: string): void {
    const fate = this.blocked(call.from.url, call.to, () => this.arriveRequest(call, label));
    if (fate) return this.log(call.from.url, call.to, label, fate);
    const ep = this.hosts.get(call.to)?.current;
    if (!ep?.isAlive) return this.log(call.from.url, call.to, label, 'lost: host is dead');
    this.log(call.from.url, call.to, label, 'delivered', call.req.kind === 'hello');
    ep.handler(copy(call.req)).then(
      (reply) => this.replyFrom(ep, call, label, reply),
      (err: unknown) => {
        // receivePeer promises never to reject; the trace shows it if it does.
        const message = err instanceof Error ? err.message : String(err);
        this.log(call.to, call.from.url, `reply:${label}`, `handler threw: ${message}`);
        this.replyFrom(ep, call, label, { kind: 'error', message });
      },
    );
  }

  private replyFrom(ep: Endpoint, call: Call, label: string, reply: PeerReply): void {
    if (!ep.isAlive) return this.log(call.to, call.from.url, `reply:${label}`, 'lost: replier died');
    this.depart(ep, () => {
      const what = `reply:${label}${describeReply(reply)}`;
      if (this.prng.chance(this.faults.drop)) {
        this.counts.dropped++;
        return this.log(call.to, call.from.url, what, 'dropped');
      }
      void this.clock.after(this.delay()).then(() => this.arriveReply(call, what, reply));
    });
  }

  private arriveReply(call: Call, what: string, reply: PeerReply): void {
    const fate = this.blocked(call.to, call.from.url, () => this.arriveReply(call, what, reply));
    if (fate) return this.log(call.to, call.from.url, what, fate);
    if (!call.from.isAlive) return this.log(call.to, call.from.url, what, 'lost: sender died');
    if (call.isDone) return this.log(call.to, call.from.url, what, 'ignored: sender has its answer or gave up');
    call.isDone = true;
    this.log(call.to, call.from.url, what, 'answered', call.req.kind === 'hello');
    call.resolve(copy(reply));
  }

  private timeOut(call: Call): void {
    if (call.isDone) return;
    call.isDone = true;
    this.counts.timedOut++;
    this.log(call.from.url, call.to, this.label(call, false), `timed out after ${this.faults.timeoutMs} ms`);
    call.reject(new Error(`no reply from ${call.to} to ${call.req.kind} within ${this.faults.timeoutMs} ms`));
  }

  /**
   * Calls waiting for a reply, by deadline, watched by one clock timer at a time: most calls
   * are answered long before their deadline, and a timer per call would cost a turn of the
   * event loop each for nothing.
   */
  private readonly waiting: Call[] = [];
  private watchingFor?: number;

  private awaitDeadline(call: Call): void {
    let i = this.waiting.length; // deadlines mostly come in order: insert from the end
    while (i > 0 && (this.waiting[i - 1]?.deadline ?? 0) > call.deadline) i--;
    this.waiting.splice(i, 0, call);
    this.watchDeadlines();
  }

  private watchDeadlines(): void {
    while (this.waiting[0]?.isDone) this.waiting.shift();
    const next = this.waiting[0]?.deadline;
    if (next === undefined || (this.watchingFor !== undefined && this.watchingFor <= next)) return;
    this.watchingFor = next;
    void this.clock.after(next - this.clock.now()).then(() => {
      if (this.watchingFor === next) this.watchingFor = undefined;
      const now = this.clock.now();
      while (this.waiting[0] && this.waiting[0].deadline <= now) {
        const call = this.waiting.shift() as Call;
        if (!call.isDone) this.atSender(call, () => this.timeOut(call));
      }
      this.watchDeadlines();
    });
  }

  /** Runs `fn` at the sender, unless its process died; a paused sender runs it when it resumes. */
  private atSender(call: Call, fn: () => void): void {
    if (!call.from.isAlive) return;
    const host = this.host(call.from.url);
    if (host.isPaused) host.held.push(() => this.atSender(call, fn));
    else fn();
  }

  /**
   * Why a message from `from` cannot arrive at `to` now, or undefined when it can. A message
   * for a paused host waits (`retry` runs when it resumes) and is reported as held.
   */
  private blocked(from: string, to: string, retry: () => void): string | undefined {
    if (!this.canReach(from, to)) return 'lost: partitioned';
    const host = this.hosts.get(to);
    if (!host) return 'lost: no such host';
    if (host.isPaused) {
      host.held.push(retry);
      return `held: ${this.nameOf(to)} is paused`;
    }
    return undefined;
  }

  private releaseHeld(host: HostState): void {
    const held = host.held.splice(0);
    for (const fn of held) fn();
  }

  private host(url: string): HostState {
    let h = this.hosts.get(url);
    if (!h) this.hosts.set(url, (h = { isPaused: false, held: [] }));
    return h;
  }

  private delay(): number {
    const { minDelayMs, maxDelayMs } = this.faults;
    return minDelayMs + this.prng.int(Math.max(0, maxDelayMs - minDelayMs) + 1);
  }

  private label(call: Call, isCopy: boolean): string {
    return `#${call.id}${isCopy ? ' (dup)' : ''} ${describeRequest(call.req)}`;
  }

  private log(from: string, to: string, kind: string, fate: string, isRoutine = false): void {
    const e: TraceEvent = { at: this.clock.now(), from: this.nameOf(from), to: this.nameOf(to), kind, fate };
    if (isRoutine) e.isRoutine = true;
    this.trace(e);
  }
}

function withDefaults(f: NetworkFaults): Required<NetworkFaults> {
  return { drop: 0, dup: 0, minDelayMs: 0, maxDelayMs: 50, timeoutMs: 1_000, ...definedOnly(f) };
}

function definedOnly(f: NetworkFaults): NetworkFaults {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined));
}

/** Hosts share nothing: each gets its own copy, as if it had come over HTTP as JSON. */
function copy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function describeRequest(req: PeerRequest): string {
  const kind: string = req.kind; // kinds added later show by name
  switch (req.kind) {
    case 'hello':
      return 'hello';
    case 'offer':
      return `offer ${req.run}`;
    case 'take':
      return `take ${req.record.ref.run}`;
    case 'lock':
      return `lock ${req.tag} for ${req.run}`;
    case 'unlock':
      return `unlock ${req.tag} for ${req.run}`;
    case 'granted':
      return `granted ${req.tag} to ${req.run}`;
    default:
      return kind;
  }
}

function describeReply(reply: PeerReply): string {
  switch (reply.kind) {
    case 'offer':
      return reply.accept ? ' accept' : ` refuse (${reply.reason})`;
    case 'lock':
      return reply.state === 'queued' ? ` queued #${reply.position} behind ${reply.holder}` : ` ${reply.state}`;
    case 'refused':
      return ` refused (${reply.reason})`;
    case 'error':
      return ` error (${reply.message})`;
    default:
      return '';
  }
}
