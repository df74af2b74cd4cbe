import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { templateOpt } from './opts.js';
import type { NodeContext, NodeResult, NodeType, OptsCheck } from './node-type.js';
import { shownUrl } from './shown-url.js';
import { expandPath, TemplateError, type TemplateScope } from './template.js';
import { makeRealDir, realPathInWorkspace } from './workspace-path.js';

export { shownUrl } from './shown-url.js';

export type ChecksumAlgo = 'sha256' | 'sha1' | 'md5';

export interface FetchOpts {
  /** http(s) URL; may be a template. */
  url: string;
  /** Expected digest in hex; when given the download is verified and cached. */
  checksum?: string;
  /** Digest of `checksum`. Default sha256. */
  algo: ChecksumAlgo;
  /** Where to put the file (see `resolveLocation`). Default: workspace root, download's name. */
  location?: string;
}

const hexLength: Record<ChecksumAlgo, number> = { sha256: 64, sha1: 40, md5: 32 };
const known = new Set(['url', 'checksum', 'checksum-algo', 'location']);

export const fetchNode: NodeType<FetchOpts> = {
  type: 'fetch',

  parseOpts(raw: Record<string, unknown>, check: OptsCheck): FetchOpts {
    for (const k of Object.keys(raw)) if (!known.has(k)) check.warn(k, 'unknown option');
    const url = templateOpt(raw, 'url', check);
    if (url === undefined) check.error('url', 'is required');
    else if (!url.includes('{{') && urlProblem(url)) check.error('url', urlProblem(url) ?? '');
    const algoRaw = templateOpt(raw, 'checksum-algo', check) ?? 'sha256';
    const algo: ChecksumAlgo = isAlgo(algoRaw) ? algoRaw : 'sha256';
    if (!isAlgo(algoRaw)) check.error('checksum-algo', 'must be sha256, sha1 or md5');
    const checksum = templateOpt(raw, 'checksum', check)?.toLowerCase();
    if (checksum !== undefined && !checksum.includes('{{')) {
      if (!/^[0-9a-f]+$/.test(checksum) || checksum.length !== hexLength[algo]) {
        check.error('checksum', `must be ${hexLength[algo]} hex digits for ${algo}`);
      }
    }
    if (raw['checksum-algo'] !== undefined && checksum === undefined) check.warn('checksum-algo', 'has no effect without checksum');
    return { url: url ?? '', checksum, algo, location: templateOpt(raw, 'location', check) };
  },

  async execute(ctx: NodeContext, opts: FetchOpts, signal: AbortSignal): Promise<NodeResult> {
    const scope: TemplateScope = { workspace: ctx.workspace, vars: ctx.vars };
    let url: string;
    let checksum: string | undefined;
    let dest: string;
    let dir: RealDir;
    try {
      url = expandPath(opts.url, scope);
      const problem = urlProblem(url);
      if (problem) return fail(`url ${shownUrl(url)} ${problem}`);
      checksum = opts.checksum === undefined ? undefined : expandPath(opts.checksum, scope).toLowerCase();
      dest = await resolveLocation(opts.location, downloadName(url), scope);
      dir = await realDirOf(dest, `location ${JSON.stringify(opts.location ?? path.basename(dest))}`, ctx.workspace);
    } catch (err) {
      if (err instanceof TemplateError) return fail(err.message);
      throw err;
    }

    const cacheDir = path.join(ctx.cacheDir, 'fetch');
    await mkdir(cacheDir, { recursive: true });
    try {
      if (checksum === undefined) {
        // Nothing to verify a cached copy against, so every run downloads afresh.
        const tmp = await download(ctx, url, cacheDir, undefined, opts.algo, signal);
        try {
          await makeDir(dir);
          await placeFile(tmp, path.join(dir.path, path.basename(dest)), 'move');
        } finally {
          await rm(tmp, { force: true });
        }
      } else {
        const cached = path.join(cacheDir, cacheKey(url, opts.algo, checksum));
        if (await isCachedAndGood(cached, opts.algo, checksum)) {
          ctx.output('floe', `cached ${shownUrl(url)}`);
        } else {
          const tmp = await download(ctx, url, cacheDir, checksum, opts.algo, signal);
          await rename(tmp, cached);
        }
        await makeDir(dir);
        await placeFile(cached, path.join(dir.path, path.basename(dest)), 'link');
      }
    } catch (err) {
      if (err instanceof FetchFailure || err instanceof TemplateError) return fail(err.message);
      if (signal.aborted) return fail(`cancelled while fetching ${shownUrl(url)}`);
      return fail(`fetching ${shownUrl(url)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    ctx.output('floe', `linked ${dest}`);
    return { status: 0 };
  },
};

class FetchFailure extends Error {}

function fail(reason: string): NodeResult {
  return { status: 1, reason };
}

function isAlgo(s: string): s is ChecksumAlgo {
  return s === 'sha256' || s === 'sha1' || s === 'md5';
}

function urlProblem(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'must be http or https';
  } catch {
    return 'is not a valid URL';
  }
}

/** The file name a download gets: the last path segment of the URL, or `download`. */
export function downloadName(url: string): string {
  let name = '';
  try {
    name = decodeURIComponent(path.posix.basename(new URL(url).pathname));
  } catch {
    name = '';
  }
  name = name.replace(/[/\\\0]/g, '_');
  return name === '' || name === '.' || name === '..' ? 'download' : name;
}

/**
 * README rules: absent -> workspace root with the download's name; ending in `/` -> that
 * directory with the download's name; otherwise the exact path. Relative paths are
 * relative to the workspace; an existing directory is treated as ending in `/`.
 */
export async function resolveLocation(location: string | undefined, name: string, scope: TemplateScope): Promise<string> {
  if (location === undefined) return path.join(scope.workspace, name);
  const rendered = expandPath(location, scope);
  const target = path.resolve(scope.workspace, rendered);
  // A location the config spells out may point anywhere; one built from trigger or form
  // values must stay inside the workspace, or a value could overwrite any file.
  const usesValues = /\{\{(?!\s*ws\s*\}\})/.test(location);
  const inside = path.relative(scope.workspace, target);
  if (usesValues && (inside.startsWith('..') || path.isAbsolute(inside))) {
    throw new TemplateError(`location ${JSON.stringify(location)} is built from values and resolves to ${target}, outside the workspace`);
  }
  if (rendered.endsWith('/')) return path.join(target, name);
  const isDir = await stat(target).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return isDir ? path.join(target, name) : target;
}

/** Cache file name: one entry per url and expected content. */
export function cacheKey(url: string, algo: ChecksumAlgo, checksum: string): string {
  return createHash('sha256').update(`${url}\n${algo}:${checksum}`).digest('hex');
}

async function digestOf(file: string, algo: ChecksumAlgo): Promise<string> {
  const hash = createHash(algo);
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

async function isCachedAndGood(file: string, algo: ChecksumAlgo, checksum: string): Promise<boolean> {
  const exists = await stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!exists) return false;
  if ((await digestOf(file, algo)) === checksum) return true;
  await rm(file, { force: true }); // changed on disk (e.g. through a hard link); fetch again
  return false;
}

/** Downloads into a temp file in `dir` and verifies it; returns the temp path, or throws and leaves nothing. */
async function download(
  ctx: NodeContext,
  url: string,
  dir: string,
  checksum: string | undefined,
  algo: ChecksumAlgo,
  signal: AbortSignal,
): Promise<string> {
  ctx.output('floe', `downloading ${shownUrl(url)}`);
  const tmp = path.join(dir, `.${randomBytes(8).toString('hex')}.part`);
  try {
    // Imported here, not at the top: a host that never fetches does not carry it (1.7 MB of heap).
    const { default: fetch } = await import('node-fetch');
    const res = await fetch(url, { signal });
    if (!res.ok || res.body === null) {
      throw new FetchFailure(`GET ${shownUrl(url)}: HTTP ${res.status} ${res.statusText}`.trim());
    }
    const hash = createHash(checksum === undefined ? 'sha256' : algo);
    const body: Readable = res.body instanceof Readable ? res.body : Readable.from(res.body);
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(tmp, { flags: 'wx' }),
      { signal },
    );
    const actual = hash.digest('hex');
    if (checksum === undefined) {
      ctx.output('floe', `sha256 ${actual} (no checksum given)`);
    } else if (actual !== checksum) {
      throw new FetchFailure(`${algo} mismatch for ${shownUrl(url)}: expected ${checksum}, got ${actual}`);
    } else {
      ctx.output('floe', `${algo} ok`);
    }
    return tmp;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** The directory a fetched file goes in; `what` names the location for a refusal. */
interface RealDir {
  path: string;
  what: string;
  /** False for a location the config spells out outside the workspace: taken as written. */
  inWorkspace: boolean;
}

/**
 * The real directory `dest` goes in. A location inside the workspace (as written) must stay
 * inside through every symlink on the way (issue 7), or a link made by an earlier task or
 * committed in a checkout would take the file outside; the file name itself is never
 * followed (see `placeFile`).
 */
async function realDirOf(dest: string, what: string, workspace: string): Promise<RealDir> {
  const parent = path.dirname(dest);
  const rel = path.relative(workspace, parent);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return { path: parent, what, inWorkspace: false };
  return { path: await realPathInWorkspace(workspace, parent, what), what, inWorkspace: true };
}

async function makeDir(dir: RealDir): Promise<void> {
  if (dir.inWorkspace) await makeRealDir(dir.path, dir.what);
  else await mkdir(dir.path, { recursive: true });
}

/**
 * Puts `src` at `dest` by rename, so a symlink already at `dest` is replaced, never written
 * through, and `dest` is never missing or half written. 'link' hard links the cached file
 * (copying across file systems) and leaves `src`; 'move' takes it. A copy goes to a new name
 * (O_EXCL, which no planted link satisfies) in dest's real dir first. Not covered: a process
 * from an earlier task swapping that dir for a symlink between the check and the rename.
 */
async function placeFile(src: string, dest: string, how: 'link' | 'move'): Promise<void> {
  if (how === 'move') {
    try {
      await rename(src, dest);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    }
  }
  const tmp = path.join(path.dirname(dest), `.${randomBytes(8).toString('hex')}.part`);
  try {
    if (how === 'link') await link(src, tmp).catch(() => copyFile(src, tmp, constants.COPYFILE_EXCL));
    else await copyFile(src, tmp, constants.COPYFILE_EXCL);
    await rename(tmp, dest);
  } finally {
    // rename(2) does nothing when tmp and dest are already links to one file (a cached fetch again).
    await rm(tmp, { force: true });
  }
}
