import { STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter } from 'prom-client';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { SubscribeFilter } from '../hub/hub.js';
import type { PublishedEvent } from '../model/events.js';
import type { ApiDeps } from './api.js';
import { AUTH_HEADER, checkToken, requestToken } from './app.js';
import { isUnderBase } from './route-access.js';

/*
 * The event stream at `<base-url>/ws` and `/ws` (issue 4). JSON text frames.
 *
 * Authentication, at the upgrade: the `X-Floe-Auth` header, the `floe-sesh` cookie, or (for
 * browsers, which cannot set headers on a websocket) the subprotocol `floe-token.<token>`,
 * which the server echoes back as the selected protocol. Without a good token the upgrade is
 * answered `401 {"message":"missing session"|"invalid session","payload":null}`. When the
 * session ends (logout, expiry) the socket is closed with 1008 at the next event or heartbeat.
 *
 * server -> client
 *   {"type":"hello","lastSeq":N}                   on connect; the client hears every event
 *                                                   until it subscribes
 *   {"type":"event","event":<PublishedEvent>}      one per matching hub event, in seq order
 *   {"type":"subscribed","flow"?:id,"run"?:id,"since"?:S,"lastSeq":N,"replayed":K}
 *                                                   answers a subscribe; it is followed by the K
 *                                                   replayed events with S < seq <= N, then live
 *                                                   events with seq > N: no gap, no duplicate.
 *                                                   Events before it belong to the old subscription.
 *   {"type":"resync","lastSeq":N}                  answers a subscribe whose `since` is older than
 *                                                   the kept history, or newer than N (the host
 *                                                   restarted): nothing more is sent; reload state
 *                                                   over HTTP, then subscribe with since = N.
 *   {"type":"error","message":"..."}               a malformed client frame, or an unknown flow;
 *                                                   the subscription and the socket stay as they were
 *
 * client -> server
 *   {"type":"subscribe","flow"?:id,"run"?:id,"since"?:S}
 *                                                   replaces the subscription: one flow, one run
 *                                                   (both: that run of that flow), or neither for
 *                                                   everything; with `since`, first replays what
 *                                                   was published after seq S.
 *
 * Close codes: 1001 the host is shutting down; 1008 the session ended; 1009 a frame over
 * 64 KiB; 4008 too slow: the client fell more than 4 MiB behind. On 4008 (or any abnormal
 * close) reconnect and subscribe with since = the seq of the last event you got.
 */

/** Close code for a client whose backlog passed MAX_BACKLOG_BYTES. */
export const CLOSE_TOO_SLOW = 4008;
/** Close code for a client whose session was logged out or expired. */
export const CLOSE_SESSION_ENDED = 1008;
/** Close code sent to every client when the host shuts down. */
export const CLOSE_GOING_AWAY = 1001;

/** Subprotocol prefix carrying a token: `floe-token.<token>`. */
export const TOKEN_PROTOCOL = 'floe-token.';

/** Bytes a client may have waiting to be sent before it is dropped as too slow. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
/** Largest client frame; subscribe frames are tiny. */
const MAX_CLIENT_FRAME = 64 * 1024;
/** Ping period; a client that has not answered the previous ping by the next is terminated. */
const HEARTBEAT_MS = 30_000;
/** On close(), how long clients get to answer the close frame before they are cut off. */
const CLOSE_GRACE_MS = 1_000;

export interface WebsocketHub {
  /** Closes every client with 1001 and stops listening to the hub. */
  close(): Promise<void>;
}

