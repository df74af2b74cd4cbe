import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { PublishedEvent } from '../../src/model/events.js';
import { CLOSE_GOING_AWAY, CLOSE_SESSION_ENDED, CLOSE_TOO_SLOW } from '../../src/server/ws.js';
import { ADMIN, startApiHost, type ApiHost } from './harness.js';
import { upgradeRaw } from './raw-http.js';
import { startReader } from './ws-reader.js';
import { firstItem } from '../items.js';

const FLOWS = `
flows:
  - id: f
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: one, listen: trigger.good, type: exec, opts: { shell: 'echo one; echo two' } }
      - { name: done, listen: task.one.good, type: end }
  - id: g
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: one, listen: trigger.good, type: exec, opts: { shell: 'echo g' } }
      - { name: done, listen: task.one.good, type: end }
  - id: gated
    triggers: [{ name: start, type: data }]
    tasks:
      - name: one
        listen: trigger.good
        type: exec
        opts: { shell: 'echo before; while [ ! -f go1 ]; do sleep 0.02; done; echo middle; while [ ! -f go2 ]; do sleep 0.02; done; echo after' }
      - { name: done, listen: task.one.good, type: end }
  - id: bursts
    triggers: [{ name: start, type: data }]
    tasks:
      - name: one
        listen: trigger.good
        type: exec
        opts: { shell: 'seq 1 30000; while [ ! -f go ]; do sleep 0.02; done; seq 30001 60000' }
      - { name: done, listen: task.one.good, type: end }
  - id: loud
    triggers: [{ name: start, type: data }]
    tasks:
      - name: one
        listen: trigger.good
        type: exec
        opts: { shell: "awk 'BEGIN { s = sprintf(\\"%100s\\", \\"\\"); gsub(/ /, \\"x\\", s); for (i = 0; i < 400000; i++) print i s }'" }
      - { name: done, listen: task.one.good, type: end }
  - id: wide
    triggers: [{ name: start, type: data }]
    tasks:
      - name: one
        listen: trigger.good
        type: exec
        opts: { shell: "awk 'BEGIN { s = sprintf(\\"%4000s\\", \\"\\"); gsub(/ /, \\"x\\", s); for (i = 0; i < 800; i++) print i s }'" }
      - { name: done, listen: task.one.good, type: end }
`;

type Frame = { type: string; [k: string]: any };

/** A ws client that keeps every frame it got, and can wait for one. */
class Client {
  readonly frames: Frame[] = [];
  /** Events after the last `subscribed` frame (or since hello when there is none). */
  events: PublishedEvent[] = [];
  closed?: { code: number; reason: string };
  private readonly wakers = new Set<() => void>();

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, false, 'server frames are text');
      const f = JSON.parse(String(data)) as Frame;
      this.frames.push(f);
      if (f.type === 'subscribed') this.events = [];
      else if (f.type === 'event') this.events.push(f.event as PublishedEvent);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.wake();
    });
    ws.on('error', () => {});
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with `check()` once it is defined; checked after every frame and on close, so keep it O(1). */
  waitFor<T>(what: string, check: () => T | undefined | false, ms = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wakers.delete(tryIt);
        reject(
          new Error(
            `timed out waiting for ${what}; last frames: ${JSON.stringify(this.frames.slice(-3))}; closed: ${JSON.stringify(this.closed)}`,
          ),
        );
      }, ms);
      const tryIt = (): void => {
        const v = check();
        if (v === undefined || v === false) return;
        clearTimeout(timer);
        this.wakers.delete(tryIt);
        resolve(v);
      };
      this.wakers.add(tryIt);
      tryIt();
    });
  }

  /** The first frame of `type` at index `after` or later. */
  frame(type: string, after = 0): Promise<Frame> {
    let i = after;
    return this.waitFor(`a ${type} frame`, () => {
      for (; i < this.frames.length; i++) if (this.frames[i]!.type === type) return this.frames[i];
      return undefined;
    });
  }

  /** The first event of the current subscription that matches. */
  event(what: string, pred: (e: PublishedEvent) => boolean, ms?: number): Promise<PublishedEvent> {
    let i = 0;
    let list = this.events;
    return this.waitFor(
      what,
      () => {
        if (list !== this.events) [list, i] = [this.events, 0];
        for (; i < list.length; i++) if (pred(list[i]!)) return list[i];
        return undefined;
      },
      ms,
    );
  }

  whenClosed(): Promise<{ code: number; reason: string }> {
    return this.waitFor('close', () => this.closed);
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }
}

/** Opens a client, closed after the test. */
async function open(
  t: TestContext,
  url: string,
  opts: { headers?: Record<string, string>; protocols?: string[]; perMessageDeflate?: boolean } = {},
): Promise<Client> {
  const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers, perMessageDeflate: opts.perMessageDeflate ?? true });
  const c = new Client(ws);
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await c.frame('hello');
  return c;
}

const asAdmin = { headers: { 'X-Floe-Auth': ADMIN } };
/** Without permessage-deflate: the wide flow's lines of one letter would shrink some 100 times on the wire. */
const asAdminPlain = { ...asAdmin, perMessageDeflate: false };

