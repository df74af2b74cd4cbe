import { createRequire } from 'node:module';
import path from 'node:path';
import { INSTALL_DIR } from '../install-dir.js';

/** Where `npm install` builds the addon (bin/build-native.js), if there was a C compiler. */
export const TRIM_ADDON = path.join(INSTALL_DIR, 'native', 'build', 'floe-trim.node');

/** Gives the pages malloc holds free back to the system; true when some went. */
export type MallocTrim = () => boolean;

/**
 * glibc's malloc_trim through native/trim.c, or undefined where the addon was not built or does
 * not load (no C compiler at install, a libc other than glibc): the host then runs without it.
 */
export function loadMallocTrim(file = TRIM_ADDON): MallocTrim | undefined {
  try {
    const addon: unknown = createRequire(import.meta.url)(file);
    if (typeof addon !== 'object' || addon === null || !('trim' in addon) || typeof addon.trim !== 'function') return undefined;
    const trim = addon.trim as () => unknown;
    return () => trim() === true;
  } catch {
    return undefined;
  }
}
