import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFormValues, parseForm } from '../../src/config/form.js';
import type { FormConfig } from '../../src/model/form.js';
import type { OptsCheck } from '../../src/nodes/node-type.js';
import { itemAt } from '../items.js';
import { check, flowWithTriggers, yaml } from './check.js';

function recorder(): OptsCheck & { errors: string[] } {
  const errors: string[] = [];
  return { errors, error: (field, message) => errors.push(`${field ?? ''}: ${message}`), warn: () => {} };
}

test('a form field with secret: true is read as secret; secret: false is no secret', () => {
  const c = recorder();
  const form = parseForm(
    {
      title: 'Deploy',
      fields: [
        { id: 'token', prompt: 'Token', type: 'text', secret: true, required: true },
        { id: 'who', prompt: 'Who', type: 'text', secret: false },
      ],
    },
    c,
    'form',
  );
  assert.deepEqual(c.errors, []);
  assert.deepEqual(form?.fields, [
    { id: 'token', prompt: 'Token', type: 'text', required: true, secret: true },
    { id: 'who', prompt: 'Who', type: 'text' },
  ]);
});

test('a secret field may have neither a default nor options, and secret must be a boolean', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [
      { id: 'token', prompt: 'Token', type: 'text', secret: true, value: 'hunter2' },
      'form.fields[0].value: a secret field cannot have a default value: it would be shown with the form; give it when the run starts',
    ],
    [
      { id: 'token', prompt: 'Token', type: 'text', secret: true, options: ['a', 'b'] },
      'form.fields[0].options: a secret field cannot have options: they would be shown with the form',
    ],
    [
      { id: 'token', prompt: 'Token', type: 'text', secret: 'yes' },
      'form.fields[0].secret: secret must be true or false, got string "yes"',
    ],
  ];
  for (const [field, message] of cases) {
    const c = recorder();
    assert.equal(parseForm({ title: 't', fields: [field] }, c, 'form'), undefined);
    assert.deepEqual(c.errors, [message]);
  }
});

test('a default on a secret field is a config error naming file, line and column of the value', () => {
  const r = check(
    flowWithTriggers(yaml`
    - name: start
      type: data
      opts:
        form:
          title: Deploy
          fields:
            - id: token
              prompt: Token
              type: text
              secret: true
              value: hunter2
  `),
  );
  assert.deepEqual(r.errors, [
    'floe.yml:14:24: error: flows[0].triggers[0].opts.form.fields[0].value: a secret field cannot have a default value: it would be shown with the form; give it when the run starts',
  ]);
  assert.ok(!r.errors.join('\n').includes('hunter2'), 'the message does not quote the value');
});

test('a data task may ask for a secret too', () => {
  const r = check(
    flowWithTriggers(yaml`
    - name: start
      type: data
  `).replace(
      '      - name: done\n',
      '      - name: ask\n        listen: trigger.good\n        type: data\n        opts: { form: { title: Code, fields: [{ id: code, prompt: Code, type: text, secret: true }] } }\n      - name: done\n',
    ),
  );
  assert.deepEqual(r.errors, []);
  const ask = itemAt(r.config!.flows, 0).nodes[0];
  assert.ok(ask?.class === 'task');
  assert.deepEqual(ask.opts.form, { title: 'Code', fields: [{ id: 'code', prompt: 'Code', type: 'text', secret: true }] });
});

const form: FormConfig = {
  title: 'Deploy',
  fields: [
    { id: 'token', prompt: 'Token', type: 'text', secret: true, required: true },
    { id: 'pin', prompt: 'PIN', type: 'int', secret: true },
    { id: 'flag', prompt: 'Flag', type: 'bool', secret: true },
    { id: 'n', prompt: 'N', type: 'int' },
  ],
};

test('a secret value is taken as given, and an error about one never quotes it', () => {
  assert.deepEqual(checkFormValues(form, { token: ' it\'s "x" ', pin: '+42' }), { values: { token: ' it\'s "x" ', pin: '+42' } });
  const bad = checkFormValues(form, { token: 't', pin: 'hunter2', flag: 'hunter3', n: 'hunter4' });
  assert.deepEqual(bad, {
    errors: [
      '"pin" must be an integer, got (secret)',
      '"flag" must be true or false, got (secret)',
      '"n" must be an integer, got "hunter4"',
    ],
  });
});
