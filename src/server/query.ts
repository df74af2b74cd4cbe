import type { ParsedUrlQuery } from 'node:querystring';
import { FloeError } from '../errors.js';

export interface IntParam {
  /** Smallest value accepted. */
  min: number;
  /** Largest value accepted; larger answers 400 rather than being clamped, so a caller learns the cap. */
  max: number;
}

/**
 * A request's query string, narrowed like a body: only the names a route knows, each at most
 * once, so `?limt=10` or `?limit=abc` answer 400 instead of being quietly ignored.
 */
export class Query {
  constructor(
    private readonly query: ParsedUrlQuery,
    known: readonly string[],
  ) {
    for (const [name, value] of Object.entries(query)) {
      if (!known.includes(name)) {
        const takes = known.length > 0 ? `it takes: ${known.join(', ')}` : 'it takes none';
        throw new FloeError('bad-request', `unknown query parameter ${JSON.stringify(name)} (${takes})`);
      }
      if (Array.isArray(value)) throw new FloeError('bad-request', `query parameter ${name} is given ${value.length} times; give it once`);
    }
  }

  has(name: string): boolean {
    return this.query[name] !== undefined;
  }

  string(name: string): string | undefined {
    const v = this.query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new FloeError('bad-request', `query parameter ${name} must not be empty`);
    return v;
  }

  /** The parameter as an integer in [min, max], or undefined when absent. */
  int(name: string, range: IntParam): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^[+-]?\d+$/.test(v))
      throw new FloeError('bad-request', `query parameter ${name} must be an integer, got ${JSON.stringify(clip(v))}`);
    const n = Number(v);
    if (n < range.min || n > range.max || !Number.isSafeInteger(n)) {
      throw new FloeError('bad-request', `query parameter ${name} must be between ${range.min} and ${range.max}, got ${clip(v)}`);
    }
    return n;
  }
}

/** For routes that take no query parameters: any given answers 400. */
export function takesNoQuery(query: ParsedUrlQuery): void {
  new Query(query, []);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
