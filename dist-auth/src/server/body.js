import { FloeError } from '../errors.js';
/** Largest request body accepted, in bytes. */
export const BODY_LIMIT = 1024 * 1024;
/**
 * Reads a JSON body as `unknown` (the caller narrows it). Answers 413 past `limit` without
 * reading the rest, and 400 for a body that is not JSON, saying where it breaks.
 */
export async function readJson(ctx, limit = BODY_LIMIT) {
    const declared = Number(ctx.get('content-length') || 0);
    if (declared > limit)
        throw new FloeError('too-large', `body of ${declared} bytes is over the limit of ${limit}`);
    const type = ctx.get('content-type');
    if (type && !/^application\/(.+\+)?json\b/i.test(type)) {
        throw new FloeError('bad-request', `body must be JSON (Content-Type: application/json), got ${type}`);
    }
    const chunks = [];
    let size = 0;
    for await (const chunk of ctx.req) {
        const b = chunk;
        size += b.length;
        if (size > limit) {
            ctx.req.destroy();
            throw new FloeError('too-large', `body is over the limit of ${limit} bytes`);
        }
        chunks.push(b);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '')
        throw new FloeError('bad-request', 'body is empty; expected a JSON object');
    try {
        return JSON.parse(text);
    }
    catch (err) {
        throw new FloeError('bad-request', `malformed JSON body: ${err instanceof Error ? err.message : String(err)}`);
    }
}
/** A JSON object with its keys looked up case-insensitively (floe's clients send `Ref`, `Form`). */
export class Fields {
    where;
    byLower = new Map();
    constructor(where, value) {
        this.where = where;
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
            throw new FloeError('bad-request', `${where} must be a JSON object, got ${describe(value)}`);
        }
        for (const [k, v] of Object.entries(value))
            this.byLower.set(k.toLowerCase(), v);
    }
    has(key) {
        return this.byLower.get(key.toLowerCase()) !== undefined;
    }
    raw(key) {
        return this.byLower.get(key.toLowerCase());
    }
    string(key, opts = {}) {
        const v = this.raw(key);
        if (v === undefined && opts.optional)
            return undefined;
        if (typeof v !== 'string' || v === '')
            throw new FloeError('bad-request', `${this.where}.${key} must be a non-empty string, got ${describe(v)}`);
        return v;
    }
    int(key, opts = {}) {
        const v = this.raw(key);
        if (v === undefined && opts.optional)
            return undefined;
        if (typeof v !== 'number' || !Number.isInteger(v))
            throw new FloeError('bad-request', `${this.where}.${key} must be an integer, got ${describe(v)}`);
        return v;
    }
    object(key, opts = {}) {
        const v = this.raw(key);
        if (v === undefined && opts.optional)
            return undefined;
        return new Fields(`${this.where}.${key}`, v);
    }
    /** The object as plain entries (keys as sent). */
    entries() {
        return [...this.byLower.entries()];
    }
}
function describe(v) {
    if (v === undefined)
        return 'nothing';
    if (v === null)
        return 'null';
    if (Array.isArray(v))
        return 'an array';
    return typeof v === 'string' ? `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}` : `${typeof v} ${JSON.stringify(v)}`;
}
//# sourceMappingURL=body.js.map