import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, type BackoffPolicy } from '../../src/server/backoff.js';
import { RecentMap } from '../../src/server/recent-map.js';

const MIN = 60_000;
const POLICY: BackoffPolicy = { free: 5, firstWaitMs: 1000, maxWaitMs: 15 * MIN, maxKeys: 100, forgetMs: 60 * MIN };

function setup(policy: Partial<BackoffPolicy> = {}) {
  let t = 1_000_000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms), set: (at: number) => (t = at) };
  return { clock, b: new Backoff({ ...POLICY, ...policy }, clock.now) };
}

test('each failure past the free ones doubles the wait, from 1 s up to the cap of 15 min', () => {
  const { b, clock } = setup();
  const expected = [0, 0, 0, 0, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 900_000, 900_000, 900_000];
  const got = expected.map(() => {
    const { waitMs } = b.fail('c');
    assert.equal(b.waitMs('c'), waitMs, 'waitMs says what fail answered');
    clock.advance(waitMs); // the key obeys: its next failure comes when the wait is over
    return waitMs;
  });
  assert.deepEqual(got, expected);
});

test('a wait counts down on the injected clock and ends at zero', () => {
  const { b, clock } = setup({ free: 1 });
  assert.equal(b.fail('c').waitMs, 1000);
  const rows: Array<[advance: number, wait: number]> = [
    [0, 1000],
    [400, 600],
    [599, 1],
    [1, 0],
    [5000, 0],
  ];
  for (const [advance, wait] of rows) {
    clock.advance(advance);
    assert.equal(b.waitMs('c'), wait, `after ${advance} more ms`);
  }
});

test('keys are independent, and clear starts a key over', () => {
  const { b } = setup({ free: 2 });
  b.fail('a');
  assert.equal(b.fail('a').waitMs, 1000);
  assert.equal(b.waitMs('b'), 0);
  assert.deepEqual(b.fail('b'), { count: 1, waitMs: 0 });
  b.clear('a');
  assert.equal(b.waitMs('a'), 0);
  assert.deepEqual(b.fail('a'), { count: 1, waitMs: 0 });
});

test('a key with no failure for forgetMs is forgotten; one failing within it is not', () => {
  const { b, clock } = setup({ free: 3 });
  b.fail('a');
  b.fail('a');
  clock.advance(60 * MIN - 1);
  assert.deepEqual(b.fail('a'), { count: 3, waitMs: 1000 });
  clock.advance(60 * MIN);
  assert.equal(b.waitMs('a'), 0);
  assert.deepEqual(b.fail('a'), { count: 1, waitMs: 0 });
});

test('a clock stepped back neither makes free failures wait nor stretches a wait past the cap', () => {
  const { b, clock } = setup({ free: 5 });
  b.fail('free');
  clock.advance(-10_000);
  assert.equal(b.waitMs('free'), 0);
  const { b: capped, clock: c2 } = setup({ free: 1, maxWaitMs: 5000 });
  for (let i = 0; i < 10; i++) capped.fail('k');
  c2.advance(-60 * MIN);
  assert.equal(capped.waitMs('k'), 5000);
});

test('100,000 distinct keys keep at most maxKeys entries, the most recent ones', () => {
  const { b, clock } = setup({ maxKeys: 1000, free: 1 });
  for (let i = 0; i < 100_000; i++) {
    b.fail(`user-${i}`);
    if (i % 1000 === 0) clock.advance(1);
  }
  assert.equal(b.size, 1000);
  assert.ok(b.waitMs('user-99999') > 0, 'the newest is still tracked');
  assert.equal(b.waitMs('user-0'), 0, 'the oldest is forgotten');
});

test('RecentMap: get, set, delete, age out after ttl, oldest out past max, set refreshes', () => {
  let t = 0;
  const m = new RecentMap<number>(3, 100, () => t);
  m.set('a', 1);
  m.set('b', 2);
  m.set('c', 3);
  m.set('a', 10); // a is now the most recent
  m.set('d', 4); // over max: b, the oldest, goes
  assert.deepEqual(
    ['a', 'b', 'c', 'd'].map((k) => m.get(k)),
    [10, undefined, 3, 4],
  );
  m.delete('c');
  assert.equal(m.get('c'), undefined);
  t = 99;
  assert.equal(m.get('d'), 4);
  t = 100;
  assert.equal(m.get('d'), undefined, 'aged out at ttl');
  m.set('e', 5); // drops what aged out on the way
  assert.equal(m.size, 1);
});

test('takeBack undoes one failure: its wait ends, the failures before it stand', () => {
  const { b } = setup({ free: 2 });
  b.fail('a');
  const second = b.fail('a');
  assert.equal(second.waitMs, 1000);
  b.takeBack('a', second.count);
  assert.equal(b.waitMs('a'), 0, 'the wait it started is over');
  assert.deepEqual(b.fail('a'), { count: 2, waitMs: 1000 }, 'the first failure still counts');
});

test('takeBack leaves the wait of a failure counted after it, and does nothing once the key was cleared', () => {
  const { b, clock } = setup({ free: 2 });
  b.fail('a');
  const mine = b.fail('a');
  clock.advance(1000);
  const later = b.fail('a');
  assert.equal(later.waitMs, 2000);
  b.takeBack('a', mine.count);
  assert.equal(b.waitMs('a'), 2000, 'the later failure keeps its wait');
  clock.advance(2000);
  assert.deepEqual(b.fail('a'), { count: 3, waitMs: 2000 }, 'one failure fewer than before');
  b.clear('a');
  b.takeBack('a', 3);
  assert.deepEqual(b.fail('a'), { count: 1, waitMs: 0 });
});
