import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePeerReply, parsePeerRequest, type PeerReply, type PeerRequest } from '../../src/cluster/messages.js';

const from = 'http://h1.test';
const summary = {
  ref: { flowRef: { id: 'f', ver: 1 }, run: 'h2-7' },
  execHost: 'h2',
  status: 'good',
  createdAt: 1,
  startTime: 2,
  endTime: 3,
  trigger: { id: 'start', type: 'data', values: {} },
};

test('run requests and their replies come through JSON as they were sent', () => {
  const requests: PeerRequest[] = [
    { kind: 'runs', from, flow: 'f', lists: ['pending', 'active', 'archive'], archive: { limit: 50, before: 12, skip: 3 } },
    { kind: 'runs', from, lists: ['pending'] },
    { kind: 'run', from, run: 'h2-7' },
    { kind: 'output', from, run: 'h2-7', query: { node: 'build', from: 10, limit: 201 } },
    { kind: 'cancel', from, run: 'h2-7', by: 'alice' },
    { kind: 'rerun', from, run: 'h2-7', by: 'alice' },
    { kind: 'answer', from, run: 'h2-7', node: 'approve', values: { ok: true, n: 3, why: 'fine' }, by: 'alice' },
  ];
  for (const req of requests) assert.deepEqual(parsePeerRequest(JSON.parse(JSON.stringify(req))), req);
  const replies: PeerReply[] = [
    { kind: 'runs', pending: [], active: [], archive: [summary as never], next: 4, from: 9 },
    { kind: 'run' },
    { kind: 'output', lines: [{ node: 'build', stream: 'stdout', line: 'x', at: 5, n: 0 }], cut: true },
    { kind: 'cancel' },
    { kind: 'rerun', runs: [{ flowRef: { id: 'f', ver: 1 }, run: 'h2-8' }] },
    { kind: 'answer' },
    { kind: 'error', message: 'run h2-7 has already ended (good)', code: 'conflict' },
  ];
  for (const reply of replies) assert.deepEqual(parsePeerReply(JSON.parse(JSON.stringify(reply))), reply);
});

test('a malformed run request is refused naming its bad field', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ kind: 'runs', from, lists: ['archived'] }, /^lists must be a list of pending, active, archive$/],
    [{ kind: 'runs', from, lists: [], archive: { limit: 0, skip: 0 } }, /^archive\.limit must be an integer from 1 to 1000$/],
    [{ kind: 'runs', from, lists: [], archive: { limit: 5, skip: -1 } }, /^archive\.skip/],
    [{ kind: 'runs', from, lists: [], archive: { limit: 5, skip: 0, before: 1.5 } }, /^archive\.before/],
    [{ kind: 'runs', from, flow: 3, lists: [] }, /^flow must be a string$/],
    [{ kind: 'run', from }, /^run must be a string$/],
    [{ kind: 'output', from, run: 'x', query: { tail: -1 } }, /^query\.tail must be an integer >= 0$/],
    [{ kind: 'cancel', from, run: 'x' }, /^by must be a string$/],
    [{ kind: 'answer', from, run: 'x', by: 'a', node: 'n', values: { ok: null } }, /^values\.ok must be a string, number or boolean$/],
    [{ kind: 'answer', from, run: 'x', by: 'a', values: {} }, /^node must be a string$/],
  ];
  for (const [body, message] of cases) {
    const got = parsePeerRequest(body);
    assert.equal(typeof got, 'string', JSON.stringify(body));
    assert.match(got as string, message);
  }
});

test('a malformed run reply is an error reply; an error code outside the relayed ones is dropped', () => {
  assert.deepEqual(parsePeerReply({ kind: 'runs', pending: [], active: [{ ...summary, createdAt: 'soon' }], archive: [] }), {
    kind: 'error',
    message: 'bad runs reply: active[0].createdAt must be a number',
  });
  assert.deepEqual(parsePeerReply({ kind: 'runs', pending: [], active: [] }), {
    kind: 'error',
    message: 'bad runs reply: archive must be a list',
  });
  assert.match((parsePeerReply({ kind: 'run', record: { ref: {} } }) as { message: string }).message, /^bad run reply: record\.ref/);
  assert.match(
    (parsePeerReply({ kind: 'output', lines: [{ node: 'x' }] }) as { message: string }).message,
    /^bad output reply: lines\[0\]/,
  );
  assert.deepEqual(parsePeerReply({ kind: 'error', message: 'boom', code: 'internal' }), { kind: 'error', message: 'boom' });
  assert.deepEqual(parsePeerReply({ kind: 'error', message: 'gone', code: 'not-found' }), {
    kind: 'error',
    message: 'gone',
    code: 'not-found',
  });
});
