import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerReply, PeerRequest } from '../../src/cluster/messages.js';
import { EventForwarder } from '../../src/host/event-forwarder.js';
import type { PublishedEvent } from '../../src/model/events.js';

const ref = { flowRef: { id: 'f', ver: 1 }, run: 'h1-1' };

/** A hub that publishes what the test says, and peers whose answers the test gives one by one. */
function rig(opts: { maxQueued?: number; maxBatchBytes?: number; batchMs?: number } = {}) {
  const listeners = new Set<(e: PublishedEvent) => void>();
  let seq = 0;
  const watching = ['http://h2.test'];
  const sent: Array<{ url: string; events: PublishedEvent[] }> = [];
  const answers: Array<(r: PeerReply | Error) => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const warnings: string[] = [];
  const forwarder = new EventForwarder({
    hub: {
      hostName: 'h1',
      subscribe: (fn) => {
        listeners.add(fn);
        return () => listeners.delete(fn);
      },
      watchingPeers: () => watching,
    },
    peers: {
      send: (url: string, req: PeerRequest) => {
        assert.equal(req.kind, 'events');
        if (req.kind !== 'events') throw new Error('not events');
        assert.equal(req.from, 'http://h1.test');
        sent.push({ url, events: req.events });
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        return new Promise<PeerReply>((resolve, reject) =>
          answers.push((r) => {
            inFlight--;
            if (r instanceof Error) reject(r);
            else resolve(r);
          }),
        );
      },
    },
    selfUrl: 'http://h1.test',
    log: { warn: (_obj, msg) => warnings.push(msg) },
    // A batch per turn of the loop, unless a test is about the default window.
    ...(opts.batchMs === undefined && { defer: (fn: () => void) => void setImmediate(fn) }),
    ...opts,
  });
  /** Publishes `n` output lines of this host in this turn; answers their seqs. */
  const publish = (n: number, extra: Partial<PublishedEvent> = {}): number[] => {
    const seqs: number[] = [];
    for (let i = 0; i < n; i++) {
      const e = {
        kind: 'node-output',
        tag: 'sys.node-output',
        ref,
        node: 'x',
        stream: 'stdout',
        first: 0,
        last: 0,
        lines: ['l'],
        seq: ++seq,
        at: 0,
        host: 'h1',
        ...extra,
      };
      seqs.push(e.seq);
      for (const l of listeners) l(e as PublishedEvent);
    }
    return seqs;
  };
  /** Answers the oldest request waiting for one, then lets the forwarder go on. */
  const answer = async (r: PeerReply | Error = { kind: 'events' }) => {
    const a = answers.shift();
    assert.ok(a, 'a request is waiting for its answer');
    a(r);
    await turn();
  };
  return {
    forwarder,
    watching,
    sent,
    warnings,
    publish,
    answer,
    maxInFlight: () => maxInFlight,
    seqsSent: (i: number) => sent[i]?.events.map((e) => e.seq),
  };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

test("the events of one turn go in one request to each watching peer; a peer's events republished here do not", async () => {
  const r = rig();
  r.watching.push('http://h3.test');
  const seqs = r.publish(3);
  r.publish(1, { host: 'h2', originSeq: 9 });
  r.publish(1, { host: 'h3' });
  await turn();
  assert.deepEqual(
    r.sent.map((s) => [s.url, s.events.map((e) => e.seq)]),
    [
      ['http://h2.test', seqs],
      ['http://h3.test', seqs],
    ],
  );
});

test('by default the events of a few turns of the loop go in one request, sent once the batch window is over', async () => {
  const r = rig({ batchMs: 200 });
  const seqs = r.publish(1);
  await turn();
  seqs.push(...r.publish(2));
  await turn();
  assert.equal(r.sent.length, 0, 'nothing goes before the window is over');
  for (let i = 0; i < 100 && r.sent.length === 0; i++) await new Promise((done) => setTimeout(done, 20));
  assert.deepEqual(
    r.sent.map((s) => [s.url, s.events.map((e) => e.seq)]),
    [['http://h2.test', seqs]],
  );
});

test('a slow peer gets the newest events that fit the bound, in order, one request at a time, and one warning', async () => {
  const r = rig({ maxQueued: 5 });
  const first = r.publish(1);
  await turn();
  const later: number[] = [];
  for (let i = 0; i < 3; i++) {
    later.push(...r.publish(4));
    await turn();
  }
  assert.equal(r.sent.length, 1, 'the next request waits for the answer to the first');
  await r.answer();
  assert.deepEqual(r.seqsSent(0), first);
  assert.deepEqual(r.seqsSent(1), later.slice(-5), 'the 7 oldest were dropped');
  await r.answer();
  assert.equal(r.sent.length, 2);
  assert.equal(r.maxInFlight(), 1);
  assert.equal(r.warnings.length, 1, r.warnings.join('\n'));
  assert.match(r.warnings[0]!, /^live events for http:\/\/h2\.test have a gap: 3 events dropped: more than 5 were waiting for it;/);
});

test('a failed request is not retried: the next events go on, and the gap is logged once until events get through', async () => {
  const r = rig();
  r.publish(2);
  await turn();
  await r.answer(new Error('h2 is unreachable'));
  const second = r.publish(1);
  await turn();
  await r.answer({ kind: 'refused', reason: 'not a member' });
  assert.deepEqual(r.seqsSent(1), second, 'only the new events');
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /gap: 2 events not delivered: h2 is unreachable;/);
  r.publish(1);
  await turn();
  await r.answer();
  r.publish(1);
  await turn();
  await r.answer(new Error('timed out'));
  assert.equal(r.warnings.length, 2, 'a new gap after events got through is logged again');
});

test('a turn bigger than one request goes in several, in order; a peer that stops watching gets no more', async () => {
  const r = rig({ maxBatchBytes: 1_000 });
  const seqs = r.publish(40);
  await turn();
  for (let i = 0; i < 3; i++) await r.answer();
  const sentSoFar = r.sent.flatMap((s) => s.events.map((e) => e.seq));
  assert.ok(r.sent.length === 4 && r.sent.every((s) => s.events.length < 40), `${r.sent.length} requests`);
  r.watching.length = 0;
  await r.answer();
  assert.equal(r.sent.length, 4, 'nothing more once it stopped watching');
  assert.deepEqual(sentSoFar, seqs.slice(0, sentSoFar.length));
  r.forwarder.close();
  r.publish(1);
  await turn();
  assert.equal(r.sent.length, 4, 'nothing after close');
});
