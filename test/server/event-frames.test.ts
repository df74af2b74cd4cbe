import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constants, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { DEFLATE_MIN_BYTES, EventFrames, plainDeflateOffers, takesSharedDeflate } from '../../src/server/event-frames.js';

/** Reads one unmasked frame as RFC 6455 lays it out. */
function parseFrame(frame: Buffer): { fin: boolean; rsv1: boolean; opcode: number; payload: Buffer } {
  const len7 = frame[1]! & 0x7f;
  assert.equal(frame[1]! & 0x80, 0, 'a server frame is not masked');
  let n = len7;
  let at = 2;
  if (len7 === 126) {
    n = frame.readUInt16BE(2);
    at = 4;
    assert.ok(n >= 126, 'the shortest length encoding');
  } else if (len7 === 127) {
    n = frame.readUInt32BE(2) * 2 ** 32 + frame.readUInt32BE(6);
    at = 10;
    assert.ok(n >= 65536, 'the shortest length encoding');
  }
  assert.equal(frame.length, at + n, 'the frame is exactly its header and payload');
  return { fin: (frame[0]! & 0x80) !== 0, rsv1: (frame[0]! & 0x40) !== 0, opcode: frame[0]! & 0x0f, payload: frame.subarray(at) };
}

/** What a permessage-deflate receiver does: add the sync tail back and inflate. */
function inflate(payload: Buffer): string {
  return inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString(
    'utf8',
  );
}

test('a plain frame is a final text frame of the JSON, with the shortest length encoding', () => {
  for (const n of [0, 1, 125, 126, 65535, 65536, 70000]) {
    const json = 'é'.repeat(Math.floor(n / 2)) + 'x'.repeat(n % 2);
    const f = parseFrame(new EventFrames(json).plain());
    assert.deepEqual([f.fin, f.rsv1, f.opcode], [true, false, 1], `${n} bytes`);
    assert.equal(f.payload.toString('utf8'), json);
  }
});

test('a deflated frame has RSV1 set and inflates, on its own, to the JSON', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', minLength: 0, maxLength: 400 }), fc.integer({ min: 1, max: 300 }), (line, times) => {
      const json = JSON.stringify({ type: 'event', event: { lines: Array.from({ length: times }, () => line) } });
      const frames = new EventFrames(json);
      const f = parseFrame(frames.deflated());
      assert.equal(f.fin, true);
      assert.equal(f.opcode, 1);
      if (f.rsv1) {
        assert.ok(Buffer.byteLength(json) >= DEFLATE_MIN_BYTES, 'only frames worth it are compressed');
        assert.ok(f.payload.length < Buffer.byteLength(json), 'and only when smaller');
        assert.equal(inflate(f.payload), json);
      } else assert.equal(f.payload.toString('utf8'), json);
    }),
    { numRuns: 200 },
  );
});

test('small messages go plain to deflate clients too; log lines shrink many times', () => {
  const small = new EventFrames(JSON.stringify({ type: 'event', event: { kind: 'end' } }));
  assert.equal(small.deflated(), small.plain());
  const lines = Array.from({ length: 500 }, (_, i) => `${i} building module ${i % 17} of 17: ok`);
  const log = new EventFrames(JSON.stringify({ type: 'event', event: { kind: 'node-output', lines } }));
  assert.ok(log.deflated().length * 4 < log.plain().length, `${log.deflated().length} against ${log.plain().length} bytes`);
  assert.equal(log.deflated(), log.deflated(), 'built once');
});

test('the shared frame goes only to clients whose context is reset per message and who take a 15-bit window', () => {
  assert.equal(takesSharedDeflate(undefined), false, 'no permessage-deflate');
  assert.equal(takesSharedDeflate({}), false, 'the server keeps its context: not granted, so not shared');
  assert.equal(takesSharedDeflate({ server_no_context_takeover: true }), true);
  assert.equal(takesSharedDeflate({ server_no_context_takeover: true, client_max_window_bits: 10 }), true, "the client's own window");
  assert.equal(takesSharedDeflate({ server_no_context_takeover: true, server_max_window_bits: 15 }), true);
  assert.equal(
    takesSharedDeflate({ server_no_context_takeover: true, server_max_window_bits: 10 }),
    false,
    'a smaller window than the frame was made with',
  );
});

test('only well-formed permessage-deflate offers reach ws; any other header is dropped, never refused', () => {
  for (const ok of [
    'permessage-deflate',
    'permessage-deflate; client_max_window_bits',
    'permessage-deflate; client_max_window_bits=10; server_no_context_takeover',
    'permessage-deflate; server_max_window_bits=15, permessage-deflate',
  ])
    assert.equal(plainDeflateOffers(ok), true, ok);
  for (const bad of [
    '',
    'x-webkit-deflate-frame',
    'permessage-deflate; server_max_window_bits=16',
    'permessage-deflate; server_max_window_bits',
    'permessage-deflate; client_max_window_bits=7',
    'permessage-deflate; server_no_context_takeover=1',
    'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
    'permessage-deflate; client_max_window_bits="15"',
    'permessage-deflate, foo',
    'permessage-deflate;',
  ])
    assert.equal(plainDeflateOffers(bad), false, bad);
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (h) => typeof plainDeflateOffers(h) === 'boolean'));
});
