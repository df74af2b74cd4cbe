import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  checkTemplate,
  expandLeadingDot,
  expandPath,
  renderArgv,
  renderEnvEntry,
  renderShell,
  resolveSubDir,
  shellLineProblem,
  shellQuote,
  splitWords,
  subDirProblem,
  TemplateError,
  type TemplateScope,
} from '../../src/nodes/template.js';

const ws = '/tmp/floe ws/h1-1';
const scope = (vars: Record<string, unknown> = {}): TemplateScope => ({ workspace: ws, vars });

describe('expandPath', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['{{ws}}/bin', {}, `${ws}/bin`],
    ['./build.sh', {}, `${ws}/build.sh`],
    ['.', {}, ws],
    ['./...', {}, './...'],
    ['./.../x', {}, './.../x'],
    ['../x', {}, '../x'],
    ['.hidden', {}, '.hidden'],
    ['a/./b', {}, 'a/./b'],
    ['{{ref}}', { ref: 'v1.0' }, 'v1.0'],
    ['{{build.version}}', { build: { version: '1<2>&"3"' } }, '1<2>&"3"'],
    ['{{missing}}x', {}, 'x'],
    ['{{n}}', { n: 3 }, '3'],
    ['./{{dir}}', { dir: '../../etc' }, `${ws}/../../etc`],
  ];
  for (const [tpl, vars, want] of cases) {
    test(`${JSON.stringify(tpl)} renders to ${JSON.stringify(want)}`, () => {
      assert.equal(expandPath(tpl, scope(vars)), want);
    });
  }

  test('a value starting with ./ is not treated as the workspace', () => {
    assert.equal(expandPath('{{x}}', scope({ x: './y' })), './y');
    assert.equal(expandLeadingDot('{{x}}'), '{{x}}');
  });

  test('HTML escaping is off without touching the global Mustache.escape', async () => {
    const Mustache = (await import('mustache')).default;
    assert.equal(Mustache.render('{{x}}', { x: '<&>' }), '&lt;&amp;&gt;');
  });
});

describe('renderEnvEntry', () => {
  test('renders only the value, with the leading-dot rule', () => {
    assert.deepEqual(renderEnvEntry('GOPATH=./go', scope()), ['GOPATH', `${ws}/go`]);
    assert.deepEqual(renderEnvEntry('WS=.', scope()), ['WS', ws]);
    assert.deepEqual(renderEnvEntry('V={{v}}=x', scope({ v: 'a b;$(c)' })), ['V', 'a b;$(c)=x']);
    assert.deepEqual(renderEnvEntry('{{k}}=1', scope({ k: 'K' })), ['{{k}}', '1']);
  });
  test('an entry without KEY= is refused', () => {
    assert.throws(() => renderEnvEntry('NOEQUALS', scope()), TemplateError);
    assert.throws(() => renderEnvEntry('=x', scope()), TemplateError);
  });
});

describe('renderArgv', () => {
  const cases: [string, string[], Record<string, unknown>, string[]][] = [
    ['make test', [], {}, ['make', 'test']],
    ['  go   test ./... ', [], {}, ['go', 'test', './...']],
    ['./build.sh -v', [], {}, [`${ws}/build.sh`, '-v']],
    ['echo {{msg}}', [], { msg: 'two words; $(id)' }, ['echo', 'two words; $(id)']],
    ['echo {{ msg }} end', [], { msg: 'a b' }, ['echo', 'a b', 'end']],
    ['echo {{{ msg }}}', [], { msg: 'a b' }, ['echo', 'a b']],
    ['echo x{{a}}y', [], { a: ' ' }, ['echo', 'x y']],
    ['echo', ['a b', './c', '{{v}}'], { v: "it's" }, ['echo', 'a b', `${ws}/c`, "it's"]],
    ['ls {{ws}}', [], {}, ['ls', ws]],
  ];
  for (const [cmd, args, vars, want] of cases) {
    test(`${JSON.stringify(cmd)} + ${JSON.stringify(args)} -> ${JSON.stringify(want)}`, () => {
      assert.deepEqual(renderArgv(cmd, args, scope(vars)), want);
    });
  }
  test('splitWords keeps tags whole', () => {
    assert.deepEqual(splitWords('a {{ b }} c{{{ d }}}e'), ['a', '{{ b }}', 'c{{{ d }}}e']);
  });
});