/** An upgrade request with plain node:http, so a refusal is read as an ordinary response. */
function upgradeRequest(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      reject(new Error('upgraded'));
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function host(
  t: TestContext,
  opts: { eventHistory?: number; now?: () => number; sessionTtlMs?: number; fanoutSliceMs?: number; corkPaceMs?: number } = {},
): Promise<ApiHost> {
  const h = await startApiHost(FLOWS, opts);
  t.after(() => h.close());
  return h;
}

async function pushData(h: ApiHost, flow: string): Promise<string> {
  const r = await h.call('POST', '/push/data', { ref: { id: flow, ver: 1 }, form: { id: 'start', values: {} } });
  assert.equal(r.status, 200, r.text);
  return firstItem(r.body.payload.runs as string[]);
}

/** A sample of GET /metrics, e.g. `floe_websocket_clients` or `floe_websocket_dropped_total{reason="too-slow"}`. */
async function metric(h: ApiHost, sample: string): Promise<number> {
  const r = await h.call('GET', '/metrics');
  const line = r.text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

async function metricBecomes(h: ApiHost, sample: string, n: number, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end && (await metric(h, sample)) !== n;) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await metric(h, sample), n, sample);
}

const wsClientsGauge = (h: ApiHost): Promise<number> => metric(h, 'floe_websocket_clients');
const gaugeBecomes = (h: ApiHost, n: number): Promise<void> => metricBecomes(h, 'floe_websocket_clients', n);

/** Resolves with the first hub event (already published or to come) that matches. */
function hubEvent(h: ApiHost, pred: (e: PublishedEvent) => boolean): Promise<PublishedEvent> {
  const seen = h.events.find(pred);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const off = h.real.host.hub.subscribe((e) => {
      if (!pred(e)) return;
      off();
      resolve(e);
    });
  });
}

async function login(h: ApiHost): Promise<{ token: string; cookie: string }> {
  const r = await h.call('POST', '/login', { user: 'admin', password: ADMIN }, {});
  assert.equal(r.status, 200, r.text);
  const cookie = firstItem(String(r.headers['set-cookie']).split(';'));
  assert.match(cookie, /^floe-sesh=/);
  return { token: r.body.payload.token as string, cookie };
}

const isEnd = (run: string) => (e: PublishedEvent) => e.kind === 'end' && e.ref.run === run;
const hasLine = (e: PublishedEvent, line: string): boolean => e.kind === 'node-output' && e.lines.includes(line);

test('an upgrade without a good token is refused with 401 and never upgraded; other paths get 404', async (t) => {
  const h = await host(t);
  const ws = `${h.api}/ws`;
  assert.deepEqual(await upgradeRequest(ws), { status: 401, body: { message: 'missing session', payload: null } });
  assert.deepEqual(await upgradeRequest(ws, { 'X-Floe-Auth': 'nope' }), {
    status: 401,
    body: { message: 'invalid session', payload: null },
  });
  assert.deepEqual(await upgradeRequest(ws, { Cookie: 'floe-sesh=nope' }), {
    status: 401,
    body: { message: 'invalid session', payload: null },
  });
  assert.deepEqual(await upgradeRequest(ws, { 'Sec-WebSocket-Protocol': 'floe-token.nope' }), {
    status: 401,
    body: { message: 'invalid session', payload: null },
  });
  const elsewhere = await upgradeRequest(`${h.api}/wsx`, { 'X-Floe-Auth': ADMIN });
  assert.equal(elsewhere.status, 404);
  assert.match(elsewhere.body.message, /no route GET \/build\/api\/wsx/);
  assert.equal(await wsClientsGauge(h), 0);
});

test('an upgrade with a floe-sesh cookie that does not URL-decode is refused 401 invalid session, and the host keeps serving', async (t) => {
  // The URIError of decodeURIComponent used to escape the upgrade handler and end the process;
  // here it would leave the upgrade unanswered, so an uncaught exception fails the test at once
  // (and drops the request, which would otherwise keep the host from closing).
  const abort = new AbortController();
  let crash: (err: unknown) => void = () => {};
  const crashed = new Promise<never>((_, reject) => (crash = (err) => (abort.abort(), reject(err))));
  process.on('uncaughtException', crash);
  t.after(() => process.off('uncaughtException', crash));
  const h = await host(t);
  const port = Number(new URL(h.url).port);
  for (const cookie of ['floe-sesh=%', 'floe-sesh=%zz', 'a=1; floe-sesh=abc%E0%A4%A']) {
    for (const path of ['/build/api/ws', '/ws']) {
      const r = await Promise.race([upgradeRaw(port, path, { Cookie: cookie }, abort.signal), crashed]);
      assert.deepEqual([r.status, JSON.parse(r.text)], [401, { message: 'invalid session', payload: null }], `${path} ${cookie}`);
    }
  }
  assert.equal((await h.call('GET', '/health', undefined, {})).status, 200);
  const c = await open(t, `${h.api}/ws`, asAdmin);
  assert.equal(c.frames[0]?.type, 'hello');
});

test("upgrade paths follow the router's rules: exact case, as sent; without a session any path under the base url is 401", async (t) => {
  const h = await host(t);
  const port = Number(new URL(h.url).port);
  const admin = { 'X-Floe-Auth': ADMIN };
  for (const path of ['/BUILD/API/ws', '/build/api/WS', '/build/api/%77s', '/build/api/x/../ws', '/build/api//ws', '/build/api/flows']) {
    assert.equal((await upgradeRaw(port, path)).status, 401, `${path} without a session`);
    assert.equal((await upgradeRaw(port, path, admin)).status, 404, `${path} with a session`);
  }
  for (const path of ['/WS', '/x/../ws', '/nope']) {
    assert.equal((await upgradeRaw(port, path)).status, 404, `${path} is outside the base url`);
  }
  assert.equal((await upgradeRaw(port, '/build/api/ws?x=1', admin)).status, 101);
  assert.equal((await upgradeRaw(port, '/ws', admin)).status, 101);
});

