import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { parsePeerReply, type PeerReply, type PeerRequest, type Peers } from '../cluster/messages.js';
import { P2P_PATH } from '../server/routes/p2p.js';

export interface HttpPeersOptions {
  /** The cluster token, sent as `Authorization: Bearer`; the same on every host. */
  token: string;
  /** A heartbeat with no whole reply by then rejects (a paused or unreachable peer). Default 1,000 ms. */
  timeoutMs?: number;
  /**
   * The same for every other request. Default 5,000 ms: a take or a lock is answered only once
   * persisted, behind whatever the peer's queue holds, and a busy peer is not a lost one.
   */
  workTimeoutMs?: number;
  /** Largest reply read, in bytes; a bigger one is an `error` reply. Default 4 MiB. */
  maxReplyBytes?: number;
}

/**
 * Idle connections are closed by the client before node's server does (its keepAliveTimeout is
 * 5 s), so a request never goes out on a socket the peer is closing at that moment.
 */
const IDLE_SOCKET_MS = 4_000;
/** How much of a refusal's message is quoted: a peer's text is not ours to print at length. */
const QUOTED = 200;

/**
 * The cluster's transport in a host: each request is a POST of JSON to the peer's
 * `/_floe/p2p`, over kept-alive connections (a heartbeat goes to every peer twice a second).
 */
export class HttpPeers implements Peers {
  // A private field, so neither a log of this object nor JSON.stringify can show the token.
  readonly #token: string;
  private readonly timeoutMs: number;
  private readonly workTimeoutMs: number;
  private readonly maxReplyBytes: number;
  private readonly http = new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
  private readonly https = new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS });

  constructor(opts: HttpPeersOptions) {
    if (opts.token === '') throw new Error('HttpPeers needs a cluster token');
    this.#token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 1_000;
    this.workTimeoutMs = opts.workTimeoutMs ?? Math.max(5_000, this.timeoutMs);
    this.maxReplyBytes = opts.maxReplyBytes ?? 4 * 1024 * 1024;
  }

  /**
   * Resolves with the peer's reply, or with `refused`/`error` when it answered with an HTTP error
   * or a malformed reply; rejects when no answer came in time (unreachable, paused, reset).
   */
  async send(url: string, req: PeerRequest): Promise<PeerReply> {
    const target = new URL(`${url.replace(/\/+$/, '')}${P2P_PATH}`);
    const timeoutMs = req.kind === 'hello' ? this.timeoutMs : this.workTimeoutMs;
    const res = await this.post(url, target, JSON.stringify(req), timeoutMs);
    if (res.text === undefined) return { kind: 'error', message: `peer ${url} sent a reply over ${this.maxReplyBytes} bytes` };
    const { status, text } = res;
    if (status === 401) return { kind: 'refused', reason: `peer ${url} rejected the cluster token (HTTP 401)` };
    if (status === 403) return { kind: 'refused', reason: `peer ${url} refused the request (HTTP 403: ${this.quote(text)})` };
    if (status < 200 || status > 299) {
      const hint = status === 404 ? `; is ${url} that host's prv_bind?` : '';
      return { kind: 'error', message: `peer ${url} answered HTTP ${status}: ${this.quote(text)}${hint}` };
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { kind: 'error', message: `peer ${url} sent a reply that is not JSON: ${this.quote(text)}` };
    }
    return parsePeerReply(body);
  }

  /**
   * POSTs `body` and reads the whole reply (`text` undefined past maxReplyBytes). node:http, not
   * fetch: a placement waits on two of these in a row, and fetch's streams, headers objects and
   * abort signals cost about a millisecond a request on loopback (issue 10). A redirect is not
   * followed (it would carry the token to wherever it points): it is an HTTP 3xx like any other.
   */
  private post(url: string, target: URL, body: string, timeoutMs: number): Promise<{ status: number; text?: string }> {
    return new Promise((resolve, reject) => {
      const https = target.protocol === 'https:';
      const headers = {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        Accept: 'application/json',
        Authorization: `Bearer ${this.#token}`,
      };
      const options = { method: 'POST', headers, agent: https ? this.https : this.http };
      const req: ClientRequest = https ? httpsRequest(target, options) : httpRequest(target, options);
      let settled = false;
      /** Settles once; `drop` also closes the connection (a paused peer's socket is not reused). */
      const settle = (drop: boolean, fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
        if (drop) req.destroy();
      };
      const fail = (err: Error): void => settle(true, () => reject(err));
      const timer = setTimeout(() => fail(new Error(`no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
      timer.unref(); // as AbortSignal.timeout: the socket, not the timer, keeps the process up
      req.on('error', fail);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxReplyBytes) settle(true, () => resolve({ status }));
          else chunks.push(chunk);
        });
        res.on('end', () => settle(false, () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') })));
        res.on('error', fail);
        // After 'end' this does nothing; before it, the reply was cut short.
        res.on('close', () => fail(new Error(`peer ${url} closed the connection before the whole reply`)));
      });
      req.end(body);
    });
  }

  /**
   * A peer's error text for a message: floe's envelope gives its `message`. Cut short, and
   * without the token, should a peer (or a proxy before it) echo the request's headers.
   */
  private quote(text: string): string {
    const t = (envelopeMessage(text) ?? text).trim().replaceAll(this.#token, '[redacted]');
    if (t === '') return '(empty)';
    return t.length > QUOTED ? `${t.slice(0, QUOTED)}...` : t;
  }

  /** Closes the kept-alive connections; sends after this open new ones. */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

/** The `message` of floe's error envelope; undefined for other text (a proxy's page, say). */
function envelopeMessage(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') return body.message;
  } catch {
    // Not JSON.
  }
  return undefined;
}
