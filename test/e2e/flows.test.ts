import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { outputOf, startRealHost } from './harness.js';
import { isAlive, waitGone } from './proc.js';
import { firstItem, itemAt } from '../items.js';

const data = `triggers: [{ name: start, type: data, opts: { form: { title: Go, fields: [{ id: msg, prompt: Msg, type: text, value: hi }] } } }]`;

test('a linear chain of real processes, with output kept per node', async (t) => {
  const h = await startRealHost(`
flows:
  - id: chain
    ${data}
    tasks:
      - { name: one, listen: trigger.good, type: exec, opts: { shell: 'echo first; echo err >&2' } }
      - { name: two, listen: task.one.good, type: exec, opts: { cmd: echo second } }
      - { name: done, listen: task.two.good, type: end }
`);
  t.after(() => h.close());
  const ref = firstItem(await h.host.hub.trigger('chain'));
  assert.equal((await h.ended(ref.run)).status, 'good');
  assert.deepEqual(await outputOf(h, ref.run, 'one'), ['first', 'err']);
  assert.deepEqual(await outputOf(h, ref.run, 'two'), ['second']);
  const streams = (await h.host.hub.getOutput(ref.run, { node: 'one' })).map((l) => l.stream);
  assert.ok(streams.includes('stderr'));
});

test('fork and merge all, merge any, with real processes', async (t) => {
  const h = await startRealHost(`
flows:
  - id: forks
    ${data}
    tasks:
      - { name: a, listen: trigger.good, type: exec, opts: { shell: 'sleep 0.3; echo a >> ./order' } }
      - { name: b, listen: trigger.good, type: exec, opts: { shell: 'echo b >> ./order' } }
      - { name: first, class: merge, type: any, wait: [task.a.good, task.b.good] }
      - { name: on-first, listen: merge.first.good, type: exec, opts: { shell: 'echo any >> ./order' } }
      - { name: all, class: merge, type: all, wait: [task.a.good, task.b.good, task.on-first.good] }
      - { name: after-all, listen: merge.all.good, type: exec, opts: { shell: 'echo all >> ./order' } }
      - { name: done, listen: task.after-all.good, type: end }
`);
  t.after(() => h.close());
  const ref = firstItem(await h.host.hub.trigger('forks'));
  assert.equal((await h.ended(ref.run)).status, 'good');
  const run = await h.host.hub.findRun(ref.run);
  const order = (await readFile(path.join(run!.workspace!, 'order'), 'utf8')).trim().split('\n');
  assert.deepEqual(order, ['b', 'any', 'a', 'all']);
});

test('ignore-fail, use-status and custom good codes decide the emitted tags', async (t) => {
  const h = await startRealHost(`
flows:
  - id: statuses
    ${data}
    tasks:
      - { name: flaky, listen: trigger.good, type: exec, ignore-fail: true, opts: { shell: 'exit 5' } }
      - { name: probe, listen: task.flaky.good, type: exec, use-status: true, opts: { shell: 'exit 3' } }
      - { name: three, listen: task.probe.3, type: exec, good: [0, 7], opts: { shell: 'exit 7' } }
      - { name: done, listen: task.three.good, type: end }
`);
  t.after(() => h.close());
  const ref = firstItem(await h.host.hub.trigger('statuses'));
  assert.equal((await h.ended(ref.run)).status, 'good');
  const tags = h.events.filter((e) => e.kind === 'node' && e.ref.run === ref.run).map((e) => e.tag);
  assert.deepEqual(tags, ['trigger.good', 'task.flaky.good', 'task.probe.3', 'task.three.good']);
  const run = await h.host.hub.findRun(ref.run);
  assert.equal(run?.nodes.flaky?.exitStatus, 5);
  assert.equal(run?.nodes.three?.exitStatus, 7);
});

test('a dangling bad event ends the run at once and kills the process tree still running', async (t) => {
  const h = await startRealHost(`
flows:
  - id: dangling
    ${data}
    tasks:
      - { name: slow, listen: trigger.good, type: exec, opts: { shell: 'sleep 30 & echo $! > ./child.pid; wait' } }
      - { name: boom, listen: trigger.good, type: exec, opts: { shell: 'sleep 0.5; exit 1' } }
`);
  t.after(() => h.close());
  const started = Date.now();
  const ref = firstItem(await h.host.hub.trigger('dangling'));
  const end = await h.ended(ref.run);
  assert.equal(end.status, 'bad');
  assert.match(end.reason ?? '', /task\.boom\.bad/);
  assert.ok(Date.now() - started < 20_000, 'did not wait for the 30s sleep');
  const run = await h.host.hub.findRun(ref.run);
  const childPid = Number(await readFile(path.join(run!.workspace!, 'child.pid'), 'utf8'));
  assert.ok(await waitGone(childPid), 'the background sleep of the killed task is gone too');
});

