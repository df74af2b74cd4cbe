/*
 * Cross-site request forgery and websocket hijacking (security review): SameSite=Strict does
 * not stop a page on another port or a sibling subdomain, which the browser counts as the same
 * site, so it sends that page's requests with the floe-sesh cookie. A request that relies on
 * the cookie must therefore come from a page of the host:port it is addressed to. The scheme
 * counts only through its default port: behind a TLS-terminating proxy the page is https and
 * floe is spoken to in plain http with the bare `Host` the browser sent, so a Host without a
 * port stands for the page's default port, whichever scheme that is. An explicit port is not
 * taken as a default (`Host: floe.example:80` is not `https://floe.example`, another app).
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
 * like `null`; a Host without a port names the default port of the Origin's scheme), or, with
 * no `Origin` on a method other than GET and HEAD, `Sec-Fetch-Site` is `cross-site` or
 * `same-site`. A request with neither (curl, scripts) is not.
 */
export function isCrossOrigin(method: string, headers: Headers): boolean {
  const origin = headers.origin;
  if (origin !== undefined) {
    const page = typeof origin === 'string' ? pageOf(origin) : undefined;
    const target = targetOf(headers.host);
    return page === undefined || target === undefined || !addressedTo(page, target);
  }
  if (SAFE_METHODS.has(method.toUpperCase())) return false;
  const site = String(headers['sec-fetch-site'] ?? '').toLowerCase();
  return site === 'cross-site' || site === 'same-site';
}

/** The port a page of each scheme is on when its origin names none. */
const DEFAULT_PORTS = new Map([
  ['http:', '80'],
  ['https:', '443'],
  ['ws:', '80'],
  ['wss:', '443'],
]);

/** Where a page is: its host name and port, the port always explicit. */
interface Page {
  hostname: string;
  port: string;
  /** Whether `port` is its scheme's default, which a bare Host header stands for. */
  onDefaultPort: boolean;
}

/** What a Host header names; `port` undefined when it names none. */
interface Target {
  hostname: string;
  port: string | undefined;
}

/**
 * The page a serialized origin (`https://Floe.example.com`) names; undefined for `null`,
 * garbage, or a scheme with no default port (no page of one holds the floe-sesh cookie).
 */
function pageOf(origin: string): Page | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  const defaultPort = DEFAULT_PORTS.get(url.protocol);
  if (defaultPort === undefined || url.hostname === '') return undefined;
  // URL leaves out the port when it is its scheme's default.
  const port = url.port === '' ? defaultPort : url.port;
  return { hostname: url.hostname, port, onDefaultPort: port === defaultPort };
}

/** What a Host header names; undefined when there is none or it is no host. */
function targetOf(host: string | string[] | undefined): Target | undefined {
  if (typeof host !== 'string' || host === '') return undefined;
  try {
    // URL hides a port that is its scheme's default, and no port is the default of both http
    // and https, so the port written in Host shows in at least one of the two parses.
    const asHttp = new URL(`http://${host}`);
    const asHttps = new URL(`https://${host}`);
    if (asHttp.hostname === '') return undefined;
    const port = asHttp.port || asHttps.port;
    return { hostname: asHttp.hostname, port: port === '' ? undefined : port };
  } catch {
    return undefined;
  }
}

/** Whether a page is where the Host header says the request goes; host names are lower case in both. */
function addressedTo(page: Page, target: Target): boolean {
  if (page.hostname !== target.hostname) return false;
  return target.port === undefined ? page.onDefaultPort : target.port === page.port;
}
