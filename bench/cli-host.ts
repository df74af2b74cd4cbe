import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { call } from './api-client.js';
import { trackChild } from './cleanup.js';

/*
 * A host as users start it: `bin/floe.js` in its own process, which runs the shared dist/
 * build (not the bench's), logging at info to a pipe the bench drains.
 */

const bin = fileURLToPath(new URL('../../bin/floe.js', import.meta.url));
const leash = new URL('./host-leash.js', import.meta.url).href;
/** The API's base under the host's URL: the config's default base-url. */
const BASE = '/build/api';

export interface CliHostOptions {
  /** Holds floe.yml; the host runs with it as its working directory. */
  dir: string;
  name?: string;
  tags?: string;
  /** `host:port`; default 127.0.0.1:0. */
  bind?: string;
  token: string;
}

export interface CliHost {
  name: string;
  /** http://127.0.0.1:port/build/api */
  api: string;
  /** ws://127.0.0.1:port/build/api/ws */
  ws: string;
  child: ChildProcess;
  /** ms from the spawn to the `listening on` line. */
  startMs: number;
  /** Resident set size now, MB (from /proc). */
  rssMb(): number;
  /** Peak resident set size since the host started, MB. */
  peakRssMb(): number;
  /** CPU time the host has used so far, user and system, ms (from /proc, in 10 ms ticks). */
  cpuMs(): number;
  /** SIGTERM and wait; SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/** Spawns a host and resolves once it listens; rejects, with its last log lines, if it exits first. */
export async function startCliHost(o: CliHostOptions): Promise<CliHost> {
  const child = spawnHost(o);
  const t0 = performance.now();
  const tail: string[] = [];
  const keep = (line: string): void => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const url = await new Promise<string>((resolve, reject) => {
    const onExit = (code: number | null): void =>
      reject(new Error(`host ${o.name ?? 'h1'} exited (${code}) before listening:\n${tail.join('\n')}`));
    child.once('exit', onExit);
    let found = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      const listening = found ? undefined : /"msg":"listening on ([^"\s]+)"/.exec(line)?.[1];
      if (listening !== undefined) {
        found = true;
        child.off('exit', onExit);
        resolve(listening);
      }
    });
  });
  const startMs = performance.now() - t0;
  const pid = child.pid ?? 0;
  return {
    name: o.name ?? 'h1',
    api: url + BASE,
    ws: `${url.replace(/^http/, 'ws')}${BASE}/ws`,
    child,
    startMs,
    rssMb: () => procStatusMb(pid, 'VmRSS'),
    peakRssMb: () => procStatusMb(pid, 'VmHWM'),
    cpuMs: () => procCpuMs(pid),
    stop: () => stopChild(child),
  };
}

/** Starts a host on a known port and times it until GET /health answers 200 (issue 10: restart). */
export async function timeUntilHealthy(o: CliHostOptions & { bind: string }): Promise<{ ms: number; stop: () => Promise<void> }> {
  const child = spawnHost(o);
  const t0 = performance.now();
  child.stdout!.resume();
  child.stderr!.resume();
  let exited = false;
  child.once('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`host ${o.name ?? 'h1'} exited before /health answered`);
    const ok = await call('GET', `http://${o.bind}${BASE}/health`, { timeoutMs: 5_000 }).then(
      (a) => a.status === 200,
      () => false,
    );
    if (ok) return { ms: performance.now() - t0, stop: () => stopChild(child) };
    if (performance.now() - t0 > 120_000) {
      await stopChild(child);
      throw new Error(`host ${o.name ?? 'h1'} did not answer /health within 120 s`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

function spawnHost(o: CliHostOptions): ChildProcess {
  const args = [
    '--import',
    leash,
    bin,
    '-conf=floe.yml',
    `-host_name=${o.name ?? 'h1'}`,
    `-tags=${o.tags ?? 'master'}`,
    `-pub_bind=${o.bind ?? '127.0.0.1:0'}`,
    `-root=ws-${o.name ?? 'h1'}`,
  ];
  const child = spawn(process.execPath, args, {
    cwd: o.dir,
    // stdin stays open: its end tells the host that the bench is gone (host-leash.ts).
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, FLOE_ADMIN: o.token, FLOE_LOG: 'info', FLOE_GRACE_MS: '2000' },
  });
  trackChild(child);
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** A field of /proc/<pid>/status in MB (Linux; NaN elsewhere). */
export function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? NaN : Number(kb) / 1024;
  } catch {
    return NaN;
  }
}

/** The CPU time of process `pid`, user and system, ms; NaN once it is gone. */
export function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces and parentheses: utime and stime are
    // the 14th and 15th of the line, in ticks of 1/100 s (USER_HZ, 100 on Linux for x86 and arm).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

/** A port free right now on 127.0.0.1, for configs that must name their hosts' ports. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
