import assert from 'node:assert/strict';
import { test } from 'node:test';
import { approxBytes, EventRing } from '../../src/hub/event-ring.js';
import type { PublishedEvent } from '../../src/model/events.js';

const ref = { flowRef: { id: 'f', ver: 1 }, run: 'h1-1' };

function output(seq: number, line: string): PublishedEvent {
  return {
    kind: 'node-output',
    tag: 'sys.node-output',
    ref,
    node: 'build',
    stream: 'stdout',
    first: seq,
    last: seq,
    lines: [line],
    seq,
    at: 0,
    host: 'h1',
  };
}

/** Pushes events numbered first..last (as the hub numbers them: one more each) and returns them. */
function fill(ring: EventRing, first: number, last: number, line: (seq: number) => string): PublishedEvent[] {
  const out: PublishedEvent[] = [];
  for (let seq = first; seq <= last; seq++) {
    const e = output(seq, line(seq));
    ring.push(e);
    out.push(e);
  }
  return out;
}

/** Seq of the oldest event `since` can still replay, when `last` is the newest. */
function oldestKept(ring: EventRing, last: number): number {
  let oldest = last + 1;
  while (ring.since(oldest - 2, last)) oldest--;
  return oldest;
}

test('the history drops its oldest events once their text passes the byte cap', () => {
  const line = 'x'.repeat(1000);
  const each = approxBytes(output(1, line));
  const ring = new EventRing(10_000, 3 * each + 10);
  const pushed = fill(ring, 1, 10, () => line);
  assert.deepEqual(ring.since(7, 10), pushed.slice(7));
  assert.deepEqual(
    ring.since(8, 10)?.map((e) => e.seq),
    [9, 10],
  );
  assert.equal(ring.since(6, 10), undefined, 'event 7 was dropped for size: the subscriber must resync');
});

test('a big event pushes out as many small ones as its size needs, oldest first', () => {
  const small = approxBytes(output(1, 'ok'));
  const ring = new EventRing(100, 10 * small);
  fill(ring, 1, 10, () => 'ok');
  assert.equal(ring.since(0, 10)?.length, 10);
  const big = output(11, 'y'.repeat(3 * small));
  ring.push(big);
  const oldest = oldestKept(ring, 11);
  const kept = ring.since(oldest - 1, 11) ?? [];
  assert.equal(kept.at(-1), big);
  const total = kept.reduce((n, e) => n + approxBytes(e), 0);
  assert.ok(total <= 10 * small, `${total} bytes kept`);
  assert.ok(total + small > 10 * small, `no more dropped than needed: the oldest kept is ${oldest}`);
});

test('an event over the whole cap is not kept, and replay past it asks for a resync', () => {
  const cap = 3 * approxBytes(output(1, 'a'));
  const ring = new EventRing(100, cap);
  fill(ring, 1, 3, () => 'a');
  ring.push(output(4, 'z'.repeat(cap)));
  assert.deepEqual(ring.since(4, 4), []);
  assert.equal(ring.since(3, 4), undefined);
  fill(ring, 5, 6, () => 'b');
  assert.deepEqual(
    ring.since(4, 6)?.map((e) => e.seq),
    [5, 6],
  );
});

test('the count cap still holds, and replay is right across wrap-around and size drops', () => {
  const cap = 5 * approxBytes(output(1, 'x'.repeat(16)));
  const ring = new EventRing(5, cap);
  // Lines of 0 to 40 characters: some pushes drop by count, some by size.
  const lineOf = (seq: number): string => 'x'.repeat((seq * 7) % 41);
  const all = fill(ring, 1, 200, lineOf);
  const drops = new Set<string>();
  for (let last = 201; last <= 260; last++) {
    all.push(...fill(ring, last, last, lineOf));
    const oldest = oldestKept(ring, last);
    assert.deepEqual(ring.since(oldest - 1, last), all.slice(oldest - 1), `replay from ${oldest}`);
    assert.ok(last - oldest + 1 <= 5, `${last - oldest + 1} events kept`);
    const bytes = all.slice(oldest - 1).reduce((n, e) => n + approxBytes(e), 0);
    assert.ok(bytes <= cap, `${bytes} bytes kept at ${last}`);
    drops.add(last - oldest + 1 < 5 ? 'size' : 'count');
  }
  assert.deepEqual([...drops].sort(), ['count', 'size'], 'both caps took part');
});

test('an event is sized by the text it carries, nested values included', () => {
  const line = 'x'.repeat(64 * 1024);
  assert.ok(approxBytes(output(1, line)) > line.length);
  assert.ok(approxBytes(output(1, line)) < line.length + 1024);
  const values = { form: { notes: 'n'.repeat(5000), list: ['a'.repeat(3000)] } };
  assert.ok(approxBytes({ kind: 'add-pend', values }) > 8000);
});

/** Bytes of the websocket frame the host caches for `e` while the ring keeps it. */
function frameBytes(e: unknown): number {
  return Buffer.byteLength(JSON.stringify({ type: 'event', event: e }));
}

test('an event is counted at no less than its encoded frame, escapes and UTF-8 included', () => {
  const lines = [
    '\x01'.repeat(64 * 1024),
    '\x1b[31merror\x1b[0m: build failed\x00'.repeat(2000),
    '"quoted" and \\back\\slashed\\'.repeat(2000),
    '\n\r\t\b\f'.repeat(10_000),
    'é€中'.repeat(20_000),
    '😀🚀'.repeat(16_000),
    '\ud800 lone \udfff surrogates \udc00\ud83d'.repeat(2000),
  ];
  for (const line of lines) {
    const e = output(1, line);
    assert.ok(approxBytes(e) >= frameBytes(e), `${approxBytes(e)} < ${frameBytes(e)} for ${JSON.stringify(line.slice(0, 12))}`);
  }
  const values = { form: { notes: '\x02"\\'.repeat(3000), list: ['ü'.repeat(3000), 1.2345678901234567e-300, null, true] } };
  assert.ok(approxBytes({ kind: 'add-pend', values }) >= frameBytes({ kind: 'add-pend', values }));
  const deep = JSON.parse('['.repeat(200) + JSON.stringify('\x01'.repeat(5000)) + ']'.repeat(200)) as unknown;
  assert.ok(approxBytes(deep) >= frameBytes(deep), 'past the depth where it stops walking');
});

test('a history of control-character lines keeps no more frame bytes than its cap', () => {
  const cap = 1024 * 1024;
  const ring = new EventRing(10_000, cap);
  const all = fill(ring, 1, 100, () => '\x1b'.repeat(64 * 1024));
  const kept = ring.since(oldestKept(ring, 100) - 1, 100) ?? [];
  const frames = kept.reduce((n, e) => n + frameBytes(e), 0);
  assert.ok(kept.length > 0 && kept.at(-1) === all.at(-1));
  assert.ok(frames <= cap, `${frames} bytes of frames kept under a cap of ${cap}`);
});
