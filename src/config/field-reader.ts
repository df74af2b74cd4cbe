import type { ConfigProblem, SourcePos } from '../errors.js';
import type { OptsCheck } from '../nodes/node-type.js';
import { describeNode, entryOf } from './load.js';
import type { Pos, TreeEntry, TreeMap, TreeNode, TreeSeq } from './load.js';
import { resolveIdAndName } from './ids.js';
import { didYouMean } from './suggest.js';
import { quoteValue } from '../quote-value.js';

/** `flows[0]` + `tasks` -> `flows[0].tasks`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * Reads typed fields out of a position-keeping tree, recording a problem (with its place)
 * for anything of the wrong shape and returning undefined for it, so validation can go on
 * and report everything in one pass.
 */
export class FieldReader {
  readonly problems: ConfigProblem[] = [];

  constructor(readonly file: string) {}

  at(pos: Pos, path: string): SourcePos {
    return { file: this.file, line: pos.line, col: pos.col, path };
  }

  error(pos: Pos, path: string, message: string): void {
    this.problems.push({ severity: 'error', message, at: this.at(pos, path) });
  }

  warn(pos: Pos, path: string, message: string): void {
    this.problems.push({ severity: 'warning', message, at: this.at(pos, path) });
  }

  hasErrors(): boolean {
    return this.problems.some((p) => p.severity === 'error');
  }

  /** `node` as a map, or an error saying what `what` should look like. */
  asMap(node: TreeNode, path: string, what: string): TreeMap | undefined {
    if (node.kind === 'map') return node;
    if (node.kind === 'scalar' && node.value === null) {
      this.error(node.pos, path, `${what} is empty; expected a map of its fields`);
      return undefined;
    }
    this.error(node.pos, path, `${what} must be a map (key: value lines), got ${describeNode(node)}`);
    return undefined;
  }

  /**
   * Warn about keys not in `known`, suggesting the closest known key. `handled` keys are
   * not known but are reported by the caller with a better message.
   */
  checkKeys(map: TreeMap, path: string, known: readonly string[], what: string, handled: readonly string[] = []): void {
    for (const e of map.entries) {
      if (known.includes(e.key) || handled.includes(e.key)) continue;
      const hint = didYouMean(e.key, known) || ` (known: ${known.join(', ')})`;
      this.warn(e.keyPos, childPath(path, e.key), `unknown key ${quoteValue(e.key)} in ${what}, ignored${hint}`);
    }
  }

  /** The entry for `key`, unless absent or written empty (`key:` with nothing after it). */
  given(map: TreeMap, key: string): TreeEntry | undefined {
    const e = entryOf(map, key);
    if (e === undefined || (e.value.kind === 'scalar' && e.value.value === null)) return undefined;
    return e;
  }

  /** Record that `key` is missing from `map`. */
  missing(map: TreeMap, path: string, key: string, message: string): void {
    this.error(entryOf(map, key)?.keyPos ?? map.pos, childPath(path, key), message);
  }

  str(map: TreeMap, path: string, key: string): string | undefined {
    const e = this.given(map, key);
    if (e === undefined) return undefined;
    const v = e.value;
    if (v.kind === 'scalar' && typeof v.value === 'string') return v.value;
    const quote = v.kind === 'scalar' ? `; quote it: ${quoteValue(String(v.value))}` : '';
    this.error(v.pos, childPath(path, key), `${key} must be a string, got ${describeNode(v)}${quote}`);
    return undefined;
  }

  int(map: TreeMap, path: string, key: string): number | undefined {
    const e = this.given(map, key);
    if (e === undefined) return undefined;
    const v = e.value;
    if (v.kind === 'scalar' && typeof v.value === 'number' && Number.isInteger(v.value)) return v.value;
    this.error(v.pos, childPath(path, key), `${key} must be an integer, got ${describeNode(v)}`);
    return undefined;
  }

  /** A number of seconds (or similar) that must be above zero. */
  positive(map: TreeMap, path: string, key: string, unit: string): number | undefined {
    const e = this.given(map, key);
    if (e === undefined) return undefined;
    const v = e.value;
    if (v.kind === 'scalar' && typeof v.value === 'number' && Number.isFinite(v.value) && v.value > 0) return v.value;
    this.error(v.pos, childPath(path, key), `${key} must be a positive number of ${unit}, got ${describeNode(v)}`);
    return undefined;
  }

  bool(map: TreeMap, path: string, key: string): boolean | undefined {
    const e = this.given(map, key);
    if (e === undefined) return undefined;
    const v = e.value;
    if (v.kind === 'scalar' && typeof v.value === 'boolean') return v.value;
    this.error(v.pos, childPath(path, key), `${key} must be true or false, got ${describeNode(v)}`);
    return undefined;
  }

  /** One of `choices`; anything else is an error listing them. */
  oneOf<T extends string>(map: TreeMap, path: string, key: string, choices: readonly T[]): T | undefined {
    const s = this.str(map, path, key);
    if (s === undefined) return undefined;
    if ((choices as readonly string[]).includes(s)) return s as T;
    const e = entryOf(map, key)!;
    const hint = didYouMean(s, choices);
    this.error(e.value.pos, childPath(path, key), `${key} must be one of ${choices.join(', ')}, got ${quoteValue(s)}${hint}`);
    return undefined;
  }

