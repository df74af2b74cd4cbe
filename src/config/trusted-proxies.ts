import { isIP } from 'node:net';

/*
 * `common.trusted-proxies`: the reverse proxies whose X-Forwarded-For a host believes
 * (server/client-address.ts). Each entry is an address or a CIDR range.
 */

export interface ProxyRange {
  address: string;
  family: 'ipv4' | 'ipv6';
  /** Absent: the address alone. */
  prefix?: number;
}

/** Why `entry` is not an address or a CIDR range (`10.0.0.0/8`, `fd00::/8`); undefined when it is one. */
export function proxyEntryError(entry: string): string | undefined {
  const range = parseProxyEntry(entry);
  return typeof range === 'string' ? range : undefined;
}

/** The range `entry` names, or why it names none. */
export function parseProxyEntry(entry: string): ProxyRange | string {
  const [address = '', prefix, extra] = entry.trim().split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return 'must be an IP address or a CIDR range, like 10.0.0.1, 10.0.0.0/8 or fd00::/8';
  const kind = family === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) return { address, family: kind };
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `must have a prefix length from 0 to ${max} after "/"`;
  return { address, family: kind, prefix: Number(prefix) };
}
