import { open } from 'node:fs/promises';
import { FlagError, type FlagValues } from './flags.js';

/** Where the admin token came from, for messages. */
export type AdminTokenSource = '-admin' | '-admin_file' | 'FLOE_ADMIN';

/** A token file is one short line; reading stops here, so `-admin_file /dev/zero` cannot fill memory. */
const MAX_FILE_BYTES = 4096;

/**
 * The admin token from -admin, -admin_file (its first line, trimmed) or FLOE_ADMIN, or
 * undefined when none is given. Giving two is a FlagError naming both. FLOE_ADMIN is deleted
 * from `env` whatever happens, so no process the host starts (tasks, git) inherits it.
 * `warn` hears of a token file that group or others may read.
 */
export async function readAdminToken(
  values: FlagValues,
  env: NodeJS.ProcessEnv,
  warn: (message: string, fields: Record<string, unknown>) => void,
): Promise<{ token: string; source: AdminTokenSource } | undefined> {
  const fromEnv = env.FLOE_ADMIN;
  delete env.FLOE_ADMIN;
  const given: AdminTokenSource[] = [];
  if (typeof values.admin === 'string') given.push('-admin');
  if (typeof values.admin_file === 'string') given.push('-admin_file');
  if (fromEnv !== undefined && fromEnv !== '') given.push('FLOE_ADMIN');
  if (given.length > 1) {
    const names = given.length === 2 ? `both ${given[0]} and ${given[1]}` : `${given.slice(0, -1).join(', ')} and ${given.at(-1)}`;
    throw new FlagError(`the admin token is given by ${names}; give it one way (-admin_file or FLOE_ADMIN keep it off the command line)`);
  }
  switch (given[0]) {
    case undefined:
      return undefined;
    case '-admin':
      return { token: String(values.admin), source: '-admin' };
    case 'FLOE_ADMIN':
      return { token: String(fromEnv), source: 'FLOE_ADMIN' };
    case '-admin_file': {
      const file = String(values.admin_file);
      return { token: await readTokenFile(file, warn), source: '-admin_file' };
    }
  }
}

async function readTokenFile(file: string, warn: (message: string, fields: Record<string, unknown>) => void): Promise<string> {
  let text: string;
  let mode: number;
  try {
    const fh = await open(file, 'r');
    try {
      mode = (await fh.stat()).mode;
      const buf = Buffer.alloc(MAX_FILE_BYTES);
      const { bytesRead } = await fh.read(buf, 0, MAX_FILE_BYTES, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new FlagError(`flag -admin_file: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const newline = text.search(/\r?\n/);
  if (newline < 0 && text.length >= MAX_FILE_BYTES)
    throw new FlagError(
      `flag -admin_file: the first line of ${file} is over ${MAX_FILE_BYTES} bytes; it should hold the admin token alone`,
    );
  const token = (newline < 0 ? text : text.slice(0, newline)).trim();
  if (token === '') throw new FlagError(`flag -admin_file: the first line of ${file} is empty; it should hold the admin token`);
  // Like ssh with its keys, but a warning: a container's mounted secret is often 0644 in a
  // directory only floe can enter.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    warn(`-admin_file ${file} may be read by group or others (mode ${octal}); chmod 600 it`, { file, mode: octal });
  }
  return token;
}
