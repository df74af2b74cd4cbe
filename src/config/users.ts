import type { SourcePos } from '../errors.js';
import { formatPos } from '../errors.js';
import { quoteValue } from '../quote-value.js';
import { parsePasswordHash } from './password-hash.js';
import type { Role, UserConfig } from './schema.js';
import { FieldReader, childPath } from './field-reader.js';
import { entryOf } from './load.js';
import type { TreeMap } from './load.js';

export const USER_KEYS = ['user', 'password', 'role'] as const;
export const USER_ROLES: readonly Role[] = ['admin', 'user', 'viewer'];
/** Seconds a login session lasts when `session-ttl` is not given: 12 hours. */
export const DEFAULT_SESSION_TTL_SEC = 43200;
/** Longest `session-ttl`: a year, which keeps a session's expiry a valid cookie date. */
export const MAX_SESSION_TTL_SEC = 365 * 24 * 3600;

/** Read `common.users`: unique non-empty names, scrypt hashes, known roles. */
export function readUsers(r: FieldReader, common: TreeMap, commonPath: string): UserConfig[] {
  const path = childPath(commonPath, 'users');
  const users: UserConfig[] = [];
  const seen = new Map<string, SourcePos>();
  r.seq(common, commonPath, 'users')?.items.forEach((item, i) => {
    const at = childPath(path, i);
    const map = r.asMap(item, at, 'a user');
    if (map === undefined) return;
    r.checkKeys(map, at, USER_KEYS, 'a user');
    const name = r.str(map, at, 'user');
    if (r.given(map, 'user') === undefined) r.missing(map, at, 'user', 'a user needs a user name');
    else if (name !== undefined && name.trim() === '')
      r.error(entryOf(map, 'user')!.value.pos, childPath(at, 'user'), 'user must not be empty');
    const password = readHash(r, map, at);
    const role = r.oneOf(map, at, 'role', USER_ROLES) ?? 'user';
    if (name === undefined || name.trim() === '') return;
    const namePos = r.at(entryOf(map, 'user')!.value.pos, childPath(at, 'user'));
    const first = seen.get(name);
    if (first) {
      r.error(
        namePos,
        namePos.path,
        `user ${quoteValue(name)} is already defined at ${formatPos(first)} (${first.path}); user names must be unique`,
      );
      return;
    }
    seen.set(name, namePos);
    if (password !== undefined) users.push({ user: name, password, role });
  });
  return users;
}

/**
 * The `password` of a user, which must be a scrypt hash. Messages never quote the value:
 * what was written there may well be the plaintext password.
 */
function readHash(r: FieldReader, map: TreeMap, path: string): string | undefined {
  const p = childPath(path, 'password');
  const howTo = 'run `floe hash-password` to make one';
  const e = r.given(map, 'password');
  if (e === undefined) {
    r.missing(map, path, 'password', `a user needs a password: the scrypt hash of one (${howTo})`);
    return undefined;
  }
  const v = e.value;
  if (v.kind !== 'scalar' || typeof v.value !== 'string') {
    r.error(v.pos, p, `password must be a scrypt hash string (${howTo})`);
    return undefined;
  }
  const parsed = parsePasswordHash(v.value);
  if ('error' in parsed) {
    const what = v.value.startsWith('scrypt$')
      ? `password is a malformed scrypt hash: ${parsed.error}`
      : 'password must be a scrypt hash, not the password itself';
    r.error(v.pos, p, `${what} (${howTo})`);
    return undefined;
  }
  return v.value;
}
