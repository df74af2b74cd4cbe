import { Router } from '@koa/router';
import { parsePeerRequest } from '../../cluster/messages.js';
import { FloeError } from '../../errors.js';
import type { ApiContext, ApiDeps, ApiRouter, ApiState } from '../api.js';
import { sameSecret, type AuthCheck } from '../auth.js';
import { readJson } from '../body.js';

/** Where a host takes requests from its peers: outside the base URL, on the private bind only. */
export const P2P_PATH = '/_floe/p2p';
/** A `take` carries a whole run record, nodes and all. */
export const P2P_BODY_LIMIT = 8 * 1024 * 1024;

export const MISSING_CLUSTER_TOKEN = 'missing cluster token';
export const INVALID_CLUSTER_TOKEN = 'invalid cluster token';

/**
 * POST /_floe/p2p: a peer's request, answered with the hub's reply (a bare PeerReply, not the
 * API's envelope). Only the cluster token in `Authorization: Bearer` lets one in: no session,
 * cookie or X-Floe-Auth. `served` is whether this listener is the private bind; on a public-only
 * one the route is a 404 like any path that is not there.
 */
export function createP2pRouter(deps: ApiDeps, served: boolean): ApiRouter {
  const router = new Router<ApiState>({ sensitive: true });
  if (!served) {
    // Every method, so that not even a 405 tells the route exists elsewhere.
    router.all(P2P_PATH, (ctx) => {
      throw new FloeError('not-found', `no route ${ctx.method} ${ctx.path}`);
    });
    return router;
  }
  router.post(P2P_PATH, async (ctx) => {
    admitPeer(deps, ctx);
    const req = parsePeerRequest(await readJson(ctx, P2P_BODY_LIMIT));
    if (typeof req === 'string') throw new FloeError('bad-request', `bad peer request: ${req}`);
    ctx.body = await deps.hub.receivePeer(req);
  });
  return router;
}

/** Throws 401 unless the request carries the cluster token; bad ones count as the API's bad tokens do. */
function admitPeer(deps: ApiDeps, ctx: ApiContext): void {
  const header = ctx.get('authorization');
  // A header of another scheme is a wrong token, not a missing one: it is counted.
  const token = header === '' ? undefined : (/^Bearer +(.+)$/i.exec(header)?.[1] ?? header);
  const ok = token !== undefined && sameSecret(token, deps.clusterToken);
  // LoginLimits speaks in sessions: the cluster token is, like the admin token, one that never
  // expires, so while the client waits it is refused too and waiting tells a guesser nothing.
  const checked: AuthCheck = ok
    ? { session: { user: 'cluster', role: 'admin', token, expires: Number.POSITIVE_INFINITY } }
    : { error: 'invalid session' };
  deps.limits.admitToken(deps.clientAddress(ctx.req), token, checked);
  if (token === undefined) throw new FloeError('unauthorized', MISSING_CLUSTER_TOKEN);
  if (!ok) throw new FloeError('unauthorized', INVALID_CLUSTER_TOKEN);
}
