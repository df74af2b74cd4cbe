import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { nodeSpawner } from './node-spawner.js';
import type { ProcessStream, Spawned, Spawner } from './spawner.js';

export type { ProcessStream } from './spawner.js';

/** One process to run in a fresh process group. */
export interface ProcessSpec {
  file: string;
  args: readonly string[];
  /** Must exist; a missing cwd is reported as such, not as a missing command. */
  cwd: string;
  /** The complete environment: nothing is inherited from this process. */
  env: Record<string, string>;
  /**
   * Called for each line (no newline, no trailing \r) as soon as it is complete; a line longer
   * than MAX_LINE_BYTES arrives as consecutive pieces of at most that many bytes.
   */
  onLine(stream: ProcessStream, line: string): void;
  /** Called once the process exists, with its process group id (== its pid). */
  onStart?(pgid: number): void;
  /** After an abort: time between SIGTERM and SIGKILL to the group. Default 2000 ms. */
  killGraceMs?: number;
  /** After the process exits: how long to keep reading pipes that background children hold open. Default 2000 ms. */
  drainMs?: number;
}

/** How the process ended. Never a thrown error: spawn failures are statuses too. */
export interface ProcessExit {
  /** Exit status as a shell reports it: the exit code, 128+n for signal n, 127/126 when it could not start. */
  status: number;
  signal?: string;
  /** Set when there is no process output to explain the status. */
  reason?: string;
}

let spawner: Spawner = nodeSpawner;

/** Makes `s` start every later process of this host (the host picks one at start; Node's until then). */
export function useSpawner(s: Spawner): void {
  spawner = s;
}

/** The spawner later processes start with. */
export function currentSpawner(): Spawner {
  return spawner;
}

// Detached groups do not die with this process, so groups still running when it exits are
// killed here; a crash (SIGKILL of floe) is covered by onStart + the reaper.
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function trackGroup(pgid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const g of liveGroups) killGroup(g, 'SIGKILL');
    });
  }
  liveGroups.add(pgid);
}

/** Sends `sig` to every process in group `pgid`; false when the group is gone. */
export function killGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false; // ESRCH: nobody left in the group
  }
}

/**
 * Longest line kept whole, in UTF-8 bytes. Stack traces, compiler errors and JSON log records
 * run to a few KiB, so they stay one line; a minified bundle or base64 blob is kept in full but
 * as several lines, so no stored line or event grows with what a task prints.
 */
export const MAX_LINE_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines: `\n` ends a line, a trailing `\r` is dropped, a final
 * partial line is flushed. A line longer than `maxBytes` is emitted as pieces of at most
 * `maxBytes`, cut between characters; `continues` is true on each piece but a line's last.
 */
export class LineSplitter {
  // Held as chunks and searched only once each: rejoining or rescanning the held text per chunk
  // made a long line cost the square of its length. At most about `maxBytes` are held.
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly emit: (line: string, continues: boolean) => void,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 4)
      throw new RangeError(`maxBytes must be an integer >= 4 (one UTF-8 character), got ${maxBytes}`);
  }

  /** Takes the next chunk; strings are taken as UTF-8 text. */
  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    // A 0x0a byte is never part of a multi-byte UTF-8 character, so bytes split safely on it.
    for (let nl = buf.indexOf(LF); nl !== -1; nl = buf.indexOf(LF, start)) {
      if (this.heldBytes === 0 && nl - start <= this.maxBytes) {
        // The usual line, whole within the chunk: decoded straight from it, with no view, array
        // or copy made per line (they were most of a flood's garbage besides the lines).
        const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
        this.emit(buf.toString('utf8', start, end), false);
      } else {
        this.hold(buf.subarray(start, nl));
        this.emitLine(this.takeHeld());
      }
      start = nl + 1;
    }
    if (start < buf.length) {
      this.hold(buf.subarray(start));
      this.emitFullPieces();
    }
  }

  /** Emits the held last line, if the stream ended without a newline. */
  flush(): void {
    if (this.heldBytes > 0) this.emitLine(this.takeHeld());
  }

  private hold(b: Buffer): void {
    if (b.length === 0) return;
    this.held.push(b);
    this.heldBytes += b.length;
  }

  private takeHeld(): Buffer {
    const b = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    return b;
  }

  /** Emits the pieces of an unfinished line that are sure not to be its end. */
  private emitFullPieces(): void {
    // Two bytes stay held past a piece: were they `\r` then `\n`, a cut just before them would
    // leave an empty last piece, and the pieces would depend on how the stream was chunked.
    if (this.heldBytes < this.maxBytes + 2) return;
    let b = this.takeHeld();
    while (b.length >= this.maxBytes + 2) {
      const cut = charBoundary(b, this.maxBytes);
      this.emit(b.toString('utf8', 0, cut), true);
      b = b.subarray(cut);
    }
    this.hold(b);
  }

  private emitLine(line: Buffer): void {
    let b = line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, -1) : line;
    while (b.length > this.maxBytes) {
      const cut = charBoundary(b, this.maxBytes);
      this.emit(b.toString('utf8', 0, cut), true);
      b = b.subarray(cut);
    }
    this.emit(b.toString('utf8'), false);
  }
}

