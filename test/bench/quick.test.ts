import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The benchmarks run here once, with small counts, so that they never rot: each measure of
// issue 10's target table must come out as a finite number. No figure is judged: timings live
// in bench/, never in asserts.

const main = fileURLToPath(new URL('../../bench/main.js', import.meta.url));

/** Every row of issue 10's target table, as `npm run bench` names them. */
const MEASURES = [
  'chain-20-local',
  'chain-20-memory',
  'chain-long',
  'trigger-http',
  'trigger-cluster',
  'output-lines',
  'output-rss',
  'idle-rss',
  'runs-local',
  'runs-cluster',
  'rss-after-runs',
  'archive-page',
  'log-tail',
  'restart',
  'ws-api-p99',
  'ws-delivery-p99',
  'ws-slow-client',
  'ws-rss',
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bench to its end; an aborted test (a timeout) stops it with SIGTERM, and it stops its hosts. */
async function bench(args: string[], signal: AbortSignal): Promise<Run> {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], signal, killSignal: 'SIGTERM' });
  child.on('error', () => {}); // the abort, reported by the test itself
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, stdout, stderr };
}

test('bench --quick runs every measure of the target table and each gives a finite value', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-bench-test-'));
  try {
    const out = path.join(dir, 'results.json');
    const run = await bench(['--quick', '--out', out], t.signal);
    assert.equal(run.code, 0, `bench --quick exited ${run.code}:\n${run.stdout}\n${run.stderr.slice(-4000)}`);
    const results = JSON.parse(await readFile(out, 'utf8'));
    assert.equal(results.quick, true);
    assert.ok(results.machine.cores > 0 && results.machine.totalMemoryMb > 0, 'machine: cores and memory');
    assert.equal(results.machine.node, process.version);
    assert.equal(results.machine.loadAverageStart.length, 3);
    assert.equal(results.machine.loadAverageEnd.length, 3);
    for (const id of MEASURES) {
      const row = results.rows.find((r: { id: string }) => r.id === id);
      assert.ok(row, `results.json has no row ${id}`);
      assert.ok(Number.isFinite(row.value), `${id}: value ${row.value} (${row.note ?? ''})`);
      if (row.floor !== undefined) assert.ok(Number.isFinite(row.floor) && row.floor > 0, `${id}: floor ${row.floor}`);
      assert.ok(['pass', 'miss', 'info'].includes(row.verdict), `${id}: verdict ${row.verdict}`);
      assert.ok(run.stdout.includes(row.measure), `the table shows ${id}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bench --only with an unknown measure exits 2 and names it, starting nothing', async (t) => {
  const run = await bench(['--only', 'chain-20,nope'], t.signal);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--only: no measure nope/);
});
