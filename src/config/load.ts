import { CST, Composer, Lexer, LineCounter, Parser, isAlias, isMap, isNode, isPair, isScalar, isSeq } from 'yaml';
import type { Alias, Document, Node as YamlNode } from 'yaml';
import type { ConfigProblem } from '../errors.js';
import { quoteValue } from '../quote-value.js';

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
  /** Tree nodes built, each alias's copy included; the limits below bound it. */
  nodes: number;
}

// Limits that keep a hostile text from stalling the host: a flow-file is loaded on the hub's
// thread at each run start, so an alias bomb or a deep nest there would stop every run (issue 7).
// Real configs stay far below them.

/** Lists and maps inside each other, counted through aliases; real configs nest under 10 deep. */
export const MAX_DEPTH = 64;
/** Alias uses expanded in one document, those inside expanded aliases included. */
export const MAX_ALIASES = 10_000;
/**
 * Tree nodes that expanding aliases may add in all. yaml's own guard (maxAliasCount) counts
 * uses per anchor; this counts what the copies cost. A 352-byte nine-level alias bomb would
 * add 387 million nodes; a `<<: *defaults` of 20 nodes in 500 tasks adds 10,000.
 */
export const MAX_ALIAS_NODES = 100_000;

/** YAML syntax errors (and warnings) reported one by one; a garbled file can have 100,000. */
const MAX_YAML_PROBLEMS = 100;

/** Parse YAML text into a position-keeping tree; syntax errors and limits become problems, nothing throws. */
export function loadYaml(text: string, file: string): LoadResult {
  const lines = new LineCounter();
  const problems: ConfigProblem[] = [];
  const report = (severity: ConfigProblem['severity'], offset: number, message: string): void => {
    const { line, col } = lines.linePos(offset);
    problems.push({ severity, message: `YAML: ${message}`, at: { file, line, col, path: '' } });
  };
  const parsed = parseYaml(text, lines);
  if ('tooDeepAt' in parsed) {
    report('error', parsed.tooDeepAt, tooDeep());
    return { problems, nodes: 0 };
  }
  const { doc, secondDocAt, stoppedAt } = parsed;
  for (const [severity, list] of [
    ['error', doc.errors],
    ['warning', doc.warnings],
  ] as const) {
    for (const e of list.slice(0, MAX_YAML_PROBLEMS)) report(severity, e.pos[0], e.message);
    const firstHidden = list[MAX_YAML_PROBLEMS];
    if (firstHidden)
      report(severity, firstHidden.pos[0], `${list.length - MAX_YAML_PROBLEMS} more ${severity}s from here on are not shown`);
  }
  if (stoppedAt !== undefined) report('error', stoppedAt, `more than ${MAX_YAML_PROBLEMS} YAML errors; reading stopped here`);
  if (secondDocAt !== undefined) report('error', secondDocAt, 'a config is one YAML document; a second one starts here');
  if (problems.some((p) => p.severity === 'error') || doc.contents === null) return { problems, nodes: 0 };

  const contents = asNode(doc.contents);
  const build = new TreeBuilder(aliasTargets(contents), lines, report);
  const root = build.node(contents, { line: 1, col: 1 });
  return { root, problems, nodes: build.nodes };
}

function tooDeep(): string {
  return `lists and maps nest more than ${MAX_DEPTH} levels deep here; a config needs far fewer`;
}

type Parsed = { doc: Document.Parsed; secondDocAt?: number; stoppedAt?: number } | { tooDeepAt: number };

/**
 * yaml's parseDocument, fed one token at a time so that it stops at the first token nested
 * too deep. yaml's parser spends ~8 µs per level of a `[[[...` (0.8 s for 100,000 levels,
 * 4 s for a 1 MiB flow-file of them) and its composer then overflows the stack, so the
 * depth is checked before either runs. Duplicate keys are checked by TreeBuilder: yaml's
 * check compares every key with every other (3 s for a map of 20,000 keys). Tokens that fit
 * nowhere (a line of 100,000 `]`) are errors one by one, so reading stops after too many.
 */
