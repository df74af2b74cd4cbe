import type { Context } from 'koa';
import type { ErrorCode } from '../errors.js';

/** Every JSON answer of the API has this shape, errors included. */
export interface Envelope<T = unknown> {
  message: string;
  payload: T;
}

export function respond<T>(ctx: Context, message: string, payload: T, status = 200): void {
  ctx.status = status;
  ctx.body = { message, payload } satisfies Envelope<T>;
}

/** The one place a FloeError code becomes an HTTP status. */
export const STATUS_OF: Record<ErrorCode, number> = {
  'bad-request': 400,
  'config-invalid': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'too-many-requests': 429,
  internal: 500,
  unreachable: 502,
  'shutting-down': 503,
};
