import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fetch from 'node-fetch';
import { checkTemplate, expandPath, TemplateError } from './template.js';
const hexLength = { sha256: 64, sha1: 40, md5: 32 };
const known = new Set(['url', 'checksum', 'checksum-algo', 'location']);
export const fetchNode = {
    type: 'fetch',
    parseOpts(raw, check) {
        for (const k of Object.keys(raw))
            if (!known.has(k))
                check.warn(k, 'unknown option');
        const url = readString(raw, 'url', check);
        if (url === undefined)
            check.error('url', 'is required');
        else if (!url.includes('{{') && urlProblem(url))
            check.error('url', urlProblem(url) ?? '');
        const algoRaw = readString(raw, 'checksum-algo', check) ?? 'sha256';
        const algo = isAlgo(algoRaw) ? algoRaw : 'sha256';
        if (!isAlgo(algoRaw))
            check.error('checksum-algo', 'must be sha256, sha1 or md5');
        const checksum = readString(raw, 'checksum', check)?.toLowerCase();
        if (checksum !== undefined && !checksum.includes('{{')) {
            if (!/^[0-9a-f]+$/.test(checksum) || checksum.length !== hexLength[algo]) {
                check.error('checksum', `must be ${hexLength[algo]} hex digits for ${algo}`);
            }
        }
        if (raw['checksum-algo'] !== undefined && checksum === undefined)
            check.warn('checksum-algo', 'has no effect without checksum');
        return { url: url ?? '', checksum, algo, location: readString(raw, 'location', check) };
    },
    async execute(ctx, opts, signal) {
        const scope = { workspace: ctx.workspace, vars: ctx.vars };
        let url;
        let checksum;
        let dest;
        try {
            url = expandPath(opts.url, scope);
            const problem = urlProblem(url);
            if (problem)
                return fail(`url ${shownUrl(url)} ${problem}`);
            checksum = opts.checksum === undefined ? undefined : expandPath(opts.checksum, scope).toLowerCase();
            dest = await resolveLocation(opts.location, downloadName(url), scope);
        }
        catch (err) {
            if (err instanceof TemplateError)
                return fail(err.message);
            throw err;
        }
        const cacheDir = path.join(ctx.cacheDir, 'fetch');
        await mkdir(cacheDir, { recursive: true });
        try {
            if (checksum === undefined) {
                // Nothing to verify a cached copy against, so every run downloads afresh.
                const tmp = await download(ctx, url, cacheDir, undefined, opts.algo, signal);
                await mkdir(path.dirname(dest), { recursive: true });
                await moveInto(tmp, dest);
            }
            else {
                const cached = path.join(cacheDir, cacheKey(url, opts.algo, checksum));
                if (await isCachedAndGood(cached, opts.algo, checksum)) {
                    ctx.output('floe', `cached ${shownUrl(url)}`);
                }
                else {
                    const tmp = await download(ctx, url, cacheDir, checksum, opts.algo, signal);
                    await rename(tmp, cached);
                }
                await mkdir(path.dirname(dest), { recursive: true });
                await linkInto(cached, dest);
            }
        }
        catch (err) {
            if (err instanceof FetchFailure)
                return fail(err.message);
            if (signal.aborted)
                return fail(`cancelled while fetching ${shownUrl(url)}`);
            return fail(`fetching ${shownUrl(url)}: ${err instanceof Error ? err.message : String(err)}`);
        }
        ctx.output('floe', `linked ${dest}`);
        return { status: 0 };
    },
};
class FetchFailure extends Error {
}
function fail(reason) {
    return { status: 1, reason };
}
function isAlgo(s) {
    return s === 'sha256' || s === 'sha1' || s === 'md5';
}
function urlProblem(url) {
    try {
        const u = new URL(url);
        return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'must be http or https';
    }
    catch {
        return 'is not a valid URL';
    }
}
/** The URL as shown in output: any password in it is hidden. */
export function shownUrl(url) {
    try {
        const u = new URL(url);
        if (u.password)
            u.password = '***';
        return u.toString();
    }
    catch {
        return url;
    }
}
/** The file name a download gets: the last path segment of the URL, or `download`. */
export function downloadName(url) {
    let name = '';
    try {
        name = decodeURIComponent(path.posix.basename(new URL(url).pathname));
    }
    catch {
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
export async function resolveLocation(location, name, scope) {
    if (location === undefined)
        return path.join(scope.workspace, name);
    const rendered = expandPath(location, scope);
    const target = path.resolve(scope.workspace, rendered);
    if (rendered.endsWith('/'))
        return path.join(target, name);
    const isDir = await stat(target).then((s) => s.isDirectory(), () => false);
    return isDir ? path.join(target, name) : target;
}
/** Cache file name: one entry per url and expected content. */
export function cacheKey(url, algo, checksum) {
    return createHash('sha256').update(`${url}\n${algo}:${checksum}`).digest('hex');
}
async function digestOf(file, algo) {
    const hash = createHash(algo);
    await pipeline(createReadStream(file), hash);
    return hash.digest('hex');
}
async function isCachedAndGood(file, algo, checksum) {
    const exists = await stat(file).then((s) => s.isFile(), () => false);
    if (!exists)
        return false;
    if ((await digestOf(file, algo)) === checksum)
        return true;
    await rm(file, { force: true }); // changed on disk (e.g. through a hard link); fetch again
    return false;
}
/** Downloads into a temp file in `dir` and verifies it; returns the temp path, or throws and leaves nothing. */
async function download(ctx, url, dir, checksum, algo, signal) {
    ctx.output('floe', `downloading ${shownUrl(url)}`);
    const tmp = path.join(dir, `.${randomBytes(8).toString('hex')}.part`);
    try {
        const res = await fetch(url, { signal });
        if (!res.ok || res.body === null) {
            throw new FetchFailure(`GET ${shownUrl(url)}: HTTP ${res.status} ${res.statusText}`.trim());
        }
        const hash = createHash(checksum === undefined ? 'sha256' : algo);
        const body = res.body instanceof Readable ? res.body : Readable.from(res.body);
        await pipeline(body, async function* (source) {
            for await (const chunk of source) {
                hash.update(chunk);
                yield chunk;
            }
        }, createWriteStream(tmp, { flags: 'wx' }), { signal });
        const actual = hash.digest('hex');
        if (checksum === undefined) {
            ctx.output('floe', `sha256 ${actual} (no checksum given)`);
        }
        else if (actual !== checksum) {
            throw new FetchFailure(`${algo} mismatch for ${shownUrl(url)}: expected ${checksum}, got ${actual}`);
        }
        else {
            ctx.output('floe', `${algo} ok`);
        }
        return tmp;
    }
    catch (err) {
        await rm(tmp, { force: true });
        throw err;
    }
}
/** Hard links the cached file into place (replacing what is there), copying across devices. */
async function linkInto(cached, dest) {
    await rm(dest, { force: true });
    try {
        await link(cached, dest);
    }
    catch {
        await copyFile(cached, dest);
    }
}
async function moveInto(tmp, dest) {
    await rm(dest, { force: true });
    try {
        await rename(tmp, dest);
    }
    catch {
        await copyFile(tmp, dest);
        await rm(tmp, { force: true });
    }
}
function readString(raw, key, check) {
    const v = raw[key];
    if (v === undefined || v === null)
        return undefined;
    if (typeof v !== 'string' || v === '') {
        check.error(key, 'must be a non-empty string');
        return undefined;
    }
    const problem = checkTemplate(v);
    if (problem)
        check.error(key, `bad template: ${problem}`);
    return v;
}
//# sourceMappingURL=fetch.js.map