describe('subDirProblem and resolveSubDir', () => {
  test('absolute and escaping sub-dirs are refused when written', () => {
    assert.equal(subDirProblem('src/app'), undefined);
    assert.equal(subDirProblem('./src'), undefined);
    assert.equal(subDirProblem('{{ws}}/src'), undefined);
    assert.match(subDirProblem('/etc') ?? '', /relative/);
    assert.match(subDirProblem('../x') ?? '', /leave/);
    assert.match(subDirProblem('a/../../x') ?? '', /leave/);
  });
  test('a rendered sub-dir must stay inside the workspace', () => {
    assert.equal(resolveSubDir('./src', scope()), `${ws}/src`);
    assert.equal(resolveSubDir('{{d}}', scope({ d: 'a/b' })), `${ws}/a/b`);
    assert.throws(() => resolveSubDir('{{d}}', scope({ d: '../../etc' })), TemplateError);
  });
});

test('checkTemplate reports unclosed tags', () => {
  assert.equal(checkTemplate('make {{target}}'), undefined);
  assert.match(checkTemplate('make {{target') ?? '', /Unclosed tag/);
});

test('shellQuote uses POSIX single quotes', () => {
  assert.equal(shellQuote("a'b"), `'a'\\''b'`);
  assert.equal(shellQuote(''), `''`);
});

describe('renderShell', () => {
  test('the workspace path is quoted wherever it lands', () => {
    assert.equal(renderShell('./build.sh {{ws}}/x', scope()), `'${ws}'/build.sh '${ws}'/x`);
    assert.equal(renderShell('. && ls', scope()), `. && ls`); // only a field that is exactly `.`
    assert.equal(renderShell('.', scope()), `'${ws}'`);
  });
  test('sections and plain text pass through', () => {
    assert.equal(renderShell('make{{#v}} -v{{/v}}', scope({ v: true })), 'make -v');
    assert.equal(renderShell('make{{#v}} -v{{/v}}', scope({ v: false })), 'make');
  });
  const unsafe: [string, string][] = [
    ['a $ before a value', 'echo ${{x}}'],
    ['${...}', 'echo ${X:-{{x}}}'],
    ['case inside $()', 'echo "$(case a in a) echo {{x}};; esac)"'],
    ['a backslash inside backticks', 'echo `echo \\` {{x}}`'],
    ["$'...'", "echo $'a' {{x}}"],
    ['the heredoc delimiter', 'cat <<{{x}}\nx\n'],
    ['a continued here-document line', 'cat <<EOF\na\\\nEOF\n{{x}}\nEOF'],
    ['an expansion in a here-document', 'cat <<EOF\n$(echo {{x}})\nEOF'],
  ];
  for (const [what, tpl] of unsafe) {
    test(`refuses to guess the quoting of a value after ${what}`, () => {
      assert.throws(() => renderShell(tpl, scope({ x: 'v' })), TemplateError);
    });
  }
});

