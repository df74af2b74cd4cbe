import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePeerRequest, type PeerRequest } from '../../src/cluster/messages.js';
import type { PublishedEvent } from '../../src/model/events.js';
import { firstItem } from '../items.js';
import { startCluster } from './fakes.js';

// Issue 8: a websocket client on any host hears the live events of runs on every host.

const flows = `
flows:
  - id: gpu
    host-tags: [gpu]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: build, listen: trigger.good, type: sim, opts: { lines: [one, two, three] } }
      - { name: done, listen: task.build.good, type: end }
  - id: free
    triggers: [{ name: start, type: data }]
    tasks: [{ name: work, listen: trigger.good, type: sim, opts: { status: 0 } }]
`;

const gpuHosts = [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }];

test("a run on h2 reaches h1's subscribers in h2's order, named h2, numbered in h1's seq, and h1 replays it on catch-up", async (t) => {
  const c = await startCluster(flows, gpuHosts);
  t.after(() => c.stop());
  const [h1, h2] = [c.hub('h1'), c.hub('h2')];
  const unwatch = h1.hub.watch();
  t.after(unwatch);
  // h1 tells its peers at once, not at its next heartbeat.
  await c.clock.advance(0);
  assert.deepEqual(h2.hub.watchingPeers(), [c.url('h1')]);

  const h1Before = h1.hub.lastSeq();
  const h2Before = h2.hub.lastSeq();
  const ref = firstItem(await h2.hub.trigger('gpu'));
  assert.equal((await h2.ended(ref.run)).status, 'good');
  await c.until(() => h1.events.some((e) => e.kind === 'end' && e.ref.run === ref.run));

  const onH2 = h2.events.filter((e) => e.seq > h2Before);
  const onH1 = h1.events.filter((e) => e.seq > h1Before);
  assert.ok(onH2.some((e) => e.kind === 'node-output') && onH2.some((e) => e.kind === 'trigger'));
  assert.ok(
    onH1.every((e) => e.host === 'h2'),
    'h1 itself published nothing meanwhile',
  );
  assert.deepEqual(
    JSON.parse(JSON.stringify(onH1.map((e) => ({ ...e, seq: e.originSeq, originSeq: undefined })))),
    JSON.parse(JSON.stringify(onH2)),
    "each of h2's events once, in h2's order, as h2 published it (and as JSON carries it)",
  );
  assert.deepEqual(
    onH1.map((e) => e.seq),
    onH2.map((_, i) => h1Before + 1 + i),
    "numbered in h1's own seq",
  );
  assert.deepEqual(h1.hub.eventsSince(h1Before), onH1, 'a client catching up on h1 by seq gets them');
  assert.deepEqual(h1.hub.eventsSince(h1Before + 3), onH1.slice(3));
});

test('a host sends its events to no peer whose clients do not watch, and stops when the last client leaves', async (t) => {
  const c = await startCluster(flows, gpuHosts);
  t.after(() => c.stop());
  const [h1, h2] = [c.hub('h1'), c.hub('h2')];
  const sentEvents = () => c.net.sent.filter((s) => s.kind === 'events').length;

  const first = firstItem(await h2.hub.trigger('gpu'));
  await h2.ended(first.run);
  await c.settle(1_000);
  assert.equal(sentEvents(), 0);
  assert.ok(!h1.events.some((e) => e.host === 'h2'));

  const a = h1.hub.watch();
  const b = h1.hub.watch();
  await c.settle(600);
  assert.deepEqual(h2.hub.watchingPeers(), [c.url('h1')]);
  a();
  a(); // a second release of the same watch does not release another's
  await c.settle(600);
  assert.deepEqual(h2.hub.watchingPeers(), [c.url('h1')], 'one client still watches');
  b();
  await c.clock.advance(0);
  assert.deepEqual(h2.hub.watchingPeers(), [], 'told at once when the last one leaves');

  const second = firstItem(await h2.hub.trigger('gpu'));
  await h2.ended(second.run);
  await c.settle(1_000);
  assert.equal(sentEvents(), 0);
  assert.ok(!h1.events.some((e) => e.host === 'h2'));
});

