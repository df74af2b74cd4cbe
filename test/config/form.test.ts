import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFormValues, parseForm } from '../../src/config/form.js';
import type { FormConfig } from '../../src/model/form.js';
import type { OptsCheck } from '../../src/nodes/node-type.js';

interface Recorded {
  errors: string[];
  warnings: string[];
}

function recorder(): OptsCheck & Recorded {
  const errors: string[] = [];
  const warnings: string[] = [];
  return {
    errors,
    warnings,
    error: (field, message) => errors.push(`${field ?? ''}: ${message}`),
    warn: (field, message) => warnings.push(`${field ?? ''}: ${message}`),
  };
}

test('a form is parsed with its fields; defaults become strings', () => {
  const check = recorder();
  const form = parseForm(
    {
      title: 'Start',
      fields: [
        { id: 'ref', prompt: 'Ref', type: 'text', value: 'master' },
        { id: 'count', prompt: 'How many', type: 'int', value: 3, required: true },
        { id: 'ok', prompt: 'Passed?', type: 'bool', value: true },
        { id: 'env', prompt: 'Env', type: 'string', options: ['dev', 'prod'] },
      ],
    },
    check,
    'form',
  );
  assert.deepEqual(check.errors, []);
  assert.deepEqual(form, {
    title: 'Start',
    fields: [
      { id: 'ref', prompt: 'Ref', type: 'text', value: 'master' },
      { id: 'count', prompt: 'How many', type: 'int', value: '3', required: true },
      { id: 'ok', prompt: 'Passed?', type: 'bool', value: 'true' },
      { id: 'env', prompt: 'Env', type: 'string', options: ['dev', 'prod'] },
    ],
  });
});

test('no form is no form, and no problem', () => {
  const check = recorder();
  assert.equal(parseForm(undefined, check, 'form'), undefined);
  assert.equal(parseForm(null, check, 'form'), undefined);
  assert.deepEqual(check.errors, []);
});

test('form problems are reported under the field path given', () => {
  const cases: [unknown, string][] = [
    ['start', 'form: form must be a map with title and fields, got string "start"'],
    [{ title: 'x' }, 'form.fields: a form needs fields: a list of {id, prompt, type}, got none'],
    [{ title: 3, fields: [] }, 'form.title: title must be a string, got number 3'],
    [{ fields: ['ref'] }, 'form.fields[0]: a form field must be a map with id, prompt and type, got string "ref"'],
    [{ fields: [{ prompt: 'p', type: 'text' }] }, 'form.fields[0].id: a form field needs an id (string), got nothing'],
    [
      { fields: [{ id: 'a.b', prompt: 'p', type: 'text' }] },
      `form.fields[0].id: field id "a.b" must hold only letters, digits, '-' and '_'`,
    ],
    [{ fields: [{ id: 'a', type: 'text' }] }, 'form.fields[0].prompt: a form field needs a prompt (string), got nothing'],
    [
      { fields: [{ id: 'a', prompt: 'p', type: 'boolean' }] },
      'form.fields[0].type: unknown field type "boolean" (known: text, string, bool, int, number); did you mean "bool"?',
    ],
    [{ fields: [{ id: 'a', prompt: 'p', type: 'int', value: 'x' }] }, 'form.fields[0].value: default "a" must be an integer, got "x"'],
    [
      { fields: [{ id: 'a', prompt: 'p', type: 'bool', value: 'yes' }] },
      'form.fields[0].value: default "a" must be true or false, got "yes"',
    ],
    [
      { fields: [{ id: 'a', prompt: 'p', type: 'text', options: [] }] },
      'form.fields[0].options: options must be a non-empty list of values, got a list',
    ],
    [
      { fields: [{ id: 'a', prompt: 'p', type: 'text', required: 'yes' }] },
      'form.fields[0].required: required must be true or false, got string "yes"',
    ],
    [
      { fields: [{ id: 'a', prompt: 'p', type: 'text', options: ['x'], value: 'y' }] },
      'form.fields[0].value: default "a" must be one of "x", got "y"',
    ],
    [
      {
        fields: [
          { id: 'Ref', prompt: 'p', type: 'text' },
          { id: 'ref', prompt: 'q', type: 'text' },
        ],
      },
      'form.fields[1].id: field id "ref" repeats fields[0] (ids match case-insensitively)',
    ],
  ];
  for (const [raw, problem] of cases) {
    const check = recorder();
    assert.equal(parseForm(raw, check, 'form'), undefined, problem);
    assert.deepEqual(check.errors, [problem]);
  }
});