describe('renderShell: no value can inject shell syntax', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-tpl-'));
  const canary = path.join(dir, 'canary');
  after(() => rmSync(dir, { recursive: true, force: true }));

  const values = [
    `x; touch ${canary}`, // the `x; rm -rf /` shape, harmless if it ever ran
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `'; touch ${canary}; '`,
    `"; touch ${canary}; "`,
    `\\"; touch ${canary}; #`,
    `)\ntouch ${canary}\n(`,
    `}; touch ${canary}; {`,
    `a\ntouch ${canary}`,
    "a'b",
    'a"b',
    '*',
    '$HOME ${HOME}',
    '\\',
    'trailing\\',
    '-n',
    '',
    ' spaced  out ',
  ];
  // [context, template, expected output for value v]
  // Unquoted `...` output is field-split by the outer command: only "ran nothing" is checked there.
  const contexts: [string, string, ((v: string) => string) | undefined][] = [
    ['bare', 'printf %s {{x}}', (v) => v],
    ['triple mustache', 'printf %s {{{x}}}', (v) => v],
    ['ampersand', 'printf %s {{& x}}', (v) => v],
    ['double quotes', 'printf %s "<{{x}}>"', (v) => `<${v}>`],
    ['single quotes', "printf %s '<{{x}}>'", (v) => `<${v}>`],
    ['$( ) in double quotes', 'printf %s "$(printf %s {{x}})"', (v) => v.replace(/\n+$/, '')],
    ['backticks in double quotes', 'printf %s "`printf %s {{x}}`"', (v) => v.replace(/\n+$/, '')],
    ['double quotes in backticks', 'printf %s `printf %s "{{x}}"`', undefined],
    ['here-document', 'cat <<EOF\n{{x}}\nEOF', (v) => `${v}\n`],
    ['quoted here-document', "cat <<'EOF'\n{{x}}\nEOF", (v) => `${v}\n`],
    ['comment', 'printf %s ok # {{x}}', () => 'ok'],
    ['after a backslash', 'printf %s \\{{x}}', (v) => v],
    ['arithmetic before it', 'printf %s $((1 << 2)){{x}}', (v) => `4${v}`],
  ];
  const shells = ['/bin/sh', '/bin/bash'].filter((s) => existsSync(s));

  for (const [context, tpl, expected] of contexts) {
    test(`values in ${context} arrive literally and run nothing`, () => {
      for (const sh of shells) {
        for (const v of values) {
          const line = renderShell(tpl, scope({ x: v }));
          let out: string;
          try {
            out = execFileSync(sh, ['-c', line], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
          } catch (err) {
            assert.fail(`${sh} failed on ${JSON.stringify(line)}: ${String(err)}`);
          }
          assert.equal(existsSync(canary), false, `${sh} ran injected code from ${JSON.stringify(v)} via ${JSON.stringify(line)}`);
          if (expected) assert.equal(out, expected(v), `${sh}: ${JSON.stringify(line)}`);
        }
      }
    });
  }

  test('inside $(( )) only integers are accepted, so arithmetic cannot run a command', () => {
    assert.equal(renderShell('echo $(( {{n}} + 1 ))', scope({ n: '41' })), 'echo $(( 41 + 1 ))');
    assert.equal(execFileSync('/bin/sh', ['-c', renderShell('echo $(( {{n}} + 1 ))', scope({ n: '-3' }))], { encoding: 'utf8' }), '-2\n');
    for (const v of [`$(touch ${canary})`, 'a[$(id)]', '1+1', ' 1', '']) {
      assert.throws(() => renderShell('echo $(( {{n}} + 1 ))', scope({ n: v })), /inside \$\(\(\.\.\.\)\) must be an integer/, v);
      assert.throws(() => renderShell('echo "$(( {{n}} ))"', scope({ n: v })), TemplateError, v);
    }
    assert.equal(existsSync(canary), false);
  });

  test("bash's (( )), [[ ]] and let refuse values, since bash evaluates a[$(cmd)] even in quotes", () => {
    for (const tpl of ['(( {{v}} > 1 )) && echo y', '[[ {{v}} -eq 1 ]]', 'let x={{v}}', 'true; (( {{v}} ))']) {
      assert.throws(() => renderShell(tpl, scope({ v: 'a[$(id)]' })), TemplateError, tpl);
    }
    assert.equal(renderShell('( ( echo {{v}} ) )', scope({ v: 'x' })), "( ( echo 'x' ) )", 'nested subshells are fine');
    assert.equal(renderShell('[ {{v}} = a ]', scope({ v: 'a' })), "[ 'a' = a ]");
  });

  test('a value that would end a here-document is refused', () => {
    assert.throws(() => renderShell('cat <<EOF\n{{x}}\nEOF', scope({ x: `EOF\ntouch ${canary}` })), TemplateError);
    assert.throws(() => renderShell('cat <<-EOF\n\t{{x}}\nEOF', scope({ x: 'EOF' })), TemplateError);
    assert.equal(renderShell('cat <<EOF\n{{x}}\nEOF', scope({ x: 'EOFX' })), 'cat <<EOF\nEOFX\nEOF');
  });
});

