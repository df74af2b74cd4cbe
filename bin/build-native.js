#!/usr/bin/env node
// `npm install` and `npm run build`: compiles floe's two native parts with the C compiler, if
// there is one (docs/architecture.md). Never fails the install: what cannot be built is left out,
// and hosts do without it.
//   native/spawner.c -> native/build/floe-spawner: starts task processes with posix_spawn;
//     without it (no compiler, or a libc without posix_spawn_file_actions_addchdir_np) tasks start
//     with Node's own spawn.
//   native/trim.c -> native/build/floe-trim.node: gives malloc's free pages back to the system
//     when a host goes quiet; without it (no compiler, or not glibc) they stay with the host.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = fileURLToPath(new URL('..', import.meta.url));
const cc = process.env.CC || 'cc';
const parts = [
  { name: 'floe-spawner', source: 'native/spawner.c', out: 'native/build/floe-spawner', flags: [], without: "tasks will start with Node's spawn" },
  {
    name: 'floe-trim',
    source: 'native/trim.c',
    out: 'native/build/floe-trim.node',
    flags: ['-shared', '-fPIC'],
    without: 'an idle host keeps the memory malloc has freed',
  },
];
// `npm run build` calls this too, so a clone updated with git gets parts built from its own
// source; a binary newer than its source is kept.
const mtime = (f) => stat(`${root}${f}`).then((s) => s.mtimeMs, () => -1);
for (const p of parts) {
  const source = await mtime(p.source);
  if (source < 0) {
    process.stdout.write(`${p.name}: not built (${p.source} is missing); ${p.without}\n`);
    continue;
  }
  if ((await mtime(p.out)) >= source) continue;
  try {
    await mkdir(`${root}native/build`, { recursive: true });
    // Built beside, then renamed: a host starting meanwhile finds the old binary or the new, whole.
    await execa(cc, ['-O2', '-Wall', ...p.flags, '-o', `${p.out}.tmp`, p.source], { cwd: root, stdin: 'ignore' });
    await rename(`${root}${p.out}.tmp`, `${root}${p.out}`);
    process.stdout.write(`${p.name}: built ${p.out} with ${cc}\n`);
  } catch (err) {
    await rm(`${root}${p.out}.tmp`, { force: true });
    const why = err?.code === 'ENOENT' ? `no C compiler (${cc})` : (err?.stderr?.split('\n').find((l) => l.includes('error')) ?? err?.shortMessage ?? String(err));
    process.stdout.write(`${p.name}: not built (${why.trim()}); ${p.without}\n`);
  }
}
