/** Names every loopback bind answers to: a host bound to one of them is reached through any. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
/** Binds that listen on every interface, so any name of the machine reaches them. */
const WILDCARD = new Set(['0.0.0.0', '::']);

/** Where a host listens for its peers: the private bind (the public one when none is set). */
export interface SelfBind {
  host: string;
  port: number;
}

/**
 * The entry of `common.hosts` that is this host, exactly as written there, or undefined when
 * none is: the same scheme (https with TLS) and port, and a hostname that is the bind's
 * address, any loopback name for a loopback bind, or any name for a wildcard bind. Port 0
 * binds match nothing: their port is known only once listening. Of several entries that match
 * a wildcard bind, the one naming an address in `localNames` is taken; still several, none is,
 * since picking one would make this host answer for another.
 */
export function findSelfUrl(hosts: readonly string[], bind: SelfBind, tls: boolean, localNames: Iterable<string> = []): string | undefined {
  if (bind.port === 0) return undefined;
  const bindHost = bind.host.toLowerCase();
  const scheme = tls ? 'https:' : 'http:';
  const candidates = hosts.filter((entry) => {
    const url = parseUrl(entry);
    if (!url || url.protocol !== scheme || portOf(url) !== bind.port) return false;
    const name = hostnameOf(url);
    return name === bindHost || (LOOPBACK.has(bindHost) && LOOPBACK.has(name)) || WILDCARD.has(bindHost);
  });
  if (candidates.length <= 1 || !WILDCARD.has(bindHost)) return candidates[0];
  const local = new Set([...localNames].map((n) => n.toLowerCase()));
  const mine = candidates.filter((entry) => {
    const name = hostnameOf(parseUrl(entry)!);
    return local.has(name) || LOOPBACK.has(name);
  });
  return mine.length === 1 ? mine[0] : undefined;
}

function parseUrl(entry: string): URL | undefined {
  try {
    return new URL(entry);
  } catch {
    return undefined;
  }
}

function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** The hostname without the brackets of an IPv6 literal; URL lower-cases names already. */
function hostnameOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}
