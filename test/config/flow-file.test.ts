import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { formatProblem } from '../../src/errors.js';
import { parseFlowFile } from '../../src/config/validate.js';
import type { FlowConfig } from '../../src/config/schema.js';
import { check, yaml } from './check.js';
import { fakeRegistry } from './fake-registry.js';
import { fixture, schemaUrl } from './fixtures.js';
import { itemAt } from '../items.js';

const config = check(
  yaml`
  flows:
    - id: nightly
      env: [A=1]
      host-tags: [linux]
      triggers:
        - {name: start, type: data}
      flow-file: flows/nightly.yml
`,
  'config.yml',
);
const base: FlowConfig = itemAt(config.config!.flows, 0);

function flowFile(text: string) {
  const r = parseFlowFile(text, 'nightly.yml', base, fakeRegistry);
  const of = (s: 'error' | 'warning'): string[] => r.problems.filter((p) => p.severity === s).map(formatProblem);
  return { flow: r.flow, errors: of('error'), warnings: of('warning') };
}

const ajv = new Ajv({ allErrors: true });
ajv.addSchema(JSON.parse(readFileSync(schemaUrl, 'utf8')) as object, 'config');
const validateFlowFile = ajv.getSchema('config#/$defs/flowFile')!;

test('a flow-file supplies the nodes of its flow and adds to its env', () => {
  const text = fixture('flow-file-nightly.yml');
  const r = flowFile(text);
  assert.deepEqual([...r.errors, ...r.warnings], []);
  assert.deepEqual(
    r.flow?.nodes.map((n) => n.id),
    ['disk-usage', 'done'],
  );
  assert.deepEqual(r.flow?.env, ['A=1', 'REPORT=./report.txt']);
  assert.deepEqual(r.flow?.hostTags, ['linux']);
  assert.equal(r.flow?.flowFile, undefined);
  assert.equal(r.flow?.nodes[0]?.at.file, 'nightly.yml');
  assert.ok(validateFlowFile(parse(text)), JSON.stringify(validateFlowFile.errors));
});

test('flow-file tags are checked against the flow triggers and nodes', () => {
  const r = flowFile('tasks:\n  - name: a\n    listen: trigger.goood\n    type: end\n');
  assert.deepEqual(r.errors, [
    'nightly.yml:3:13: error: tasks[0].listen: no node in this flow can emit "trigger.goood": triggers emit only trigger.good; did you mean "trigger.good"?',
  ]);
});

test('a flow-file node may not reuse a trigger id of the config', () => {
  const r = flowFile('tasks:\n  - name: start\n    listen: trigger.good\n    type: end\n');
  assert.deepEqual(r.errors, [
    'nightly.yml:2:11: error: tasks[0].id: id "start" is already used by flows[0].triggers[0] at config.yml:6:9; ids must be unique within a flow (triggers, tasks and merges alike)',
  ]);
});

test('placement and triggers stay in the config: a flow-file setting them is warned', () => {
  const r = flowFile('host-tags: [mac]\ntriggers: []\ntasks:\n  - {name: done, listen: trigger.good, type: end}\n');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, [
    'nightly.yml:1:1: warning: host-tags: host-tags is set in the config, not in a flow-file; ignored here',
    'nightly.yml:2:1: warning: triggers: triggers is set in the config, not in a flow-file; ignored here',
  ]);
  assert.deepEqual(r.flow?.hostTags, ['linux']);
  assert.equal(validateFlowFile(parse('host-tags: [mac]\ntasks: []\n')), false);
});

test('a flow-file needs tasks', () => {
  assert.deepEqual(flowFile('env: [B=2]\n').errors, ['nightly.yml:1:1: error: tasks: a flow-file needs tasks']);
  assert.equal(validateFlowFile(parse('env: [B=2]\n')), false);
  assert.match(itemAt(flowFile('tasks: [\n').errors, 0), /^nightly\.yml:\d+:\d+: error: YAML: /);
});
