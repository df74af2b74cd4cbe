import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
// The named export: under NodeNext the default import of this CommonJS package is its namespace.
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import {
  COMMON_KEYS,
  FLOW_FILE_KEYS,
  FLOW_KEYS,
  FORM_FIELD_KEYS,
  FORM_FIELD_TYPES,
  FORM_KEYS,
  MERGE_KEYS,
  MERGE_TYPES,
  NODE_CLASSES,
  STORE_TYPES,
  TASK_KEYS,
  TOP_KEYS,
  TRIGGER_KEYS,
  TRIGGER_OPTS_KEYS,
  TRIGGER_TYPES,
  USER_KEYS,
  USER_ROLES,
  DEFAULT_SESSION_TTL_SEC,
} from '../../src/config/validate.js';
import { check } from './check.js';
import { fixture, fixtureNames, schemaUrl } from './fixtures.js';

/** The parts of a JSON Schema this test looks at. */
interface SchemaNode {
  description?: string;
  $ref?: string;
  enum?: unknown[];
  default?: unknown;
  properties?: Record<string, SchemaNode>;
  $defs?: Record<string, SchemaNode>;
}

const schemaJson: unknown = JSON.parse(readFileSync(schemaUrl, 'utf8'));
const schema = schemaJson as SchemaNode;
const defs = schema.$defs ?? {};

function keysOf(node: SchemaNode | undefined): string[] {
  return Object.keys(node?.properties ?? {}).sort();
}

function sorted(list: readonly string[]): string[] {
  return [...list].sort();
}

test('the schema has the same keys as the validator at every level', () => {
  const levels: [string, SchemaNode | undefined, readonly string[]][] = [
    ['top', schema, TOP_KEYS],
    ['common', defs.common, COMMON_KEYS],
    ['flow', defs.flow, FLOW_KEYS],
    ['flow-file', defs.flowFile, FLOW_FILE_KEYS],
    ['trigger', defs.trigger, TRIGGER_KEYS],
    ['data trigger opts', defs.dataOpts, TRIGGER_OPTS_KEYS.data],
    ['timer trigger opts', defs.timerOpts, TRIGGER_OPTS_KEYS.timer],
    ['poll-git trigger opts', defs.pollGitOpts, TRIGGER_OPTS_KEYS['poll-git']],
    ['task', defs.task, TASK_KEYS],
    ['merge', defs.merge, MERGE_KEYS],
    ['form', defs.form, FORM_KEYS],
    ['form field', defs.formField, FORM_FIELD_KEYS],
    ['user', defs.user, USER_KEYS],
  ];
  for (const [level, node, known] of levels) assert.deepEqual(keysOf(node), sorted(known), level);
});

test('the schema has the same choices as the validator', () => {
  const enumOf = (node: SchemaNode | undefined): string[] => sorted((node?.enum ?? []).map(String));
  assert.deepEqual(enumOf(defs.trigger?.properties?.type), sorted(TRIGGER_TYPES));
  assert.deepEqual(enumOf(defs.merge?.properties?.type), sorted(MERGE_TYPES));
  assert.deepEqual(enumOf(defs.common?.properties?.['store-type']), sorted(STORE_TYPES));
  assert.deepEqual(enumOf(defs.formField?.properties?.type), sorted(FORM_FIELD_TYPES));
  assert.deepEqual(enumOf(defs.user?.properties?.role), sorted(USER_ROLES));
  assert.equal(defs.common?.properties?.['session-ttl']?.default, DEFAULT_SESSION_TTL_SEC);
  const classes = [...enumOf(defs.task?.properties?.class), ...enumOf(defs.merge?.properties?.class)];
  assert.deepEqual(sorted(classes), sorted(NODE_CLASSES));
});

/** The node a local `$ref` (`#/$defs/flow/properties/env`) points at. */
function resolve(ref: string): SchemaNode | undefined {
  let node: unknown = schemaJson;
  for (const step of ref.replace(/^#\//, '').split('/')) {
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[step] : undefined;
  }
  return node as SchemaNode | undefined;
}

test('every field in the schema has a description', () => {
  const missing: string[] = [];
  const visit = (node: SchemaNode, path: string): void => {
    for (const [key, prop] of Object.entries(node.properties ?? {})) {
      const described = prop.description ?? (prop.$ref ? resolve(prop.$ref)?.description : undefined);
      if (!described) missing.push(`${path}.${key}`);
    }
  };
  visit(schema, '');
  for (const [name, def] of Object.entries(defs)) visit(def, name);
  assert.deepEqual(missing, []);
});

/** `flows[0].tasks[1].type` -> `/flows/0/tasks/1/type`, the form of ajv's instancePath. */
function pointer(path: string): string {
  return path
    ? `/${path
        .replace(/\[(\d+)\]/g, '.$1')
        .split('.')
        .join('/')}`
    : '';
}

const ajv = new Ajv({ allErrors: true });
const validateSchema = ajv.compile(schemaJson as object);
const supportedExample = fixture('floe-example.yml')
  .replace('type: git-push', 'type: poll-git')
  .replace('type: git-merge', 'type: git-checkout');

const valid: [string, string][] = [
  ...fixtureNames('valid-').map((name): [string, string] => [name, fixture(name)]),
  ['floe-example.yml with supported types', supportedExample],
];

for (const [name, text] of valid) {
  test(`${name} is valid to the schema and the validator`, () => {
    assert.ok(validateSchema(parse(text)), JSON.stringify(validateSchema.errors, null, 1));
    assert.deepEqual(check(text, name).errors, []);
  });
}

for (const name of [...fixtureNames('invalid-'), 'floe-example.yml']) {
  test(`${name} is rejected by the schema and the validator`, () => {
    const text = fixture(name);
    assert.equal(validateSchema(parse(text)), false, `the schema accepts ${name}`);
    const errors = check(text, name).problems.filter((p) => p.severity === 'error');
    assert.notDeepEqual(errors, [], `the validator accepts ${name}`);
    // Both must object to the same part of the document, not just to something.
    const schemaPaths = (validateSchema.errors ?? []).map((e) => e.instancePath);
    const validatorPaths = errors.map((e) => pointer(e.at.path));
    const agree = validatorPaths.some((v) => schemaPaths.some((s) => s !== '' && (v.startsWith(s) || s.startsWith(v))));
    assert.ok(agree, `schema: ${schemaPaths.join(', ')}; validator: ${validatorPaths.join(', ')}`);
  });
}
