import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { INSTALL_DIR } from '../install-dir.js';
import { readTurnByTurn } from './turn-reader.js';
import { hasNulByte, NUL_IN_ARGUMENT, type SpawnEvents, type Spawned, type Spawner, type SpawnRequest } from './spawner.js';

/*
 * The host's half of native/spawner.c's protocol (frames described there). The helper starts
 * each task with posix_spawn, which does not copy the host's memory the way libuv's fork does.
 */

/** Where `npm install` builds the helper (bin/build-native.js): native/build under the package root. */
export const HELPER_BINARY = path.join(INSTALL_DIR, 'native', 'build', 'floe-spawner');

const PROTOCOL = 1;
/** How long a fresh helper has to say hello before the host gives up on it. */
const HELLO_TIMEOUT_MS = 5000;

/** A request still out: its events, and whether its 'X' or 'D' came (it is done with both). */
interface Request {
  events: SpawnEvents;
  exited: boolean;
  closed: boolean;
}

/** Payload bytes each frame type carries at least; a shorter frame means a helper out of step. */
const MIN_PAYLOAD: Record<string, number> = { H: 4, P: 4, F: 4, O: 0, E: 0, X: 8, D: 0 };

const signalName = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));
const errnoName = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export interface HelperSpawnerOptions {
  /** Called once if the helper dies (not on `stop()`); the processes it was running have been reported `lost`. */
  onDeath?(reason: string): void;
}

