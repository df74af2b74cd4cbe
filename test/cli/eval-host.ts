import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';

/**
 * Runs `script`, an ES module given to `node -e` that starts a host from `args`, in `dir` until
 * the test ends (SIGTERM); resolves once the host logs `host started`, with the URLs it said it
 * listens on and everything it printed. Rejects, with that output, if it exits first.
 */
export async function startEvalHost(
  t: TestContext,
  dir: string,
  script: string,
  args: string[],
): Promise<{ urls: string[]; output: string[] }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const urls: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`host exited with ${code}: ${output.join('')}`)));
    createInterface({ input: child.stdout }).on('line', (l) => {
      output.push(l);
      // Read as text: a line that is not JSON must not throw in this listener.
      const listening = /"msg":"listening on ([^"\s]+)"/.exec(l)?.[1];
      if (listening !== undefined) urls.push(listening);
      if (/"msg":"host started"/.test(l)) resolve();
    });
  });
  return { urls, output };
}
