import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterEach, test } from 'node:test';
import { pino } from 'pino';
import { pickSpawner } from '../../src/host/spawner-choice.js';
import { HELPER_BINARY, HelperSpawner } from '../../src/nodes/helper-spawner.js';
import { nodeSpawner } from '../../src/nodes/node-spawner.js';
import { currentSpawner, runInProcessGroup, useSpawner } from '../../src/nodes/process-group.js';

function recordingLog(): { log: pino.Logger; lines: Array<{ level: number; msg: string; spawner?: string }> } {
  const lines: Array<{ level: number; msg: string; spawner?: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

afterEach(async () => {
  const s = currentSpawner();
  if (s instanceof HelperSpawner) await s.stop();
  useSpawner(nodeSpawner);
});

const echo = { file: '/bin/sh', args: ['-c', 'echo hi'], cwd: '/', env: { PATH: '/usr/bin:/bin' }, onLine: () => {} };

test("without the helper's binary, tasks start with Node's spawn", async () => {
  const { log } = recordingLog();
  await pickSpawner(log, { binary: '/nonexistent/floe-spawner', force: '' });
  assert.equal(currentSpawner(), nodeSpawner);
  assert.equal((await runInProcessGroup(echo, new AbortController().signal)).status, 0);
});

test("FLOE_SPAWNER=node starts tasks with Node's spawn even where the helper is built", async () => {
  const { log } = recordingLog();
  await pickSpawner(log, { force: 'node' });
  assert.equal(currentSpawner(), nodeSpawner);
});

test(
  "when the helper dies, later tasks start with Node's spawn and the log says why",
  { skip: !existsSync(HELPER_BINARY) && 'the helper is not built' },
  async () => {
    const { log, lines } = recordingLog();
    await pickSpawner(log, { force: '' });
    const helper = currentSpawner();
    assert.ok(helper instanceof HelperSpawner);
    await new Promise<void>((resolve) => {
      process.kill(helper.pid ?? 0, 'SIGKILL');
      const poll = setInterval(() => {
        if (currentSpawner() === nodeSpawner) resolve(clearInterval(poll));
      }, 10);
    });
    assert.equal((await runInProcessGroup(echo, new AbortController().signal)).status, 0);
    assert.deepEqual(
      lines.map((l) => [l.level, l.spawner, l.msg]),
      [
        [
          40,
          'node',
          `the spawner helper (pid ${helper.pid}) was killed by SIGKILL; its tasks ended bad, and tasks now start with Node's spawn`,
        ],
      ],
    );
  },
);