test('the header, the session cookie and the floe-token subprotocol all authenticate; the gauge counts clients', async (t) => {
  const h = await host(t);
  const { token, cookie } = await login(h);
  const byHeader = await open(t, `${h.api}/ws`, asAdmin);
  const byCookie = await open(t, `${h.url}/ws`, { headers: { Cookie: cookie } });
  const byProtocol = await open(t, `${h.api}/ws`, { protocols: [`floe-token.${token}`] });
  assert.equal(byProtocol.ws.protocol, `floe-token.${token}`, 'the token protocol is echoed back');
  for (const c of [byHeader, byCookie, byProtocol]) assert.deepEqual(c.frames[0], { type: 'hello', lastSeq: h.real.host.hub.lastSeq() });
  assert.equal(await wsClientsGauge(h), 3);
  byHeader.ws.close();
  byCookie.ws.close();
  await Promise.all([byHeader.whenClosed(), byCookie.whenClosed()]);
  await gaugeBecomes(h, 1);
  byProtocol.ws.close();
  await gaugeBecomes(h, 0);
});

test('a flow triggered through POST /push/data is followed to its end, every event in seq order without gaps', async (t) => {
  const h = await host(t);
  const c = await open(t, `${h.api}/ws`, asAdmin);
  const from = c.frames[0]?.lastSeq as number;
  const run = await pushData(h, 'f');
  await c.event('the end of the run', isEnd(run));
  const got = c.events;
  assert.deepEqual(
    got.map((e) => e.seq),
    got.map((_, i) => from + 1 + i),
    'consecutive seqs',
  );
  assert.deepEqual(got, JSON.parse(JSON.stringify(h.events.filter((e) => e.seq > from && e.seq <= got.at(-1)!.seq))));
  const kinds = new Set(got.map((e) => e.kind));
  for (const k of ['add-pend', 'activate', 'node-start', 'node-output', 'node', 'node-end', 'end'] as const)
    assert.ok(kinds.has(k), `saw ${k}`);
  const lines = got.flatMap((e) => (e.kind === 'node-output' && e.stream === 'stdout' ? e.lines : []));
  assert.deepEqual(lines, ['one', 'two']);
  const tags = got.flatMap((e) => (e.kind === 'node' ? [e.tag] : []));
  assert.deepEqual(tags, ['trigger.good', 'task.one.good']);
  const end = got.at(-1)!;
  assert.ok(end.kind === 'end' && end.status === 'good');
});

test('subscribing to one run hears only that run; to one flow only that flow', async (t) => {
  const h = await host(t);
  const all = await open(t, `${h.api}/ws`, asAdmin);
  const byRun = await open(t, `${h.api}/ws`, asAdmin);
  const byFlow = await open(t, `${h.api}/ws`, asAdmin);
  const from = h.real.host.hub.lastSeq();
  byFlow.send({ type: 'subscribe', flow: 'g' });
  assert.deepEqual(await byFlow.frame('subscribed'), { type: 'subscribed', flow: 'g', lastSeq: from, replayed: 0 });

  const r1 = await pushData(h, 'f');
  // Subscribed after the run began: `since` picks up what came before.
  byRun.send({ type: 'subscribe', run: r1, since: from });
  await byRun.frame('subscribed');
  const r2 = await pushData(h, 'f');
  const r3 = await pushData(h, 'g');
  for (const r of [r1, r2, r3]) await h.ended(r);
  for (const r of [r1, r2, r3]) await all.event(`the end of ${r}`, isEnd(r));
  await byRun.event('the end of r1', isEnd(r1));
  await byFlow.event('the end of r3', isEnd(r3));

  const last = h.real.host.hub.lastSeq();
  const expect = (pred: (e: PublishedEvent) => boolean): PublishedEvent[] =>
    JSON.parse(JSON.stringify(h.events.filter((e) => e.seq > from && e.seq <= last && pred(e))));
  const flowOf = (e: PublishedEvent): string => ('ref' in e ? e.ref.flowRef.id : e.kind === 'trigger' ? e.flowRef.id : '');
  assert.deepEqual(
    byRun.events,
    expect((e) => 'ref' in e && e.ref.run === r1),
  );
  assert.deepEqual(
    byFlow.events,
    expect((e) => flowOf(e) === 'g'),
  );
  assert.deepEqual(
    all.events,
    expect(() => true),
  );
  assert.ok(byRun.events.length > 5 && byFlow.events.length > 5);
  assert.ok(new Set(all.events.map(flowOf)).size === 2);
});

test('a client that reconnects with since gets exactly what it missed: the replay, then live events', async (t) => {
  const h = await host(t);
  const first = await open(t, `${h.api}/ws`, asAdmin);
  const run = await pushData(h, 'gated');
  first.send({ type: 'subscribe', run, since: first.frames[0]?.lastSeq });
  // Events that came before `subscribed` belong to the hello's subscription (api.md).
  await first.frame('subscribed');
  const before = await first.event('the line before', (e) => hasLine(e, 'before'));
  first.ws.close();
  await first.whenClosed();
  const lastSeen = first.events.at(-1)!.seq;
  assert.equal(lastSeen, before.seq);

  // While away: the run goes on, and another flow's run interleaves its events.
  const { workspace } = (await h.real.host.hub.findRun(run))!;
  await writeFile(path.join(workspace!, 'go1'), '');
  await hubEvent(h, (e) => 'ref' in e && e.ref.run === run && hasLine(e, 'middle'));
  await h.ended(await pushData(h, 'f'));

  const again = await open(t, `${h.api}/ws`, asAdmin);
  again.send({ type: 'subscribe', run, since: lastSeen });
  const subscribed = await again.frame('subscribed');
  await writeFile(path.join(workspace!, 'go2'), '');
  await again.event('the end', isEnd(run));

  const missed = h.events.filter((e) => e.seq > lastSeen && 'ref' in e && e.ref.run === run);
  assert.deepEqual(again.events, JSON.parse(JSON.stringify(missed)), 'no gap, no duplicate');
  const replayed = again.events.filter((e) => e.seq <= subscribed.lastSeq);
  assert.equal(subscribed.replayed, replayed.length);
  assert.ok(
    replayed.some((e) => hasLine(e, 'middle')),
    'middle came in the replay',
  );
  assert.ok(
    again.events.some((e) => e.seq > subscribed.lastSeq && hasLine(e, 'after')),
    'after came live',
  );
});

