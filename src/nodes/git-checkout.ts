import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { gitClient } from './git-client.js';
import { shownUrl } from './shown-url.js';
import { templateOpt } from './opts.js';
import type { NodeContext, NodeResult, NodeType, OptsCheck } from './node-type.js';
import { expandPath, resolveSubDir, subDirProblem, TemplateError, type TemplateScope } from './template.js';
import { makeRealDir, realPathInWorkspace } from './workspace-path.js';

export interface GitCheckoutOpts {
  /** Repository URL (ssh, https, file://, or a path); may be a template. */
  url: string;
  /** Branch, tag or commit hash; may be a template such as `{{ref}}`. Default: the remote's HEAD. */
  ref?: string;
  /** Where in the workspace to check out. Default: the repository name from the url. */
  subDir?: string;
  /** Private key for ssh; overrides common.git-key. */
  keyFile?: string;
}

const known = new Set(['url', 'ref', 'sub-dir', 'key-file']);

export const gitCheckoutNode: NodeType<GitCheckoutOpts> = {
  type: 'git-checkout',

  parseOpts(raw: Record<string, unknown>, check: OptsCheck): GitCheckoutOpts {
    for (const k of Object.keys(raw)) if (!known.has(k)) check.warn(k, 'unknown option');
    const url = templateOpt(raw, 'url', check);
    if (url === undefined) check.error('url', 'is required');
    const subDir = templateOpt(raw, 'sub-dir', check);
    if (subDir !== undefined) {
      const problem = subDirProblem(subDir);
      if (problem) check.error('sub-dir', problem);
    } else if (url !== undefined && !url.includes('{{') && repoName(url) === '') {
      check.error('sub-dir', `is required: no repository name in url ${shownUrl(url)}`);
    }
    const ref = templateOpt(raw, 'ref', check);
    if (ref !== undefined && !ref.includes('{{') && refProblem(ref)) check.error('ref', refProblem(ref) ?? '');
    return { url: url ?? '', ref, subDir, keyFile: templateOpt(raw, 'key-file', check) };
  },

  async execute(ctx: NodeContext, opts: GitCheckoutOpts, signal: AbortSignal): Promise<NodeResult> {
    const scope: TemplateScope = { workspace: ctx.workspace, vars: ctx.vars };
    let url: string;
    let ref: string;
    let dir: string;
    let what: string;
    let keyFile: string | undefined;
    try {
      url = expandPath(opts.url, scope);
      ref = opts.ref === undefined ? 'HEAD' : expandPath(opts.ref, scope);
      what = `sub-dir ${opts.subDir ?? repoName(url)}`;
      // git runs in the real dir, so a link on the way (made by an earlier task, or committed
      // in a repository checked out before) can't put the clone outside. Not covered: an
      // earlier task's process swapping a dir on that path for a symlink while git runs.
      dir = await realPathInWorkspace(ctx.workspace, checkoutDir(url, opts.subDir, scope), what);
      keyFile = opts.keyFile === undefined ? ctx.gitKey : path.resolve(ctx.workspace, expandPath(opts.keyFile, scope));
    } catch (err) {
      if (err instanceof TemplateError) return { status: 1, reason: err.message };
      throw err;
    }
    // Values from a trigger must not become git options (`--upload-pack=...`) or refspecs (`a:b`).
    if (url.startsWith('-') || url === '') return { status: 1, reason: `bad url ${JSON.stringify(url)}` };
    const badRef = refProblem(ref);
    if (badRef) return { status: 1, reason: `ref ${JSON.stringify(ref)} ${badRef}` };

    try {
      const state = await dirState(dir, what, url, ctx, keyFile, signal);
      if (state.kind === 'foreign') return { status: 1, reason: state.reason };
      const git = gitIn(dir, ctx, keyFile, signal);
      if (state.kind === 'empty') {
        await git.raw(['init', '--quiet', '--initial-branch=floe']);
        await git.raw(['remote', 'add', 'origin', url]);
      } else {
        ctx.output('floe', `reusing the checkout in ${dir}`);
      }
      ctx.output('floe', `fetching ${ref} from ${shownUrl(url)}`);
      try {
        await git.raw(['fetch', '--depth', '1', '--no-tags', 'origin', ref]);
        await git.raw(['checkout', '--force', '--detach', 'FETCH_HEAD^{commit}']);
      } catch (err) {
        // Servers may refuse a shallow fetch of an unadvertised commit; get history instead.
        if (signal.aborted || !looksLikeHash(ref)) throw err;
        ctx.output('floe', `shallow fetch of ${ref} refused; fetching full history`);
        const shallow = (await git.raw(['rev-parse', '--is-shallow-repository'])).trim() === 'true';
        await git.raw(['fetch', ...(shallow ? ['--unshallow'] : []), '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*']);
        await git.raw(['checkout', '--force', '--detach', `${ref}^{commit}`]);
      }
      const hash = (await git.raw(['rev-parse', 'HEAD'])).trim();
      ctx.output('floe', `checked out ${hash}`);
      return { status: 0 };
    } catch (err) {
      const reason = signal.aborted ? 'cancelled' : firstLine(err);
      return { status: 1, reason: `git-checkout of ${ref} from ${shownUrl(url)} failed: ${reason}` };
    }
  },
};

