import { FloeError } from '../errors.js';

/** Where one host's part of a merged archive listing goes on. */
export interface HostArchivePlace {
  /** The host's own archive position (its page `next`); its newest run when absent. */
  before?: number;
  /** Runs before `before` already listed: a merged page may take only some of a host's slice. */
  skip: number;
}

/** Each host's place by URL. A host left out has no older runs to list. */
export type ArchiveCursor = Map<string, HostArchivePlace>;

/** A cursor string starts with this; any other `before` is a host's plain archive position. */
const PREFIX = 'c';
const MAX_HOSTS = 1000;

/**
 * The `next` a client passes back as `before`. A host whose only listing is its own archive
 * (no peers, or every peer's archive done) gives its plain position, as a host alone always did.
 */
export function encodeCursor(cursor: ArchiveCursor, selfUrl: string): number | string | undefined {
  if (cursor.size === 0) return undefined;
  const own = cursor.get(selfUrl);
  if (cursor.size === 1 && own && own.skip === 0 && own.before !== undefined) return own.before;
  const entries = [...cursor].map(([url, p]) => [url, p.before ?? null, p.skip]);
  return PREFIX + Buffer.from(JSON.stringify(entries)).toString('base64url');
}

/** Reads a `before` back; a plain position is this host's alone. Throws bad-request naming `param`. */
export function decodeCursor(text: string, selfUrl: string, param = 'before'): ArchiveCursor {
  if (/^\d+$/.test(text)) {
    const before = Number(text);
    if (!Number.isSafeInteger(before)) throw badCursor(param, text);
    return new Map([[selfUrl, { before, skip: 0 }]]);
  }
  if (!text.startsWith(PREFIX)) throw badCursor(param, text);
  let entries: unknown;
  try {
    entries = JSON.parse(Buffer.from(text.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw badCursor(param, text);
  }
  if (!Array.isArray(entries) || entries.length > MAX_HOSTS) throw badCursor(param, text);
  const cursor: ArchiveCursor = new Map();
  for (const e of entries) {
    if (!Array.isArray(e) || e.length !== 3) throw badCursor(param, text);
    const [url, before, skip] = e as unknown[];
    if (typeof url !== 'string' || !isCount(skip) || (before !== null && !isCount(before))) throw badCursor(param, text);
    cursor.set(url, before === null ? { skip } : { before, skip });
  }
  return cursor;
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function badCursor(param: string, text: string): FloeError {
  const shown = text.length > 40 ? `${text.slice(0, 40)}...` : text;
  return new FloeError('bad-request', `query parameter ${param} must be the next of a previous page, got ${JSON.stringify(shown)}`);
}
