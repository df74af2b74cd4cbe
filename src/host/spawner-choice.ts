import type { Logger } from 'pino';
import { HELPER_BINARY, HelperSpawner } from '../nodes/helper-spawner.js';
import { nodeSpawner } from '../nodes/node-spawner.js';
import { currentSpawner, useSpawner } from '../nodes/process-group.js';
import type { SpawnerName } from '../nodes/spawner.js';

export interface SpawnerChoiceOptions {
  /** The helper's binary; default where `npm install` builds it. */
  binary?: string;
  /** `node` forces Node's spawn; anything else tries the helper first. Default FLOE_SPAWNER. */
  force?: string;
}

/** Why tasks start with Node's spawn, once they do. */
let whyNode = '';
let chosen: Promise<void> | undefined;

/**
 * Picks how tasks start, once per process (hosts in one process share it), and logs it on
 * `log`, one line per host: through the posix_spawn helper if its binary exists and says
 * hello, else with Node's spawn.
 */
export async function chooseSpawner(log: Logger, opts: SpawnerChoiceOptions = {}): Promise<SpawnerName> {
  chosen ??= pickSpawner(log, opts);
  await chosen;
  const s = currentSpawner();
  if (s instanceof HelperSpawner) log.info({ spawner: s.name, pid: s.pid }, 'tasks start through floe-spawner (posix_spawn)');
  else log.info({ spawner: s.name, why: whyNode }, `tasks start with Node's spawn: ${whyNode}`);
  return s.name;
}

/**
 * Tries the helper and makes the outcome the spawner of every later task (`chooseSpawner`
 * does this once; tests call it directly). If the helper dies later, the tasks it ran end bad
 * and every later task starts with Node's spawn; `log` gets a warning.
 */
export async function pickSpawner(log: Logger, opts: SpawnerChoiceOptions = {}): Promise<void> {
  const force = opts.force ?? process.env.FLOE_SPAWNER;
  if (force === 'node') {
    whyNode = 'FLOE_SPAWNER=node';
    useSpawner(nodeSpawner);
    return;
  }
  const binary = opts.binary ?? HELPER_BINARY;
  try {
    const helper = await HelperSpawner.start(binary, {
      onDeath: (reason) => {
        if (currentSpawner() !== helper) return;
        whyNode = reason;
        useSpawner(nodeSpawner);
        log.warn({ spawner: 'node', reason }, `${reason}; its tasks ended bad, and tasks now start with Node's spawn`);
      },
    });
    useSpawner(helper);
  } catch (err) {
    whyNode = `the helper ${binary} did not start (${err instanceof Error ? err.message : String(err)})`;
    useSpawner(nodeSpawner);
  }
}
