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
const active = {
  ref: summary.ref,
  execHost: 'h2',
  status: 'running',
  createdAt: 1,
  startTime: 2,
  trigger: summary.trigger,
  progress: { done: 1, total: 3 },
  dataWaiting: [{ node: 'approve', name: 'Approve', form: { title: 'Ship it?', fields: [] }, since: 5 }],
};

test('run requests and their replies come through JSON as they were sent', () => {
  const requests: PeerRequest[] = [
    { kind: 'runs', from, flow: 'f', lists: ['pending', 'active', 'archive'], archive: { limit: 50, before: 12, skip: 3 } },
    { kind: 'runs', from, lists: ['pending'] },
    { kind: 'runs', from, lists: ['archive'], archive: { limit: 5, skip: 4000, status: ['bad', 'cancelled'] } },
    { kind: 'run', from, run: 'h2-7' },
    { kind: 'output', from, run: 'h2-7', query: { node: 'build', from: 10, limit: 201 } },
    { kind: 'cancel', from, run: 'h2-7', by: 'alice' },
    { kind: 'rerun', from, run: 'h2-7', by: 'alice' },
    { kind: 'answer', from, run: 'h2-7', node: 'approve', values: { ok: true, n: 3, why: 'fine' }, by: 'alice' },
  ];
  for (const req of requests) assert.deepEqual(parsePeerRequest(JSON.parse(JSON.stringify(req))), req);
  const replies: PeerReply[] = [
    { kind: 'runs', pending: [], active: [], archive: [summary as never], next: 4, from: 9 },
    { kind: 'runs', pending: [], active: [active as never], archive: [], next: 4, from: 9, skipped: 2, scannedTo: 1795509448818 },
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
    [{ kind: 'runs', from, lists: [], archive: { limit: 5, skip: 1001 } }, /^archive\.skip must be an integer from 0 to 1000$/],
    [
      { kind: 'runs', from, lists: [], archive: { limit: 5, skip: 0, status: ['running'] } },
      /^archive\.status must be a non-empty list of good, bad, cancelled$/,
    ],
    [{ kind: 'runs', from, lists: [], archive: { limit: 5, skip: 0, status: [] } }, /^archive\.status must be/],
    [{ kind: 'runs', from, lists: [], archive: { limit: 5, skip: 0, status: 'bad' } }, /^archive\.status must be/],
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
  const badActive: Array<[unknown, string]> = [
    [{ ...active, progress: { done: 1 } }, 'active[0].progress must be {done, total}'],
    [{ ...active, progress: { done: -1, total: 3 } }, 'active[0].progress must be {done, total}'],
    [{ ...active, dataWaiting: {} }, 'active[0].dataWaiting must be a list'],
    [
      { ...active, dataWaiting: [{ node: 'approve', name: 'Approve', since: 5 }] },
      'active[0].dataWaiting[0] must be {node, name, form, since}',
    ],
    [{ ...active, dataWaiting: [{ ...active.dataWaiting[0], since: '5' }] }, 'active[0].dataWaiting[0] must be {node, name, form, since}'],
  ];
  for (const [s, message] of badActive) {
    assert.deepEqual(parsePeerReply({ kind: 'runs', pending: [], active: [s], archive: [] }), {
      kind: 'error',
      message: `bad runs reply: ${message}`,
    });
  }
  assert.deepEqual(parsePeerReply({ kind: 'runs', pending: [], active: [], archive: [], scannedTo: 'later' }), {
    kind: 'error',
    message: 'bad runs reply: scannedTo must be a number',
  });
  assert.deepEqual(parsePeerReply({ kind: 'runs', pending: [], active: [], archive: [], skipped: -1 }), {
    kind: 'error',
    message: 'bad runs reply: skipped must be an integer >= 0',
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

test('tags requests and replies, and poll-seen with the time of its poll, come through JSON as they were sent', () => {
  const requests: PeerRequest[] = [
    { kind: 'tags', from },
    { kind: 'poll-seen', from, key: 'poll-git/p/1/commits', seen: { 'refs/heads/main': 'a1' }, at: 1_700_000_000_000 },
    { kind: 'poll-seen', from, key: 'poll-git/p/1/commits', seen: {} },
  ];
  for (const req of requests) assert.deepEqual(parsePeerRequest(JSON.parse(JSON.stringify(req))), req);
  const replies: PeerReply[] = [
    { kind: 'tags', tags: [] },
    {
      kind: 'tags',
      tags: [
        { tag: 'db', holder: 'h1-4', waiting: ['h2-9', 'h3-1'], manual: [{ run: 'h2-7', by: 'ana', at: 5 }] },
        { tag: 'gpu', waiting: [], manual: [{ run: 'h1-2', by: 'bo', at: 6 }] },
      ],
    },
  ];
  for (const reply of replies) assert.deepEqual(parsePeerReply(JSON.parse(JSON.stringify(reply))), reply);
});

test('a malformed tags request, poll-seen time or tags reply is refused naming its bad field', () => {
  for (const [body, message] of [
    [{ kind: 'tags' }, /^from must be a string$/],
    [{ kind: 'poll-seen', from, key: 'poll-git/p/1/c', seen: {}, at: -1 }, /^at must be an integer >= 0 \(epoch ms\)$/],
    [{ kind: 'poll-seen', from, key: 'poll-git/p/1/c', seen: {}, at: '5' }, /^at must be an integer/],
  ] as Array<[unknown, RegExp]>) {
    const got = parsePeerRequest(body);
    assert.equal(typeof got, 'string', JSON.stringify(body));
    assert.match(got as string, message);
  }
  const tag = { tag: 'db', holder: 'h1-4', waiting: [], manual: [] };
  for (const [body, message] of [
    [{ kind: 'tags' }, 'bad tags reply: tags must be a list of at most 10000'],
    [{ kind: 'tags', tags: [7] }, 'bad tags reply: tags[0] must be {tag, holder?, waiting, manual}'],
    [{ kind: 'tags', tags: [tag, { ...tag, tag: '' }] }, 'bad tags reply: tags[1].tag must be a string without control characters'],
    [{ kind: 'tags', tags: [{ ...tag, tag: 'a\u001fb' }] }, 'bad tags reply: tags[0].tag must be a string without control characters'],
    [{ kind: 'tags', tags: [{ ...tag, holder: 4 }] }, 'bad tags reply: tags[0].holder must be a run id'],
    [{ kind: 'tags', tags: [{ ...tag, waiting: 'h2-9' }] }, 'bad tags reply: tags[0].waiting must be a list of run ids'],
    [{ kind: 'tags', tags: [{ ...tag, waiting: ['h2-9', null] }] }, 'bad tags reply: tags[0].waiting must be a list of run ids'],
    [{ kind: 'tags', tags: [{ ...tag, manual: {} }] }, 'bad tags reply: tags[0].manual must be a list of {run, by, at}'],
    [{ kind: 'tags', tags: [{ ...tag, manual: [{ run: 'h2-7', by: 'ana' }] }] }, 'bad tags reply: tags[0].manual[0] must be {run, by, at}'],
    [{ kind: 'tags', tags: new Array(10_001).fill(tag) }, 'bad tags reply: tags must be a list of at most 10000'],
  ] as Array<[unknown, string]>) {
    assert.deepEqual(parsePeerReply(body), { kind: 'error', message }, JSON.stringify(body).slice(0, 100));
  }
});