  seq(map: TreeMap, path: string, key: string): TreeSeq | undefined {
    const e = this.given(map, key);
    if (e === undefined) return undefined;
    if (e.value.kind === 'seq') return e.value;
    this.error(e.value.pos, childPath(path, key), `${key} must be a list (lines starting "- "), got ${describeNode(e.value)}`);
    return undefined;
  }

  /** A list of strings; with `single`, one string alone is taken as a list of one. */
  strList(map: TreeMap, path: string, key: string, single = false): string[] | undefined {
    const e = this.given(map, key);
    if (e === undefined) return undefined;
    const p = childPath(path, key);
    const v = e.value;
    if (single && v.kind === 'scalar' && typeof v.value === 'string') return [v.value];
    if (v.kind !== 'seq') {
      const hint = v.kind === 'scalar' ? `; write [${String(v.value)}]` : '';
      this.error(v.pos, p, `${key} must be a list of strings, got ${describeNode(v)}${hint}`);
      return undefined;
    }
    const out: string[] = [];
    v.items.forEach((item, i) => {
      if (item.kind === 'scalar' && typeof item.value === 'string') out.push(item.value);
      else this.error(item.pos, childPath(p, i), `${key} entries must be strings, got ${describeNode(item)}`);
    });
    return out.length === v.items.length ? out : undefined;
  }

  /** A list of integers; one integer alone is taken as a list of one. */
  intList(map: TreeMap, path: string, key: string): number[] | undefined {
    const e = this.given(map, key);
    if (e === undefined) return undefined;
    const p = childPath(path, key);
    const v = e.value;
    const isInt = (n: TreeNode): n is TreeNode & { value: number } =>
      n.kind === 'scalar' && typeof n.value === 'number' && Number.isInteger(n.value);
    if (isInt(v)) return [v.value];
    if (v.kind !== 'seq') {
      this.error(v.pos, p, `${key} must be a list of integers like [0, 1], got ${describeNode(v)}`);
      return undefined;
    }
    const out: number[] = [];
    v.items.forEach((item, i) => {
      if (isInt(item)) out.push(item.value);
      else this.error(item.pos, childPath(p, i), `${key} entries must be integers, got ${describeNode(item)}`);
    });
    return out.length === v.items.length ? out : undefined;
  }
}

/** `form.fields[1].id` -> ['form', 'fields', 1, 'id']. */
function splitField(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of field.split('.')) {
    const [, key, indexes] = /^([^[]*)((?:\[\d+\])*)$/.exec(part) ?? [];
    if (key === undefined || indexes === undefined) {
      out.push(part);
      continue;
    }
    if (key) out.push(key);
    for (const idx of indexes.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/**
 * Where an opts field was written: its value when present, else the key (or list item)
 * of the deepest part of its path that is present; `owner` when there are no opts.
 */
export function fieldPos(opts: TreeEntry | undefined, owner: Pos, field: string | undefined): Pos {
  if (opts === undefined) return owner;
  if (field === undefined) return opts.keyPos;
  let node: TreeNode = opts.value;
  let best = opts.keyPos;
  for (const step of splitField(field)) {
    const item = typeof step === 'number' && node.kind === 'seq' ? node.items[step] : undefined;
    if (item) {
      node = item;
      best = node.pos;
    } else if (typeof step === 'string' && node.kind === 'map') {
      const e = entryOf(node, step);
      if (e === undefined) return best;
      node = e.value;
      best = e.keyPos;
    } else {
      return best;
    }
  }
  return node.pos;
}

/** An OptsCheck that records problems of `<ownerPath>.opts.<field>` at the field's place. */
export function optsCheckAt(r: FieldReader, opts: TreeEntry | undefined, owner: Pos, ownerPath: string): OptsCheck {
  const optsPath = childPath(ownerPath, 'opts');
  const place = (field: string | undefined): [Pos, string] => [
    fieldPos(opts, owner, field),
    field === undefined ? optsPath : childPath(optsPath, field),
  ];
  return {
    error: (field, message) => r.error(...place(field), message),
    warn: (field, message) => r.warn(...place(field), message),
  };
}

/** A node's (or flow's) id and name, and where the id came from. */
export interface Named {
  id: string;
  name: string;
  idPos: Pos;
}

/** Read `id` and `name`; either may make the other, but one must be given. */
export function readNamed(r: FieldReader, map: TreeMap, path: string, what: string): Named | undefined {
  const id = r.str(map, path, 'id');
  const name = r.str(map, path, 'name');
  const idEntry = r.given(map, 'id');
  const nameEntry = r.given(map, 'name');
  if ((idEntry && id === undefined) || (nameEntry && name === undefined)) return undefined;
  const resolved = resolveIdAndName(id, name);
  if ('error' in resolved) {
    r.error(idEntry?.value.pos ?? map.pos, childPath(path, 'id'), `${what} ${resolved.error}`);
    return undefined;
  }
  return { ...resolved, idPos: (idEntry ?? nameEntry)!.value.pos };
}