test('output comes a turn of lines to an event, and a client that drops mid-run and resubscribes with since gets every line once', async (t) => {
  const h = await host(t);
  const first = await open(t, `${h.api}/ws`, asAdmin);
  const run = await pushData(h, 'bursts');
  first.send({ type: 'subscribe', run, since: first.frames[0]?.lastSeq });
  await first.frame('subscribed');
  await first.event('the first burst', (e) => hasLine(e, '30000'));
  first.ws.close();
  await first.whenClosed();
  const lastSeen = first.events.at(-1)!.seq;

  const { workspace } = (await h.real.host.hub.findRun(run))!;
  await writeFile(path.join(workspace!, 'go'), '');
  await hubEvent(h, (e) => hasLine(e, '45000'));
  const again = await open(t, `${h.api}/ws`, asAdmin);
  again.send({ type: 'subscribe', run, since: lastSeen });
  // The end may reach the hello's subscription live before the replay: wait for the replay's.
  await again.frame('subscribed');
  await again.event('the end', isEnd(run));

  const outputs = [...first.events, ...again.events].filter((e) => e.kind === 'node-output');
  const lines = outputs.flatMap((e) => (e.kind === 'node-output' ? e.lines : []));
  assert.deepEqual(
    lines,
    Array.from({ length: 60_000 }, (_, i) => String(i + 1)),
    'every line once, in order',
  );
  let next = 0;
  for (const e of outputs) {
    assert.ok(e.kind === 'node-output' && e.first === next && e.last === next + e.lines.length - 1, `lines ${next} on`);
    next += e.lines.length;
  }
  assert.ok(outputs.length < 60_000 / 10, `${outputs.length} events for 60,000 lines`);
  assert.deepEqual(
    (await h.real.host.hub.getOutput(run, { from: 29_998, limit: 4 })).map((l) => [l.n, l.line]),
    [
      [29_998, '29999'],
      [29_999, '30000'],
      [30_000, '30001'],
      [30_001, '30002'],
    ],
  );
});

test('since older than the kept history, or newer than the host has, answers resync and sends nothing until the next subscribe', async (t) => {
  const h = await host(t, { eventHistory: 8 });
  const c = await open(t, `${h.api}/ws`, asAdmin);
  await h.ended(await pushData(h, 'f'));
  const n = h.real.host.hub.lastSeq();
  assert.ok(n > 8);
  const mark = c.frames.length;
  c.send({ type: 'subscribe', since: 0 });
  assert.deepEqual(await c.frame('resync', mark), { type: 'resync', lastSeq: n });

  // Resynced: the client hears nothing while it reloads over HTTP.
  const afterResync = c.frames.length;
  const r2 = await pushData(h, 'g');
  await h.ended(r2);
  c.send({ type: 'subscribe', since: n + 1000 });
  assert.deepEqual(await c.frame('resync', afterResync), { type: 'resync', lastSeq: h.real.host.hub.lastSeq() });
  assert.deepEqual(
    c.frames.slice(afterResync).map((f) => f.type),
    ['resync'],
  );

  // Subscribing from what the resync said replays within the history.
  const n2 = h.real.host.hub.lastSeq();
  c.send({ type: 'subscribe', since: n2 - 3 });
  const sub = await c.frame('subscribed', afterResync);
  assert.deepEqual(sub, { type: 'subscribed', since: n2 - 3, lastSeq: n2, replayed: 3 });
  await c.waitFor('the replay', () => c.events.length === 3 && c.events);
  assert.deepEqual(
    c.events.map((e) => e.seq),
    [n2 - 2, n2 - 1, n2],
  );
});

