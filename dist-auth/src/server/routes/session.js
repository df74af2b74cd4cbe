import { readJson, Fields } from '../body.js';
import { FloeError } from '../../errors.js';
import { sessionOf } from '../api.js';
import { SESSION_COOKIE } from '../app.js';
import { respond } from '../respond.js';
/** POST /login, POST /logout. */
export function registerSession(router, deps) {
    router.post('/login', async (ctx) => {
        const body = new Fields('body', await readJson(ctx));
        const user = body.string('user');
        const password = body.string('password');
        const session = await deps.auth.login(user, password);
        if (!session)
            throw new FloeError('unauthorized', 'bad user or password');
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
    router.post('/logout', (ctx) => {
        const s = sessionOf(ctx);
        deps.auth.logout(s.token);
        ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', expires: new Date(0) });
        respond(ctx, 'logged out', null);
    });
}
//# sourceMappingURL=session.js.map