import { PROTOCOL_VERSION, type HostHello, type HostLoad, type PeerSeen } from './messages.js';

/** What this host knows of one peer listed in `common.hosts`. */
export interface PeerState {
  url: string;
  name?: string;
  boot?: string;
  version?: string;
  tags: string[];
  online: boolean;
  /** When this host last heard from it (its hello, or its reply to ours). */
  lastContact?: number;
  /** When it last went offline (or when this host started, if never heard). */
  offlineSince?: number;
  /** Why the two hosts will not work together; both sides log it and show it in GET /hosts. */
  refused?: string;
  load?: HostLoad;
  runs?: { pending: string[]; active: string[] };
  heldTags: string[];
  /** Its own view of the cluster, as its last hello said. */
  known: PeerSeen[];
  /** A client there follows live events, as its last hello said. */
  watching?: boolean;
  /** The digest of its flow versions, as its last hello said (absent from older hosts). */
  flowsKey?: string;
  /** It is shutting down, as its last hello said. */
  stopping?: boolean;
}

export interface MembershipOptions {
  selfUrl: string;
  selfName: string;
  /** `common.hosts` as configured (may include this host's own URL). */
  hosts: readonly string[];
  offlineAfterMs: number;
  now: number;
}

/** The outcome of hearing from a peer: what changed that placement must react to. */
export interface Heard {
  cameOnline: boolean;
  /** Its load, runs or held tags differ from what it said last. */
  changed: boolean;
  /** Set when the peer is refused now and was not before (log it once). */
  newlyRefused?: string;
  /** It restarted since we last heard (a new boot). */
  restarted: boolean;
}

/**
 * Who is in the cluster and who is online, as this host sees it. Pure: the hub feeds it hellos
 * and the clock, and asks it questions; no I/O.
 */
export class Membership {
  private readonly peers = new Map<string, PeerState>();
  readonly hostsKey: string;
  /** Configured hosts plus this one, sorted: the same list on every host that agrees on hostsKey. */
  readonly members: readonly string[];

  constructor(private readonly opts: MembershipOptions) {
    const hosts = [...new Set(opts.hosts)].sort();
    this.hostsKey = hosts.join(' ');
    this.members = [...new Set([...hosts, opts.selfUrl])].sort();
    for (const url of hosts) {
      if (url === opts.selfUrl) continue;
      this.peers.set(url, { url, tags: [], online: false, offlineSince: opts.now, heldTags: [], known: [] });
    }
  }

  get selfUrl(): string {
    return this.opts.selfUrl;
  }

  peerUrls(): string[] {
    return [...this.peers.keys()];
  }

  list(): PeerState[] {
    return [...this.peers.values()];
  }

  get(url: string): PeerState | undefined {
    return this.peers.get(url);
  }

  isOnline(url: string): boolean {
    if (url === this.opts.selfUrl) return true;
    const p = this.peers.get(url);
    return !!p && p.online && !p.refused;
  }

  /** This host and every online, accepted peer, sorted: timer owners are picked over these. */
  onlineMembers(): string[] {
    return this.members.filter((m) => this.isOnline(m));
  }

  /** Why this host refuses a peer that sent `hello`, or undefined when it may join. */
  refusal(hello: HostHello): string | undefined {
    const { selfName, selfUrl } = this.opts;
    if (hello.protocol !== PROTOCOL_VERSION)
      return `${hello.name} speaks cluster protocol ${hello.protocol}, ${selfName} speaks ${PROTOCOL_VERSION}`;
    if (hello.url === selfUrl && hello.name !== selfName) return `${hello.name} claims this host's URL ${selfUrl}`;
    if (!this.peers.has(hello.url)) return `${hello.name} at ${hello.url} is not in common.hosts of ${selfName}`;
    if (hello.name === selfName) return `${hello.url} has the same host name ${selfName} as this host (${selfUrl})`;
    for (const p of this.peers.values()) {
      if (p.url !== hello.url && p.name === hello.name && p.online && !p.refused)
        return `host name ${hello.name} is used by both ${p.url} and ${hello.url}`;
    }
    if (hello.hostsKey !== this.hostsKey)
      return `common.hosts differ: ${hello.name} has [${hello.hostsKey.split(' ').join(', ')}], ${selfName} has [${this.hostsKey.split(' ').join(', ')}]`;
    return undefined;
  }

  /** Record a hello from (or a reply by) the peer at `hello.url`. */
  heard(hello: HostHello, now: number): Heard {
    const p = this.peers.get(hello.url);
    if (!p) return { cameOnline: false, changed: false, restarted: false };
    const refused = this.refusal(hello);
    const newlyRefused = refused && refused !== p.refused ? refused : undefined;
    const wasOnline = p.online && !p.refused;
    const restarted = p.boot !== undefined && p.boot !== hello.boot;
    const changed =
      !sameLoad(p.load, hello.load) ||
      !sameList(p.heldTags, hello.heldTags) ||
      !sameList(p.runs?.active ?? [], hello.runs.active) ||
      !sameList(p.tags, hello.tags);
    Object.assign(p, {
      name: hello.name,
      boot: hello.boot,
      version: hello.version,
      tags: hello.tags,
      load: hello.load,
      runs: hello.runs,
      heldTags: hello.heldTags,
      known: hello.known,
      watching: hello.watching ?? false,
      flowsKey: hello.flowsKey,
      stopping: hello.stopping ?? false,
      lastContact: now,
      online: true,
      offlineSince: undefined,
      refused,
    });
    return { cameOnline: !refused && !wasOnline, changed, newlyRefused, restarted };
  }

  /** The peer answered our hello with a refusal: it will not work with us, and says why. */
  refusedBy(url: string, reason: string, now: number): string | undefined {
    const p = this.peers.get(url);
    if (!p) return undefined;
    p.lastContact = now;
    const fresh = p.refused !== reason ? reason : undefined;
    p.refused = reason;
    return fresh;
  }

  /** Marks peers silent for too long offline; returns the URLs that just went offline. */
  expire(now: number): string[] {
    const gone: string[] = [];
    for (const p of this.peers.values()) {
      if (!p.online) continue;
      if (p.lastContact === undefined || now - p.lastContact >= this.opts.offlineAfterMs) {
        p.online = false;
        p.offlineSince = now;
        gone.push(p.url);
      }
    }
    return gone;
  }

  /** What this host tells others it knows. */
  seen(): PeerSeen[] {
    return this.list().map((p) => ({ url: p.url, name: p.name, online: p.online && !p.refused, lastContact: p.lastContact }));
  }

  /** A short name for a member URL: the host's name once heard from, else the URL. */
  nameOf(url: string): string {
    if (url === this.opts.selfUrl) return this.opts.selfName;
    return this.peers.get(url)?.name ?? url;
  }

  /** The URL of the host called `name`, if known. */
  urlOf(name: string): string | undefined {
    if (name === this.opts.selfName) return this.opts.selfUrl;
    for (const p of this.peers.values()) if (p.name === name && !p.refused) return p.url;
    return undefined;
  }
}

function sameLoad(a: HostLoad | undefined, b: HostLoad): boolean {
  return !!a && a.active === b.active && a.pending === b.pending && a.maxRuns === b.maxRuns;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
