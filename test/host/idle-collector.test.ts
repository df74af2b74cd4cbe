import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import v8 from 'node:v8';
import { collectWhenIdle, heapSettled, settledCheck } from '../../src/host/idle-collector.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function newSpaceMb(): number {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return (space?.physical_space_size ?? 0) / 1024 / 1024;
}

// Mocked timers and clock: the schedule is checked step by step, whatever the machine's load.
// Node 20's mock ticks do not run a timer armed by a callback within the same tick, so time
// moves a millisecond at a time.
function advance(t: TestContext, ms: number): void {
  for (let i = 0; i < ms; i++) t.mock.timers.tick(1);
}

test('a quiet host collects once per quiet spell, up to its rounds, and not while busy', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let collections = 0;
  // Each series needs the heap to have grown 2 MB since the last one ended; here it always has.
  let heap = 0;
  let releases = 0;
  const collector = collectWhenIdle({
    quietMs: 40,
    gapMs: 10,
    rounds: 3,
    collect: () => collections++,
    release: () => releases++,
    isSettled: () => false,
    now: Date.now,
    heapMb: () => (heap += 10),
  });
  try {
    advance(t, 39);
    assert.equal(collections, 0, 'nothing before the first quiet spell has passed');
    advance(t, 1);
    assert.equal(collections, 1, 'the start-up spell starts after quietMs');
    advance(t, 20);
    assert.equal(collections, 3, 'and runs its rounds, gapMs apart');
    assert.equal(releases, 3, 'after each collection, memory freed outside the heap is given back');
    advance(t, 1000);
    assert.equal(collections, 3, 'no activity, no further series');
    // Busy: pokes closer together than quietMs hold the series back.
    for (let i = 0; i < 8; i++) {
      collector.poke();
      advance(t, 30);
    }
    assert.equal(collections, 3, 'nothing is collected while events keep coming');
    advance(t, 10);
    assert.equal(collections, 4, 'the next quiet spell, quietMs after the last poke, starts a new series');
    advance(t, 1000);
    assert.equal(collections, 6);
    assert.equal(releases, 6);
    collector.poke();
    advance(t, 10);
    collector.poke();
    advance(t, 39);
    assert.equal(collections, 6, 'a poke during the wait pushes the series back');
    advance(t, 1);
    assert.equal(collections, 7);
  } finally {
    collector.close();
  }
});

test('a host busy now and then without growing its heap is not collected after each pause', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let collections = 0;
  let heap = 20;
  const collector = collectWhenIdle({ quietMs: 40, gapMs: 10, rounds: 1, collect: () => collections++, now: Date.now, heapMb: () => heap });
  try {
    advance(t, 40);
    assert.equal(collections, 1, 'the start-up series');
    // A line a second: pokes with quiet spells between, the heap the same size.
    for (let i = 0; i < 5; i++) {
      collector.poke();
      advance(t, 1000);
    }
    assert.equal(collections, 1, 'no growth, no collection');
    heap = 21.9;
    collector.poke();
    advance(t, 1000);
    assert.equal(collections, 1, 'less than 2 MB of growth is not enough');
    heap = 22.5;
    collector.poke();
    advance(t, 1000);
    assert.equal(collections, 2, '2 MB more than after the last series starts one');
  } finally {
    collector.close();
  }
});

test('a series stops once memory is settled, and a closed collector collects no more', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let collections = 0;
  const collector = collectWhenIdle({
    quietMs: 10,
    gapMs: 10,
    rounds: 10,
    collect: () => collections++,
    isSettled: () => collections >= 2,
    now: Date.now,
    heapMb: () => 0,
  });
  advance(t, 200);
  assert.equal(collections, 2);
  collector.poke();
  collector.close();
  advance(t, 200);
  assert.equal(collections, 2);
});

test('after a burst of allocation, the quiet host gives V8 new space back', async () => {
  // Short-lived garbage grows the young generation to its maximum, as a burst of runs does.
  let keep: object[] = [];
  for (let i = 0; i < 3_000_000; i++) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 200_000) keep = [];
  }
  keep = [];
  const grown = newSpaceMb();
  assert.ok(grown > 8, `new space grew (${grown.toFixed(1)} MB)`);
  const collector = collectWhenIdle({ quietMs: 100 });
  try {
    // V8 shrinks it only once its allocation-rate estimate sees the quiet: a few seconds.
    for (let waited = 0; waited < 10_000 && newSpaceMb() > 2; waited += 250) await sleep(250);
    assert.ok(newSpaceMb() <= 2, `new space back to ${newSpaceMb().toFixed(1)} MB from ${grown.toFixed(1)} MB`);
  } finally {
    collector.close();
  }
});

test('the heap is settled only when the young generation is back to 2 MB and the old space holds little it does not use', () => {
  const spaces = (young: number, oldPhys: number, oldUsed: number) => [
    { space_name: 'new_space', physical_space_size: young * 1024 * 1024, space_used_size: 0 },
    { space_name: 'old_space', physical_space_size: oldPhys * 1024 * 1024, space_used_size: oldUsed * 1024 * 1024 },
    { space_name: 'code_space', physical_space_size: 4 * 1024 * 1024, space_used_size: 0 },
  ];
  assert.equal(heapSettled(spaces(2, 11.7, 11.3)), true, 'an idle host after 10,000 runs');
  assert.equal(heapSettled(spaces(2, 22.5, 11.1)), false, 'freed old-space pages not yet given back');
  assert.equal(heapSettled(spaces(16, 11.7, 11.3)), false, 'the young generation still grown');
  assert.equal(heapSettled(spaces(1, 13, 11)), true, 'exactly 2 MB unused is within the bound');
});

test('a series also ends once the old space stops shrinking, however much of it is unused', () => {
  const MiB = 1024 * 1024;
  let young = 16;
  let old = { phys: 82, used: 29 };
  const check = settledCheck(() => [
    { space_name: 'new_space', physical_space_size: young * MiB, space_used_size: 0 },
    { space_name: 'old_space', physical_space_size: old.phys * MiB, space_used_size: old.used * MiB },
  ]);
  assert.equal(check(1), false, 'the young generation is still grown');
  young = 2;
  assert.equal(check(2), false, 'no history yet');
  old = { phys: 70, used: 29 };
  assert.equal(check(3), false);
  assert.equal(check(4), false, 'still shrinking: 70 against 82 two collections before');
  assert.equal(check(5), true, 'no smaller than two collections before (70 and 70): compaction is done');
  // A new series starts its history afresh: the last one's sizes do not end it at once.
  old = { phys: 90, used: 29 };
  assert.equal(check(1), false);
  assert.equal(check(2), false);
  old = { phys: 40, used: 39 };
  assert.equal(check(3), true, 'within 2 MB of its use: settled at once');
});
