import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ALIAS_NODES, MAX_DEPTH, entryOf, loadYaml, toPlain } from '../../src/config/load.js';
import type { TreeMap, TreeNode } from '../../src/config/load.js';
import { formatProblem } from '../../src/errors.js';
import { yaml } from './check.js';
import { aliasBomb } from './fixtures.js';
import { itemAt } from '../items.js';

function asMap(n: TreeNode | undefined): TreeMap {
  assert.equal(n?.kind, 'map');
  return n;
}

test('the tree keeps the line and column of every key and value', () => {
  const { root, problems } = loadYaml(
    yaml`
    flows:
      - id: build
        ver: 2
        host-tags: [linux, go]
  `,
    'f.yml',
  );
  assert.deepEqual(problems, []);
  const flows = entryOf(asMap(root), 'flows')!;
  assert.deepEqual(flows.keyPos, { line: 1, col: 1 });
  assert.equal(flows.value.kind, 'seq');
  const flow = asMap(flows.value.kind === 'seq' ? flows.value.items[0] : undefined);
  assert.deepEqual(flow.pos, { line: 2, col: 5 });
  const ver = entryOf(flow, 'ver')!;
  assert.deepEqual(ver.keyPos, { line: 3, col: 5 });
  assert.deepEqual(ver.value, { kind: 'scalar', value: 2, pos: { line: 3, col: 10 } });
  const tags = entryOf(flow, 'host-tags')!.value;
  assert.equal(tags.kind, 'seq');
  assert.deepEqual(tags.kind === 'seq' && tags.items[1]?.pos, { line: 4, col: 24 });
});

test('an empty value points at its key', () => {
  const { root } = loadYaml('a:\n  listen:\n', 'f.yml');
  const a = asMap(entryOf(asMap(root), 'a')!.value);
  assert.deepEqual(entryOf(a, 'listen')!.value, { kind: 'scalar', value: null, pos: { line: 2, col: 3 } });
});

test('a YAML syntax error is a problem with file:line:col, not a throw', () => {
  const { root, problems } = loadYaml('flows:\n  - id: a\n    tags: [a, b\n', 'f.yml');
  assert.equal(root, undefined);
  assert.ok(problems.length > 0);
  const problem = itemAt(problems, 0);
  assert.equal(problem.severity, 'error');
  assert.match(formatProblem(problem), /^f\.yml:\d+:\d+: error: YAML: /);
});

test('a repeated key is an error at the second key', () => {
  const { problems } = loadYaml('common:\n  hosts: []\ncommon:\n  hosts: []\n', 'f.yml');
  assert.deepEqual(problems.map(formatProblem), ['f.yml:3:1: error: YAML: Map keys must be unique']);
});

test('more than one document is an error', () => {
  const { problems } = loadYaml('a: 1\n---\nb: 2\n', 'f.yml');
  assert.equal(problems[0]?.severity, 'error');
  assert.equal(problems[0]?.at.line, 2);
});

