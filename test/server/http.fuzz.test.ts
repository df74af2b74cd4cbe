import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { METHODS } from 'node:http';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { hashPassword } from '../../src/server/password.js';
import { fuzzParams } from '../fuzz/settings.js';
import { ADMIN, startApiHost } from './harness.js';
import { exchangeBytes, sendRaw, statusesOf } from './raw-http.js';
import { itemAt } from '../items.js';

// Whatever a client sends, as HTTP requests, websocket upgrades or websocket frames: the host
// answers without a 5xx, without a stack trace or a path of its own files, and keeps running.

const uncaught: unknown[] = [];
const recordCrash = (err: unknown): void => void uncaught.push(err);
process.on('uncaughtException', recordCrash);
process.on('unhandledRejection', recordCrash);
after(() => {
  process.off('uncaughtException', recordCrash);
  process.off('unhandledRejection', recordCrash);
});

const h = await startApiHost(`common:
  users:
    - { user: ana, password: "${await hashPassword('ana-pw')}", role: admin }
    - { user: cy, password: "${await hashPassword('cy-pw')}", role: viewer }
flows:
  - id: hello
    triggers:
      - { name: start, type: data, opts: { form: { title: Go, fields: [{ id: msg, prompt: Msg, type: text, value: hi }, { id: n, prompt: N, type: int, value: '1' }] } } }
    tasks: [{ name: done, listen: trigger.good, type: end }]
  - id: approve
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: ask, listen: trigger.good, type: data, opts: { form: { title: Ok?, fields: [{ id: ok, prompt: OK, type: bool }] } } }
      - { name: done, listen: task.ask.good, type: end }
`);
after(() => h.close());
const port = Number(new URL(h.url).port);
const BASE = '/build/api';
const waiting = await h.call('POST', '/push/data', { ref: { id: 'approve' }, form: { id: 'start' } });
assert.equal(waiting.status, 200, waiting.text);
const RUN = waiting.body.payload.runs[0] as string;

/** Where this build lives on disk: no answer may name it unless the request did. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LEAKS = [
  /\n\s*at \S/,
  /\bat \S+ \(/,
  /\.(?:[cm]?js|ts):\d+/,
  /node_modules/,
  /file:\/\//,
  new RegExp(ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
];

/** What in `answer` looks like an internal detail and was not in `sent`, if anything. */
function leakIn(answer: string, sent: string): string | undefined {
  for (const re of LEAKS) {
    const m = re.exec(answer);
    if (m && !sent.includes(m[0])) return m[0];
  }
  return undefined;
}

/** After every case: nothing escaped to the process, and the host still answers. */
async function hostIsWell(what: string): Promise<void> {
  assert.deepEqual(uncaught, [], `uncaught after ${what}`);
  const health = await sendRaw(port, 'GET', `${BASE}/health`);
  assert.equal(health.status, 200, `health after ${what}: ${health.text}`);
}

// Values --------------------------------------------------------------------------------------

const weird = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -0, 0.5, -1, 0, '', 'hello', 'start', 'ask', RUN, '__proto__', 'h1-999'),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const pushBody = fc.record(
  {
    ref: fc.oneof(
      fc.record({ id: fc.oneof(fc.constantFrom('hello', 'approve'), weird), ver: fc.oneof(fc.constant(1), weird) }, { requiredKeys: [] }),
      weird,
    ),
    run: fc.oneof(fc.constant(RUN), weird),
    form: fc.oneof(
      fc.record(
        {
          id: fc.oneof(fc.constantFrom('start', 'ask'), weird),
          values: fc.oneof(fc.dictionary(fc.constantFrom('msg', 'n', 'ok', 'MSG', 'x', 'constructor'), weird), weird),
        },
        { requiredKeys: [] },
      ),
      weird,
    ),
  },
  { requiredKeys: [] },
);
const loginBody = fc.record(
  {
    user: fc.oneof(fc.constantFrom('ana', 'cy', 'admin', 'nobody'), weird),
    password: fc.oneof(fc.constantFrom('ana-pw', 'wrong', ADMIN), weird),
  },
  { requiredKeys: [] },
);
const subscribeBody = fc.record(
  {
    type: fc.oneof(fc.constant('subscribe'), weird),
    flow: fc.oneof(fc.constant('hello'), weird),
    run: fc.oneof(fc.constant(RUN), weird),
    since: fc.oneof(fc.nat(), weird),
  },
  { requiredKeys: [] },
);

