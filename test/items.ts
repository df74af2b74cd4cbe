import assert from 'node:assert/strict';

// With noUncheckedIndexedAccess a test reads list items through these: a missing item fails
// the test with a message saying which, instead of a TypeError a few lines further on.

/** `items[i]`; fails the test when there is no such item. */
export function itemAt<T>(items: readonly T[], i: number): T {
  const item = items[i];
  assert.ok(item !== undefined, `expected an item at [${i}], got ${items.length} items`);
  return item;
}

/** The first of `items`; fails the test when there is none. */
export function firstItem<T>(items: readonly T[]): T {
  return itemAt(items, 0);
}

/** `record[key]`; fails the test when the key is missing. */
export function entry<T>(record: Readonly<Record<string, T>>, key: string): T {
  const value = record[key];
  assert.ok(value !== undefined, `expected an entry ${JSON.stringify(key)}, got ${JSON.stringify(Object.keys(record))}`);
  return value;
}
