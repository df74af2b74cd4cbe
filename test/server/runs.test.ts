import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { startCluster } from '../cluster/fakes.js';
import { firstItem } from '../items.js';
import { ADMIN, call, startApiHost, type ApiHost } from './harness.js';
import { serveClusterHost } from './serve-cluster.js';

const SHIP_FORM = { title: 'Ship?', fields: [{ id: 'ok', prompt: 'OK', type: 'bool' }] };

const YAML = `
flows:
  - id: approve
    triggers: [{ name: start, type: data }]
    tasks:
      - name: Sign Off
        listen: trigger.good
        type: data
        opts: { form: { title: Ship?, fields: [{ id: ok, prompt: OK, type: bool }] } }
      - { name: ship, listen: task.sign-off.good, type: exec, opts: { cmd: 'true' } }
      - { name: done, listen: task.ship.good, type: end }
  - id: quick
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: done, listen: trigger.good, type: end }
  - id: fail
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: work, listen: trigger.good, type: exec, opts: { shell: 'exit 3' } }
  - id: slow
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: wait, listen: trigger.good, type: exec, opts: { cmd: sleep 30 } }
`;

interface Summary {
  ref: { flowRef: { id: string }; run: string };
  status: string;
  endTime?: number;
  progress?: { done: number; total: number };
  dataWaiting?: Array<{ node: string; name: string; form: unknown; since: number }>;
}

interface Listing {
  pending: Summary[];
  active: Summary[];
  archive: Summary[];
  next?: number | string;
  unreachable: unknown[];
}

async function start(t: { after(fn: () => Promise<void>): void }): Promise<ApiHost> {
  const h = await startApiHost(YAML);
  t.after(() => h.close());
  return h;
}

