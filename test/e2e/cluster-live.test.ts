// Issue 8, Proof: a run on h2 followed live from h1's websocket, answered and cancelled through
// h1, with real hosts on 127.0.0.1. test/server/ws-cluster.test.ts is the same in one process.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import type { PublishedEvent } from '../../src/model/events.js';
import { hashPassword } from '../../src/server/password.js';
import type { RunDetail } from '../../src/server/routes/flow-view.js';
import type { ClusterHost } from './cluster-harness.js';
import { startStampedCluster, trigger, waitArchived, waitFor, waitMet } from './cluster-client.js';

const PASSWORD = 'alice-live-pw';

type Frame =
  | { type: 'hello'; lastSeq: number }
  | { type: 'subscribed'; lastSeq: number; replayed: number; since?: number }
  | { type: 'event'; event: PublishedEvent }
  | { type: 'resync'; lastSeq: number }
  | { type: 'error'; message: string };

/** A websocket client on one host that keeps every frame it gets, in order. */
class Follower {
  readonly frames: Frame[] = [];
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    ws.on('close', () => (this.closed = true));
    // A failed upgrade or a reset shows as a condition never met, with the frames seen so far.
    ws.on('error', () => {});
  }

  /** Connects with `token` offered as a subprotocol, as a browser does (docs/api.md, connecting). */
  static async open(t: TestContext, host: ClusterHost, token: string): Promise<Follower> {
    const ws = new WebSocket(`${host.apiUrl.replace(/^http/, 'ws')}/ws`, ['floe', `floe-token.${token}`]);
    const f = new Follower(ws);
    t.after(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return f;
  }

  /** Waits for `hello`, subscribes (with `since` when given) and waits for the answer. */
  async subscribe(sub: { flow?: string; since?: number } = {}): Promise<{ hello: number; subscribed: Frame & { type: 'subscribed' } }> {
    const hello = await this.frame('hello', (f) => (f.type === 'hello' ? f : undefined));
    this.ws.send(JSON.stringify({ type: 'subscribe', ...sub }));
    const subscribed = await this.frame('subscribed', (f) => (f.type === 'subscribed' ? f : undefined));
    return { hello: hello.lastSeq, subscribed };
  }

  /** Events received so far, in the order they came. */
  events(): PublishedEvent[] {
    return this.frames.flatMap((f) => (f.type === 'event' ? [f.event] : []));
  }

  /** The events of run `run` received so far. */
  eventsOf(run: string): PublishedEvent[] {
    return this.events().filter((e) => 'ref' in e && e.ref.run === run);
  }

  /** Waits until an event received matches; resolves with the first that does. */
  async event(what: string, match: (e: PublishedEvent) => boolean): Promise<PublishedEvent> {
    return this.frame(what, (f) => (f.type === 'event' && match(f.event) ? f.event : undefined));
  }

  private frame<T>(what: string, pick: (f: Frame) => T | undefined): Promise<T> {
    return waitFor(
      `${what} on the websocket`,
      () => {
        for (const f of this.frames) {
          const v = pick(f);
          if (v !== undefined) return v;
        }
        return undefined;
      },
      { everyMs: 10, last: () => ({ closed: this.closed, frames: this.frames.slice(-8) }) },
    );
  }
}

/** The answer's envelope; throws with the host's message unless the status is `status`. */
async function expectStatus<T>(res: Response, status: number, what: string): Promise<T> {
  const body = (await res.json()) as { message: string; payload: T };
  assert.equal(res.status, status, `${what}: ${body.message}`);
  return body.payload;
}

