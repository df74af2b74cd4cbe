import { isIP } from 'node:net';
import { addressBytes, hasHostBits, networkOf, samePrefix } from '../ip-address.js';

/*
 * `common.trusted-proxies`: the reverse proxies whose X-Forwarded-For a host believes
 * (server/client-address.ts). Each entry is an address or a CIDR range. Every address listed
 * may name any client it likes, so a range wider than the proxies lets the machines in it pick
 * the address they are counted as.
 */

/** ::ffff:0:0, where IPv4 addresses are mapped into IPv6. */
const MAPPED_IPV4 = addressBytes('::ffff:0:0')!;

export interface ProxyRange {
  address: string;
  family: 'ipv4' | 'ipv6';
  /** Absent: the address alone. */
  prefix?: number;
}

/** The range `entry` names, or why it names none. */
export function parseProxyEntry(entry: string): ProxyRange | string {
  const [address = '', prefix, extra] = entry.trim().split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return 'must be an IP address or a CIDR range, like 10.0.0.1, 10.0.0.0/8 or fd00::/8';
  // Node's BlockList would drop the zone and trust that address on every interface.
  if (address.includes('%')) return 'must not have a zone id (the part from "%")';
  const kind = family === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) return { address, family: kind };
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `must have a prefix length from 0 to ${max} after "/"`;
  return { address, family: kind, prefix: Number(prefix) };
}

/** Why `entry` is not an address or a CIDR range (`10.0.0.0/8`, `fd00::/8`); undefined when it is one. */
export function proxyEntryError(entry: string): string | undefined {
  const range = parseProxyEntry(entry);
  return typeof range === 'string' ? range : undefined;
}

/** What is likely a mistake in a valid entry: a range that trusts far more than a proxy. */
export function proxyEntryWarning(entry: string): string | undefined {
  const range = parseProxyEntry(entry);
  if (typeof range === 'string' || range.prefix === undefined) return undefined;
  const bytes = addressBytes(range.address)!;
  const { prefix } = range;
  // Every IPv4 client, seen directly or as IPv4-mapped IPv6 (::ffff:0:0/96 and what holds it).
  const allIPv4 = range.family === 'ipv4' ? prefix === 0 : prefix <= 96 && samePrefix(bytes, MAPPED_IPV4, prefix);
  if (allIPv4 || (range.family === 'ipv6' && prefix === 0))
    return 'trusts every client to name the address it is counted as: list only your proxies';
  if (hasHostBits(bytes, prefix))
    return `has bits set past its prefix, so it trusts all of ${networkOf(bytes, prefix)}/${prefix}: list the proxy alone, or write the range as that`;
  return undefined;
}
