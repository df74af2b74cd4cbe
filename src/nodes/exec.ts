import { stat } from 'node:fs/promises';
import type { NodeContext, NodeResult, NodeType, OptsCheck } from './node-type.js';
import { positiveSeconds, templateOpt } from './opts.js';
import { runInProcessGroup, type ProcessExit } from './process-group.js';
import {
  checkTemplate,
  expandPath,
  renderArgv,
  renderEnvEntry,
  renderShell,
  resolveSubDir,
  shellLineProblem,
  subDirProblem,
  TemplateError,
  type TemplateScope,
} from './template.js';
import { realPathInWorkspace } from './workspace-path.js';

/** The shell for `shell` lines: POSIX sh, as found on every host (dash on Debian); write `bash -c` for bash. */
export const SHELL = '/bin/sh';

export interface ExecOpts {
  /** Executable and space separated args; values never split into more args. */
  cmd?: string;
  /** A line for `/bin/sh -c`; values are quoted for where they appear. */
  shell?: string;
  /** Appended arguments, one argv entry each (quoted as values after a `shell` line). */
  args: string[];
  /** Directory under the workspace to run in; must exist. */
  subDir?: string;
  /** `KEY=value` entries on top of the run's env. */
  env: string[];
  /** Seconds an attempt may run before its process tree is killed (status 124). */
  timeoutSec?: number;
  /** Extra attempts after a status outside `good`. Default 0. */
  retries: number;
  /** Statuses that end the retries; the hub passes the task's `good`. Default [0]. */
  good?: number[];
}

/** Status for an attempt killed by `timeout`, as coreutils timeout(1) reports. */
export const TIMEOUT_STATUS = 124;

const known = new Set(['cmd', 'shell', 'args', 'sub-dir', 'env', 'timeout', 'retries', 'good']);

export const execNode: NodeType<ExecOpts> = {
  type: 'exec',

  parseOpts(raw: Record<string, unknown>, check: OptsCheck): ExecOpts {
    for (const k of Object.keys(raw)) if (!known.has(k)) check.warn(k, 'unknown option');
    const cmd = templateOpt(raw, 'cmd', check);
    const shell = templateOpt(raw, 'shell', check);
    if ((cmd === undefined) === (shell === undefined)) check.error(undefined, 'exactly one of cmd or shell is required');
    const opts: ExecOpts = {
      cmd,
      shell,
      args: readList(raw, 'args', check),
      env: readList(raw, 'env', check),
      retries: 0,
    };
    // A value placed where no quoting can hold (after $x inside `bash -c "..."`) fails every run: say so now.
    if (shell !== undefined && checkTemplate(shell) === undefined) {
      const problem = shellLineProblem(shell, opts.args);
      if (problem) check.error('shell', problem);
    }
    opts.env.forEach((e, i) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) check.error(`env[${i}]`, 'must be KEY=value');
    });
    const subDir = templateOpt(raw, 'sub-dir', check);
    if (subDir !== undefined) {
      const problem = subDirProblem(subDir);
      if (problem) check.error('sub-dir', problem);
      opts.subDir = subDir;
    }
    const timeoutSec = positiveSeconds(raw.timeout, 'timeout', check);
    if (timeoutSec !== undefined) opts.timeoutSec = timeoutSec;
    if (raw.retries !== undefined) {
      if (Number.isInteger(raw.retries) && (raw.retries as number) >= 0) opts.retries = raw.retries as number;
      else check.error('retries', 'must be a whole number >= 0');
    }
    if (raw.good !== undefined) {
      if (Array.isArray(raw.good) && raw.good.every((g) => Number.isInteger(g))) opts.good = raw.good as number[];
      else check.error('good', 'must be a list of exit statuses');
    }
    return opts;
  },

  async execute(ctx: NodeContext, opts: ExecOpts, signal: AbortSignal): Promise<NodeResult> {
    const scope: TemplateScope = { workspace: ctx.workspace, vars: ctx.vars };
    let argv: Argv;
    let env: Record<string, string>;
    let cwd: string;
    try {
      argv = commandLine(opts, scope);
      env = { ...ctx.env };
      for (const e of opts.env) {
        const [k, v] = renderEnvEntry(e, scope);
        env[k] = v;
      }
      // The process starts in the real dir, so links on the way are judged once, here; what
      // is not covered: an earlier task's process swapping a dir on that path for a symlink
      // between this check and the spawn (a process's cwd, once set, can't be redirected).
      cwd =
        opts.subDir === undefined
          ? ctx.workspace
          : await realPathInWorkspace(ctx.workspace, resolveSubDir(opts.subDir, scope), `sub-dir ${opts.subDir}`);
    } catch (err) {
      if (err instanceof TemplateError) return { status: 1, reason: err.message };
      throw err;
    }
    // The workspace itself was made as the run started; a spawn that finds it gone says so.
    // Checked here, that would cost a turn of the event loop before every process (issue 10).
    if (opts.subDir !== undefined && !(await isDirectory(cwd)))
      return { status: 1, reason: `sub-dir ${opts.subDir} does not exist in the workspace` };

    const good = opts.good ?? [0];
    const attempts = opts.retries + 1;
    let result: NodeResult = { status: 1 };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) ctx.output('floe', `retry ${attempt - 1} of ${opts.retries}`);
      result = await runAttempt(ctx, argv, cwd, env, opts.timeoutSec, signal);
      // A command that never started will not start on a retry either.
      const couldNotStart = result.reason !== undefined && result.status >= 126 && result.status <= 127;
      if (good.includes(result.status) || signal.aborted || couldNotStart) break;
    }
    return result;
  },
};