/** Texts no generator above makes: prototype keys, numbers past every range, deep nesting. */
const SPECIAL_TEXTS = [
  '{"__proto__":{"admin":true},"ref":{"id":"hello"}}',
  '{"ref":{"id":"hello","__proto__":{"ver":2}},"form":{"id":"start","values":{"__proto__":{"msg":"x"},"constructor":{"prototype":{"n":1}}}}}',
  '{"type":"subscribe","__proto__":{"flow":"hello"}}',
  '{"user":"ana","password":"ana-pw","__proto__":{"role":"admin"}}',
  '{"ref":{"id":"hello","ver":1e999},"form":{"values":{"n":123456789012345678901234567890}}}',
  '{"ref":{"id":"hello","ver":-1e-999}}',
  '{"type":"subscribe","since":1e400}',
  '{"type":"subscribe","since":9007199254740993}',
  `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
  `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
  '\uFEFF{"ref":{"id":"hello"}}',
  '{"ref":{"id":"hello"}}{"ref":{"id":"hello"}}',
  '{"ref":{"id":"hel\\ud800lo"}}',
  'null',
  '',
];

/** A JSON text with `"__proto__":…` put into one of its objects. */
const withProtoKey = (json: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(json, fc.nat(), fc.constantFrom('{"admin":true}', 'null', '[]', '"x"', '{"id":"hello"}')).map(([text, at, value]) => {
    const opens = [...text.matchAll(/\{/g)].map((m) => m.index);
    if (opens.length === 0) return text;
    const i = itemAt(opens, at % opens.length) + 1;
    return `${text.slice(0, i)}"__proto__":${value}${text[i] === '}' ? '' : ','}${text.slice(i)}`;
  });

const jsonText = (a: fc.Arbitrary<unknown>): fc.Arbitrary<string> => {
  const text = a.map((v) => JSON.stringify(v) ?? 'null');
  return fc.oneof(text, withProtoKey(text));
};

const anyBody = fc.oneof(
  jsonText(pushBody),
  jsonText(loginBody),
  jsonText(subscribeBody),
  fc.constantFrom(...SPECIAL_TEXTS),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('latin1')),
);

// Requests ------------------------------------------------------------------------------------

const SEGMENTS = [
  'build',
  'api',
  'BUILD',
  'Api',
  'flows',
  'hello',
  'approve',
  'runs',
  RUN,
  'cancel',
  'rerun',
  'push',
  'data',
  'login',
  'logout',
  'health',
  'hosts',
  'metrics',
  'ws',
  'WS',
  '..',
  '.',
  '',
  '%2F',
  '%2e%2e',
  '%00',
  '%',
  '%zz',
  '%66lows',
  '%E2%82%AC',
  'é',
  '😀',
  '\\',
  ';',
  'a?b',
  '#x',
];
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }).map(encodeURIComponent) },
  fc.string({ maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 5 }),
);
const ROUTES = [
  '/health',
  '/login',
  '/logout',
  '/flows',
  '/flows/hello',
  `/flows/approve/runs/${RUN}`,
  `/flows/approve/runs/${RUN}/cancel`,
  `/flows/hello/runs/${RUN}/rerun`,
  '/push/data',
  '/hosts',
  '/metrics',
  '/ws',
];
const query = fc
  .array(
    fc.tuple(
      fc.constantFrom('tail', 'from', 'limit', 'node', 'ver', 'before', 'x', '__proto__', 'limit[]'),
      fc.oneof(
        fc.constantFrom('-1', '1e999', '9007199254740993', '%', '', 'NaN', '0x10', '1', 'ask', '%00'),
        fc.string({ unit: 'binary', maxLength: 6 }).map(encodeURIComponent),
      ),
    ),
    { maxLength: 3 },
  )
  .map((q) => (q.length === 0 ? '' : `?${q.map(([k, v]) => `${k}=${v}`).join('&')}`));
const path = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...ROUTES).map((r) => BASE + r) },
      { weight: 3, arbitrary: fc.array(segment, { maxLength: 5 }).map((s) => `${BASE}/${s.join('/')}`) },
      fc.array(segment, { maxLength: 5 }).map((s) => `/${s.join('/')}`),
      fc.nat({ max: 20_000 }).map((n) => `${BASE}/flows/${'x'.repeat(n)}`),
      fc.constantFrom('*', 'http://127.0.0.1/build/api/flows', '//build/api/flows', '/ws', `${BASE}/ws`, 'build/api/flows', ''),
    ),
    query,
  )
  .map(([p, q]) => p + q);

