import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadMallocTrim, TRIM_ADDON } from '../../src/host/malloc-trim.js';

test('without the addon, or with a file that is not one, the host runs without trimming', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-trim-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(loadMallocTrim(path.join(dir, 'missing.node')), undefined);
  const junk = path.join(dir, 'junk.node');
  await writeFile(junk, 'not an ELF object');
  assert.equal(loadMallocTrim(junk), undefined);
  const wrong = path.join(dir, 'wrong.js');
  await writeFile(wrong, 'module.exports = { trim: 42 };');
  assert.equal(loadMallocTrim(wrong), undefined, 'a module without a trim function');
});

// npm install builds it wherever there is a C compiler and glibc (.ci/run installs one).
test('the built addon gives freed malloc pages back', { skip: existsSync(TRIM_ADDON) ? false : `${TRIM_ADDON} not built` }, () => {
  const trim = loadMallocTrim();
  assert.ok(trim, 'the addon loads');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // 64 KiB buffers come from malloc's heap (under its mmap threshold); keeping one in eight
  // leaves the freed ones between live ones, where only malloc_trim reaches them.
  let buffers: Buffer[] = Array.from({ length: 1024 }, () => Buffer.allocUnsafeSlow(64 * 1024).fill(1));
  const kept = buffers.filter((_, i) => i % 8 === 0);
  buffers = [];
  gc();
  gc();
  assert.equal(trim(), true, 'some memory went back to the system');
  assert.equal(kept.length, 128);
});