/** Polls GET /runs until `done` holds. */
async function pollRuns(h: ApiHost, done: (l: Listing) => boolean): Promise<Listing> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await h.call('GET', '/runs');
    assert.equal(res.status, 200, res.text);
    const l = res.body.payload as Listing;
    if (done(l)) return l;
    if (Date.now() > deadline) assert.fail(`never got there; last seen: ${JSON.stringify(l).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every archived run of `path` (a listing route with its query), page by page. */
async function allPages(h: ApiHost, path: string, archiveOf: (p: Record<string, unknown>) => Summary[]): Promise<string[][]> {
  const pages: string[][] = [];
  let before: string | undefined;
  do {
    const res = await h.call('GET', `${path}${before === undefined ? '' : `&before=${encodeURIComponent(before)}`}`);
    assert.equal(res.status, 200, res.text);
    pages.push(archiveOf(res.body.payload).map((s) => s.ref.run));
    before = res.body.payload.next === undefined ? undefined : String(res.body.payload.next);
  } while (before !== undefined && pages.length < 50);
  return pages;
}

test('GET /runs lists the runs of every flow; an active one with its progress and the data nodes waiting for input', async (t) => {
  const h = await start(t);
  const hub = h.real.host.hub;
  const quick = firstItem(await hub.trigger('quick'));
  const fail = firstItem(await hub.trigger('fail'));
  for (const r of [quick, fail]) await h.ended(r.run);
  const run = firstItem(await hub.trigger('approve')).run;

  const l = await pollRuns(h, (x) => x.active.some((s) => (s.dataWaiting ?? []).length > 0));
  const active = firstItem(l.active);
  const detail = (await h.call('GET', `/flows/approve/runs/${run}`)).body.payload;
  const asking = detail.nodes.find((n: { id: string }) => n.id === 'sign-off');
  assert.equal(active.ref.run, run);
  // sign-off and ship can run; the end node only ends the run.
  assert.deepEqual(active.progress, { done: 0, total: 2 });
  const waiting = [{ node: 'sign-off', name: 'Sign Off', form: SHIP_FORM, since: asking.startTime }];
  assert.deepEqual(active.dataWaiting, waiting);
  assert.deepEqual(detail.dataWaiting, waiting, 'the run detail lists the same');
  assert.deepEqual(new Set(l.archive.map((s) => s.ref.run)), new Set([quick.run, fail.run]));
  assert.deepEqual([l.pending, l.next, l.unreachable], [[], undefined, []]);
  const flow = (await h.call('GET', '/flows/approve')).body.payload;
  assert.deepEqual(flow.runs.active, l.active, 'GET /flows/:id lists it alike');

  const answered = await h.call('POST', '/push/data', { ref: { id: 'approve' }, run, form: { id: 'sign-off', values: { ok: true } } });
  assert.equal(answered.status, 200, answered.text);
  assert.equal((await h.ended(run)).status, 'good');
  const ended = await pollRuns(h, (x) => x.active.length === 0);
  const archived = ended.archive.find((s) => s.ref.run === run);
  assert.ok(archived && !('progress' in archived) && !('dataWaiting' in archived), 'an ended run has neither');
});

test('?status= filters the archive of GET /runs and GET /flows/:id; pages go on with next and before', async (t) => {
  const h = await start(t);
  const hub = h.real.host.hub;
  const ended: Array<{ run: string; status: string }> = [];
  for (const flow of ['quick', 'fail', 'quick', 'slow', 'fail', 'quick', 'fail', 'quick']) {
    const { run } = firstItem(await hub.trigger(flow));
    if (flow === 'slow') {
      await pollRuns(h, (x) => x.active.some((s) => s.ref.run === run));
      assert.equal((await h.call('POST', `/flows/slow/runs/${run}/cancel`)).status, 200);
    }
    ended.unshift({ run, status: (await h.ended(run)).status });
    await hub.whenIdle();
  }
  const of = (...statuses: string[]) => ended.filter((r) => statuses.includes(r.status)).map((r) => r.run);
  assert.deepEqual(of('cancelled').length, 1);

  const pages = await allPages(h, '/runs?status=bad,cancelled&limit=2', (p) => p.archive as Summary[]);
  assert.deepEqual(pages.flat(), of('bad', 'cancelled'), 'newest first, each once');
  assert.deepEqual(
    pages.map((p) => p.length),
    [2, 2],
  );
  const good = await allPages(h, '/flows/quick?status=good&limit=3', (p) => (p.runs as Listing).archive);
  assert.deepEqual(good.flat(), of('good'));
  assert.deepEqual(await allPages(h, '/flows/quick?status=bad', (p) => (p.runs as Listing).archive), [[]]);
  assert.deepEqual(
    (await allPages(h, '/runs?status=good,bad,good,cancelled', (p) => p.archive as Summary[])).flat(),
    of('good', 'bad', 'cancelled'),
  );
});

test('a bad status, or a query parameter GET /runs does not take, is a 400 naming the parameter', async (t) => {
  const h = await start(t);
  const allowed = 'query parameter status must be one or more of good, bad, cancelled, comma separated, got';
  const cases: Array<[string, string]> = [
    ['/runs?status=running', `${allowed} "running"`],
    ['/flows/quick?status=bad,', `${allowed} "bad,"`],
    ['/flows/quick?status=Bad', `${allowed} "Bad"`],
    ['/runs?status=', 'query parameter status must not be empty'],
    ['/runs?status=bad&status=good', 'query parameter status is given 2 times; give it once'],
    ['/runs?ver=1', 'unknown query parameter "ver" (it takes: limit, before, status)'],
    ['/runs?limit=501', 'query parameter limit must be between 1 and 500, got 501'],
    ['/runs?before=xyz', 'query parameter before must be the next of a previous page, got "xyz"'],
  ];
  for (const [path, message] of cases) {
    const res = await h.call('GET', path);
    assert.deepEqual([res.status, res.body.message], [400, message], path);
  }
});

test("h1's GET /runs shows a run active on h2 with its progress and the form it waits for", async (t) => {
  const c = await startCluster(
    `
flows:
  - id: gpu
    host-tags: [gpu]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: build, listen: trigger.good, type: sim }
      - name: approve
        listen: task.build.good
        type: data
        opts: { form: { title: Ship?, fields: [{ id: ok, prompt: OK, type: bool }] } }
      - { name: done, listen: task.approve.good, type: end }
`,
    [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }],
  );
  const serving = await serveClusterHost(c, 'h1');
  t.after(async () => {
    await serving.close();
    for (const h of c.hubs.values()) for (const r of h.hub.listActive()) await h.hub.cancel(r.ref.run).catch(() => {});
    await c.stop();
  });
  const ref = firstItem(await c.hub('h1').hub.trigger('gpu'));
  await c.until(() => c.hub('h2').events.some((e) => e.kind === 'data-required' && e.ref.run === ref.run));
  await c.settle(100);

  const api = `${serving.pubUrl}${c.hub('h1').hub.config.common.baseUrl.replace(/\/+$/, '')}`;
  const res = await call<{ payload: Listing }>(new Agent({ keepAlive: false }), `${api}/runs`, 'GET', undefined, { 'X-Floe-Auth': ADMIN });
  assert.equal(res.status, 200, res.text);
  const active = firstItem(res.body.payload.active);
  assert.deepEqual(
    [active.ref.run, active.progress, active.dataWaiting?.map((w) => [w.node, w.name, w.form])],
    [ref.run, { done: 1, total: 2 }, [['approve', 'approve', SHIP_FORM]]],
  );
  assert.deepEqual(res.body.payload.unreachable, []);
});
