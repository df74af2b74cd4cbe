import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { hashPasswordCommand } from '../../src/cli/hash-password.js';
import { verifyPassword } from '../../src/server/password.js';

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
