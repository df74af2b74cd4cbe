import path from 'node:path';
import { loadConfig } from '../config/validate.js';
import { ConfigError, formatPos } from '../errors.js';
import { Hub } from '../hub/hub.js';
import { createNodeRegistry } from '../nodes/index.js';
import { LevelStore } from '../store/level.js';
import { MemoryStore } from '../store/memory.js';
import { LocalFlowFiles } from './flow-files.js';
import { gitPoller } from './git-poller.js';
import { realClock } from './real-clock.js';
import { processReaper } from './reaper.js';
import { LocalWorkspaces } from './workspaces.js';
/** Loads and validates the config; ConfigError carries every problem with file:line:col. */
export async function loadHostConfig(file, registry) {
    const { config, problems } = await loadConfig(file, registry);
    const errors = problems.filter((p) => p.severity === 'error');
    if (!config || errors.length > 0)
        throw new ConfigError(problems);
    return { config, warnings: problems.filter((p) => p.severity === 'warning') };
}
/** Wires a hub to the real world: LevelDB (or memory), processes, the clock, the file system. */
export async function startHost(opts) {
    const registry = createNodeRegistry();
    const { config, warnings } = await loadHostConfig(opts.configFile, registry);
    for (const w of warnings)
        opts.log.warn({ at: formatPos(w.at), field: w.at.path }, w.message);
    const configDir = path.dirname(path.resolve(opts.configFile));
    const workspaceRoot = path.resolve(opts.root ?? path.resolve(configDir, config.common.workspaceRoot ?? '.floe/ws'));
    const storeRoot = path.resolve(configDir, config.common.storeRoot ?? '.floe/store');
    const store = config.common.storeType === 'memory' ? new MemoryStore() : await LevelStore.open(path.join(storeRoot, opts.hostName));
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
    });
    try {
        await hub.start();
    }
    catch (err) {
        await store.close();
        throw err;
    }
    let stopping;
    return {
        hub,
        config,
        store,
        workspaceRoot,
        stop: () => (stopping ??= (async () => {
            await hub.stop();
            await store.close();
        })()),
    };
}
/** The host's environment minus what only floe itself should see. */
function hostEnv() {
    const env = {};
    for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !k.startsWith('FLOE_'))
            env[k] = v;
    return env;
}
//# sourceMappingURL=host.js.map