import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { FloeError } from '../errors.js';
import type { AuthCheck } from './auth.js';
import { Backoff, type BackoffPolicy } from './backoff.js';
import { RecentMap } from './recent-map.js';
import { addressBytes, mappedIPv4 } from '../ip-address.js';

/** Answered 429 with Retry-After: the client or user must wait before trying again. */
export class TooManyFailures extends FloeError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super('too-many-requests', message);
  }

  /** Whole seconds for Retry-After, rounded up so a client that obeys it is not refused again. */
  get retryAfterSec(): number {
    return seconds(this.retryAfterMs);
  }
}

const MINUTE = 60_000;
/** Shared by every limit: 1 s doubling to 15 min, forgotten after an hour without failures. */
const CURVE = { firstWaitMs: 1000, maxWaitMs: 15 * MINUTE, maxKeys: 10_000, forgetMs: 60 * MINUTE };
/**
 * The per-user limit's longest wait. Any address can add to a user's count, so its wait is
 * one that addresses which did nothing wrong share: a few addresses could keep a 15 min one
 * going for ever. At 30 s a user's login from a fresh address waits at most 30 s, while the
 * guesses at one user from fresh addresses stay at most one per 30 s (each address is held
 * to far fewer by its own per-pair and per-client limits).
 */
const USER_MAX_WAIT_MS = 30_000;

export interface LoginLimitPolicies {
  /** One client guessing one user's password: strict. */
  pair: BackoffPolicy;
  /** One client, all users together: looser, so a NAT of honest users is not locked out. */
  client: BackoffPolicy;
  /**
   * One user, all clients together: looser, and short waits, since it holds back clients that
   * did nothing wrong; it does not hold back clients that logged in as that user before.
   * Names that are no configured user all count as one, so its keys are the configured users
   * and that one: its maxKeys is not used, lest anything push a user's count out.
   */
  user: BackoffPolicy;
  /**
   * Distinct bad tokens (X-Floe-Auth or cookie) from one client. Generous: made tokens are too
   * long to guess, so this only guards a weak -admin token, while every browser behind one
   * NAT can bring a stale cookie after a restart.
   */
  token: BackoffPolicy;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimitPolicies = {
  pair: { free: 5, ...CURVE },
  client: { free: 20, ...CURVE },
  user: { free: 20, ...CURVE, maxWaitMs: USER_MAX_WAIT_MS },
  token: { free: 100, ...CURVE },
};

/** A login let through by `admitLogin`; report how it ended with loginFailed or loginSucceeded. */
export interface LoginAttempt {
  readonly address: string;
  readonly user: string;
  /** Whether the log may show `user`: see `admitLogin`. */
  readonly isUser: boolean;
  readonly keys: { client: string; pair: string; user: string };
  /** The client's count with this attempt, to take it back if it succeeds; 0: not counted. */
  readonly clientCount: number;
  /** The longest wait the failure counted at admission starts (0: none), for the warning. */
  readonly waitMs: number;
  readonly failures: number;
}

/**
 * Slows password and token guessing (issue 7). Failed logins back off per (client, user),
 * per client and per user; bad tokens per client. A client is its address, or its /64 for IPv6,
 * since one machine has a whole /64 to pick from. Each limit refuses with TooManyFailures while
 * it waits; failures are logged once per wait with the client address and the user name when it
 * is a configured one, never a password or token.
 *
 * The per-user limit is what stops many addresses guessing one password. It would also let them
 * keep that user locked out everywhere, so it does not apply to a client that has logged in as
 * that user before (since the host started), and its waits are short (USER_MAX_WAIT_MS).
 * Neither does the per-client limit: behind a shared address (a NAT, a proxy not listed in
 * common.trusted-proxies) every client has that address, which anyone can keep waiting; such a
 * client is held by the per-(client, user) limit alone.
 *
 * Names that are no configured user count under one key in the per-user and per-pair limits:
 * made up by the thousand, each its own key, they would push real users' counts out.
 *
 * Bad tokens hold back only what a token could be guessing at: the admin token and unknown
 * tokens. A live login session's token (192 random bits) is still served, so the many users of
 * one address (a proxy, a NAT) are not locked out by one of them sending bad tokens.
 */
export class LoginLimits {
  private readonly pair: Backoff;
  private readonly client: Backoff;
  private readonly user: Backoff;
  private readonly token: Backoff;
  /** (client, user) pairs that have logged in. */
  private readonly known: RecentMap<true>;
  /** (client, token digest) pairs seen bad: a stale cookie sent again and again counts once. */
  private readonly badTokens: RecentMap<true>;
  /**
   * Keys the tags of unknown user names in the log: unkeyed, a weak password typed as a user
   * name could be found from its tag by trying a word list.
   */
  private readonly logKey = randomBytes(32);

  constructor(
    private readonly deps: { now: () => number; log: Logger },
    policies: LoginLimitPolicies = DEFAULT_LOGIN_LIMITS,
  ) {
    this.pair = new Backoff(policies.pair, deps.now);
    this.client = new Backoff(policies.client, deps.now);
    this.user = new Backoff({ ...policies.user, maxKeys: Number.POSITIVE_INFINITY }, deps.now);
    this.token = new Backoff(policies.token, deps.now);
    this.known = new RecentMap(policies.pair.maxKeys, Number.POSITIVE_INFINITY, deps.now);
    this.badTokens = new RecentMap(policies.token.maxKeys, policies.token.forgetMs, deps.now);
  }

