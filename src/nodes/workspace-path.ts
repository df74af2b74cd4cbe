import { lstat, mkdir, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { TemplateError } from './template-error.js';

// Linux's MAXSYMLINKS: more links than this on one path is a loop, or as good as one.
const maxLinks = 40;

/**
 * The real path `candidate` (absolute, or relative to `workspace`) stands for: every symlink
 * on it followed, the part that does not exist yet kept as written. Throws a TemplateError
 * naming `what` (`sub-dir app`) when that leaves the workspace's own real path, so a symlink
 * made by an earlier task or committed in a checked-out repository can't lead a node outside.
 *
 * This checks the disk as it is now. A process still running from an earlier task could swap
 * a directory on the returned path for a symlink after the check; callers keep that window
 * short by working on the returned real path at once, and `makeRealDir` re-checks what it made.
 */
export async function realPathInWorkspace(workspace: string, candidate: string, what: string): Promise<string> {
  // The workspace itself may sit under a symlinked dir (/tmp on macOS): compare real to real.
  const root = await realpath(workspace);
  const rel = path.relative(workspace, path.resolve(workspace, candidate));
  if (!isInside('', rel)) throw new TemplateError(`${what} is outside the workspace`);

  // Resolved one component at a time, as the kernel does, because realpath(3) fails on a
  // path whose tail is missing, and a dangling link must still be followed to where it leads.
  const todo = rel === '' ? [] : rel.split(path.sep);
  let real = root;
  let lastLink = '';
  let blamed: string | undefined;
  let links = 0;
  // The link to name is the one followed when the walk last stepped out of the workspace.
  const step = (to: string): void => {
    if (isInside(root, real) && !isInside(root, to)) blamed = lastLink;
    real = to;
  };
  while (todo.length > 0) {
    const part = todo.shift() ?? '';
    if (part === '' || part === '.') continue;
    if (part === '..') {
      step(path.dirname(real));
      continue;
    }
    const next = path.join(real, part);
    const st = await lstat(next).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw new TemplateError(`${what}: cannot look at ${next}: ${err.code ?? err.message}`);
    });
    if (st === undefined) {
      // Nothing from here on exists, so nothing in it is a link; `..` after a missing dir
      // would mean something different once the dir is made, so it is refused.
      const rest = [part, ...todo].filter((p) => p !== '' && p !== '.');
      if (rest.includes('..')) throw new TemplateError(`${what} goes up (..) out of ${next}, which does not exist`);
      step(path.join(real, ...rest));
      break;
    }
    if (!st.isSymbolicLink()) {
      step(next);
      continue;
    }
    if (++links > maxLinks) throw new TemplateError(`${what} passes through more than ${maxLinks} symlinks`);
    lastLink = isInside(root, next) ? path.relative(root, next) : next;
    const target = await readlink(next).catch((err: NodeJS.ErrnoException) => {
      throw new TemplateError(`${what}: cannot read symlink ${next}: ${err.code ?? err.message}`);
    });
    todo.unshift(...target.split(path.sep));
    if (path.isAbsolute(target)) step(path.parse(target).root);
  }
  if (!isInside(root, real)) {
    throw new TemplateError(`${what} leads outside the workspace${blamed ? ` through symlink ${blamed}` : ''}`);
  }
  return real;
}

/**
 * mkdir -p of a path from `realPathInWorkspace`, then checks it is still that real path: a
 * symlink put on the way between the check and the mkdir (which follows links) is caught here.
 */
export async function makeRealDir(dir: string, what: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const now = await realpath(dir);
  if (now !== dir) throw new TemplateError(`${what} changed while it was being made: ${dir} now leads to ${now}`);
}

/** Whether `p` is `root` or below it; with root '' it asks whether a relative path stays put. */
function isInside(root: string, p: string): boolean {
  const rel = root === '' ? p : path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}
