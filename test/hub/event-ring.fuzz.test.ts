import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { approxBytes } from '../../src/hub/event-ring.js';
import { fuzzParams } from '../fuzz/settings.js';

// Random plain data (strings of any UTF-16 unit, lone surrogates included, with extra control
// characters, quotes, backslashes and emoji) is counted at no less than its JSON in UTF-8, which is
// what the websocket caches per kept event; and ASCII text at no more than about twice that.

const piece = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 30 }),
  fc.string({ unit: fc.constantFrom('\x00', '\x01', '\x1b', '\x1f', '"', '\\', 'é', '😀'), maxLength: 100 }),
  fc.constantFrom('\x00', '\x01', '\x1b[31m', '\x7f', '"', '\\', '\n', '\t', '\u2028', 'é', '€', '😀', '\ud83d', '\ude00'),
);
const text = fc.array(piece, { maxLength: 20 }).map((parts) => parts.join(''));
const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 200 });

function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v));
}

test('random data is counted at no less than its encoded JSON', () => {
  const value = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      text,
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(text, tie('value'), { maxKeys: 5 }),
    ),
  })).value;
  fc.assert(
    fc.property(value, (v) => {
      assert.ok(approxBytes(v) >= jsonBytes(v), `${approxBytes(v)} < ${jsonBytes(v)}`);
    }),
    fuzzParams(2000),
  );
});

test('an output event with random text is counted at no less than its frame, and ASCII at no more than twice it', () => {
  fc.assert(
    fc.property(text, ascii, (line, plain) => {
      const event = (l: string) => ({
        kind: 'node-output',
        tag: 'sys.node-output',
        node: 'build',
        stream: 'stdout',
        first: 1,
        last: 2,
        lines: [l, l],
        seq: 1,
        at: 0,
      });
      const e = event(line);
      const frame = { type: 'event', event: e };
      assert.ok(approxBytes(e) >= jsonBytes(frame), `${approxBytes(e)} < ${jsonBytes(frame)}`);
      const p = event(plain);
      assert.ok(approxBytes(p) <= 2 * jsonBytes(p) + 512, `${approxBytes(p)} for ${jsonBytes(p)} bytes of JSON`);
    }),
    fuzzParams(2000),
  );
});
