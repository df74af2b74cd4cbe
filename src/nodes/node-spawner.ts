import { spawn, type ChildProcess } from 'node:child_process';
import { readTurnByTurn } from './turn-reader.js';
import { NUL_IN_ARGUMENT, type SpawnEvents, type Spawned, type Spawner, type SpawnRequest } from './spawner.js';

/**
 * Starts processes with Node's own spawn (libuv forks the whole host for each). Plain
 * `child_process`, not execa: per task, execa's wrapper cost 0.15-0.4 of a bare spawn, and
 * nothing it adds (buffering, encoding, cleanup, errors) is used on this path.
 */
export const nodeSpawner: Spawner = {
  name: 'node',
  start(req: SpawnRequest, events: SpawnEvents): Spawned {
    let child: ChildProcess;
    try {
      child = spawn(req.file, [...req.args], {
        cwd: req.cwd,
        env: req.env,
        detached: true, // setsid: the child leads a new group, so -pid reaches its whole tree
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      // Arguments spawn refuses outright (a NUL byte in a string) are thrown, not emitted.
      events.failed(errorCode(err) ?? NUL_IN_ARGUMENT);
      return { closePipes: () => {} };
    }
    const { pid, stdout, stderr } = child;
    if (pid === undefined || stdout === null || stderr === null) {
      child.once('error', (err) => events.failed(errorCode(err) ?? 'unknown error'));
      return { closePipes: () => {} };
    }
    // After the start, an 'error' could only come from child.kill, which is never used (groups
    // are killed by pgid); a listener keeps one from being thrown.
    child.on('error', () => {});
    events.started(pid);
    let open = 2;
    const onClose = (): void => {
      if (--open === 0) events.closed();
    };
    readTurnByTurn(stdout, (chunk) => events.data('stdout', chunk));
    readTurnByTurn(stderr, (chunk) => events.data('stderr', chunk));
    stdout.once('close', onClose);
    stderr.once('close', onClose);
    child.once('exit', (code, signal) => events.exited(code, signal));
    return {
      closePipes: () => {
        stdout.destroy();
        stderr.destroy();
      },
    };
  },
};

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
