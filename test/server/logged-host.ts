import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACT } from '../../src/host/logger.js';
import type { Serving } from '../../src/server/serve.js';
import type { RealHost } from '../e2e/harness.js';
import { startApiHost } from './harness.js';

/** One JSON log line as pino wrote it. */
export interface LogEntry {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface LoggedHost {
  real: RealHost;
  serving: Serving;
  /** url + base-url. */
  api: string;
  /** Every line the server logged, parsed, in order. */
  entries: LogEntry[];
  /** Every line the server logged, as written (to look for secrets). */
  text(): string;
  /** Resolves with the first entry (already logged or yet to come) that `match` accepts. */
  waitFor(match: (e: LogEntry) => boolean): Promise<LogEntry>;
  close(): Promise<void>;
}

/**
 * A real host serving on 127.0.0.1:0 whose server log (level debug, redacted as the host's) is
 * kept for the test to read; the admin token is ADMIN.
 */
export async function startLoggedHost(yaml: string, opts: { now?: () => number } = {}): Promise<LoggedHost> {
  const lines: string[] = [];
  const entries: LogEntry[] = [];
  const waiters: Array<{ match: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        lines.push(line);
        const e = JSON.parse(line) as LogEntry;
        entries.push(e);
        for (const w of waiters.filter((w) => w.match(e))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
      done();
    },
  });
  const log = pino({ level: 'debug', redact: { paths: REDACT, censor: '[redacted]' }, base: undefined }, sink);
  const host = await startApiHost(yaml, { log, now: opts.now });
  return {
    real: host.real,
    serving: host.serving,
    api: host.api,
    entries,
    text: () => lines.join('\n'),
    waitFor: (match) => {
      const seen = entries.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () => host.close(),
  };
}
