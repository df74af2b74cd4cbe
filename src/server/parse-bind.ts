/** `host:port` or `[v6]:port` -> parts, or undefined when malformed. */
export function parseBind(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
