import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { startCluster } from './cluster-harness.js';
import { waitGone } from './proc.js';

const FLOWS = `
- id: hello
  triggers: [{ name: start, type: data }]
  tasks:
    - { name: greet, listen: trigger.good, type: exec, opts: { shell: 'echo hi' } }
    - { name: done, listen: task.greet.good, type: end }
`;

interface HostsReply {
  payload: { hosts: Array<{ id?: string; url: string; self: boolean; tags: string[] }> };
}

test('startCluster runs two real hosts (one with -max_runs) on one config listing both, each answering GET /hosts with the shared token', async (t) => {
  const cluster = await startCluster({
    hosts: [
      { name: 'h1', tags: ['linux', 'go'] },
      { name: 'h2', tags: ['gpu'], maxRuns: 2 },
    ],
    flows: FLOWS,
  });
  t.after(() => cluster.stop());
  const [h1, h2] = [cluster.host('h1'), cluster.host('h2')];
  assert.notEqual(h1.port, h2.port);
  assert.notEqual(h1.pid, h2.pid);

  const config = parse(await readFile(cluster.configFile, 'utf8')) as { common: { hosts: string[] } };
  assert.deepEqual(config.common.hosts, [h1.url, h2.url]);

  for (const h of [h1, h2]) {
    const res = await h.api('/hosts');
    assert.equal(res.status, 200, `${h.name} answers with the shared token`);
    const self = ((await res.json()) as HostsReply).payload.hosts.find((x) => x.self);
    assert.equal(self?.id, h.name);
    assert.deepEqual(self?.tags, h.tags);
    const anonymous = await h.api('/hosts', { headers: { 'X-Floe-Auth': 'not-the-token' } });
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    assert.ok(existsSync(path.join(cluster.dir, 'store', h.name)), `${h.name} has its own store`);
  }
  const started = await h2.waitForLog((l) => l.msg === 'host started');
  assert.equal(started.workspaces, path.join(cluster.dir, 'ws', 'h2'));
});

test('restart() brings a killed host back on its port with its store; stop() ends every process and removes the temp dir', async () => {
  const cluster = await startCluster({
    hosts: [
      { name: 'a', tags: ['x'] },
      { name: 'b', tags: ['x'] },
    ],
    flows: FLOWS,
  });
  const [a, b] = [cluster.host('a'), cluster.host('b')];
  try {
    const trigger = await a.api('/push/data', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ref: { id: 'hello', ver: 1 }, form: { id: 'start', values: {} } }),
    });
    assert.equal(trigger.status, 200);
    const run = ((await trigger.json()) as { payload: { runs: string[] } }).payload.runs[0];
    await a.waitForLog((l) => l.msg === 'run ended' && l.run === run);

    const before = a.pid;
    a.kill('SIGKILL');
    assert.equal((await a.exited()).signal, 'SIGKILL');
    assert.equal(a.isRunning, false);
    await a.restart();
    assert.notEqual(a.pid, before);
    const found = await a.api(`/flows/hello/runs/${run}`);
    assert.equal(found.status, 200, 'the restarted host kept its store');
    await found.body?.cancel();
  } finally {
    const pids = [a.pid, b.pid];
    await cluster.stop();
    for (const pid of pids) assert.ok(await waitGone(pid, 1_000), `pid ${pid} is gone after stop()`);
    assert.equal(existsSync(cluster.dir), false, 'the temp dir is removed');
  }
});
