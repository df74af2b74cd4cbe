import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import { FloeError } from '../errors.js';

/** Largest request body accepted, in bytes. */
export const BODY_LIMIT = 1024 * 1024;

/**
 * A body sent without a declared length is read and dropped up to this far past the limit
 * before answering 413: a client still sending when the connection closes would see a reset
 * instead of the answer.
 */
const DRAIN_LIMIT = 8 * BODY_LIMIT;

/**
 * Reads a JSON body as `unknown` (the caller narrows it). Answers 413 past `limit`, keeping
 * none of the rest, 400 for a Content-Type that is missing or not JSON, and 400 for a body
 * that is not JSON, saying where it breaks.
 */
export async function readJson(ctx: Context, limit = BODY_LIMIT): Promise<unknown> {
  const declared = Number(ctx.get('content-length') || 0);
  // Answered before reading; node drops the rest of the body once the answer is out.
  if (declared > limit) throw new FloeError('too-large', `body of ${declared} bytes is over the limit of ${limit}`);
  // A body must say it is JSON: a browser sends a cross-origin body with no Content-Type (a
  // Blob) without asking first, while application/json makes it ask (a CORS preflight), which
  // floe never grants (security review).
  const type = ctx.get('content-type');
  if (!type)
    throw new FloeError(
      'bad-request',
      'body must be JSON and say so: the request has no Content-Type; send Content-Type: application/json',
    );
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new FloeError('bad-request', `body must be JSON (Content-Type: application/json), got ${type}`);
  }
  const body = await readBody(ctx.req, limit);
  if (body === undefined) throw new FloeError('too-large', `body is over the limit of ${limit} bytes`);
  const text = body.toString('utf8');
  if (text.trim() === '') throw new FloeError('bad-request', 'body is empty; expected a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new FloeError('bad-request', `malformed JSON body: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The whole body, or undefined when it was over `limit` (read to its end and dropped). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const closedEarly = (cause?: unknown) =>
      new FloeError(
        size > limit ? 'too-large' : 'bad-request',
        `request closed after ${size} bytes, before its body ended`,
        cause === undefined ? undefined : { cause },
      );
    // Closed before we listened: neither 'error' nor 'close' would come again.
    if (req.destroyed && !req.complete) return reject(closedEarly());
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size <= limit + DRAIN_LIMIT) chunks = [];
      else req.socket.destroy(); // still sending: not worth reading for a 413 it would not see
    });
    req.once('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    // A client that aborts or resets mid-body surfaces as 'error' (ECONNRESET "aborted") before
    // 'close': it is the client's doing, not the host's, so it is a FloeError like the close.
    req.once('error', (err) => reject(closedEarly(err)));
    req.once('close', () => {
      if (!req.complete) reject(closedEarly());
    });
  });
}

/** A JSON object with its keys looked up case-insensitively (floe's clients send `Ref`, `Form`). */
export class Fields {
  private readonly byLower = new Map<string, unknown>();

  constructor(
    private readonly where: string,
    value: unknown,
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new FloeError('bad-request', `${where} must be a JSON object, got ${describeValue(value)}`);
    }
    for (const [k, v] of Object.entries(value)) this.byLower.set(k.toLowerCase(), v);
  }

  has(key: string): boolean {
    return this.byLower.get(key.toLowerCase()) !== undefined;
  }

  raw(key: string): unknown {
    return this.byLower.get(key.toLowerCase());
  }

  string(key: string, opts: { optional: true }): string | undefined;
  string(key: string, opts?: { optional?: false }): string;
  string(key: string, opts: { optional?: boolean } = {}): string | undefined {
    const v = this.raw(key);
    if (v === undefined && opts.optional) return undefined;
    if (typeof v !== 'string' || v === '')
      throw new FloeError('bad-request', `${this.where}.${key} must be a non-empty string, got ${describeValue(v)}`);
    return v;
  }

  int(key: string, opts: { optional: true }): number | undefined;
  int(key: string, opts?: { optional?: false }): number;
  int(key: string, opts: { optional?: boolean } = {}): number | undefined {
    const v = this.raw(key);
    if (v === undefined && opts.optional) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new FloeError('bad-request', `${this.where}.${key} must be an integer, got ${describeValue(v)}`);
    return v;
  }

  object(key: string, opts: { optional: true }): Fields | undefined;
  object(key: string, opts?: { optional?: false }): Fields;
  object(key: string, opts: { optional?: boolean } = {}): Fields | undefined {
    const v = this.raw(key);
    if (v === undefined && opts.optional) return undefined;
    return new Fields(`${this.where}.${key}`, v);
  }
}

/** A short description of an unexpected value for an error message: objects are not echoed, long text is cut. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v);
  return `${typeof v} ${text.length > 40 ? `${text.slice(0, 40)}...` : text}`;
}
