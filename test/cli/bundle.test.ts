import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OFF_THREAD_CHARS } from '../../src/host/flow-file-thread.js';
import { freePorts } from '../e2e/cluster-harness.js';
import { call } from '../server/harness.js';
import { startEvalHost } from './eval-host.js';

/*
 * bin/floe.js runs the host from one bundled module (bin/build-host.js), not from dist/src's files.
 * Whatever a host reads beside its code (the dashboard, the spawner helper, the trim addon,
 * package.json) must be found from there too: a path relative to a module's own place moves
 * when the module is bundled.
 */

const bundle = fileURLToPath(new URL('../../src/floe.bundle.mjs', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const RUN_BUNDLE = `const { main } = await import(${JSON.stringify(bundle)}); process.exit(await main(process.argv.slice(1)));`;
const ADMIN = 'admin-token-bundle-test';

test('the bundled host finds what lies beside it: the dashboard, the spawner helper, the trim addon, its version, and itself for the flow-file thread', async (t) => {
  assert.ok(existsSync(bundle), `${bundle} is missing: npm run build makes it`);
  const launcher = await readFile(path.join(root, 'bin/floe.js'), 'utf8');
  assert.match(launcher, /dist\/src\/floe\.bundle\.mjs/, 'bin/floe.js runs the bundle');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-bundle-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [port] = await freePorts(1);
  const self = `http://127.0.0.1:${port}`;
  await writeFile(
    path.join(dir, 'floe.yml'),
    `common:\n  store-type: memory\n  hosts: [${self}]\nflows:\n  - id: f\n    triggers: [{ name: start, type: data }]\n    tasks: [{ name: a, listen: trigger.good, type: exec, opts: { cmd: 'true' } }]\n` +
      `  - id: big\n    triggers: [{ name: start, type: data }]\n    flow-file: big.yml\n`,
  );
  // Large enough to be parsed on the flow-file thread, which loads the bundle itself.
  const bigTasks =
    "tasks:\n  - { name: a, listen: trigger.good, type: exec, opts: { cmd: 'true' } }\n  - { name: done, listen: task.a.good, type: end }\n";
  await writeFile(path.join(dir, 'big.yml'), `${bigTasks}# ${'x'.repeat(OFF_THREAD_CHARS)}\n`);
  const { output: log } = await startEvalHost(t, dir, RUN_BUNDLE, ['-conf=floe.yml', `-admin=${ADMIN}`, `-pub_bind=127.0.0.1:${port}`]);

  const app = await call(undefined, `${self}/app/dash`, 'GET');
  assert.equal(app.status, 200, app.text.slice(0, 200));
  assert.match(app.text, /<script[^>]+src="[^"]*\.js"/, 'the built dashboard page');

  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const hosts = await call<{ payload: { hosts: Array<{ self: boolean; version?: string }> } }>(
    undefined,
    `${self}/build/api/hosts`,
    'GET',
    undefined,
    { 'X-Floe-Auth': ADMIN },
  );
  assert.equal(hosts.body.payload.hosts.find((h) => h.self)?.version, pkg.version, 'the version read from package.json');

  const auth = { 'X-Floe-Auth': ADMIN };
  const started = await call<{ payload: { runs: string[] } }>(
    undefined,
    `${self}/build/api/push/data`,
    'POST',
    { ref: { id: 'big' } },
    auth,
  );
  assert.equal(started.status, 200, started.text);
  const runId = started.body.payload.runs[0]!;
  let status = '';
  for (let i = 0; i < 300 && status !== 'good' && status !== 'bad'; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    const run = await call<{ payload: { status: string; reason?: string } }>(
      undefined,
      `${self}/build/api/flows/big/runs/${runId}`,
      'GET',
      undefined,
      auth,
    );
    status = run.body.payload.status;
    assert.notEqual(status, 'bad', run.body.payload.reason);
  }
  assert.equal(status, 'good', 'the run of the large flow-file ended good');
  const text = log.join('');
  assert.match(text, /flow-file parser thread started/, 'it was parsed on the thread, the bundle loaded there');
  assert.doesNotMatch(text, /parsed on the hub thread/);

  // npm install builds both where there is a C compiler; the bundle must find those binaries.
  const helperUsed = existsSync(path.join(root, 'native/build/floe-spawner')) && process.env.FLOE_SPAWNER !== 'node';
  const spawner = log.map((l) => /"spawner":"(\w+)"/.exec(l)?.[1]).find((s) => s !== undefined);
  assert.equal(spawner, helperUsed ? 'helper' : 'node', log.join('\n'));
  const trim = log.map((l) => /"mallocTrim":(true|false)/.exec(l)?.[1]).find((s) => s !== undefined);
  assert.equal(trim, String(existsSync(path.join(root, 'native/build/floe-trim.node'))), log.join('\n'));
});
