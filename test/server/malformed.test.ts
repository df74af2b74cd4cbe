import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { ADMIN, startApiHost, type ApiHost, type Reply } from './harness.js';
import { firstItem } from '../items.js';

const YAML = `
flows:
  - id: build
    triggers:
      - { name: start, type: data, opts: { form: { title: Go, fields: [{ id: msg, prompt: Msg, type: text, value: hi }, { id: n, prompt: N, type: int, value: '1' }] } } }
      - { name: nightly, type: timer, opts: { period: 3600 } }
    tasks:
      - { name: say, listen: trigger.good, type: exec, opts: { shell: 'echo "msg=$FLOE_MSG"' } }
      - { name: done, listen: task.say.good, type: end }
  - id: approve
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: ask, listen: trigger.good, type: data, opts: { form: { title: Ok?, fields: [{ id: ok, prompt: OK, type: bool }] } } }
      - { name: done, listen: task.ask.good, type: end }
`;

interface Row {
  name: string;
  method: string;
  /** Relative to base-url; `{build}`, `{approve}` become run ids made before the table. */
  path: string;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  message: RegExp;
}

const BIG = JSON.stringify({ ref: { id: 'build' }, pad: 'x'.repeat(1024 * 1024) });

const push = (body: unknown): Pick<Row, 'method' | 'path' | 'body'> => ({ method: 'POST', path: '/push/data', body });

