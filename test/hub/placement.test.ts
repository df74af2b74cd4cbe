import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placePends, type ActiveHold, type PlacementPend } from '../../src/hub/placement.js';

const host = { name: 'h1', tags: ['linux', 'go'] };
const pend = (run: string, flowId: string, resourceTags: string[] = [], extra: Partial<PlacementPend> = {}): PlacementPend => ({
  run,
  flowId,
  hostTags: [],
  resourceTags,
  reuseSpace: false,
  ...extra,
});
const hold = (run: string, flowId: string, resourceTags: string[] = [], reuseSpace = false): ActiveHold => ({
  run,
  flowId,
  resourceTags,
  reuseSpace,
});

test('a pend with no conflicts starts', () => {
  assert.deepEqual(placePends([pend('h1-1', 'a')], host, []), [{ run: 'h1-1', start: true }]);
});

test('a run holding resource tag db blocks another flow with db, and says which run holds it', () => {
  const [d] = placePends([pend('h1-2', 'b', ['db'])], host, [hold('h1-1', 'a', ['db', 'nic'])]);
  assert.deepEqual(d, { run: 'h1-2', start: false, reason: 'run h1-1 holds resource tag db' });
});

test('runs with disjoint resource tags start together', () => {
  const ds = placePends([pend('h1-2', 'b', ['db']), pend('h1-3', 'c', ['nic'])], host, [hold('h1-1', 'a', ['s3'])]);
  assert.deepEqual(
    ds.map((d) => d.start),
    [true, true],
  );
});

test('two pends for the same resource: the first starts, the second waits behind it', () => {
  const ds = placePends([pend('h1-1', 'a', ['db']), pend('h1-2', 'b', ['db'])], host, []);
  assert.deepEqual(ds, [
    { run: 'h1-1', start: true },
    { run: 'h1-2', start: false, reason: 'run h1-1 holds resource tag db' },
  ]);
});

test('a waiting pend reserves its tags: a later pend never overtakes it', () => {
  // h1-2 waits for x (held by h1-1); h1-3 wants only db, which h1-2 also wants.
  const ds = placePends([pend('h1-2', 'b', ['x', 'db']), pend('h1-3', 'c', ['db'])], host, [hold('h1-1', 'a', ['x'])]);
  assert.equal(ds[0]?.start, false);
  assert.deepEqual(ds[1], { run: 'h1-3', start: false, reason: 'queued behind pend h1-2 for resource tag db' });
});

test('host tags must all be on the host, else the pend says which are missing', () => {
  const [d] = placePends([pend('h1-1', 'a', [], { hostTags: ['linux', 'gpu'] })], host, []);
  assert.deepEqual(d, { run: 'h1-1', start: false, reason: 'no host with tags [linux, gpu]: h1 has [linux, go], missing [gpu]' });
  const [ok] = placePends([pend('h1-1', 'a', [], { hostTags: ['go'] })], host, []);
  assert.equal(ok?.start, true);
});

test('reuse-space serialises runs of one flow on a host, but not other flows', () => {
  const ds = placePends(
    [pend('h1-2', 'a', [], { reuseSpace: true }), pend('h1-3', 'b', [], { reuseSpace: true }), pend('h1-4', 'a', [], { reuseSpace: true })],
    host,
    [hold('h1-1', 'a', [], true)],
  );
  assert.deepEqual(ds, [
    { run: 'h1-2', start: false, reason: 'reuse-space: run h1-1 is using the shared workspace of flow a' },
    { run: 'h1-3', start: true },
    { run: 'h1-4', start: false, reason: 'reuse-space: queued behind pend h1-2 of flow a' },
  ]);
});

test('a queued pend names the pend just ahead of it, so a run ending changes only the next reason', () => {
  const pends = ['h1-2', 'h1-3', 'h1-4'].map((r) => pend(r, 'a', ['db']));
  const before = placePends(pends, host, [hold('h1-1', 'a', ['db'])]);
  assert.deepEqual(
    before.map((d) => (d.start ? 'start' : d.reason)),
    ['run h1-1 holds resource tag db', 'queued behind pend h1-2 for resource tag db', 'queued behind pend h1-3 for resource tag db'],
  );
  const after = placePends(pends.slice(1), host, [hold('h1-2', 'a', ['db'])]);
  assert.deepEqual(
    after.map((d) => (d.start ? 'start' : d.reason)),
    ['run h1-2 holds resource tag db', 'queued behind pend h1-3 for resource tag db'],
  );
});

test('runs of one flow without reuse-space and without resource tags run concurrently', () => {
  const ds = placePends([pend('h1-2', 'a'), pend('h1-3', 'a')], host, [hold('h1-1', 'a')]);
  assert.deepEqual(
    ds.map((d) => d.start),
    [true, true],
  );
});