function parseYaml(text: string, lines: LineCounter): Parsed {
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0);
  let tooDeepAt: number | undefined;
  let stoppedAt: number | undefined;
  let strays = 0;
  function* tokens(): Generator<CST.Token> {
    for (const lexeme of new Lexer().lex(text)) {
      for (const token of parser.next(lexeme)) {
        if (token.type === 'error' && ++strays > MAX_YAML_PROBLEMS) {
          stoppedAt = token.offset;
          return;
        }
        yield token;
      }
      // The stack also holds the document and unfinished scalars: count only collections.
      if (parser.stack.length > MAX_DEPTH) {
        const open = parser.stack.filter(CST.isCollection);
        const tooDeep = open[MAX_DEPTH];
        if (tooDeep) {
          tooDeepAt = tooDeep.offset;
          return;
        }
      }
    }
    yield* parser.end();
  }
  const composer = new Composer({ merge: true, uniqueKeys: false });
  let doc: Document.Parsed | undefined;
  let secondDocAt: number | undefined;
  // yaml makes an Error per problem, and its stack trace is most of the cost: 100,000 stray
  // `]` took 2.5 s, 0.5 s without. Nothing reads those traces; this code runs synchronously.
  const traces = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const d of composer.compose(tokens(), true, text.length)) {
      if (doc === undefined) {
        doc = d;
        continue;
      }
      secondDocAt = d.range[0];
      break;
    }
  } finally {
    Error.stackTraceLimit = traces;
  }
  if (tooDeepAt !== undefined) return { tooDeepAt };
  // compose(..., forceDoc = true) always yields a document, empty for an empty text.
  return { doc: doc!, secondDocAt, stoppedAt };
}

function asNode(v: unknown): YamlNode | null {
  return isNode(v) ? v : null;
}

/** Each alias's anchored node: the last node with its anchor before the alias, in document order. */
function aliasTargets(root: YamlNode | null): Map<YamlNode, YamlNode> {
  // yaml's Alias.resolve walks the whole document for each alias; walk it once instead.
  const anchors = new Map<string, YamlNode>();
  const targets = new Map<YamlNode, YamlNode>();
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const n = todo.pop();
    if (isPair(n)) {
      todo.push(n.value, n.key);
    } else if (isAlias(n)) {
      const target = anchors.get(n.source);
      if (target) targets.set(n, target);
    } else if (isNode(n)) {
      if (n.anchor) anchors.set(n.anchor, n);
      if (isMap(n) || isSeq(n)) for (let i = n.items.length - 1; i >= 0; i--) todo.push(n.items[i]);
    }
  }
  return targets;
}

type Report = (severity: ConfigProblem['severity'], offset: number, message: string) => void;

class TreeBuilder {
  /** Tree nodes built so far. */
  nodes = 0;
  /** Aliases being expanded, so a self-referencing anchor cannot recurse forever. */
  private readonly expanding = new Set<YamlNode>();
  /** The alias written outside any expansion that is being expanded now; limits are reported at it. */
  private outerAlias: Alias | undefined;
  private aliases = 0;
  private copied = 0;
  private depth = 0;
  /** Set when an alias limit is hit: no alias is expanded after it. */
  private aliasesStopped = false;
  private depthReported = false;
  private readonly said = new Set<string>();

  constructor(
    private readonly targets: Map<YamlNode, YamlNode>,
    private readonly lines: LineCounter,
    private readonly report: Report,
  ) {}

  private pos(n: YamlNode | null | undefined, fallback: Pos): Pos {
    const offset = n?.range?.[0];
    return offset === undefined ? fallback : this.lines.linePos(offset);
  }

  node(n: YamlNode | null | undefined, fallback: Pos): TreeNode {
    if (!this.count()) return { kind: 'scalar', value: null, pos: fallback };
    const pos = this.pos(n, fallback);
    if (n === null || n === undefined) return { kind: 'scalar', value: null, pos: fallback };
    if (isAlias(n)) return this.alias(n, pos);
    if (isScalar(n)) {
      // An empty value (`listen:`) has no text of its own; point at its key instead.
      const empty = n.value === null && n.range != null && n.range[0] === n.range[1];
      return { kind: 'scalar', value: toScalar(n.value), pos: empty ? fallback : pos };
    }
    if (!isSeq(n) && !isMap(n)) return { kind: 'scalar', value: null, pos };
    if (this.depth >= MAX_DEPTH) {
      if (!this.depthReported) this.say(this.outerAlias?.range?.[0] ?? n.range?.[0] ?? 0, tooDeep());
      this.depthReported = true;
      return { kind: 'scalar', value: null, pos };
    }
    this.depth += 1;
    try {
      if (isSeq(n)) return { kind: 'seq', items: n.items.map((item) => this.node(asNode(item), pos)), pos };
      return this.map(n.items, pos);
    } finally {
      this.depth -= 1;
    }
  }