const ROWS: Row[] = [
  { name: 'a body that is not JSON', ...push('{"ref": {"id": "build"'), status: 400, message: /malformed JSON body/ },
  { name: 'an empty body', ...push(''), status: 400, message: /body is empty; expected a JSON object/ },
  { name: 'a JSON array instead of an object', ...push('[]'), status: 400, message: /body must be a JSON object, got an array/ },
  { name: 'a JSON number instead of an object', ...push('42'), status: 400, message: /body must be a JSON object, got number 42/ },
  { name: 'JSON null instead of an object', ...push('null'), status: 400, message: /body must be a JSON object, got null/ },
  {
    name: 'a JSON string instead of an object',
    ...push('"build"'),
    status: 400,
    message: /body must be a JSON object, got string "build"/,
  },
  { name: 'no ref', ...push({ form: { id: 'start' } }), status: 400, message: /body\.ref must be a JSON object, got nothing/ },
  { name: 'ref as a string', ...push({ ref: 'build' }), status: 400, message: /body\.ref must be a JSON object, got string "build"/ },
  { name: 'ref.id missing', ...push({ ref: { ver: 1 } }), status: 400, message: /body\.ref\.id must be a non-empty string, got nothing/ },
  {
    name: 'ref.ver as a string',
    ...push({ ref: { id: 'build', ver: '1' } }),
    status: 400,
    message: /body\.ref\.ver must be an integer, got string "1"/,
  },
  {
    name: 'ref.ver a fraction',
    ...push({ ref: { id: 'build', ver: 1.5 } }),
    status: 400,
    message: /body\.ref\.ver must be an integer, got number 1\.5/,
  },
  {
    name: 'form as an array',
    ...push({ ref: { id: 'build' }, form: [] }),
    status: 400,
    message: /body\.form must be a JSON object, got an array/,
  },
  {
    name: 'form.values as an array',
    ...push({ ref: { id: 'build' }, form: { values: [] } }),
    status: 400,
    message: /body\.form\.values must be a JSON object .*got an array/,
  },
  {
    name: 'form.values as a string',
    ...push({ ref: { id: 'build' }, form: { values: 'msg=x' } }),
    status: 400,
    message: /body\.form\.values must be a JSON object .*got string "msg=x"/,
  },
  {
    name: 'a value that is a nested object',
    ...push({ ref: { id: 'build' }, form: { values: { msg: { deep: 1 } } } }),
    status: 400,
    message: /body\.form\.values\.msg must be a string, number or boolean, got an object/,
  },
  {
    name: 'a value that is a list',
    ...push({ ref: { id: 'build' }, form: { values: { msg: ['a'] } } }),
    status: 400,
    message: /body\.form\.values\.msg must be a string, number or boolean, got an array/,
  },
  {
    name: 'a value that is null',
    ...push({ ref: { id: 'build' }, form: { values: { msg: null } } }),
    status: 400,
    message: /body\.form\.values\.msg must be a string, number or boolean, got null/,
  },
  {
    name: 'a value the form has no field for',
    ...push({ ref: { id: 'build' }, form: { values: { mgs: 'x' } } }),
    status: 400,
    message: /unknown field "mgs".*did you mean/,
  },
  {
    name: 'a value of the wrong type for its field',
    ...push({ ref: { id: 'build' }, form: { values: { n: 'ten' } } }),
    status: 400,
    message: /"n" must be an integer, got "ten"/,
  },
  {
    name: 'a long string where an object belongs, quoted only in part',
    ...push({ ref: { id: 'build' }, form: { values: 'v'.repeat(100_000) } }),
    status: 400,
    message: /got string "v{20,40}\.\.\.$/,
  },
  {
    name: 'a query parameter on a route that takes none',
    method: 'POST',
    path: '/push/data?debug=1',
    body: { ref: { id: 'build' } },
    status: 400,
    message: /unknown query parameter "debug" \(it takes none\)/,
  },
  {
    name: 'run as a number',
    ...push({ ref: { id: 'build' }, run: 5, form: { id: 'ask' } }),
    status: 400,
    message: /body\.run must be a non-empty string, got number 5/,
  },
  {
    name: 'run without form.id',
    ...push({ ref: { id: 'approve' }, run: '{approve}' }),
    status: 400,
    message: /body\.form\.id must name the data node/,
  },
  { name: 'push to an unknown flow', ...push({ ref: { id: 'nope', ver: 1 } }), status: 404, message: /no flow nope version 1/ },
  { name: 'an unknown version of a flow', ...push({ ref: { id: 'build', ver: 9 } }), status: 404, message: /no flow build version 9/ },
  {
    name: 'an unknown trigger id',
    ...push({ ref: { id: 'build' }, form: { id: 'go' } }),
    status: 404,
    message: /no data trigger go \(its data triggers: start\)/,
  },
  {
    name: 'a trigger id that is not a data trigger',
    ...push({ ref: { id: 'build' }, form: { id: 'nightly' } }),
    status: 404,
    message: /trigger nightly is a timer trigger, not a data trigger/,
  },
  {
    name: 'an answer to an unknown run',
    ...push({ ref: { id: 'approve' }, run: 'h1-999', form: { id: 'ask' } }),
    status: 404,
    message: /no run h1-999 of flow approve/,
  },
  {
    name: 'a run of another flow',
    ...push({ ref: { id: 'build' }, run: '{approve}', form: { id: 'ask' } }),
    status: 404,
    message: /it is a run of flow approve/,
  },
  {
    name: 'an unknown data node of a run',
    ...push({ ref: { id: 'approve' }, run: '{approve}', form: { id: 'nope' } }),
    status: 404,
    message: /run h1-\d+ has no node nope/,
  },
  {
    name: 'an answer to a node that is not a data node',
    ...push({ ref: { id: 'approve' }, run: '{approve}', form: { id: 'done' } }),
    status: 400,
    message: /node done is a end node, not a data node/,
  },
  {
    name: 'an answer with a nested value',
    ...push({ ref: { id: 'approve' }, run: '{approve}', form: { id: 'ask', values: { ok: { v: true } } } }),
    status: 400,
    message: /body\.form\.values\.ok must be a string, number or boolean/,
  },
  {
    name: 'an answer to a run that has ended',
    ...push({ ref: { id: 'build' }, run: '{build}', form: { id: 'say' } }),
    status: 409,
    message: /run h1-\d+ has already ended \(good\)/,
  },
  { name: 'a body over 1 MiB, streamed', ...push(BIG), status: 413, message: /body is over the limit of 1048576 bytes/ },
  {
    name: 'a body over 1 MiB, with its length declared',
    ...push(BIG),
    headers: { 'Content-Length': String(BIG.length) },
    status: 413,
    message: new RegExp(`body of ${BIG.length} bytes is over the limit of 1048576`),
  },
  {
    name: 'a body that is not JSON by content-type',
    ...push('ref=build'),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    status: 400,
    message: /body must be JSON \(Content-Type: application\/json\), got application\/x-www-form-urlencoded/,
  },
  {
    name: 'text/plain content-type',
    ...push('{}'),
    headers: { 'Content-Type': 'text/plain' },
    status: 400,
    message: /body must be JSON.*got text\/plain/,
  },
  { name: 'an unknown route', method: 'GET', path: '/nope', status: 404, message: /no route GET \/build\/api\/nope/ },
  { name: 'a route under an unknown flow sub-path', method: 'GET', path: '/flows/build/nope', status: 404, message: /no route GET/ },
  {
    name: 'the wrong method on push/data',
    method: 'GET',
    path: '/push/data',
    status: 405,
    message: /GET is not allowed on \/build\/api\/push\/data \(allowed: POST\)/,
  },
  {
    name: 'the wrong method on a flow',
    method: 'DELETE',
    path: '/flows/build',
    status: 405,
    message: /DELETE is not allowed .*allowed: .*GET/,
  },
  { name: 'GET of an unknown flow', method: 'GET', path: '/flows/nope', status: 404, message: /no flow nope/ },
  {
    name: 'a flow version that is not a number',
    method: 'GET',
    path: '/flows/build?ver=one',
    status: 400,
    message: /query parameter ver must be an integer, got "one"/,
  },
  {
    name: 'a limit that is not a number',
    method: 'GET',
    path: '/flows/build?limit=abc',
    status: 400,
    message: /query parameter limit must be an integer, got "abc"/,
  },
  {
    name: 'a huge limit',
    method: 'GET',
    path: '/flows/build?limit=1000000',
    status: 400,
    message: /query parameter limit must be between 1 and 500, got 1000000/,
  },
  {
    name: 'a limit past any safe integer',
    method: 'GET',
    path: '/flows/build?limit=99999999999999999999999',
    status: 400,
    message: /query parameter limit must be between 1 and 500/,
  },
  {
    name: 'a zero limit',
    method: 'GET',
    path: '/flows/build?limit=0',
    status: 400,
    message: /query parameter limit must be between 1 and 500, got 0/,
  },
  {
    name: 'a negative before',
    method: 'GET',
    path: '/flows/build?before=-5',
    status: 400,
    message: /query parameter before must be between 0 and \d+, got -5/,
  },
  {
    name: 'a fractional before',
    method: 'GET',
    path: '/flows/build?before=1.5',
    status: 400,
    message: /query parameter before must be an integer, got "1.5"/,
  },
  {
    name: 'a query parameter given twice',
    method: 'GET',
    path: '/flows/build?limit=5&limit=6',
    status: 400,
    message: /query parameter limit is given 2 times/,
  },
  {
    name: 'an unknown query parameter',
    method: 'GET',
    path: '/flows/build?limt=5',
    status: 400,
    message: /unknown query parameter "limt" \(it takes: ver, limit, before, status\)/,
  },
  {
    name: 'an empty query parameter',
    method: 'GET',
    path: '/flows/build?limit=',
    status: 400,
    message: /query parameter limit must not be empty/,
  },
  { name: 'GET of an unknown run', method: 'GET', path: '/flows/build/runs/h1-999', status: 404, message: /no run h1-999 in flow build/ },
  {
    name: 'a run id of another flow',
    method: 'GET',
    path: '/flows/build/runs/{approve}',
    status: 404,
    message: /no run h1-\d+ in flow build \(it is a run of flow approve\)/,
  },
  { name: 'a run of an unknown flow', method: 'GET', path: '/flows/nope/runs/{build}', status: 404, message: /no run h1-\d+ in flow nope/ },
  {
    name: 'tail and from together',
    method: 'GET',
    path: '/flows/build/runs/{build}?tail=5&from=0',
    status: 400,
    message: /either tail, or from and limit/,
  },
  {
    name: 'a huge tail',
    method: 'GET',
    path: '/flows/build/runs/{build}?tail=100000000',
    status: 400,
    message: /query parameter tail must be between 0 and 5000/,
  },
  {
    name: 'a negative from',
    method: 'GET',
    path: '/flows/build/runs/{build}?from=-1&limit=5',
    status: 400,
    message: /query parameter from must be between 0/,
  },
  {
    name: 'an output limit of zero',
    method: 'GET',
    path: '/flows/build/runs/{build}?from=0&limit=0',
    status: 400,
    message: /query parameter limit must be between 1 and 5000/,
  },
  {
    name: 'cancel of an archived run',
    method: 'POST',
    path: '/flows/build/runs/{build}/cancel',
    status: 409,
    message: /run h1-\d+ has already ended \(good\)/,
  },
  {
    name: 'cancel of an unknown run',
    method: 'POST',
    path: '/flows/build/runs/h1-999/cancel',
    status: 404,
    message: /no run h1-999 in flow build/,
  },
  {
    name: 'cancel of a run of another flow',
    method: 'POST',
    path: '/flows/build/runs/{approve}/cancel',
    status: 404,
    message: /it is a run of flow approve/,
  },
  {
    name: 'rerun of an unknown run',
    method: 'POST',
    path: '/flows/build/runs/h1-999/rerun',
    status: 404,
    message: /no run h1-999 in flow build/,
  },
  {
    name: 'cancel with GET',
    method: 'GET',
    path: '/flows/build/runs/{build}/cancel',
    status: 405,
    message: /GET is not allowed .*allowed: POST/,
  },
];

