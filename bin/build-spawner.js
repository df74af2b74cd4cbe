#!/usr/bin/env node
// `npm install` and `npm run build`: compiles native/spawner.c, the helper that starts task processes with
// posix_spawn (docs/architecture.md). Never fails the install: without a C compiler (or on a
// libc without posix_spawn_file_actions_addchdir_np) there is no helper, and hosts start tasks
// with Node's own spawn instead.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = 'native/spawner.c';
const out = 'native/build/floe-spawner';
const cc = process.env.CC || 'cc';
// `npm run build` calls this too, so a clone updated with git gets a helper built from its own
// source; a binary newer than the source is kept.
const mtime = (f) => stat(`${root}${f}`).then((s) => s.mtimeMs, () => -1);
if ((await mtime(out)) >= (await mtime(source))) process.exit(0);
try {
  await mkdir(`${root}native/build`, { recursive: true });
  // Built beside, then renamed: a host starting meanwhile finds the old binary or the new, whole.
  await execa(cc, ['-O2', '-Wall', '-o', `${out}.tmp`, source], { cwd: root, stdin: 'ignore' });
  await rename(`${root}${out}.tmp`, `${root}${out}`);
  process.stdout.write(`floe-spawner: built ${out} with ${cc}\n`);
} catch (err) {
  await rm(`${root}${out}.tmp`, { force: true });
  const why = err?.code === 'ENOENT' ? `no C compiler (${cc})` : (err?.stderr?.split('\n').find((l) => l.includes('error')) ?? err?.shortMessage ?? String(err));
  process.stdout.write(`floe-spawner: not built (${why.trim()}); tasks will start with Node's spawn\n`);
}
