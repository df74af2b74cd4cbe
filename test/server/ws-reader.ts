import { parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { WebSocket } from 'ws';

/**
 * A websocket client on its own thread. A client on the host's thread cannot read while the hub
 * publishes a burst of output (one loop turn can publish ~30,000 lines), so it would look slow
 * to the server; a real client reads concurrently, and so does this one.
 */

/** What the reader saw from its hello up to the end of one run. */
export interface ReaderSummary {
  helloSeq: number;
  events: number;
  lastSeq: number;
  /** Every seq was the one before plus one. */
  gapless: boolean;
  stdoutLines: number;
}

export interface Reader {
  helloSeq: number;
  /** Resolves when the reader sees `run` end; rejects if its socket closes first. */
  summaryAtEnd(run: string): Promise<ReaderSummary>;
  stop(): Promise<void>;
}

type ToMain = { type: 'hello'; lastSeq: number } | { type: 'end'; run: string; summary: ReaderSummary } | { type: 'close'; code: number };

export async function startReader(url: string, token: string): Promise<Reader> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { wsReader: { url, token } } });
  const ends = new Map<string, ReaderSummary>();
  let closed: number | undefined;
  let wake: (() => void) | undefined;
  let helloSeq: number | undefined;
  worker.on('message', (m: ToMain) => {
    if (m.type === 'hello') helloSeq = m.lastSeq;
    else if (m.type === 'end') ends.set(m.run, m.summary);
    else closed = m.code;
    wake?.();
  });
  const until = async <T>(check: () => T | undefined): Promise<T> => {
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      if (closed !== undefined) throw new Error(`reader closed with ${closed}`);
      await new Promise<void>((r) => (wake = r));
    }
  };
  await until(() => helloSeq);
  return {
    helloSeq: helloSeq!,
    summaryAtEnd: (run) => until(() => ends.get(run)),
    stop: async () => {
      await worker.terminate();
    },
  };
}

function read(port: MessagePort, opts: { url: string; token: string }): void {
  const ws = new WebSocket(opts.url, { headers: { 'X-Floe-Auth': opts.token } });
  const post = (m: ToMain): void => port.postMessage(m);
  let s: ReaderSummary | undefined;
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as { type: string; lastSeq: number; event: any };
    if (f.type === 'hello') {
      s = { helloSeq: f.lastSeq, events: 0, lastSeq: f.lastSeq, gapless: true, stdoutLines: 0 };
      return post({ type: 'hello', lastSeq: f.lastSeq });
    }
    if (f.type !== 'event' || !s) return;
    s.events++;
    if (f.event.seq !== s.lastSeq + 1) s.gapless = false;
    s.lastSeq = f.event.seq;
    if (f.event.kind === 'node-output' && f.event.stream === 'stdout') s.stdoutLines += f.event.lines.length;
    if (f.event.kind === 'end') post({ type: 'end', run: f.event.ref.run, summary: { ...s } });
  });
  ws.on('close', (code) => post({ type: 'close', code }));
  ws.on('error', () => {});
}

// Run as a worker by startReader; a no-op when loaded any other way (the test runner loads
// every file under test/).
const reader = (workerData as { wsReader?: { url: string; token: string } } | null)?.wsReader;
if (parentPort && reader) read(parentPort, reader);
