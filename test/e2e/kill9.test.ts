import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { call } from '../server/harness.js';
import { startRealHost, tempDir } from './harness.js';
import { isAlive, waitGone } from './proc.js';
import { firstItem } from '../items.js';

const bin = fileURLToPath(new URL('../../../bin/floe.js', import.meta.url));

test('a host killed with -9 mid-run comes back with its pends, archives the interrupted run bad, and kills its leftovers', async (t) => {
  const dir = await tempDir('floe-kill9-');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fast = path.join(dir, 'fast');
  // Triggered only through the API: nothing else writes to the store between the task starting
  // and the kill, so the test fails if anything (the task's process group) is not persisted at once.
  const yaml = `
common:
  store-type: local
flows:
  - id: slow
    resource-tags: [lock]
    env: ['FAST=${fast}']
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: work, listen: trigger.good, type: exec, opts: { shell: 'echo $$ > "$FLOE_WS/pid"; test -f "$FAST" || sleep 60' } }
`;
  await writeFile(path.join(dir, 'floe.yml'), yaml);
  const child = spawn(
    process.execPath,
    [bin, '-conf', path.join(dir, 'floe.yml'), '-host_name=h1', '--tags', 'master', '-pub_bind=127.0.0.1:0', '-admin=kill9-token'],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.after(() => child.kill('SIGKILL'));
  let url = '';
  const started = new Map<string, string>(); // run -> workspace
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`host exited early with ${code}`)));
    lines.on('line', (line) => {
      const rec = JSON.parse(line) as { msg: string; run?: string; workspace?: string };
      const listening = /^listening on (\S+)$/.exec(rec.msg)?.[1];
      if (listening !== undefined) url = listening;
      if (rec.msg === 'run started' && rec.run && rec.workspace) started.set(rec.run, rec.workspace);
      if (rec.msg === 'host started') resolve();
    });
  });
  const push = async () => {
    const r = await call<{ payload: { runs: string[] } }>(
      undefined,
      `${url}/build/api/push/data`,
      'POST',
      { ref: { id: 'slow', ver: 1 }, form: { id: 'start', values: {} } },
      { 'X-Floe-Auth': 'kill9-token' },
    );
    assert.equal(r.status, 200, r.text);
    return firstItem(r.body.payload.runs);
  };
  const running = await push();
  const acknowledged = [await push(), await push()]; // pends, waiting for the lock
  for (let i = 0; i < 200 && !(started.get(running) && existsSync(path.join(started.get(running)!, 'pid'))); i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  const shellPid = Number(await readFile(path.join(started.get(running)!, 'pid'), 'utf8'));
  assert.ok(isAlive(shellPid));
  child.removeAllListeners('exit');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(isAlive(shellPid), 'the task outlives the killed host (own process group)');

  await writeFile(fast, '');
  const h = await startRealHost(yaml, { dir, keepDir: true });
  t.after(() => h.close());
  const crashed = await h.host.hub.findRun(running);
  assert.equal(crashed?.status, 'bad');
  assert.equal(crashed?.reason, 'host stopped during the run');
  assert.equal(crashed?.nodes.work?.status, 'stopped');
  assert.ok(await waitGone(shellPid), 'the restart killed the interrupted task');
  for (const run of acknowledged) {
    const end = await h.ended(run);
    assert.equal(end.status, 'good', `pend ${run} ran after the restart`);
  }
  await h.host.hub.whenIdle();
  const archive = (await h.host.hub.listArchive({ limit: 1000 })).runs.map((r) => r.ref.run);
  assert.deepEqual(archive.sort(), [running, ...acknowledged].sort(), 'every run archived exactly once');
  const next = firstItem(await h.host.hub.trigger('slow'));
  const highest = Math.max(...[running, ...acknowledged].map((r) => Number(r.split('-')[1])));
  assert.ok(Number(next.run.split('-')[1]) > highest, 'run numbers never repeat');
  await h.ended(next.run);
});
