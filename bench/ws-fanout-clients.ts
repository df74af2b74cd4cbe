// Websocket clients of ws-fanout.ts, on worker threads of their own, so that reading 100
// streams does not delay the /health probes the main thread times.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { constants, inflateRawSync } from 'node:zlib';
import { Histogram, type SparseCounts } from './histogram.js';

export interface ClientsJob {
  url: string;
  /** Session tokens: a token may hold 16 sockets. */
  tokens: string[];
  /** Local addresses to connect from: an address may hold 64 sockets. */
  addresses: string[];
  /** Clients of this thread. */
  clients: number;
  /** Of all threads' clients, the number of this thread's first: it picks each client's token and address. */
  first: number;
  /** Output lines of the warm-up flood each client waits for first; heard, they are not counted. */
  warmLines: number;
  /** Output lines of one measured flood. */
  lines: number;
  /** Measured floods, one after the other: each client waits for `floods` x `lines` lines after the warm-up. */
  floods: number;
  /** Offer permessage-deflate, as browsers do, and inflate what comes compressed. */
  deflate: boolean;
}

export type ClientsMessage =
  | { type: 'ready' }
  | { type: 'warm' }
  /** Every client heard flood `flood` (from 1), or was dropped; the last one is answered with `done` instead. */
  | { type: 'flood'; flood: number }
  | {
      type: 'done';
      /** Line printed -> client, ms, and the host's read of it -> client; of `printed`, each flood's. */
      printed: SparseCounts;
      hostRead: SparseCounts;
      floodPrinted: SparseCounts[];
      /** This thread's event-loop delay over the measured floods, ms: a line waits out its stalls too. */
      loopDelay: { p99: number; max: number };
      complete: number;
      dropped: number;
      closeCodes: number[];
    }
  | { type: 'failed'; message: string };

// Frames are searched as bytes, never decoded: 100 clients get 880 MB, and one thread reads them.
const OUTPUT_PREFIX = Buffer.from('{"type":"event","event":{"kind":"node-output"');
const FIRST = Buffer.from('"first":');
const LAST = Buffer.from('"last":');
const LINES = Buffer.from('"lines":["');
const AT = Buffer.from('"at":');

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

/** A frame's payload is kept only this far from each end: all the clients look at. */
const HEAD_BYTES = 512;
const TAIL_BYTES = 128;

/** What RFC 7692 has the receiver put back at the end of a compressed message before inflating it. */
const SYNC_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const NO_BYTES = Buffer.alloc(0);

/**
 * Distinct messages of each kind kept read: more than a flood's events (about 500), so a client
 * that fell behind the others still finds each frame read. At 256, one that fell that far
 * behind inflated every frame itself and so fell further behind.
 */
const MESSAGES_KEPT = 4096;

/** A distinct message, read once for all the clients that get it. */
interface Distinct {
  /** Its bytes as they came: compressed, or for a plain one what the clients keep of it. */
  key: Buffer;
  /** Its output figures (null: not an output event). */
  read: OutputFigures | null;
  /** The distinct message of its kind first heard after this one: every client hears the same events in the same order. */
  next?: Distinct;
}

/**
 * Messages read once for all the clients that get the same bytes. The host encodes (and
 * compresses) each event once for all its clients (server/event-frames.ts), so 100 clients get
 * 100 copies of each frame; 100 browsers would each inflate and parse theirs on a machine of
 * their own, but here they share the host's 2 cores, and doing it 100 times on one thread made
 * the clients, not the host, the bottleneck of delivery (issue 10). Each client still reads and
 * reassembles every byte of its own socket; a copy is matched byte for byte, never by a hash:
 * first against the message that followed the client's last one (`after`), which is nearly
 * always it, then against every kept one of its length.
 */
class DistinctMessages {
  private readonly byLength = new Map<number, Distinct[]>();
  private readonly order: Distinct[] = [];

