import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role, UserConfig } from '../config/schema.js';
import { KEY_BYTES, SALT_BYTES, SCRYPT_COST, verifyPassword } from './password.js';
import { parsePasswordHash, type PasswordHash } from '../config/password-hash.js';

export type { Role } from '../config/schema.js';

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
  /** The -admin token; accepted as a token and as admin's password. */
  adminToken: string;
  /** `common.users`; default none (then only `admin` logs in, with the admin token). */
  users?: readonly UserConfig[];
  sessionTtlMs: number;
  now(): number;
  /** Live sessions kept at most, all users together; the oldest goes first. Default 1000. */
  maxSessions?: number;
  /** Live sessions one user keeps at most; their oldest goes first. Default 100. */
  maxSessionsPerUser?: number;
}

interface User {
  role: Role;
  hash: PasswordHash;
}

/**
 * Tokens and sessions, in memory: a restart logs everyone out. Sessions are bounded (per user
 * and overall) so a flood of logins cannot grow memory, and expired ones are dropped as they
 * are met or as new ones are made.
 */
export class Auth {
  /** By token, in creation order; with one TTL for all that is also expiry order. */
  private readonly sessions = new Map<string, Session>();
  /** Tokens of each user's live sessions, oldest first. */
  private readonly byUser = new Map<string, Set<string>>();
  private readonly users = new Map<string, User>();
  /** Verified for unknown user names, so a login takes as long whether the name exists or not. */
  private readonly dummy: PasswordHash;
  private readonly maxSessions: number;
  private readonly maxPerUser: number;
  /** Counts sessions ended (logout, expiry, eviction): see `unchangedSince`. */
  private ended = 0;

  constructor(private readonly opts: AuthOptions) {
    for (const u of opts.users ?? []) {
      const hash = parsePasswordHash(u.password);
      // The config validator has checked these; a bad one here is a programming error.
      if ('error' in hash) throw new Error(`user ${u.user}: password: ${hash.error}`);
      this.users.set(u.user, { role: u.role, hash });
    }
    const cost = this.users.values().next().value?.hash ?? SCRYPT_COST;
    this.dummy = { N: cost.N, r: cost.r, p: cost.p, salt: Buffer.alloc(SALT_BYTES), key: Buffer.alloc(KEY_BYTES) };
    this.maxSessions = Math.max(1, opts.maxSessions ?? 1000);
    this.maxPerUser = Math.max(1, opts.maxSessionsPerUser ?? 100);
  }

  /** A session for good credentials, undefined for bad ones. */
  async login(user: string, password: string): Promise<Session | undefined> {
    // The admin token is admin's password with or without users (issue 9: the dashboard's login
    // takes it): it already acts as admin through X-Floe-Auth, so a session of it grants nothing
    // more, and the page never has to hold the token itself.
    if (user === 'admin' && sameSecret(password, this.opts.adminToken)) return this.newSession('admin', 'admin');
    if (this.users.size === 0) return undefined;
    const known = this.users.get(user);
    const ok = await verifyPassword(password, known?.hash ?? this.dummy);
    if (!known || !ok) return undefined;
    return this.newSession(user, known.role);
  }

  /** Ends the session of `token`; false when there was none. */
  logout(token: string): boolean {
    const s = this.sessions.get(token);
    if (!s) return false;
    this.drop(s);
    return true;
  }

  /** Who `token` belongs to, or why it is not accepted. */
  check(token: string | undefined): AuthCheck {
    if (!token) return { error: 'missing session' };
    if (sameSecret(token, this.opts.adminToken)) {
      return { session: { user: 'admin', role: 'admin', token, expires: Number.POSITIVE_INFINITY } };
    }
    const s = this.sessions.get(token);
    if (!s) return { error: 'invalid session' };
    if (s.expires <= this.opts.now()) {
      this.drop(s);
      return { error: 'invalid session' };
    }
    return { session: s };
  }

  /**
   * A mark for `unchangedSince`, taken with a `check`: a websocket checks its session before
   * each event it sends, 50,000 times in a flood to 100 clients, and a lookup with its
   * constant-time compare of the admin token allocated two Buffers each time (issue 10).
   */
  get revision(): number {
    return this.ended;
  }

  /** True when a session that `check` accepted at `revision`, expiring at `expires`, still holds: none has ended since and it has not expired. */
  unchangedSince(revision: number, expires: number): boolean {
    return revision === this.ended && expires > this.opts.now();
  }

  /** Sessions held in memory (live, or expired and not yet purged). */
  sessionCount(): number {
    return this.sessions.size;
  }

  private newSession(user: string, role: Role): Session {
    this.purgeExpired();
    const token = randomBytes(24).toString('base64url');
    const s: Session = { user, role, token, expires: this.opts.now() + this.opts.sessionTtlMs };
    const mine = this.byUser.get(user);
    while (mine && mine.size >= this.maxPerUser) this.drop(this.sessions.get(first(mine))!);
    while (this.sessions.size >= this.maxSessions) this.drop(this.sessions.values().next().value!);
    this.sessions.set(token, s);
    const tokens = this.byUser.get(user) ?? new Set<string>();
    this.byUser.set(user, tokens.add(token));
    return s;
  }

  /** Drops expired sessions from the oldest on, stopping at the first live one. */
  private purgeExpired(): void {
    const now = this.opts.now();
    for (const s of this.sessions.values()) {
      if (s.expires > now) return;
      this.drop(s);
    }
  }

  private drop(s: Session): void {
    this.ended++;
    this.sessions.delete(s.token);
    const mine = this.byUser.get(s.user);
    mine?.delete(s.token);
    if (mine?.size === 0) this.byUser.delete(s.user);
  }
}

function first(tokens: Set<string>): string {
  return tokens.values().next().value!;
}

/** Compares secrets in time that does not depend on where they differ. */
export function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  // Compare against itself on a length mismatch so the time taken stays the same.
  return timingSafeEqual(a.length === b.length ? a : b, b) && a.length === b.length;
}
