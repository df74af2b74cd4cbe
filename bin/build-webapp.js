#!/usr/bin/env node
// `npm run build`, after tsc: bundles the dashboard (webapp/src) into dist/webapp with esbuild.
const { bundleWebapp, WEBAPP_DIST } = await import('../dist/src/server/webapp/bundle.js');
const { gzipSync } = await import('node:zlib');
const { readFile } = await import('node:fs/promises');
const path = await import('node:path');
try {
  const report = await bundleWebapp();
  const sizes = [];
  for (const file of [report.manifest.js, report.manifest.css]) {
    const body = await readFile(path.join(WEBAPP_DIST, file));
    sizes.push(`${file} ${(body.length / 1024).toFixed(1)} KiB (${(gzipSync(body).length / 1024).toFixed(1)} KiB gzipped)`);
  }
  process.stdout.write(`webapp: ${sizes.join(', ')}\n`);
} catch (err) {
  process.stderr.write(`webapp: build failed: ${err?.errors?.map((e) => `${e.location?.file}:${e.location?.line}:${e.location?.column}: ${e.text}`).join('\n') ?? err?.message ?? err}\n`);
  process.exit(1);
}
