import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryOf, loadYaml, toPlain } from '../../src/config/load.js';
import { formatProblem } from '../../src/errors.js';
import { yaml } from './check.js';
function asMap(n) {
    assert.equal(n?.kind, 'map');
    return n;
}
test('the tree keeps the line and column of every key and value', () => {
    const { root, problems } = loadYaml(yaml `
    flows:
      - id: build
        ver: 2
        host-tags: [linux, go]
  `, 'f.yml');
    assert.deepEqual(problems, []);
    const flows = entryOf(asMap(root), 'flows');
    assert.deepEqual(flows.keyPos, { line: 1, col: 1 });
    assert.equal(flows.value.kind, 'seq');
    const flow = asMap(flows.value.kind === 'seq' ? flows.value.items[0] : undefined);
    assert.deepEqual(flow.pos, { line: 2, col: 5 });
    const ver = entryOf(flow, 'ver');
    assert.deepEqual(ver.keyPos, { line: 3, col: 5 });
    assert.deepEqual(ver.value, { kind: 'scalar', value: 2, pos: { line: 3, col: 10 } });
    const tags = entryOf(flow, 'host-tags').value;
    assert.equal(tags.kind, 'seq');
    assert.deepEqual(tags.kind === 'seq' && tags.items[1].pos, { line: 4, col: 24 });
});
test('an empty value points at its key', () => {
    const { root } = loadYaml('a:\n  listen:\n', 'f.yml');
    const a = asMap(entryOf(asMap(root), 'a').value);
    assert.deepEqual(entryOf(a, 'listen').value, { kind: 'scalar', value: null, pos: { line: 2, col: 3 } });
});
test('a YAML syntax error is a problem with file:line:col, not a throw', () => {
    const { root, problems } = loadYaml('flows:\n  - id: a\n    tags: [a, b\n', 'f.yml');
    assert.equal(root, undefined);
    assert.ok(problems.length > 0);
    assert.equal(problems[0].severity, 'error');
    assert.match(formatProblem(problems[0]), /^f\.yml:\d+:\d+: error: YAML: /);
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
    const { root, problems } = loadYaml(yaml `
    defaults: &d
      type: exec
      good: [0, 1]
    task:
      <<: *d
      good: [0]
      opts: *d
  `, 'f.yml');
    assert.deepEqual(problems, []);
    assert.deepEqual(toPlain(entryOf(asMap(root), 'task').value), {
        good: [0],
        opts: { type: 'exec', good: [0, 1] },
        type: 'exec',
    });
});
test('an empty text has no tree and no problems', () => {
    assert.deepEqual(loadYaml('', 'f.yml'), { problems: [] });
    assert.deepEqual(loadYaml('# only a comment\n', 'f.yml'), { problems: [] });
});
//# sourceMappingURL=load.test.js.map