test('a host refuses forwarded events from a non-member, from itself, and of any host but the sender; it never acts on them', async (t) => {
  const c = await startCluster(flows, gpuHosts);
  t.after(() => c.stop());
  const h1 = c.hub('h1');
  const ref = { flowRef: { id: 'free', ver: 1 }, run: 'h2-9' };
  const event = (host: string, seq: number): PublishedEvent => ({
    kind: 'node',
    tag: 'trigger.good',
    ref,
    node: 'trigger',
    good: true,
    seq,
    at: 1,
    host,
  });
  const send = (from: string, events: PublishedEvent[]) =>
    h1.hub.receivePeer(JSON.parse(JSON.stringify({ kind: 'events', from, events })) as PeerRequest);
  const before = h1.hub.lastSeq();
  const startedBefore = c.sim.started.length;

  const refusals: Array<[string, PublishedEvent[], RegExp]> = [
    ['http://stranger.test', [event('stranger', 1)], /^http:\/\/stranger\.test is not a peer in common\.hosts of h1$/],
    [c.url('h1'), [event('h1', 1)], /is not a peer in common\.hosts of h1/],
    [c.url('h2'), [event('h2', 1), event('h1', 2)], /sent an event of host h1, which is this host/],
    [c.url('h2'), [event('h3', 1)], /is h2 but sent an event of host h3/],
  ];
  for (const [from, events, why] of refusals) {
    const reply = await send(from, events);
    assert.equal(reply.kind, 'refused', `${from}: ${JSON.stringify(reply)}`);
    assert.match((reply as { reason: string }).reason, why);
  }
  assert.equal(h1.hub.lastSeq(), before, 'nothing of a refused request is published');

  assert.deepEqual(await send(c.url('h2'), [event('h2', 5), event('h2', 6)]), { kind: 'events' });
  assert.deepEqual(await send(c.url('h2'), [event('h2', 6), event('h2', 4)]), { kind: 'events' });
  assert.deepEqual(
    h1.events.filter((e) => e.seq > before).map((e) => [e.host, e.originSeq]),
    [
      ['h2', 5],
      ['h2', 6],
    ],
    'a repeated or late event is dropped, so they stay in order',
  );
  await c.settle(200);
  assert.equal(c.sim.started.length, startedBefore, 'a forwarded trigger.good starts nothing here');
  assert.equal(await h1.hub.findRun('h2-9'), undefined);
});

test('a malformed events request is refused naming the event and field', () => {
  const good = {
    kind: 'end',
    tag: 'sys.end',
    ref: { flowRef: { id: 'f', ver: 1 }, run: 'h2-1' },
    status: 'good',
    seq: 3,
    at: 1,
    host: 'h2',
  };
  const output = {
    ...good,
    kind: 'node-output',
    tag: 'sys.node-output',
    node: 'build',
    stream: 'stdout',
    first: 4,
    last: 5,
    lines: ['a', 'b'],
  };
  const cases: Array<[unknown, string]> = [
    [{ events: [good, { ...good, ref: { run: 'x' } }] }, 'events[1].ref must be {flowRef: {id, ver}, run}'],
    [{ events: [{ ...good, kind: 'gossip' }] }, 'events[0].kind must be one of'],
    [{ events: [{ ...good, host: '' }] }, 'events[0].host must be a host name'],
    [{ events: [{ ...good, seq: -1 }] }, 'events[0].seq must be an integer >= 0'],
    [{ events: [{ kind: 'trigger', tag: 'trigger.good', seq: 1, at: 1, host: 'h2' }] }, 'events[0].flowRef must be {id, ver}'],
    [{ events: [7] }, 'events[0] must be an object'],
    [{ events: {} }, 'events must be a list of at most 10000 events'],
    // The protocol-1 shape, one line per event, is not a batch.
    [{ events: [{ ...output, line: 'x', n: 1, lines: undefined }] }, 'events[0].lines must be a list of strings'],
    [{ events: [good, { ...output, last: 9 }] }, 'events[1].last must be first + the number of lines - 1'],
    [{ events: [{ ...output, stream: 'tty' }] }, 'events[0].stream must be stdout, stderr or floe'],
    [{ events: [{ ...output, lines: ['a', 7] }] }, 'events[0].lines must be a list of strings'],
  ];
  for (const [body, message] of cases) {
    const got = parsePeerRequest({ kind: 'events', from: 'http://h2.test', ...(body as object) });
    assert.equal(typeof got, 'string', JSON.stringify(body));
    assert.ok((got as string).startsWith(message), `${got as string} should start with ${message}`);
  }
  assert.deepEqual(parsePeerRequest({ kind: 'events', from: 'http://h2.test', events: [good] }), {
    kind: 'events',
    from: 'http://h2.test',
    events: [good],
  });
  assert.deepEqual(parsePeerRequest({ kind: 'events', from: 'http://h2.test', events: [output] }), {
    kind: 'events',
    from: 'http://h2.test',
    events: [output],
  });
});
