import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutputStream } from '../../src/model/output.js';
import type { Clock } from '../../src/model/clock.js';
import type { NodeContext } from '../../src/nodes/node-type.js';

export interface OutputRecord {
  stream: OutputStream;
  line: string;
  at: number;
}

/** A NodeContext over a fresh temp workspace and cache dir, recording what the node reports. */
export interface FakeContext extends NodeContext {
  lines: OutputRecord[];
  pgids: number[];
  /** Output lines of one stream, in order. */
  linesOf(stream: OutputStream): string[];
  /** Removes the temp dirs. */
  cleanup(): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  after: (ms, signal) => sleep(ms, undefined, { signal }),
};

function hostEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

export async function fakeContext(overrides: Partial<NodeContext> = {}): Promise<FakeContext> {
  const root = await mkdtemp(path.join(tmpdir(), 'floe-node-'));
  const workspace = path.join(root, 'ws');
  const cacheDir = path.join(root, 'cache');
  await Promise.all([mkdir(workspace), mkdir(cacheDir)]);
  const lines: OutputRecord[] = [];
  const pgids: number[] = [];
  const ctx: FakeContext = {
    ref: { flowRef: { id: 'build', ver: 1 }, run: 'h1-1' },
    nodeId: 'task',
    workspace,
    cacheDir,
    env: hostEnv(),
    vars: {},
    clock: realClock,
    output: (stream, line) => lines.push({ stream, line, at: Date.now() }),
    onProcess: (pgid) => pgids.push(pgid),
    requestData: () => Promise.reject(new Error('requestData is not available in node tests')),
    ...overrides,
    lines,
    pgids,
    linesOf: (stream) => lines.filter((l) => l.stream === stream).map((l) => l.line),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
  return ctx;
}

/** Records check.error / check.warn calls from parseOpts. */
export function recordingCheck(): {
  errors: string[];
  warnings: string[];
  error(f: string | undefined, m: string): void;
  warn(f: string | undefined, m: string): void;
} {
  const errors: string[] = [];
  const warnings: string[] = [];
  return {
    errors,
    warnings,
    error: (f, m) => errors.push(`${f ?? ''}: ${m}`),
    warn: (f, m) => warnings.push(`${f ?? ''}: ${m}`),
  };
}

export { isAlive } from '../e2e/proc.js';

/** Pids of the processes in group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,stat='], { encoding: 'utf8' });
  return out.split('\n').flatMap((l) => {
    const [pid, group, stat, ...more] = l.trim().split(/\s+/);
    return stat !== undefined && more.length === 0 && Number(group) === pgid && !stat.startsWith('Z') ? [Number(pid)] : [];
  });
}
