import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import type { FlowConfig } from '../../src/config/schema.js';
import { parseConfig, parseFlowFile } from '../../src/config/validate.js';
import { formatProblem } from '../../src/errors.js';
import type { ConfigProblem } from '../../src/errors.js';
import { createNodeRegistry } from '../../src/nodes/index.js';
import type { FuzzParams } from '../fuzz/settings.js';
import { fixture } from './fixtures.js';
import { itemAt } from '../items.js';

// The worker half of load.fuzz.test.ts: it runs the property and tells the test each input
// before checking it, so the test can name the input of a case that hangs. Run on its own
// (node --test runs every file under test/), it does nothing.

/** What the worker tells the test. */
export type FuzzMessage = { kind: 'case'; text: string } | { kind: 'done' } | { kind: 'failed'; report: string };

const registry = createNodeRegistry();
const bases = [fixture('valid-full.yml'), fixture('floe-example.yml')];
const baseFlow: FlowConfig = (() => {
  const { config } = parseConfig(itemAt(bases, 0), 'valid-full.yml', registry);
  if (!config) throw new Error('valid-full.yml does not validate');
  return itemAt(config.flows, 0);
})();

const LINE = /^(f|ff)\.yml:([1-9]\d*):([1-9]\d*): (error|warning): /;
/** What must never reach a problem line: line breaks, other controls, bidi overrides. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Throws, naming the problem, unless every problem is one line with a place inside the text. */
function checkProblems(text: string, problems: ConfigProblem[]): void {
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const p of problems) {
    const line = formatProblem(p);
    const m = LINE.exec(line);
    if (!m || UNSAFE.test(line)) throw new Error(`not one well-formed line: ${JSON.stringify(line)}`);
    if (p.at.line > lines + 1) throw new Error(`line ${p.at.line} is past the text's ${lines} lines: ${JSON.stringify(line)}`);
  }
}

/** Run one text through the loader and validator as a config and as a flow-file. */
export function checkText(text: string): void {
  checkProblems(text, parseConfig(text, 'f.yml', registry).problems);
  checkProblems(text, parseFlowFile(text, 'ff.yml', baseFlow, registry).problems);
}

/** `levels` anchors, each a list of nine uses of the one before. */
function aliasBomb(levels: number): string {
  const lines = ['a0: &z0 [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < levels; i++)
    lines.push(
      `a${i}: &z${i} [${Array(9)
        .fill(`*z${i - 1}`)
        .join(', ')}]`,
    );
  return lines.join('\n');
}

const controls = fc.constantFrom('\n', '\t', '\r', '\r\n', '\u2028', '\u0085', '\u001b[2K', '\u0000', '\u007f', '\ufeff', '\u202e', '\\');
const yamlBits = fc.constantFrom(
  ':',
  ': ',
  '- ',
  '#',
  '"',
  "'",
  '&a1',
  '*a1',
  '&a2 ',
  '*a2',
  '<<: *a1',
  '!!str ',
  '!!binary ',
  '!x ',
  '%YAML 1.2',
  '---',
  '...',
  '|',
  '>-',
  '? ',
  '{',
  '}',
  '[',
  ']',
  ',',
  '~',
  'null',
  'true',
  '0x1f',
  '1e400',
  '.nan',
  '-.inf',
);
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.integer().map(String),
  controls,
  fc.array(fc.oneof(controls, fc.string({ maxLength: 4 })), { maxLength: 6 }).map((parts) => JSON.stringify(parts.join(''))),
);
/** A value of any shape, for a field of any type. */
const value: fc.Arbitrary<string> = fc.oneof(
  scalar,
  yamlBits,
  fc.constantFrom(
    '[]',
    '{}',
    '[1, 2]',
    '{a: 1}',
    '[[x]]',
    'true',
    '-1',
    '0',
    '3.5',
    '""',
    'null',
    '*a1',
    '&a1 [1]',
    '[*a1, *a1]',
    '{<<: *a1}',
  ),
  fc.array(scalar, { maxLength: 4 }).map((xs) => `[${xs.join(', ')}]`),
  fc.array(scalar, { maxLength: 4 }).map((xs) => `{${xs.map((x, i) => `k${i}: ${x}`).join(', ')}}`),
);
/** Text to insert as lines: aliases, deep nesting, huge scalars, bytes. */
const fragment: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), value).map(([k, v]) => `${k}: ${v}`) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(3), value).map(([n, v]) => `k${n}: &a${n} ${v}`) },
  { weight: 2, arbitrary: fc.nat(3).map((n) => `k${n}: *a${n}\n<<: *a${n}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 9 }).map(aliasBomb) },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constant(100_000)).map((n) => `deep: ${'['.repeat(n)}${']'.repeat(n)}`),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 300 }).map((n) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 50_000 }).map((n) => `- ${'- '.repeat(n)}x`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 100_000 }), controls)
      .map(([n, c]) => `big: ${JSON.stringify(`${c}${'x'.repeat(n)}${c}`)}`),
  },
  { weight: 2, arbitrary: fc.array(fc.oneof(controls, yamlBits, fc.string({ maxLength: 6 })), { maxLength: 10 }).map((xs) => xs.join('')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('utf8')) },
);

type Mutation =
  | { op: 'insert'; at: number; indent: number; text: string }
  | { op: 'value'; at: number; value: string }
  | { op: 'delete'; at: number }
  | { op: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), indent: fc.nat(12), text: fragment }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('value' as const), at: fc.nat(), value }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
);

function mutate(base: string, mutations: Mutation[]): string {
  let lines = base.split('\n');
  for (const m of mutations) {
    const i = lines.length === 0 ? 0 : m.at % lines.length;
    switch (m.op) {
      case 'insert':
        lines.splice(i, 0, ...m.text.split('\n').map((l) => ' '.repeat(m.indent) + l));
        break;
      case 'value': {
        // Every field gets a value of every shape: replace what follows the line's first `: `.
        const line = lines[i] ?? '';
        const colon = line.indexOf(': ');
        lines[i] = colon < 0 ? `${line} ${m.value}` : `${line.slice(0, colon + 2)}${m.value}`;
        break;
      }
      case 'delete':
        lines.splice(i, 1);
        break;
      case 'truncate':
        lines = lines
          .join('\n')
          .slice(0, m.at % (lines.join('\n').length + 1))
          .split('\n');
        break;
    }
  }
  return lines.join('\n');
}

/** A config or flow-file to try: a fixture with a few mutations, or now and then bytes alone. */
export const fuzzText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.tuple(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: 5 })).map(([b, ms]) => mutate(b, ms)),
  },
  { weight: 1, arbitrary: fragment },
);

function tell(m: FuzzMessage): void {
  parentPort!.postMessage(m);
}

if (parentPort) {
  const params = workerData as FuzzParams;
  try {
    fc.assert(
      fc.property(fuzzText, (text) => {
        tell({ kind: 'case', text });
        checkText(text);
      }),
      params,
    );
    tell({ kind: 'done' });
  } catch (err) {
    tell({ kind: 'failed', report: err instanceof Error ? err.message : String(err) });
  }
}
