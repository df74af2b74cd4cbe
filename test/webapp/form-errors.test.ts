import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { transform } from 'esbuild';
import type { FormField } from '../../src/model/form.js';
import type { ErrorsByField, FormErrorsModule } from './modules.js';

/** The dashboard's errorsByField, from its TypeScript source as the bundle takes it (it imports only types). */
async function loadErrorsByField(): Promise<ErrorsByField> {
  const source = await readFile(new URL('../../../webapp/src/parts/form-errors.ts', import.meta.url), 'utf8');
  const { code } = await transform(source, { loader: 'ts', format: 'esm' });
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as FormErrorsModule;
  return mod.errorsByField;
}

const FIELDS: FormField[] = [
  { id: 'branch', prompt: 'Branch', type: 'text' },
  { id: 'count', prompt: 'How many', type: 'int' },
  { id: 'ratio', prompt: 'Ratio', type: 'number' },
  { id: 'level', prompt: 'Level', type: 'text', options: ['debug', 'info'] },
  { id: 'who', prompt: 'Who', type: 'text', required: true },
];

const HEAD = 'bad values for trigger start of flow build';

test('each part of a bad-values message goes to the field it names: int, number, choice, required', async () => {
  const errorsByField = await loadErrorsByField();
  const msg = `${HEAD}: "count" must be an integer, got "x"; "ratio" must be a number, got "1e"; "level" must be one of "debug", "info", got "loud"; "who" is required`;
  assert.deepEqual(errorsByField(msg, FIELDS), {
    count: '"count" must be an integer, got "x"',
    ratio: '"ratio" must be a number, got "1e"',
    level: '"level" must be one of "debug", "info", got "loud"',
    who: '"who" is required',
  });
});

test('a value that quotes another field id stays with the field it was given for', async () => {
  const errorsByField = await loadErrorsByField();
  // "count" comes before "ratio" in the form; the value typed into ratio was the word count.
  const msg = `${HEAD}: "ratio" must be a number, got "count"`;
  assert.deepEqual(errorsByField(msg, FIELDS), { ratio: '"ratio" must be a number, got "count"' });
});

test('a "; " inside a quoted value does not split its part', async () => {
  const errorsByField = await loadErrorsByField();
  const msg = `${HEAD}: "count" must be an integer, got "1; \\"who\\" is required"; "who" is required`;
  assert.deepEqual(errorsByField(msg, FIELDS), {
    count: '"count" must be an integer, got "1; \\"who\\" is required"',
    who: '"who" is required',
  });
});

test('a part naming no field is shown above the form, with the head of the message', async () => {
  const errorsByField = await loadErrorsByField();
  const msg = `${HEAD}: unknown field "bogus" (fields: branch, count); "who" is required`;
  assert.deepEqual(errorsByField(msg, FIELDS), {
    who: '"who" is required',
    '': `${HEAD}: unknown field "bogus" (fields: branch, count)`,
  });
  assert.deepEqual(errorsByField('the host did not answer: connection refused', FIELDS), {
    '': 'the host did not answer: connection refused',
  });
});
