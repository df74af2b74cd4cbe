import { isIP } from 'node:net';

/*
 * IP addresses as bytes, for what `node:net` does not say: whether an IPv6 address is an IPv4
 * one mapped (in any of its spellings), and whether a CIDR range has bits set past its prefix.
 */

/** The address's bytes (4 or 16), without an IPv6 zone id; undefined when it is no IP address. */
export function addressBytes(address: string): Uint8Array | undefined {
  const family = isIP(address);
  if (family === 4) return Uint8Array.from(address.split('.').map(Number));
  if (family !== 6) return undefined;
  const unzoned = address.replace(/%.*$/s, '');
  // A dotted quad at the end (`::ffff:10.0.0.1`) is its last two groups.
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(unzoned);
  let text = unzoned;
  if (dotted) {
    const [a, b, c, d] = dotted[2]!.split('.').map(Number) as [number, number, number, number];
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** The IPv4 address an IPv4-mapped IPv6 address (`::ffff:0:0/96`) stands for; undefined for any other. */
export function mappedIPv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  const b = addressBytes(address)!;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return undefined;
  if (b[10] !== 0xff || b[11] !== 0xff) return undefined;
  return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
}

/** Whether `bytes` has a bit set past the first `prefix`. */
export function hasHostBits(bytes: Uint8Array, prefix: number): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return true;
  return false;
}

/** `bytes` with every bit past the first `prefix` cleared, as an address. */
export function networkOf(bytes: Uint8Array, prefix: number): string {
  const b = Uint8Array.from(bytes);
  for (let bit = prefix; bit < b.length * 8; bit++) b[bit >> 3]! &= ~(1 << (7 - (bit & 7)));
  if (b.length === 4) return b.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Whether `a` and `b` (of one family) agree in their first `prefix` bits. */
export function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) if (((a[bit >> 3]! ^ b[bit >> 3]!) >> (7 - (bit & 7))) & 1) return false;
  return true;
}
