import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlowConfig } from '../../src/config/schema.js';
import { dataWaitingOf, runProgress } from '../../src/hub/run-progress.js';
import type { NodeRecord, NodeStatus, RunRecord } from '../../src/model/run.js';
import { firstItem } from '../items.js';
import { SimControl, simRegistry, startHub, testConfig } from './fakes.js';

const FLOW = `
flows:
  - id: f
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: a, listen: trigger.good, type: sim }
      - { name: b, listen: trigger.good, type: sim }
      - name: Ask Bo
        listen: task.a.good
        type: data
        opts: { form: { title: Go?, fields: [{ id: ok, prompt: Go?, type: bool }] } }
      - { name: both, class: merge, type: all, wait: [task.a.good, task.b.good] }
      - { name: done, listen: merge.both.good, type: end }
`;

const flow = firstItem(testConfig(FLOW, simRegistry(new SimControl())).flows);
const endsRun = (type: string) => type === 'end';

function run(nodes: Record<string, NodeStatus>): RunRecord {
  const records: Record<string, NodeRecord> = {};
  for (const [id, status] of Object.entries(nodes)) records[id] = { id, status, startTime: 100, attempts: 1 };
  return {
    ref: { flowRef: { id: 'f', ver: 1 }, run: 'h1-1' },
    adoptedBy: 'h1',
    status: 'running',
    trigger: { id: 'start', type: 'data', values: {} },
    createdAt: 0,
    nodes: records,
  };
}

test('progress counts task and merge nodes but end nodes; done are those that ended good or bad', () => {
  const cases: Array<[Record<string, NodeStatus>, { done: number; total: number }]> = [
    [{}, { done: 0, total: 4 }],
    [
      { a: 'running', b: 'waiting-data' },
      { done: 0, total: 4 },
    ],
    [
      { a: 'good', b: 'bad' },
      { done: 2, total: 4 },
    ],
    [
      { a: 'good', b: 'stopped' },
      { done: 1, total: 4 },
    ],
    [
      { a: 'good', b: 'good', 'ask-bo': 'good', both: 'good', done: 'good' },
      { done: 4, total: 4 },
    ],
    [
      { a: 'good', elsewhere: 'good' },
      { done: 1, total: 4 },
    ],
  ];
  for (const [nodes, want] of cases) assert.deepEqual(runProgress(run(nodes), flow, endsRun), want, JSON.stringify(nodes));
});

test('a data node waiting for input is listed with its name, form and since when; by id when the flow does not know it', () => {
  const r = run({ a: 'good', 'ask-bo': 'waiting-data', other: 'waiting-data', b: 'running' });
  const form = { title: 'Go?', fields: [] };
  r.nodes['ask-bo']!.form = form;
  r.nodes.other!.form = form;
  assert.deepEqual(dataWaitingOf(r, flow), [
    { node: 'ask-bo', name: 'Ask Bo', form, since: 100 },
    { node: 'other', name: 'other', form, since: 100 },
  ]);
  r.nodes['ask-bo']!.status = 'good';
  assert.deepEqual(
    dataWaitingOf(r, undefined).map((w) => w.node),
    ['other'],
  );
});

test('a flow-file run counts the nodes of the flow-file it loaded, and the config nodes until then', async (t) => {
  const sim = new SimControl();
  const loaded = firstItem(
    testConfig(
      `
flows:
  - id: ff
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: a, listen: trigger.good, type: sim }
      - { name: b, listen: task.a.good, type: sim, opts: { hold: b } }
      - { name: c, listen: task.b.good, type: sim }
      - { name: done, listen: task.c.good, type: end }
`,
      simRegistry(sim),
    ).flows,
  );
  let load!: () => void;
  const loading = new Promise<void>((resolve) => (load = resolve));
  const h = await startHub(
    `
flows:
  - id: ff
    flow-file: ff.yml
    triggers: [{ name: start, type: data }]
`,
    { sim, deps: { flowFiles: { load: async (): Promise<FlowConfig> => (await loading, loaded) } } },
  );
  t.after(() => h.hub.stop(0));
  const ref = firstItem(await h.hub.trigger('ff'));
  await h.clock.advance(10);
  assert.deepEqual(firstItem(h.hub.activeSummaries()).progress, { done: 0, total: 0 }, 'the config writes no nodes');
  load();
  await sim.whenHeld('b');
  assert.deepEqual(firstItem(h.hub.activeSummaries('ff')).progress, { done: 1, total: 3 });
  assert.deepEqual(h.hub.activeSummaries('other'), []);
  sim.release('b');
  assert.equal((await h.ended(ref.run)).status, 'good');
});
