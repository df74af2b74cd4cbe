import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { transform } from 'esbuild';
import type { PublishedEvent } from '../../src/model/events.js';
import type { RunStatus, RunSummary } from '../../src/model/run.js';
import type { DashRuns, DashRunsModule, RunList } from './modules.js';

/** The dashboard's run state, from its TypeScript source as the bundle takes it (it imports only types). */
async function load(): Promise<DashRunsModule> {
  const source = await readFile(new URL('../../../webapp/src/pages/dash-runs.ts', import.meta.url), 'utf8');
  const { code } = await transform(source, { loader: 'ts', format: 'esm' });
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as DashRunsModule;
}

const FORM = { title: 'Ship it?', fields: [{ id: 'approved', prompt: 'Approve', type: 'bool' as const }] };

function run(id: string, status: RunStatus, more: Partial<RunSummary> & { flow?: string } = {}): RunSummary {
  const { flow = 'release', ...rest } = more;
  return {
    ref: { flowRef: { id: flow, ver: 1 }, run: id },
    status,
    createdAt: 1,
    trigger: { id: 'start', type: 'data', values: {} },
    ...rest,
  };
}

function page(p: Partial<RunList>): RunList {
  return { pending: [], active: [], archive: [], unreachable: [], ...p };
}

function event(e: Record<string, unknown>): PublishedEvent {
  return { seq: 1, at: 500, host: 'h1', ...e } as PublishedEvent;
}

const ref = (id: string) => ({ flowRef: { id: 'release', ver: 1 }, run: id });

function waitingRun(): RunSummary {
  return run('h1-2', 'running', {
    startTime: 10,
    progress: { done: 1, total: 4 },
    dataWaiting: [{ node: 'sign-off', name: 'Sign Off', form: FORM, since: 20 }],
  });
}

test('an answered data node leaves the inbox, and hearing the answer twice changes nothing', async () => {
  const m = await load();
  const s = m.fromPage(page({ active: [waitingRun()] }));
  assert.equal(m.inboxOf(s).length, 1);
  const answered = event({ kind: 'data-answered', tag: 'sys.data-answered', ref: ref('h1-2'), node: 'sign-off', by: 'alice' });
  const once = m.applyRunEvent(s, answered);
  assert.notEqual(once, 'reload');
  assert.deepEqual(m.inboxOf(once as DashRuns), []);
  assert.equal(m.applyRunEvent(once as DashRuns, answered), once);
});

test('a run that ends moves to the archive with its status and end time, once', async () => {
  const m = await load();
  const s = m.fromPage(page({ active: [waitingRun()], archive: [run('h1-1', 'good', { endTime: 5 })] }));
  const end = event({ kind: 'end', tag: 'sys.end', ref: ref('h1-2'), status: 'bad', reason: 'end node fail reached' });
  const after = m.applyRunEvent(s, end) as DashRuns;
  assert.deepEqual(after.active, []);
  assert.deepEqual(
    after.archive.map((r) => [r.ref.run, r.status, r.endTime, r.reason]),
    [
      ['h1-2', 'bad', 500, 'end node fail reached'],
      ['h1-1', 'good', 5, undefined],
    ],
  );
  assert.equal(after.archive[0]?.dataWaiting, undefined, 'an ended run asks for nothing');
  assert.deepEqual(m.inboxOf(after), []);
  assert.equal(m.applyRunEvent(after, end), after);
});

test('events the dashboard cannot apply alone ask for a reload; output lines change nothing', async () => {
  const m = await load();
  const s = m.fromPage(page({ pending: [run('h1-3', 'pending')], active: [waitingRun()] }));
  const cases: Array<[string, Record<string, unknown>, 'reload' | 'same']> = [
    ['a new pend', { kind: 'add-pend', tag: 'sys.add-pend', ref: ref('h1-9'), trigger: 'start', values: {} }, 'reload'],
    ['a pend already listed', { kind: 'add-pend', tag: 'sys.add-pend', ref: ref('h1-3'), trigger: 'start', values: {} }, 'same'],
    ['a start', { kind: 'activate', tag: 'sys.activate', ref: ref('h1-3'), execHost: 'h1', workspace: '/w' }, 'reload'],
    [
      'a node done (progress)',
      { kind: 'node-end', tag: 'sys.node-end', ref: ref('h1-2'), node: 'build', status: 0, good: true, emitted: 'task.build.good' },
      'reload',
    ],
    ['a new input asked', { kind: 'data-required', tag: 'sys.data-required', ref: ref('h1-2'), node: 'other', form: FORM }, 'reload'],
    [
      'an input already listed',
      { kind: 'data-required', tag: 'sys.data-required', ref: ref('h1-2'), node: 'sign-off', form: FORM },
      'same',
    ],
    ['the end of a run not held', { kind: 'end', tag: 'sys.end', ref: ref('h9-1'), status: 'good' }, 'reload'],
    [
      'an output line',
      {
        kind: 'node-output',
        tag: 'sys.node-output',
        ref: ref('h1-2'),
        node: 'build',
        stream: 'stdout',
        first: 3,
        last: 3,
        lines: ['x'],
      },
      'same',
    ],
  ];
  for (const [what, e, want] of cases) {
    const got = m.applyRunEvent(s, event(e));
    assert.equal(got === 'reload' ? 'reload' : got === s ? 'same' : 'changed', want, what);
  }
});

