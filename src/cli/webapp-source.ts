import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { WEBAPP_DIST, WEBAPP_SRC, watchWebapp } from '../server/webapp/bundle.js';
import { webappFiles, type WebappFiles } from '../server/webapp/files.js';

/** Where the host's dashboard comes from, and how to let it go at stop. */
export interface WebappSource {
  files: WebappFiles;
  close(): Promise<void>;
}

/**
 * The built bundle, or with `-dev` a bundle esbuild rebuilds from webapp/ on every change, in a
 * temp folder of its own (the built one is left alone, so `npm run build` output stays true).
 */
export async function webappSource(dev: boolean, log: Logger, srcDir = WEBAPP_SRC): Promise<WebappSource> {
  if (!dev) return { files: webappFiles(WEBAPP_DIST, true), close: async () => {} };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-webapp-'));
  try {
    const watch = await watchWebapp(
      dir,
      (error) => {
        if (error) log.error({ error }, 'webapp rebuild failed; the last good bundle is served');
        else log.info({ from: srcDir }, 'webapp rebuilt');
      },
      srcDir,
    );
    log.info({ from: srcDir }, '-dev: serving the webapp from its sources, rebuilt on change');
    return {
      files: webappFiles(dir, false),
      close: async () => {
        await watch.dispose();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
