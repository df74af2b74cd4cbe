import { fileURLToPath } from 'node:url';

/*
 * The floe folder (where package.json, webapp/ and native/ are), for the files a host reads
 * beside its code. Resolved from this module's own place, which is two levels below that folder
 * both where tsc puts it (dist/src/install-dir.js) and inside the host bundle that bin/floe.js
 * runs (dist/src/floe.bundle.mjs, bin/build-host.js): a path relative to any deeper module
 * would point elsewhere once bundled.
 */
export const INSTALL_DIR = fileURLToPath(new URL('../../', import.meta.url));
