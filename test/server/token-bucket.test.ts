import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../../src/server/token-bucket.js';

test('a token bucket lets the burst through at once, then refills at its rate up to the burst', () => {
  let now = 1_000_000;
  const b = new TokenBucket(3, 2, () => now);
  assert.deepEqual([b.take(), b.take(), b.take()], [0, 0, 0]);
  assert.equal(b.take(), 500, 'empty: the next token is 500 ms away');
  now += 250;
  assert.equal(b.take(), 250, 'a refused take costs nothing');
  now += 250;
  assert.equal(b.take(), 0);
  now += 60_000;
  assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [0, 0, 0, 500], 'refilled up to the burst, no further');
});

test('a token bucket refills nothing when the clock steps back', () => {
  let now = 1_000_000;
  const b = new TokenBucket(1, 1, () => now);
  assert.equal(b.take(), 0);
  now -= 10_000;
  assert.equal(b.take(), 1000);
  now += 1000;
  assert.equal(b.take(), 0);
});
