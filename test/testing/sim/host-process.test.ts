import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualClock } from '../../../src/testing/manual-clock.js';
import { ExecutionLedger } from '../../../src/testing/sim/executions.js';
import { HostProcess } from '../../../src/testing/sim/host-process.js';
import { MemoryStore } from '../../../src/store/memory.js';

test('a killed process: its store rejects every later call and its timers never fire; the store keeps what was written', async () => {
  const clock = manualClock(0);
  const store = new MemoryStore();
  const p = new HostProcess(1, clock, store);
  await p.store.putMeta('k', 'v');
  const fired: string[] = [];
  void p.clock.after(10).then(() => fired.push('before kill'));
  p.kill();
  void p.clock.after(5).then(() => fired.push('after kill'));
  await clock.advance(100);
  assert.deepEqual(fired, []);
  await assert.rejects(p.store.getMeta('k'), /after the host process died/);
  const next = new HostProcess(2, clock, store);
  assert.equal(await next.store.getMeta('k'), 'v');
});

test('a paused process fires no timer until it resumes, then those that came due, in order', async () => {
  const clock = manualClock(0);
  const p = new HostProcess(1, clock, new MemoryStore());
  const fired: Array<[string, number]> = [];
  void p.clock.after(20).then(() => fired.push(['second', clock.now()]));
  void p.clock.after(10).then(() => fired.push(['first', clock.now()]));
  p.pause();
  await clock.advance(50);
  assert.deepEqual(fired, []);
  p.resume();
  await clock.advance(0);
  assert.deepEqual(fired, [
    ['first', 50],
    ['second', 50],
  ]);
});

test('an aborted wait rejects at once, and the signal keeps no listener once a wait fires', async () => {
  const clock = manualClock(0);
  const p = new HostProcess(1, clock, new MemoryStore());
  const stop = new AbortController();
  const aborted = p.clock.after(100, stop.signal);
  stop.abort();
  await assert.rejects(aborted, { name: 'AbortError' });
  const long = new AbortController();
  let listeners = 0;
  const add = long.signal.addEventListener.bind(long.signal);
  const remove = long.signal.removeEventListener.bind(long.signal);
  long.signal.addEventListener = (...args: Parameters<typeof add>) => (listeners++, add(...args));
  long.signal.removeEventListener = (...args: Parameters<typeof remove>) => (listeners--, remove(...args));
  for (let i = 0; i < 20; i++) {
    const wait = p.clock.after(1, long.signal);
    await clock.advance(1);
    await wait;
  }
  assert.equal(listeners, 0);
});

test('the ledger reports a task executed twice, and overlapping runs that share a resource tag, but not runs that do not', () => {
  const ledger = new ExecutionLedger();
  const db = ledger.start({ run: 'h1-1', node: 'up', host: 'h1', boot: 1, start: 0, tags: ['db'] });
  assert.deepEqual(db.broken, []);
  assert.deepEqual(ledger.start({ run: 'h2-1', node: 'up', host: 'h2', boot: 1, start: 1, tags: ['a'] }).broken, []);
  assert.deepEqual(ledger.start({ run: 'h1-1', node: 'verify', host: 'h1', boot: 1, start: 2, tags: ['db'] }).broken, []);
  const clash = ledger.start({ run: 'h3-1', node: 'dump', host: 'h3', boot: 1, start: 3, tags: ['a', 'db'] });
  assert.equal(clash.broken.length, 3);
  assert.match(clash.broken[0] ?? '', /runs h1-1 and h3-1 both hold resource tag db/);
  ledger.end(db.exec, 4);
  assert.deepEqual(
    ledger.runningOn('h1', 1).map((e) => e.node),
    ['verify'],
  );
  const again = ledger.start({ run: 'h1-1', node: 'up', host: 'h2', boot: 2, start: 5, tags: [] });
  assert.deepEqual(again.broken, ['run h1-1 task up executed twice: on h1 (boot 1) at 0, and again on h2 (boot 2) at 5']);
});

test('the ledger reports a host running tasks of more runs at once than its max_runs', () => {
  const ledger = new ExecutionLedger();
  const start = (run: string, node: string) => ledger.start({ run, node, host: 'h2', boot: 1, start: 0, tags: [] }, 2).broken;
  assert.deepEqual(start('h1-1', 'build'), []);
  assert.deepEqual(start('h1-1', 'check'), []);
  const second = ledger.start({ run: 'h1-2', node: 'build', host: 'h2', boot: 1, start: 0, tags: [] }, 2);
  assert.deepEqual(start('h1-3', 'build'), ['h2 has max_runs 2 but runs tasks of 3 runs at once: h1-1, h1-2, h1-3']);
  ledger.end(second.exec, 1);
  assert.deepEqual(start('h1-4', 'build'), ['h2 has max_runs 2 but runs tasks of 3 runs at once: h1-1, h1-3, h1-4']);
  assert.deepEqual(ledger.start({ run: 'h1-5', node: 'build', host: 'h3', boot: 1, start: 0, tags: [] }, 2).broken, []);
});
