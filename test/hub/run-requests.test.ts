import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Membership } from '../../src/cluster/membership.js';
import { FloeError } from '../../src/errors.js';
import { ClusterViews, type RunListQuery } from '../../src/hub/cluster-views.js';
import { answerRunRequest, errorReply, fitOutput, OUTPUT_REPLY_CHARS, type LocalRuns } from '../../src/hub/run-requests.js';
import type { OutputLine } from '../../src/model/output.js';
import type { EndStatus, RunRecord } from '../../src/model/run.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { ArchiveQuery } from '../../src/store/store.js';
import { manualClock } from '../../src/testing/manual-clock.js';

const line = (n: number, size: number): OutputLine => ({ node: 'build', stream: 'stdout', line: 'x'.repeat(size), at: 0, n });

test('output over what one reply carries is cut: the first lines when paging from, the last with tail, at least one', () => {
  const big = Array.from({ length: 40 }, (_, n) => line(n, 64 * 1024));
  const head = fitOutput(big, { from: 0, limit: 41 });
  assert.equal(head.cut, true);
  assert.ok(head.lines.length > 1 && head.lines.length < 40);
  assert.deepEqual(
    head.lines.map((l) => l.n),
    [...Array(head.lines.length).keys()],
  );
  assert.ok(JSON.stringify(head.lines).length <= OUTPUT_REPLY_CHARS + 100);
  const tail = fitOutput(big, { tail: 40 });
  assert.equal(tail.cut, true);
  assert.equal(tail.lines.at(-1)?.n, 39);
  assert.equal(tail.lines.length, head.lines.length);
  assert.deepEqual(fitOutput([line(0, 2 * OUTPUT_REPLY_CHARS)], { tail: 1 }).lines.length, 1, 'one line always goes');
  assert.deepEqual(fitOutput(big.slice(0, 3), { from: 0 }), { lines: big.slice(0, 3) }, 'what fits is not cut');
});

test('a run request from a host not in common.hosts is refused; a failure is an error reply with its code', async () => {
  const calls: string[] = [];
  const local = {
    cancel: async (run: string) => {
      calls.push(run);
      throw new FloeError('conflict', `run ${run} has already ended (good)`);
    },
  } as unknown as LocalRuns;
  const req = { kind: 'cancel', from: 'http://h9.test', run: 'h2-1', by: 'a' } as const;
  assert.deepEqual(await answerRunRequest(local, ['http://h1.test'], req), {
    kind: 'refused',
    reason: 'http://h9.test is not in common.hosts',
  });
  assert.deepEqual(calls, []);
  assert.deepEqual(await answerRunRequest(local, ['http://h9.test'], req), {
    kind: 'error',
    message: 'run h2-1 has already ended (good)',
    code: 'conflict',
  });
  assert.deepEqual(errorReply(new FloeError('internal', 'bug')), { kind: 'error', message: 'bug' });
  assert.deepEqual(errorReply(new Error('disk full')), { kind: 'error', message: 'disk full' });
});

/** A host alone on `store`, its archive read through `reads` (the runs each read returned). */
function hostAlone(store: MemoryStore, scanMax?: number) {
  const reads: number[] = [];
  const local = {
    listPending: () => [],
    activeSummaries: () => [],
    listArchive: async (q: ArchiveQuery) => {
      const page = await store.listArchive(q);
      reads.push(page.runs.length);
      return page;
    },
  } as unknown as LocalRuns;
  const url = 'http://h1.test';
  const membership = new Membership({ selfUrl: url, selfName: 'h1', hosts: [url], offlineAfterMs: 1e9, now: 0 });
  const sendNow = () => Promise.reject(new Error('no peers'));
  const views = new ClusterViews(local, { membership, selfUrl: url, sendNow }, manualClock(), 'h1', { scanMax });
  return { local, views, reads };
}

