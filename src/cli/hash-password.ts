import { StringDecoder } from 'node:string_decoder';
import { hashPassword } from '../server/password.js';

/** Longest password line read from a pipe; past it the input is not a password. */
const MAX_LINE_BYTES = 64 * 1024;

/** A terminal on stdin: what the hidden prompt needs of a tty.ReadStream. */
interface TtyInput extends NodeJS.ReadableStream {
  isTTY: true;
  setRawMode(mode: boolean): unknown;
}

/**
 * `floe hash-password`: reads a password from stdin (one line; on a terminal, prompted twice
 * on stderr without echo) and prints its scrypt hash for `common.users[].password`. Exit 0
 * with the hash, 1 for no or mismatched input, 2 for an argument (a password on the command
 * line lands in shell history), 130 when cancelled with Ctrl-C.
 */
export async function hashPasswordCommand(
  argv: string[],
  io: { out(s: string): void; err(s: string): void },
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  if (argv.length > 0) {
    // Not quoting the argument: it may be the password.
    io.err(
      'floe: hash-password takes no arguments; a password on the command line lands in shell history. ' +
        'Type it at the prompt, or pipe it in: floe hash-password < file\n',
    );
    return 2;
  }
  let password: string;
  if (isTty(stdin)) {
    const typed = await readHidden(stdin, io, ['password: ', 'again: ']);
    if (typed === undefined) return 130;
    const [first, again] = typed;
    if (first === undefined || first !== again) {
      io.err('floe: the two passwords differ; nothing printed\n');
      return 1;
    }
    password = first;
  } else {
    const line = await readLine(stdin);
    if ('error' in line) {
      io.err(`floe: ${line.error}\n`);
      return 1;
    }
    password = line.line;
  }
  if (password === '') {
    io.err('floe: the password is empty; nothing printed\n');
    return 1;
  }
  io.out(`${await hashPassword(password)}\n`);
  return 0;
}

function isTty(s: NodeJS.ReadableStream): s is TtyInput {
  const t = s as Partial<TtyInput>;
  return t.isTTY === true && typeof t.setRawMode === 'function';
}

/** The first line of a pipe (without its \n or \r\n); reading stops there. */
function readLine(input: NodeJS.ReadableStream): Promise<{ line: string } | { error: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (v: { line: string } | { error: string }): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
      resolve(v);
    };
    const text = (): string => Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
    const onData = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const nl = b.indexOf(0x0a);
      chunks.push(nl >= 0 ? b.subarray(0, nl) : b);
      size += nl >= 0 ? nl : b.length;
      if (size > MAX_LINE_BYTES) finish({ error: `the password line is over ${MAX_LINE_BYTES} bytes` });
      else if (nl >= 0) finish({ line: text() });
    };
    const onEnd = (): void => finish(size === 0 ? { error: 'no password on stdin' } : { line: text() });
    const onError = (err: Error): void => finish({ error: `cannot read stdin: ${err.message}` });
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}

/** Lines typed at a terminal in raw mode, one per prompt, echoing nothing; undefined on Ctrl-C or Ctrl-D. */
function readHidden(input: TtyInput, io: { err(s: string): void }, prompts: readonly [string, ...string[]]): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    const decoder = new StringDecoder('utf8');
    const lines: string[] = [];
    let current = '';
    const finish = (v: string[] | undefined): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      resolve(v);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : decoder.write(chunk)) {
        if (ch === '\r' || ch === '\n') {
          io.err('\n');
          lines.push(current);
          current = '';
          const next = prompts[lines.length];
          if (next === undefined) return finish(lines);
          io.err(next);
        } else if (ch === '\u0003' || (ch === '\u0004' && current === '')) {
          io.err('\n');
          return finish(undefined);
        } else if (ch === '\u007f' || ch === '\b') {
          current = Array.from(current).slice(0, -1).join('');
        } else if (ch === '\u0015') {
          current = '';
        } else if (ch >= ' ') {
          current += ch;
        }
      }
    };
    io.err(prompts[0]);
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}