const LENGTHS = [
  'exact',
  'exact',
  'exact',
  'none',
  'shorter',
  'longer',
  'negative',
  'garbage',
  'double',
  'chunked',
  'chunked-bad',
  'chunked-and-length',
] as const;
type LengthMode = (typeof LENGTHS)[number];

const token = fc.oneof(
  fc.constantFrom(ADMIN, 'not-a-token', `${ADMIN} `, ADMIN.toUpperCase(), ''),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const cookie = fc.oneof(
  fc.constantFrom(
    'floe-sesh=%',
    'floe-sesh=%zz',
    'floe-sesh=',
    'floe-sesh',
    '=;;=',
    `floe-sesh=${ADMIN}`,
    'floe-sesh=%E0%A4%A',
    'a=1; floe-sesh=%; floe-sesh=x',
  ),
  fc.string({ maxLength: 30 }).map((s) => `floe-sesh=${s}`),
  // Percent escapes, good and broken, are what decodeURIComponent trips on.
  fc
    .array(fc.constantFrom('%', '%2', '%zz', '%41', '%E2%82', '%C3%A9', 'a', '=', ';', ' '), { minLength: 1, maxLength: 6 })
    .map((p) => `floe-sesh=${p.join('')}`),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  ';;;',
  'application/json, text/plain',
);
const upgrade = fc.record({
  upgrade: fc.constantFrom('websocket', 'WebSocket', 'h2c', ''),
  key: fc.oneof(fc.constant(randomBytes(16).toString('base64')), fc.string({ maxLength: 30 })),
  version: fc.constantFrom('13', '8', '', 'x'),
  protocol: fc.option(
    fc.oneof(
      token.map((t) => `floe-token.${t}`),
      fc.string({ maxLength: 20 }),
    ),
  ),
});
const headerName = fc.oneof(
  fc.constantFrom(
    'X-Floe-Auth',
    'Cookie',
    'Content-Type',
    'Content-Length',
    'Transfer-Encoding',
    'Expect',
    'Host',
    'Origin',
    'Accept-Encoding',
  ),
  fc.string({ maxLength: 12 }),
);

interface Request {
  method: string;
  path: string;
  auth: string | null;
  cookie: string | null;
  contentType: string | null;
  length: LengthMode;
  body: string | null;
  upgrade: { upgrade: string; key: string; version: string; protocol: string | null } | null;
  extra: Array<[string, string]>;
  from: number;
}

/** Anything at all: garbage methods, paths, headers and framing, most of it refused by the parser. */
const anyRequest: fc.Arbitrary<Request> = fc.record({
  method: fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH') },
    fc.constantFrom('TRACE', 'CONNECT', 'PROPFIND', 'get', 'FOO', ''),
  ),
  path,
  auth: fc.option(token),
  cookie: fc.option(cookie),
  contentType: fc.option(contentType),
  length: fc.constantFrom(...LENGTHS),
  body: fc.option(anyBody, { freq: 2 }),
  upgrade: fc.option(upgrade, { freq: 4 }),
  extra: fc.array(fc.tuple(headerName, fc.string({ maxLength: 30 })), { maxLength: 2 }),
  // Each case from its own address of 127/8: the bad-token and login limits count per client,
  // and would otherwise soon answer every case 429 before it reaches a route.
  from: fc.integer({ min: 2, max: 254 }),
});

const viewer = await h.call('POST', '/login', { user: 'cy', password: 'cy-pw' }, {});
assert.equal(viewer.status, 200, viewer.text);
const VIEWER = viewer.body.payload.token as string;

/** Real routes, each with the bodies it is meant to take, made wrong in some way. */
const TARGETS: Array<{ method: string; path: string; body?: fc.Arbitrary<string> }> = [
  { method: 'POST', path: '/push/data', body: jsonText(pushBody) },
  { method: 'POST', path: '/push/data', body: fc.constantFrom(...SPECIAL_TEXTS) },
  { method: 'POST', path: '/login', body: jsonText(loginBody) },
  { method: 'POST', path: '/logout', body: anyBody },
  { method: 'GET', path: '/flows' },
  { method: 'GET', path: '/flows/hello' },
  { method: 'GET', path: `/flows/approve/runs/${RUN}` },
  { method: 'POST', path: `/flows/approve/runs/${RUN}/cancel` },
  { method: 'POST', path: `/flows/hello/runs/${RUN}/rerun` },
  { method: 'HEAD', path: '/hosts' },
  { method: 'GET', path: '/metrics' },
];

