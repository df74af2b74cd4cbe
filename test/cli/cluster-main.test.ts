import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../e2e/cluster-harness.js';
import { call } from '../server/harness.js';
import { startEvalHost } from './eval-host.js';

// This build's main (not bin/floe.js, which runs the shared dist/): the flags reach the host.
const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const RUN_MAIN = `const { main } = await import(${JSON.stringify(mainJs)}); process.exit(await main(process.argv.slice(1)));`;

const ADMIN = 'admin-token-cli-cluster';
const CLUSTER = 'cluster-token-cli-7f3a9c';

async function configDir(t: TestContext, hosts: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-cli-cluster-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    path.join(dir, 'floe.yml'),
    `common:\n  store-type: memory\n  hosts: [${hosts.join(', ')}]\nflows:\n  - id: f\n    triggers: [{ name: start, type: data }]\n    tasks: [{ name: a, listen: trigger.good, type: end }]\n`,
  );
  return dir;
}

/** Starts the host; resolves with its URLs once it logs `host started`; everything it prints is kept. */
function startCli(t: TestContext, dir: string, args: string[]): Promise<{ urls: string[]; output: string[] }> {
  return startEvalHost(t, dir, RUN_MAIN, ['-conf=floe.yml', `-admin=${ADMIN}`, ...args]);
}

const GRANTED = { kind: 'granted', tag: 'db', run: 'h9-1' };

test('-cluster_token, -max_runs and -prv_bind reach the host: it is its common.hosts entry, and takes only that token', async (t) => {
  const [port] = await freePorts(1);
  const self = `http://127.0.0.1:${port}`;
  const dir = await configDir(t, [self, 'http://127.0.0.1:9']);
  const h = await startCli(t, dir, ['-pub_bind=127.0.0.1:0', `-prv_bind=127.0.0.1:${port}`, `-cluster_token=${CLUSTER}`, '-max_runs=2']);
  const [pub] = h.urls;
  assert.ok(pub !== undefined && h.urls.includes(self), h.urls.join(' '));
  assert.equal((await call(undefined, `${self}/_floe/p2p`, 'POST', GRANTED, { Authorization: `Bearer ${CLUSTER}` })).status, 200);
  assert.equal((await call(undefined, `${self}/_floe/p2p`, 'POST', GRANTED, { Authorization: `Bearer ${ADMIN}` })).status, 401);
  assert.equal((await call(undefined, `${pub}/_floe/p2p`, 'POST', GRANTED, { Authorization: `Bearer ${CLUSTER}` })).status, 404);
  const hosts = await call<{ payload: { hosts: Array<{ self: boolean; url: string; load?: { maxRuns: number | null } }> } }>(
    undefined,
    `${pub}/build/api/hosts`,
    'GET',
    undefined,
    { 'X-Floe-Auth': ADMIN },
  );
  const me = hosts.body.payload.hosts.find((x) => x.self);
  assert.deepEqual({ url: me?.url, maxRuns: me?.load?.maxRuns }, { url: self, maxRuns: 2 });
  assert.ok(!h.output.join('\n').includes(CLUSTER), 'the cluster token is never printed');
});

test('without -cluster_token the admin token is the cluster token', async (t) => {
  const [port] = await freePorts(1);
  const self = `http://127.0.0.1:${port}`;
  const dir = await configDir(t, [self]);
  await startCli(t, dir, [`-pub_bind=127.0.0.1:${port}`]);
  assert.equal((await call(undefined, `${self}/_floe/p2p`, 'POST', GRANTED, { Authorization: `Bearer ${ADMIN}` })).status, 200);
});

test('a bad -max_runs stops the start with exit 2 and says what it takes', async (t) => {
  const dir = await configDir(t, []);
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', RUN_MAIN, '--', '-conf=floe.yml', '-max_runs=0'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^floe: flag -max_runs is a whole number from 1 \(.*\); got "0"\n$/);
});
