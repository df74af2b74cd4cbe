import { readFile } from 'node:fs/promises';
import { createServer as createHttp, type Server as HttpServer } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { FloeError } from '../errors.js';
import { parseBind } from './parse-bind.js';

export interface BindSpec {
  /** host:port; port 0 picks a free one. */
  bind: string;
  cert?: string;
  key?: string;
}

/** `pub`: the API and websocket; `prv`: the host-to-host route (and the API too). */
export type BindRole = 'pub' | 'prv';

export interface Listening {
  server: HttpServer;
  url: string;
  /** Which binds this server serves. */
  roles: BindRole[];
}

type Handler = Parameters<typeof createHttp>[1];

/**
 * Starts one server per distinct bind: the public API, and the host-to-host API on prv_bind
 * (the same server when both binds are equal), each with the handler `handlerFor` gives its
 * roles. TLS when a cert and key are given.
 */
export async function listen(handlerFor: (roles: BindRole[]) => Handler, pub: BindSpec, prv?: BindSpec): Promise<Listening[]> {
  const pubRoles: BindRole[] = ['pub'];
  const specs: Array<{ spec: BindSpec; roles: BindRole[] }> = [{ spec: pub, roles: pubRoles }];
  // Port 0 asks for a free port, so two port-0 binds are two servers, never one.
  const shared = !prv || (prv.bind === pub.bind && parseBind(pub.bind)?.port !== 0);
  if (shared && prv && (prv.cert !== pub.cert || prv.key !== pub.key)) {
    throw new FloeError(
      'bad-request',
      `pub_bind and prv_bind are both ${pub.bind}, so they share one server, but their TLS cert/key differ`,
    );
  }
  if (shared) pubRoles.push('prv');
  else specs.push({ spec: prv, roles: ['prv'] });
  const out: Listening[] = [];
  try {
    for (const { spec, roles } of specs) out.push({ ...(await listenOne(handlerFor(roles), spec)), roles });
  } catch (err) {
    await closeAll(out.map((l) => l.server));
    throw err;
  }
  return out;
}

async function listenOne(handler: Handler, spec: BindSpec): Promise<{ server: HttpServer; url: string }> {
  const addr = parseBind(spec.bind);
  if (!addr) throw new FloeError('bad-request', `bad bind ${spec.bind}: expected host:port`);
  const { cert, key } = spec;
  const tls = cert !== undefined && key !== undefined;
  const server: HttpServer = tls
    ? createHttps({ cert: await readTlsFile(cert, 'certificate'), key: await readTlsFile(key, 'key') }, handler)
    : createHttp(handler);
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new FloeError(
          'bad-request',
          `cannot listen on ${spec.bind}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`,
        ),
      ),
    );
    server.listen(addr.port, addr.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return { server, url: `${tls ? 'https' : 'http'}://${host}:${port}` };
}

async function readTlsFile(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new FloeError('bad-request', `cannot read TLS ${what} ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function closeAll(servers: HttpServer[]): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections?.();
        }),
    ),
  );
}
