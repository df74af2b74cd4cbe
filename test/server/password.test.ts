import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { hashPasswordCommand } from '../../src/hash-password.js';
import { formatPasswordHash, hashPassword, parsePasswordHash, verifyPassword, type PasswordHash } from '../../src/server/password.js';

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
    c[i] ^= 1;
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

/** Output of one hash-password call. */
interface Ran {
  code: number;
  out: string;
  err: string;
}

async function runHashPassword(argv: string[], stdin: NodeJS.ReadableStream): Promise<Ran> {
  let out = '';
  let err = '';
  const code = await hashPasswordCommand(argv, { out: (s) => (out += s), err: (s) => (err += s) }, stdin);
  return { code, out, err };
}

function piped(text: string): PassThrough {
  const s = new PassThrough();
  s.end(text);
  return s;
}

test('hash-password hashes the first line of a piped stdin', async () => {
  const r = await runHashPassword([], piped('correct horse\nsecond line\n'));
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  assert.match(r.out, /^scrypt\$16384\$8\$1\$\S+\n$/);
  assert.equal(await verifyPassword('correct horse', r.out.trim()), true);
});

test('hash-password takes a last line without newline and strips a CRLF ending', async () => {
  const bare = await runHashPassword([], piped('s3cret'));
  assert.equal(await verifyPassword('s3cret', bare.out.trim()), true);
  const crlf = await runHashPassword([], piped('s3cret\r\n'));
  assert.equal(await verifyPassword('s3cret', crlf.out.trim()), true);
});

test('hash-password refuses a password given as an argument with exit 2, without repeating it', async () => {
  const r = await runHashPassword(['hunter2'], piped('ignored\n'));
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.match(r.err, /takes no arguments; a password on the command line lands in shell history/);
  assert.ok(!r.err.includes('hunter2'));
});

test('hash-password prints nothing and exits 1 for an empty or missing password', async () => {
  for (const input of ['', '\n', '\r\n']) {
    const r = await runHashPassword([], piped(input));
    assert.equal(r.code, 1, JSON.stringify(input));
    assert.equal(r.out, '');
  }
});

/** A stand-in for a terminal on stdin: raw mode is recorded, keystrokes are written by the test. */
function fakeTty(): PassThrough & { isTTY: true; setRawMode(m: boolean): void; modes: boolean[] } {
  const s = new PassThrough() as PassThrough & { isTTY: true; setRawMode(m: boolean): void; modes: boolean[] };
  s.isTTY = true;
  s.modes = [];
  s.setRawMode = (m) => void s.modes.push(m);
  return s;
}

test('on a terminal hash-password prompts twice on stderr in raw mode, echoes nothing, and handles backspace', async () => {
  const tty = fakeTty();
  const running = runHashPassword([], tty);
  tty.write('s3crx\u007fet\r');
  tty.write('s3cret\r');
  const r = await running;
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, 'password: \nagain: \n');
  assert.deepEqual(tty.modes, [true, false], 'raw mode on, then restored');
  assert.equal(await verifyPassword('s3cret', r.out.trim()), true);
});

test('on a terminal two different passwords print nothing and exit 1; Ctrl-C exits 130', async () => {
  const differ = fakeTty();
  const r1 = runHashPassword([], differ);
  differ.write('one\rtwo\r');
  const a = await r1;
  assert.equal(a.code, 1);
  assert.equal(a.out, '');
  assert.match(a.err, /the two passwords differ/);
  assert.deepEqual(differ.modes, [true, false]);

  const cancelled = fakeTty();
  const r2 = runHashPassword([], cancelled);
  cancelled.write('half\u0003');
  const b = await r2;
  assert.equal(b.code, 130);
  assert.equal(b.out, '');
  assert.deepEqual(cancelled.modes, [true, false]);
});
