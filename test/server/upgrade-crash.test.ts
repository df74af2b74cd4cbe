import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { call } from './harness.js';
import { sendRaw, upgradeRaw } from './raw-http.js';
import { tempDir } from '../e2e/harness.js';

// The CLI of the build this test file belongs to (dist/ in CI), not bin/floe.js, which runs dist/.
const cli = new URL('../../src/cli/main.js', import.meta.url).href;

test('a floe host process keeps serving after unauthenticated upgrades and requests with a cookie that does not decode', async (t) => {
  const dir = await tempDir('floe-upgrade-');
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    path.join(dir, 'floe.yml'),
    'flows:\n  - id: hello\n    triggers: [{ name: start, type: data }]\n    tasks: [{ name: done, listen: trigger.good, type: end }]\n',
  );
  const launcher = `const { main } = await import(${JSON.stringify(cli)}); process.exit(await main(process.argv.slice(1)));`;
  const args = ['-conf', path.join(dir, 'floe.yml'), '-host_name=h1', '--tags', 'master', '-pub_bind=127.0.0.1:0', '-admin=upgrade-token'];
  const child = spawn(process.execPath, ['--input-type=module', '-e', launcher, '--', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  // Any exit from here on fails the test at once, with what the host said.
  const died = exited.then((code) => {
    throw new Error(`host exited with ${code}: ${stderr}`);
  });

  let url = '';
  await Promise.race([
    died,
    new Promise<void>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const rec = JSON.parse(line) as { msg: string };
        const listening = /^listening on (\S+)$/.exec(rec.msg)?.[1];
        if (listening !== undefined) url = listening;
        if (rec.msg === 'host started') resolve();
      });
    }),
  ]);
  const port = Number(new URL(url).port);

  for (const cookie of ['floe-sesh=%', 'floe-sesh=%zz']) {
    for (const p of ['/build/api/ws', '/ws']) {
      const r = await Promise.race([died, upgradeRaw(port, p, { Cookie: cookie })]);
      assert.deepEqual([r.status, JSON.parse(r.text)], [401, { message: 'invalid session', payload: null }], `upgrade ${p} ${cookie}`);
    }
    const plain = await Promise.race([died, sendRaw(port, 'GET', '/build/api/flows', { Cookie: cookie })]);
    assert.deepEqual([plain.status, JSON.parse(plain.text)], [401, { message: 'invalid session', payload: null }], `GET /flows ${cookie}`);
  }
  const health = await Promise.race([died, call(undefined, `${url}/build/api/health`, 'GET')]);
  assert.equal(health.status, 200);
  assert.equal(child.exitCode, null, 'still running');
});
