import { randomBytes, timingSafeEqual } from 'node:crypto';

export type Role = 'admin' | 'user' | 'viewer';

/** Who is calling: from a login session, or from the admin token itself. */
export interface Session {
  user: string;
  role: Role;
  token: string;
  /** Epoch ms after which the session is no longer accepted. */
  expires: number;
}

export type AuthCheck = { session: Session } | { error: 'missing session' | 'invalid session' };

export interface AuthOptions {
  /** The -admin token; accepted as a token and, with no users configured, as admin's password. */
  adminToken: string;
  sessionTtlMs: number;
  now(): number;
}

/**
 * Tokens and sessions. SKELETON: admin token and in-memory sessions only; users with scrypt
 * hashes, roles and expiry tests come with the auth work of issue 4.
 */
export class Auth {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly opts: AuthOptions) {}

  /** A session for good credentials, undefined for bad ones. */
  async login(user: string, password: string): Promise<Session | undefined> {
    if (user !== 'admin' || !sameSecret(password, this.opts.adminToken)) return undefined;
    return this.newSession('admin', 'admin');
  }

  logout(token: string): boolean {
    return this.sessions.delete(token);
  }

  check(token: string | undefined): AuthCheck {
    if (!token) return { error: 'missing session' };
    if (sameSecret(token, this.opts.adminToken)) {
      return { session: { user: 'admin', role: 'admin', token, expires: Number.POSITIVE_INFINITY } };
    }
    const s = this.sessions.get(token);
    if (!s) return { error: 'invalid session' };
    if (s.expires <= this.opts.now()) {
      this.sessions.delete(token);
      return { error: 'invalid session' };
    }
    return { session: s };
  }

  private newSession(user: string, role: Role): Session {
    const token = randomBytes(24).toString('base64url');
    const s: Session = { user, role, token, expires: this.opts.now() + this.opts.sessionTtlMs };
    this.sessions.set(token, s);
    return s;
  }
}

/** Compares secrets in time that does not depend on where they differ. */
export function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  // Compare against itself on a length mismatch so the time taken stays the same.
  return timingSafeEqual(a.length === b.length ? a : b, b) && a.length === b.length;
}
