import { METHODS } from 'node:http';
import { Router } from '@koa/router';
import Koa from 'koa';
import { FloeError } from '../errors.js';
import type { ApiDeps, ApiRouter, ApiState } from './api.js';
import { checkToken, isCookieToken, requestToken } from './request-token.js';
import { TooManyFailures } from './login-limits.js';
import { respond, STATUS_OF } from './respond.js';
import { accessOf, isUnderBase, publicRoute } from './route-access.js';
import { CROSS_ORIGIN_REFUSED, isCrossOrigin } from './same-origin.js';
import type { BindRole } from './listen.js';
import { registerFlows } from './routes/flows.js';
import { registerHosts } from './routes/hosts.js';
import { createP2pRouter } from './routes/p2p.js';
import { registerPush } from './routes/push.js';
import { registerRuns } from './routes/runs.js';
import { registerSession } from './routes/session.js';
import { registerTags } from './routes/tags.js';
import { webappRoute } from './routes/webapp.js';

/**
 * The koa app of one listener: the API under common.base-url, with auth and error mapping,
 * and the host-to-host route where `roles` has `prv`.
 */
export function createApp(deps: ApiDeps, roles: readonly BindRole[]): Koa<ApiState> {
  const app = new Koa<ApiState>({ proxy: false });
  const base = deps.config.common.baseUrl.replace(/\/+$/, '');
  app.silent = true;

  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) respond(ctx, `no route ${ctx.method} ${ctx.path}`, null, 404);
      // Set by router.allowedMethods, which answers without a body.
      if (ctx.status === 405 && ctx.body === undefined) {
        respond(ctx, `${ctx.method} is not allowed on ${ctx.path} (allowed: ${ctx.response.get('Allow') || 'none'})`, null, 405);
      }
    } catch (err) {
      if (!ctx.writable) {
        // The client aborted or reset the request (often mid-body): nobody is left to answer, and
        // that is the client's doing, not a fault of the host's.
        if (err instanceof FloeError && err.code !== 'internal') {
          deps.log.debug({ method: ctx.method, path: ctx.path, reason: err.message }, 'client went away before the answer');
        } else {
          deps.log.error({ err, method: ctx.method, path: ctx.path }, 'request failed; the client is gone');
        }
        return;
      }
      if (err instanceof FloeError) {
        if (err instanceof TooManyFailures) ctx.set('Retry-After', String(err.retryAfterSec));
        respond(ctx, err.message, null, STATUS_OF[err.code]);
        if (err.code === 'internal') deps.log.error({ err, path: ctx.path }, 'request failed');
        return;
      }
      deps.log.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
      respond(ctx, 'internal error', null, 500);
    }
  });

  // Before the API's auth: peers authenticate by the cluster token alone, and on a public-only
  // listener the route is a 404 for everyone.
  app.use(createP2pRouter(deps, roles.includes('prv')).routes());
  app.use(webappRoute({ files: deps.webapp, apiBase: base, hostName: deps.host.name }));

  // Auth asks the router which route it will run (one rule, the router's), so no casing,
  // slash or encoding can reach a route that the check did not see. Under the base URL, a
  // request that is not a public route needs a session even when nothing matches: without
  // one, every probe is the same 401.
  const router = createRouter(deps, base);
  app.use(async (ctx, next) => {
    const access = accessOf(router, ctx.method, ctx.path);
    if (access === 'public' || (access === 'unmatched' && !isUnderBase(ctx.path, base))) {
      await next();
      return;
    }
    // Before the session is looked up: a page of another port or subdomain gets the cookie
    // from the browser, so it must not learn or use anything through it (see same-origin.ts).
    if (isCookieToken(ctx.headers) && isCrossOrigin(ctx.method, ctx.headers)) throw new FloeError('forbidden', CROSS_ORIGIN_REFUSED);
    const token = requestToken(ctx.headers);
    const checked = checkToken(deps.auth, token);
    // Bad tokens are counted and throttled here alone, where access depends on the token: a
    // public route ignores a stale cookie, and a login's 401 is no token guess.
    deps.limits.admitToken(deps.clientAddress(ctx.req), token, checked);
    if ('error' in checked) throw new FloeError('unauthorized', checked.error);
    if (access === 'write' && checked.session.role === 'viewer') {
      throw new FloeError('forbidden', `user ${checked.session.user} has role viewer, which may only read`);
    }
    if (access === 'admin' && checked.session.role !== 'admin') {
      throw new FloeError('forbidden', `user ${checked.session.user} has role ${checked.session.role}; only role admin may do this`);
    }
    ctx.state.session = checked.session;
    await next();
  });
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}

/**
 * The API's routes under `base`. Paths are case-sensitive: `/Flows` is not `/flows`. A route
 * needs a session unless it starts with `publicRoute` (see route-access.ts).
 */
export function createRouter(deps: ApiDeps, base: string): ApiRouter {
  // Every method node parses counts as known, so a TRACE is a 405 (or 404), never the router's
  // 501: a client's odd method is not a fault of the host's.
  const router = new Router<ApiState>({ prefix: base, sensitive: true, methods: METHODS });
  router.get('/health', publicRoute, (ctx) => respond(ctx, 'ok', { host: deps.host.name, lastEvent: deps.hub.lastSeq() }));
  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.contentType;
    ctx.body = await deps.metrics.text();
  });
  registerSession(router, deps);
  registerFlows(router, deps);
  registerRuns(router, deps);
  registerPush(router, deps);
  registerHosts(router, deps);
  registerTags(router, deps);
  return router;
}
