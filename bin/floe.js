#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` / `npm run build`).
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

// V8 grows its young generation up to 32 MB under a burst (loading modules, a flood of runs or
// output) and gives it back only after seconds of low allocation. Kept at its first size, an idle
// host is ~4 MB smaller and one after 10,000 runs ~20 MB smaller, with no cost measured in
// chain-20, runs-local or output-lines (docs/performance.md). Set before anything is loaded,
// since V8 reads it whenever it would grow the space.
v8.setFlagsFromString('--semi-space-growth-factor=1');
// Loading the host runs its modules' top-level code once (koa's mime tables, the schema, ...),
// hot enough that TurboFan compiled it in the background: code and compiler memory an idle host
// then kept for nothing, 4 MB of its RSS. It is back on before the host starts.
v8.setFlagsFromString('--no-turbofan');

// The whole host in one module (bin/build-host.js): a smaller idle host than dist/src's ~300 files.
const cli = new URL('../dist/src/floe.bundle.mjs', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('floe is not built yet: run `npm install` (or `npm run build`) in the floe folder first\n');
  process.exit(1);
}
// `tsc` alone updates dist/src (what the tests run) but not the bundle: say so, rather than
// run code older than what was just compiled.
const mainJs = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(fileURLToPath(mainJs)) && statSync(mainJs).mtimeMs > statSync(cli).mtimeMs + 1000) {
  process.stderr.write('floe: dist/src is newer than the bundle it runs (dist/src/floe.bundle.mjs): run `npm run build`\n');
}
const { main } = await import(cli.href);
v8.setFlagsFromString('--turbofan');
process.exit(await main(process.argv.slice(2)));