/** A command to spawn: the program, then its arguments. */
export type Argv = [file: string, ...args: string[]];

/** The argv to spawn; a shell line becomes [SHELL, -c, line]. */
export function commandLine(opts: ExecOpts, scope: TemplateScope): Argv {
  if (opts.shell !== undefined) {
    return [
      SHELL,
      '-c',
      renderShell(
        opts.shell,
        scope,
        opts.args.map((a) => expandPath(a, scope)),
      ),
    ];
  }
  const [file, ...args] = renderArgv(opts.cmd ?? '', opts.args, scope);
  if (file === undefined || file === '') throw new TemplateError('cmd renders to no command');
  return [file, ...args];
}

async function runAttempt(
  ctx: NodeContext,
  argv: Argv,
  cwd: string,
  env: Record<string, string>,
  timeoutSec: number | undefined,
  signal: AbortSignal,
): Promise<NodeResult> {
  const attempt = new AbortController();
  const forward = (): void => attempt.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  const stopTimer = new AbortController();
  let timedOut = false;
  if (timeoutSec !== undefined) {
    ctx.clock.after(timeoutSec * 1000, stopTimer.signal).then(
      () => {
        timedOut = true;
        ctx.output('floe', `timed out after ${timeoutSec}s; killing the process tree`);
        attempt.abort();
      },
      () => {}, // cancelled: the attempt ended first
    );
  }
  let exit: ProcessExit;
  try {
    exit = await runInProcessGroup(
      {
        file: argv[0],
        args: argv.slice(1),
        cwd,
        env,
        onLine: (stream, line) => ctx.output(stream, line),
        onStart: (pgid) => ctx.onProcess(pgid),
      },
      attempt.signal,
    );
  } finally {
    stopTimer.abort();
    signal.removeEventListener('abort', forward);
  }
  if (timedOut) return { status: TIMEOUT_STATUS, reason: `timed out after ${timeoutSec}s` };
  if (exit.reason !== undefined) ctx.output('floe', exit.reason);
  return exit.reason !== undefined ? { status: exit.status, reason: exit.reason } : { status: exit.status };
}

async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function readList(raw: Record<string, unknown>, key: string, check: OptsCheck): string[] {
  const v = raw[key];
  if (v === undefined || v === null) return [];
  // YAML turns `- 3` into a number; an argument is still text.
  if (!Array.isArray(v) || !v.every((x) => ['string', 'number', 'boolean'].includes(typeof x))) {
    check.error(key, 'must be a list of strings');
    return [];
  }
  const list = v.map(String);
  list.forEach((t, i) => {
    const problem = checkTemplate(t);
    if (problem) check.error(`${key}[${i}]`, `bad template: ${problem}`);
  });
  return list;
}
