import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hub } from '../../src/hub/hub.js';
import { MAX_EVENT_LINES } from '../../src/hub/output-batches.js';
import type { PublishedEvent } from '../../src/model/events.js';
import type { OutputBatch, OutputStream } from '../../src/model/output.js';
import { createNodeRegistry } from '../../src/nodes/index.js';
import type { NodeType } from '../../src/nodes/node-type.js';
import { endNode } from '../../src/nodes/end.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/store.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { testConfig } from './fakes.js';
import { firstItem } from '../items.js';

type Printed = [stream: OutputStream, line: string];

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/**
 * `print` prints each of its turns' lines synchronously, then lets the loop turn, as lines read
 * from a pipe arrive; `gate: true` then waits until the test opens it.
 */
function printer(gates: Map<string, () => void>): NodeType<{ turns: Printed[][]; gate: boolean }> {
  return {
    type: 'print',
    parseOpts: (raw) => ({ turns: (raw.turns ?? []) as Printed[][], gate: raw.gate === true }),
    execute: async (ctx, opts) => {
      for (const [i, turn] of opts.turns.entries()) {
        if (i > 0) await nextTurn();
        for (const [stream, line] of turn) ctx.output(stream, line);
      }
      if (opts.gate) await new Promise<void>((r) => gates.set(ctx.nodeId, r));
      return { status: 0 };
    },
  };
}

async function startPrinting(tasks: string, store: Store = new MemoryStore()) {
  const gates = new Map<string, () => void>();
  const registry = createNodeRegistry([printer(gates), endNode] as NodeType[]);
  const yaml = `
flows:
  - id: f
    triggers: [{ name: start, type: data }]
    tasks:
${tasks}
`;
  const hub = new Hub(testConfig(yaml, registry), {
    hostName: 'h1',
    hostTags: ['master'],
    clock: manualClock(),
    store,
    nodes: registry,
    workspaces: { pathOf: () => '/ws', prepare: async () => {} },
    cacheDir: '/cache',
  });
  const events: PublishedEvent[] = [];
  hub.subscribe((e) => events.push(e));
  await hub.start();
  const run = firstItem(await hub.trigger('f')).run;
  const ended = () =>
    new Promise<void>((resolve) => {
      const check = () => (events.some((e) => e.kind === 'end') ? resolve() : setImmediate(check));
      check();
    });
  return { hub, events, run, gates, ended };
}

/** The events' kinds and, for output, node, stream, first, last and lines. */
function story(events: PublishedEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.kind === 'node-output') return [`output ${e.node} ${e.stream} ${e.first}-${e.last}: ${e.lines.join(' ')}`];
    if (e.kind === 'node-start') return [`start ${e.node}`];
    return [];
  });
}

test('the lines a node prints in one turn are one event; each later turn is another, numbered on', async () => {
  const turns: Printed[][] = [
    [
      ['stdout', 'a'],
      ['stdout', 'b'],
      ['stdout', 'c'],
    ],
    [['stdout', 'd']],
    [
      ['stdout', 'e'],
      ['stdout', 'f'],
    ],
  ];
  const h = await startPrinting(`      - { name: p, listen: trigger.good, type: print, opts: { turns: ${JSON.stringify(turns)} } }`);
  await h.ended();
  assert.deepEqual(story(h.events), ['start p', 'output p stdout 0-2: a b c', 'output p stdout 3-3: d', 'output p stdout 4-5: e f']);
  const kept = await h.hub.getOutput(h.run);
  assert.deepEqual(
    kept.map((l) => `${l.n} ${l.line}`),
    ['0 a', '1 b', '2 c', '3 d', '4 e', '5 f'],
  );
});

test('another stream or node starts a new event, numbering runs across them, and an event comes after the lines printed before it', async () => {
  const a: Printed[][] = [
    [
      ['stdout', 'x1'],
      ['stdout', 'x2'],
      ['stderr', 'y'],
      ['stdout', 'z'],
    ],
  ];
  const b: Printed[][] = [[['stdout', 'w']]];
  // Both start in one queue item: a prints, then b's node-start is published in the same turn.
  const h = await startPrinting(
    [
      `      - { name: a, listen: trigger.good, type: print, opts: { turns: ${JSON.stringify(a)} } }`,
      `      - { name: b, listen: trigger.good, type: print, opts: { turns: ${JSON.stringify(b)} } }`,
    ].join('\n'),
  );
  await h.ended();
  assert.deepEqual(story(h.events), [
    'start a',
    'output a stdout 0-1: x1 x2',
    'output a stderr 2-2: y',
    'output a stdout 3-3: z',
    'start b',
    'output b stdout 4-4: w',
  ]);
});

test('a turn of more lines than an event holds is cut into full events', async () => {
  const many = MAX_EVENT_LINES * 2 + 5;
  const turns = [Array.from({ length: many }, (_, i): Printed => ['stdout', String(i)])];
  const h = await startPrinting(`      - { name: p, listen: trigger.good, type: print, opts: { turns: ${JSON.stringify(turns)} } }`);
  await h.ended();
  const outputs = h.events.flatMap((e) => (e.kind === 'node-output' ? [[e.first, e.last, e.lines.length]] : []));
  assert.deepEqual(outputs, [
    [0, MAX_EVENT_LINES - 1, MAX_EVENT_LINES],
    [MAX_EVENT_LINES, 2 * MAX_EVENT_LINES - 1, MAX_EVENT_LINES],
    [2 * MAX_EVENT_LINES, many - 1, 5],
  ]);
});

/** A memory store whose output writes take a while to land, as LevelDB's do. */
class SlowOutputStore extends MemoryStore {
  writes = 0;
  override async appendOutput(run: string, batches: OutputBatch[]): Promise<void> {
    this.writes++;
    await new Promise((r) => setTimeout(r, 20));
    return super.appendOutput(run, batches);
  }
}

test('while a run prints, getOutput waits for the lines published so far to be stored', async () => {
  const store = new SlowOutputStore();
  const turns: Printed[][] = [[['stdout', 'one']], [['stdout', 'two']], [['stdout', 'three']]];
  const h = await startPrinting(
    `      - { name: p, listen: trigger.good, type: print, opts: { gate: true, turns: ${JSON.stringify(turns)} } }`,
    store,
  );
  while (!h.gates.has('p')) await nextTurn();
  assert.deepEqual(
    (await h.hub.getOutput(h.run)).map((l) => l.line),
    ['one', 'two', 'three'],
  );
  // Lines that came during the first write went in the next one, together.
  assert.ok(store.writes < 3, `${store.writes} writes`);
  h.gates.get('p')!();
  await h.ended();
});