/** Declares a body far over the limit and sends none of it yet: the answer comes at once, without waiting for it. */
function declaredHuge(h: ApiHost, bytes: number): Promise<Reply<{ message: string; payload: unknown }>> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${h.api}/push/data`, {
      method: 'POST',
      headers: { 'X-Floe-Auth': ADMIN, 'Content-Type': 'application/json', 'Content-Length': String(bytes) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text), text });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

test('malformed requests all answer 4xx saying what was wrong, and the host carries on', async (t) => {
  const h = await startApiHost(YAML);
  t.after(() => h.close());
  const hub = h.real.host.hub;
  const build = firstItem(await hub.trigger('build'));
  await h.ended(build.run);
  await hub.whenIdle(); // archived, not only ended
  const approve = firstItem(await hub.trigger('approve'));
  await new Promise<void>((resolve) => {
    const off = hub.subscribe((e) => {
      if (e.kind === 'data-required' && e.ref.run === approve.run) {
        off();
        resolve();
      }
    });
  });
  const ids = { build: build.run, approve: approve.run };
  const fill = (s: string) => s.replace(/\{(build|approve)\}/g, (_, k: 'build' | 'approve') => ids[k]);

  const wrong: string[] = [];
  for (const row of ROWS) {
    const body =
      typeof row.body === 'string' ? fill(row.body) : row.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(row.body)));
    const res = await h.call<{ message: string; payload: unknown }>(row.method, fill(row.path), body, {
      'X-Floe-Auth': ADMIN,
      ...row.headers,
    });
    const envelope = typeof res.body === 'object' && res.body !== null && typeof res.body.message === 'string' && 'payload' in res.body;
    const message = envelope ? res.body.message : res.text;
    if (res.status !== row.status || !envelope || !row.message.test(message) || /\n\s+at /.test(res.text)) {
      wrong.push(`${row.name}: ${row.method} ${row.path} -> ${res.status} ${res.text.slice(0, 300)}`);
    }
  }
  assert.deepEqual(wrong, [], 'rows that did not answer as expected');

  const declared = await declaredHuge(h, 64 * 1024 * 1024);
  assert.equal(declared.status, 413);
  assert.match(declared.body.message, /body of 67108864 bytes is over the limit of 1048576/);

  // Nothing in the table started or changed a run.
  assert.deepEqual(hub.listPending(), []);
  assert.deepEqual(
    hub.listActive().map((r) => r.ref.run),
    [approve.run],
  );
  assert.equal((await hub.findRun(approve.run))?.nodes.ask?.status, 'waiting-data');
  assert.deepEqual(
    (await hub.listArchive()).runs.map((r) => r.ref.run),
    [build.run],
  );

  // The host still works: health, a normal run through the API, and the waiting answer.
  const health = await h.call('GET', '/health');
  assert.equal(health.status, 200);
  const pushed = await h.call('POST', '/push/data', { ref: { id: 'build', ver: 1 }, form: { id: 'start', values: { msg: 'after' } } });
  assert.equal(pushed.status, 200, pushed.text);
  const run = firstItem(pushed.body.payload.runs as string[]);
  assert.equal((await h.ended(run)).status, 'good');
  const answered = await h.call('POST', '/push/data', {
    ref: { id: 'approve' },
    run: approve.run,
    form: { id: 'ask', values: { ok: 'true' } },
  });
  assert.equal(answered.status, 200, answered.text);
  assert.equal((await h.ended(approve.run)).status, 'good');
});
