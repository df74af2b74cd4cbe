import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { tempDir } from './harness.js';
import { isAlive } from './proc.js';

// Compiled to dist*/test/e2e/: the CLI run is the shared build's, dist/, as bin/floe.js loads it.
const bin = fileURLToPath(new URL('../../../bin/floe.js', import.meta.url));

/** How long a stopping host may take before it is killed: its grace (FLOE_GRACE_MS) and some. */
const STOP_TIMEOUT_MS = 15_000;

export interface ClusterHostSpec {
  name: string;
  /** Host tags (-tags); at least one. */
  tags: string[];
  /** -max_runs: how many runs the host executes at once; default the host's. */
  maxRuns?: number;
  /** More flags for this host's command line. */
  args?: string[];
}

export interface ClusterOptions {
  hosts: ClusterHostSpec[];
  /** YAML of the config's `flows:` list. */
  flows: string;
  /** More `common:` fields; `hosts`, `store-type` and `store-root` are the harness's. */
  common?: Record<string, unknown>;
  /** -cluster_token for every host (on its command line: tests only); without it, hosts use the admin token. */
  clusterToken?: string;
  /** Extra environment for every host; FLOE_GRACE_MS is 2000 unless given here. */
  env?: Record<string, string>;
}

/** One JSON line of a host's log. */
export interface LogLine {
  msg: string;
  level: number;
  [k: string]: unknown;
}

export interface ClusterHost {
  readonly name: string;
  readonly tags: string[];
  readonly port: number;
  /** http://127.0.0.1:<port>, as listed in common.hosts. */
  readonly url: string;
  /** The API's root, url + base-url (http://127.0.0.1:<port>/build/api). */
  readonly apiUrl: string;
  /** The current process's pid (a restart changes it). */
  readonly pid: number;
  /** Whether the current process has not exited yet (a SIGSTOPped host is running). */
  readonly isRunning: boolean;
  /** Every JSON log line of this host, across restarts, oldest first. */
  readonly logs: LogLine[];
  /** What the host wrote to stderr (and non-JSON stdout), across restarts. */
  readonly stderr: string;
  /** fetch() on the API (`path` after base-url) with the admin token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** The first log line of the current process that matches; rejects if the process exits first. */
  waitForLog(match: (line: LogLine) => boolean): Promise<LogLine>;
  /**
   * Sends `signal` (default SIGTERM) to the current process. After SIGKILL its tasks (own process
   * groups) run on until restart() recovers the store and kills them.
   */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves once the current process has exited and its output is read. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops the current process if it runs (SIGTERM), then starts it again with the same flags and store. */
  restart(): Promise<void>;
}

export interface Cluster {
  hosts: ClusterHost[];
  /** The host named `name`; throws if there is none. */
  host(name: string): ClusterHost;
  /** The temp dir holding the config, the stores and the workspaces. */
  dir: string;
  configFile: string;
  /** The admin token every host accepts. */
  adminToken: string;
  /** Stops every host (SIGTERM, SIGKILL after a timeout) and removes the temp dir. */
  stop(): Promise<void>;
}

