import type { Envelope } from './api-types.js';

function meta(name: string, fallback: string): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? fallback;
}

/** The API's base path, told by the host in the page. */
export const API_BASE = meta('floe-base', '/build/api');
/** The host that served the page. */
export const HOST_NAME = meta('floe-host', '');

/** An answer other than 2xx, with the API's own message (`bad values for trigger start: ...`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Unauthorized = () => void;
let onUnauthorized: Unauthorized = () => {};

/** Who hears that the session is gone (expired, logged out elsewhere, host restarted). */
export function whenUnauthorized(fn: Unauthorized): void {
  onUnauthorized = fn;
}

/**
 * Calls the API with the session cookie. A 401 on anything but login means the session ended:
 * the app goes to the login page, remembering where it was.
 */
export async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Envelope<T>> {
  let res: Response;
  try {
    res = await fetch(API_BASE + path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `the host did not answer: ${(err as Error).message}`);
  }
  let parsed: Envelope<T> | undefined;
  try {
    parsed = (await res.json()) as Envelope<T>;
  } catch {
    parsed = undefined;
  }
  if (res.status === 401 && path !== '/login') onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, parsed?.message ?? `${res.status} ${res.statusText}`);
  if (!parsed) throw new ApiError(res.status, 'the host answered something that is not JSON');
  return parsed;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path).then((e) => e.payload);
export const post = <T>(path: string, body?: unknown): Promise<Envelope<T>> => call<T>('POST', path, body);

/** A path segment, escaped. */
export const seg = (s: string): string => encodeURIComponent(s);