test('malformed client frames are answered with an error frame and the connection stays usable', async (t) => {
  const h = await host(t);
  const c = await open(t, `${h.api}/ws`, asAdmin);
  const table: Array<[string | Buffer, RegExp]> = [
    ['not json', /^frame is not JSON: /],
    ['[1,2]', /must be a JSON object/],
    ['"subscribe"', /must be a JSON object/],
    ['{}', /no type; expected "subscribe"/],
    ['{"type":"unsubscribe"}', /unknown frame type "unsubscribe"; expected "subscribe"/],
    ['{"type":"subscribe","flw":"f"}', /unknown field "flw" in subscribe; expected flow, run, since/],
    ['{"type":"subscribe","flow":3}', /flow must be a non-empty string .*got 3/],
    ['{"type":"subscribe","run":""}', /run must be a non-empty string/],
    ['{"type":"subscribe","flow":"nope"}', /^no flow "nope"$/],
    ['{"type":"subscribe","since":-1}', /since must be a non-negative integer .*got -1/],
    ['{"type":"subscribe","since":1.5}', /since must be a non-negative integer/],
    ['{"type":"subscribe","since":"3"}', /since must be a non-negative integer .*got "3"/],
    [Buffer.from([1, 2, 3]), /binary frames are not supported/],
  ];
  for (const [frame, message] of table) {
    const mark = c.frames.length;
    c.ws.send(frame);
    const err = await c.frame('error', mark);
    assert.match(err.message, message, String(frame));
  }
  c.send({ type: 'subscribe', flow: 'f' });
  await c.frame('subscribed');
  const run = await pushData(h, 'f');
  await c.event('the end of the run', isEnd(run));

  // Frames over the limit are refused by ws itself: the socket closes with 1009, the host goes on.
  // This client negotiated permessage-deflate, so the 70 KiB go as ~100 compressed bytes: the
  // limit holds for what they inflate to (a deflate bomb is refused the same way).
  assert.equal(c.ws.extensions, 'permessage-deflate');
  c.ws.send('x'.repeat(70 * 1024));
  assert.equal((await c.whenClosed()).code, 1009);
  const next = await open(t, `${h.api}/ws`, asAdmin);
  assert.equal(next.frames[0]?.type, 'hello');
});

test('a client whose session ended (logout or expiry) is closed with 1008 at the next event', async (t) => {
  let now = Date.now();
  const h = await host(t, { now: () => now, sessionTtlMs: 60_000 });
  const a = await login(h);
  const b = await login(h);
  const loggedOut = await open(t, `${h.api}/ws`, { headers: { Cookie: a.cookie } });
  const expiring = await open(t, `${h.api}/ws`, { protocols: [`floe-token.${b.token}`] });
  const admin = await open(t, `${h.api}/ws`, asAdmin);
  assert.equal((await h.call('POST', '/logout', undefined, { 'X-Floe-Auth': a.token })).status, 200);
  await h.ended(await pushData(h, 'f'));
  assert.equal((await loggedOut.whenClosed()).code, CLOSE_SESSION_ENDED);
  assert.equal(loggedOut.events.length, 0);
  assert.equal(expiring.closed, undefined);
  now += 61_000;
  const run = await pushData(h, 'f');
  await h.ended(run);
  assert.equal((await expiring.whenClosed()).code, CLOSE_SESSION_ENDED);
  assert.equal(await metric(h, 'floe_websocket_dropped_total{reason="session-ended"}'), 2);
  await admin.event('the end', isEnd(run));
  assert.equal(admin.closed, undefined);
});

/** Parses the server's (unmasked) frames as they arrive: text frames, then the close code. */
class FrameReader {
  readonly texts: string[] = [];
  closeCode?: number;
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    const b = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    let at = 0;
    while (this.closeCode === undefined && at + 2 <= b.length) {
      const opcode = b.readUInt8(at) & 0x0f;
      let len = b.readUInt8(at + 1) & 0x7f;
      let head = 2;
      if (len === 126) [len, head] = [b.length >= at + 4 ? b.readUInt16BE(at + 2) : Infinity, 4];
      else if (len === 127) [len, head] = [b.length >= at + 10 ? Number(b.readBigUInt64BE(at + 2)) : Infinity, 10];
      if (at + head + len > b.length) break;
      const payload = b.subarray(at + head, at + head + len);
      if (opcode === 1) this.texts.push(payload.toString());
      if (opcode === 8) this.closeCode = payload.readUInt16BE(0);
      at += head + len;
    }
    this.rest = b.subarray(at);
  }
}

/**
 * A raw TCP client that completes the upgrade and then stops reading. `drain()` reads what the
 * server left for it, up to the close frame.
 */
