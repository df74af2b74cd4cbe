import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { LevelStore } from '../../src/store/level.js';
import { startRealHost } from './harness.js';

const RUNS = 1_000;

test(`${RUNS} runs fired back to back on the local store are each archived exactly once`, async (t) => {
  const h = await startRealHost(
    `
common: { store-type: local }
flows:
  - id: load
    resource-tags: [one-at-a-time]
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: work, listen: trigger.good, type: exec, opts: { cmd: 'true' } }
      - { name: done, listen: task.work.good, type: end }
`,
    { keepDir: true },
  );
  t.after(() => rm(h.dir, { recursive: true, force: true }));
  const refs = (await Promise.all(Array.from({ length: RUNS }, () => h.host.hub.trigger('load')))).flat();
  assert.equal(new Set(refs.map((r) => r.run)).size, RUNS, 'every trigger got its own run id');
  for (const r of refs) assert.equal((await h.ended(r.run)).status, 'good');
  await h.close();

  const store = await LevelStore.open(path.join(h.dir, '.floe/store/h1'));
  try {
    assert.equal((await store.listPending()).length, 0);
    assert.equal((await store.listActive()).length, 0);
    const seen: string[] = [];
    let before: number | undefined;
    do {
      const page = await store.listArchive({ limit: 200, before });
      seen.push(...page.runs.map((r) => r.ref.run));
      before = page.next;
    } while (before !== undefined);
    assert.equal(seen.length, RUNS, 'archived exactly once each');
    assert.deepEqual(new Set(seen), new Set(refs.map((r) => r.run)));
  } finally {
    await store.close();
  }
});