/** The largest cut <= `max` that does not split a UTF-8 character (`max` itself for bytes that are not UTF-8). */
function charBoundary(b: Buffer, max: number): number {
  // A continuation byte (10xxxxxx) belongs to the character before it; a character has at most three.
  for (let cut = max; cut > max - 4; cut--) {
    // Past the end there is no byte to continue a character: a cut there is a boundary.
    if (((b[cut] ?? 0) & 0xc0) !== 0x80) return cut;
  }
  return max;
}

export function signalStatus(sig: string): number {
  const n = (constants.signals as Record<string, number | undefined>)[sig];
  return 128 + (n ?? 0);
}

/**
 * Runs one process as the leader of a new process group, streaming its output line by
 * line. Aborting `signal` kills the whole group (SIGTERM, then SIGKILL after the grace).
 * Always resolves, once the process has exited and its output is read. `using` defaults to
 * the host's spawner (`useSpawner`).
 */
export function runInProcessGroup(spec: ProcessSpec, signal: AbortSignal, using: Spawner = spawner): Promise<ProcessExit> {
  if (signal.aborted) return Promise.resolve({ status: signalStatus('SIGTERM'), signal: 'SIGTERM', reason: 'cancelled before it started' });

  return new Promise((resolve) => {
    const splitters = {
      stdout: new LineSplitter((line) => spec.onLine('stdout', line)),
      stderr: new LineSplitter((line) => spec.onLine('stderr', line)),
    };
    let pgid: number | undefined;
    let exit: { code: number | null; signal: string | null } | undefined;
    let pipesClosed = false;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const onAbort = (): void => {
      if (pgid === undefined) return; // not started yet: `started` calls this again
      const group = pgid;
      killGroup(group, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(group, 'SIGKILL'), spec.killGraceMs ?? 2000);
    };
    signal.addEventListener('abort', onAbort, { once: true });

    const settle = (result: ProcessExit | Promise<ProcessExit>): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      clearTimeout(drainTimer);
      clearTimeout(killTimer);
      if (pgid !== undefined) {
        // After an abort nothing of the tree may outlive the task, even what ignored SIGTERM.
        if (signal.aborted) killGroup(pgid, 'SIGKILL');
        liveGroups.delete(pgid);
      }
      resolve(result);
    };
    const settleIfDone = (): void => {
      if (exit === undefined || !pipesClosed) return;
      if (exit.signal !== null) settle({ status: signalStatus(exit.signal), signal: exit.signal });
      else settle({ status: exit.code ?? 1 });
    };

    const spawned: Spawned = using.start(spec, {
      started(pid) {
        pgid = pid;
        trackGroup(pid);
        spec.onStart?.(pid);
        if (signal.aborted) onAbort();
      },
      failed: (code) => settle(spawnFailure(spec, code)),
      data: (stream, chunk) => splitters[stream].push(chunk),
      exited(code, sig) {
        exit = { code, signal: sig };
        // A background grandchild may hold the pipes open forever; stop waiting for it
        // (Go's exec.Cmd.WaitDelay does the same).
        if (!pipesClosed) drainTimer = setTimeout(() => spawned.closePipes(), spec.drainMs ?? 2000);
        settleIfDone();
      },
      closed() {
        pipesClosed = true;
        clearTimeout(drainTimer);
        splitters.stdout.flush();
        splitters.stderr.flush();
        settleIfDone();
      },
      lost(reason) {
        if (pgid === undefined) {
          settle({ status: 127, reason: `could not start ${spec.file}: ${reason}` });
          return;
        }
        splitters.stdout.flush();
        splitters.stderr.flush();
        // Nobody is left to see the process end, so it may not outlive the task.
        killGroup(pgid, 'SIGKILL');
        settle({ status: signalStatus('SIGKILL'), signal: 'SIGKILL', reason: `${reason}; its process group was killed` });
      },
    });
  });
}

async function spawnFailure(spec: ProcessSpec, code: string): Promise<ProcessExit> {
  // spawn reports a missing cwd as ENOENT too; say which one is missing.
  const cwdExists = await stat(spec.cwd).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!cwdExists) return { status: 127, reason: `working directory not found: ${spec.cwd}` };
  if (code === 'EACCES') return { status: 126, reason: `permission denied: ${spec.file}` };
  if (code === 'ENOENT') return { status: 127, reason: `command not found: ${spec.file}` };
  return { status: 127, reason: `could not start ${spec.file}: ${code}` };
}
