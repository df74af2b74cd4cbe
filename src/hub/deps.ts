import type { Config, FlowConfig } from '../config/schema.js';
import type { NodeRegistry } from '../nodes/node-type.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../model/clock.js';
import type { RunRef } from '../model/refs.js';
import type { Values } from '../model/values.js';
import type { Peers } from '../cluster/messages.js';

/** The directory a run works in: where it is, and making it. */
export interface Workspaces {
  /** Where run `ref` of `flow` works; no I/O, so the activation's write can name it while it is made. */
  pathOf(ref: RunRef, flow: FlowConfig): string;
  /** Makes (or reuses) a directory `pathOf` named. */
  prepare(dir: string): Promise<void>;
}

/** Loads a flow's `flow-file` when one of its runs starts. */
export interface FlowFileLoader {
  load(flow: FlowConfig, values: Values, config: Config): Promise<FlowConfig>;
}

/** One observed ref of a polled git repository. */
export interface GitRefState {
  ref: string;
  hash: string;
}

/** Lists a remote repository's refs for poll-git triggers. */
export interface GitPoller {
  listRefs(url: string, patterns: string[], gitKey?: string): Promise<GitRefState[]>;
}

/** Kills process groups a run left behind: when it ends, or after the host crashed. */
export interface ProcessReaper {
  /** What identifies the group's leader now (e.g. boot id and start time), if it can tell. */
  identify(pgid: number): string | undefined;
  /** Kill the group unless `id` shows its pgid now belongs to someone else. */
  kill(pgid: number, id?: string): void;
}

/** The structured logger the hub writes its run state changes to (pino-compatible subset). */
export interface HubLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface HubDeps {
  hostName: string;
  hostTags: string[];
  clock: Clock;
  store: Store;
  nodes: NodeRegistry;
  workspaces: Workspaces;
  /** Directory for caches that outlive runs. */
  cacheDir: string;
  /** Environment every task starts from (the host's own, usually). */
  baseEnv?: Record<string, string>;
  log?: HubLog;
  flowFiles?: FlowFileLoader;
  gitPoller?: GitPoller;
  reaper?: ProcessReaper;
  /** How many published events to keep for subscribers that reconnect. Default 10,000. */
  eventHistory?: number;
  /** Time running tasks get to finish on `stop()` before they are killed. Default 10s. */
  graceMs?: number;
  /** At most this many runs active here at once (`-max_runs`); undefined: no limit. */
  maxRuns?: number;
  /** The other hosts; absent for a host on its own. */
  cluster?: ClusterDeps;
}

/** How a hub reaches its peers, and who it is among `common.hosts`. */
export interface ClusterDeps {
  peers: Peers;
  /** This host's URL exactly as `common.hosts` lists it. */
  selfUrl: string;
  /** floe's version, told to peers. */
  version: string;
  /** Differs on every start (e.g. random hex), so peers tell a restart from a pause. */
  boot: string;
  /** Heartbeat period. Default 500 ms; a peer silent for `offlineAfterMs` (default 2,000 ms) is offline. */
  heartbeatMs?: number;
  offlineAfterMs?: number;
}
