import path from 'node:path';
import type { Logger } from 'pino';
import { loadConfig } from '../config/validate.js';
import type { Config } from '../config/schema.js';
import { ConfigError, formatPos, type ConfigProblem } from '../errors.js';
import { Hub } from '../hub/hub.js';
import { createNodeRegistry } from '../nodes/index.js';
import type { NodeRegistry } from '../nodes/node-type.js';
import { LevelStore } from '../store/level.js';
import { MemoryStore } from '../store/memory.js';
import type { Store } from '../store/store.js';
import { LocalFlowFiles } from './flow-files.js';
import { gitPoller } from './git-poller.js';
import { realClock } from './real-clock.js';
import { processReaper } from './reaper.js';
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
}

export interface Host {
  hub: Hub;
  config: Config;
  store: Store;
  workspaceRoot: string;
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
    flowFiles: new LocalFlowFiles(registry, configDir),
    gitPoller,
    reaper: processReaper,
    graceMs: opts.graceMs,
    eventHistory: opts.eventHistory,
  });
  try {
    await hub.start();
  } catch (err) {
    await store.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    hub,
    config,
    store,
    workspaceRoot,
    stop: () =>
      (stopping ??= (async () => {
        await hub.stop();
        await store.close();
      })()),
  };
}

/** The host's environment minus what only floe itself should see. */
function hostEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FLOE_')) env[k] = v;
  return env;
}