/** A running floe-spawner. */
export class HelperSpawner implements Spawner {
  readonly name = 'helper';
  private readonly requests = new Map<number, Request>();
  private nextId = 1;
  private pending: Buffer = Buffer.alloc(0);
  private deathReason: string | undefined;
  private stderrTail = '';
  private stopping = false;
  /** Set once it said hello: a helper that never started has nobody to tell of its death. */
  private ready = false;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    private readonly opts: HelperSpawnerOptions,
    private hello: (err?: Error) => void,
  ) {}

  /** Starts the helper at `binary` and waits for its hello; rejects if it does not start or answer. */
  static start(binary: string, opts: HelperSpawnerOptions = {}): Promise<HelperSpawner> {
    return new Promise((resolve, reject) => {
      // Its own session: a Ctrl-C at the host's terminal must not kill the helper while the
      // host is still giving its tasks their grace.
      const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: {} });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done(new Error(`no hello within ${HELLO_TIMEOUT_MS} ms`));
      }, HELLO_TIMEOUT_MS);
      const done = (err?: Error): void => {
        clearTimeout(timer);
        helper.hello = () => {};
        if (err) reject(err);
        else {
          helper.ready = true;
          helper.setRef(false);
          resolve(helper);
        }
      };
      const helper = new HelperSpawner(child, opts, done);
      child.once('error', (err) => done(err));
      // EPIPE and the like once the helper is gone: 'close' reports its death, once.
      for (const pipe of [child.stdin, child.stdout, child.stderr]) pipe.on('error', () => {});
      readTurnByTurn(child.stdout, (chunk) => helper.read(chunk));
      child.stderr.on('data', (chunk: Buffer) => {
        helper.stderrTail = (helper.stderrTail + chunk.toString('utf8')).slice(-500);
      });
      child.once('close', (code, sig) => helper.died(code, sig));
    });
  }

  /** The helper's pid, for its log line and tests. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  start(req: SpawnRequest, events: SpawnEvents): Spawned {
    const none = { closePipes: () => {} };
    if (this.deathReason !== undefined) {
      queueMicrotask(() => events.lost(this.deathReason ?? 'the spawner helper died'));
      return none;
    }
    if (hasNulByte(req)) {
      queueMicrotask(() => events.failed(NUL_IN_ARGUMENT));
      return none;
    }
    const id = this.nextId++;
    if (this.requests.size === 0) this.setRef(true);
    this.requests.set(id, { events, exited: false, closed: false });
    this.send('S', id, spawnPayload(req));
    return { closePipes: () => this.requests.has(id) && this.send('C', id) };
  }

  /** Stops the helper (tests; a host's helper ends with the host, when its stdin closes). */
  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('close', () => resolve());
      this.stopping = true;
      this.setRef(true); // 'died' unrefs again
      this.child.stdin.end();
    });
  }

  // While no request is out, the helper must not keep the host's event loop alive.
  private setRef(on: boolean): void {
    if (on) this.child.ref();
    else this.child.unref();
    // Node's pipes to a child are sockets, each holding the loop on its own.
    for (const pipe of [this.child.stdin, this.child.stdout, this.child.stderr]) {
      if (!(pipe instanceof Socket)) continue;
      if (on) pipe.ref();
      else pipe.unref();
    }
  }

  private send(type: 'S' | 'C', id: number, payload?: Buffer): void {
    const head = Buffer.allocUnsafe(9);
    head.writeUInt32LE(5 + (payload?.length ?? 0), 0);
    head.writeUInt8(type.charCodeAt(0), 4);
    head.writeUInt32LE(id, 5);
    this.child.stdin.write(payload ? Buffer.concat([head, payload]) : head);
  }

  private read(chunk: Buffer): void {
    // A frame split across chunks is completed with just the bytes it lacks: copying each whole
    // 64 KiB chunk onto the held part would double the cost of a task's output.
    let rest = chunk;
    while (this.pending.length > 0 && rest.length > 0) {
      const want = this.pending.length < 4 ? 4 : 4 + this.pending.readUInt32LE(0);
      const take = Math.min(want - this.pending.length, rest.length);
      this.pending = Buffer.concat([this.pending, rest.subarray(0, take)]);
      rest = rest.subarray(take);
      if (want > 4 && this.pending.length === want) {
        this.handleFrame(this.pending);
        this.pending = Buffer.alloc(0);
      }
    }
    while (rest.length >= 4 && rest.length >= 4 + rest.readUInt32LE(0)) {
      const end = 4 + rest.readUInt32LE(0);
      this.handleFrame(rest.subarray(0, end));
      rest = rest.subarray(end);
    }
    if (rest.length > 0) this.pending = Buffer.from(rest);
  }

  private handleFrame(f: Buffer): void {
    const type = String.fromCharCode(f[4] ?? 0);
    const min = MIN_PAYLOAD[type];
    if (f.length < 9 || min === undefined || f.length - 9 < min) {
      // A helper out of step with us: its death ('close') ends its tasks and the host goes on.
      this.child.kill('SIGKILL');
      return;
    }
    this.handle(type, f.readUInt32LE(5), f.subarray(9));
  }

  private handle(type: string, id: number, payload: Buffer): void {
    if (type === 'H') {
      const version = payload.readInt32LE(0);
      this.hello(version === PROTOCOL ? undefined : new Error(`speaks protocol ${version}, not ${PROTOCOL}`));
      return;
    }
    const r = this.requests.get(id);
    if (r === undefined) return;
    const ev = r.events;
    switch (type) {
      case 'P':
        ev.started(payload.readInt32LE(0));
        break;
      case 'F': {
        const errno = payload.readInt32LE(0);
        this.finish(id);
        ev.failed(errnoName.get(errno) ?? `errno ${errno}`);
        break;
      }
      case 'O':
      case 'E':
        ev.data(type === 'O' ? 'stdout' : 'stderr', payload);
        break;
      case 'X': {
        const code = payload.readInt32LE(0);
        const sig = payload.readInt32LE(4);
        r.exited = true;
        if (r.closed) this.finish(id);
        ev.exited(code < 0 ? null : code, code < 0 ? (signalName.get(sig) ?? `signal ${sig}`) : null);
        break;
      }
      case 'D':
        r.closed = true;
        if (r.exited) this.finish(id);
        ev.closed();
        break;
    }
  }

  private finish(id: number): void {
    this.requests.delete(id);
    if (this.requests.size === 0) this.setRef(false);
  }

  private died(code: number | null, sig: NodeJS.Signals | null): void {
    const how = sig !== null ? `was killed by ${sig}` : `exited with code ${code}`;
    const said = this.stderrTail.trim();
    this.deathReason = `the spawner helper (pid ${this.child.pid}) ${how}${said ? `: ${said}` : ''}`;
    this.hello(new Error(this.deathReason));
    const lost = [...this.requests.values()];
    this.requests.clear();
    this.setRef(false);
    for (const r of lost) r.events.lost(this.deathReason);
    if (this.ready && !this.stopping) this.opts.onDeath?.(this.deathReason);
  }
}

function spawnPayload(req: SpawnRequest): Buffer {
  const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
  const strings = [req.cwd, req.file, ...req.args, ...env].join('\0') + '\0';
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32LE(1 + req.args.length, 0);
  head.writeUInt32LE(env.length, 4);
  return Buffer.concat([head, Buffer.from(strings, 'utf8')]);
}
