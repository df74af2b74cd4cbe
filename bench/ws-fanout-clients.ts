// The websocket clients of ws-fanout.ts, on a worker thread of their own, so that reading 100
// streams does not delay the /health probes the main thread times.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

export interface ClientsJob {
  url: string;
  /** Session tokens: a token may hold 16 sockets. */
  tokens: string[];
  /** Local addresses to connect from: an address may hold 64 sockets. */
  addresses: string[];
  clients: number;
  /** Output lines each client waits for. */
  lines: number;
}

export type ClientsMessage =
  | { type: 'ready' }
  | { type: 'done'; printed: Quantiles; hostRead: Quantiles; complete: number; dropped: number; closeCodes: number[] }
  | { type: 'failed'; message: string };

/** Delivery times, ms. */
export interface Quantiles {
  p50: number;
  p99: number;
  max: number;
}

// Frames are searched as bytes, never decoded: 100 clients get 880 MB, and one thread reads them.
const OUTPUT_PREFIX = Buffer.from('{"type":"event","event":{"kind":"node-output"');
const FIRST = Buffer.from('"first":');
const LAST = Buffer.from('"last":');
const LINES = Buffer.from('"lines":["');
const AT = Buffer.from('"at":');
/** Delivery times are counted in 1 ms buckets up to this; slower ones land in the last. */
const MAX_MS = 600_000;

/** Counts of delivery times in 1 ms buckets: 100 clients x 80,000 lines would not fit a list. */
class Histogram {
  private readonly counts = new Uint32Array(MAX_MS + 1);
  private total = 0;

  /** Counts `times` deliveries of `ms`. */
  add(ms: number, times = 1): void {
    if (!Number.isFinite(ms)) return;
    this.counts[Math.min(MAX_MS, Math.max(0, Math.round(ms)))]! += times;
    this.total += times;
  }

  quantiles(): Quantiles {
    return { p50: this.at(0.5), p99: this.at(0.99), max: this.at(1) };
  }

  private at(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let ms = 0; ms < this.counts.length; ms++) {
      seen += this.counts[ms]!;
      if (seen >= rank) return ms;
    }
    return MAX_MS;
  }
}

/** The digits that start at `from` in `b`, as a number; NaN when there are none. */
function numberAt(b: Buffer, from: number): number {
  let n = 0;
  let i = from;
  for (; i >= 0 && i < b.length && b[i]! >= 0x30 && b[i]! <= 0x39; i++) n = n * 10 + b[i]! - 0x30;
  return i > from ? n : NaN;
}

/** Where `key` ends in `b` (its last occurrence with `last`), or -1. */
function after(b: Buffer, key: Buffer, from = 0, last = false): number {
  const at = last ? b.lastIndexOf(key) : b.indexOf(key, from);
  return at < 0 ? -1 : at + key.length;
}

async function runClients(job: ClientsJob, port: NonNullable<typeof parentPort>): Promise<void> {
  const printed = new Histogram();
  const hostRead = new Histogram();
  let complete = 0;
  let dropped = 0;
  const closeCodes: number[] = [];
  let settled = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const sockets: WebSocket[] = [];
  const opened: Array<Promise<void>> = [];
  for (let i = 0; i < job.clients; i++) {
    const ws = new WebSocket(job.url, {
      headers: { 'X-Floe-Auth': job.tokens[Math.floor(i / 15) % job.tokens.length]! },
      localAddress: job.addresses[Math.floor(i / 60) % job.addresses.length],
      // The host's frames are JSON it wrote; checking 880 MB of UTF-8 here only slows the reading.
      skipUTF8Validation: true,
    });
    sockets.push(ws);
    let got = 0;
    let done = false;
    const settle = (): void => {
      done = true;
      if (++settled === job.clients) finish();
    };
    ws.on('message', (data: Buffer) => {
      if (done || data.length < OUTPUT_PREFIX.length || OUTPUT_PREFIX.compare(data, 0, OUTPUT_PREFIX.length) !== 0) return;
      // Each line starts with the epoch ms its task printed it at; `at` is when the host read it.
      // A frame's lines arrive together and were printed in order, so its first line's delay
      // bounds each of theirs: counted for every line, it makes the quantiles upper bounds,
      // without reading every line. No JSON string holds `"first":` or `"at":` unescaped.
      const now = Date.now();
      const first = after(data, FIRST);
      const count = numberAt(data, after(data, LAST, first)) - numberAt(data, first) + 1;
      printed.add(now - numberAt(data, after(data, LINES, first)), count);
      hostRead.add(now - numberAt(data, after(data, AT, 0, true)), count);
      got += count;
      if (got >= job.lines) {
        complete++;
        settle();
      }
    });
    ws.on('close', (code) => {
      if (done) return;
      dropped++;
      closeCodes.push(code);
      settle();
    });
    opened.push(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }),
    );
  }
  try {
    await Promise.all(opened);
  } catch (err) {
    for (const ws of sockets) ws.terminate();
    throw err;
  }
  port.postMessage({ type: 'ready' } satisfies ClientsMessage);
  await finished;
  for (const ws of sockets) ws.terminate();
  port.postMessage({
    type: 'done',
    printed: printed.quantiles(),
    hostRead: hostRead.quantiles(),
    complete,
    dropped,
    closeCodes,
  } satisfies ClientsMessage);
}

if (parentPort) {
  const port = parentPort;
  runClients(workerData as ClientsJob, port).catch((err: unknown) =>
    port.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies ClientsMessage),
  );
}
