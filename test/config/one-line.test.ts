import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/validate.js';
import { createNodeRegistry } from '../../src/nodes/index.js';
import { formatProblem } from '../../src/errors.js';
import { quoteValue } from '../../src/quote-value.js';
import { check, flowWith } from './check.js';

/** Characters that split or garble a line: each must reach the output escaped. */
const NASTY = ['\n', '\t', '\r', '\u2028', '\u001b[2K\u001b[1A', '\u0085', '\u202e'];

/** A YAML double-quoted scalar holding `s`: YAML reads JSON's escapes. */
const yamlString = quoteValue;

/** Configs whose problems quote a value, one per place a message quotes one. */
function configsQuoting(v: string): string[] {
  const q = yamlString(v);
  return [
    `common:\n  store-type: ${yamlString(`lokal${v}`)}\n`,
    `common:\n  hosts: [${yamlString(`10.0.0.2${v}`)}]\n`,
    `common:\n  base-url: ${yamlString(`api${v}`)}\n`,
    `common:\n  ${q}: 1\n`,
    `flows:\n  - id: ${yamlString(`a${v}b`)}\n`,
    `flows:\n  - name: ${yamlString(v)}\n`,
    `common:\n  users:\n    - {user: ${yamlString(`u${v}`)}, password: x}\n    - {user: ${yamlString(`u${v}`)}, password: x}\n`,
    flowWith(`- name: t\n  listen: ${yamlString(`task.x${v}.good`)}\n  type: end`),
    flowWith(`- name: t\n  listen: trigger.good\n  type: ${yamlString(`ex${v}ec`)}`),
    flowWith(`- name: t\n  listen: trigger.good\n  type: end`, `env: [${yamlString(`A${v}=1`)}, ${yamlString(`NOEQ${v}`)}]`),
    flowWith(`- name: m\n  class: merge\n  type: all\n  wait: [${yamlString(`task.a${v}.good`)}, ${yamlString(`task.a${v}.good`)}]`),
    [
      'flows:',
      '  - id: f',
      '    triggers:',
      `      - {name: s, type: ${yamlString(`dat${v}a`)}}`,
      `      - {name: p, type: poll-git, opts: {url: x, period: 10, refs: [${yamlString(`main${v}`)}]}}`,
      `      - {name: d, type: data, opts: {form: {title: t, fields: [{id: ${yamlString(`f${v}`)}, prompt: p, type: ${yamlString(`tex${v}t`)}}]}}}`,
      '    tasks: [{name: e, listen: trigger.good, type: end}]',
      '',
    ].join('\n'),
  ];
}

test('every problem of floe check is one line, whatever characters the quoted value holds', () => {
  for (const v of NASTY) {
    for (const text of configsQuoting(v)) {
      const { problems } = check(text);
      assert.ok(problems.length > 0, `no problem for ${JSON.stringify(text)}`);
      for (const line of problems.map(formatProblem)) {
        assert.match(line, /^floe\.yml:\d+:\d+: (error|warning): [^\n]*$/, JSON.stringify(line));
        assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/, JSON.stringify(line));
      }
    }
  }
});

test('a value is quoted as a JSON string, so it reads back exactly', () => {
  const { errors } = check('common:\n  store-type: "lo\\"kal\\n\\u001b[31m"\n');
  assert.deepEqual(errors, [
    'floe.yml:2:15: error: common.store-type: store-type must be one of memory, local, got "lo\\"kal\\n\\u001b[31m"',
  ]);
});

test('formatProblem escapes control characters left in the file, path or message', () => {
  const line = formatProblem({
    severity: 'warning',
    message: 'a\nb\tc\u2028d\u001b[0m',
    at: { file: 'dir\n/f.yml', line: 3, col: 4, path: 'flows[0].x\ry' },
  });
  assert.equal(line, 'dir\\n/f.yml:3:4: warning: flows[0].x\\ry: a\\nb\\tc\\u2028d\\u001b[0m');
});

test('floe check prints one line per problem', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-one-line-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'floe.yml');
  await writeFile(file, 'common:\n  store-type: "a\\nb"\n  "x\\ty": 1\nflows:\n  - id: "\\u001b[2Kz"\n');
  let err = '';
  const code = await main(['check', `-conf=${file}`], { out: () => {}, err: (s) => (err += s) });
  assert.equal(code, 1);
  // A problem split over lines would leave a line not starting with the place.
  for (const l of err.trimEnd().split('\n')) assert.ok(l.startsWith(`${file}:`) && /^[^:]+:\d+:\d+: (error|warning): /.test(l), l);
  assert.match(err, /got "a\\nb"/);
  assert.match(err, /unknown key "x\\ty"/);
  assert.match(err, /id "\\u001b\[2Kz" must hold only/);
  const { problems } = await loadConfig(file, createNodeRegistry());
  assert.equal(err.trimEnd().split('\n').length, problems.length, err);
});
