import { Router } from '@koa/router';
import Koa from 'koa';
import { FloeError } from '../errors.js';
import type { ApiDeps, ApiState } from './api.js';
import { respond, STATUS_OF } from './respond.js';
import { registerFlows } from './routes/flows.js';
import { registerHosts } from './routes/hosts.js';
import { registerPush } from './routes/push.js';
import { registerSession } from './routes/session.js';

/** Routes anyone may call; everything else needs a token or a session cookie. */
const PUBLIC = new Set(['POST /login', 'GET /health']);

/** Methods a viewer may use; the rest change something and need role user or admin. */
const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);

export const SESSION_COOKIE = 'floe-sesh';
export const AUTH_HEADER = 'x-floe-auth';

/** The token a request carries: the X-Floe-Auth header, else the floe-sesh cookie. */
export function requestToken(headers: { [k: string]: string | string[] | undefined }): string | undefined {
  const h = headers[AUTH_HEADER];
  if (typeof h === 'string' && h !== '') return h;
  const cookie = headers.cookie;
  if (typeof cookie !== 'string') return undefined;
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** The koa app of one host: the API under common.base-url, with auth and error mapping. */
export function createApp(deps: ApiDeps): Koa<ApiState> {
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
      if (ctx.status === 501 && ctx.body === undefined) respond(ctx, `method ${ctx.method} is not supported`, null, 501);
    } catch (err) {
      if (err instanceof FloeError) {
        respond(ctx, err.message, null, STATUS_OF[err.code]);
        if (err.code === 'internal') deps.log.error({ err, path: ctx.path }, 'request failed');
        return;
      }
      deps.log.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
      respond(ctx, 'internal error', null, 500);
    }
  });

  app.use(async (ctx, next) => {
    if (!ctx.path.startsWith(`${base}/`) && ctx.path !== base) return next();
    // The router accepts a trailing slash and answers HEAD with GET, so the public check does too.
    const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
    const route = `${method} ${ctx.path.slice(base.length).replace(/(.)\/+$/, '$1') || '/'}`;
    if (PUBLIC.has(route)) return next();
    const checked = deps.auth.check(requestToken(ctx.headers));
    if ('error' in checked) throw new FloeError('unauthorized', checked.error);
    if (!READ_ONLY.has(ctx.method) && checked.session.role === 'viewer' && route !== 'POST /logout') {
      throw new FloeError('forbidden', `user ${checked.session.user} has role viewer, which may only read`);
    }
    ctx.state.session = checked.session;
    return next();
  });

  const router = new Router<ApiState>({ prefix: base });
  router.get('/health', (ctx) => respond(ctx, 'ok', { host: deps.host.name, lastEvent: deps.hub.lastSeq() }));
  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.contentType;
    ctx.body = await deps.metrics.text();
  });
  registerSession(router, deps);
  registerFlows(router, deps);
  registerPush(router, deps);
  registerHosts(router, deps);
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}
