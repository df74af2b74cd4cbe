import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { HELPER_BINARY } from '../../src/nodes/helper-spawner.js';
import { startApiHost } from './harness.js';

test("GET /metrics says which spawner starts the host's tasks", async (t) => {
  const h = await startApiHost('flows: []\n');
  t.after(() => h.close());
  // Hosts in one process share one choice: the helper when it is built, unless FLOE_SPAWNER=node.
  const expected = existsSync(HELPER_BINARY) && process.env.FLOE_SPAWNER !== 'node' ? 'helper' : 'node';
  assert.equal(h.real.host.spawner(), expected);
  const r = await h.call('GET', '/metrics');
  const samples = r.text.split('\n').filter((l) => l.startsWith('floe_task_spawner{'));
  assert.deepEqual(samples.sort(), [
    `floe_task_spawner{spawner="helper"} ${+(expected === 'helper')}`,
    `floe_task_spawner{spawner="node"} ${+(expected === 'node')}`,
  ]);
});