async function stalledClient(url: string): Promise<{ socket: Socket; drain(): Promise<FrameReader> }> {
  const { hostname, port, pathname } = new URL(url);
  const socket = tcpConnect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nX-Floe-Auth: ${ADMIN}\r\n\r\n`,
  );
  let head = Buffer.alloc(0);
  const frames = new FrameReader();
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      assert.match(head.subarray(0, end).toString(), /^HTTP\/1\.1 101 /);
      frames.push(head.subarray(end + 4));
      socket.off('data', onData);
      socket.pause();
      resolve();
    };
    socket.on('data', onData);
  });
  return {
    socket,
    drain: () =>
      new Promise((resolve) => {
        const done = (): void => {
          socket.destroy();
          resolve(frames);
        };
        if (frames.closeCode !== undefined) return done();
        // A server that never drops the client: give up, and let the caller's asserts say so.
        setTimeout(done, 20_000).unref();
        socket.on('data', (c: Buffer) => {
          frames.push(c);
          if (frames.closeCode !== undefined) done();
        });
        socket.on('close', done);
        socket.on('error', () => {});
        socket.resume();
      }),
  };
}

test('a client that stops reading is closed with 4008 and stalls neither the hub nor a client that reads', async (t) => {
  const h = await host(t);
  const reader = await startReader(`${h.api}/ws`, ADMIN);
  t.after(() => reader.stop());
  const slow = await stalledClient(`${h.api}/ws`);
  t.after(() => slow.socket.destroy());
  await gaugeBecomes(h, 2);

  const from = reader.helloSeq;
  const run = await pushData(h, 'loud');
  // Read once the server has dropped it, well before ws's close timeout (30 s) cuts the socket.
  await metricBecomes(h, 'floe_websocket_dropped_total{reason="too-slow"}', 1, 30_000);
  const { texts, closeCode } = await slow.drain();
  assert.equal((await h.ended(run)).status, 'good');
  assert.equal(closeCode, CLOSE_TOO_SLOW);
  const got = texts.map((s) => JSON.parse(s) as Frame);
  assert.equal(got[0]?.type, 'hello');
  assert.equal(got[0]?.lastSeq, from);
  const seqs = got.slice(1).map((f) => f.event.seq as number);
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => from + 1 + i),
    'what it got before the close is a gapless prefix',
  );
  assert.ok(seqs.at(-1)! < h.real.host.hub.lastSeq(), 'and it was dropped before the end');

  const seen = await reader.summaryAtEnd(run);
  assert.ok(seen.gapless, 'the reading client got every event, in order');
  assert.equal(seen.lastSeq, h.real.host.hub.lastSeq());
  assert.equal(seen.events, seen.lastSeq - seen.helloSeq);
  assert.equal(seen.stdoutLines, 400_000);
  await gaugeBecomes(h, 1);
});

/** A `ws` client whose socket is paused right after the upgrade: it sends, but reads nothing. */
async function pausedClient(
  t: TestContext,
  url: string,
): Promise<{ ws: WebSocket; readToClose(): Promise<{ code: number; frames: Frame[] }> }> {
  // Plain frames: the backlog it builds is counted in wire bytes, and deflated ones of the test
  // flows' one-letter lines would take some 100 times as long to reach the bound.
  const ws = new WebSocket(url, { headers: { 'X-Floe-Auth': ADMIN }, perMessageDeflate: false });
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  ws.pause();
  return {
    ws,
    readToClose: () =>
      new Promise((resolve) => {
        const frames: Frame[] = [];
        ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
        ws.once('close', (code) => resolve({ code, frames }));
        ws.resume();
      }),
  };
}

const ENCODED = 'floe_websocket_events_encoded_total';

test('a client that never reads and floods subscribes with since is closed 4008, and no event is encoded twice for it', async (t) => {
  const h = await host(t);
  const from = h.real.host.hub.lastSeq();
  // No client hears the run, so none of its events is encoded yet.
  await h.ended(await pushData(h, 'wide'));
  const kept = h.real.host.hub.lastSeq() - from;
  assert.equal(h.real.host.hub.eventsSince(from)?.length, kept, 'the whole run is in the history');
  assert.equal(await metric(h, ENCODED), 0);

  const slow = await pausedClient(t, `${h.api}/ws`);
  // The burst the subscribe rate allows, each asking for the whole history (~3 MB) again.
  for (let i = 0; i < 10; i++) slow.ws.send(JSON.stringify({ type: 'subscribe', since: from }));
  await metricBecomes(h, 'floe_websocket_dropped_total{reason="too-slow"}', 1, 30_000);
  const encoded = await metric(h, ENCODED);
  assert.ok(encoded > 0 && encoded <= kept, `${encoded} encodings for ${kept} events: each at most once however often it was asked for`);

  const { code, frames } = await slow.readToClose();
  assert.equal(code, CLOSE_TOO_SLOW);
  const events = frames.filter((f) => f.type === 'event');
  assert.ok(events.length < 10 * kept, `it was dropped before getting all it asked for (${events.length} events)`);
  assert.equal(await metric(h, ENCODED), encoded, 'nothing more was encoded after the drop');
});

test('each event is encoded once, however many clients replay or hear it', async (t) => {
  const h = await host(t);
  const from = h.real.host.hub.lastSeq();
  await h.ended(await pushData(h, 'f'));
  assert.equal(await metric(h, ENCODED), 0, 'no client heard the run');
  const clients = await Promise.all(Array.from({ length: 5 }, () => open(t, `${h.api}/ws`, asAdmin)));
  for (const c of clients) c.send({ type: 'subscribe', since: from });
  const subscribed = await Promise.all(clients.map((c) => c.frame('subscribed')));
  for (const [i, c] of clients.entries()) await c.waitFor('the replay', () => c.events.length === subscribed[i]?.replayed);
  const replayed = firstItem(subscribed).replayed as number;
  assert.ok(replayed > 5);
  assert.equal(await metric(h, ENCODED), replayed, '5 clients replayed each event, encoded once');

  const run = await pushData(h, 'g');
  for (const c of clients) await c.event('the end of the live run', isEnd(run));
  const encoded = await metric(h, ENCODED);
  assert.equal(encoded, h.real.host.hub.lastSeq() - from, 'and each live event once for all 5');
  for (const c of clients) assert.deepEqual(c.events, JSON.parse(JSON.stringify(h.events.filter((e) => e.seq > from))));
});

test('clients that negotiated permessage-deflate get the same events as plain ones, in far fewer bytes, compressed once for all', async (t) => {
  const h = await host(t);
  const plain = await open(t, `${h.api}/ws`, asAdminPlain);
  const deflate = [await open(t, `${h.api}/ws`, asAdmin), await open(t, `${h.api}/ws`, asAdmin)];
  for (const c of [plain, ...deflate]) assert.equal(c.ws.extensions, c === plain ? '' : 'permessage-deflate');
  const from = h.real.host.hub.lastSeq();
  const read = (c: Client): number => (c.ws as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
  const before = [plain, ...deflate].map(read);
  const run = await pushData(h, 'wide');
  for (const c of [plain, ...deflate]) await c.event('the end of the run', isEnd(run));
  const want = JSON.parse(JSON.stringify(h.events.filter((e) => e.seq > from && e.seq <= plain.events.at(-1)!.seq)));
  for (const c of [plain, ...deflate]) assert.deepEqual(c.events, want);
  const [plainBytes, ...deflateBytes] = [plain, ...deflate].map((c, i) => read(c) - before[i]!);
  for (const b of deflateBytes) assert.ok(b * 20 < plainBytes!, `${b} bytes deflated against ${plainBytes} plain`);
  assert.equal(await metric(h, ENCODED), h.real.host.hub.lastSeq() - from, 'each event encoded once for the three');
});

test('an upgrade offering permessage-deflate with parameters ws cannot take is served plain, not refused', async (t) => {
  const h = await host(t);
  for (const offer of ['permessage-deflate; server_max_window_bits=16', 'permessage-deflate; server_max_window_bits', 'x-unknown; a=b']) {
    const c = await open(t, `${h.api}/ws`, {
      headers: { ...asAdmin.headers, 'Sec-WebSocket-Extensions': offer },
      perMessageDeflate: false,
    });
    assert.equal(c.ws.extensions, '', offer);
    assert.equal(c.frames[0]?.type, 'hello');
  }
});

test('a long replay goes out in slices, letting the host do other work in between; live events follow it without gap', async (t) => {
  const h = await host(t);
  const hub = h.real.host.hub;
  const from = hub.lastSeq();
  // 3 MB of output: batched into events of a chunk each, still several slices of the replay.
  await h.ended(await pushData(h, 'wide'));
  const replayed = hub.lastSeq() - from;
  // The session is checked once per event sent; the first setImmediate queued when the replay
  // starts runs as soon as the replay lets go of the loop, and starts another run meanwhile.
  const auth = h.serving.auth;
  const check = auth.check.bind(auth);
  let checks = 0;
  auth.check = (token) => (checks++, check(token));
  let armed = true;
  let sentBeforeYield: number | undefined;
  let live: Promise<unknown> | undefined;
  const eventsSince = hub.eventsSince.bind(hub);
  hub.eventsSince = (seq) => {
    if (armed) {
      armed = false;
      const at = checks;
      setImmediate(() => {
        sentBeforeYield = checks - at;
        live = hub.trigger('f');
      });
    }
    return eventsSince(seq);
  };
  const c = await open(t, `${h.api}/ws`, asAdminPlain);
  c.send({ type: 'subscribe', since: from });
  assert.equal((await c.frame('subscribed')).replayed, replayed);
  await c.waitFor('the first yield', () => sentBeforeYield !== undefined);
  assert.ok(sentBeforeYield! < replayed, `the replay let go of the loop after ${sentBeforeYield} of ${replayed} events`);
  const ref = firstItem((await live) as Array<{ run: string }>);
  await c.event('the end of the run started during the replay', isEnd(ref.run));
  assert.deepEqual(
    c.events,
    JSON.parse(JSON.stringify(h.events.filter((e) => e.seq > from))),
    'the replay, then the live events: no gap, no duplicate',
  );
});

test('live events go out to many clients in slices that yield the loop; each client still hears every event once, in order', async (t) => {
  // A slice of 0 ms sends one event to one client, then yields: the tightest the fan-out gets.
  const h = await host(t, { fanoutSliceMs: 0 });
  const hub = h.real.host.hub;
  const clients = [await open(t, `${h.api}/ws`, asAdmin), await open(t, `${h.api}/ws`, asAdmin), await open(t, `${h.api}/ws`, asAdmin)];
  const from = hub.lastSeq();
  // Each send asks once whether the session still holds. This subscriber runs after the
  // websocket's: sends after it, before the next event is published, were made once the fan-out
  // had let go of the loop.
  const auth = h.serving.auth;
  const unchangedSince = auth.unchangedSince.bind(auth);
  let checks = 0;
  auth.unchangedSince = (revision, expires) => (checks++, unchangedSince(revision, expires));
  let published = 0;
  const sentLater: number[] = [];
  const unsubscribe = hub.subscribe(() => {
    const [at, n] = [checks, ++published];
    setImmediate(() => {
      if (published === n) sentLater.push(checks - at);
    });
  });
  t.after(unsubscribe);
  const run = await pushData(h, 'f');
  for (const c of clients) await c.event('the end of the run', isEnd(run));
  assert.ok(
    sentLater.some((n) => n > 0),
    `an event reached some clients after the loop had a turn (sends after: ${sentLater.join(', ')})`,
  );
  const want = JSON.parse(JSON.stringify(h.events.filter((e) => e.seq > from && e.seq <= clients[0]!.events.at(-1)!.seq)));
  for (const c of clients) assert.deepEqual(c.events, want, 'every event, once, in seq order');
});

test('a client that subscribes while a live event is still going out to others gets no duplicate and no gap', async (t) => {
  // Every event leaves in its own tick, so the subscribe lands while the run is still going out.
  const h = await host(t, { fanoutSliceMs: 0, corkPaceMs: 0 });
  const others = [await open(t, `${h.api}/ws`, asAdmin), await open(t, `${h.api}/ws`, asAdmin)];
  const c = await open(t, `${h.api}/ws`, asAdmin);
  const from = h.real.host.hub.lastSeq();
  const run = await pushData(h, 'f');
  // Subscribes mid-run with since = the last event it got: the replay fills in, live follows.
  await c.event('the first event of the run', () => true);
  const since = c.events.at(-1)!.seq;
  c.send({ type: 'subscribe', since });
  await c.frame('subscribed');
  await c.event('the end of the run', isEnd(run));
  for (const o of others) await o.event('the end of the run', isEnd(run));
  // What came before `subscribed` belongs to the old subscription; the replay starts after since.
  const before = c.frames.slice(
    0,
    c.frames.findIndex((f) => f.type === 'subscribed'),
  );
  const got = [...before.flatMap((f) => (f.type === 'event' && f.event.seq <= since ? [f.event as PublishedEvent] : [])), ...c.events];
  const want = JSON.parse(JSON.stringify(h.events.filter((e) => e.seq > from && e.seq <= got.at(-1)!.seq)));
  assert.deepEqual(got, want, 'before the subscribe and after it: no gap, no duplicate');
});

test('subscribes past the rate (10 at once, then 2 a second) are answered with an error frame and ignored', async (t) => {
  let now = Date.now();
  const h = await host(t, { now: () => now });
  const c = await open(t, `${h.api}/ws`, asAdmin);
  for (let i = 0; i < 10; i++) c.send({ type: 'subscribe', flow: 'f' });
  c.send({ type: 'subscribe', flow: 'g' });
  c.send({ type: 'subscribe', flow: 'g', since: 0 });
  await c.waitFor('12 answers', () => c.frames.length === 13);
  const refused = { type: 'error', message: 'too many subscribes: 10 at once, then 2 a second; this one was ignored, try again in 500 ms' };
  assert.deepEqual(
    c.frames.slice(1).map((f) => f.type),
    [...Array<string>(10).fill('subscribed'), 'error', 'error'],
  );
  assert.deepEqual(c.frames.slice(11), [refused, refused]);

  // Ignored: the client still hears flow f only.
  const g = await pushData(h, 'g');
  const f = await pushData(h, 'f');
  await h.ended(g);
  await c.event('the end of the run of f', isEnd(f));
  assert.deepEqual(new Set(c.events.map((e) => ('ref' in e ? e.ref.flowRef.id : e.flowRef.id))), new Set(['f']));

  now += 500;
  const mark = c.frames.length;
  c.send({ type: 'subscribe', flow: 'g' });
  c.send({ type: 'subscribe', flow: 'g' });
  await c.waitFor('2 answers', () => c.frames.length === mark + 2);
  assert.deepEqual(c.frames.slice(mark), [{ type: 'subscribed', flow: 'g', lastSeq: h.real.host.hub.lastSeq(), replayed: 0 }, refused]);
});

test('offered beside floe, the token subprotocol is not echoed: the 101 answer selects floe', async (t) => {
  const h = await host(t);
  const { token } = await login(h);
  for (const protocols of [
    ['floe', `floe-token.${token}`],
    [`floe-token.${token}`, 'floe'],
  ]) {
    const ws = new WebSocket(`${h.api}/ws`, protocols);
    const c = new Client(ws);
    t.after(() => ws.terminate());
    const res = await new Promise<IncomingMessage>((resolve, reject) => ws.once('upgrade', resolve).once('error', reject));
    assert.equal(res.headers['sec-websocket-protocol'], 'floe', protocols.join(', '));
    assert.ok(!res.rawHeaders.join('\n').includes(token), 'the token is nowhere in the answer');
    assert.equal((await c.frame('hello')).type, 'hello', 'the token protocol still authenticated');
    assert.equal(ws.protocol, 'floe');
  }
  // Offered alone (older clients), it is still echoed: a browser fails a handshake that selects none.
  const only = await open(t, `${h.api}/ws`, { protocols: [`floe-token.${token}`] });
  assert.equal(only.ws.protocol, `floe-token.${token}`);
});

test('closing the host closes its clients with 1001', async (t) => {
  const h = await startApiHost(FLOWS);
  const c = await open(t, `${h.api}/ws`, asAdmin);
  await h.close();
  assert.equal((await c.whenClosed()).code, CLOSE_GOING_AWAY);
});

test('a token may hold 16 open websockets: the 17th upgrade is refused 429 until one closes; another token is unaffected', async (t) => {
  const h = await host(t);
  const url = `${h.api}/ws`;
  const { token } = await login(h);
  const mine: Client[] = [];
  for (let i = 0; i < 16; i++) mine.push(await open(t, url, asAdmin));
  const tooMany = { status: 429, body: { message: 'too many websockets for this session (16 open)', payload: null } };
  assert.deepEqual(await upgradeRequest(url, { 'X-Floe-Auth': ADMIN }), tooMany);
  // The same token by another means is the same session.
  assert.deepEqual(await upgradeRequest(url, { 'Sec-WebSocket-Protocol': `floe-token.${ADMIN}` }), tooMany);
  const other = await open(t, url, { headers: { 'X-Floe-Auth': token } });
  assert.deepEqual(other.frames[0]?.type, 'hello');
  await gaugeBecomes(h, 17);
  mine[0]!.ws.close();
  await mine[0]!.whenClosed();
  await gaugeBecomes(h, 16);
  const again = await open(t, url, asAdmin);
  assert.deepEqual(again.frames[0]?.type, 'hello');
  assert.deepEqual(await upgradeRequest(url, { 'X-Floe-Auth': ADMIN }), tooMany);
});

test('a client address may hold 64 open websockets, whatever their tokens: the 65th upgrade is refused 429', async (t) => {
  const h = await host(t);
  const url = `${h.api}/ws`;
  const tokens = [ADMIN, ...(await Promise.all([login(h), login(h), login(h), login(h)])).map((s) => s.token)];
  for (const token of tokens.slice(0, 4)) for (let i = 0; i < 16; i++) await open(t, url, { headers: { 'X-Floe-Auth': token } });
  assert.deepEqual(await upgradeRequest(url, { 'X-Floe-Auth': tokens[4]! }), {
    status: 429,
    body: { message: 'too many websockets from this address (64 open)', payload: null },
  });
});