  /** Count one node about to be built; false inside an expansion once an alias limit is hit. */
  private count(): boolean {
    this.nodes += 1;
    if (this.outerAlias === undefined) return true;
    if (this.aliasesStopped) return false;
    this.copied += 1;
    if (this.copied <= MAX_ALIAS_NODES) return true;
    this.stopAliases(`the limit of ${MAX_ALIAS_NODES} nodes copied by aliases`);
    return false;
  }

  private alias(n: Alias, pos: Pos): TreeNode {
    if (this.aliasesStopped) return { kind: 'scalar', value: null, pos };
    const target = this.targets.get(n);
    if (!target || this.expanding.has(target)) {
      this.say(n.range?.[0] ?? 0, `alias *${n.source} cannot be resolved`);
      return { kind: 'scalar', value: null, pos };
    }
    const outer = this.outerAlias === undefined;
    if (outer) this.outerAlias = n;
    try {
      this.aliases += 1;
      if (this.aliases > MAX_ALIASES) {
        this.stopAliases(`the limit of ${MAX_ALIASES} alias expansions (aliases inside aliases count too)`);
        return { kind: 'scalar', value: null, pos };
      }
      this.expanding.add(target);
      const resolved = this.node(target, pos);
      return { ...resolved, pos };
    } finally {
      this.expanding.delete(target);
      if (outer) this.outerAlias = undefined;
    }
  }

  private stopAliases(limit: string): void {
    if (this.aliasesStopped) return;
    this.aliasesStopped = true;
    const at = this.outerAlias;
    this.say(at?.range?.[0] ?? 0, `alias *${at?.source ?? '?'} expands past ${limit}; expansion stopped`);
  }

  /** Report an error once: an expanded alias builds its anchor's text again, problems included. */
  private say(offset: number, message: string): void {
    const key = `${offset} ${message}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    if (this.said.size <= MAX_YAML_PROBLEMS) this.report('error', offset, message);
    else if (this.said.size === MAX_YAML_PROBLEMS + 1) this.report('error', offset, 'more errors from here on are not shown');
  }

  private map(pairs: unknown[], pos: Pos): TreeMap {
    const entries: TreeEntry[] = [];
    const merged: TreeEntry[] = [];
    // Raw key values, so 1 and "1" differ as yaml's own check has them.
    const seen = new Set<unknown>();
    for (const pair of pairs) {
      if (!isPair(pair)) continue;
      const key = asNode(pair.key);
      const keyPos = this.pos(key, pos);
      if (isScalar(key)) {
        if (seen.has(key.value)) this.say(key.range?.[0] ?? 0, 'Map keys must be unique');
        seen.add(key.value);
      }
      if (isScalar(key) && typeof key.value === 'symbol') {
        // `<<: *defaults` (YAML 1.1 merge key): explicit keys win over merged ones.
        for (const e of this.mergeSources(asNode(pair.value), keyPos)) merged.push(e);
        continue;
      }
      if (!isScalar(key)) {
        this.say(key?.range?.[0] ?? 0, 'a map key must be a plain value, not a list or map');
        continue;
      }
      entries.push({ key: String(key.value), keyPos, value: this.node(asNode(pair.value), keyPos) });
    }
    const keys = new Set(entries.map((e) => e.key));
    for (const m of merged) {
      if (keys.has(m.key)) continue;
      keys.add(m.key);
      entries.push(m);
    }
    return { kind: 'map', entries, pos };
  }

  private mergeSources(value: YamlNode | null, keyPos: Pos): TreeEntry[] {
    const source = this.node(value, keyPos);
    const maps = source.kind === 'seq' ? source.items : [source];
    const out: TreeEntry[] = [];
    const keys = new Set<string>();
    for (const m of maps) {
      if (m.kind !== 'map') {
        this.say(value?.range?.[0] ?? 0, 'a merge key (<<) needs a map or a list of maps');
        continue;
      }
      for (const e of m.entries) {
        if (keys.has(e.key)) continue;
        keys.add(e.key);
        out.push(e);
      }
    }
    return out;
  }
}

function toScalar(v: unknown): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return v;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar of another type (bigint, or a custom tag's value) keeps its own text
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
  if (typeof n.value === 'string') return `string ${quoteValue(n.value)}`;
  return `${typeof n.value} ${String(n.value)}`;
}
