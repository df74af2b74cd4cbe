import { execFile } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** What the figures were measured on: a ratio travels between machines, a millisecond does not. */
export interface Machine {
  cores: number;
  cpu: string;
  totalMemoryMb: number;
  node: string;
  os: string;
  /** 1, 5 and 15 minute load averages when the bench started, and when it ended. */
  loadAverageStart: number[];
  loadAverageEnd?: number[];
  date: string;
  /** The checked-out commit, and whether the work tree differs from it. */
  commit?: string;
  dirty?: boolean;
}

const repo = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

async function git(args: string[]): Promise<string | undefined> {
  try {
    // --no-optional-locks: status must not refresh the index of a tree others are working in.
    return (await run('git', ['--no-optional-locks', ...args], { cwd: repo })).stdout.trim();
  } catch {
    return undefined;
  }
}

export async function describeMachine(): Promise<Machine> {
  const commit = await git(['rev-parse', 'HEAD']);
  const status = commit === undefined ? undefined : await git(['status', '--porcelain', '--untracked-files=no']);
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    os: `${os.platform()} ${os.release()}`,
    loadAverageStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
    commit,
    dirty: status === undefined ? undefined : status !== '',
  };
}