type DirState = { kind: 'empty' } | { kind: 'same-repo' } | { kind: 'foreign'; reason: string };

async function dirState(
  dir: string,
  what: string,
  url: string,
  ctx: NodeContext,
  keyFile: string | undefined,
  signal: AbortSignal,
): Promise<DirState> {
  const entries = await readdir(dir).catch(() => undefined);
  if (entries === undefined) {
    await makeRealDir(dir, what);
    return { kind: 'empty' };
  }
  if (entries.length === 0) return { kind: 'empty' };
  const isRepo = await stat(path.join(dir, '.git')).then(
    () => true,
    () => false,
  );
  if (!isRepo) return { kind: 'foreign', reason: `${dir} exists and is not a git checkout` };
  // reuse-space flows find their previous checkout here.
  const origin = await gitIn(dir, ctx, keyFile, signal)
    .raw(['config', '--get', 'remote.origin.url'])
    .then(
      (s) => s.trim(),
      () => '',
    );
  if (origin !== url)
    return { kind: 'foreign', reason: `${dir} holds a checkout of ${shownUrl(origin) || 'another repository'}, not ${shownUrl(url)}` };
  return { kind: 'same-repo' };
}

/** A simple-git bound to `dir`, with the run's env, streaming git's messages to the run log. */
function gitIn(dir: string, ctx: NodeContext, keyFile: string | undefined, signal: AbortSignal): SimpleGit {
  return gitClient(dir, {
    env: ctx.env,
    keyFile,
    signal,
    onLine: (line) => {
      if (line.trim() !== '') ctx.output('stderr', line);
    },
  });
}

/** `floe` for `git@github.com:floeit/floe.git`, `https://host/a/b.git/` or `file:///tmp/floe`. */
export function repoName(url: string): string {
  const trimmed = url.replace(/[/\\]+$/, '').replace(/\.git$/, '');
  const name = trimmed.split(/[/:\\]/).pop() ?? '';
  return name === '.' || name === '..' ? '' : name;
}

function checkoutDir(url: string, subDir: string | undefined, scope: TemplateScope): string {
  if (subDir !== undefined) return resolveSubDir(subDir, scope);
  const name = repoName(url);
  if (name === '') throw new TemplateError(`no sub-dir given and no repository name in ${shownUrl(url)}`);
  // The name comes from a possibly templated url: treat it as text, never as a template.
  return path.join(scope.workspace, name);
}

/** Why `ref` can't be fetched as given (an option, a refspec, bad characters), or undefined. */
export function refProblem(ref: string): string | undefined {
  if (ref === '') return 'is empty';
  if (ref.startsWith('-')) return 'must not start with -';
  // A subset of git-check-ref-format(1), plus `:` and `+` that would make it a refspec.
  if (/[\s~^:?*[\\+\x00-\x1f\x7f]|\.\.|@\{|\/\/|\.lock$|\/$|^\//.test(ref)) return 'is not a valid branch, tag or commit';
  return undefined;
}

function looksLikeHash(ref: string): boolean {
  return /^[0-9a-f]{7,64}$/i.test(ref);
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0] ?? 'unknown error';
}