/** What an API client could mean to send: a real route, a good token, JSON framed right, a wrong body. */
const wellFormed = fc.constantFrom(...TARGETS).chain((target): fc.Arbitrary<Request> =>
  fc.record({
    method: fc.oneof({ weight: 6, arbitrary: fc.constant(target.method) }, fc.constantFrom(...METHODS)),
    path: fc.oneof({ weight: 3, arbitrary: fc.constant('') }, query).map((q) => `${BASE}${target.path}${q}`),
    // Not the viewer on logout: that would end its session for every later case.
    auth: fc.oneof(
      { weight: 6, arbitrary: fc.constant(ADMIN) },
      fc.constant(target.path === '/logout' ? ADMIN : VIEWER),
      fc.constant(null),
    ),
    cookie: fc.option(cookie, { freq: 4 }),
    contentType: fc.oneof({ weight: 5, arbitrary: fc.constant('application/json') }, contentType),
    length: fc.constantFrom<LengthMode>('exact', 'exact', 'exact', 'chunked'),
    body: target.body ?? fc.constant(null),
    upgrade: fc.constant(null),
    extra: fc.constant([]),
    from: fc.integer({ min: 2, max: 254 }),
  }),
);

/** Websocket upgrades that a client could mean, with any token or cookie, and frames in the head. */
const wellFormedUpgrade: fc.Arbitrary<Request> = fc.record({
  method: fc.constant('GET'),
  path: fc.constantFrom(`${BASE}/ws`, '/ws', `${BASE}/ws?x=1`),
  auth: fc.option(fc.oneof(fc.constant(ADMIN), token)),
  cookie: fc.option(cookie),
  contentType: fc.constant(null),
  length: fc.constant('none'),
  body: fc.option(
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')),
    { freq: 3 },
  ),
  upgrade: fc.record({
    upgrade: fc.constant('websocket'),
    key: fc.constant(randomBytes(16).toString('base64')),
    version: fc.constant('13'),
    protocol: fc.option(
      token.map((t) => `floe-token.${t}`),
      { freq: 3 },
    ),
  }),
  extra: fc.constant([]),
  from: fc.integer({ min: 2, max: 254 }),
});

const request = fc.oneof(
  { weight: 6, arbitrary: wellFormed },
  { weight: 1, arbitrary: wellFormedUpgrade },
  { weight: 3, arbitrary: anyRequest },
);

/** No CR or LF: they would end the head early, which the framing modes below do on purpose instead. */
const oneLine = (s: string): string => s.replace(/[\r\n]/g, ' ');

function encode(r: Request): Buffer {
  const body = Buffer.from(r.body ?? '', 'latin1');
  const head = [`${r.method} ${oneLine(r.path)} HTTP/1.1`, 'Host: 127.0.0.1'];
  if (r.upgrade) {
    head.push(
      'Connection: Upgrade',
      `Upgrade: ${r.upgrade.upgrade}`,
      `Sec-WebSocket-Key: ${r.upgrade.key}`,
      `Sec-WebSocket-Version: ${r.upgrade.version}`,
    );
    if (r.upgrade.protocol !== null) head.push(`Sec-WebSocket-Protocol: ${r.upgrade.protocol}`);
  } else {
    head.push('Connection: close');
  }
  if (r.auth !== null) head.push(`X-Floe-Auth: ${r.auth}`);
  if (r.cookie !== null) head.push(`Cookie: ${r.cookie}`);
  if (r.contentType !== null) head.push(`Content-Type: ${r.contentType}`);
  for (const [k, v] of r.extra) head.push(`${k}: ${v}`);
  let payload = body;
  const length = (mode: LengthMode): void => {
    switch (mode) {
      case 'exact':
        return void head.push(`Content-Length: ${body.length}`);
      case 'none':
        return;
      case 'shorter':
        return void head.push(`Content-Length: ${Math.max(0, body.length - 3)}`);
      case 'longer':
        return void head.push(`Content-Length: ${body.length + 5}`);
      case 'negative':
        return void head.push('Content-Length: -1');
      case 'garbage':
        return void head.push('Content-Length: 1e3, 7');
      case 'double':
        return void head.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
      case 'chunked':
        head.push('Transfer-Encoding: chunked');
        payload = Buffer.concat([
          Buffer.from(`${body.length.toString(16)}\r\n`),
          body,
          Buffer.from(body.length > 0 ? '\r\n0\r\n\r\n' : '\r\n'),
        ]);
        return;
      case 'chunked-bad':
        head.push('Transfer-Encoding: chunked');
        payload = Buffer.concat([Buffer.from('zz\r\n'), body]);
        return;
      case 'chunked-and-length':
        head.push('Transfer-Encoding: chunked', `Content-Length: ${body.length}`);
        return;
    }
  };
  length(r.length);
  return Buffer.concat([Buffer.from(`${head.map(oneLine).join('\r\n')}\r\n\r\n`, 'utf8'), payload]);
}

