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

const OUTPUT_PREFIX = '{"type":"event","event":{"kind":"node-output"';
/** Delivery times are counted in 1 ms buckets up to this; slower ones land in the last. */
const MAX_MS = 600_000;

/** Counts of delivery times in 1 ms buckets: 100 clients x 80,000 lines would not fit a list. */
class Histogram {
  private readonly counts = new Uint32Array(MAX_MS + 1);
  private total = 0;

  add(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.counts[Math.min(MAX_MS, Math.max(0, Math.round(ms)))]!++;
    this.total++;
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

/** The integer that starts at `from` in `text`. */
function numberAt(text: string, from: number): number {
  return from < 0 ? NaN : parseInt(text.slice(from, from + 20), 10);
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
    });
    sockets.push(ws);
    let got = 0;
    let done = false;
    const settle = (): void => {
      done = true;
      if (++settled === job.clients) finish();
    };
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (done || !text.startsWith(OUTPUT_PREFIX)) return;
      // Each line starts with the epoch ms its task printed it at; `at` is when the host read it.
      const now = Date.now();
      const line = text.indexOf('"line":"');
      printed.add(now - numberAt(text, line < 0 ? -1 : line + 8));
      const at = text.lastIndexOf('"at":');
      hostRead.add(now - numberAt(text, at < 0 ? -1 : at + 5));
      if (++got === job.lines) {
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
