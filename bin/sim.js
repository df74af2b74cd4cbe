#!/usr/bin/env node
// Runs the deterministic cluster simulation (src/testing/sim) over many seeds, or replays one:
// `npm run sim -- --seeds 100000`, `npm run sim -- --seed 42`.
let cli;
try {
  cli = await import('../dist/src/testing/sim/cli.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  process.stderr.write('sim: no dist/src/testing/sim/cli.js; run `npm run build` first\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
