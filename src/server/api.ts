import type { IncomingMessage } from 'node:http';
import type { Router, RouterContext } from '@koa/router';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Hub } from '../hub/hub.js';
import type { Auth, Session } from './auth.js';
import type { LoginLimits } from './login-limits.js';
import type { Metrics } from './metrics.js';
import type { WebappFiles } from './webapp/files.js';

/** What this host says of itself in `GET /hosts`. */
export interface HostSelf {
  name: string;
  tags: string[];
  /** Public base URL, once the server listens. */
  url?: string;
}

/** Everything a route module may use. */
export interface ApiDeps {
  hub: Hub;
  auth: Auth;
  /** Backoff for failed logins and bad tokens. */
  limits: LoginLimits;
  /** Where a request comes from, for what is counted per address: its peer, or behind a trusted proxy the client it names (client-address.ts). */
  clientAddress(req: Pick<IncomingMessage, 'socket' | 'headers'>): string | undefined;
  config: Config;
  host: HostSelf;
  log: Logger;
  metrics: Metrics;
  /** The token peers send on `/_floe/p2p` (`-cluster_token`, by default the admin token). */
  clusterToken: string;
  /** The dashboard's bundle, served at /app. */
  webapp: WebappFiles;
}

export interface ApiState {
  /** Set by the auth middleware on every route but login and health. */
  session?: Session;
}

export type ApiRouter = Router<ApiState>;
export type ApiContext = RouterContext<ApiState>;

/** The session of an authenticated request (the auth middleware guarantees it). */
export function sessionOf(ctx: ApiContext): Session {
  const s = ctx.state.session;
  if (!s) throw new Error('route reached without a session');
  return s;
}
