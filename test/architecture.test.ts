import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// Imports point one way (STYLE.md "Layout", issue 8 "Shape first"): the run vocabulary in
// src/model at the bottom, the pure hub above it, the CLI on top, and no cycles anywhere.

const root = fileURLToPath(new URL('../../', import.meta.url));

/** What one source file refers to: module specifiers as written, and the clock/random calls it makes. */
interface FileFacts {
  specifiers: string[];
  /** `Date.now`, `setTimeout`, ... with their line, outside comments and strings. */
  impureCalls: string[];
}

const IMPURE_GLOBALS = new Set(['setTimeout', 'setInterval']);
const IMPURE_MEMBERS = new Set(['Date.now', 'Math.random']);

/** Reads a file with the TypeScript parser, so comments and strings never count. */
function readFacts(name: string, text: string): FileFacts {
  const sf = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const specifiers: string[] = [];
  const impureCalls: string[] = [];
  const line = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      specifiers.push(n.moduleSpecifier.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = n.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) specifiers.push(arg.text);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      specifiers.push(n.argument.literal.text);
    } else if (
      ts.isPropertyAccessExpression(n) &&
      ts.isIdentifier(n.expression) &&
      IMPURE_MEMBERS.has(`${n.expression.text}.${n.name.text}`)
    ) {
      impureCalls.push(`${n.expression.text}.${n.name.text} (line ${line(n)})`);
    } else if (ts.isIdentifier(n) && IMPURE_GLOBALS.has(n.text) && !(ts.isPropertyAccessExpression(n.parent) && n.parent.name === n)) {
      impureCalls.push(`${n.text} (line ${line(n)})`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { specifiers, impureCalls };
}

/** Each strongly connected set of files with one cycle through it, as `a -> b -> a`. */
function findCycles(graph: Map<string, string[]>): string[] {
  // Tarjan's algorithm: every cycle lies inside one strongly connected component.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      components.push(c);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  const cycles: string[] = [];
  for (const c of components) {
    const start = c.sort()[0]!;
    if (c.length === 1 && !(graph.get(start) ?? []).includes(start)) continue;
    cycles.push(shortestCycle(graph, start, new Set(c)).join(' -> '));
  }
  return cycles.sort();
}

/** The shortest path from `start` back to itself inside `within`. */
function shortestCycle(graph: Map<string, string[]>, start: string, within: Set<string>): string[] {
  const from = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    for (const w of graph.get(v) ?? []) {
      if (!within.has(w)) continue;
      if (w === start) {
        const path: string[] = [];
        for (let u = v; u !== start; u = from.get(u)!) path.unshift(u);
        return [start, ...path, start];
      }
      if (!from.has(w) && w !== start) {
        from.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...(await sourceFiles(rel)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out.sort();
}

interface Edge {
  from: string;
  /** A repository path (`src/hub/hub.ts`) for a relative import, else the package (`node:fs`, `koa`). */
  to: string;
}

/** Every import of src/**\/*.ts, relative ones resolved to the .ts file they name. */
async function readSrc(): Promise<{ edges: Edge[]; facts: Map<string, FileFacts> }> {
  const edges: Edge[] = [];
  const facts = new Map<string, FileFacts>();
  for (const file of await sourceFiles('src')) {
    const f = readFacts(file, await readFile(path.join(root, file), 'utf8'));
    facts.set(file, f);
    for (const s of f.specifiers) {
      const to = s.startsWith('.') ? path.posix.join(path.posix.dirname(file), s).replace(/\.js$/, '.ts') : s;
      edges.push({ from: file, to });
    }
  }
  return { edges, facts };
}

const src = await readSrc();

function isUnder(file: string, dir: string): boolean {
  return file.startsWith(`${dir}/`);
}

/** `node:fs/promises` counts as `node:fs`, `fs` as `node:fs`, `@koa/router/x` as `@koa/router`. */
function isPackage(specifier: string, pkg: string): boolean {
  const s = pkg.startsWith('node:') && !specifier.startsWith('node:') && !specifier.startsWith('.') ? `node:${specifier}` : specifier;
  return s === pkg || s.startsWith(`${pkg}/`);
}

function violations(rule: (e: Edge) => boolean): string[] {
  return src.edges.filter(rule).map((e) => `${e.from} imports ${e.to}`);
}

test('the import reader sees import type, export from, multi-line imports and import(); not comments or strings', () => {
  const f = readFacts(
    'x.ts',
    `import type { A } from './a.js';
import {
  b,
  type C,
} from '../b.js';
export { d } from './d.js';
// import { e } from './e.js';
/* setTimeout(f, 1); */
const s = "import { g } from './g.js'; Date.now()";
type H = import('./h.js').H;
const i = await import('./i.js');
const t = Date.now() + Math.random();
setTimeout(() => {}, 1);
clock.setTimeout(1);
`,
  );
  assert.deepEqual(f.specifiers, ['./a.js', '../b.js', './d.js', './h.js', './i.js']);
  assert.deepEqual(f.impureCalls, ['Date.now (line 12)', 'Math.random (line 12)', 'setTimeout (line 13)']);
});

test('the cycle finder names the path of each cycle and passes a graph without one', () => {
  const cyclic = new Map([
    ['a', ['b']],
    ['b', ['c', 'd']],
    ['c', ['a']],
    ['d', []],
    ['e', ['e']],
  ]);
  assert.deepEqual(findCycles(cyclic), ['a -> b -> c -> a', 'e -> e']);
  assert.deepEqual(
    findCycles(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  );
});

test('src has no import cycles between files', () => {
  const graph = new Map<string, string[]>();
  for (const file of src.facts.keys()) graph.set(file, []);
  for (const e of src.edges) if (graph.has(e.to)) graph.get(e.from)!.push(e.to);
  assert.ok(graph.size > 50 && src.edges.length > 100, `read only ${graph.size} files and ${src.edges.length} imports`);
  assert.deepEqual(findCycles(graph), []);
});

test('src/model, the run vocabulary, imports nothing outside src/model', () => {
  assert.ok(
    [...src.facts.keys()].some((f) => isUnder(f, 'src/model')),
    'src/model has no files',
  );
  assert.deepEqual(
    violations((e) => isUnder(e.from, 'src/model') && !isUnder(e.to, 'src/model')),
    [],
  );
});

test('src/hub imports no I/O library and never reads the clock or randomness itself', () => {
  const io = ['koa', '@koa/router', 'ws', 'level', 'execa', 'simple-git', 'node-fetch', 'node:fs', 'node:child_process'];
  assert.deepEqual(
    violations((e) => isUnder(e.from, 'src/hub') && io.some((p) => isPackage(e.to, p))),
    [],
  );
  const calls = [...src.facts].filter(([f]) => isUnder(f, 'src/hub')).flatMap(([f, facts]) => facts.impureCalls.map((c) => `${f}: ${c}`));
  assert.deepEqual(calls, []);
});

test('src/config imports nothing from src/server, src/host or src/cli', () => {
  assert.deepEqual(
    violations((e) => isUnder(e.from, 'src/config') && ['src/server', 'src/host', 'src/cli'].some((d) => isUnder(e.to, d))),
    [],
  );
});

test('src/server imports nothing from src/cli or src/host', () => {
  assert.deepEqual(
    violations((e) => isUnder(e.from, 'src/server') && ['src/cli', 'src/host'].some((d) => isUnder(e.to, d))),
    [],
  );
});

test('only src/cli imports src/cli, and nothing in src outside src/testing imports src/testing, test or bench', () => {
  assert.deepEqual(
    violations((e) => !isUnder(e.from, 'src/cli') && isUnder(e.to, 'src/cli')),
    [],
  );
  // src/testing (manual clock, simulator) is built on itself; it too stays clear of test and bench.
  assert.deepEqual(
    violations((e) => ['test', 'bench'].some((d) => isUnder(e.to, d)) || (isUnder(e.to, 'src/testing') && !isUnder(e.from, 'src/testing'))),
    [],
  );
});

test('only src/hub/run-lists.ts moves runs between the lists in the store (one owner of every transition)', async () => {
  const moves = /\bstore\.(addPend|activate|updatePend|updateRun|saveProgress|archive|handOff)\(/g;
  const found: string[] = [];
  for (const file of await sourceFiles('src/hub')) {
    if (file === 'src/hub/run-lists.ts') continue;
    const text = await readFile(path.join(root, file), 'utf8');
    for (const m of text.matchAll(moves)) found.push(`${file}: store.${m[1]}`);
  }
  assert.deepEqual(found, []);
});
