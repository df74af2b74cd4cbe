import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type Pretty from 'pino-pretty';
import { FloeError } from '../errors.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Paths pino blanks in every line, so secrets never reach a log whoever logs them. */
export const REDACT = [
  'password',
  'token',
  'admin',
  '*.password',
  '*.token',
  '*.admin',
  'headers.authorization',
  'headers["x-floe-auth"]',
  'headers.cookie',
];

/**
 * Structured JSON lines; human-readable when writing to a terminal. `FLOE_LOG=silent|debug|...`
 * sets the level.
 */
export function createLogger(opts: { pretty?: boolean; level?: string } = {}): Logger {
  const level = opts.level ?? process.env.FLOE_LOG ?? 'info';
  if (!LEVELS.includes(level)) throw new FloeError('bad-request', `FLOE_LOG must be one of ${LEVELS.join(', ')}; got "${level}"`);
  const base = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: undefined };
  if (opts.pretty ?? process.stdout.isTTY) {
    // Loaded only for a terminal: a host logging JSON to a pipe never needs it (1.2 MB of heap).
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof Pretty;
    return pino(base, pretty({ sync: true, colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  // Synchronous, a write() a line. pino's default stdout is asynchronous: at exit its flush
  // writes the lines still queued while an earlier one is in flight on libuv's threads, so the
  // last lines, the ones that say why a host stopped, came out of order or not at all
  // (test/host/logger.test.ts), and with nobody reading it would buffer without bound. The cost
  // is a syscall per line on the loop, no more than the asynchronous write measured (issue 10).
  return pino(base, pino.destination({ dest: 1, sync: true }));
}