test('unknown form keys are warnings with a suggestion', () => {
  const check = recorder();
  const form = parseForm({ title: 't', fields: [{ id: 'a', prompt: 'p', type: 'text', default: 'x' }], titel: 'x' }, check, 'form');
  assert.ok(form);
  assert.deepEqual(check.warnings, [
    'form.titel: unknown key "titel" in a form, ignored; did you mean "title"?',
    'form.fields[0].default: unknown key "default" in a form field, ignored (known: id, prompt, type, value, options, required, secret)',
  ]);
});

const form: FormConfig = {
  title: 'Sign off',
  fields: [
    { id: 'tests_passed', prompt: 'Passed?', type: 'bool', required: true },
    { id: 'ref', prompt: 'Ref', type: 'text', value: 'master' },
    { id: 'count', prompt: 'Count', type: 'int' },
    { id: 'ratio', prompt: 'Ratio', type: 'number' },
    { id: 'env', prompt: 'Env', type: 'string', options: ['dev', 'prod'] },
  ],
};

test('submitted values are checked against the form', () => {
  const cases: [Record<string, unknown>, ReturnType<typeof checkFormValues>][] = [
    [{ tests_passed: 'true' }, { values: { tests_passed: 'true', ref: 'master' } }],
    [
      { TESTS_PASSED: true, Ref: 'dev', count: 3, ratio: '0.5', env: 'prod' },
      { values: { tests_passed: 'true', ref: 'dev', count: '3', ratio: '0.5', env: 'prod' } },
    ],
    [{ tests_passed: 'False', count: '-2' }, { values: { tests_passed: 'false', count: '-2', ref: 'master' } }],
    [{ tests_passed: 'yes' }, { errors: ['"tests_passed" must be true or false, got "yes"'] }],
    [{ tests_passed: 'true', count: '1.5' }, { errors: ['"count" must be an integer, got "1.5"'] }],
    [{ tests_passed: 'true', ratio: 'half' }, { errors: ['"ratio" must be a number, got "half"'] }],
    [{ tests_passed: 'true', env: 'qa' }, { errors: ['"env" must be one of "dev", "prod", got "qa"'] }],
    [{}, { errors: ['"tests_passed" is required'] }],
    [{ tests_passed: '' }, { errors: ['"tests_passed" is required'] }],
    [
      { tests_passed: 'true', reff: 'x' },
      { errors: ['unknown field "reff" (fields: tests_passed, ref, count, ratio, env); did you mean "ref"?'] },
    ],
    [{ tests_passed: ['true'] }, { errors: ['"tests_passed" must be a single value, got a list'] }],
    [{ tests_passed: 'true', ref: '' }, { values: { tests_passed: 'true', ref: 'master' } }],
  ];
  for (const [values, want] of cases) assert.deepEqual(checkFormValues(form, values), want, JSON.stringify(values));
});

test('every wrong value is reported at once', () => {
  const r = checkFormValues(form, { count: 'x', ratio: 'y', nope: 1 });
  assert.ok('errors' in r);
  assert.equal(r.errors.length, 4, r.errors.join('\n'));
});

test('options limit the values of every field type, not only text', () => {
  const form = {
    title: 'T',
    fields: [
      { id: 'n', prompt: 'N', type: 'int' as const, options: ['1', '2'] },
      { id: 'b', prompt: 'B', type: 'bool' as const, options: ['true'] },
    ],
  };
  assert.deepEqual(checkFormValues(form, { n: 2, b: true }), { values: { n: '2', b: 'true' } });
  const bad = checkFormValues(form, { n: 3, b: false });
  assert.ok('errors' in bad);
  assert.deepEqual(bad.errors, ['"n" must be one of "1", "2", got "3"', '"b" must be one of "true", got "false"']);
});