  /**
   * Lets a login from `address` as `user` go on to the password check, or throws
   * TooManyFailures. The attempt is counted as failed now, before the (slow) password check, so
   * parallel attempts cannot all slip in under a limit; loginSucceeded takes it back.
   * `isUser`: whether `user` names a configured user (or is `admin` with none configured); only
   * then may the log show it, since a password typed into the user field is no user name.
   */
  admitLogin(address: string | undefined, user: string, { isUser }: { isUser: boolean }): LoginAttempt {
    const client = clientKey(address);
    // No digest (base64url) holds a space, so no configured name shares the unknown names' key.
    const name = isUser ? digest(user) : 'unknown user';
    const keys = { client, pair: `${client} ${name}`, user: name };
    const isKnown = this.known.get(keys.pair) !== undefined;
    const wait = isKnown
      ? this.pair.waitMs(keys.pair)
      : Math.max(this.client.waitMs(keys.client), this.pair.waitMs(keys.pair), this.user.waitMs(keys.user));
    if (wait > 0) throw new TooManyFailures(`too many failed logins; try again in ${seconds(wait)} s`, wait);
    // A known pair is not counted against its client, whose wait it skips: its success would
    // take back a failure that ended the client's wait, and its typos would hold back others.
    const byClient = isKnown ? { count: 0, waitMs: 0 } : this.client.fail(keys.client);
    const [pair, byUser] = [this.pair.fail(keys.pair), this.user.fail(keys.user)];
    return {
      address: address ?? '?',
      user,
      isUser,
      keys,
      clientCount: byClient.count,
      waitMs: Math.max(pair.waitMs, byClient.waitMs, byUser.waitMs),
      failures: pair.count,
    };
  }

  /** The password was wrong: warns when this failure started a wait. */
  loginFailed(a: LoginAttempt): void {
    if (a.waitMs === 0) return;
    const user = a.isUser ? a.user : `unknown user #${createHmac('sha256', this.logKey).update(a.user).digest('hex').slice(0, 8)}`;
    this.deps.log.warn(
      { client: a.address, user, failures: a.failures, retryAfterSec: seconds(a.waitMs) },
      `repeated failed logins from ${a.address} as ${user}: refused for ${seconds(a.waitMs)} s`,
    );
  }

  /**
   * The password was right: the counts of this user and of the pair start over. The client's
   * count only loses this attempt: clearing it would let anyone with an account reset the
   * limit on spraying guesses at other users by logging in as themselves.
   */
  loginSucceeded(a: LoginAttempt): void {
    this.pair.clear(a.keys.pair);
    if (a.clientCount > 0) this.client.takeBack(a.keys.client, a.clientCount);
    this.user.clear(a.keys.user);
    this.known.set(a.keys.pair, true);
  }

  /**
   * For a request whose access depends on its token (`checked` is what the token named):
   * throws TooManyFailures while `address` waits after too many bad tokens, and counts a bad
   * one. See tokenRefusal.
   */
  admitToken(address: string | undefined, token: string | null | undefined, checked: AuthCheck): void {
    const refusal = this.tokenRefusal(address, token, checked);
    if (refusal) throw refusal;
  }

  /**
   * What admitToken would throw, for callers outside koa (the websocket upgrade). While the
   * client waits, the admin token (it may be short and chosen by hand) and unknown tokens are
   * refused, the right one too, so waiting tells a guesser nothing; a live session is served.
   * No token at all is no guess.
   */
  tokenRefusal(address: string | undefined, token: string | null | undefined, checked: AuthCheck): TooManyFailures | undefined {
    if (token === undefined || isLoginSession(checked)) return undefined;
    const wait = this.token.waitMs(clientKey(address));
    if (wait > 0) return new TooManyFailures(`too many bad tokens; try again in ${seconds(wait)} s`, wait);
    if ('error' in checked) this.tokenFailed(address, token);
    return undefined;
  }

  /**
   * Counts a token from `address` that named no session (null: one that could not be read).
   * The same bad token again counts once, so a browser repeating a stale cookie is not
   * treated as guessing.
   */
  private tokenFailed(address: string | undefined, token: string | null): void {
    const client = clientKey(address);
    const seen = `${client} ${digest(token ?? '')}`;
    if (this.badTokens.get(seen)) return;
    this.badTokens.set(seen, true);
    const { count, waitMs } = this.token.fail(client);
    if (waitMs === 0) return;
    this.deps.log.warn(
      { client: address ?? '?', failures: count, retryAfterSec: seconds(waitMs) },
      `repeated bad tokens from ${address ?? '?'}: refused for ${seconds(waitMs)} s`,
    );
  }

  /** Entries held across all limits; bounded by the policies' maxKeys. */
  tracked(): number {
    return this.pair.size + this.client.size + this.user.size + this.token.size + this.known.size + this.badTokens.size;
  }
}

/** The key of a client address: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function clientKey(address: string | undefined): string {
  if (!address) return '?';
  // In any spelling (`::ffff:a00:1` too), or every such client would share one /64.
  const mapped = mappedIPv4(address);
  if (mapped !== undefined) return mapped;
  const bytes = addressBytes(address);
  if (bytes?.length !== 16) return address;
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `${groups.join(':')}::/64`;
}

/** Short and fixed-size: user names and tokens of any length cost the same memory. */
function digest(s: string): string {
  return createHash('sha256').update(s).digest('base64url').slice(0, 22);
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** A session made by a login; the admin token's is the one that never expires (Auth.check). */
function isLoginSession(checked: AuthCheck): boolean {
  return 'session' in checked && Number.isFinite(checked.session.expires);
}