const post = (host: ClusterHost, path: string, token: string, body?: unknown) =>
  host.api(path, {
    method: 'POST',
    headers: { 'X-Floe-Auth': token, ...(body !== undefined && { 'Content-Type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

/** The fields of an event that say what happened, without where it was numbered. */
const what = (e: PublishedEvent) => {
  switch (e.kind) {
    case 'node-output':
      return `${e.kind} ${e.node} ${e.lines.join(' | ')}`;
    case 'node-start':
    case 'data-required':
    case 'node-end':
      return `${e.kind} ${e.node}`;
    case 'data-answered':
      return `${e.kind} ${e.node} by ${e.by}`;
    case 'end':
      return `${e.kind} ${e.status}`;
    case 'node':
      return e.tag;
    default:
      return e.kind;
  }
};

/** What happened, a line of output each: how lines are batched into events depends on timing. */
const whats = (e: PublishedEvent): string[] => (e.kind === 'node-output' ? e.lines.map((l) => `${e.kind} ${e.node} ${l}`) : [what(e)]);

test("a run on h2 is followed live from h1's websocket, answered and cancelled through h1, and caught up after a reconnect", async (t) => {
  const { cluster } = await startStampedCluster(
    t,
    (s) => `
- id: gpu
  host-tags: [gpu]
  triggers: [{ name: start, type: data }]
  tasks:
    - { name: print, listen: trigger.good, type: exec, opts: { shell: 'for i in 1 2 3; do echo "line $i on $FLOE_HOST"; done' } }
    - name: ask
      listen: task.print.good
      type: data
      opts: { form: { title: Go on?, fields: [{ id: approved, prompt: Approve, type: bool, required: true }] } }
    - { name: hold, listen: task.ask.good, type: exec, opts: { shell: 'echo "holding on $FLOE_HOST"; ${s.cmd('gate', s.path('release'))}' } }
    - { name: done, listen: task.hold.good, type: end }
- id: ping
  host-tags: [gpu]
  triggers: [{ name: start, type: data }]
  tasks: [{ name: done, listen: trigger.good, type: end }]
`,
    {
      hosts: [
        { name: 'h1', tags: ['linux'] },
        { name: 'h2', tags: ['linux', 'gpu'] },
      ],
      common: { users: [{ user: 'alice', password: await hashPassword(PASSWORD), role: 'user' }] },
    },
    ['release'],
  );
  const h1 = cluster.host('h1');
  await waitMet(cluster.hosts);
  const { token } = await expectStatus<{ token: string }>(
    await h1.api('/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'alice', password: PASSWORD }),
    }),
    200,
    'alice logs in on h1',
  );

  // A second client on h1 stays connected throughout, so h1 keeps watching while the first one
  // is away; its stream is the reference for what h1 published.
  const witness = await Follower.open(t, h1, cluster.adminToken);
  const w = await witness.subscribe();
  assert.equal(w.subscribed.replayed, 0);
  const client = await Follower.open(t, h1, token);
  const first = await client.subscribe({ flow: 'gpu' });

  // A peer forwards only once it has heard that h1 is watching (docs/cluster.md, live events);
  // an event of h2 reaching h1 shows it has.
  await waitFor('h2 forwarding its events to h1', async () => {
    if (witness.events().some((e) => e.host === 'h2')) return true;
    await waitArchived(h1, 'ping', [await trigger(h1, 'ping')]);
    return witness.events().some((e) => e.host === 'h2') ? true : undefined;
  });

  // Triggered on h1, run on h2, followed from h1.
  const run = await trigger(h1, 'gpu');
  assert.match(run, /^h1-/, 'h1 adopted the trigger');
  await client.event(`data-required of ${run}`, (e) => e.kind === 'data-required' && e.ref.run === run);
  const live = client.eventsOf(run);
  const activate = live.find((e) => e.kind === 'activate');
  assert.ok(activate?.kind === 'activate', `the client saw ${run} start: ${JSON.stringify(live.map(what))}`);
  assert.deepEqual([activate.host, activate.execHost], ['h2', 'h2']);
  const onH2 = live.filter((e) => ['node-start', 'node-output', 'node-end', 'data-required'].includes(e.kind));
  assert.deepEqual(onH2.flatMap(whats), [
    'node-start print',
    'node-output print line 1 on h2',
    'node-output print line 2 on h2',
    'node-output print line 3 on h2',
    'node-end print',
    'node-start ask',
    'data-required ask',
  ]);
  for (const e of onH2) {
    assert.equal(e.host, 'h2', `${what(e)} is named by the host where it happened`);
    assert.equal(typeof e.originSeq, 'number', `${what(e)} carries its seq on h2`);
  }
  const origins = onH2.map((e) => e.originSeq ?? 0);
  assert.deepEqual(
    origins,
    [...origins].sort((a, b) => a - b),
    "in h2's order",
  );
  for (const e of client.events())
    assert.ok(e.kind === 'trigger' || e.ref.flowRef.id === 'gpu', `the subscription to gpu let through ${what(e)}`);

  // The client drops; it keeps the seq of the last event it got, as docs/api.md says.
  const before = client.eventsOf(run);
  const lastSeen = client.events().at(-1)?.seq ?? first.hello;
  client.ws.terminate();
  await waitFor('the first socket closed', () => (client.closed ? true : undefined));

  // Answered through h1 by alice while the client is away: done on h2, as alice; the witness hears it.
  const answered = await expectStatus<{ run: string; node: string }>(
    await post(h1, '/push/data', token, { ref: { id: 'gpu' }, run, form: { id: 'ask', values: { approved: true } } }),
    200,
    'alice answers ask through h1',
  );
  assert.deepEqual(answered, { run, node: 'ask' });
  await witness.event(`hold's output on h2`, (e) => e.kind === 'node-output' && e.ref.run === run && e.node === 'hold');

  // The client reopens with `since` and catches up on h2's events it missed, then follows live.
  const again = await Follower.open(t, h1, token);
  const second = await again.subscribe({ flow: 'gpu', since: lastSeen });
  assert.equal(second.subscribed.since, lastSeen);
  const missed = witness.eventsOf(run).filter((e) => e.seq > lastSeen);
  assert.deepEqual(missed.flatMap(whats), [
    'data-answered ask by alice',
    'node-end ask',
    'task.ask.good',
    'node-start hold',
    'node-output hold holding on h2',
  ]);
  for (const e of missed) assert.equal(e.host, 'h2', `${what(e)} happened on h2`);
  assert.equal(second.subscribed.replayed, missed.length, 'the replay is the events of gpu the client missed');
  const lastMissed = missed.at(-1)?.seq;
  await again.event(`the replay up to seq ${lastMissed}`, (e) => e.seq === lastMissed);
  assert.deepEqual(again.eventsOf(run), missed, 'the replay holds the events of the run the client missed, as h1 published them');

  // Cancelled through h1 by alice: h2 stops the run, and h1's websocket hears it live.
  const cancelled = await expectStatus<{ run: string }>(
    await post(h1, `/flows/gpu/runs/${run}/cancel`, token),
    200,
    `alice cancels ${run} through h1`,
  );
  assert.deepEqual(cancelled, { run });
  const end = await again.event(`the end of ${run}`, (e) => e.kind === 'end' && e.ref.run === run);
  assert.ok(end.kind === 'end');
  assert.deepEqual([end.host, end.status, end.reason], ['h2', 'cancelled', 'cancelled by alice']);
  assert.ok(end.seq > second.subscribed.lastSeq, 'heard live, after the replay');
  await witness.event(`the end of ${run}`, (e) => e.kind === 'end' && e.ref.run === run);

  // Across the reconnect, the client got every event of the run that h1 published, each once.
  assert.deepEqual(
    [...before, ...again.eventsOf(run)].map((e) => e.seq),
    witness.eventsOf(run).map((e) => e.seq),
  );

  // And h1 reads the run from h2: cancelled there, the answer kept with who gave it.
  const detail = await expectStatus<RunDetail>(await h1.api(`/flows/gpu/runs/${run}`), 200, `GET ${run} through h1`);
  assert.deepEqual([detail.status, detail.execHost, detail.reason], ['cancelled', 'h2', 'cancelled by alice']);
  const ask = detail.nodes.find((n) => n.id === 'ask');
  assert.deepEqual([ask?.status, ask?.answeredBy, ask?.values], ['good', 'alice', { approved: 'true' }]);
  assert.equal(detail.nodes.find((n) => n.id === 'hold')?.status, 'stopped', 'the held task was stopped, not let through');
  assert.deepEqual(
    detail.output.lines.filter((l) => l.stream === 'stdout').map((l) => `${l.node} ${l.line}`),
    ['print line 1 on h2', 'print line 2 on h2', 'print line 3 on h2', 'hold holding on h2'],
  );
});
