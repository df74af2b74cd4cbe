import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import type { PublishedEvent } from '../../src/model/events.js';
import { startCluster, type TestCluster } from '../cluster/fakes.js';
import { firstItem } from '../items.js';
import { ADMIN, call } from './harness.js';
import { serveClusterHost } from './serve-cluster.js';

// Issue 8: a run on h2 followed live over h1's websocket, and caught up after a reconnect.

const flows = `
flows:
  - id: gpu
    host-tags: [gpu]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: build, listen: trigger.good, type: sim, opts: { lines: [one, two] } }
      - { name: done, listen: task.build.good, type: end }
`;

type Frame = { type: string; lastSeq?: number; replayed?: number; event?: PublishedEvent };

/** A websocket client on h1 that keeps its frames. */
async function connect(t: TestContext, url: string): Promise<{ frames: Frame[]; ws: WebSocket }> {
  const ws = new WebSocket(url, { headers: { 'X-Floe-Auth': ADMIN } });
  const frames: Frame[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
  ws.on('error', () => {});
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { frames, ws };
}

/** Moves the cluster's clock and lets real I/O happen until `cond` holds; a hang guard, not a timing. */
async function until(c: TestCluster, what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 2_000) throw new Error(`never: ${what}`);
    await c.clock.advance(10);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const events = (frames: Frame[]) => frames.filter((f) => f.type === 'event').map((f) => f.event!);

test("a run placed on h2 is followed live over h1's websocket, each event named by its host, and replayed after a reconnect", async (t) => {
  const c = await startCluster(flows, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }]);
  const h1 = c.hub('h1').hub;
  const serving = await serveClusterHost(c, 'h1');
  t.after(async () => {
    await serving.close();
    await c.stop();
  });
  const wsUrl = `${serving.pubUrl.replace(/^http/, 'ws')}/ws`;

  const live = await connect(t, wsUrl);
  await until(c, 'hello', () => live.frames.length > 0);
  const helloSeq = live.frames[0]!.lastSeq!;
  live.ws.send(JSON.stringify({ type: 'subscribe', flow: 'gpu' }));
  await until(c, 'subscribed', () => live.frames.some((f) => f.type === 'subscribed'));
  await until(c, 'h2 hears that h1 watches', () => c.hub('h2').hub.watchingPeers().includes(c.url('h1')));

  const ref = firstItem(await h1.trigger('gpu'));
  const isEnd = (e: PublishedEvent) => e.kind === 'end' && e.ref.run === ref.run;
  await until(c, 'the end of the run on h1', () => events(live.frames).some(isEnd));

  const got = events(live.frames);
  const end = got.find(isEnd)!;
  assert.equal(end.host, 'h2');
  assert.equal(typeof end.originSeq, 'number');
  assert.ok(
    got.some((e) => e.kind === 'trigger' && e.host === 'h1' && e.originSeq === undefined),
    "h1's own trigger, as before",
  );
  assert.deepEqual(
    got.flatMap((e) => (e.kind === 'node-output' ? e.lines.map((l) => [e.host, l]) : [])),
    [
      ['h2', 'one'],
      ['h2', 'two'],
    ],
  );
  assert.deepEqual(
    got.map((e) => e.seq),
    got.map((_, i) => helloSeq + 1 + i),
    "every event once, in h1's seq",
  );

  const again = await connect(t, wsUrl);
  again.ws.send(JSON.stringify({ type: 'subscribe', flow: 'gpu', since: helloSeq }));
  await until(c, 'the replay', () => events(again.frames).some(isEnd));
  assert.deepEqual(events(again.frames), got, 'a reconnecting client catches up on h2 events by seq');

  const metrics = await call<string>(
    new Agent(),
    `${serving.pubUrl}${h1.config.common.baseUrl.replace(/\/+$/, '')}/metrics`,
    'GET',
    undefined,
    {
      'X-Floe-Auth': ADMIN,
    },
  );
  assert.doesNotMatch(metrics.text, /floe_runs_total\{flow="gpu"/, "h2's run is counted by h2, not by h1");
});
