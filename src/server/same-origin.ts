/*
 * Cross-site request forgery and websocket hijacking (security review): SameSite=Strict does
 * not stop a page on another port or a sibling subdomain, which the browser counts as the same
 * site, so it sends that page's requests with the floe-sesh cookie. A request that relies on
 * the cookie must therefore come from a page of the host:port it is addressed to. The scheme
 * is not compared: behind a TLS-terminating proxy the page is https and floe is spoken to in
 * plain http.
 */

type Headers = { [k: string]: string | string[] | undefined };

/** The message of the 403 a cross-origin request authenticated by the cookie gets. */
export const CROSS_ORIGIN_REFUSED =
  'cross-origin request refused: the floe-sesh cookie is accepted only from pages of this host and port; other clients send X-Floe-Auth';

/** Methods a browser sends without Origin on a plain navigation; they change nothing. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Whether a browser sent this request from a page of another host:port than the one it is
 * addressed to: its `Origin` names another host:port than its `Host` header (or names none,
 * like `null`), or, with no `Origin` on a method other than GET and HEAD, `Sec-Fetch-Site` is
 * `cross-site` or `same-site`. A request with neither (curl, scripts) is not.
 */
export function isCrossOrigin(method: string, headers: Headers): boolean {
  const origin = headers.origin;
  if (origin !== undefined) {
    const from = typeof origin === 'string' ? originAuthority(origin) : undefined;
    return from === undefined || from !== hostAuthority(headers.host);
  }
  if (SAFE_METHODS.has(method.toUpperCase())) return false;
  const site = String(headers['sec-fetch-site'] ?? '').toLowerCase();
  return site === 'cross-site' || site === 'same-site';
}

/** `host[:port]` of a serialized origin (`https://Floe.example.com`); undefined for `null` or garbage. */
function originAuthority(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.hostname === '' ? undefined : authority(url.hostname, url.port);
  } catch {
    return undefined;
  }
}

/** `host[:port]` of a Host header; undefined when there is none or it is no host. */
function hostAuthority(host: string | string[] | undefined): string | undefined {
  if (typeof host !== 'string' || host === '') return undefined;
  try {
    const url = new URL(`http://${host}`);
    return url.hostname === '' ? undefined : authority(url.hostname, url.port);
  } catch {
    return undefined;
  }
}

/**
 * One spelling for both sides: lower case, and the default ports of http and https left out,
 * as a browser leaves them out of both headers (a proxy may write `Host: floe.example.com:443`).
 */
function authority(hostname: string, port: string): string {
  const explicit = port === '' || port === '80' || port === '443' ? '' : `:${port}`;
  return `${hostname}${explicit}`.toLowerCase();
}
