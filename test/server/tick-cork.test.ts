import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { TickCork } from '../../src/server/tick-cork.js';

/**
 * A socket whose writes and writev calls are counted. A stalled one's peer reads nothing: what
 * is written stays in writableLength. Otherwise the peer takes everything at once.
 */
function countingSocket(stalled: boolean): Duplex & { writes: number } {
  const s = new Duplex({
    read() {},
    writev(_chunks, cb) {
      s.writes++;
      if (!stalled) cb();
    },
    write(_chunk, _enc, cb) {
      s.writes++;
      if (!stalled) cb();
    },
  }) as Duplex & { writes: number };
  s.writes = 0;
  return s;
}
const stalledSocket = () => countingSocket(true);
const readSocket = () => countingSocket(false);

const nextTick = (): Promise<void> => new Promise((r) => process.nextTick(r));

test("a tick's small writes leave in one write, when the tick ends", async () => {
  const cork = new TickCork(1024);
  const s = stalledSocket();
  for (let i = 0; i < 5; i++) {
    cork.hold(s);
    s.write(Buffer.alloc(10));
    cork.wrote(s);
  }
  assert.equal(s.writes, 0, 'nothing written while corked');
  assert.equal(s.writableCorked, 1, 'corked once, not once per write');
  await nextTick();
  assert.equal(s.writableCorked, 0);
  assert.equal(s.writes, 1, 'one writev for the five');
});

test('a socket past maxBytes writes on at once, and one already holding that much is not corked', () => {
  const cork = new TickCork(1024);
  const s = stalledSocket();
  cork.hold(s);
  s.write(Buffer.alloc(600));
  cork.wrote(s);
  assert.equal(s.writableCorked, 1);
  cork.hold(s);
  s.write(Buffer.alloc(600));
  cork.wrote(s);
  assert.equal(s.writableCorked, 0, 'uncorked as soon as it held more than maxBytes');
  assert.equal(s.writes, 1);
  cork.hold(s);
  assert.equal(s.writableCorked, 0, 'a socket with a backlog past maxBytes is left to write');
});

test('a socket whose uncork throws leaves no other corked', async () => {
  const errors: unknown[] = [];
  const cork = new TickCork(1024, (err) => errors.push(err));
  const [a, b] = [stalledSocket(), stalledSocket()];
  a.uncork = () => {
    throw new Error('destroyed under us');
  };
  for (const s of [a, b]) {
    cork.hold(s);
    s.write(Buffer.alloc(10));
  }
  await nextTick();
  assert.equal(b.writableCorked, 0);
  assert.equal(errors.length, 1);
});

test('with a pace, a release sooner than paceMs after the last one waits out the rest; later, the tick ends it', async () => {
  let now = 1000;
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const cork = new TickCork(1024, undefined, { paceMs: 10, now: () => now, later: (fn, ms) => timers.push({ fn, ms }) });
  const s = readSocket();
  const send = () => {
    cork.hold(s);
    s.write(Buffer.alloc(10));
    cork.wrote(s);
  };
  // Quiet before: the first write leaves when its tick ends.
  send();
  await nextTick();
  assert.equal(s.writes, 1);
  assert.equal(timers.length, 0);
  // 4 ms later, and again in the next tick: both wait for the 10 ms since that release.
  now += 4;
  send();
  await nextTick();
  send();
  await nextTick();
  assert.equal(s.writes, 1, 'held past the tick');
  assert.deepEqual(
    timers.map((t) => t.ms),
    [6],
    'one timer, for the rest of the 10 ms',
  );
  now += 6;
  timers.shift()!.fn();
  assert.equal(s.writes, 2, 'both in one writev');
  assert.equal(s.writableCorked, 0);
  // Past the pace: the tick ends it again.
  now += 25;
  send();
  await nextTick();
  assert.equal(s.writes, 3);
  assert.equal(timers.length, 0);
});

test('with a pace, one release is due at a time, even after a socket past maxBytes left the corked ones', async () => {
  let now = 1000;
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const cork = new TickCork(1024, undefined, { paceMs: 10, now: () => now, later: (fn, ms) => timers.push({ fn, ms }) });
  const [a, b] = [readSocket(), readSocket()];
  cork.hold(a);
  a.write(Buffer.alloc(10));
  await nextTick();
  now += 4;
  cork.hold(a);
  a.write(Buffer.alloc(2000));
  cork.wrote(a);
  assert.equal(a.writableCorked, 0, 'past maxBytes: written at once');
  cork.hold(b);
  b.write(Buffer.alloc(10));
  assert.equal(timers.length, 1, 'the release already due takes b too');
  assert.equal(b.writes, 0);
  timers.shift()!.fn();
  assert.equal(b.writes, 1);
});
