import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from './harness.js';

/** One line a task wrote: which run, on which host, what, and when (ns since the epoch). */
export interface Stamp {
  run: string;
  host: string;
  what: string;
  ns: bigint;
}

/** A run's time as its tasks stamped it: from its `start` stamp to its `end` stamp. */
export interface Span {
  run: string;
  host: string;
  start: bigint;
  end: bigint;
}

// Tasks run these with `cmd:` (no shell line in the config); each line is one short write with
// O_APPEND, so lines of tasks on several hosts never interleave.
const SCRIPTS: Record<string, string> = {
  // stamp LOG WHAT
  stamp: 'echo "$FLOE_RUN_ID $FLOE_HOST $2 $(date +%s%N)" >> "$1"\n',
  // hold LOG SECONDS: stamps start, sleeps, stamps end
  hold: 'echo "$FLOE_RUN_ID $FLOE_HOST start $(date +%s%N)" >> "$1"\nsleep "$2"\necho "$FLOE_RUN_ID $FLOE_HOST end $(date +%s%N)" >> "$1"\n',
  // gate FILE: returns once FILE exists, so a test decides when a run ends
  gate: 'while [ ! -e "$1" ]; do sleep 0.05; done\n',
};

/**
 * A temp dir shared by every host of a test (they all run on this machine): scripts that tasks
 * run, the logs they write, and gate files the test creates to let blocked tasks finish.
 */
export class StampDir {
  private readonly opened = new Set<string>();

  private constructor(readonly dir: string) {}

  static async create(): Promise<StampDir> {
    const s = new StampDir(await tempDir('floe-stamps-'));
    for (const [name, body] of Object.entries(SCRIPTS)) {
      const file = path.join(s.dir, name);
      await writeFile(file, `#!/bin/sh\n${body}`);
      await chmod(file, 0o755);
    }
    return s;
  }

  /** A `cmd:` line running one of the scripts; give logs and gates as `path(name)`. */
  cmd(script: 'stamp' | 'hold' | 'gate', ...args: string[]): string {
    return [path.join(this.dir, script), ...args].join(' ');
  }

  /** Where log or gate `name` is. */
  path(name: string): string {
    return path.join(this.dir, name);
  }

  /** Lets the tasks waiting on gate `name` return. */
  async open(name: string): Promise<void> {
    this.opened.add(name);
    await writeFile(this.path(name), '');
  }

  /** Every line of log `name` so far, in file order; none when no task has written it yet. */
  async read(name: string): Promise<Stamp[]> {
    const text = await readFile(this.path(name), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [run = '', host = '', what = '', ns = ''] = l.split(' ');
        if (!/^\d+$/.test(ns)) throw new Error(`log ${name} has a line that is no stamp: ${JSON.stringify(l)}`);
        return { run, host, what, ns: BigInt(ns) };
      });
  }

  /** Each run's span from the log `name` written by `hold`; throws on a run with other than one start and one end. */
  async spans(name: string): Promise<Span[]> {
    const byRun = new Map<string, Stamp[]>();
    for (const s of await this.read(name)) byRun.set(s.run, [...(byRun.get(s.run) ?? []), s]);
    return [...byRun].map(([run, stamps]) => {
      const starts = stamps.filter((s) => s.what === 'start');
      const ends = stamps.filter((s) => s.what === 'end');
      if (starts.length !== 1 || ends.length !== 1 || !starts[0] || !ends[0]) {
        throw new Error(`run ${run} stamped ${starts.length} starts and ${ends.length} ends in ${name}, not one of each`);
      }
      return { run, host: starts[0].host, start: starts[0].ns, end: ends[0].ns };
    });
  }

  /** Opens each of `gates` not opened yet, so that no task is left blocked. */
  async openAll(gates: string[]): Promise<void> {
    for (const g of gates) if (!this.opened.has(g)) await this.open(g);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Pairs of spans that overlap in time, as "a [start, end] overlaps b [start, end]". */
export function overlaps(spans: Span[]): string[] {
  const sorted = [...spans].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const found: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const [prev, cur] = [sorted[i - 1], sorted[i]];
    if (prev && cur && cur.start < prev.end) {
      found.push(`${cur.run}@${cur.host} started ${cur.start} before ${prev.run}@${prev.host} (started ${prev.start}) ended ${prev.end}`);
    }
  }
  return found;
}
