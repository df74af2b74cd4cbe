import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/** What one outer shell did with each line. */
export interface LinesRun {
  outer: string;
  /** stdout of each line, in order. */
  outputs: string[];
  /** Indexes of the lines after which the marker file existed. */
  ran: number[];
}

/** Shells floe's lines may meet as /bin/sh: dash here, bash on other hosts. */
export const outerShells = ['/bin/sh', '/bin/bash'].filter((s) => existsSync(s));

// Reads each line (keeping trailing newlines) and runs it as `$2 -c LINE`, as exec does; a line
// after which a file named like the marker exists (a payload may run with text glued to its
// end: `touch MARKEREOF`) is noted and the files removed, so each line is judged alone.
const driver = `
for f in "$1"/*.line; do
  s=$(cat "$f"; printf x); s=\${s%x}
  "$2" -c "$s" </dev/null >"\${f##*/}.out" 2>/dev/null
  for m in "$3"*; do
    if [ -e "$m" ]; then printf '%s\\n' "\${f##*/}" >>ran; rm -f "$3"*; break; fi
  done
done
`;
const run = promisify(execFile);

/**
 * Runs each line with every outer shell, all lines of one shell in one driver process (the
 * shells side by side), each shell in its own working directory under `parent`, where a
 * payload's relative `marker` (or a name starting with it) lands. Many lines cost one spawn from node per shell.
 */
export async function runShellLines(parent: string, lines: readonly string[], marker: string): Promise<LinesRun[]> {
  const work = mkdtempSync(path.join(parent, 'lines-'));
  try {
    const name = (i: number): string => `${String(i).padStart(4, '0')}.line`;
    lines.forEach((line, i) => writeFileSync(path.join(work, name(i)), line));
    const cwd = (outer: string): string => path.join(work, path.basename(outer));
    for (const outer of outerShells) mkdirSync(cwd(outer));
    await Promise.all(
      outerShells.map((outer) => run('/bin/sh', ['-c', driver, 'driver', work, outer, marker], { cwd: cwd(outer), timeout: 120_000 })),
    );
    return outerShells.map((outer) => {
      const ranFile = path.join(cwd(outer), 'ran');
      const ran = existsSync(ranFile)
        ? readFileSync(ranFile, 'utf8')
            .split('\n')
            .filter((f) => f !== '')
        : [];
      return {
        outer,
        outputs: lines.map((_, i) => readFileSync(path.join(cwd(outer), `${name(i)}.out`), 'utf8')),
        ran: ran.map((f) => Number(path.basename(f, '.line'))),
      };
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
