import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { OutputBatch, OutputLine, OutputStream } from '../../src/model/output.js';
import { LevelStore, OUTPUT_CHUNK_CHARS, OUTPUT_CHUNK_LINES } from '../../src/store/level.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { OutputQuery, Store } from '../../src/store/store.js';
import { fuzzParams } from '../fuzz/settings.js';

/** A batch as the hub hands it over: its lines of one node and stream, and how many there are. */
const batch = fc.record({
  node: fc.constantFrom('build', 'test', 'lint'),
  stream: fc.constantFrom<OutputStream>('stdout', 'stderr', 'floe'),
  size: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: OUTPUT_CHUNK_LINES - 3, max: OUTPUT_CHUNK_LINES * 2 + 3 })),
  // Now and then a line long enough to end a chunk by its characters.
  long: fc.boolean(),
  sameTime: fc.boolean(),
  // The hub numbers lines without gaps; the store asks only that they rise.
  gap: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 })),
});

/** Appends, each of one or more batches, in order. */
const appends = fc.array(fc.array(batch, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 });

const query: fc.Arbitrary<OutputQuery> = fc.oneof(
  fc.record(
    { from: fc.nat({ max: 9000 }), limit: fc.integer({ min: 1, max: 3000 }), node: fc.constantFrom('build', 'test', 'lint') },
    { requiredKeys: [] },
  ),
  fc.record({ tail: fc.integer({ min: 1, max: 4000 }), node: fc.constantFrom('build', 'test', 'lint') }, { requiredKeys: ['tail'] }),
);

/** What a query must answer, from every line appended. */
function expected(all: readonly OutputLine[], q: OutputQuery): OutputLine[] {
  const mine = all.filter((l) => q.node === undefined || l.node === q.node);
  if (q.tail !== undefined) return mine.slice(-q.tail);
  return mine.filter((l) => l.n >= (q.from ?? 0)).slice(0, q.limit ?? Infinity);
}

async function check(store: Store, cases: number): Promise<void> {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(appends, fc.array(query, { minLength: 1, maxLength: 6 }), async (writes, queries) => {
      const run = `h1-${++runs}`;
      const all: OutputLine[] = [];
      let at = 1_790_000_000_000;
      let next = 0;
      for (const write of writes) {
        const batches: OutputBatch[] = write.map((b) => {
          if (!b.sameTime) at++;
          const first = next + b.gap;
          next = first + b.size;
          const lines = Array.from({ length: b.size }, (_, i) =>
            b.long && i === 0 ? 'x'.repeat(OUTPUT_CHUNK_CHARS) : `${b.node} ${first + i}`,
          );
          lines.forEach((line, i) => all.push({ node: b.node, stream: b.stream, line, at, n: first + i }));
          return { node: b.node, stream: b.stream, at, first, lines };
        });
        await store.appendOutput(run, batches);
      }
      assert.deepEqual(await store.getOutput(run), all);
      for (const q of queries) assert.deepEqual(await store.getOutput(run, q), expected(all, q), JSON.stringify(q));
    }),
    fuzzParams(cases),
  );
}

test('level: lines appended in random batches read back exact by from, limit, tail and node, across chunks', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-output-'));
  const store = await LevelStore.open(dir, { sync: false });
  try {
    await check(store, 40);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('memory: the same', async () => {
  await check(new MemoryStore(), 40);
});
