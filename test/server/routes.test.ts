import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startApiHost, type ApiHost } from './harness.js';
import { sendRaw } from './raw-http.js';

const FORM = `{ title: Go, fields: [{ id: msg, prompt: Message, type: text, value: hi }, { id: n, prompt: Count, type: int, value: '1' }] }`;

const YAML = `
flows:
  - id: build
    name: Build it
    host-tags: [master]
    resource-tags: [db]
    triggers:
      - { name: start, type: data, opts: { form: ${FORM} } }
      - { name: nightly, type: timer, opts: { period: 3600 } }
    tasks:
      - { name: say, listen: trigger.good, type: exec, opts: { shell: 'echo "msg=$FLOE_MSG n=$FLOE_N"' } }
      - { name: check, listen: trigger.good, type: exec, opts: { cmd: 'true' } }
      - { name: both, class: merge, type: all, wait: [task.say.good, task.check.good] }
      - { name: done, listen: merge.both.good, type: end }
  - id: approve
    triggers: [{ name: start, type: data }]
    tasks:
      - name: sign-off
        listen: trigger.good
        type: data
        opts: { form: { title: Ship?, fields: [{ id: ok, prompt: OK, type: bool, required: true }, { id: note, prompt: Note, type: text }] } }
      - { name: ship, listen: task.sign-off.good, type: exec, opts: { shell: 'echo "ok={{sign-off.ok}} note={{sign-off.note}}"' } }
      - { name: done, listen: task.ship.good, type: end }
  - id: slow
    triggers: [{ name: start, type: data, opts: { form: { title: Slow, fields: [{ id: why, prompt: Why, type: text }] } } }]
    tasks:
      - { name: wait, listen: trigger.good, type: exec, opts: { cmd: sleep 30 } }
  - id: chatty
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: talk, listen: trigger.good, type: exec, opts: { cmd: seq 1 1000 } }
      - { name: done, listen: task.talk.good, type: end }
  - id: quick
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: done, listen: trigger.good, type: end }
`;

interface Summary {
  ref: { flowRef: { id: string; ver: number }; run: string };
  status: string;
  execHost?: string;
  startTime?: number;
  endTime?: number;
  trigger: { id: string; type: string; values: Record<string, string>; by?: string };
}

interface NodeView {
  id: string;
  status: string;
  exitStatus?: number;
  emitted?: string;
  attempts: number;
  answeredBy?: string;
  values?: Record<string, string>;
}

interface Line {
  node: string;
  stream: string;
  line: string;
  n: number;
}

interface Detail extends Summary {
  workspace?: string;
  nodes: NodeView[];
  dataWaiting: Array<{ node: string; form: { title: string } }>;
  output: { lines: Line[]; next?: number };
}

async function start(t: { after(fn: () => Promise<void>): void }): Promise<ApiHost> {
  const h = await startApiHost(YAML);
  t.after(() => h.close());
  return h;
}

async function pushRun(h: ApiHost, body: unknown): Promise<string> {
  const res = await h.call('POST', '/push/data', body);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.payload.runs.length, 1);
  return res.body.payload.runs[0] as string;
}

async function detail(h: ApiHost, flow: string, run: string, query = ''): Promise<Detail> {
  const res = await h.call('GET', `/flows/${flow}/runs/${run}${query}`);
  assert.equal(res.status, 200, res.text);
  return res.body.payload as Detail;
}

