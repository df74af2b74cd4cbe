import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCursor, encodeCursor, type ArchiveCursor } from '../../src/hub/archive-cursor.js';

const self = 'http://h1.test';

test('a cursor of this host alone is its plain archive position, as a host alone always gave', () => {
  assert.equal(encodeCursor(new Map([[self, { before: 250, skip: 0 }]]), self), 250);
  assert.deepEqual(decodeCursor('250', self), new Map([[self, { before: 250, skip: 0 }]]));
  assert.equal(encodeCursor(new Map(), self), undefined, 'no host has more: no next');
});

test('a cursor of several hosts comes back as it went, each host with its place', () => {
  const cursor: ArchiveCursor = new Map([
    [self, { before: 12, skip: 3 }],
    ['http://h2.test', { skip: 0 }],
    ['http://h3.test', { before: 0, skip: 0 }],
  ]);
  const text = encodeCursor(cursor, self);
  assert.equal(typeof text, 'string');
  assert.match(String(text), /^c[A-Za-z0-9_-]+$/, 'safe in a query string as it is');
  assert.deepEqual(decodeCursor(String(text), self), cursor);
});

test('a before that is no cursor is a bad request naming the parameter', () => {
  const bad = (v: unknown) => `c${Buffer.from(JSON.stringify(v)).toString('base64url')}`;
  for (const text of [
    'x12',
    'c',
    'c!!!',
    bad({}),
    bad([['u', -1, 0]]),
    bad([['u', 1, 1.5]]),
    bad([[1, 1, 0]]),
    bad([['u', 1]]),
    '99999999999999999999',
  ]) {
    assert.throws(
      () => decodeCursor(text, self),
      (err: Error & { code?: string }) =>
        err.code === 'bad-request' && /^query parameter before must be the next of a previous page/.test(err.message),
      text,
    );
  }
});
