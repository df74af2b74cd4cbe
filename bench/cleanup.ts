import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/*
 * Every host process and temp dir a benchmark makes is registered here, so a bench that dies
 * (a throw, Ctrl-C, a test's timeout) leaves nothing behind. The groups clean up after
 * themselves in `finally`; this is the net under them. A bench killed with SIGKILL runs no
 * handler at all: its hosts stop by themselves through host-leash.ts.
 */

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** A fresh dir under the system's temp dir, deleted at exit if its user has not. */
export async function makeTempDir(what: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `floe-bench-${what}-`));
  dirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  dirs.delete(dir);
}

/** Kills what is still running and deletes the temp dirs, synchronously (it runs at 'exit'). */
function cleanUpNow(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** From now on, exit and SIGINT/SIGTERM/SIGHUP clean up: hosts get SIGTERM and 3 s, then SIGKILL. */
export function cleanUpOnExit(): void {
  process.on('exit', cleanUpNow);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, stopping ${children.size} host(s)\n`);
      const exits = [...children].map((c) => new Promise((r) => c.once('exit', r)));
      for (const child of children) child.kill('SIGTERM');
      void Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 3_000).unref())]).then(() => process.exit(code));
    });
  }
}
