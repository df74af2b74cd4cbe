import type { Layer, RouterMiddleware } from '@koa/router';
import type { ApiRouter, ApiState } from './api.js';

/*
 * Who may call what is a property of the route itself, read from the router's own match of
 * the request (issue 7): a second list of paths, compared by other rules than the router's
 * (case, trailing slash, encoding), once let `GET /BUILD/API/flows` through without a token.
 */

/** Put first in a route's middleware: anyone may call it, without a session (login, health). */
export const publicRoute: RouterMiddleware<ApiState> = (_ctx, next) => next();

/** Put first in a route's middleware: any session may call it whatever the method, a viewer's too (logout). */
export const anyRole: RouterMiddleware<ApiState> = (_ctx, next) => next();

/** Put first in a route's middleware: only a session of role admin may call it (releasing a resource tag). */
export const adminRoute: RouterMiddleware<ApiState> = (_ctx, next) => next();

/** Methods a viewer may use; the rest change something and need role user or admin. */
const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * What a request needs, by the route the router matches for it:
 * - `public`: nothing;
 * - `session`: any session (a read-only method, or a route marked anyRole);
 * - `write`: a session of role user or admin;
 * - `admin`: a session of role admin (a route marked adminRoute, whatever the method);
 * - `unmatched`: no route takes this method and path; the router answers 404, 405 or 501.
 */
export type Access = 'public' | 'session' | 'write' | 'admin' | 'unmatched';

/** The access rule of `method path`, decided by the same match the router dispatches on. */
export function accessOf(router: ApiRouter, method: string, path: string): Access {
  const match = router.match(path, method);
  if (!match.route) return 'unmatched';
  // Every route the request runs through must allow it: the router runs all matching layers.
  const routes = match.pathAndMethod.filter((layer) => layer.methods.length > 0);
  if (routes.every((layer) => isMarked(layer, publicRoute))) return 'public';
  if (routes.some((layer) => isMarked(layer, adminRoute))) return 'admin';
  if (READ_ONLY.has(method.toUpperCase()) || routes.every((layer) => isMarked(layer, anyRole))) return 'session';
  return 'write';
}

function isMarked(layer: Layer<ApiState>, marker: RouterMiddleware<ApiState>): boolean {
  return (layer.stack as unknown[]).includes(marker);
}

/**
 * Whether `path` (as sent, not decoded) lies under the base URL, in any casing. Such a path
 * needs a session unless it matches a public route, so a client without one cannot tell
 * which paths exist; the rest of the server's paths are 404 for everyone.
 */
export function isUnderBase(path: string, base: string): boolean {
  if (base === '') return true;
  const p = path.toLowerCase();
  const b = base.toLowerCase();
  return p === b || p.startsWith(`${b}/`);
}
