import { constants, deflateRawSync } from 'node:zlib';

/*
 * An event's websocket frame, built once for every client (issue 10). A server's frames are not
 * masked, so the same bytes, header and all, go to each socket.
 *
 * Clients that negotiated permessage-deflate (RFC 7692) with server_no_context_takeover, as the
 * host always grants, inflate each message on its own: one compressed frame then serves them
 * all, and compression costs the host once per event, not once per client. Output lines shrink
 * 5 to 30 times, which is most of what 100 dashboards watching a flood cost on the wire.
 */

/** Below this much JSON a frame goes plain: deflating it would save little and cost a call per event. */
export const DEFLATE_MIN_BYTES = 1024;
/** zlib's fastest level: most of the gain on log lines, at a fraction of the default level's time. */
const DEFLATE_LEVEL = 1;
/** A sync flush ends with this empty block, which RFC 7692 has the sender drop and the receiver add. */
const SYNC_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

export class EventFrames {
  /** Bytes of the message (the JSON), plain. */
  readonly bytes: number;
  private readonly frame: Buffer;
  private readonly head: number;
  /** undefined: not tried yet; null: not worth it (small, or no smaller). */
  private deflatedFrame: Buffer | null | undefined;

  constructor(json: string) {
    const n = Buffer.byteLength(json);
    this.bytes = n;
    this.head = headerBytes(n);
    // Not from the shared pool: a small frame kept for replays would pin a whole 8 KiB slab.
    this.frame = Buffer.allocUnsafeSlow(this.head + n);
    writeHeader(this.frame, n, false);
    this.frame.write(json, this.head);
  }

  /** The message's bytes (the JSON), without a frame header. */
  get payload(): Buffer {
    return this.frame.subarray(this.head);
  }

  /** A whole text frame of the JSON, as is. */
  plain(): Buffer {
    return this.frame;
  }

  /** A whole text frame compressed on its own (RSV1 set), or the plain one where that does not pay. */
  deflated(): Buffer {
    if (this.deflatedFrame === undefined) this.deflatedFrame = deflateFrame(this.payload);
    return this.deflatedFrame ?? this.frame;
  }
}

function deflateFrame(payload: Buffer): Buffer | null {
  if (payload.length < DEFLATE_MIN_BYTES) return null;
  const z = deflateRawSync(payload, { level: DEFLATE_LEVEL, finishFlush: constants.Z_SYNC_FLUSH });
  if (z.length < SYNC_TAIL.length || !z.subarray(z.length - SYNC_TAIL.length).equals(SYNC_TAIL)) return null;
  const body = z.subarray(0, z.length - SYNC_TAIL.length);
  if (body.length >= payload.length) return null;
  const head = headerBytes(body.length);
  const frame = Buffer.allocUnsafeSlow(head + body.length);
  writeHeader(frame, body.length, true);
  body.copy(frame, head);
  return frame;
}

function headerBytes(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

/** FIN and the text opcode, RSV1 for a compressed message, then the payload's length (RFC 6455 5.2). */
function writeHeader(frame: Buffer, n: number, rsv1: boolean): void {
  frame[0] = 0x81 | (rsv1 ? 0x40 : 0);
  if (n < 126) frame[1] = n;
  else if (n < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
}

/**
 * Whether a client may get {@link EventFrames.deflated}: it negotiated permessage-deflate, the
 * host compresses each message with a fresh context, and the client takes the full 15-bit
 * window the shared frame is made with. `params` are the extension's accepted parameters.
 */
export function takesSharedDeflate(params: unknown): boolean {
  if (typeof params !== 'object' || params === null) return false;
  const p = params as Record<string, unknown>;
  if (p.server_no_context_takeover !== true) return false;
  const bits = p.server_max_window_bits;
  return bits === undefined || bits === true || bits === 15;
}

const WINDOW_BITS = '(?:8|9|1[0-5])';
const DEFLATE_PARAM = new RegExp(
  `^(?:server_no_context_takeover|client_no_context_takeover|server_max_window_bits=${WINDOW_BITS}|client_max_window_bits(?:=${WINDOW_BITS})?)$`,
);

/**
 * Whether a Sec-WebSocket-Extensions header is only well-formed permessage-deflate offers, as
 * browsers and ws send them. ws refuses an upgrade outright (400) for an offer it cannot parse
 * or accept; RFC 7692 has the server decline the extension instead, so the host drops any other
 * header and the client is served plain frames.
 */
export function plainDeflateOffers(header: string): boolean {
  return header.split(',').every((offer) => {
    const [name, ...params] = offer.split(';').map((p) => p.trim());
    if (name !== 'permessage-deflate') return false;
    const seen = new Set<string>();
    for (const p of params) {
      const key = p.split('=')[0]!;
      if (!DEFLATE_PARAM.test(p) || seen.has(key)) return false;
      seen.add(key);
    }
    return true;
  });
}
