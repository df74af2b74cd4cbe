import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { WebappManifest } from './bundle.js';

/** One file of the bundle, ready to send. */
export interface WebappAsset {
  body: Buffer;
  type: string;
}

/** The built dashboard as the server reads it: a folder of hashed files and their manifest. */
export interface WebappFiles {
  /** The hashed file names the page loads; undefined when no bundle was built. */
  manifest(): Promise<WebappManifest | undefined>;
  /** A file of the bundle by its bare name; undefined for anything else. */
  asset(name: string): Promise<WebappAsset | undefined>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Bare file names only: no folder, no dot-file, so a request never leaves the bundle's folder. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/**
 * Files under `dir`. `cache` keeps each file once read (the built bundle never changes while
 * the host runs); `-dev` reads afresh, since esbuild rewrites the folder on every change.
 */
export function webappFiles(dir: string, cache: boolean): WebappFiles {
  const kept = new Map<string, WebappAsset | undefined>();
  let manifest: WebappManifest | undefined;

  async function read(name: string): Promise<WebappAsset | undefined> {
    const type = TYPES[path.extname(name)];
    if (!type || !ASSET_NAME.test(name)) return undefined;
    try {
      // Checked after symlinks are resolved: a link in the folder must not serve a file outside it.
      const root = await realpath(dir);
      const file = await realpath(path.join(root, name));
      if (path.dirname(file) !== root) return undefined;
      return { body: await readFile(file), type };
    } catch {
      return undefined;
    }
  }

  return {
    async manifest() {
      if (cache && manifest) return manifest;
      try {
        const parsed = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Partial<WebappManifest>;
        if (typeof parsed.js !== 'string' || typeof parsed.css !== 'string') return undefined;
        manifest = { js: parsed.js, css: parsed.css };
        return manifest;
      } catch {
        return undefined;
      }
    },
    async asset(name) {
      if (!cache) return read(name);
      if (kept.has(name)) return kept.get(name);
      const found = await read(name);
      // Only real files are kept: misses are not, so a flood of made-up names cannot grow memory.
      if (found) kept.set(name, found);
      return found;
    },
  };
}
