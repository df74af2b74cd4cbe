import { STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { Counter } from 'prom-client';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { SubscribeFilter } from '../hub/hub.js';
import type { PublishedEvent } from '../model/events.js';
import type { ApiDeps } from './api.js';
import { EventFrames, plainDeflateOffers, takesSharedDeflate } from './event-frames.js';
import { clientKey } from './login-limits.js';
import type { Session } from './auth.js';
import { AUTH_HEADER, checkToken, requestToken } from './request-token.js';
import { isUnderBase } from './route-access.js';
import { CROSS_ORIGIN_REFUSED, isCrossOrigin } from './same-origin.js';
import { TickCork } from './tick-cork.js';
import { TokenBucket } from './token-bucket.js';

/*
 * The event stream at `<base-url>/ws` and `/ws` (issue 4). JSON text frames.
 *
 * Authentication, at the upgrade: the `X-Floe-Auth` header, the `floe-sesh` cookie, or (for
 * browsers, which cannot set headers on a websocket) the subprotocol `floe-token.<token>`.
 * The server selects `floe` when the client offers it too (so the 101 answer, and any proxy's
 * log of it, carries no token), else echoes the token protocol, the only one offered. Without
 * a good token the upgrade is answered
 * `401 {"message":"missing session"|"invalid session","payload":null}`; by the
 * cookie from a page of another host:port (its Origin), `403` (same-origin.ts); past 16 open
 * sockets for its token or 64 for its address, `429`. When the
 * session ends (logout, expiry) the socket is closed with 1008 at the next event or heartbeat.
 *
 * server -> client
 *   {"type":"hello","lastSeq":N}                   on connect; the client hears every event
 *                                                   until it subscribes
 *   {"type":"event","event":<PublishedEvent>}      one per matching hub event, in seq order; the
 *                                                   events of runs on other hosts too, forwarded
 *                                                   while a client is connected here, numbered here
 *                                                   and named by their `host` (issue 8). Output is
 *                                                   an event per node and stream per turn of the
 *                                                   loop (hub/output-batches.ts), so a flood costs
 *                                                   a client a frame per pipe read, not per line
 *   {"type":"subscribed","flow"?:id,"run"?:id,"since"?:S,"lastSeq":N,"replayed":K}
 *                                                   answers a subscribe; it is followed by the K
 *                                                   replayed events with S < seq <= N, then live
 *                                                   events with seq > N: no gap, no duplicate.
 *                                                   Events before it belong to the old subscription
 *                                                   (one still on its way out is not sent: live
 *                                                   events go out in slices that yield the loop).
 *   {"type":"resync","lastSeq":N}                  answers a subscribe whose `since` is older than
 *                                                   the kept history, or newer than N (the host
 *                                                   restarted): nothing more is sent; reload state
 *                                                   over HTTP, then subscribe with since = N.
 *   {"type":"error","message":"..."}               a malformed client frame, an unknown flow, or
 *                                                   a subscribe over the rate (below); the
 *                                                   subscription and the socket stay as they were
 *
 * client -> server
 *   {"type":"subscribe","flow"?:id,"run"?:id,"since"?:S}
 *                                                   replaces the subscription: one flow, one run
 *                                                   (both: that run of that flow), or neither for
 *                                                   everything; with `since`, first replays what
 *                                                   was published after seq S.
 *
 * A client may subscribe 10 times at once, then twice a second (a token bucket per client). A
 * subscribe over that is answered `{"type":"error","message":"too many subscribes: ..."}` and
 * ignored, not closed: a page that resubscribes on every click recovers by itself, and a flood
 * costs the host one small answer per frame, which the backlog bound below caps.
 *
 * No client can make the host work out of proportion to what it reads (review: a viewer that
 * never read froze the host by asking for 10,000 replayed events 600 times). Each event is
 * encoded once for all clients that hear it live and at most once more for all that replay it.
 * A replay goes out in slices that yield the loop, and before each event (replayed or live) the
 * socket must be open and its backlog within 4 MiB, else the client is dropped before the event
 * costs anything.
 *
 * Close codes: 1001 the host is shutting down; 1008 the session ended; 1009 a frame over
 * 64 KiB; 4008 too slow: the client fell more than 4 MiB behind, or its replay fell behind
 * the kept history. On 4008 (or any abnormal close) reconnect and subscribe with since = the
 * seq of the last event you got.
 */

/** Close code for a client whose backlog passed MAX_BACKLOG_BYTES. */
export const CLOSE_TOO_SLOW = 4008;
/** Close code for a client whose session was logged out or expired. */
export const CLOSE_SESSION_ENDED = 1008;
/** Close code sent to every client when the host shuts down. */
export const CLOSE_GOING_AWAY = 1001;

/** Subprotocol prefix carrying a token: `floe-token.<token>`. */
export const TOKEN_PROTOCOL = 'floe-token.';
/** Subprotocol the server selects, when offered, instead of echoing the token. */
export const FLOE_PROTOCOL = 'floe';

/** Bytes a client may have waiting to be sent before it is dropped as too slow. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
/** A socket holding this much unsent writes on rather than staying corked for the rest of the tick. */
const CORK_MAX_BYTES = 256 * 1024;
/**
 * Sockets are released at most this often (TickCork): in a flood, one writev per socket per 10 ms
 * rather than one per event, each of which on loopback also does the reader's side of the work
 * (issue 10; figures in docs/performance.md). A quiet host's event still leaves at the end of its tick.
 */
const CORK_PACE_MS = 10;
/** Largest client frame; subscribe frames are tiny. */
const MAX_CLIENT_FRAME = 64 * 1024;
/** Ping period; a client that has not answered the previous ping by the next is terminated. */
const HEARTBEAT_MS = 30_000;
/** On close(), how long clients get to answer the close frame before they are cut off. */
const CLOSE_GRACE_MS = 1_000;
/** Subscribe frames a client may send at once; then SUBSCRIBES_PER_SEC. */
const SUBSCRIBE_BURST = 10;
const SUBSCRIBES_PER_SEC = 2;
/** A replay sends at most this many events, or about this many bytes, before it yields the loop. */
const REPLAY_SLICE_EVENTS = 256;
const REPLAY_SLICE_BYTES = 1024 * 1024;
/** Live fan-out sends for about this long, then yields the loop (issue 10: an API call waited behind 400 sends). */
const FANOUT_SLICE_MS = 4;
/** Frame bytes still to send past which the fan-out sends on without yielding, so it cannot fall behind the hub. */
const FANOUT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
const TOO_SLOW_REASON = 'too slow: resubscribe with since';
/** Open sockets per token and per client address (IPv6 by /64): each may pin MAX_BACKLOG_BYTES. */
const MAX_SOCKETS_PER_TOKEN = 16;
const MAX_SOCKETS_PER_ADDRESS = 64;

export interface WebsocketOptions {
  /** Epoch ms for the subscribe rate; default Date.now. */
  now?: () => number;
  /** ms a slice of live fan-out may send for before it yields the loop; default FANOUT_SLICE_MS. */
  fanoutSliceMs?: number;
  /** Sockets are released at most this often; default CORK_PACE_MS (0: at the end of every tick). */
  corkPaceMs?: number;
}

export interface WebsocketHub {
  /** Closes every client with 1001 and stops listening to the hub. */
  close(): Promise<void>;
}

interface Client {
  ws: WebSocket;
  /** The token the client authenticated with; its session is checked to still hold before each event. */
  token: string;
  /** `Auth.revision` when the token was last looked up, and when its session expires: see `sessionHolds`. */
  checkedAt: number;
  expires: number;
  /** What the client hears; null after a resync until it subscribes again. */
  filter: SubscribeFilter | null;
  /** Answered the last ping. */
  alive: boolean;
  /** Subscribe frames it may send now. */
  subscribes: TokenBucket;
  /** The replay under way; live events wait for it to catch up. */
  replay?: Replay;
  /** Live delivery sends only events after this seq: the last one sent, or the `lastSeq` of the hello, subscribed or finished replay. */
  liveAfter: number;
  /** It negotiated permessage-deflate as the shared compressed frames need (event-frames.ts). */
  deflate: boolean;
  /** The TCP socket under it, which event frames are written to as they are (ws never changes it). */
  socket: Duplex | undefined;
}

/** A live event on its way to the clients connected when it was published; `to[next]` is next. */
interface Fanout {
  e: PublishedEvent;
  frames: EventFrames;
  to: Client[];
  next: number;
}

/** Where a replay is: `events[next]` goes next; after the last, what came after `through`. */
interface Replay {
  filter: SubscribeFilter;
  events: PublishedEvent[];
  next: number;
  through: number;
}

interface SubscribeFrame {
  type: 'subscribe';
  flow?: string;
  run?: string;
  since?: number;
}

/** The paths the event stream answers at, as sent: exact and case-sensitive, like the router's. */
export function websocketPaths(base: string): string[] {
  return [`${base}/ws`, '/ws'];
}

/** Serves the event stream at `<base-url>/ws` (and `/ws`) on each server, over `deps.hub`. */
export function attachWebsocket(servers: HttpServer[], deps: ApiDeps, opts: WebsocketOptions = {}): WebsocketHub {
  const now = opts.now ?? Date.now;
  const base = deps.config.common.baseUrl.replace(/\/+$/, '');
  const paths = new Set(websocketPaths(base));
  const clients = new Set<Client>();
  // Open sockets by token and by address key, counted from the accepted upgrade until its TCP
  // socket closes: so a failed handshake, a drop and a clean close all give the slot back.
  const byToken = new Map<string, number>();
  const byAddress = new Map<string, number>();
  const dropped = new Counter({
    name: 'floe_websocket_dropped_total',
    help: 'Websocket clients the host closed: too slow (4008), session ended (1008), no pong',
    labelNames: ['reason'],
    registers: [deps.metrics.registry],
  });
  const encoded = new Counter({
    name: 'floe_websocket_events_encoded_total',
    help: 'Events encoded as websocket frames: once for all clients hearing it live, at most once more for all replaying it',
    registers: [deps.metrics.registry],
  });
  // The frame of each replayed event, beside it: weakly, so it goes when the hub's ring lets go of
  // the event. Replays used to encode afresh per client and per subscribe, which let one viewer
  // keep the loop busy for minutes; the ring counts each event at no less than its JSON's encoded
  // size, so these frames stay within twice its byte cap (a plain and a deflated one each) on top
  // of the events themselves. A live event's frame lives only as long as its fan-out: kept for
  // every event of the ring as well, frames held a host 8 MB up after 10,000 runs (small frames
  // pin 8 KiB pool slabs), for replays that are rare.
  const frames = new WeakMap<PublishedEvent, EventFrames>();
  let closing = false;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME,
    // Granted to clients that offer it, with a fresh context per message, so that one compressed
    // frame per event serves every such client (event-frames.ts). ws itself never compresses
    // (threshold): its compression is per socket, and asynchronous, which would reorder our
    // frames, written to the socket directly.
    perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: Number.POSITIVE_INFINITY },
    clientTracking: false,
    // The answer must be one of the offered protocols; `floe` keeps the token out of it.
    handleProtocols: (offered) =>
      offered.has(FLOE_PROTOCOL) ? FLOE_PROTOCOL : ([...offered].find((p) => p.startsWith(TOKEN_PROTOCOL)) ?? false),
  });

  // Runs outside koa, straight from the http server's 'upgrade' event: a throw here would be
  // an uncaught exception and end the host (issue 7), so every throw becomes a refusal.
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => {});
    let upgraded = false;
    try {
      // The path as sent, like koa's ctx.path: no dot segments resolved, nothing decoded, so
      // the websocket's path rule is the router's (exact, case-sensitive).
      const path = requestPath(req.url);
      const isWs = paths.has(path);
      if (!isWs && !isUnderBase(path, base)) return refuse(socket, 404, `no route ${req.method ?? 'GET'} ${path}`);
      if (closing) return refuse(socket, 503, 'host is shutting down');
      const { token, byCookie } = upgradeToken(req.headers);
      // A page of another port or subdomain gets the cookie from the browser, and a websocket
      // has no preflight: it would read every event. A header or subprotocol token it cannot have.
      if (byCookie && isCrossOrigin(req.method ?? 'GET', req.headers)) return refuse(socket, 403, CROSS_ORIGIN_REFUSED);
      // Before the check, as in sessionHolds.
      const checkedAt = deps.auth.revision;
      const checked = checkToken(deps.auth, token);
      // Token guesses here count and wait as they do over HTTP (issue 7); a live session is served.
      const client = deps.clientAddress(req);
      const refusal = deps.limits.tokenRefusal(client, token, checked);
      if (refusal) return refuse(socket, 429, refusal.message);
      if ('error' in checked) return refuse(socket, 401, checked.error);
      if (!isWs) return refuse(socket, 404, `no route ${req.method ?? 'GET'} ${path}`);
      const sessionToken = checked.session.token;
      const address = clientKey(client);
      if ((byToken.get(sessionToken) ?? 0) >= MAX_SOCKETS_PER_TOKEN)
        return refuse(socket, 429, `too many websockets for this session (${MAX_SOCKETS_PER_TOKEN} open)`);
      if ((byAddress.get(address) ?? 0) >= MAX_SOCKETS_PER_ADDRESS)
        return refuse(socket, 429, `too many websockets from this address (${MAX_SOCKETS_PER_ADDRESS} open)`);
      // Gone already: its 'close' may have fired, and would never give the slot back.
      if (socket.destroyed) return;
      hold(byToken, sessionToken);
      hold(byAddress, address);
      socket.once('close', () => {
        release(byToken, sessionToken);
        release(byAddress, address);
      });
      upgraded = true;
      const offers = req.headers['sec-websocket-extensions'];
      if (offers !== undefined && !plainDeflateOffers(offers)) delete req.headers['sec-websocket-extensions'];
      wss.handleUpgrade(req, socket, head, (ws) => connect(ws, checked.session, checkedAt, client, req));
    } catch (err) {
      // Neither headers nor the url go to the log: they may carry a token.
      deps.log.error({ err, remote: req.socket.remoteAddress, client: safeClientAddress(req) }, 'websocket upgrade failed');
      if (upgraded) socket.destroy();
      else refuse(socket, 500, 'internal error');
    }
  };

  /** For the log of a failure, which must not fail itself. */
  const safeClientAddress = (req: IncomingMessage): string | undefined => {
    try {
      return deps.clientAddress(req);
    } catch {
      return undefined;
    }
  };

  const connect = (ws: WebSocket, session: Session, checkedAt: number, client: string | undefined, req: IncomingMessage): void => {
    const c: Client = {
      ws,
      token: session.token,
      checkedAt,
      expires: session.expires,
      filter: {},
      alive: true,
      subscribes: new TokenBucket(SUBSCRIBE_BURST, SUBSCRIBES_PER_SEC, now),
      liveAfter: deps.hub.lastSeq(),
      deflate: takesSharedDeflate(deflateParams(ws)),
      socket: socketOf(ws),
    };
    clients.add(c);
    deps.metrics.wsClients.inc();
    // While any client is connected, peers forward their runs' events here (issue 8).
    const unwatch = deps.hub.watch();
    ws.on('pong', () => (c.alive = true));
    ws.on('error', (err) => deps.log.debug({ err, remote: req.socket.remoteAddress, client }, 'websocket error'));
    ws.on('close', () => {
      c.replay = undefined;
      clients.delete(c);
      deps.metrics.wsClients.dec();
      unwatch();
    });
    ws.on('message', (data, isBinary) => {
      // ws reads on until the client answers our close: frames after a drop are not answered.
      if (ws.readyState !== WebSocket.OPEN) return;
      const frame = isBinary ? { error: 'binary frames are not supported: send JSON text frames' } : parseClientFrame(textOf(data));
      if ('error' in frame) return sendControl(c, { type: 'error', message: frame.error });
      // Like onUpgrade, this runs outside koa: a throw must not reach the process.
      try {
        subscribe(c, frame);
      } catch (err) {
        deps.log.error({ err }, 'websocket subscribe failed');
        sendControl(c, { type: 'error', message: 'internal error' });
      }
    });
    if (closing) return void ws.close(CLOSE_GOING_AWAY, 'host shutting down');
    sendControl(c, { type: 'hello', lastSeq: deps.hub.lastSeq() });
  };

  const subscribe = (c: Client, req: SubscribeFrame): void => {
    const waitMs = c.subscribes.take();
    if (waitMs > 0) {
      const message = `too many subscribes: ${SUBSCRIBE_BURST} at once, then ${SUBSCRIBES_PER_SEC} a second; this one was ignored, try again in ${waitMs} ms`;
      return sendControl(c, { type: 'error', message });
    }
    if (req.flow !== undefined && !deps.hub.findFlow(req.flow))
      return sendControl(c, { type: 'error', message: `no flow ${JSON.stringify(req.flow)}` });
    const filter: SubscribeFilter = {};
    if (req.flow !== undefined) filter.flow = req.flow;
    if (req.run !== undefined) filter.run = req.run;
    const lastSeq = deps.hub.lastSeq();
    c.replay = undefined;
    // Events still in the fan-out belong to the old subscription, or come in the replay.
    c.liveAfter = lastSeq;
    let replay: PublishedEvent[] = [];
    if (req.since !== undefined) {
      const missed = deps.hub.eventsSince(req.since);
      if (!missed) {
        c.filter = null;
        return sendControl(c, { type: 'resync', lastSeq });
      }
      replay = missed.filter((e) => matches(e, filter));
    }
    c.filter = filter;
    sendControl(c, {
      type: 'subscribed',
      ...filter,
      ...(req.since !== undefined && { since: req.since }),
      lastSeq,
      replayed: replay.length,
    });
    if (replay.length === 0) return;
    // Until the replay catches up, live events reach this client through it, in order: the hub
    // publishes from its own ticks, never inside a slice, so none falls between.
    c.replay = { filter, events: replay, next: 0, through: lastSeq };
    sendReplay(c, c.replay);
  };

  /** Sends one slice of a replay and schedules the next; hands the client to live delivery once caught up. */
  const sendReplay = (c: Client, r: Replay): void => {
    if (c.replay !== r) return;
    let sent = 0;
    let bytes = 0;
    while (sent < REPLAY_SLICE_EVENTS && bytes < REPLAY_SLICE_BYTES) {
      const next = r.events[r.next];
      if (next === undefined) {
        const lastSeq = deps.hub.lastSeq();
        if (r.through === lastSeq) {
          c.replay = undefined;
          c.liveAfter = lastSeq;
          return;
        }
        // Published while the replay ran; gone from the ring when the client is that far behind.
        const more = deps.hub.eventsSince(r.through);
        if (!more) return drop(c, CLOSE_TOO_SLOW, TOO_SLOW_REASON, 'too-slow');
        [r.events, r.next, r.through] = [more.filter((e) => matches(e, r.filter)), 0, lastSeq];
        continue;
      }
      r.next++;
      const n = deliver(c, next);
      if (n < 0) {
        c.replay = undefined;
        return;
      }
      sent++;
      bytes += n;
    }
    setImmediate(() => {
      // Outside the message handler's try: a throw here would end the host.
      try {
        sendReplay(c, r);
      } catch (err) {
        deps.log.error({ err }, 'websocket replay failed');
        c.replay = undefined;
        c.ws.terminate();
      }
    });
  };

  /**
   * Sends one event unless the socket is not open, the session ended or the client fell too far
   * behind (then it is dropped); answers the event's bytes (its JSON, however it went on the
   * wire: a replay slice is bounded by the work of encoding, not by the compressed size), or -1.
   * All checked before the event is encoded, so a client that cannot take it costs nothing.
   */
  const deliver = (c: Client, e: PublishedEvent, live?: EventFrames): number => {
    if (c.ws.readyState !== WebSocket.OPEN) return -1;
    if (!sessionHolds(c)) {
      drop(c, CLOSE_SESSION_ENDED, 'session ended', 'session-ended');
      return -1;
    }
    // The socket's own buffer is the queue; past the bound the client is dropped rather than
    // letting the hub's memory (or its loop) pay for a reader that does not keep up.
    if (c.ws.bufferedAmount > MAX_BACKLOG_BYTES) {
      drop(c, CLOSE_TOO_SLOW, TOO_SLOW_REASON, 'too-slow');
      return -1;
    }
    const f = live ?? replayFramesOf(e);
    const socket = c.socket;
    if (!socket) {
      c.ws.send(f.payload, { binary: false, compress: false });
      return f.bytes;
    }
    // The frame as it goes on the wire, the same bytes for every client; ws's own sender is
    // idle, as it compresses nothing, so nothing of its can come between.
    const frame = c.deflate ? f.deflated() : f.plain();
    cork.hold(socket);
    socket.write(frame);
    cork.wrote(socket);
    return f.bytes;
  };

  /** The client's session is still live: looked up again only once one has ended or it is due to expire. */
  const sessionHolds = (c: Client): boolean => {
    if (deps.auth.unchangedSince(c.checkedAt, c.expires)) return true;
    // Taken before the check: a session ending after it moves the revision, so is seen next time.
    const checkedAt = deps.auth.revision;
    const checked = deps.auth.check(c.token);
    if ('error' in checked) return false;
    c.checkedAt = checkedAt;
    c.expires = checked.session.expires;
    return true;
  };

  const cork = new TickCork(CORK_MAX_BYTES, (err) => deps.log.debug({ err }, 'websocket uncork failed'), {
    paceMs: opts.corkPaceMs ?? CORK_PACE_MS,
  });

  const encode = (e: PublishedEvent): EventFrames => {
    encoded.inc();
    return new EventFrames(JSON.stringify({ type: 'event', event: e }));
  };

  const replayFramesOf = (e: PublishedEvent): EventFrames => {
    let f = frames.get(e);
    if (!f) frames.set(e, (f = encode(e)));
    return f;
  };

  /** Sends a control frame; past the backlog bound the client is dropped instead, so a flood of frames cannot pile answers up in the host. */
  const sendControl = (c: Client, frame: object): void => {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    if (c.ws.bufferedAmount > MAX_BACKLOG_BYTES) return drop(c, CLOSE_TOO_SLOW, TOO_SLOW_REASON, 'too-slow');
    c.ws.send(JSON.stringify(frame), { compress: false });
  };

  const drop = (c: Client, code: number, reason: string, metric: 'too-slow' | 'session-ended'): void => {
    c.filter = null;
    c.replay = undefined;
    dropped.inc({ reason: metric });
    deps.log.debug({ code, reason, backlog: c.ws.bufferedAmount }, 'websocket client dropped');
    // The close frame queues behind the backlog; a client that never reads it is cut off,
    // backlog and all, by ws's close timeout (30 s).
    c.ws.close(code, reason);
  };

  // Live events go out in slices of about sliceMs that yield the loop (issue 10): an event of a
  // flood is a 64 KiB frame, and the 4 pipe reads of one turn made 400 sends, which a GET /health
  // waited behind. Each client still gets its events in seq order, and each event is checked
  // against the client's backlog just before its send, so the 4008 drop is as it was. Should the
  // sends fall FANOUT_MAX_QUEUED_BYTES behind, a slice goes on until they are within it again, so
  // the queue (which holds events the ring may have let go) stays bounded.
  const sliceMs = opts.fanoutSliceMs ?? FANOUT_SLICE_MS;
  const fanouts: Fanout[] = [];
  let queuedBytes = 0;
  let pumpQueued = false;

  const pumpFanout = (): void => {
    const start = performance.now();
    while (fanouts.length > 0) {
      const f = fanouts[0]!;
      while (f.next < f.to.length) {
        const c = f.to[f.next++]!;
        queuedBytes -= f.frames.bytes;
        // A replaying client gets this event from its replay, once it gets there.
        if (!c.filter || c.replay || f.e.seq <= c.liveAfter || !matches(f.e, c.filter)) continue;
        c.liveAfter = f.e.seq;
        deliver(c, f.e, f.frames);
        if (queuedBytes <= FANOUT_MAX_QUEUED_BYTES && performance.now() - start >= sliceMs) {
          if (f.next === f.to.length) fanouts.shift();
          if (fanouts.length > 0) queuePump();
          return;
        }
      }
      fanouts.shift();
    }
  };

  /** One slice, from the hub's publish or a later turn; a throw in a deferred one would end the host. */
  const pumpSafely = (): void => {
    try {
      pumpFanout();
    } catch (err) {
      deps.log.error({ err }, 'websocket fan-out failed');
      // Clients still owed an event would have a gap: they are dropped, and catch up with `since`.
      const owed = new Set(fanouts.flatMap((f) => f.to.slice(f.next)));
      fanouts.length = 0;
      queuedBytes = 0;
      for (const c of owed) if (c.filter) drop(c, CLOSE_TOO_SLOW, TOO_SLOW_REASON, 'too-slow');
    }
  };

  const queuePump = (): void => {
    if (pumpQueued) return;
    pumpQueued = true;
    setImmediate(() => {
      pumpQueued = false;
      pumpSafely();
    });
  };

  const unsubscribe = deps.hub.subscribe((e) => {
    const to: Client[] = [];
    for (const c of clients) if (c.filter && !c.replay && matches(e, c.filter)) to.push(c);
    if (to.length === 0) return;
    const f: Fanout = { e, frames: encode(e), to, next: 0 };
    fanouts.push(f);
    queuedBytes += f.frames.bytes * f.to.length;
    // The first slice runs at once, as the sends did before: a quiet host delivers within the turn.
    if (fanouts.length === 1 && !pumpQueued) pumpSafely();
    else queuePump();
  });

  const heartbeat = setInterval(() => {
    for (const c of clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      if (!c.alive) {
        dropped.inc({ reason: 'no-pong' });
        c.ws.terminate();
        continue;
      }
      if (!sessionHolds(c)) {
        drop(c, CLOSE_SESSION_ENDED, 'session ended', 'session-ended');
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  for (const s of servers) s.on('upgrade', onUpgrade);

  return {
    close: async () => {
      if (closing) return;
      closing = true;
      clearInterval(heartbeat);
      unsubscribe();
      fanouts.length = 0;
      queuedBytes = 0;
      for (const s of servers) s.off('upgrade', onUpgrade);
      await Promise.all([...clients].map((c) => goAway(c.ws)));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Closes with 1001; a client that does not answer within the grace is cut off. */
function goAway(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(CLOSE_GOING_AWAY, 'host shutting down');
  });
}

/** The path of a request target as sent (origin form, or the path of an absolute URL). */
function requestPath(url: string | undefined): string {
  const target = url ?? '/';
  if (target.startsWith('/')) return target.replace(/[?#].*$/s, '');
  try {
    return new URL(target).pathname;
  } catch {
    return target;
  }
}

/**
 * The token of an upgrade request: header, then subprotocol, then cookie (null: a cookie that
 * does not decode); `byCookie` when it is the cookie's.
 */
function upgradeToken(headers: IncomingMessage['headers']): { token: string | null | undefined; byCookie: boolean } {
  const header = headers[AUTH_HEADER];
  if (typeof header === 'string' && header !== '') return { token: header, byCookie: false };
  const offered = String(headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith(TOKEN_PROTOCOL));
  if (offered && offered.length > TOKEN_PROTOCOL.length) return { token: offered.slice(TOKEN_PROTOCOL.length), byCookie: false };
  const token = requestToken(headers);
  return { token, byCookie: token !== undefined };
}

function hold(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Deletes the key at zero, so the maps hold only keys with an open socket. */
function release(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

/** Answers an upgrade with a plain HTTP error in the API's envelope and drops the socket. */
function refuse(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ message, payload: null });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Same rule as the hub's own subscriber filter. */
function matches(e: PublishedEvent, f: SubscribeFilter): boolean {
  if (f.run === undefined && f.flow === undefined) return true;
  const ref = 'ref' in e ? e.ref : undefined;
  if (f.run !== undefined && f.run !== ref?.run) return false;
  const flowId = ref ? ref.flowRef.id : e.kind === 'trigger' ? e.flowRef.id : undefined;
  return f.flow === undefined || f.flow === flowId;
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

const SUBSCRIBE_FIELDS = new Set(['type', 'flow', 'run', 'since']);

/** Narrows a client frame; says what was wrong otherwise. */
export function parseClientFrame(text: string): SubscribeFrame | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { error: `frame is not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { error: 'frame must be a JSON object, e.g. {"type":"subscribe"}' };
  const o = raw as Record<string, unknown>;
  if (o.type !== 'subscribe') {
    return {
      error:
        o.type === undefined
          ? 'frame has no type; expected "subscribe"'
          : `unknown frame type ${JSON.stringify(o.type)}; expected "subscribe"`,
    };
  }
  const unknown = Object.keys(o).filter((k) => !SUBSCRIBE_FIELDS.has(k));
  if (unknown.length > 0)
    return {
      error: `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} in subscribe; expected flow, run, since`,
    };
  const out: SubscribeFrame = { type: 'subscribe' };
  for (const key of ['flow', 'run'] as const) {
    const v = o[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || v === '') return { error: `${key} must be a non-empty string (a ${key} id), got ${JSON.stringify(v)}` };
    out[key] = v;
  }
  if (o.since !== undefined && o.since !== null) {
    if (typeof o.since !== 'number' || !Number.isSafeInteger(o.since) || o.since < 0) {
      return { error: `since must be a non-negative integer (the seq of the last event you got), got ${JSON.stringify(o.since)}` };
    }
    out.since = o.since;
  }
  return out;
}

/** The permessage-deflate parameters ws accepted for a client, if any: ws keeps them on `_extensions` (pinned ws 8.x). */
function deflateParams(ws: WebSocket): unknown {
  const extensions: unknown = (ws as unknown as { _extensions?: unknown })._extensions;
  if (extensions === null || typeof extensions !== 'object') return undefined;
  const deflate: unknown = (extensions as Record<string, unknown>)['permessage-deflate'];
  return deflate !== null && typeof deflate === 'object' && 'params' in deflate ? deflate.params : undefined;
}

/** The TCP socket under a websocket: ws keeps it as `_socket` (pinned ws 8.x) and has no cork of its own. */
function socketOf(ws: WebSocket): Duplex | undefined {
  const socket: unknown = (ws as unknown as { _socket?: unknown })._socket;
  return socket !== null && typeof socket === 'object' && 'cork' in socket && 'uncork' in socket ? (socket as Duplex) : undefined;
}
