import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { formatPasswordHash, parsePasswordHash, type PasswordHash } from '../config/password-hash.js';

/** Cost of new hashes: scrypt's interactive-login parameters (~50 ms, 16 MiB). */
export const SCRYPT_COST = { N: 16384, r: 8, p: 1 } as const;
/** Salt and key sizes of new hashes, in bytes. */
export const SALT_BYTES = 16;
export const KEY_BYTES = 32;

/** A new hash of `password` with a random salt, in the format `common.users[].password` takes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, SCRYPT_COST, salt, KEY_BYTES);
  return formatPasswordHash({ ...SCRYPT_COST, salt, key });
}

/** Whether `password` matches `hash`; false for a malformed hash, never a throw. */
export async function verifyPassword(password: string, hash: string | PasswordHash): Promise<boolean> {
  const h = typeof hash === 'string' ? parsePasswordHash(hash) : hash;
  if ('error' in h) return false;
  const derived = await deriveKey(password, h, h.salt, h.key.length);
  return timingSafeEqual(derived, h.key);
}

function deriveKey(password: string, cost: { N: number; r: number; p: number }, salt: Buffer, length: number): Promise<Buffer> {
  // NFC, so a password typed on a terminal that composes accents differently from the browser still matches.
  const secret = password.normalize('NFC');
  const { N, r, p } = cost;
  const maxmem = 128 * N * r + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, length, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
