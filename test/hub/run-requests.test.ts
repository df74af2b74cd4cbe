import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FloeError } from '../../src/errors.js';
import { answerRunRequest, errorReply, fitOutput, OUTPUT_REPLY_CHARS, type LocalRuns } from '../../src/hub/run-requests.js';
import type { OutputLine } from '../../src/model/output.js';

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