  /** `bytes`' entry; `kept` makes what the clients read of a new one. */
  get(bytes: Buffer, after: Distinct | undefined, kept: (bytes: Buffer) => Buffer): Distinct {
    if (after?.next?.key.equals(bytes)) return after.next;
    const same = this.byLength.get(bytes.length);
    const hit = same?.find((k) => k.key.equals(bytes));
    if (hit) return hit;
    // Its own memory, not a view of an 8 KiB pool slab that thousands of kept keys would pin.
    const key = Buffer.allocUnsafeSlow(bytes.length);
    bytes.copy(key);
    const entry: Distinct = { key, read: outputFigures(kept(key)) };
    const newest = this.order.at(-1);
    if (newest) newest.next = entry;
    if (same) same.push(entry);
    else this.byLength.set(bytes.length, [entry]);
    this.order.push(entry);
    if (this.order.length > MESSAGES_KEPT) {
      const old = this.order.shift()!;
      old.next = undefined;
      const list = this.byLength.get(old.key.length)!;
      list.splice(list.indexOf(old), 1);
      if (list.length === 0) this.byLength.delete(old.key.length);
    }
    return entry;
  }
}

const compressedMessages = new DistinctMessages();
/** Small events (under event-frames.ts' 1 KiB) go plain: about one frame in six of a flood. */
const plainMessages = new DistinctMessages();

function inflate(z: Buffer): Buffer {
  return headAndTail(inflateRawSync(Buffer.concat([z, SYNC_TAIL]), { finishFlush: constants.Z_SYNC_FLUSH }));
}

/** What a client reads of an output event: its line count, when its first line was printed, when the host read it. */
interface OutputFigures {
  count: number;
  printedAt: number;
  hostReadAt: number;
}

/**
 * Each line starts with the epoch ms its task printed it at; `at` is when the host read it. A
 * frame's lines arrive together and were printed in order, so its first line's delay bounds
 * each of theirs: counted for every line, it makes the quantiles upper bounds, without reading
 * every line. No JSON string holds `"first":` or `"at":` unescaped.
 */
function outputFigures(data: Buffer): OutputFigures | null {
  if (data.length < OUTPUT_PREFIX.length || OUTPUT_PREFIX.compare(data, 0, OUTPUT_PREFIX.length) !== 0) return null;
  const first = after(data, FIRST);
  return {
    count: numberAt(data, after(data, LAST, first)) - numberAt(data, first) + 1,
    printedAt: numberAt(data, after(data, LINES, first)),
    hostReadAt: numberAt(data, after(data, AT, 0, true)),
  };
}

/** Of a message, what the clients read: its first HEAD_BYTES and last TAIL_BYTES, a NUL between. */
function headAndTail(message: Buffer): Buffer {
  if (message.length <= HEAD_BYTES) return message;
  return Buffer.concat([message.subarray(0, HEAD_BYTES), Buffer.from('\u0000'), message.subarray(message.length - TAIL_BYTES)]);
}

/**
 * A websocket client that keeps, of each text frame, only its first HEAD_BYTES and last
 * TAIL_BYTES (issue 10). ws's client copied every frame whole and left 880 MB to the collector:
 * on the bench's 2 cores that thread took more CPU than the host it was timing, and its stalls
 * counted as the host's delivery delay. Here a payload is passed over where it lies in the
 * socket's chunk. Server frames are unmasked and, from floe, never fragmented. With `deflate`
 * it offers permessage-deflate as a browser does (`client_max_window_bits`), and a compressed
 * frame (RSV1) is kept whole and inflated, each on its own as the host grants no context takeover
 * (through `inflated`, shared by the clients).
 */
