import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadYaml } from '../../src/config/load.js';
import { closest } from '../../src/config/suggest.js';
import { MAX_FLOW_NODES } from '../../src/config/validate.js';
import { formatProblem } from '../../src/errors.js';
import { check, flowWith } from './check.js';
import { itemAt } from '../items.js';

// Limits that keep checking a hostile config or flow-file from taking minutes (issue 7).

test('a flood of YAML errors is reported as the first 100 and where reading stopped', () => {
  const { problems } = loadYaml(`a: 1\n${']'.repeat(100_000)}\n`, 'f.yml');
  assert.equal(problems.length, 101);
  assert.equal(formatProblem(itemAt(problems, 100)), 'f.yml:2:101: error: YAML: more than 100 YAML errors; reading stopped here');
  const inside = loadYaml(`a: [${','.repeat(100_000)}]\n`, 'f.yml').problems;
  assert.equal(inside.length, 101);
  assert.equal(formatProblem(itemAt(inside, 100)), 'f.yml:1:106: error: YAML: 99900 more errors from here on are not shown');
});

test(`a flow holds at most ${MAX_FLOW_NODES} tasks and merges`, () => {
  const tasks = (n: number): string =>
    Array.from({ length: n }, (_, i) => `- {name: t${i}, listen: trigger.good, type: exec, opts: {cmd: x}}`).join('\n') +
    '\n- {name: done, listen: trigger.good, type: end}';
  assert.deepEqual(check(flowWith(tasks(MAX_FLOW_NODES - 1))).errors, []);
  const over = check(flowWith(tasks(MAX_FLOW_NODES)));
  assert.deepEqual(over.errors, [
    `floe.yml:${7 + MAX_FLOW_NODES}:9: error: flows[0].tasks[${MAX_FLOW_NODES}]: a flow holds at most ${MAX_FLOW_NODES} tasks and merges; this one and the rest are not read`,
  ]);
});

test('unknown tags get a typo hint only for the first 20 of a flow', () => {
  const tasks = Array.from({ length: 30 }, (_, i) => `- {name: t${i}, listen: task.t${i}x.good, type: exec, opts: {cmd: x}}`).join('\n');
  const { errors } = check(flowWith(tasks));
  assert.equal(errors.length, 30);
  assert.equal(errors.filter((e) => e.includes('did you mean')).length, 20);
});

test('no typo is looked for in words over 100 characters', () => {
  const typo = (n: number): string => `${'x'.repeat(n)}y${'x'.repeat(n)}`;
  assert.equal(closest(typo(49), ['x'.repeat(99)]), 'x'.repeat(99));
  assert.equal(closest(typo(75), ['x'.repeat(151)]), undefined);
  // A shortening or a case difference costs no edit distance, so it is still found.
  assert.equal(closest('X'.repeat(150), ['x'.repeat(150)]), 'x'.repeat(150));
});
