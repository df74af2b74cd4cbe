import type { Auth, AuthCheck } from './auth.js';

export const SESSION_COOKIE = 'floe-sesh';
export const AUTH_HEADER = 'x-floe-auth';

/**
 * The token a request carries: the X-Floe-Auth header, else the floe-sesh cookie; `null` when
 * that cookie does not URL-decode (`floe-sesh=%`), which names no session.
 */
export function requestToken(headers: { [k: string]: string | string[] | undefined }): string | null | undefined {
  const h = headers[AUTH_HEADER];
  if (typeof h === 'string' && h !== '') return h;
  const cookie = headers.cookie;
  if (typeof cookie !== 'string') return undefined;
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== SESSION_COOKIE) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return null;
    }
  }
  return undefined;
}

/**
 * Whether the request's token is the floe-sesh cookie (there is no X-Floe-Auth header): a
 * browser sends the cookie by itself, from other pages too, so such a request must also pass
 * the same-origin check (same-origin.ts).
 */
export function isCookieToken(headers: { [k: string]: string | string[] | undefined }): boolean {
  const h = headers[AUTH_HEADER];
  return !(typeof h === 'string' && h !== '') && requestToken(headers) !== undefined;
}

/** The session a request token names; an undecodable cookie (null) is an invalid session. */
export function checkToken(auth: Auth, token: string | null | undefined): AuthCheck {
  return token === null ? { error: 'invalid session' } : auth.check(token);
}
