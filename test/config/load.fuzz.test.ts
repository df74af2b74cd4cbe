import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fuzzParams } from '../fuzz/settings.js';
import type { FuzzMessage } from './load-fuzz-cases.js';

// Configs and flow-files from the fixtures, mutated with YAML fragments, anchors and aliases
// (alias bombs included), deep nesting, control characters, huge scalars, values of the wrong
// type in every field and random bytes, go through the loader and validator: nothing throws,
// every problem is one line with a file:line:col inside the text. The cases run in a worker so
// that one that hangs is stopped and reported with its input instead of stalling the test.

/** Past this a case counts as hung; the slowest (an alias bomb, checked as config and flow-file) take ~0.1 s. */
const HANG_MS = 2_000;

test('any config or flow-file text loads and validates without a throw or a hang, each problem one line with its place', async () => {
  const params = fuzzParams(150);
  const worker = new Worker(new URL('./load-fuzz-cases.js', import.meta.url), { workerData: params });
  let input = '';
  let watchdog: NodeJS.Timeout | undefined;
  try {
    const outcome = await new Promise<FuzzMessage | { kind: 'hung' } | { kind: 'crashed'; error: unknown }>((resolve) => {
      // Armed per case, not while the worker starts up.
      const arm = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => resolve({ kind: 'hung' }), HANG_MS);
      };
      worker.on('message', (m: FuzzMessage) => {
        if (m.kind === 'case') {
          input = m.text;
          arm();
        } else {
          resolve(m);
        }
      });
      worker.on('error', (error) => resolve({ kind: 'crashed', error }));
      worker.on('exit', (code) => resolve({ kind: 'crashed', error: `worker exited with ${code}` }));
    });
    if (outcome.kind === 'hung' || outcome.kind === 'crashed') {
      const file = path.join(os.tmpdir(), `floe-load-fuzz-${params.seed}.yml`);
      writeFileSync(file, input);
      const why = outcome.kind === 'hung' ? `ran past ${HANG_MS} ms` : `crashed the worker (${String(outcome.error)})`;
      assert.fail(`a case ${why} (seed ${params.seed}); its input is in ${file}:\n${JSON.stringify(input.slice(0, 2000))}`);
    }
    if (outcome.kind === 'failed') assert.fail(outcome.report);
  } finally {
    clearTimeout(watchdog);
    await worker.terminate();
  }
});
