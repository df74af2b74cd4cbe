import { closest } from '../config/suggest.js';
import { parseBind } from '../server/parse-bind.js';

/** One command-line flag of floe's, as the Go floe spelled it. */
export interface FlagSpec {
  name: string;
  /** `count`: a whole number from 1. */
  kind: 'string' | 'bool' | 'list' | 'bind' | 'count';
  default?: string;
  help: string;
}

export const HOST_FLAGS: FlagSpec[] = [
  { name: 'conf', kind: 'string', default: 'default.yml', help: 'config file to load' },
  { name: 'host_name', kind: 'string', default: 'h1', help: 'name of this host; run ids are <host_name>-<n>' },
  {
    name: 'admin',
    kind: 'string',
    help: 'admin token accepted by the API; other processes can read it here: prefer -admin_file or FLOE_ADMIN (a random one is made when none is given)',
  },
  { name: 'admin_file', kind: 'string', help: 'file whose first line is the admin token (chmod 600)' },
  { name: 'tags', kind: 'list', default: 'master', help: 'comma separated host tags, matched against flow host-tags' },
  {
    name: 'pub_bind',
    kind: 'bind',
    default: '127.0.0.1:8080',
    help: 'host:port of the public API and dashboard (port 0 picks a free one)',
  },
  { name: 'pub_cert', kind: 'string', help: 'TLS certificate file for pub_bind' },
  { name: 'pub_key', kind: 'string', help: 'TLS key file for pub_bind' },
  { name: 'prv_bind', kind: 'bind', help: 'host:port of the host-to-host API (defaults to pub_bind)' },
  { name: 'prv_cert', kind: 'string', help: 'TLS certificate file for prv_bind' },
  { name: 'prv_key', kind: 'string', help: 'TLS key file for prv_bind' },
  {
    name: 'cluster_token',
    kind: 'string',
    help: 'token hosts present to each other on prv_bind; the same on every host (default: the admin token)',
  },
  { name: 'max_runs', kind: 'count', help: 'at most this many runs active on this host at once (default: no limit)' },
  { name: 'root', kind: 'string', help: 'workspace root (overrides common.workspace-root)' },
  { name: 'dev', kind: 'bool', default: 'false', help: 'serve the webapp folder from disk instead of the built copy' },
];

export type FlagValues = Record<string, string | boolean | string[] | number | undefined>;

export class FlagError extends Error {
  override name = 'FlagError';
}

/**
 * Parses `-name=value`, `--name=value`, `-name value` and `--name value` (bool flags take no
 * separate value: `-dev`, `-dev=false`). Throws FlagError naming the flag and what is wrong.
 */
export function parseFlags(argv: string[], specs: FlagSpec[]): { values: FlagValues; rest: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values: FlagValues = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    const flag = m?.[1];
    if (flag === undefined || arg === '-') {
      rest.push(arg);
      continue;
    }
    const name = flag.replace(/-/g, '_');
    const spec = byName.get(name) ?? byName.get(flag);
    if (!spec) {
      const near = closest(
        name,
        specs.map((s) => s.name),
      );
      throw new FlagError(`unknown flag ${arg.split('=')[0]}${near ? ` (did you mean -${near}?)` : ''}; see floe --help`);
    }
    let raw = m?.[2];
    if (raw === undefined && spec.kind !== 'bool') {
      if (i + 1 >= argv.length) throw new FlagError(`flag -${spec.name} needs a value (${spec.help})`);
      raw = argv[++i];
    }
    values[spec.name] = convert(spec, raw);
  }
  for (const s of specs) if (values[s.name] === undefined && s.default !== undefined) values[s.name] = convert(s, s.default);
  return { values, rest };
}

function convert(spec: FlagSpec, raw: string | undefined): string | boolean | string[] | number {
  switch (spec.kind) {
    case 'bool':
      if (raw === undefined || raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new FlagError(`flag -${spec.name} is true or false, got "${raw}"`);
    case 'list': {
      const items = (raw ?? '').split(',').map((s) => s.trim());
      if (items.some((s) => s === '' || !/^[A-Za-z0-9_.:-]+$/.test(s))) {
        throw new FlagError(`flag -${spec.name} is a comma separated list of names like linux,go; got "${raw}"`);
      }
      return items;
    }
    case 'bind':
      if (!parseBind(raw ?? ''))
        throw new FlagError(`flag -${spec.name} is host:port with a port from 0 to 65535, e.g. 127.0.0.1:8080; got "${raw}"`);
      return raw ?? '';
    case 'count':
      // Digits only: Number() would take 1e3, 0x10 and " 7 ".
      if (!/^\d{1,15}$/.test(raw ?? '') || Number(raw) < 1)
        throw new FlagError(`flag -${spec.name} is a whole number from 1 (${spec.help}); got "${raw}"`);
      return Number(raw);
    case 'string':
      if (raw === undefined || raw === '') throw new FlagError(`flag -${spec.name} needs a non-empty value (${spec.help})`);
      return raw;
  }
}

export function usage(specs: FlagSpec[]): string {
  const lines = specs.map((s) => {
    const dflt = s.default !== undefined ? ` (default ${s.default})` : '';
    return `  -${s.name.padEnd(10)} ${s.help}${dflt}`;
  });
  return lines.join('\n');
}
