/** Which mechanism starts task processes: Node's child_process, or the posix_spawn helper. */
export type SpawnerName = 'node' | 'helper';

export type ProcessStream = 'stdout' | 'stderr';

/** One process to start as the leader of a new process group, stdin /dev/null, stdout and stderr piped. */
export interface SpawnRequest {
  file: string;
  args: readonly string[];
  cwd: string;
  /** The complete environment: nothing is inherited. */
  env: Record<string, string>;
}

/**
 * What a spawner reports about one process, in this order: `started` or `failed` first (once);
 * after `started`, `data` until `closed`, and `exited` once, in any order relative to those;
 * `lost` may replace whatever has not come yet.
 */
export interface SpawnEvents {
  /** The process exists, leading group `pid`. */
  started(pid: number): void;
  /** It could not start; `code` is the errno name (ENOENT, EACCES, ...). */
  failed(code: string): void;
  data(stream: ProcessStream, chunk: Buffer): void;
  /** The process exited: its code, or the name of the signal that ended it. */
  exited(code: number | null, signal: string | null): void;
  /** Both pipes reached their end or were closed: no more `data`. */
  closed(): void;
  /** The spawner itself is gone: nothing more will come for this process. */
  lost(reason: string): void;
}

/** A process a spawner was asked to start. */
export interface Spawned {
  /** Stops reading its pipes (those a background child may hold open forever); `closed` follows. */
  closePipes(): void;
}

export interface Spawner {
  readonly name: SpawnerName;
  /** Starts `req`; every outcome, even a bad argument, arrives through `events`. */
  start(req: SpawnRequest, events: SpawnEvents): Spawned;
}

/** What Node's spawn reports for a string holding a NUL byte, which no argv or env entry can carry. */
export const NUL_IN_ARGUMENT = 'ERR_INVALID_ARG_VALUE';

/** True when some string of `req` cannot reach execve (it holds a NUL byte). */
export function hasNulByte(req: SpawnRequest): boolean {
  const has = (s: string): boolean => s.includes('\0');
  return has(req.file) || has(req.cwd) || req.args.some(has) || Object.entries(req.env).some(([k, v]) => has(k) || has(v));
}