/** Archives runs `h1-1`, `h1-2`, ... ending in that order, with these statuses. */
async function archiveRuns(store: MemoryStore, statuses: EndStatus[]): Promise<void> {
  for (const [i, status] of statuses.entries()) {
    const r: RunRecord = {
      ref: { flowRef: { id: 'f', ver: 1 }, run: `h1-${i + 1}` },
      adoptedBy: 'h1',
      status,
      trigger: { id: 'start', type: 'data', values: {} },
      createdAt: i * 10,
      endTime: i * 10 + 5,
      nodes: {},
    };
    await store.addPend(r);
    await store.archive(r);
  }
}

async function pagesOf(views: ClusterViews, q: Omit<RunListQuery, 'before'>): Promise<string[][]> {
  const pages: string[][] = [];
  let page = await views.listRuns(q);
  pages.push(page.archive.map((r) => r.ref.run));
  while (page.next !== undefined && pages.length < 20) {
    page = await views.listRuns({ ...q, before: views.readCursor(String(page.next)) });
    pages.push(page.archive.map((r) => r.ref.run));
  }
  return pages;
}

test('a status filter pages through the runs that ended so, each once, where other runs lie between those skipped', async () => {
  const store = new MemoryStore();
  // Newest first: 7 bad, 6 bad, 5 bad, 4 bad, 3 bad, 2 good, 1 bad.
  await archiveRuns(store, ['bad', 'good', 'bad', 'bad', 'bad', 'bad', 'bad']);
  const { views } = hostAlone(store);
  assert.deepEqual(await pagesOf(views, { flow: 'f', limit: 2, status: ['bad'] }), [
    ['h1-7', 'h1-6'],
    ['h1-5', 'h1-4'],
    ['h1-3', 'h1-1'],
  ]);
  const store2 = new MemoryStore();
  // Newest first: 7 bad, 6 good, 5 bad, 4 bad, 3 bad, 2 bad, 1 bad: the second page skips 7 and 5 across 6.
  await archiveRuns(store2, ['bad', 'bad', 'bad', 'bad', 'bad', 'good', 'bad']);
  assert.deepEqual(await pagesOf(hostAlone(store2).views, { flow: 'f', limit: 2, status: ['bad'] }), [
    ['h1-7', 'h1-5'],
    ['h1-4', 'h1-3'],
    ['h1-2', 'h1-1'],
  ]);
});

test('a filtered page reads at most scanMax archived runs and says how far it got; the next page goes on from there', async () => {
  const store = new MemoryStore();
  await archiveRuns(store, ['cancelled', ...Array<EndStatus>(20).fill('good')]);
  const { views, local, reads } = hostAlone(store, 8);
  const reply = await answerRunRequest(
    local,
    ['http://h2.test'],
    {
      kind: 'runs',
      from: 'http://h2.test',
      lists: ['archive'],
      archive: { limit: 5, skip: 0, status: ['cancelled'] },
    },
    8,
  );
  assert.equal(reply.kind, 'runs');
  assert.deepEqual(
    reply.kind === 'runs' && [reply.archive, reply.next, reply.scannedTo],
    [[], 14, 135],
    'runs 21 to 14 read: 14 ended at 135',
  );
  assert.ok(reads.slice(1).reduce((a, b) => a + b, 0) <= 8, `read ${reads.join(', ')} runs after the newest`);

  assert.deepEqual(await pagesOf(views, { flow: 'f', limit: 5, status: ['cancelled'] }), [[], [], ['h1-1']]);
  assert.deepEqual(await pagesOf(views, { flow: 'f', limit: 5, status: ['good', 'bad'] }), [
    ['h1-21', 'h1-20', 'h1-19', 'h1-18', 'h1-17'],
    ['h1-16', 'h1-15', 'h1-14', 'h1-13', 'h1-12'],
    ['h1-11', 'h1-10', 'h1-9', 'h1-8', 'h1-7'],
    ['h1-6', 'h1-5', 'h1-4', 'h1-3', 'h1-2'],
    [],
  ]);
});
