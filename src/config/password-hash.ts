// The stored form of `common.users[].password`. Here, not in src/server, because the config
// validator reads it as well as the login; scrypt itself is in src/server/password.ts.

/** What `scrypt$N$r$p$<salt>$<key>` says; `formatPasswordHash` writes it back. */
export interface PasswordHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** The shape a hash must have, for messages. */
export const HASH_FORMAT = 'scrypt$N$r$p$<salt base64>$<hash base64>';

// Bounds on what a config may ask of scrypt, so a typo in a hash cannot make each login
// take seconds or gigabytes: memory is 128 * N * r bytes per verification.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEM = 256 * 1024 * 1024;

/** Reads a stored hash; a reason (never echoing the text, which may be a plaintext password) when malformed. */
export function parsePasswordHash(text: string): PasswordHash | { error: string } {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return { error: `not a hash of the form ${HASH_FORMAT}` };
  const [N, r, p] = parts.slice(1, 4).map(decimal);
  if (N === undefined || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return { error: `N must be a power of two from 2 to ${MAX_N}` };
  if (r === undefined || r < 1 || r > MAX_R) return { error: `r must be from 1 to ${MAX_R}` };
  if (p === undefined || p < 1 || p > MAX_P) return { error: `p must be from 1 to ${MAX_P}` };
  if (128 * N * r > MAX_MEM) return { error: `N and r ask for ${(128 * N * r) / 2 ** 20} MiB per login; at most ${MAX_MEM / 2 ** 20} MiB` };
  const salt = base64(parts[4]);
  if (salt === undefined || salt.length < 8 || salt.length > 64) return { error: 'the salt must be 8 to 64 bytes in base64' };
  const key = base64(parts[5]);
  if (key === undefined || key.length < 16 || key.length > 64) return { error: 'the hash must be 16 to 64 bytes in base64' };
  return { N, r, p, salt, key };
}

export function formatPasswordHash(h: PasswordHash): string {
  return `scrypt$${h.N}$${h.r}$${h.p}$${h.salt.toString('base64')}$${h.key.toString('base64')}`;
}

function decimal(s: string): number | undefined {
  return /^[1-9][0-9]{0,9}$/.test(s) ? Number(s) : undefined;
}

/** Strict base64 (padded, standard alphabet): what formatPasswordHash writes, nothing looser. */
function base64(s: string | undefined): Buffer | undefined {
  if (s === undefined || s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  return b.toString('base64') === s ? b : undefined;
}
