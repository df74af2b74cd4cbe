import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';

/** What came back; `status` 101 for an upgrade that was accepted (the socket is then closed). */
export interface RawReply {
  status: number;
  text: string;
}

/**
 * One request whose path goes on the wire exactly as given (no URL parsing, so `..`, `//`,
 * `%2F` and casing reach the server untouched), on its own connection.
 */
export function sendRaw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  signal?: AbortSignal,
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: h, agent: false, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, text: '' });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A websocket upgrade request to `path`, sent as in sendRaw. */
export function upgradeRaw(port: number, path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<RawReply> {
  const upgrade = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
  };
  return sendRaw(port, 'GET', path, { ...upgrade, ...headers }, undefined, signal);
}

/**
 * A websocket upgrade of `url` from local address `localAddress` (any 127.x.y.z, which counts as
 * its own client) with `headers`: its status, 101 when it upgraded (the socket is then closed).
 */
export function upgradeFrom(url: string, localAddress: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(url), {
      localAddress,
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface ExchangeOptions {
  /** Any 127.x.y.z to connect from. */
  localAddress?: string;
  /**
   * When to half-close: 0 at once (the server then drops a request whose answer is not written
   * yet, as node's http server does on a client's FIN); else only if the server has not closed
   * after this many ms, which ends a request the server waits on for more body.
   */
  endAfterMs: number;
}

/**
 * Writes `bytes` as they are on a new TCP connection and reads until the server closes; no
 * client-side checks at all (methods, paths and headers may be anything).
 */
export function exchangeBytes(port: number, bytes: Buffer, opts: ExchangeOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port, localAddress: opts.localAddress });
    const chunks: Buffer[] = [];
    const timer = opts.endAfterMs > 0 ? setTimeout(() => socket.end(), opts.endAfterMs) : undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A reset after the server answered (it may close before reading all we sent) is an answer too.
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    if (opts.endAfterMs === 0) socket.end(bytes);
    else socket.write(bytes);
  });
}

/** The status codes of every response in a raw exchange (a pipelined request can answer twice). */
export function statusesOf(text: string): number[] {
  return [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}
