import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import fetch, { FetchError } from 'node-fetch';
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
    const target = `${url.replace(/\/+$/, '')}${P2P_PATH}`;
    const timeoutMs = req.kind === 'hello' ? this.timeoutMs : this.workTimeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      return await this.post(url, target, req, signal);
    } catch (err) {
      if (signal.aborted) throw new Error(`no answer from ${url} within ${timeoutMs} ms`, { cause: err });
      throw err;
    }
  }

  private async post(url: string, target: string, req: PeerRequest, signal: AbortSignal): Promise<PeerReply> {
    const res = await fetch(target, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${this.#token}` },
      body: JSON.stringify(req),
      // A redirect would carry the token to wherever it points.
      redirect: 'manual',
      agent: (u) => (u.protocol === 'https:' ? this.https : this.http),
      size: this.maxReplyBytes,
      signal,
    });
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (err instanceof FetchError && err.type === 'max-size') {
        return { kind: 'error', message: `peer ${url} sent a reply over ${this.maxReplyBytes} bytes` };
      }
      throw err;
    }
    if (res.status === 401) return { kind: 'refused', reason: `peer ${url} rejected the cluster token (HTTP 401)` };
    if (res.status === 403) return { kind: 'refused', reason: `peer ${url} refused the request (HTTP 403: ${this.quote(text)})` };
    if (res.status < 200 || res.status > 299) {
      const hint = res.status === 404 ? `; is ${url} that host's prv_bind?` : '';
      return { kind: 'error', message: `peer ${url} answered HTTP ${res.status}: ${this.quote(text)}${hint}` };
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
