import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import type { Config } from '../../src/config/schema.js';
import type { HostHello, PeerReply, PeerRequest } from '../../src/cluster/messages.js';
import { createLogger } from '../../src/host/logger.js';
import { HttpPeers } from '../../src/host/http-peers.js';
import type { Hub } from '../../src/hub/hub.js';
import type { ApiDeps } from '../../src/server/api.js';
import { createApp } from '../../src/server/app.js';
import { Auth } from '../../src/server/auth.js';
import { LoginLimits } from '../../src/server/login-limits.js';
import type { Metrics } from '../../src/server/metrics.js';
import { webappFiles } from '../../src/server/webapp/files.js';

const CLUSTER = 'cluster-secret-0123456789';
const log = createLogger({ level: 'silent', pretty: false });

const HELLO: HostHello = {
  name: 'h1',
  url: 'http://127.0.0.1:8080',
  boot: 'b00t',
  version: '0.1.0',
  protocol: 1,
  tags: ['linux', 'go'],
  hostsKey: 'http://127.0.0.1:8080 http://127.0.0.1:8090',
  load: { active: 1, pending: 2, maxRuns: null },
  runs: { pending: ['h1-2', 'h1-3'], active: ['h1-1'] },
  heldTags: ['db'],
  known: [{ url: 'http://127.0.0.1:8090', name: 'h2', online: true, lastContact: 1_700_000_000_000 }],
};

/** Starts `handler` on 127.0.0.1, port 0, closed after the test; counts the connections it accepts. */
async function serve(t: TestContext, handler: RequestListener): Promise<{ url: string; server: Server; connections: () => number }> {
  const server = createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, connections: () => connections };
}

/** The real app (the p2p route, its auth and error mapping) over a hub that answers with `answer`. */
async function servePeer(t: TestContext, answer: (req: PeerRequest) => PeerReply) {
  const heard: PeerRequest[] = [];
  const hub = {
    receivePeer: (req: PeerRequest): Promise<PeerReply> => {
      heard.push(req);
      return Promise.resolve(answer(req));
    },
  };
  const deps: ApiDeps = {
    hub: hub as unknown as Hub,
    auth: new Auth({ adminToken: 'admin-token', sessionTtlMs: 60_000, now: Date.now }),
    limits: new LoginLimits({ now: Date.now, log }),
    clientAddress: (req) => req.socket.remoteAddress,
    config: { common: { baseUrl: '/build/api', hosts: [] } } as unknown as Config,
    host: { name: 'h2', tags: [] },
    log,
    metrics: {} as Metrics,
    clusterToken: CLUSTER,
    webapp: webappFiles('/nonexistent', true),
  };
  const handle = createApp(deps, ['pub', 'prv']).callback();
  const s = await serve(t, (req, res) => void handle(req, res));
  return { ...s, heard };
}

// Generous: these tests are about what arrives, not how soon (the timeout tests make their own).
const peers = new HttpPeers({ token: CLUSTER, timeoutMs: 10_000 });
after(() => peers.close());

test('a request and its reply cross the wire intact, on one kept-alive connection', async (t) => {
  const p = await servePeer(t, () => ({ kind: 'hello', hello: { ...HELLO, name: 'h2', url: 'http://127.0.0.1:8090' } }));
  const req: PeerRequest = { kind: 'hello', hello: HELLO };
  for (let i = 0; i < 3; i++) {
    const reply = await peers.send(`${p.url}/`, req);
    assert.deepEqual(reply, { kind: 'hello', hello: { ...HELLO, name: 'h2', url: 'http://127.0.0.1:8090' } });
  }
  assert.deepEqual(p.heard, [req, req, req]);
  assert.equal(p.connections(), 1, 'the three sends shared a connection');
});

test("a take carries a whole run record, past the API's 1 MiB body limit, to the hub", async (t) => {
  const p = await servePeer(t, () => ({ kind: 'take' }));
  const record = {
    ref: { flowRef: { id: 'build', ver: 1 }, run: 'h1-7' },
    adoptedBy: 'h1',
    createdAt: 1_700_000_000_000,
    status: 'pending',
    trigger: { id: 'start', type: 'data', values: { branch: 'main' } },
    nodes: { build: { notes: 'x'.repeat(2 * 1024 * 1024) } },
  };
  const req = { kind: 'take', from: 'http://127.0.0.1:8080', record } as unknown as PeerRequest;
  assert.deepEqual(await peers.send(p.url, req), { kind: 'take' });
  assert.deepEqual(p.heard, [req]);
});

test('a wrong cluster token is refused, and no message carries either token', async (t) => {
  const p = await servePeer(t, () => ({ kind: 'granted' }));
  const wrong = new HttpPeers({ token: 'not-the-cluster-token' });
  t.after(() => wrong.close());
  const reply = await wrong.send(p.url, { kind: 'granted', tag: 'db', run: 'h1-1' });
  assert.equal(reply.kind, 'refused');
  assert.match(reply.kind === 'refused' ? reply.reason : '', /rejected the cluster token \(HTTP 401\)/);
  assert.doesNotMatch(JSON.stringify(reply), /not-the-cluster-token|cluster-secret/);
  assert.deepEqual(p.heard, [], 'the hub never heard the request');
});