test('aliases and merge keys are expanded; explicit keys win over merged ones', () => {
  const { root, problems } = loadYaml(
    yaml`
    defaults: &d
      type: exec
      good: [0, 1]
    task:
      <<: *d
      good: [0]
      opts: *d
  `,
    'f.yml',
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(toPlain(entryOf(asMap(root), 'task')!.value), {
    good: [0],
    opts: { type: 'exec', good: [0, 1] },
    type: 'exec',
  });
});

test('an empty text has no tree and no problems', () => {
  assert.deepEqual(loadYaml('', 'f.yml'), { problems: [], nodes: 0 });
  assert.deepEqual(loadYaml('# only a comment\n', 'f.yml'), { problems: [], nodes: 0 });
});

for (const levels of [6, 9]) {
  test(`a ${levels}-level alias bomb is stopped at the alias that crosses the limit`, () => {
    const text = aliasBomb(levels);
    const { problems, nodes } = loadYaml(text, 'f.yml');
    // Expanding *e on line 6 crosses 10,000 alias expansions; nothing after it is expanded.
    assert.deepEqual(problems.map(formatProblem), [
      'f.yml:6:8: error: YAML: alias *e expands past the limit of 10000 alias expansions (aliases inside aliases count too); expansion stopped',
    ]);
    assert.ok(nodes <= MAX_ALIAS_NODES + text.length, `built ${nodes} nodes`);
  });
}

test('aliases may copy at most MAX_ALIAS_NODES nodes in all', () => {
  // Each *a copies 1,001 nodes: the 100th crosses 100,000.
  const text = `a: &a [${Array(1000).fill('x').join(', ')}]\nb: [${Array(150).fill('*a').join(', ')}]\n`;
  const { problems, nodes } = loadYaml(text, 'f.yml');
  const col = itemAt(text.split('\n'), 1).indexOf('*a') + 1 + 99 * 4;
  assert.deepEqual(problems.map(formatProblem), [
    `f.yml:2:${col}: error: YAML: alias *a expands past the limit of ${MAX_ALIAS_NODES} nodes copied by aliases; expansion stopped`,
  ]);
  assert.ok(nodes <= MAX_ALIAS_NODES + 2000, `built ${nodes} nodes`);
});

test('a self-referencing anchor is one error however often it is used', () => {
  const { problems } = loadYaml('a: &a [1, *a]\nb: *a\nc: *a\n', 'f.yml');
  assert.deepEqual(problems.map(formatProblem), ['f.yml:1:11: error: YAML: alias *a cannot be resolved']);
});

const tooDeep = `lists and maps nest more than ${MAX_DEPTH} levels deep here; a config needs far fewer`;

test('100,000 nested lists are an error at the first list too deep, found before parsing them', () => {
  const { root, problems, nodes } = loadYaml(`flows: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, 'f.yml');
  assert.equal(root, undefined);
  assert.equal(nodes, 0);
  // flows is the first map; its value's 64th [ is the 65th level.
  assert.deepEqual(problems.map(formatProblem), [`f.yml:1:71: error: YAML: ${tooDeep}`]);
});

test('deeply nested block maps and flow maps are an error with a place', () => {
  const block = Array.from({ length: 1000 }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ' end\n';
  assert.deepEqual(loadYaml(block, 'f.yml').problems.map(formatProblem), [`f.yml:65:129: error: YAML: ${tooDeep}`]);
  const flow = `${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}`;
  assert.deepEqual(loadYaml(flow, 'f.yml').problems.map(formatProblem), [`f.yml:1:257: error: YAML: ${tooDeep}`]);
  const dashes = `${'- '.repeat(50_000)}x\n`;
  assert.deepEqual(loadYaml(dashes, 'f.yml').problems.map(formatProblem), [`f.yml:1:129: error: YAML: ${tooDeep}`]);
});

test('nesting up to MAX_DEPTH loads; through an alias it counts at the alias', () => {
  const ok = loadYaml(`${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`, 'f.yml');
  assert.deepEqual(ok.problems, []);
  const text = `a: &a ${'['.repeat(40)}${']'.repeat(40)}\nb: ${'['.repeat(30)}*a${']'.repeat(30)}\n`;
  assert.deepEqual(loadYaml(text, 'f.yml').problems.map(formatProblem), [`f.yml:2:34: error: YAML: ${tooDeep}`]);
});

test('a config full of merge keys and aliases stays well inside the limits', () => {
  const tasks = Array.from({ length: 500 }, (_, i) => `  - <<: [*defaults, *more]\n    name: t${i}\n    env: *env`).join('\n');
  const text =
    `defaults: &defaults {type: exec, listen: trigger.good, good: [0, 1], opts: {cmd: make, args: [a, b, c]}}\n` +
    `more: &more {ignore-fail: true, retries: 2}\nenvs: &env [A=1, B=2, C=3]\ntasks:\n${tasks}\n`;
  const { root, problems } = loadYaml(text, 'f.yml');
  assert.deepEqual(problems, []);
  const list = entryOf(asMap(root), 'tasks')!.value;
  assert.equal(list.kind === 'seq' && list.items.length, 500);
  assert.deepEqual(toPlain(list.kind === 'seq' ? itemAt(list.items, 499) : list), {
    name: 't499',
    env: ['A=1', 'B=2', 'C=3'],
    type: 'exec',
    listen: 'trigger.good',
    good: [0, 1],
    opts: { cmd: 'make', args: ['a', 'b', 'c'] },
    'ignore-fail': true,
    retries: 2,
  });
});

test('an alias means the last anchor of its name before it', () => {
  const { root } = loadYaml('a: &x 1\nb: &y [&x 2]\nc: *x\nd: *y\ne: *x\n', 'f.yml');
  assert.deepEqual(toPlain(root!), { a: 1, b: [2], c: 2, d: [2], e: 2 });
  const shadow = loadYaml('a: &x 1\nb: *x\nc: &x 3\nd: *x\n', 'f.yml');
  assert.deepEqual(toPlain(shadow.root!), { a: 1, b: 1, c: 3, d: 3 });
});

test('keys 1 and "1" differ, as in YAML; a repeated key inside a flow map is an error too', () => {
  assert.deepEqual(loadYaml('1: a\n"1": b\n', 'f.yml').problems, []);
  assert.deepEqual(loadYaml('m: {a: 1, b: 2, a: 3}\n', 'f.yml').problems.map(formatProblem), [
    'f.yml:1:17: error: YAML: Map keys must be unique',
  ]);
});