/** Polls the run detail until `done` holds (the websocket way is tested elsewhere). */
async function pollDetail(h: ApiHost, flow: string, run: string, done: (d: Detail) => boolean, query = ''): Promise<Detail> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const d = await detail(h, flow, run, query);
    if (done(d)) return d;
    if (Date.now() > deadline) assert.fail(`run ${run} never got there; last seen: ${JSON.stringify(d).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const isEnded = (d: Detail) => d.status === 'good' || d.status === 'bad' || d.status === 'cancelled';

test('GET /flows lists each flow with its triggers and nodes; a timer says when it fires next, and on which host', async (t) => {
  const h = await start(t);
  const before = Date.now();
  const res = await h.call('GET', '/flows');
  const after = Date.now();
  assert.equal(res.status, 200);
  assert.equal(typeof res.body.message, 'string');
  const flows = res.body.payload.flows as Array<{ id: string; triggers: Array<{ nextFire?: number }> }>;
  assert.deepEqual(
    flows.map((f) => f.id),
    ['build', 'approve', 'slow', 'chatty', 'quick'],
  );
  const nextFire = flows[0]?.triggers[1]?.nextFire ?? NaN;
  assert.equal(nextFire % 3_600_000, 0, 'at a multiple of the period since the epoch');
  assert.ok(nextFire > before && nextFire <= after + 3_600_000, `the first such instant after the call: ${nextFire}`);
  assert.deepEqual(flows[0], {
    id: 'build',
    ver: 1,
    name: 'Build it',
    hostTags: ['master'],
    resourceTags: ['db'],
    reuseSpace: false,
    triggers: [
      {
        id: 'start',
        name: 'start',
        type: 'data',
        form: {
          title: 'Go',
          fields: [
            { id: 'msg', prompt: 'Message', type: 'text', value: 'hi' },
            { id: 'n', prompt: 'Count', type: 'int', value: '1' },
          ],
        },
      },
      { id: 'nightly', name: 'nightly', type: 'timer', period: 3600, nextFire, owner: 'h1' },
    ],
    nodes: [
      { id: 'say', name: 'say', class: 'task', type: 'exec', listen: 'trigger.good' },
      { id: 'check', name: 'check', class: 'task', type: 'exec', listen: 'trigger.good' },
      { id: 'both', name: 'both', class: 'merge', wait: ['task.say.good', 'task.check.good'], mergeType: 'all' },
      { id: 'done', name: 'done', class: 'task', type: 'end', listen: 'merge.both.good' },
    ],
  });
});

test('GET /flows/:id shows the config and the runs pending, active and archived; an unknown flow is 404 naming it', async (t) => {
  const h = await start(t);
  const ended = await pushRun(h, { ref: { id: 'quick', ver: 1 } });
  await h.ended(ended);
  await h.real.host.hub.whenIdle(); // archived, not only ended
  const running = await pushRun(h, { ref: { id: 'slow' }, form: { values: { why: 'test' } } });
  await pollDetail(h, 'slow', running, (d) => d.status === 'running');

  const quick = await h.call('GET', '/flows/quick');
  assert.equal(quick.status, 200);
  const { config, runs, next } = quick.body.payload;
  assert.equal(config.id, 'quick');
  assert.deepEqual(config.nodes, [
    {
      id: 'done',
      name: 'done',
      class: 'task',
      type: 'end',
      listen: 'trigger.good',
      opts: {},
      good: [0],
      ignoreFail: false,
      useStatus: false,
    },
  ]);
  assert.deepEqual(runs.pending, []);
  assert.deepEqual(runs.active, []);
  assert.equal(runs.archive.length, 1);
  const s = runs.archive[0] as Summary;
  assert.deepEqual(s.ref, { flowRef: { id: 'quick', ver: 1 }, run: ended });
  assert.equal(s.status, 'good');
  assert.equal(s.execHost, 'h1');
  assert.ok(s.startTime! <= s.endTime!);
  assert.deepEqual(s.trigger, { id: 'start', type: 'data', values: {}, by: 'admin' });
  assert.equal(next, undefined);

  const slow = (await h.call('GET', '/flows/slow?ver=1')).body.payload;
  assert.deepEqual(
    slow.runs.active.map((r: Summary) => [r.ref.run, r.status]),
    [[running, 'running']],
  );
  assert.deepEqual(slow.runs.archive, []);

  const missing = await h.call('GET', '/flows/nope');
  assert.equal(missing.status, 404);
  assert.match(missing.body.message, /no flow nope/);
  assert.equal(missing.body.payload, null);
  const badVer = await h.call('GET', '/flows/quick?ver=7');
  assert.equal(badVer.status, 404);
  assert.match(badVer.body.message, /no flow quick version 7/);
  assert.equal((await h.call('POST', `/flows/slow/runs/${running}/cancel`)).status, 200);
});

test('a flow triggered through push/data is followed to its end by polling the run detail', async (t) => {
  const h = await start(t);
  const run = await pushRun(h, { ref: { id: 'build', ver: 1 }, form: { id: 'start', values: { msg: 'hello world', n: 3 } } });
  // Answered only once persisted: the run is already known to the API.
  const first = await detail(h, 'build', run);
  assert.deepEqual(first.ref, { flowRef: { id: 'build', ver: 1 }, run });

  const d = await pollDetail(h, 'build', run, isEnded);
  assert.equal(d.status, 'good');
  assert.equal(d.execHost, 'h1');
  assert.ok(d.workspace);
  assert.deepEqual(d.trigger, { id: 'start', type: 'data', values: { msg: 'hello world', n: '3' }, by: 'admin' });
  assert.deepEqual(
    d.nodes.map((n) => [n.id, n.status, n.exitStatus, n.emitted, n.attempts]),
    [
      ['say', 'good', 0, 'task.say.good', 1],
      ['check', 'good', 0, 'task.check.good', 1],
      ['both', 'good', undefined, 'merge.both.good', 1],
      ['done', 'good', undefined, undefined, 1],
    ],
  );
  assert.deepEqual(d.dataWaiting, []);
  assert.deepEqual(
    d.output.lines.filter((l) => l.node === 'say').map((l) => [l.stream, l.line]),
    [['stdout', 'msg=hello world n=3']],
  );
  assert.equal(d.output.next, undefined);
});

test("push/data takes floe's capitalised Ref, Form and Values keys", async (t) => {
  const h = await start(t);
  const run = await pushRun(h, { Ref: { Id: 'build', Ver: 1 }, Form: { Id: 'start', Values: { msg: 'caps' } } });
  const d = await pollDetail(h, 'build', run, isEnded);
  assert.equal(d.status, 'good');
  assert.deepEqual(d.trigger.values, { msg: 'caps', n: '1' });
});

test('a data node is answered through push/data with run, and its values reach the next task', async (t) => {
  const h = await start(t);
  const run = await pushRun(h, { ref: { id: 'approve', ver: 1 } });
  const waiting = await pollDetail(h, 'approve', run, (d) => d.dataWaiting.length > 0);
  assert.equal(waiting.status, 'running');
  assert.deepEqual(
    waiting.dataWaiting.map((w) => [w.node, w.form.title]),
    [['sign-off', 'Ship?']],
  );
  assert.equal(waiting.nodes.find((n) => n.id === 'sign-off')?.status, 'waiting-data');

  const res = await h.call('POST', '/push/data', {
    Ref: { Id: 'approve', Ver: 1 },
    Run: run,
    Form: { Id: 'sign-off', Values: { OK: true, note: 'ship it; rm -rf /' } },
  });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.payload, { run, node: 'sign-off' });

  const d = await pollDetail(h, 'approve', run, isEnded);
  assert.equal(d.status, 'good');
  const node = d.nodes.find((n) => n.id === 'sign-off')!;
  assert.equal(node.status, 'good');
  assert.equal(node.answeredBy, 'admin');
  assert.deepEqual(node.values, { ok: 'true', note: 'ship it; rm -rf /' });
  assert.deepEqual(
    d.output.lines.filter((l) => l.node === 'ship').map((l) => l.line),
    ['ok=true note=ship it; rm -rf /'],
  );

  const again = await h.call('POST', '/push/data', { ref: { id: 'approve' }, run, form: { id: 'sign-off', values: { ok: false } } });
  assert.equal(again.status, 409);
  // The detail says good as soon as the run ends; it is archived a moment later.
  assert.match(again.body.message, /already ended \(good\)|is ending \(good\)/);
});

test("values that do not fit the form answer 400 with the form's message, and nothing starts", async (t) => {
  const h = await start(t);
  const bad = await h.call('POST', '/push/data', { ref: { id: 'build', ver: 1 }, form: { id: 'start', values: { n: 'many' } } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /"n" must be an integer, got "many"/);
  assert.deepEqual(h.real.host.hub.listPending('build'), []);
  assert.deepEqual(h.real.host.hub.listActive('build'), []);

  const run = await pushRun(h, { ref: { id: 'approve', ver: 1 } });
  await pollDetail(h, 'approve', run, (d) => d.dataWaiting.length > 0);
  const badAnswer = await h.call('POST', '/push/data', {
    ref: { id: 'approve', ver: 1 },
    run,
    form: { id: 'sign-off', values: { ok: 'perhaps' } },
  });
  assert.equal(badAnswer.status, 400);
  assert.match(badAnswer.body.message, /"ok" must be true or false, got "perhaps"/);
  const missing = await h.call('POST', '/push/data', {
    ref: { id: 'approve', ver: 1 },
    run,
    form: { id: 'sign-off', values: { note: 'no ok' } },
  });
  assert.equal(missing.status, 400);
  assert.match(missing.body.message, /"ok" is required/);
  const still = await detail(h, 'approve', run);
  assert.deepEqual(
    still.dataWaiting.map((w) => w.node),
    ['sign-off'],
  );
  // A run waiting for input can be cancelled too.
  assert.equal((await h.call('POST', `/flows/approve/runs/${run}/cancel`)).status, 200);
  const cancelled = await pollDetail(h, 'approve', run, isEnded);
  assert.equal(cancelled.status, 'cancelled');
  assert.deepEqual(cancelled.dataWaiting, []);
  assert.equal(cancelled.nodes.find((n) => n.id === 'sign-off')?.status, 'stopped');
});

test('cancel of a running run ends it cancelled and kills its process; cancelling again is 409', async (t) => {
  const h = await start(t);
  const run = await pushRun(h, { ref: { id: 'slow', ver: 1 }, form: { values: { why: 'cancel me' } } });
  await pollDetail(h, 'slow', run, (d) => d.nodes.some((n) => n.id === 'wait' && n.status === 'running'));
  const startedAt = Date.now();
  const res = await h.call('POST', `/flows/slow/runs/${run}/cancel`);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.payload, { run });
  const d = await pollDetail(h, 'slow', run, isEnded);
  assert.ok(Date.now() - startedAt < 10_000, 'sleep 30 was killed, not waited for');
  assert.equal(d.status, 'cancelled');
  assert.match((d as Detail & { reason?: string }).reason ?? '', /cancelled by admin/);
  assert.equal(d.nodes[0]?.status, 'stopped');

  const again = await h.call('POST', `/flows/slow/runs/${run}/cancel`);
  assert.equal(again.status, 409);
  assert.match(again.body.message, /already ended \(cancelled\)/);
});

test('rerun starts a new run of the flow with the same trigger values', async (t) => {
  const h = await start(t);
  const run = await pushRun(h, { ref: { id: 'build', ver: 1 }, form: { values: { msg: 'again', n: '7' } } });
  await pollDetail(h, 'build', run, isEnded);
  const res = await h.call('POST', `/flows/build/runs/${run}/rerun`);
  assert.equal(res.status, 200, res.text);
  const [second] = res.body.payload.runs as string[];
  assert.ok(second && second !== run, `a new run id, got ${second}`);
  const d = await pollDetail(h, 'build', second, isEnded);
  assert.equal(d.status, 'good');
  assert.deepEqual(d.trigger.values, { msg: 'again', n: '7' });
  assert.deepEqual(
    d.output.lines.filter((l) => l.node === 'say').map((l) => l.line),
    ['msg=again n=7'],
  );
});

test('output of 1,000 lines: tail gives the last lines, from/limit pages cover each line exactly once', async (t) => {
  const h = await start(t);
  const run = await pushRun(h, { ref: { id: 'chatty', ver: 1 } });
  const ended = await pollDetail(h, 'chatty', run, isEnded, '?tail=1');
  assert.equal(ended.status, 'good');

  const byDefault = await detail(h, 'chatty', run);
  assert.equal(byDefault.output.lines.length, 200, 'the last 200 lines without a query');

  const tail = await detail(h, 'chatty', run, '?tail=10&node=talk');
  assert.deepEqual(
    tail.output.lines.map((l) => l.line),
    ['991', '992', '993', '994', '995', '996', '997', '998', '999', '1000'],
  );
  assert.equal(tail.output.next, undefined);

  const seen: string[] = [];
  let from: number | undefined = 0;
  let pages = 0;
  while (from !== undefined) {
    const page: Detail = await detail(h, 'chatty', run, `?from=${from}&limit=100&node=talk`);
    assert.ok(page.output.lines.length <= 100);
    seen.push(...page.output.lines.map((l) => l.line));
    from = page.output.next;
    pages++;
  }
  assert.equal(pages, 10);
  assert.deepEqual(
    seen,
    Array.from({ length: 1000 }, (_, i) => String(i + 1)),
  );

  const none = await detail(h, 'chatty', run, '?node=nobody');
  assert.deepEqual(none.output.lines, []);
});

test('an archive of 300 runs pages newest first with limit=50, each run exactly once', async (t) => {
  const h = await start(t);
  const hub = h.real.host.hub;
  const refs = (await Promise.all(Array.from({ length: 300 }, () => hub.trigger('quick')))).flat();
  for (const r of refs) assert.equal((await h.ended(r.run)).status, 'good');
  await hub.whenIdle(); // every run archived, not only ended
  const ids = new Set(refs.map((r) => r.run));

  const first = (await h.call('GET', '/flows/quick?limit=50')).body.payload;
  assert.equal(first.runs.archive.length, 50);
  assert.equal(typeof first.next, 'number');

  // Runs archived while a client pages do not shift the pages it has yet to read.
  const later = (await Promise.all(Array.from({ length: 5 }, () => hub.trigger('quick')))).flat();
  for (const r of later) await h.ended(r.run);
  await hub.whenIdle();

  const seen: Summary[] = [...first.runs.archive];
  let before: number | undefined = first.next;
  let pages = 1;
  while (before !== undefined) {
    const res = await h.call('GET', `/flows/quick?limit=50&before=${before}`);
    assert.equal(res.status, 200, res.text);
    const page = res.body.payload;
    assert.ok(page.runs.archive.length <= 50);
    seen.push(...page.runs.archive);
    before = page.next;
    pages++;
  }
  assert.equal(pages, 6);
  const seenIds = seen.map((s) => s.ref.run);
  assert.equal(seenIds.length, 300);
  assert.deepEqual(new Set(seenIds), ids, 'every run exactly once');
  const ended = seen.map((s) => s.endTime!);
  assert.deepEqual(
    ended,
    [...ended].sort((a, b) => b - a),
    'newest first',
  );

  const beyond = (await h.call('GET', '/flows/quick?limit=50&before=1')).body.payload;
  assert.deepEqual(beyond.runs.archive, []);
  assert.equal(beyond.next, undefined);

  const top = (await h.call('GET', '/flows/quick?limit=5')).body.payload;
  assert.deepEqual(new Set(top.runs.archive.map((s: Summary) => s.ref.run)), new Set(later.map((r) => r.run)));
});

test('a method no route takes is 405 on a known path and 404 elsewhere, never a 5xx', async (t) => {
  const h = await start(t);
  const port = Number(new URL(h.url).port);
  const admin = { 'X-Floe-Auth': ADMIN };
  for (const method of ['TRACE', 'PROPFIND', 'PUT', 'PURGE']) {
    const known = await sendRaw(port, method, '/build/api/flows', admin);
    assert.equal(known.status, 405, `${method}: ${known.text}`);
    assert.match(known.text, new RegExp(`${method} is not allowed on /build/api/flows \\(allowed: HEAD, GET\\)`));
    assert.equal((await sendRaw(port, method, '/build/api/nope', admin)).status, 404, method);
    assert.equal((await sendRaw(port, method, '/nope')).status, 404, `${method} outside the base url, without a session`);
  }
});
