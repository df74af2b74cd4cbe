import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LineSplitter } from '../../src/nodes/process-group.js';
import { fuzzParams } from '../fuzz/settings.js';

// Random text (any code point, with \n, \r\n and stray \r) fed as bytes in random chunks,
// mid-character included: the lines rejoined from their pieces are the text's lines, each piece
// fits the limit, and the pieces do not depend on the chunking.

interface Piece {
  line: string;
  more: boolean;
}

function split(chunks: Buffer[], maxBytes: number): Piece[] {
  const out: Piece[] = [];
  const s = new LineSplitter((line, more) => out.push({ line, more }), maxBytes);
  for (const c of chunks) s.push(c);
  s.flush();
  return out;
}

/** What the splitter must yield, rejoined: `\n` ends a line, a trailing `\r` is dropped, a final partial line counts. */
function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

const text = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('\n', '\r\n', '\r', 'é', '€', '😀', 'x'.repeat(30))), {
    maxLength: 30,
  })
  .map((parts) => parts.join(''));

test('random chunkings of random text rejoin to its lines, in pieces within the limit', () => {
  fc.assert(
    fc.property(text, fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 4, max: 24 }), (t, cutSeeds, maxBytes) => {
      const bytes = Buffer.from(t);
      const cuts = [...new Set(cutSeeds.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks = [0, ...cuts].map((from, i) => bytes.subarray(from, [...cuts, bytes.length][i]));
      const pieces = split(chunks, maxBytes);

      const rejoined: string[] = [];
      let current = '';
      for (const p of pieces) {
        const size = Buffer.byteLength(p.line);
        assert.ok(size <= maxBytes, `piece of ${size} bytes over ${maxBytes}`);
        // A piece that does not end its line is as full as whole characters allow.
        if (p.more) assert.ok(size > maxBytes - 4, `short piece of ${size} bytes`);
        current += p.line;
        if (!p.more) {
          rejoined.push(current);
          current = '';
        }
      }
      assert.equal(current, '', 'the last piece ends its line');
      assert.deepEqual(rejoined, linesOf(t));
      assert.deepEqual(pieces, split([bytes], maxBytes), 'pieces do not depend on the chunking');
    }),
    fuzzParams(2000),
  );
});
