import { randomBytes, timingSafeEqual } from 'node:crypto';
/**
 * Tokens and sessions. SKELETON: admin token and in-memory sessions only; users with scrypt
 * hashes, roles and expiry tests come with the auth work of issue 4.
 */
export class Auth {
    opts;
    sessions = new Map();
    constructor(opts) {
        this.opts = opts;
    }
    /** A session for good credentials, undefined for bad ones. */
    async login(user, password) {
        if (user !== 'admin' || !sameSecret(password, this.opts.adminToken))
            return undefined;
        return this.newSession('admin', 'admin');
    }
    logout(token) {
        return this.sessions.delete(token);
    }
    check(token) {
        if (!token)
            return { error: 'missing session' };
        if (sameSecret(token, this.opts.adminToken)) {
            return { session: { user: 'admin', role: 'admin', token, expires: Number.POSITIVE_INFINITY } };
        }
        const s = this.sessions.get(token);
        if (!s)
            return { error: 'invalid session' };
        if (s.expires <= this.opts.now()) {
            this.sessions.delete(token);
            return { error: 'invalid session' };
        }
        return { session: s };
    }
    newSession(user, role) {
        const token = randomBytes(24).toString('base64url');
        const s = { user, role, token, expires: this.opts.now() + this.opts.sessionTtlMs };
        this.sessions.set(token, s);
        return s;
    }
}
/** Compares secrets in time that does not depend on where they differ. */
export function sameSecret(given, secret) {
    const a = Buffer.from(given);
    const b = Buffer.from(secret);
    // Compare against itself on a length mismatch so the time taken stays the same.
    return timingSafeEqual(a.length === b.length ? a : b, b) && a.length === b.length;
}
//# sourceMappingURL=auth.js.map