function openClient(
  url: string,
  token: string,
  localAddress: string,
  deflate: boolean,
  onOutput: (figures: OutputFigures) => void,
  onClose: (code: number) => void,
): Promise<Socket> {
  const u = new URL(url);
  const socket = connect({ host: u.hostname, port: Number(u.port), localAddress });
  socket.setNoDelay(true);
  let upgraded = false;
  let pending: Buffer = Buffer.alloc(0); // header bytes, or the upgrade answer, split across chunks
  let need = 0; // payload bytes of the current frame still to come
  let opcode = 0;
  let rsv1 = false;
  let length = 0;
  let compressed: Buffer = NO_BYTES;
  // The last distinct message of each kind this client got: its next is nearly always the next one.
  let lastCompressed: Distinct | undefined;
  let lastPlain: Distinct | undefined;
  let compressedLen = 0;
  let head: Buffer[] = [];
  let headLen = 0;
  let tail: Buffer = Buffer.alloc(0);
  let closed = false;
  const close = (code: number): void => {
    if (closed) return;
    closed = true;
    onClose(code);
    socket.destroy();
  };
  const keep = (b: Buffer): void => {
    if (rsv1) {
      b.copy(compressed, compressedLen);
      compressedLen += b.length;
      return;
    }
    if (headLen < HEAD_BYTES) {
      const part = b.subarray(0, HEAD_BYTES - headLen);
      head.push(Buffer.from(part));
      headLen += part.length;
    }
    tail = b.length >= TAIL_BYTES ? Buffer.from(b.subarray(b.length - TAIL_BYTES)) : Buffer.concat([tail, b]).subarray(-TAIL_BYTES);
  };
  const frameDone = (): void => {
    if (rsv1) {
      const message = compressedMessages.get(compressed.subarray(0, compressedLen), lastCompressed, inflate);
      lastCompressed = message;
      compressed = NO_BYTES;
      compressedLen = 0;
      rsv1 = false;
      if (opcode === 0x1 && message.read) onOutput(message.read);
      return;
    }
    const h = Buffer.concat(head);
    if (opcode === 0x1) {
      const message = plainMessages.get(
        length <= HEAD_BYTES ? h : Buffer.concat([h, Buffer.from('\u0000'), tail]),
        lastPlain,
        (kept) => kept,
      );
      lastPlain = message;
      if (message.read) onOutput(message.read);
    } else if (opcode === 0x8) close(h.length >= 2 ? h.readUInt16BE(0) : 1005);
    else if (opcode === 0x9) socket.write(Buffer.concat([Buffer.from([0x8a, 0x80 | h.length, 0, 0, 0, 0]), h]));
    head = [];
    headLen = 0;
    tail = Buffer.alloc(0);
  };
  const onData = (chunk: Buffer): void => {
    let at = 0;
    while (at < chunk.length) {
      if (need > 0) {
        const take = Math.min(need, chunk.length - at);
        keep(chunk.subarray(at, at + take));
        at += take;
        need -= take;
        if (need === 0) frameDone();
        continue;
      }
      // A frame header: 2 bytes, then 2 or 8 of length.
      pending = pending.length === 0 ? chunk.subarray(at) : Buffer.concat([pending, chunk.subarray(at)]);
      at = chunk.length;
      while (pending.length >= 2) {
        const len7 = pending[1]! & 0x7f;
        const headerLen = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
        if (pending.length < headerLen) break;
        opcode = pending[0]! & 0x0f;
        rsv1 = (pending[0]! & 0x40) !== 0;
        length = len7 === 126 ? pending.readUInt16BE(2) : len7 === 127 ? Number(pending.readBigUInt64BE(2)) : len7;
        const rest = pending.subarray(headerLen);
        pending = Buffer.alloc(0);
        need = length;
        if (rsv1) compressed = Buffer.allocUnsafe(length);
        if (need === 0) frameDone();
        else return onData(rest);
        pending = rest;
      }
      if (pending.length > 0) pending = Buffer.from(pending); // not a view pinning the chunk
    }
  };
  return new Promise<Socket>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('connect', () => {
      socket.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nX-Floe-Auth: ${token}\r\n` +
          (deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' : '') +
          '\r\n',
      );
    });
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) return onData(chunk);
      pending = Buffer.concat([pending, chunk]);
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = pending.subarray(0, pending.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.1 101 /.test(status)) {
        socket.destroy();
        return reject(new Error(`websocket upgrade answered ${status}`));
      }
      upgraded = true;
      const rest = pending.subarray(end + 4);
      pending = Buffer.alloc(0);
      socket.off('error', reject);
      socket.on('error', () => close(1006));
      resolve(socket);
      if (rest.length > 0) onData(rest);
    });
    socket.on('close', () => close(1006));
  });
}

async function runClients(job: ClientsJob, port: NonNullable<typeof parentPort>): Promise<void> {
  let printed = new Histogram();
  let hostRead = new Histogram();
  const floodPrinted = Array.from({ length: job.floods }, () => new Histogram());
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  // The warm-up: once every client heard its lines (or was dropped), what they timed is forgotten.
  let warming = job.warmLines > 0;
  let warmed = 0;
  const warm = (): void => {
    if (!warming || ++warmed < job.clients) return;
    warming = false;
    printed = new Histogram();
    hostRead = new Histogram();
    loopDelay.enable();
    port.postMessage({ type: 'warm' } satisfies ClientsMessage);
  };
  // Floods each client has heard whole; `heard[k]` clients have heard flood k + 1 or were dropped.
  const heard = new Array<number>(job.floods).fill(0);
  const floodHeard = (k: number): void => {
    if (++heard[k]! === job.clients && k + 1 < job.floods) port.postMessage({ type: 'flood', flood: k + 1 } satisfies ClientsMessage);
  };
  let complete = 0;
  let dropped = 0;
  const closeCodes: number[] = [];
  let settled = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const sockets: Socket[] = [];
  const opened: Array<Promise<void>> = [];
  for (let i = 0; i < job.clients; i++) {
    let got = 0;
    let done = false;
    let clientWarm = job.warmLines === 0;
    let floods = 0;
    const settle = (): void => {
      done = true;
      if (!clientWarm) warm();
      // A dropped client counts as having heard the floods it will now never hear.
      while (floods < job.floods) floodHeard(floods++);
      if (++settled === job.clients) finish();
    };
    const onOutput = ({ count, printedAt, hostReadAt }: OutputFigures): void => {
      if (done) return;
      const now = Date.now();
      const printedMs = now - printedAt;
      printed.add(printedMs, count);
      if (clientWarm) floodPrinted[Math.min(floods, job.floods - 1)]!.add(printedMs, count);
      hostRead.add(now - hostReadAt, count);
      got += count;
      if (!clientWarm && got >= job.warmLines) {
        clientWarm = true;
        warm();
      }
      while (floods < job.floods && got >= job.warmLines + (floods + 1) * job.lines) floodHeard(floods++);
      if (floods === job.floods) {
        complete++;
        settle();
      }
    };
    const onClose = (code: number): void => {
      if (done) return;
      dropped++;
      closeCodes.push(code);
      settle();
    };
    opened.push(
      openClient(
        job.url,
        job.tokens[Math.floor((job.first + i) / 15) % job.tokens.length]!,
        job.addresses[Math.floor((job.first + i) / 60) % job.addresses.length]!,
        job.deflate,
        onOutput,
        onClose,
      ).then((socket) => void sockets.push(socket)),
    );
  }
  try {
    await Promise.all(opened);
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err;
  }
  port.postMessage({ type: 'ready' } satisfies ClientsMessage);
  if (!warming) loopDelay.enable();
  await finished;
  loopDelay.disable();
  for (const s of sockets) s.destroy();
  port.postMessage({
    type: 'done',
    printed: printed.sparse(),
    hostRead: hostRead.sparse(),
    floodPrinted: floodPrinted.map((hist) => hist.sparse()),
    loopDelay: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
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
