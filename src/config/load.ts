import { LineCounter, isAlias, isMap, isNode, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { ConfigProblem } from '../errors.js';

/** 1-based line and column in the config text. */
export interface Pos {
  line: number;
  col: number;
}

export type Scalar = string | number | boolean | null;

export interface TreeScalar {
  kind: 'scalar';
  value: Scalar;
  pos: Pos;
}

export interface TreeSeq {
  kind: 'seq';
  items: TreeNode[];
  pos: Pos;
}

export interface TreeEntry {
  key: string;
  keyPos: Pos;
  value: TreeNode;
}

export interface TreeMap {
  kind: 'map';
  entries: TreeEntry[];
  pos: Pos;
}

/** A YAML document reduced to what a config needs: maps, lists and scalars, each with its position. */
export type TreeNode = TreeScalar | TreeSeq | TreeMap;

export interface LoadResult {
  /** Undefined when the text holds no document or has syntax errors. */
  root?: TreeNode;
  problems: ConfigProblem[];
}

/** Parse YAML text into a position-keeping tree; syntax errors become problems, nothing throws. */
export function loadYaml(text: string, file: string): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  const report = (severity: ConfigProblem['severity'], offset: number, message: string): void => {
    const { line, col } = lines.linePos(offset);
    problems.push({ severity, message: `YAML: ${message}`, at: { file, line, col, path: '' } });
  };
  for (const e of doc.errors) report('error', e.pos[0], e.message);
  for (const w of doc.warnings) report('warning', w.pos[0], w.message);
  if (doc.errors.length > 0 || doc.contents === null) return { problems };

  const build = new TreeBuilder(doc, lines, report);
  return { root: build.node(asNode(doc.contents), { line: 1, col: 1 }), problems };
}

function asNode(v: unknown): YamlNode | null {
  return isNode(v) ? v : null;
}

type Report = (severity: ConfigProblem['severity'], offset: number, message: string) => void;

class TreeBuilder {
  /** Aliases being expanded, so a self-referencing anchor cannot recurse forever. */
  private readonly expanding = new Set<YamlNode>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly report: Report,
  ) {}

  private pos(n: YamlNode | null | undefined, fallback: Pos): Pos {
    const offset = n?.range?.[0];
    return offset === undefined ? fallback : this.lines.linePos(offset);
  }

  node(n: YamlNode | null | undefined, fallback: Pos): TreeNode {
    const pos = this.pos(n, fallback);
    if (n === null || n === undefined) return { kind: 'scalar', value: null, pos: fallback };
    if (isAlias(n)) {
      const target = n.resolve(this.doc);
      if (!target || this.expanding.has(target)) {
        this.report('error', n.range?.[0] ?? 0, `alias *${n.source} cannot be resolved`);
        return { kind: 'scalar', value: null, pos };
      }
      this.expanding.add(target);
      const resolved = this.node(target, pos);
      this.expanding.delete(target);
      return { ...resolved, pos };
    }
    if (isScalar(n)) {
      // An empty value (`listen:`) has no text of its own; point at its key instead.
      const empty = n.value === null && n.range != null && n.range[0] === n.range[1];
      return { kind: 'scalar', value: toScalar(n.value), pos: empty ? fallback : pos };
    }
    if (isSeq(n)) {
      return { kind: 'seq', items: n.items.map((item) => this.node(asNode(item), pos)), pos };
    }
    if (isMap(n)) return this.map(n.items, pos);
    return { kind: 'scalar', value: null, pos };
  }

  private map(pairs: unknown[], pos: Pos): TreeMap {
    const entries: TreeEntry[] = [];
    const merged: TreeEntry[] = [];
    for (const pair of pairs) {
      if (!isPair(pair)) continue;
      const key = asNode(pair.key);
      const keyPos = this.pos(key, pos);
      if (isScalar(key) && typeof key.value === 'symbol') {
        // `<<: *defaults` (YAML 1.1 merge key): explicit keys win over merged ones.
        merged.push(...this.mergeSources(asNode(pair.value), keyPos));
        continue;
      }
      if (!isScalar(key)) {
        this.report('error', key?.range?.[0] ?? 0, 'a map key must be a plain value, not a list or map');
        continue;
      }
      entries.push({ key: String(key.value), keyPos, value: this.node(asNode(pair.value), keyPos) });
    }
    for (const m of merged) if (!entries.some((e) => e.key === m.key)) entries.push(m);
    return { kind: 'map', entries, pos };
  }

  private mergeSources(value: YamlNode | null, keyPos: Pos): TreeEntry[] {
    const source = this.node(value, keyPos);
    const maps = source.kind === 'seq' ? source.items : [source];
    const out: TreeEntry[] = [];
    for (const m of maps) {
      if (m.kind !== 'map') {
        this.report('error', value?.range?.[0] ?? 0, 'a merge key (<<) needs a map or a list of maps');
        continue;
      }
      for (const e of m.entries) if (!out.some((o) => o.key === e.key)) out.push(e);
    }
    return out;
  }
}

function toScalar(v: unknown): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return v;
  return String(v);
}

/** The entry for `key` in a map, if written. */
export function entryOf(map: TreeMap, key: string): TreeEntry | undefined {
  return map.entries.find((e) => e.key === key);
}

/** The tree as plain JS values (for node types' `parseOpts`, which see no positions). */
export function toPlain(n: TreeNode): unknown {
  switch (n.kind) {
    case 'scalar':
      return n.value;
    case 'seq':
      return n.items.map(toPlain);
    case 'map':
      return Object.fromEntries(n.entries.map((e) => [e.key, toPlain(e.value)]));
  }
}

/** Words for a node's shape in messages: `got string "abc"`. */
export function describeNode(n: TreeNode): string {
  if (n.kind === 'seq') return 'a list';
  if (n.kind === 'map') return 'a map';
  if (n.value === null) return 'nothing';
  if (typeof n.value === 'string') return `string ${JSON.stringify(n.value)}`;
  return `${typeof n.value} ${String(n.value)}`;
}
