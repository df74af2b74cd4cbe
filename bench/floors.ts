import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { trackChild } from './cleanup.js';
import { procStatusMb } from './cli-host.js';

/*
 * Floors: the bare cost of what floe does, on this machine, now. A figure is judged as a
 * multiple of its floor, measured in the same process, interleaved with its samples.
 */

/**
 * A reading of the wall clock with sub-ms digits, comparable with `date +%s%N` in a task.
 * `performance.timeOrigin + performance.now()` is not: its wall part is read once at start, so
 * a clock stepped since (NTP on a CI machine moved it 46 ms within 6 s) puts every later
 * reading off. Each call anchors anew: it waits for `Date.now()` to tick (< 1 ms) and adds the
 * monotonic time since that tick.
 */
export function wallNowMs(): number {
  const start = Date.now();
  let tick = start;
  while (tick === start) tick = Date.now();
  const atTick = performance.now();
  return tick + (performance.now() - atTick);
}

/** `date +%s%N` output -> epoch ms with sub-ms digits (ns do not fit a double whole). */
export function dateLineMs(line: string): number {
  const digits = line.trim();
  if (!/^\d{19}$/.test(digits)) throw new Error(`expected date +%s%N, got ${JSON.stringify(line.slice(0, 80))}`);
  return Number(BigInt(digits) / 1000n) / 1000;
}

/** Node spawns /bin/true and sees it exit: ms. */
export function spawnTrue(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn('/bin/true', [], { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', () => resolve(performance.now() - t0));
  });
}

export interface ShDate {
  /** Spawn to exit, ms: the floor of issue 10's trigger targets. */
  ms: number;
  /** Spawn to `date` running (its printed time), ms. */
  firstMs: number;
}

/**
 * Node spawns `sh -c 'date +%s%N'`. The printed time must fall between the spawn and the exit
 * by this process's clock, or a task's printed time cannot be compared with it either.
 */
class ClockDisagrees extends Error {}

export async function spawnShDate(): Promise<ShDate> {
  // A clock step during one sample is retried; a clock that disagrees every time is an error.
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnShDateOnce();
    } catch (e) {
      if (attempt === 3 || !(e instanceof ClockDisagrees)) throw e;
    }
  }
}

function spawnShDateOnce(): Promise<ShDate> {
  const wall0 = wallNowMs();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn('/bin/sh', ['-c', 'date +%s%N'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.once('error', reject);
    p.once('close', () => {
      const ms = performance.now() - t0;
      const firstMs = dateLineMs(out) - wall0;
      if (firstMs < -1 || firstMs > ms + 1) {
        reject(
          new ClockDisagrees(
            `date printed a time ${firstMs.toFixed(2)} ms after the spawn, outside 0..${ms.toFixed(2)}: the clocks disagree`,
          ),
        );
      } else resolve({ ms, firstMs });
    });
  });
}

/** Node spawns /bin/true `count` times, `concurrency` at once: spawns per second. */
export async function spawnRate(count: number, concurrency: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) await spawnTrue();
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

/** Node spawns `seq 1 n` and counts the lines it reads from the pipe: lines per second. */
export function pipeLinesPerSec(n: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn('seq', ['1', String(n)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let lines = 0;
    p.stdout.on('data', (c: Buffer) => {
      for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++;
    });
    p.once('error', reject);
    p.once('close', () => {
      if (lines !== n) reject(new Error(`seq 1 ${n} gave ${lines} lines`));
      else resolve(n / ((performance.now() - t0) / 1000));
    });
  });
}

/** RSS of a bare `node` doing nothing, after `settleMs`: MB. */
export async function bareNodeRssMb(settleMs: number): Promise<number> {
  const p = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  trackChild(p);
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    return procStatusMb(p.pid ?? 0, 'VmRSS');
  } finally {
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
}