test('a dangling good event ends the run good once the other tasks finish', async (t) => {
  const h = await startRealHost(`
flows:
  - id: dangling-good
    ${data}
    tasks:
      - { name: quick, listen: trigger.good, type: exec, opts: { cmd: 'true' } }
      - { name: slow, listen: trigger.good, type: exec, opts: { shell: 'sleep 0.5; echo slow done' } }
`);
  t.after(() => h.close());
  const ref = firstItem(await h.host.hub.trigger('dangling-good'));
  assert.equal((await h.ended(ref.run)).status, 'good');
  assert.deepEqual(await outputOf(h, ref.run, 'slow'), ['slow done']);
});

test('env, {{ws}}, leading ./ and trigger values expand; values reach the shell quoted', async (t) => {
  const h = await startRealHost(`
flows:
  - id: env
    env: ['OUT=./out', 'WS_COPY={{ws}}', 'MSG_COPY={{msg}}']
    ${data}
    tasks:
      - name: show
        listen: trigger.good
        type: exec
        opts:
          shell: 'echo "out=$OUT ws=$WS_COPY msg=$MSG_COPY env=$FLOE_MSG"; echo {{msg}}; echo {{ws}}'
      - { name: done, listen: task.show.good, type: end }
`);
  t.after(() => h.close());
  const evil = `it's $(touch pwned) ; touch pwned2 \`touch pwned3\``;
  const ref = firstItem(await h.host.hub.trigger('env', { values: { msg: evil } }));
  assert.equal((await h.ended(ref.run)).status, 'good');
  const ws = (await h.host.hub.findRun(ref.run))!.workspace!;
  const out = await outputOf(h, ref.run, 'show');
  assert.deepEqual(out, [`out=${ws}/out ws=${ws} msg=${evil} env=${evil}`, evil, ws]);
  for (const f of ['pwned', 'pwned2', 'pwned3']) assert.ok(!existsSync(path.join(ws, f)), `${f} must not exist`);
});

test('sub-dir runs a task inside the workspace folder it names', async (t) => {
  const h = await startRealHost(`
flows:
  - id: subdir
    ${data}
    tasks:
      - { name: mk, listen: trigger.good, type: exec, opts: { shell: 'mkdir -p src/app' } }
      - { name: where, listen: task.mk.good, type: exec, opts: { cmd: pwd, sub-dir: src/app } }
      - { name: done, listen: task.where.good, type: end }
`);
  t.after(() => h.close());
  const ref = firstItem(await h.host.hub.trigger('subdir'));
  assert.equal((await h.ended(ref.run)).status, 'good');
  const ws = (await h.host.hub.findRun(ref.run))!.workspace!;
  assert.deepEqual(await outputOf(h, ref.run, 'where'), [path.join(await realpath(ws), 'src/app')]);
});

test('a data node answered mid-run passes its values to the tasks after it', async (t) => {
  const h = await startRealHost(`
flows:
  - id: approve
    ${data}
    tasks:
      - { name: build, listen: trigger.good, type: exec, opts: { cmd: echo built } }
      - name: Sign Off
        listen: task.build.good
        type: data
        opts: { form: { title: Ship?, fields: [{ id: ok, prompt: OK, type: bool }, { id: note, prompt: Note, type: text }] } }
      - { name: ship, listen: task.sign-off.good, type: exec, opts: { shell: 'echo ok={{sign-off.ok}} note={{sign-off.note}}' } }
      - { name: done, listen: task.ship.good, type: end }
`);
  t.after(() => h.close());
  const ref = firstItem(await h.host.hub.trigger('approve'));
  await new Promise<void>((resolve) => {
    const check = () => h.events.some((e) => e.kind === 'data-required' && e.ref.run === ref.run);
    if (check()) return resolve();
    const off = h.host.hub.subscribe((e) => {
      if (e.kind === 'data-required' && e.ref.run === ref.run) {
        off();
        resolve();
      }
    });
  });
  await h.host.hub.answerData(ref.run, 'sign-off', { ok: true, note: 'ship it; rm -rf /' }, 'carol');
  assert.equal((await h.ended(ref.run)).status, 'good');
  assert.deepEqual(await outputOf(h, ref.run, 'ship'), ['ok=true note=ship it; rm -rf /']);
  assert.equal((await h.host.hub.findRun(ref.run))?.nodes['sign-off']?.answeredBy, 'carol');
});

test('runs sharing a resource tag never overlap, and start in arrival order', async (t) => {
  const h = await startRealHost(`
flows:
  - id: deploy-a
    resource-tags: [prod-db]
    ${data}
    tasks:
      - { name: work, listen: trigger.good, type: exec, opts: { shell: 'date +%s%N; sleep 0.4; date +%s%N' } }
  - id: deploy-b
    resource-tags: [prod-db, cdn]
    ${data}
    tasks:
      - { name: work, listen: trigger.good, type: exec, opts: { shell: 'date +%s%N; sleep 0.4; date +%s%N' } }
`);
  t.after(() => h.close());
  const runs = [
    ...(await h.host.hub.trigger('deploy-a')),
    ...(await h.host.hub.trigger('deploy-b')),
    ...(await h.host.hub.trigger('deploy-a')),
  ];
  const spans: Array<[number, number]> = [];
  for (const r of runs) {
    assert.equal((await h.ended(r.run)).status, 'good');
    const [s, e] = (await outputOf(h, r.run, 'work')).map((x) => Number(BigInt(x) / 1000n));
    assert.ok(s !== undefined && e !== undefined, `run ${r.run} printed its start and end`);
    spans.push([s, e]);
  }
  for (const [i, [start]] of spans.entries()) {
    const prevEnd = spans[i - 1]?.[1];
    if (prevEnd !== undefined) assert.ok(start >= prevEnd, `run ${i} started (${start}us) before run ${i - 1} ended (${prevEnd}us)`);
  }
  const waits = h.events.filter((e) => e.kind === 'pend-waiting').map((e) => (e.kind === 'pend-waiting' ? e.reason : ''));
  assert.ok(
    waits.some((w) => /holds resource tag prod-db/.test(w)),
    waits.join('\n'),
  );
});

