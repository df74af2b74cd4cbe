import { readJson, Fields } from '../body.js';
import { FloeError } from '../../errors.js';
import type { Config } from '../../config/schema.js';
import type { ApiDeps, ApiRouter } from '../api.js';
import { sessionOf } from '../api.js';
import { SESSION_COOKIE } from '../request-token.js';
import { respond } from '../respond.js';
import { anyRole, publicRoute } from '../route-access.js';

/** Credentials are small; a big body would only make scrypt work longer. */
const LOGIN_BODY_LIMIT = 16 * 1024;

/** POST /login, GET /session, POST /logout. */
export function registerSession(router: ApiRouter, deps: ApiDeps): void {
  router.post('/login', publicRoute, async (ctx) => {
    const body = new Fields('body', await readJson(ctx, LOGIN_BODY_LIMIT));
    const user = body.string('user');
    // Not body.string: its message quotes the value, and this one is a password.
    const password = body.raw('password');
    if (typeof password !== 'string' || password === '') throw new FloeError('bad-request', 'body.password must be a non-empty string');
    const attempt = deps.limits.admitLogin(deps.clientAddress(ctx.req), user, { isUser: isConfiguredUser(deps.config, user) });
    const session = await deps.auth.login(user, password);
    if (!session) {
      deps.limits.loginFailed(attempt);
      throw new FloeError('unauthorized', 'bad user or password');
    }
    deps.limits.loginSucceeded(attempt);
    ctx.cookies.set(SESSION_COOKIE, session.token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: ctx.secure,
      path: '/',
      expires: new Date(session.expires),
      overwrite: true,
    });
    respond(ctx, 'logged in', { user: session.user, role: session.role, token: session.token });
  });

  // Who the caller is: the dashboard asks at start, to show the user and what its role may do.
  router.get('/session', (ctx) => {
    const s = sessionOf(ctx);
    respond(ctx, `logged in as ${s.user}`, { user: s.user, role: s.role, expires: Number.isFinite(s.expires) ? s.expires : undefined });
  });

  router.post('/logout', anyRole, (ctx) => {
    const s = sessionOf(ctx);
    deps.auth.logout(s.token);
    ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', expires: new Date(0) });
    respond(ctx, 'logged out', null);
  });
}

/**
 * Whether `name` may log in at all, as Auth.login decides: `admin` always (with the admin token),
 * or a configured user. Login limits key known names by name, so guesses at admin show as such
 * and made-up names cannot hold admin back.
 */
function isConfiguredUser(config: Config, name: string): boolean {
  return name === 'admin' || config.common.users.some((u) => u.user === name);
}
