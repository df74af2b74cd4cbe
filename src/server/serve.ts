import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Hub } from '../hub/hub.js';
import type { ApiDeps } from './api.js';
import { Auth } from './auth.js';
import { createApp } from './app.js';
import { closeAll, listen, type BindRole, type BindSpec } from './listen.js';
import { LoginLimits } from './login-limits.js';
import { clientAddress, TrustedProxies } from './client-address.js';
import { Metrics } from './metrics.js';
import { WEBAPP_DIST } from './webapp/bundle.js';
import { webappFiles, type WebappFiles } from './webapp/files.js';
import { attachWebsocket } from './ws.js';

/** What the server uses of a started host (src/host's Host is one). */
export interface ServedHost {
  hub: Hub;
  config: Config;
  /** How its tasks start now (`helper` or `node`), for `floe_task_spawner`. */
  spawner?(): string;
}

export interface ServeOptions {
  host: ServedHost;
  hostName: string;
  tags: string[];
  adminToken: string;
  /** What peers send on `/_floe/p2p`; default the admin token. */
  clusterToken?: string;
  pub: BindSpec;
  prv?: BindSpec;
  log: Logger;
  /** Session lifetime; default `common.session-ttl` of the host's config (12 hours unless set). */
  sessionTtlMs?: number;
  now?: () => number;
  /** ms of live websocket fan-out before it yields the loop; default ws.ts's. */
  fanoutSliceMs?: number;
  /** Websocket sockets are written at most this often; default ws.ts's. */
  corkPaceMs?: number;
  /** The dashboard's files; default the bundle `npm run build` made. */
  webapp?: WebappFiles;
}

export interface Serving {
  urls: string[];
  /** The public API's base URL (scheme://host:port). */
  pubUrl: string;
  auth: Auth;
  /** The backoff of failed logins and bad tokens (tests read its size). */
  limits: LoginLimits;
  close(): Promise<void>;
}

/** Puts a host's hub on the network: the API, the websocket, metrics. */
export async function serveHost(opts: ServeOptions): Promise<Serving> {
  const { host, log } = opts;
  const { common } = host.config;
  const now = opts.now ?? Date.now;
  const auth = new Auth({
    adminToken: opts.adminToken,
    users: common.users,
    sessionTtlMs: opts.sessionTtlMs ?? common.sessionTtlSec * 1000,
    now,
  });
  const limits = new LoginLimits({ now, log });
  const metrics = new Metrics(host.hub, host.spawner?.bind(host));
  const self = { name: opts.hostName, tags: opts.tags, url: undefined as string | undefined };
  const clusterToken = opts.clusterToken ?? opts.adminToken;
  const webapp = opts.webapp ?? webappFiles(WEBAPP_DIST, true);
  const proxies = new TrustedProxies(common.trustedProxies);
  const deps: ApiDeps = {
    hub: host.hub,
    auth,
    limits,
    clientAddress: (req) => clientAddress(req, proxies),
    config: host.config,
    host: self,
    log,
    metrics,
    clusterToken,
    webapp,
  };
  const handlerFor = (roles: BindRole[]) => {
    const handle = createApp(deps, roles).callback();
    // Koa's handler settles every request itself (errors go to ctx.onerror), so its promise never rejects.
    return (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  };
  const listening = await listen(handlerFor, opts.pub, opts.prv);
  const pubUrl = listening.find((l) => l.roles.includes('pub'))!.url;
  self.url = pubUrl;
  const ws = attachWebsocket(
    listening.map((l) => l.server),
    deps,
    { now, fanoutSliceMs: opts.fanoutSliceMs, corkPaceMs: opts.corkPaceMs },
  );
  for (const l of listening) log.info({ url: l.url, serves: l.roles }, `listening on ${l.url}`);
  return {
    urls: listening.map((l) => l.url),
    pubUrl,
    auth,
    limits,
    close: async () => {
      await ws.close();
      await closeAll(listening.map((l) => l.server));
    },
  };
}
