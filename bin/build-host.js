#!/usr/bin/env node
// `npm run build`, after tsc: bundles the host (dist/src/cli/main.js and all it imports) into one
// file, dist/src/floe.bundle.mjs, which bin/floe.js runs. One whitespace- and syntax-minified
// module instead of ~300 files and their comments: an idle host is ~7 MB smaller
// (docs/performance.md). Names are kept, so stack traces still read; the map beside it leads
// back to dist/src (run with --enable-source-maps to use it). Tests import dist/src directly.
import { rename, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/src/floe.bundle.mjs`;
try {
  const { build } = await import('esbuild');
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['dist/src/cli/main.js'],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    // Native addons and the build tool stay in node_modules; so do the packages the host loads
    // only on first use (git, fetch, pretty logs), which would otherwise sit in every host's memory.
    external: ['level', 'classic-level', 'esbuild', 'simple-git', 'node-fetch', 'pino-pretty'],
    // koa's accepts@1 brings its own older mime-db: one copy of the database serves both.
    alias: { 'mime-db': `${root}node_modules/mime-db` },
    // CommonJS packages inside an ES module still call require() for node's built-ins.
    banner: { js: "import { createRequire as __floeRequire } from 'node:module'; const require = __floeRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  if (result.errors.length > 0) process.exit(1);
  // Written beside, then renamed (the map first): a host starting meanwhile (start.sh while a
  // test run rebuilds) loads the old bundle or the new one, whole, never half of one.
  const files = [...result.outputFiles].sort((a, b) => Number(b.path.endsWith('.map')) - Number(a.path.endsWith('.map')));
  for (const f of files) {
    await writeFile(`${f.path}.tmp`, f.contents);
    try {
      await rename(`${f.path}.tmp`, f.path);
    } catch (err) {
      await rm(`${f.path}.tmp`, { force: true });
      throw err;
    }
  }
  process.stdout.write('host: dist/src/floe.bundle.mjs\n');
} catch (err) {
  process.stderr.write(`host: bundle failed: ${err?.errors?.map((e) => `${e.location?.file}:${e.location?.line}:${e.location?.column}: ${e.text}`).join('\n') ?? err?.message ?? err}\n`);
  process.exit(1);
}