interface Client {
  ws: WebSocket;
  /** The token the client authenticated with, checked again before each event. */
  token: string;
  /** What the client hears; null after a resync until it subscribes again. */
  filter: SubscribeFilter | null;
  /** Answered the last ping. */
  alive: boolean;
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
export function attachWebsocket(servers: HttpServer[], deps: ApiDeps): WebsocketHub {
  const base = deps.config.common.baseUrl.replace(/\/+$/, '');
  const paths = new Set(websocketPaths(base));
  const clients = new Set<Client>();
  const dropped = new Counter({
    name: 'floe_websocket_dropped_total',
    help: 'Websocket clients the host closed: too slow (4008), session ended (1008), no pong',
    labelNames: ['reason'],
    registers: [deps.metrics.registry],
  });
  let closing = false;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (offered) => [...offered].find((p) => p.startsWith(TOKEN_PROTOCOL)) ?? false,
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
      // Token guesses here count and wait as they do over HTTP (issue 7).
      const token = upgradeToken(req.headers);
      const refusal = token === undefined ? undefined : deps.limits.tokenRefusal(req.socket.remoteAddress);
      if (refusal) return refuse(socket, 429, refusal.message);
      const checked = checkToken(deps.auth, token);
      if ('error' in checked) {
        if (token !== undefined) deps.limits.tokenFailed(req.socket.remoteAddress, token);
        return refuse(socket, 401, checked.error);
      }
      if (!isWs) return refuse(socket, 404, `no route ${req.method ?? 'GET'} ${path}`);
      upgraded = true;
      wss.handleUpgrade(req, socket, head, (ws) => connect(ws, checked.session.token, req));
    } catch (err) {
      // Neither headers nor the url go to the log: they may carry a token.
      deps.log.error({ err, remote: req.socket.remoteAddress }, 'websocket upgrade failed');
      if (upgraded) socket.destroy();
      else refuse(socket, 500, 'internal error');
    }
  };

  const connect = (ws: WebSocket, token: string, req: IncomingMessage): void => {
    const c: Client = { ws, token, filter: {}, alive: true };
    clients.add(c);
    deps.metrics.wsClients.inc();
    ws.on('pong', () => (c.alive = true));
    ws.on('error', (err) => deps.log.debug({ err, remote: req.socket.remoteAddress }, 'websocket error'));
    ws.on('close', () => {
      clients.delete(c);
      deps.metrics.wsClients.dec();
    });
    ws.on('message', (data, isBinary) => {
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

  // Replay and the switch of filter happen in one synchronous step: the hub publishes from
  // its own ticks, so no event can fall between the replay and live delivery.
  const subscribe = (c: Client, req: SubscribeFrame): void => {
    if (req.flow !== undefined && !deps.hub.findFlow(req.flow)) return sendControl(c, { type: 'error', message: `no flow ${JSON.stringify(req.flow)}` });
    const filter: SubscribeFilter = {};
    if (req.flow !== undefined) filter.flow = req.flow;
    if (req.run !== undefined) filter.run = req.run;
    const lastSeq = deps.hub.lastSeq();
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
    sendControl(c, { type: 'subscribed', ...filter, ...(req.since !== undefined && { since: req.since }), lastSeq, replayed: replay.length });
    for (const e of replay) deliver(c, encodeEvent(e));
  };

  /** Sends one event frame, unless the session ended or the client fell too far behind. */
  const deliver = (c: Client, frame: Buffer): void => {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    if ('error' in deps.auth.check(c.token)) return drop(c, CLOSE_SESSION_ENDED, 'session ended', 'session-ended');
    // The socket's own buffer is the queue; past the bound the client is dropped rather than
    // letting the hub's memory (or its loop) pay for a reader that does not keep up.
    if (c.ws.bufferedAmount > MAX_BACKLOG_BYTES) return drop(c, CLOSE_TOO_SLOW, 'too slow: resubscribe with since', 'too-slow');
    c.ws.send(frame, { binary: false });
  };

  const drop = (c: Client, code: number, reason: string, metric: 'too-slow' | 'session-ended'): void => {
    c.filter = null;
    dropped.inc({ reason: metric });
    deps.log.debug({ code, reason, backlog: c.ws.bufferedAmount }, 'websocket client dropped');
    // The close frame queues behind the backlog; a client that never reads it is cut off,
    // backlog and all, by ws's close timeout (30 s).
    c.ws.close(code, reason);
  };

  const unsubscribe = deps.hub.subscribe((e) => {
    let frame: Buffer | undefined;
    for (const c of clients) {
      if (!c.filter || !matches(e, c.filter)) continue;
      deliver(c, (frame ??= encodeEvent(e)));
    }
  });

  const heartbeat = setInterval(() => {
    for (const c of clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      if (!c.alive) {
        dropped.inc({ reason: 'no-pong' });
        c.ws.terminate();
        continue;
      }
      if ('error' in deps.auth.check(c.token)) {
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
  if (target.startsWith('/')) return target.split(/[?#]/, 1)[0];
  try {
    return new URL(target).pathname;
  } catch {
    return target;
  }
}

/** The token of an upgrade request: header, then subprotocol, then cookie (null: a cookie that does not decode). */
function upgradeToken(headers: IncomingMessage['headers']): string | null | undefined {
  const header = headers[AUTH_HEADER];
  if (typeof header === 'string' && header !== '') return header;
  const offered = String(headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith(TOKEN_PROTOCOL));
  if (offered && offered.length > TOKEN_PROTOCOL.length) return offered.slice(TOKEN_PROTOCOL.length);
  return requestToken(headers);
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

function sendControl(c: Client, frame: object): void {
  if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(frame));
}

// Encoded once per event and shared by every client that hears it.
function encodeEvent(e: PublishedEvent): Buffer {
  return Buffer.from(JSON.stringify({ type: 'event', event: e }));
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
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { error: 'frame must be a JSON object, e.g. {"type":"subscribe"}' };
  const o = raw as Record<string, unknown>;
  if (o.type !== 'subscribe') {
    return { error: o.type === undefined ? 'frame has no type; expected "subscribe"' : `unknown frame type ${JSON.stringify(o.type)}; expected "subscribe"` };
  }
  const unknown = Object.keys(o).filter((k) => !SUBSCRIBE_FIELDS.has(k));
  if (unknown.length > 0) return { error: `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} in subscribe; expected flow, run, since` };
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