test('a pend says the new reason it waits', async () => {
  const m = await load();
  const s = m.fromPage(page({ pending: [run('h1-3', 'pending', { waiting: 'at -max_runs capacity (2 of 2)' })] }));
  const after = m.applyRunEvent(
    s,
    event({ kind: 'pend-waiting', tag: 'sys.pend-waiting', ref: ref('h1-3'), reason: 'queued behind pend h1-2 for resource tag db' }),
  );
  assert.equal((after as DashRuns).pending[0]?.waiting, 'queued behind pend h1-2 for resource tag db');
});

test('a reload read before an end it raced does not bring the ended run back to life', async () => {
  const m = await load();
  const s = m.fromPage(page({ active: [waitingRun()], archive: [run('h1-1', 'good', { endTime: 5 })] }));
  const ended = m.applyRunEvent(s, event({ kind: 'end', tag: 'sys.end', ref: ref('h1-2'), status: 'good' })) as DashRuns;
  const stale = page({ active: [waitingRun()], archive: [run('h1-1', 'good', { endTime: 5 })], next: 1 });
  const merged = m.mergePage(ended, stale);
  assert.ok(merged);
  assert.deepEqual(merged.active, []);
  assert.deepEqual(
    merged.archive.map((r) => r.ref.run),
    ['h1-2', 'h1-1'],
  );
});

test('a reload page keeps the older runs held, and one with no run in common asks for a full load', async () => {
  const m = await load();
  const held = m.fromPage(page({ archive: [run('h1-2', 'good', { endTime: 20 }), run('h1-1', 'bad', { endTime: 10 })], next: 7 }));
  const newer = m.mergePage(held, page({ archive: [run('h1-3', 'good', { endTime: 30 }), run('h1-2', 'good', { endTime: 20 })], next: 8 }));
  assert.deepEqual(
    newer?.archive.map((r) => r.ref.run),
    ['h1-3', 'h1-2', 'h1-1'],
  );
  assert.equal(newer?.hasOlder, true);
  const gap = m.mergePage(held, page({ archive: [run('h1-40', 'good', { endTime: 400 })], next: 9 }));
  assert.equal(gap, undefined);
  const all = m.mergePage(held, page({ archive: [run('h1-40', 'good', { endTime: 400 })] }));
  assert.equal(all?.hasOlder, false, 'a page without next is the whole archive');
});

test("a flow's latest runs are newest adopted first, each once, from every list and the older runs loaded", async () => {
  const m = await load();
  const s = m.fromPage(
    page({
      pending: [run('h1-5', 'pending', { createdAt: 50 })],
      active: [run('h1-4', 'running', { createdAt: 40 }), run('h2-1', 'running', { createdAt: 45, flow: 'deploy' })],
      archive: [run('h1-3', 'good', { createdAt: 30, endTime: 35 })],
    }),
  );
  const older = new Map([
    ['release', [run('h1-3', 'good', { createdAt: 30, endTime: 35 }), run('h1-1', 'bad', { createdAt: 10, endTime: 15 })]],
  ]);
  const recent = m.recentRunsByFlow(s, older);
  assert.deepEqual(
    recent.get('release')?.map((r) => r.ref.run),
    ['h1-5', 'h1-4', 'h1-3', 'h1-1'],
  );
  assert.deepEqual(
    recent.get('deploy')?.map((r) => r.ref.run),
    ['h2-1'],
  );
  const many = m.fromPage(page({ archive: Array.from({ length: 30 }, (_, i) => run(`h1-${i}`, 'good', { createdAt: i, endTime: i })) }));
  assert.equal(m.recentRunsByFlow(many, new Map()).get('release')?.length, m.RECENT_RUNS);
});