/** `n` distinct ports free on 127.0.0.1 right now (another process may still take one before use). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('a TCP server has no port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/**
 * Starts one real `bin/floe.js` process per host on 127.0.0.1, each on its own free port, all on
 * one config whose `common.hosts` lists every host, with one admin token and a store and
 * workspace root per host in a temp dir. Resolves once every host has logged `host started`.
 */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const names = opts.hosts.map((h) => h.name);
  if (new Set(names).size !== names.length) throw new Error(`startCluster: host names repeat: ${names.join(', ')}`);
  for (const h of opts.hosts) {
    if (h.tags.length === 0) throw new Error(`startCluster: host ${h.name} needs at least one tag`);
    if (h.maxRuns !== undefined && !(Number.isInteger(h.maxRuns) && h.maxRuns > 0)) {
      throw new Error(`startCluster: host ${h.name}: maxRuns is a whole number above 0, got ${h.maxRuns}`);
    }
  }
  const flows: unknown = parse(opts.flows);
  if (!Array.isArray(flows)) throw new Error('startCluster: `flows` is the YAML of a list of flows');

  const dir = await tempDir('floe-cluster-');
  const ports = await freePorts(opts.hosts.length);
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const common = { ...opts.common, hosts: urls, 'store-type': 'local', 'store-root': path.join(dir, 'store') };
  const configFile = path.join(dir, 'floe.yml');
  await writeFile(configFile, stringify({ common, flows }));
  const given = opts.common?.['base-url'];
  const baseUrl = (typeof given === 'string' ? given : '/build/api').replace(/\/+$/, '');
  const adminToken = randomBytes(18).toString('base64url');
  const env: NodeJS.ProcessEnv = { ...process.env, FLOE_LOG: 'info', FLOE_GRACE_MS: '2000', ...opts.env, FLOE_ADMIN: adminToken };

  const hosts = opts.hosts.map((spec, i) => {
    const port = ports[i]!;
    const args = [
      bin,
      `-conf=${configFile}`,
      `-host_name=${spec.name}`,
      `-tags=${spec.tags.join(',')}`,
      `-pub_bind=127.0.0.1:${port}`,
      `-root=${path.join(dir, 'ws', spec.name)}`,
      ...(spec.maxRuns !== undefined ? [`-max_runs=${spec.maxRuns}`] : []),
      ...(opts.clusterToken !== undefined ? [`-cluster_token=${opts.clusterToken}`] : []),
      ...(spec.args ?? []),
    ];
    return new HostProcess(spec, port, `http://127.0.0.1:${port}`, baseUrl, adminToken, args, dir, env);
  });
  // A test that fails or times out before stop() must not leave hosts behind.
  const killAll = () => {
    for (const h of hosts) h.killNow();
  };
  process.once('exit', killAll);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(hosts.map((h) => h.stop()));
      process.off('exit', killAll);
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    await Promise.all(hosts.map((h) => h.start()));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    hosts,
    host: (name) => {
      const h = hosts.find((x) => x.name === name);
      if (!h) throw new Error(`no host ${name} in this cluster (${names.join(', ')})`);
      return h;
    },
    dir,
    configFile,
    adminToken,
    stop,
  };
}

class HostProcess implements ClusterHost {
  readonly logs: LogLine[] = [];
  stderr = '';
  readonly tags: string[];
  readonly apiUrl: string;
  private child: ChildProcess | undefined;
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
  private running = false;
  /** Index in `logs` of the current process's first line. */
  private since = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly spec: ClusterHostSpec,
    readonly port: number,
    readonly url: string,
    baseUrl: string,
    private readonly token: string,
    private readonly argv: string[],
    private readonly cwd: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.tags = spec.tags;
    this.apiUrl = `${url}${baseUrl}`;
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error(`host ${this.name} has not started`);
    return pid;
  }

  get isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    this.since = this.logs.length;
    const child = spawn(process.execPath, this.argv, { cwd: this.cwd, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.running = true;
    child.once('error', (err) => (this.stderr += `spawn failed: ${err.message}\n`));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    this.exit = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.running = false;
        this.wake();
        resolve({ code, signal });
      });
    });
    await this.waitForLog((l) => l.msg === 'host started');
  }

  api(p: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has('X-Floe-Auth')) headers.set('X-Floe-Auth', this.token);
    return fetch(`${this.apiUrl}${p}`, { ...init, headers });
  }

  waitForLog(match: (line: LogLine) => boolean): Promise<LogLine> {
    const from = this.since;
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.logs.slice(from).find(match);
        if (found) {
          this.waiters.delete(check);
          resolve(found);
        } else if (!this.running) {
          this.waiters.delete(check);
          const last = this.logs.slice(-5).map((l) => l.msg);
          reject(
            new Error(
              `host ${this.name} exited before the awaited log line; stderr: ${this.stderr.trim()}; last lines: ${last.join(' / ')}`,
            ),
          );
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child?.kill(signal);
  }

  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exit;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Graceful stop of the current process; SIGKILL when it takes too long. */
  async stop(): Promise<void> {
    if (!this.running) return;
    // A SIGSTOPped host would never handle the SIGTERM.
    this.kill('SIGCONT');
    this.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), STOP_TIMEOUT_MS)));
    if ((await Promise.race([this.exit, late])) === 'late') this.kill('SIGKILL');
    clearTimeout(timer);
    await this.exit;
  }

  /** Synchronous, for process exit. */
  killNow(): void {
    const pid = this.child?.pid;
    if (this.running && pid !== undefined && isAlive(pid)) this.child?.kill('SIGKILL');
  }

  private onLine(line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as LogLine).msg === 'string') {
      this.logs.push(parsed as LogLine);
      this.wake();
    } else {
      this.stderr += `${line}\n`;
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
