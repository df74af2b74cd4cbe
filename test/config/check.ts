import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem } from '../../src/errors.js';
import type { ConfigProblem } from '../../src/errors.js';
import type { Config } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import { fakeRegistry } from './fake-registry.js';

/** Strip the indentation of a template literal, so YAML can be written inline in tests. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  return dedent(String.raw({ raw: strings }, ...values));
}

export function dedent(raw: string): string {
  const text = raw.replace(/^\n/, '');
  const indents = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => /^ */.exec(l)![0].length);
  const cut = Math.min(...indents);
  return text
    .split('\n')
    .map((l) => l.slice(cut))
    .join('\n');
}

export interface Checked {
  config?: Config;
  problems: ConfigProblem[];
  /** `file:line:col: error: path: message` lines. */
  errors: string[];
  warnings: string[];
}

export function check(text: string, file = 'floe.yml'): Checked {
  const { config, problems } = parseConfig(text, file, fakeRegistry);
  const of = (s: ConfigProblem['severity']): string[] => problems.filter((p) => p.severity === s).map(formatProblem);
  return { config, problems, errors: of('error'), warnings: of('warning') };
}

function pad(text: string, n: number): string {
  return dedent(text)
    .trim()
    .split('\n')
    .map((l) => (l ? ' '.repeat(n) + l : l))
    .join('\n');
}

/**
 * A flow `build` with one data trigger and the given tasks (written at column 1; they land
 * under `tasks:` so the first task's `- ` is at line 7, column 7). `extra` holds more flow
 * keys, also written at column 1, placed before `tasks:`.
 */
export function flowWith(tasks: string, extra = ''): string {
  return [
    'flows:',
    '  - id: build',
    '    triggers:',
    '      - name: start',
    '        type: data',
    ...(extra ? [pad(extra, 4)] : []),
    '    tasks:',
    pad(tasks, 6),
    '',
  ].join('\n');
}

/**
 * A flow `build` with the given triggers (written at column 1; the first trigger's `- ` lands
 * at line 4, column 7) and one end task listening to trigger.good.
 */
export function flowWithTriggers(triggers: string): string {
  return [
    'flows:',
    '  - id: build',
    '    triggers:',
    pad(triggers, 6),
    '    tasks:',
    '      - name: done',
    '        listen: trigger.good',
    '        type: end',
    '',
  ].join('\n');
}

/** Each case: config text, and a pattern one reported error (or warning) must match. */
export interface Case {
  rule: string;
  text: string;
  error?: RegExp;
  warning?: RegExp;
  /** The matched error is the only one: nothing cascades from it. */
  alone?: boolean;
}

export function runTable(cases: Case[]): void {
  for (const c of cases) {
    test(c.rule, () => {
      const r = check(c.text);
      if (c.error) {
        assert.ok(
          r.errors.some((e) => c.error!.test(e)),
          `no error matching ${c.error}; got:\n${r.errors.join('\n')}`,
        );
        assert.equal(r.config, undefined, 'a config with errors is not returned');
        if (c.alone) assert.equal(r.errors.length, 1, `expected one error; got:\n${r.errors.join('\n')}`);
      }
      if (c.warning) {
        assert.ok(
          r.warnings.some((w) => c.warning!.test(w)),
          `no warning matching ${c.warning}; got:\n${r.warnings.join('\n')}`,
        );
        assert.deepEqual(r.errors, [], 'a warning alone does not fail the config');
        assert.ok(r.config);
      }
    });
  }
}
