#!/usr/bin/env node
// Runs the property-based fuzz tests (dist/test/**/*.fuzz.test.js) for longer than `npm test`
// does: `npm run fuzz -- --runs 10000 [--seed 42]`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const args = process.argv.slice(2);
const env = { ...process.env };
for (let i = 0; i < args.length; i++) {
  const m = /^--(runs|seed)(?:=(.*))?$/.exec(args[i]);
  if (!m) {
    process.stderr.write(`fuzz: unknown argument ${args[i]}; usage: npm run fuzz -- [--runs N] [--seed S]\n`);
    process.exit(2);
  }
  const value = m[2] ?? args[++i];
  if (value === undefined || !/^-?\d+$/.test(value)) {
    process.stderr.write(`fuzz: --${m[1]} needs a whole number\n`);
    process.exit(2);
  }
  env[m[1] === 'runs' ? 'FLOE_FUZZ_RUNS' : 'FLOE_FUZZ_SEED'] = value;
}
const root = fileURLToPath(new URL('../dist/test/', import.meta.url));
const files = readdirSync(root, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.fuzz.test.js'))
  .map((f) => path.join(root, f));
if (files.length === 0) {
  process.stderr.write('fuzz: no dist/test/**/*.fuzz.test.js; run `npm run build` first\n');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=3600000', ...files], { env, stdio: 'inherit' });
process.exit(r.status ?? 1);