test('any HTTP request or upgrade is answered below 500, names no internals, and leaves the host serving', async () => {
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const bytes = encode(r);
      // Half-closed at once where the answer is written in the same tick (upgrades) or where
      // the body is cut short on purpose; else read as a client would, to the server's close.
      const endAfterMs = r.upgrade !== null || r.length === 'longer' ? 0 : 1000;
      const answer = await exchangeBytes(port, bytes, { localAddress: `127.0.0.${r.from}`, endAfterMs });
      const sent = bytes.toString('latin1');
      const statuses = statusesOf(answer);
      const what = `${r.method} ${r.path.slice(0, 200)}`;
      assert.ok(
        statuses.every((s) => s < 500),
        `${what} -> ${statuses.join(', ')}: ${answer.slice(0, 600)}`,
      );
      const leak = leakIn(answer, sent);
      assert.equal(leak, undefined, `${what} -> ${answer.slice(0, 600)}`);
      await hostIsWell(what);
    }),
    fuzzParams(600),
  );
});

// Websocket frames ----------------------------------------------------------------------------

/** Close codes a client earns with a bad frame: protocol error, bad UTF-8, frame over 64 KiB. */
const CLIENT_FAULT_CLOSES = new Set([1002, 1007, 1009]);
const SENTINEL = { type: 'subscribe', flow: 'hello', run: 'fuzz-sentinel' };

type Frame = { text: string } | { binary: Buffer } | { badText: Buffer };
const frame: fc.Arbitrary<Frame> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.oneof(jsonText(subscribeBody), jsonText(pushBody), fc.constantFrom(...SPECIAL_TEXTS)).map((text) => ({ text })),
  },
  fc.string({ maxLength: 60 }).map((text) => ({ text })),
  fc.string({ unit: 'binary', maxLength: 60 }).map((text) => ({ text })),
  fc.uint8Array({ maxLength: 60 }).map((b) => ({ binary: Buffer.from(b) })),
  fc.constantFrom({ badText: Buffer.from([0xff, 0xfe, 0x7b]) }, { text: 'x'.repeat(70_000) }),
);

/** Opens a socket as admin, sends `frames` then the sentinel, and returns what came back. */
function exchangeFrames(frames: Frame[]): Promise<{ texts: string[]; close?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${h.api}/ws`, { headers: { 'X-Floe-Auth': ADMIN } });
    const texts: string[] = [];
    let settled = false;
    const done = (close?: number): void => {
      if (settled) return;
      settled = true;
      ws.terminate();
      resolve({ texts, close });
    };
    ws.on('error', (err) => (settled ? undefined : ws.readyState === WebSocket.CONNECTING ? reject(err) : undefined));
    ws.on('close', (code) => done(code));
    ws.on('message', (data) => {
      const text = String(data);
      texts.push(text);
      if (text.includes('"run":"fuzz-sentinel"')) done();
    });
    ws.on('open', () => {
      for (const f of frames) {
        if ('text' in f) ws.send(f.text);
        else if ('binary' in f) ws.send(f.binary, { binary: true });
        else ws.send(f.badText, { binary: false });
      }
      ws.send(JSON.stringify(SENTINEL));
    });
  });
}

test('any websocket frames are answered with frames that name no internals, or a close the client earned', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 4 }), async (frames) => {
      const { texts, close } = await exchangeFrames(frames);
      const sent = frames.map((f) => ('text' in f ? f.text : '')).join('\n');
      if (close !== undefined)
        assert.ok(CLIENT_FAULT_CLOSES.has(close), `closed with ${close} after ${JSON.stringify(frames).slice(0, 300)}`);
      for (const t of texts) {
        assert.doesNotMatch(t, /internal error/, t);
        assert.equal(leakIn(t, sent), undefined, t.slice(0, 600));
      }
      await hostIsWell('websocket frames');
    }),
    fuzzParams(200),
  );
});
