import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPasswordHash, parsePasswordHash, type PasswordHash } from '../../src/config/password-hash.js';
import { hashPassword, verifyPassword } from '../../src/server/password.js';

/** A valid hash of "correct horse", computed once. */
const stored = hashPassword('correct horse');

function parsed(hash: string): PasswordHash {
  const h = parsePasswordHash(hash);
  assert.ok(!('error' in h), `not a hash: ${hash}`);
  return h;
}

test('a hash is scrypt$16384$8$1$<16-byte salt>$<32-byte key> and round-trips', async () => {
  const hash = await stored;
  assert.match(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/);
  const h = parsed(hash);
  assert.equal(h.salt.length, 16);
  assert.equal(h.key.length, 32);
  assert.equal(formatPasswordHash(h), hash);
});

test('the right password verifies; a wrong, empty or differently cased one does not', async () => {
  const hash = await stored;
  assert.equal(await verifyPassword('correct horse', hash), true);
  assert.equal(await verifyPassword('correct horse ', hash), false);
  assert.equal(await verifyPassword('Correct horse', hash), false);
  assert.equal(await verifyPassword('', hash), false);
});

test('two hashes of one password differ (random salt) and both verify', async () => {
  const again = await hashPassword('correct horse');
  assert.notEqual(again, await stored);
  assert.equal(await verifyPassword('correct horse', again), true);
});

test('a tampered hash fails: key, salt or cost changed', async () => {
  const h = parsed(await stored);
  const flip = (b: Buffer, i: number): Buffer => {
    const c = Buffer.from(b);
    c.writeUInt8(c.readUInt8(i) ^ 1, i);
    return c;
  };
  const tampered: PasswordHash[] = [
    { ...h, key: flip(h.key, 0) },
    { ...h, key: flip(h.key, 31) },
    { ...h, salt: flip(h.salt, 5) },
    { ...h, N: 8192 },
    { ...h, r: 4 },
    { ...h, p: 2 },
  ];
  for (const t of tampered) {
    const text = formatPasswordHash(t);
    assert.ok(!('error' in parsePasswordHash(text)), text);
    assert.equal(await verifyPassword('correct horse', text), false, text);
  }
});

test('a password is compared after Unicode NFC normalization', async () => {
  const hash = await hashPassword('caf\u00e9');
  assert.equal(await verifyPassword('cafe\u0301', hash), true);
});

test('malformed hashes are rejected by parse and never verify', async () => {
  const good = await stored;
  const [, , , , salt, key] = good.split('$');
  assert.ok(salt !== undefined && key !== undefined, good);
  const malformed: [string, RegExp][] = [
    ['', /not a hash of the form/],
    ['correct horse', /not a hash of the form/],
    [`bcrypt$16384$8$1$${salt}$${key}`, /not a hash of the form/],
    [`scrypt$16384$8$1$${salt}`, /not a hash of the form/],
    [`scrypt$16384$8$1$${salt}$${key}$x`, /not a hash of the form/],
    [`scrypt$16383$8$1$${salt}$${key}`, /N must be a power of two/],
    [`scrypt$0$8$1$${salt}$${key}`, /N must be a power of two/],
    [`scrypt$016384$8$1$${salt}$${key}`, /N must be a power of two/],
    [`scrypt$${2 ** 21}$1$1$${salt}$${key}`, /N must be a power of two from 2 to 1048576/],
    [`scrypt$16384$0$1$${salt}$${key}`, /r must be/],
    [`scrypt$16384$8$17$${salt}$${key}`, /p must be/],
    [`scrypt$1048576$8$1$${salt}$${key}`, /MiB per login/],
    [`scrypt$16384$8$1$AAAA$${key}`, /salt must be 8 to 64 bytes/],
    [`scrypt$16384$8$1$${salt.replace(/=+$/, '')}$${key}`, /salt must be/],
    [`scrypt$16384$8$1$${salt.slice(0, -4)}!!!=$${key}`, /salt must be/],
    [`scrypt$16384$8$1$${salt}$AAAA`, /hash must be 16 to 64 bytes/],
    [`scrypt$16384$8$1$${salt}$${key.replace(/\+|\//g, '-')}x`, /hash must be/],
  ];
  for (const [text, why] of malformed) {
    const h = parsePasswordHash(text);
    assert.ok('error' in h, `accepted: ${text}`);
    assert.match(h.error, why, text);
    assert.equal(await verifyPassword('correct horse', text), false, text);
  }
});
