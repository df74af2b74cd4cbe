import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readTurnByTurn } from '../../src/nodes/turn-reader.js';

test('chunks that are all there at once are handed over in order, the loop coming round between them, then the end', async () => {
  const stream = new PassThrough();
  const seen: string[] = [];
  readTurnByTurn(stream, (chunk) => seen.push(chunk.toString()));
  const ended = new Promise<void>((resolve) => stream.on('end', () => (seen.push('end'), resolve())));
  const sent = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const c of sent) stream.write(c);
  stream.end();
  // Other work of the loop: marked each time the loop comes round.
  let turns = 0;
  const mark = (): void => {
    seen.push('turn');
    if (++turns < 20) setImmediate(mark);
  };
  setImmediate(mark);
  await ended;
  assert.deepEqual(
    seen.filter((s) => s !== 'turn'),
    [...sent, 'end'],
  );
  // A chunk comes in the turn that paused the stream's reading and at most one more in the next
  // (resuming emits what was read ahead): never a run of them.
  const runs = seen
    .join(' ')
    .split('turn')
    .map(
      (part) =>
        part
          .trim()
          .split(' ')
          .filter((s) => s !== '' && s !== 'end').length,
    );
  assert.ok(Math.max(...runs) <= 2, `chunks between two turns of the loop: ${seen.join(', ')}`);
});

test('a stream destroyed while paused between chunks hands over nothing more and throws nothing', async () => {
  const stream = new PassThrough();
  const seen: string[] = [];
  readTurnByTurn(stream, (chunk) => {
    seen.push(chunk.toString());
    stream.destroy();
  });
  stream.write('a');
  stream.write('b');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['a']);
});
