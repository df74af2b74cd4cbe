import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerReply, PeerRequest, Peers } from '../../../src/cluster/messages.js';
import { manualClock, type ManualClock } from '../../../src/testing/manual-clock.js';
import { SimNetwork, type NetworkFaults, type TraceEvent } from '../../../src/testing/sim/network.js';
import { Prng } from '../../../src/testing/sim/prng.js';

const A = 'http://a.sim';
const B = 'http://b.sim';
const grant: PeerRequest = { kind: 'granted', tag: 'db', run: 'a-1' };

interface Net {
  clock: ManualClock;
  net: SimNetwork;
  trace: TraceEvent[];
  /** Requests b's handler received, and when. */
  received: Array<{ at: number; req: PeerRequest }>;
  a: Peers;
}

function twoHosts(faults: NetworkFaults = {}): Net {
  const clock = manualClock(0);
  const trace: TraceEvent[] = [];
  const net = new SimNetwork(clock, new Prng(1), { minDelayMs: 10, maxDelayMs: 10, ...faults }, (e) => trace.push(e));
  const received: Net['received'] = [];
  const a = net.attach(A, () => Promise.resolve({ kind: 'error', message: 'a answers nothing' }));
  net.attach(B, (req) => {
    received.push({ at: clock.now(), req });
    return Promise.resolve({ kind: 'granted' });
  });
  return { clock, net, trace, received, a };
}

interface Settled {
  at: number;
  reply?: PeerReply;
  error?: string;
}

/** The outcome of a send and the sim time it settled at; undefined while it has not. */
function watch(n: Net, p: Promise<PeerReply>): () => Settled | undefined {
  let out: Settled | undefined;
  p.then(
    (reply) => (out = { at: n.clock.now(), reply }),
    (err: unknown) => (out = { at: n.clock.now(), error: String(err) }),
  );
  return () => out;
}

test('a message arrives after its delay, as a copy, and its reply comes back after another', async () => {
  const n = twoHosts();
  const req: PeerRequest = { kind: 'lock', from: A, tag: 'db', run: 'a-1' };
  const w = watch(n, n.a.send(B, req));
  await n.clock.advance(9);
  assert.equal(n.received.length, 0);
  await n.clock.advance(1);
  assert.deepEqual(n.received, [{ at: 10, req }]);
  assert.notEqual(n.received[0]?.req, req);
  await n.clock.advance(10);
  assert.deepEqual(w(), { at: 20, reply: { kind: 'granted' } });
});

test('a lost request rejects at the timeout of sim time, and never reaches the host', async () => {
  const n = twoHosts({ drop: 1, timeoutMs: 1_000 });
  const w = watch(n, n.a.send(B, grant));
  await n.clock.advance(999);
  assert.equal(w(), undefined);
  await n.clock.advance(1);
  assert.equal(w()?.at, 1_000);
  assert.match(w()?.error ?? '', /no reply from http:\/\/b\.sim to granted within 1000 ms/);
  assert.equal(n.received.length, 0);
  assert.deepEqual(
    n.trace.map((e) => e.fate),
    ['dropped', 'timed out after 1000 ms'],
  );
});

test('a duplicated request reaches the host twice and the sender answers once', async () => {
  const n = twoHosts({ dup: 1, maxDelayMs: 50, minDelayMs: 0 });
  const w = watch(n, n.a.send(B, grant));
  await n.clock.advance(200);
  assert.equal(n.received.length, 2);
  assert.deepEqual(w()?.reply, { kind: 'granted' });
  assert.equal(n.trace.filter((e) => e.fate === 'answered').length, 1);
  assert.equal(n.trace.filter((e) => e.fate.startsWith('ignored')).length, 1);
});

test('a paused host receives nothing until it resumes; then the message arrives, late', async () => {
  const n = twoHosts({ timeoutMs: 1_000 });
  n.net.pause(B);
  const w = watch(n, n.a.send(B, grant));
  await n.clock.advance(2_000);
  assert.equal(n.received.length, 0);
  assert.match(w()?.error ?? '', /no reply/);
  n.net.resume(B);
  await n.clock.advance(0);
  assert.deepEqual(
    n.received.map((r) => r.at),
    [2_000],
  );
});

test('a paused sender sends nothing until it resumes, and its time-outs wait too', async () => {
  const n = twoHosts({ timeoutMs: 1_000 });
  n.net.pause(A);
  const w = watch(n, n.a.send(B, grant));
  await n.clock.advance(1_500);
  assert.equal(n.received.length, 0);
  assert.equal(w(), undefined);
  n.net.resume(A);
  await n.clock.advance(0);
  // Both waited for the resume: the time-out that came due meanwhile fires, and the request still goes out, late.
  assert.equal(w()?.at, 1_500);
  assert.match(w()?.error ?? '', /no reply/);
  await n.clock.advance(10);
  assert.equal(n.received.length, 1);
});

test('partitioned hosts cannot reach each other until the partition heals', async () => {
  const n = twoHosts({ timeoutMs: 100 });
  n.net.partition([[A], [B]]);
  const lost = watch(n, n.a.send(B, grant));
  await n.clock.advance(100);
  assert.match(lost()?.error ?? '', /no reply/);
  assert.equal(n.received.length, 0);
  n.net.heal();
  const ok = watch(n, n.a.send(B, grant));
  await n.clock.advance(20);
  assert.deepEqual(ok()?.reply, { kind: 'granted' });
});

test('a killed host gets nothing, its own calls never settle, and a restart gets a fresh endpoint', async () => {
  const n = twoHosts({ timeoutMs: 100 });
  n.net.kill(B);
  const toDead = watch(n, n.a.send(B, grant));
  await n.clock.advance(100);
  assert.match(toDead()?.error ?? '', /no reply/);
  n.net.kill(A);
  const fromDead = watch(n, n.a.send(B, grant));
  await n.clock.advance(1_000);
  assert.equal(fromDead(), undefined);
  assert.equal(n.received.length, 0);
  const a2 = n.net.attach(A, () => Promise.resolve({ kind: 'error', message: 'unused' }));
  n.net.attach(B, () => Promise.resolve({ kind: 'take' }));
  const again = watch(n, a2.send(B, grant));
  await n.clock.advance(20);
  assert.deepEqual(again()?.reply, { kind: 'take' });
});

test('the same seed gives the same numbers; int and between stay in range; streams differ', () => {
  const draw = (p: Prng) => Array.from({ length: 50 }, () => p.int(1000));
  assert.deepEqual(draw(new Prng(42)), draw(new Prng(42)));
  assert.notDeepEqual(draw(new Prng(42)), draw(new Prng(43)));
  assert.notDeepEqual(draw(new Prng(42, 'network')), draw(new Prng(42, 'tasks')));
  assert.notDeepEqual(draw(new Prng(2 ** 40)), draw(new Prng(2 ** 40 + 2 ** 32)));
  const p = new Prng(7);
  for (let i = 0; i < 1000; i++) {
    const x = p.between(3, 5);
    assert.ok(x >= 3 && x <= 5 && Number.isInteger(x), `between gave ${x}`);
  }
  assert.equal(p.chance(0), false);
  assert.throws(() => p.pick([]), /empty/);
  assert.throws(() => new Prng(1.5), /safe integer/);
});
