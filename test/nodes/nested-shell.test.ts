import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { renderShell, TemplateError } from '../../src/nodes/template.js';
import { runShellLines } from './run-shell-lines.js';

// Issue 7, defect 3: a line that hands a string to another shell (`bash -c '...'`, `eval`) let
// 16 of 29 probe values run as code there. Each payload below, in each such line, run by the
// real /bin/sh and bash, must print exactly itself and create no marker file.

const dir = mkdtempSync(path.join(tmpdir(), 'floe-nested-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Relative: payloads create it in the shell's working directory. */
const marker = 'PWNED';
const payloads = [
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `; touch ${marker}`,
  `| touch ${marker}`,
  `&& touch ${marker}`,
  `false || touch ${marker}`,
  `& touch ${marker}`,
  `\ntouch ${marker}`,
  `'; touch ${marker}; '`,
  `"; touch ${marker}; "`,
  `\\'; touch ${marker}; #`,
  `\\"; touch ${marker}; #`,
  `>${marker}`,
  `$(touch\${IFS}${marker})`,
  `a[$(touch ${marker})]`,
  `EOF\ntouch ${marker}\nEOF`,
  `'\nEOF\ntouch ${marker}\n'`,
  `<(touch ${marker})`,
  '\\',
  'trailing\\',
  '$HOME ${HOME} $((1+1)) $0 $1',
  "$'\\x41' !! !$",
  '* ? [a-z] {a,b}',
  '~ ~root/x',
  '#not a comment',
  '-n',
  '',
  ' spaced  out ',
  'héllo ✓ 𝄞 日本 \u200b',
];

const bash = existsSync('/bin/bash') ? 'bash' : 'sh';
// Each prints the value and a newline: printf, since dash's echo reads backslashes. Wrappers,
// eval's other forms and deeper nesting are in shell.fuzz.test.ts; each line here costs processes.
const lines = [
  `${bash} -c 'printf "%s\\n" {{v}}'`,
  `${bash} -c 'printf "%s\\n" "{{v}}"'`,
  `sh -c "printf '%s\\n' {{v}}"`,
  `sh -c "printf '%s\\n' '{{v}}'"`,
  `${bash} -c 'sh -c "printf \\"%s\\\\n\\" {{v}}"'`,
  `eval "printf '%s\\n' {{v}}"`,
  `find . -maxdepth 0 -exec sh -ec 'printf "%s\\n" {{v}}' \\;`,
];

test('values in scripts for a nested shell print exactly and run nothing', async () => {
  const cases = lines.flatMap((template) =>
    payloads.map((v) => ({ template, v, line: renderShell(template, { workspace: dir, vars: { v } }) })),
  );
  for (const { outer, outputs, ran } of await runShellLines(
    dir,
    cases.map((c) => c.line),
    marker,
  )) {
    assert.deepEqual(
      ran.map((i) => cases[i]),
      [],
      `${outer} ran a payload`,
    );
    cases.forEach(({ template, v, line }, i) =>
      assert.equal(outputs[i], `${v}\n`, `${outer}: ${template} with ${JSON.stringify(v)}: ${JSON.stringify(line)}`),
    );
  }
});

test('a script whose text is only known at run time refuses values rather than guess', () => {
  for (const template of [`sh -c "echo $HOME {{v}}"`, `${bash} -c "echo $(date) {{v}}"`, 'eval "$CMD" {{v}}', `"$SHELL" -c 'echo {{v}}'`]) {
    for (const v of payloads) assert.throws(() => renderShell(template, { workspace: dir, vars: { v } }), TemplateError, template);
  }
});
