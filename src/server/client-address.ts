import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { parseProxyEntry } from '../config/trusted-proxies.js';
import { mappedIPv4 } from '../ip-address.js';

/*
 * Where a request comes from, for what is counted per address: failed logins and bad tokens
 * (login-limits.ts) and websockets per address (ws.ts). Behind a reverse proxy every request
 * comes from the proxy, so one client's guesses would lock every user out and 64 dashboards
 * would fill the proxy's websocket allowance. `common.trusted-proxies` names the proxies whose
 * X-Forwarded-For is believed: only hops a trusted proxy added are read, from the right, and
 * the first that is not itself a trusted proxy is the client. What a client writes into the
 * header itself lies to the left of that and is never read.
 */

/** The addresses of `common.trusted-proxies`: single addresses and CIDR ranges, IPv4 and IPv6. */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  /** Throws on an entry the config validator would refuse (`proxyEntryError`). */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const range = parseProxyEntry(entry);
      if (typeof range === 'string') throw new Error(`trusted proxy ${JSON.stringify(entry)} ${range}`);
      if (range.prefix === undefined) this.list.addAddress(range.address, range.family);
      else this.list.addSubnet(range.address, range.prefix, range.family);
    }
    this.size = entries.length;
  }

  /** `address` (as `plainAddress` gives it) is one of them. */
  has(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The address as compared and counted: an IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`, as
 * a dual-stack socket reports it, or any other spelling of it) as IPv4; undefined when it is
 * not an IP address.
 */
export function plainAddress(address: string | undefined): string | undefined {
  if (address === undefined || isIP(address) === 0) return undefined;
  return mappedIPv4(address) ?? address;
}

/** One hop of X-Forwarded-For as an address: some proxies add a port (`10.0.0.1:4711`, `[fd00::1]:4711`). */
function hopAddress(hop: string): string | undefined {
  const h = hop.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(h)?.[1];
  if (bracketed !== undefined) return isIP(bracketed) === 6 ? plainAddress(bracketed) : undefined;
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(h)?.[1];
  return plainAddress(v4port ?? h);
}

/** At most this many hops are read: more proxies than this in a row are not a real deployment. */
const MAX_HOPS = 32;

/**
 * The client a request comes from: its TCP peer, or, when the peer is a trusted proxy, the
 * nearest hop of X-Forwarded-For that is not one. A hop that is not an address ends the walk
 * at the last trusted hop before it, as does running out of hops: nothing beyond what a trusted
 * proxy vouches for is believed. The peer's address as it is when it is not an IP address.
 */
export function clientAddress(req: Pick<IncomingMessage, 'socket' | 'headers'>, trusted: TrustedProxies): string | undefined {
  const peer = req.socket.remoteAddress;
  let at = plainAddress(peer);
  if (at === undefined || trusted.size === 0 || !trusted.has(at)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  for (let i = hops.length - 1; i >= 0 && i >= hops.length - MAX_HOPS; i--) {
    const hop = hopAddress(hops[i]!);
    if (hop === undefined) return at;
    at = hop;
    if (!trusted.has(hop)) return hop;
  }
  return at;
}
