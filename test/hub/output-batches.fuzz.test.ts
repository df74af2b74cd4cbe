import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { OutputBatches, RunOutput } from '../../src/hub/output-batches.js';
import type { HubEvent, PublishedEvent } from '../../src/model/events.js';
import type { OutputStream } from '../../src/model/output.js';
import { MemoryStore } from '../../src/store/memory.js';
import { fuzzParams } from '../fuzz/settings.js';

type OutputEvent = Extract<HubEvent, { kind: 'node-output' }>;
interface Printed {
  node: string;
  stream: OutputStream;
  line: string;
}

const MAX_LINES = 5;
const MAX_CHARS = 12;

const printed: fc.Arbitrary<Printed> = fc.record({
  node: fc.constantFrom('build', 'test'),
  stream: fc.constantFrom<OutputStream>('stdout', 'stderr'),
  line: fc.oneof(fc.string({ maxLength: 3 }), fc.string({ minLength: 10, maxLength: 20 })),
});

/** Turns of the loop, each with the lines printed in it (some turns print nothing). */
const turns = fc.array(fc.array(printed, { maxLength: 14 }), { minLength: 1, maxLength: 12 });

/** The events the rule allows: a turn's lines cut where node or stream change, or an event is full. */
function expectedEvents(all: Printed[][]): Array<{ node: string; stream: OutputStream; lines: string[] }> {
  const out: Array<{ node: string; stream: OutputStream; lines: string[]; chars: number }> = [];
  for (const turn of all) {
    let open: (typeof out)[number] | undefined;
    for (const p of turn) {
      if (!open || open.node !== p.node || open.stream !== p.stream || open.lines.length >= MAX_LINES || open.chars >= MAX_CHARS) {
        out.push((open = { node: p.node, stream: p.stream, lines: [], chars: 0 }));
      }
      open.lines.push(p.line);
      open.chars += p.line.length;
    }
  }
  return out.map(({ node, stream, lines }) => ({ node, stream, lines }));
}

test('lines printed over random turns come out as events numbered without gap or overlap, cut only where the rule says, and stored the same', async () => {
  await fc.assert(
    fc.asyncProperty(turns, fc.boolean(), async (all, endEarly) => {
      const events: OutputEvent[] = [];
      const store = new MemoryStore();
      let seq = 0;
      const batches = new OutputBatches({
        publish: (e): PublishedEvent => {
          events.push(e);
          return { ...e, seq: ++seq, at: 1000 + seq, host: 'h1' };
        },
        store,
        saveFailed: (err) => assert.fail(String(err)),
        maxLines: MAX_LINES,
        maxChars: MAX_CHARS,
      });
      const out = new RunOutput({ flowRef: { id: 'f', ver: 1 }, run: 'h1-1' });
      for (const turn of all) {
        for (const p of turn) batches.add(out, p.node, p.stream, p.line);
        await new Promise((r) => setImmediate(r));
      }
      if (endEarly) batches.end(out);
      await out.saved;

      assert.deepEqual(
        events.map(({ node, stream, lines }) => ({ node, stream, lines })),
        expectedEvents(all),
      );
      let next = 0;
      for (const e of events) {
        assert.equal(e.first, next, 'each event goes on from the last');
        assert.equal(e.last, e.first + e.lines.length - 1);
        next = e.last + 1;
      }
      const flat = all.flat();
      assert.deepEqual(
        (await store.getOutput('h1-1')).map(({ node, stream, line, n }) => ({ node, stream, line, n })),
        flat.map((p, n) => ({ ...p, n })),
      );
      if (endEarly) {
        batches.add(out, 'build', 'stdout', 'after the end');
        await new Promise((r) => setImmediate(r));
        assert.equal(events.length, expectedEvents(all).length, 'nothing is published once the run ended');
      }
    }),
    fuzzParams(300),
  );
});