test('reuse-space runs share one workspace, one at a time', async (t) => {
  const h = await startRealHost(`
flows:
  - id: shared
    reuse-space: true
    ${data}
    tasks:
      - { name: count, listen: trigger.good, type: exec, opts: { shell: 'echo x >> ./runs; sleep 0.2; wc -l < ./runs' } }
`);
  t.after(() => h.close());
  const a = firstItem(await h.host.hub.trigger('shared'));
  const b = firstItem(await h.host.hub.trigger('shared'));
  await h.ended(a.run);
  await h.ended(b.run);
  const wa = (await h.host.hub.findRun(a.run))!.workspace;
  const wb = (await h.host.hub.findRun(b.run))!.workspace;
  assert.equal(wa, wb);
  assert.match(wa!, /shared\/single$/);
  assert.deepEqual(
    [...(await outputOf(h, a.run, 'count')), ...(await outputOf(h, b.run, 'count'))].map((s) => s.trim()),
    ['1', '2'],
  );
});

test('cancel kills a running process tree and archives the run cancelled', async (t) => {
  const h = await startRealHost(`
flows:
  - id: long
    ${data}
    tasks:
      - { name: sleep, listen: trigger.good, type: exec, opts: { shell: 'echo $$ > ./pid; sleep 60' } }
`);
  t.after(() => h.close());
  const ref = firstItem(await h.host.hub.trigger('long'));
  await new Promise<void>((resolve) => {
    const off = h.host.hub.subscribe((e) => {
      if (e.kind === 'node-start' && e.ref.run === ref.run) {
        off();
        resolve();
      }
    });
  });
  const ws = (await h.host.hub.findRun(ref.run))!.workspace!;
  const pidFile = path.join(ws, 'pid');
  for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
  const pid = Number(await readFile(pidFile, 'utf8'));
  assert.ok(isAlive(pid));
  await h.host.hub.cancel(ref.run, 'dave');
  const end = await h.ended(ref.run);
  assert.deepEqual(end, { status: 'cancelled', reason: 'cancelled by dave' });
  assert.ok(await waitGone(pid), 'the shell is gone');
});

test('a flow-file supplies the tasks when a run starts', async (t) => {
  const h = await startRealHost(`
flows:
  - id: jenkinsfile
    ${data}
    flow-file: build/flow.yml
`);
  t.after(() => h.close());
  await mkdir(path.join(h.dir, 'build'));
  await writeFile(
    path.join(h.dir, 'build/flow.yml'),
    `tasks:
  - { name: hello, listen: trigger.good, type: exec, opts: { shell: 'echo from flow-file {{msg}}' } }
  - { name: done, listen: task.hello.good, type: end }
`,
  );
  const ref = firstItem(await h.host.hub.trigger('jenkinsfile', { values: { msg: 'yes' } }));
  assert.equal((await h.ended(ref.run)).status, 'good');
  assert.deepEqual(await outputOf(h, ref.run, 'hello'), ['from flow-file yes']);
  await writeFile(
    path.join(h.dir, 'build/flow.yml'),
    `tasks:\n  - { name: x, listen: task.nope.good, type: exec, opts: { cmd: 'true' } }\n`,
  );
  const bad = firstItem(await h.host.hub.trigger('jenkinsfile'));
  const end = await h.ended(bad.run);
  assert.equal(end.status, 'bad');
  assert.match(end.reason ?? '', /flow\.yml:2:\d+/);
});

test('a git flow-file refuses a ref that could be a git option or refspec', async () => {
  const { LocalFlowFiles } = await import('../../src/host/flow-files.js');
  const { createNodeRegistry } = await import('../../src/nodes/index.js');
  const h = await startRealHost(`
flows:
  - id: gitflow
    triggers: [{ name: start, type: data, opts: { form: { title: Go, fields: [{ id: ref, prompt: Ref, type: text }] } } }]
    flow-file: file:///nowhere/repo.git/floe.yml
`);
  try {
    const loader = new LocalFlowFiles(createNodeRegistry(), h.dir);
    const flow = itemAt(h.host.config.flows, 0);
    for (const ref of ['--upload-pack=touch /tmp/x', 'main:refs/heads/evil', '+main']) {
      await assert.rejects(loader.load(flow, { ref }, h.host.config), /ref .* (must not start with -|is not a valid)/, ref);
    }
  } finally {
    await h.close();
  }
});
