import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadConfig } from '../config/validate.js';
import type { Config } from '../config/schema.js';
import { ConfigError, formatPos, type ConfigProblem } from '../errors.js';
import { Hub } from '../hub/hub.js';
import { INSTALL_DIR } from '../install-dir.js';
import type { ClusterDeps } from '../hub/deps.js';
import { createNodeRegistry } from '../nodes/index.js';
import type { NodeRegistry } from '../nodes/node-type.js';
import { currentSpawner } from '../nodes/process-group.js';
import type { SpawnerName } from '../nodes/spawner.js';
import { LevelStore } from '../store/level.js';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/store.js';
import { EventForwarder } from './event-forwarder.js';
import { LocalFlowFiles } from './flow-files.js';
import { gitPoller } from './git-poller.js';
import { HttpPeers } from './http-peers.js';
import { realClock } from './real-clock.js';
import { processReaper } from './reaper.js';
import { findSelfUrl, type SelfBind } from './self-url.js';
import { chooseSpawner } from './spawner-choice.js';
import { LocalWorkspaces } from './workspaces.js';

export interface HostOptions {
  configFile: string;
  hostName: string;
  tags: string[];
  /** Workspace root; overrides common.workspace-root. */
  root?: string;
  log: Logger;
  graceMs?: number;
  /** Published events kept for reconnecting subscribers; default the hub's (10,000). */
  eventHistory?: number;
  /** At most this many runs active here at once (-max_runs); default no limit. */
  maxRuns?: number;
  /** How this host finds itself in common.hosts and talks to its peers; without it the host runs alone. */
  cluster?: ClusterOptions;
}

export interface ClusterOptions {
  /** The cluster token peers share (-cluster_token, else the admin token). */
  token: string;
  /** The bind peers reach this host on: prv_bind, else pub_bind. */
  bind: SelfBind;
  /** Whether that bind serves TLS (its entry in common.hosts is then https). */
  tls: boolean;
  /** Per-request timeout to peers; default HttpPeers'. */
  timeoutMs?: number;
}

export interface Host {
  hub: Hub;
  config: Config;
  store: Store;
  workspaceRoot: string;
  /** How tasks start now: `helper` (posix_spawn) or `node`, which it falls back to if the helper dies. */
  spawner(): SpawnerName;
  /** Graceful stop: no new runs, running tasks get the grace period, state is persisted. */
  stop(): Promise<void>;
}

/** Loads and validates the config; ConfigError carries every problem with file:line:col. */
export async function loadHostConfig(file: string, registry: NodeRegistry): Promise<{ config: Config; warnings: ConfigProblem[] }> {
  const { config, problems } = await loadConfig(file, registry);
  const errors = problems.filter((p) => p.severity === 'error');
  if (!config || errors.length > 0) throw new ConfigError(problems);
  return { config, warnings: problems.filter((p) => p.severity === 'warning') };
}

/** Wires a hub to the real world: LevelDB (or memory), processes, the clock, the file system. */
export async function startHost(opts: HostOptions): Promise<Host> {
  const registry = createNodeRegistry();
  const { config, warnings } = await loadHostConfig(opts.configFile, registry);
  for (const w of warnings) opts.log.warn({ at: formatPos(w.at), field: w.at.path }, w.message);
  const configDir = path.dirname(path.resolve(opts.configFile));
  const workspaceRoot = path.resolve(opts.root ?? path.resolve(configDir, config.common.workspaceRoot ?? '.floe/ws'));
  const storeRoot = path.resolve(configDir, config.common.storeRoot ?? '.floe/store');
  const store: Store =
    config.common.storeType === 'memory' ? new MemoryStore() : await LevelStore.open(path.join(storeRoot, opts.hostName));
  const log = opts.log.child({ host: opts.hostName });
  const cluster = opts.cluster && (await clusterDeps(config.common.hosts, opts.cluster, log));
  await chooseSpawner(log);
  const flowFiles = new LocalFlowFiles(registry, configDir, undefined, log);
  const hub = new Hub(config, {
    hostName: opts.hostName,
    hostTags: opts.tags,
    clock: realClock,
    store,
    nodes: registry,
    workspaces: new LocalWorkspaces(workspaceRoot),
    cacheDir: path.join(storeRoot, 'cache'),
    baseEnv: hostEnv(),
    log,
    flowFiles,
    gitPoller,
    reaper: processReaper,
    graceMs: opts.graceMs,
    eventHistory: opts.eventHistory,
    maxRuns: opts.maxRuns,
    cluster,
  });
  // This host's events go to peers whose websocket clients follow live events.
  const forwarder = cluster && new EventForwarder({ hub, peers: cluster.peers, selfUrl: cluster.selfUrl, log });
  try {
    await hub.start();
  } catch (err) {
    await flowFiles.close();
    forwarder?.close();
    cluster?.peers.close();
    await store.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    hub,
    config,
    store,
    workspaceRoot,
    spawner: () => currentSpawner().name,
    stop: () =>
      (stopping ??= (async () => {
        await hub.stop();
        await flowFiles.close();
        forwarder?.close();
        cluster?.peers.close();
        await store.close();
      })()),
  };
}

/**
 * The hub's cluster deps when common.hosts lists this host; undefined (with a warning saying
 * why, when common.hosts is not empty) when the host runs alone.
 */
async function clusterDeps(hosts: string[], opts: ClusterOptions, log: Logger): Promise<(ClusterDeps & { peers: HttpPeers }) | undefined> {
  if (hosts.length === 0) return undefined;
  const selfUrl = findSelfUrl(hosts, opts.bind, opts.tls, localNames());
  if (selfUrl === undefined) {
    const bind = `${opts.tls ? 'https' : 'http'}://${opts.bind.host.includes(':') ? `[${opts.bind.host}]` : opts.bind.host}:${opts.bind.port}`;
    const why =
      opts.bind.port === 0
        ? 'a port 0 bind gets its port only when it listens, so no entry can name it'
        : 'an entry must have its scheme and port, and its host (any loopback name for a loopback bind; any name for 0.0.0.0 or ::, if only one entry fits)';
    log.warn(
      { bind, hosts },
      `this host runs alone, without peers: no entry of common.hosts [${hosts.join(', ')}] is its bind ${bind}; ${why}`,
    );
    return undefined;
  }
  log.info({ selfUrl, hosts }, `this host is ${selfUrl} in a cluster of ${hosts.length}`);
  const peers = new HttpPeers({ token: opts.token, timeoutMs: opts.timeoutMs });
  return { peers, selfUrl, version: await floeVersion(), boot: randomBytes(8).toString('hex') };
}

/** The machine's own names and addresses, to tell which of several entries a wildcard bind is. */
function localNames(): string[] {
  const addrs = Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
  return [os.hostname(), ...addrs];
}

/** floe's version from its package.json, told to peers. */
async function floeVersion(): Promise<string> {
  try {
    const pkg: unknown = JSON.parse(await readFile(path.join(INSTALL_DIR, 'package.json'), 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // A copy without its package.json still runs; peers just see no version.
  }
  return 'unknown';
}

/** The host's environment minus what only floe itself should see. */
function hostEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FLOE_')) env[k] = v;
  return env;
}
