import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildOptions, BuildResult, Metafile } from 'esbuild';
import { INSTALL_DIR } from '../../install-dir.js';

/** The repository's webapp folder: the dashboard's sources. */
export const WEBAPP_SRC = path.join(INSTALL_DIR, 'webapp');
/** Where `npm run build` puts the bundle the host serves. */
export const WEBAPP_DIST = path.join(INSTALL_DIR, 'dist', 'webapp');

/** Which hashed files the page loads, written beside them as manifest.json. */
export interface WebappManifest {
  js: string;
  css: string;
}

export interface BundleReport {
  manifest: WebappManifest;
  /** Bytes of each output file. */
  bytes: Record<string, number>;
}

// esbuild is a build tool (a devDependency): only `npm run build` and `-dev` load it.
async function esbuild(): Promise<typeof import('esbuild')> {
  try {
    return await import('esbuild');
  } catch (err) {
    throw new Error(`the webapp needs esbuild to build (npm ci installs it): ${(err as Error).message}`);
  }
}

function options(outDir: string, dev: boolean, srcDir = WEBAPP_SRC): BuildOptions {
  return {
    entryPoints: { app: path.join(srcDir, 'src', 'main.tsx') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // Hashed names: the page may be cached for ever, index.html (served by the host) never is.
    entryNames: '[name]-[hash]',
    minify: !dev,
    sourcemap: dev ? 'inline' : 'linked',
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
  };
}

function manifestOf(meta: Metafile, outDir: string): WebappManifest {
  const outs = Object.keys(meta.outputs).map((o) => path.relative(outDir, path.resolve(o)));
  const js = outs.find((o) => o.endsWith('.js'));
  const css = outs.find((o) => o.endsWith('.css'));
  if (!js || !css) throw new Error(`the webapp bundle lacks its ${js ? 'css' : 'js'} file (outputs: ${outs.join(', ')})`);
  return { js, css };
}

async function writeManifest(result: BuildResult, outDir: string): Promise<BundleReport> {
  if (!result.metafile) throw new Error('esbuild gave no metafile');
  const manifest = manifestOf(result.metafile, outDir);
  await writeFile(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest)}\n`);
  const bytes: Record<string, number> = {};
  for (const [file, out] of Object.entries(result.metafile.outputs)) bytes[path.relative(outDir, path.resolve(file))] = out.bytes;
  return { manifest, bytes };
}

/** Builds the dashboard into `outDir` (emptied first), minified, for `npm run build`. */
export async function bundleWebapp(outDir = WEBAPP_DIST): Promise<BundleReport> {
  const { build } = await esbuild();
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  return writeManifest(await build(options(outDir, false)), outDir);
}

export interface WebappWatch {
  dispose(): Promise<void>;
}

/**
 * `-dev`: rebuilds into `outDir` whenever a source changes, so a reload shows the edit. The
 * first build is awaited; a failed rebuild is reported and the last good bundle stays served.
 */
export async function watchWebapp(outDir: string, report: (error: string | undefined) => void, srcDir = WEBAPP_SRC): Promise<WebappWatch> {
  const { context } = await esbuild();
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  let first: ((err?: Error) => void) | undefined;
  const firstBuilt = new Promise<void>((resolve, reject) => {
    first = (err) => (err ? reject(err) : resolve());
  });
  const ctx = await context({
    ...options(outDir, true, srcDir),
    // Written here rather than by esbuild: onEnd runs before esbuild writes, and the manifest
    // must never name a file that is not there yet.
    write: false,
    plugins: [
      {
        name: 'floe-manifest',
        setup(b) {
          b.onEnd(async (result) => {
            const error = result.errors.length > 0 ? result.errors.map((e) => e.text).join('; ') : undefined;
            if (!error) {
              for (const f of result.outputFiles ?? []) await writeFile(f.path, f.contents);
              await writeManifest(result, outDir);
            }
            report(error);
            first?.(error ? new Error(`the webapp does not build: ${error}`) : undefined);
            first = undefined;
          });
        },
      },
    ],
  });
  await ctx.watch();
  try {
    await firstBuilt;
  } catch (err) {
    await ctx.dispose();
    throw err;
  }
  return { dispose: () => ctx.dispose() };
}
