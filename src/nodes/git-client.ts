import { createRequire } from 'node:module';
import type { SimpleGit, simpleGit as SimpleGitFactory } from 'simple-git';
import { LineSplitter } from './process-group.js';
import { shellQuote } from './shell-scanner.js';

export interface GitClientOptions {
  /** The environment git runs with (PATH, HOME...); git's own variables are dropped from it. */
  env: Record<string, string>;
  /** Private key for ssh, if any. */
  keyFile?: string;
  signal?: AbortSignal;
  /** Each line git writes to stderr (its progress and messages). */
  onLine?: (line: string) => void;
}

// simple-git refuses to run with GIT_* (and editor/pager) variables it was not told to allow;
// the host's own are dropped and ours are allowed explicitly.
const guardedEnv = /^(GIT_.*|EDITOR|VISUAL|PAGER|PREFIX|SSH_ASKPASS)$/i;

/** The env for git: `base` without git's own variables, no prompts, and the ssh key if any. */
export function gitEnv(base: Record<string, string>, keyFile: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (!guardedEnv.test(k)) env[k] = v;
  env.GIT_TERMINAL_PROMPT = '0';
  // BatchMode: ssh fails at once where it would prompt (unknown host, passphrase), never hangs a run.
  env.GIT_SSH_COMMAND =
    keyFile === undefined
      ? 'ssh -o BatchMode=yes'
      : `ssh -i ${shellQuote(keyFile)} -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o BatchMode=yes`;
  return env;
}

/** The process environment as plain strings, for git calls made by the host itself. */
export function processEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

// Loaded on first use: most hosts never run git, and simple-git costs an idle host 1.3 MB of
// heap (issue 10's idle RSS target). Its CommonJS build loads synchronously, so gitClient stays sync.
let loadedSimpleGit: typeof SimpleGitFactory | undefined;
function simpleGit(...args: Parameters<typeof SimpleGitFactory>): SimpleGit {
  loadedSimpleGit ??= (createRequire(import.meta.url)('simple-git') as { simpleGit: typeof SimpleGitFactory }).simpleGit;
  return loadedSimpleGit(...args);
}

/** One way to run git everywhere in floe: the checkout node, poll-git and flow-file loading. */
export function gitClient(dir: string | undefined, opts: GitClientOptions): SimpleGit {
  const allow = ['GIT_TERMINAL_PROMPT', 'GIT_SSH_COMMAND'];
  const git = simpleGit({
    ...(dir ? { baseDir: dir } : {}),
    ...(opts.signal ? { abort: opts.signal } : {}),
    allowEnvironment: allow,
    unsafe: { allowUnsafeSshCommand: true }, // the command is ours (gitEnv), never from a run's values
  }).env(gitEnv(opts.env, opts.keyFile));
  const onLine = opts.onLine;
  if (!onLine) return git;
  return git.outputHandler((_cmd, _stdout, stderr) => {
    // stdout is the data simple-git returns; git's human messages go to stderr.
    const splitter = new LineSplitter(onLine);
    stderr.on('data', (chunk: Buffer | string) => splitter.push(chunk));
    stderr.on('end', () => splitter.flush());
  });
}