test('a peer that never answers makes send reject at the timeout', async (t) => {
  const s = await serve(t, () => {
    // Reads the request and never answers, as a paused process would.
  });
  const quick = new HttpPeers({ token: CLUSTER, timeoutMs: 200, workTimeoutMs: 200 });
  t.after(() => quick.close());
  await assert.rejects(quick.send(s.url, { kind: 'granted', tag: 'db', run: 'h1-1' }), /no answer from .* within 200 ms/);
});

test('a peer stopped with SIGSTOP makes send reject, on the kept-alive connection too', async (t) => {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('{"kind":"granted"}')); })
        .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => {
    child.kill('SIGKILL');
  });
  const port = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  const url = `http://127.0.0.1:${port}`;
  const quick = new HttpPeers({ token: CLUSTER, timeoutMs: 300, workTimeoutMs: 300 });
  t.after(() => quick.close());
  const req: PeerRequest = { kind: 'granted', tag: 'db', run: 'h1-1' };
  assert.deepEqual(await quick.send(url, req), { kind: 'granted' });
  child.kill('SIGSTOP');
  await assert.rejects(quick.send(url, req), /within 300 ms/);
  // And a fresh connection, which the kernel accepts for the stopped process.
  const fresh = new HttpPeers({ token: CLUSTER, timeoutMs: 300, workTimeoutMs: 300 });
  t.after(() => fresh.close());
  await assert.rejects(fresh.send(url, req), /within 300 ms/);
  child.kill('SIGCONT');
  assert.deepEqual(await quick.send(url, req), { kind: 'granted' }, 'answers again once continued');
});

test('a reply cut short rejects, as no answer does, and the next send gets a fresh connection', async (t) => {
  let cut = true;
  const s = await serve(t, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 100 });
      if (cut) {
        res.write('{"kind":');
        setTimeout(() => res.socket?.destroy(), 20);
      } else res.end(JSON.stringify({ kind: 'granted' }).padEnd(100));
    });
  });
  await assert.rejects(peers.send(s.url, { kind: 'granted', tag: 'db', run: 'h1-1' }), /aborted|ECONNRESET|closed the connection/);
  cut = false;
  assert.deepEqual(await peers.send(s.url, { kind: 'granted', tag: 'db', run: 'h1-1' }), { kind: 'granted' });
  assert.equal(s.connections(), 2);
});

test('nobody listening rejects', async (t) => {
  const s = await serve(t, () => {});
  const { url } = s;
  await new Promise<void>((resolve) => s.server.close(() => resolve()));
  await assert.rejects(peers.send(url, { kind: 'granted', tag: 'db', run: 'h1-1' }), /ECONNREFUSED/);
});

test('malformed replies and HTTP errors resolve to error replies that say what came back', async (t) => {
  const cases: Array<{ status: number; body: string; type?: string; want: PeerReply['kind']; says: RegExp }> = [
    { status: 200, body: '{"kind": 42}', want: 'error', says: /not a JSON object with a kind/ },
    { status: 200, body: '{"kind": "lock", "state": "held"}', want: 'error', says: /bad lock reply/ },
    { status: 200, body: '<html>hi</html>', type: 'text/html', want: 'error', says: /not JSON: <html>hi<\/html>/ },
    { status: 200, body: '', want: 'error', says: /not JSON: \(empty\)/ },
    { status: 500, body: '{"message":"internal error","payload":null}', want: 'error', says: /answered HTTP 500: internal error/ },
    { status: 404, body: '{"message":"no route POST /_floe/p2p","payload":null}', want: 'error', says: /HTTP 404: no route .*prv_bind\?/ },
    { status: 302, body: '', want: 'error', says: /HTTP 302/ },
    { status: 403, body: '{"message":"go away","payload":null}', want: 'refused', says: /HTTP 403: go away/ },
    { status: 429, body: `echoed: Bearer ${CLUSTER}`, type: 'text/plain', want: 'error', says: /HTTP 429: echoed: Bearer \[redacted\]$/ },
    { status: 200, body: JSON.stringify({ kind: 'error', message: 'x'.repeat(5000) }), want: 'error', says: /over 4096 bytes/ },
  ];
  let current = cases[0]!;
  const s = await serve(t, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(current.status, { 'Content-Type': current.type ?? 'application/json', Location: '/elsewhere' });
      res.end(current.body);
    });
  });
  const small = new HttpPeers({ token: CLUSTER, maxReplyBytes: 4096 });
  t.after(() => small.close());
  for (const c of cases) {
    current = c;
    const reply = await small.send(s.url, { kind: 'granted', tag: 'db', run: 'h1-1' });
    const said = reply.kind === 'error' ? reply.message : reply.kind === 'refused' ? reply.reason : '';
    assert.equal(reply.kind, c.want, `${c.status} ${c.body.slice(0, 50)}: ${JSON.stringify(reply)}`);
    assert.match(said, c.says, `${c.status} ${c.body.slice(0, 50)}`);
    assert.ok(!said.includes(CLUSTER), said);
  }
});

test('a heartbeat gives up at timeoutMs, while work a peer persists before answering gets workTimeoutMs', async (t) => {
  // A server that answers after 400 ms: too late for a hello (200 ms), in time for a take (2 s).
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'granted' }));
      }, 400);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const peers = new HttpPeers({ token: CLUSTER, timeoutMs: 200, workTimeoutMs: 2_000 });
  t.after(() => peers.close());
  assert.deepEqual(await peers.send(url, { kind: 'granted', tag: 'db', run: 'h1-1' }), { kind: 'granted' });
  await assert.rejects(peers.send(url, { kind: 'hello', hello: HELLO }), /within 200 ms/);
});