describe('renderShell: a script handed to another shell is quoted for that shell too', () => {
  const v = (x: string) => scope({ v: x, w: x });
  // [template, value, line]: the value is quoted for the inner context, then that text for the outer one.
  const nested: [string, string, string][] = [
    ["bash -c 'echo {{v}}'", 'x y', `bash -c 'echo '\\''x y'\\'''`],
    ['sh -c "echo {{v}}"', "it's", `sh -c "echo 'it'\\\\''s'"`],
    ['sh -c "echo {{v}}"', '$(id)', `sh -c "echo '\\$(id)'"`],
    ['sh -c \'echo "{{v}}"\'', '$(id)', `sh -c 'echo "\\$(id)"'`],
    ['sh -c echo\\ {{v}}', 'a b', `sh -c echo\\ ''\\''a b'\\'''`],
    ['eval "echo {{v}}"', 'a$b', `eval "echo 'a\\$b'"`],
    ['eval echo {{v}}', 'a b', `eval echo ''\\''a b'\\'''`],
    ["trap 'echo {{v}}' EXIT", 'a b', `trap 'echo '\\''a b'\\''' EXIT`],
    [`sh -c "bash -c 'echo {{v}}'"`, 'a b', `sh -c "bash -c 'echo '\\\\''a b'\\\\'''"`],
  ];
  for (const [tpl, value, line] of nested) {
    test(`${JSON.stringify(tpl)} with ${JSON.stringify(value)}`, () => {
      assert.equal(renderShell(tpl, v(value)), line);
    });
  }

  test('wrappers, paths and option clusters before the script change nothing', () => {
    const inner = `'echo '\\''a b'\\'''`;
    const shells = ['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'busybox sh', '/bin/sh', '/usr/bin/env bash'];
    const wrappers = [
      'sudo -u ci',
      'env X=1',
      'timeout 5',
      'nice -n 5',
      'docker exec -i c',
      'xargs -0',
      'find . -exec',
      'X=1 exec',
      'if',
      '! command',
      'time',
    ];
    for (const sh of shells) {
      for (const w of ['', ...wrappers]) {
        const prefix = `${w} ${sh} -c `.trimStart();
        assert.equal(renderShell(`${prefix}'echo {{v}}'`, v('a b')), `${prefix}${inner}`);
      }
    }
    for (const flags of [
      '-ec',
      '-xc',
      '-lc',
      '-e -c',
      '-c -e',
      '-o pipefail -c',
      '-eo pipefail -c',
      '--norc -c',
      '--rcfile x -c',
      '-c --',
      '2>/dev/null -c',
      '-c 2>&1',
      '-c >/dev/null',
    ]) {
      assert.equal(renderShell(`bash ${flags} 'echo {{v}}'`, v('a b')), `bash ${flags} ${inner}`, flags);
    }
    assert.equal(renderShell(`su - ci -c 'echo {{v}}'`, v('a b')), `su - ci -c ${inner}`);
    assert.equal(renderShell(`flock /tmp/l -c 'echo {{v}}'`, v('a b')), `flock /tmp/l -c ${inner}`);
    assert.equal(renderShell(`bash -c 'echo hi' && sh -c 'echo {{v}}'`, v('a b')), `bash -c 'echo hi' && sh -c ${inner}`);
    assert.equal(renderShell(`echo "$(sh -c 'echo {{v}}')"`, v('a b')), `echo "$(sh -c ${inner})"`);
  });

  test('a value that names the shell or its -c is followed too', () => {
    assert.equal(renderShell("{{w}} -c 'echo {{v}}'", scope({ w: 'bash', v: 'a b' })), `'bash' -c 'echo '\\''a b'\\'''`);
    assert.equal(renderShell("bash {{w}} 'echo {{v}}'", scope({ w: '-c', v: 'a b' })), `bash '-c' 'echo '\\''a b'\\'''`);
    assert.equal(renderShell("{{w}} 'echo {{v}}'", scope({ w: 'eval', v: 'a b' })), `'eval' 'echo '\\''a b'\\'''`);
  });

  test('arguments and operands that are not scripts are quoted once', () => {
    const plain: string[] = [
      `bash -c 'echo "$1"' _ {{v}}`,
      `sh -c 'echo "$1"' sh {{v}} {{v}}`,
      'sh ./build.sh -c {{v}}',
      'gcc -c {{v}}',
      'echo sh {{v}}',
      "sh -c 'exit 0' > {{v}}",
      "trap 'echo hi' {{v}}",
      '[ -c {{v}} ]',
      'test -c {{v}}',
      "sh -c 'true'; echo {{v}}",
    ];
    for (const tpl of plain) assert.equal(renderShell(tpl, v('a b')), tpl.replaceAll('{{v}}', `'a b'`), tpl);
    // Here-documents a shell does not read as its script.
    for (const tpl of ['sh -c cat <<EOF\n{{v}}\nEOF', 'bash ./x.sh <<EOF\n{{v}}\nEOF', 'cat <<EOF; sh -s <<X\n{{v}}\nEOF\nX']) {
      assert.equal(renderShell(tpl, v('a b')), tpl.replaceAll('{{v}}', 'a b'), tpl);
    }
  });

  const refused: [string, string, RegExp][] = [
    ['$NAME before it in sh -c "..."', 'sh -c "echo $HOME {{v}}"', /in the script sh -c runs: .*\$NAME, which the outer shell expands/],
    ['${...} before it in sh -c "..."', 'sh -c "echo ${HOME} {{v}}"', /\$\{\.\.\.\}, which the outer shell expands/],
    [
      '$(...) before it in bash -c "..."',
      'bash -c "echo $(date) {{v}}"',
      /in the script bash -c runs: .*\$\(\.\.\.\), which the outer shell expands/,
    ],
    ['backticks before it in sh -c "..."', 'sh -c "echo `date` {{v}}"', /`\.\.\.`, which the outer shell expands/],
    ['a glob in a bare script word', 'sh -c echo\\ *\\ {{v}}', /glob/],
    ['$NAME in an earlier eval argument', 'eval "$X" "echo {{v}}"', /earlier argument of eval/],
    [
      'a value inside $( ) in a script word',
      'sh -c "echo $(echo {{v}})"',
      /inside an expansion whose output becomes part of the script sh -c runs/,
    ],
    ['a value inside $(( )) in a script word', 'sh -c "echo $(( {{v}} ))"', /inside an expansion/],
    ['a shell chosen at run time', `"$SHELL" -c 'echo {{v}}'`, /cannot tell whether \{\{v\}\} is in a script for another shell/],
    ['an unknown option word after the shell', `bash "$OPTS" 'echo {{v}}'`, /cannot tell whether/],
    ['a shell that quotes its own way', `fish -c 'echo {{v}}'`, /fish -c/],
    ["su's attached -cCMD", 'su -c{{v}}', /su -c/],
    [
      'two deep, after $x in the inner double quotes',
      `sh -c 'bash -c "echo $HOME {{v}}"'`,
      /in the script sh -c runs: in the script bash -c runs: /,
    ],
    ["$'...' in the inner script", `bash -c "echo \\$'a' {{v}}"`, /\$'\.\.\.' quoting/],
    ['a here-document sh reads as its script', 'sh <<EOF\necho {{v}}\nEOF', /here-document that sh reads as its script/],
    ['a here-document sudo bash -s reads', 'sudo -u ci bash -s x <<EOF\necho {{v}}\nEOF', /here-document that bash reads/],
    ['a $ right before it in the inner script', `sh -c 'echo \${{v}}'`, /right after a "\$"/],
  ];
  for (const [what, tpl, want] of refused) {
    test(`refuses a value after ${what}`, () => {
      assert.throws(
        () => renderShell(tpl, v('x')),
        (err: unknown) => err instanceof TemplateError && want.test(err.message),
      );
      assert.match(shellLineProblem(tpl) ?? '', want, 'floe check reports it too');
    });
  }

  test('escaped text reaching the inner shell is known, so values after it are quoted', () => {
    assert.equal(renderShell('sh -c "echo \\$HOME {{v}}"', v('a b')), `sh -c "echo \\$HOME 'a b'"`);
    assert.equal(renderShell("sh -c 'echo $HOME {{v}}'", v('a b')), `sh -c 'echo $HOME '\\''a b'\\'''`);
  });

  test('exec args after a shell line are values too', () => {
    assert.equal(renderShell('printf %s', scope(), ['a b', '$(id)']), `printf %s 'a b' '$(id)'`);
    assert.equal(renderShell('eval echo', scope(), ['$(id)']), `eval echo ''\\''$(id)'\\'''`);
    assert.throws(() => renderShell('echo ${X:-', scope(), ['a']), /args\[0\]/);
  });
});

describe('shellLineProblem', () => {
  test('reports a placement that no value can fill safely, not one some values can', () => {
    assert.match(shellLineProblem('echo ${X:-{{x}}}') ?? '', /\{\{x\}\} may not be used inside \$\{\.\.\.\}/);
    assert.match(shellLineProblem('echo ${{x}}') ?? '', /right after a "\$"/);
    assert.equal(shellLineProblem('echo $(( {{n}} + 1 ))'), undefined, 'an integer fits');
    assert.equal(shellLineProblem('cat <<EOF\n{{x}}\nEOF'), undefined, 'most values fit');
    assert.equal(shellLineProblem("bash -c 'echo {{x}}'"), undefined);
    assert.equal(shellLineProblem('make {{#v}}-v{{/v}}{{^v}}{{x}}{{/v}}'), undefined);
    assert.match(shellLineProblem('echo {{#v}}${{x}}{{/v}}') ?? '', /right after a "\$"/, 'sections are checked as shown');
    assert.match(shellLineProblem('echo ${X:-', ['{{a}}']) ?? '', /args\[0\]/);
  });
});

describe('renderShell: the line is followed as the shell reads it', () => {
  test('a comment after a backslash-newline is still a comment', () => {
    // The shell removes `\` newline, so `#` starts a word and a comment: a newline in the value would end it.
    assert.equal(renderShell('echo a \\\n# {{v}}', scope({ v: 'x\ny' })), 'echo a \\\n# x y');
  });
  test('a here-document operator split by a section is still seen', () => {
    assert.throws(() => renderShell('cat <{{#t}}{{/t}}<EOF\n{{v}}\nEOF', scope({ v: 'EOF\nx' })), TemplateError);
  });
});
