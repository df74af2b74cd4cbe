import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const logger = new URL('../../src/host/logger.js', import.meta.url).href;

/** Runs `body` in a fresh node whose stdout is a pipe (so no pretty printing); answers its stdout lines. */
function linesOf(body: string): string[] {
  const script = `const { createLogger } = await import(${JSON.stringify(logger)}); const log = createLogger({ level: 'info' }); ${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { msg: string }).msg);
}

test('lines logged in one turn reach stdout in order, also when the process exits in that turn', () => {
  assert.deepEqual(linesOf(`log.info('one'); log.info('two'); log.warn('three'); process.exit(0);`), ['one', 'two', 'three']);
});

test('lines logged over several turns all reach stdout, in order', () => {
  const body = `for (let i = 0; i < 5; i++) { log.info('line ' + i); await new Promise((r) => setImmediate(r)); log.info('again ' + i); await new Promise((r) => setTimeout(r, 2)); }`;
  assert.deepEqual(linesOf(body), Array.from({ length: 5 }, (_, i) => [`line ${i}`, `again ${i}`]).flat());
});

test('secrets are redacted in what reaches stdout', () => {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { createLogger } = await import(${JSON.stringify(logger)}); createLogger({ level: 'info' }).info({ token: 'hunter2-secret' }, 'x');`,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes('hunter2-secret') && r.stdout.includes('[redacted]'), r.stdout);
});
