import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { execNode, TIMEOUT_STATUS, type ExecOpts } from '../../src/nodes/exec.js';
import { fakeContext, groupMembers, isAlive, recordingCheck, type FakeContext } from './fake-context.js';
import { firstItem } from '../items.js';

function parse(raw: Record<string, unknown>): ExecOpts {
  const check = recordingCheck();
  const opts = execNode.parseOpts(raw, check);
  assert.deepEqual(check.errors, [], 'opts are valid');
  return opts;
}

describe('exec parseOpts', () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['neither cmd nor shell', {}, /exactly one of cmd or shell/],
    ['both cmd and shell', { cmd: 'a', shell: 'b' }, /exactly one of cmd or shell/],
    ['an absolute sub-dir', { cmd: 'a', 'sub-dir': '/etc' }, /^sub-dir: must be relative/],
    ['a sub-dir escaping with ..', { cmd: 'a', 'sub-dir': 'x/../../y' }, /^sub-dir: must not leave/],
    ['a zero timeout', { cmd: 'a', timeout: 0 }, /^timeout:/],
    ['negative retries', { cmd: 'a', retries: -1 }, /^retries:/],
    ['env without =', { cmd: 'a', env: ['NOPE'] }, /^env\[0\]: must be KEY=value/],
    ['args that are not a list', { cmd: 'a', args: 'x y' }, /^args:/],
    ['a broken template', { shell: 'echo {{x' }, /^shell: bad template/],
    ['a value where no quoting can hold', { shell: 'echo ${X:-{{x}}}' }, /^shell: \{\{x\}\} may not be used inside \$\{\.\.\.\}/],
    [
      'a value after $NAME in the script of bash -c',
      { shell: 'bash -c "echo $HOME {{x}}"' },
      /^shell: in the script bash -c runs: cannot tell how to quote \{\{x\}\}/,
    ],
    ['an arg after an unquotable line', { shell: 'echo ${X:-', args: ['{{x}}'] }, /^shell: .*args\[0\]/],
  ];
  for (const [what, raw, want] of bad) {
    test(`reports ${what}`, () => {
      const check = recordingCheck();
      execNode.parseOpts(raw, check);
      assert.ok(
        check.errors.some((e) => want.test(e)),
        check.errors.join('; '),
      );
    });
  }

  test('reads every option, warns on unknown ones', () => {
    const check = recordingCheck();
    const opts = execNode.parseOpts(
      { cmd: 'make', args: ['a', 2], 'sub-dir': 'src', env: ['A=1'], timeout: 1.5, retries: 2, good: [0, 1], colour: true },
      check,
    );
    assert.deepEqual(check.errors, []);
    assert.deepEqual(check.warnings, ['colour: unknown option']);
    assert.deepEqual(opts, {
      cmd: 'make',
      shell: undefined,
      args: ['a', '2'],
      subDir: 'src',
      env: ['A=1'],
      timeoutSec: 1.5,
      retries: 2,
      good: [0, 1],
    });
  });
});

describe('exec execute', () => {
  let ctx: FakeContext;
  afterEach(async () => {
    for (const g of ctx.pgids) for (const pid of groupMembers(g)) process.kill(pid, 'SIGKILL');
    await ctx.cleanup();
  });
  const run = (raw: Record<string, unknown>, signal = new AbortController().signal) => execNode.execute(ctx, parse(raw), signal);

  test('streams lines while the process is still running', async () => {
    ctx = await fakeContext();
    let aliveAtFirstLine: boolean | undefined;
    const output = ctx.output;
    ctx.output = (stream, line) => {
      output(stream, line);
      if (line === 'a') aliveAtFirstLine = isAlive(firstItem(ctx.pgids));
    };
    const result = await run({ shell: 'echo a; sleep 1; echo b' });
    assert.equal(result.status, 0);
    assert.deepEqual(ctx.linesOf('stdout'), ['a', 'b']);
    assert.equal(aliveAtFirstLine, true, 'line a arrived before the process exited');
  });

  test('returns the exit status and streams stderr', async () => {
    ctx = await fakeContext();
    const result = await run({ shell: 'echo oops >&2; exit 7' });
    assert.equal(result.status, 7);
    assert.deepEqual(ctx.linesOf('stderr'), ['oops']);
  });

  test('cmd args keep their spaces, and values are never re-split', async () => {
    ctx = await fakeContext({ vars: { msg: 'two words' } });
    await run({ cmd: 'printf [%s] {{msg}}', args: ['a b', '{{msg}}'] });
    assert.deepEqual(ctx.linesOf('stdout'), ['[two words][a b][two words]']);
  });

  test('shell args are appended as quoted words', async () => {
    ctx = await fakeContext();
    await run({ shell: 'printf [%s]', args: ['a b', '$(id)'] });
    assert.deepEqual(ctx.linesOf('stdout'), ['[a b][$(id)]']);
  });

  test('runs in the workspace or the sub-dir, with env and {{ws}} expanded', async () => {
    ctx = await fakeContext({ vars: { name: 'x y' } });
    await mkdir(path.join(ctx.workspace, 'src'));
    await run({ shell: 'pwd; echo "$OUT" "$WS"', env: ['OUT=./out', 'WS={{ws}}/{{name}}'] });
    await run({ cmd: 'pwd', 'sub-dir': './src' });
    assert.deepEqual(ctx.linesOf('stdout'), [ctx.workspace, `${ctx.workspace}/out ${ctx.workspace}/x y`, path.join(ctx.workspace, 'src')]);
  });

  test('a ./ command runs from the workspace', async () => {
    ctx = await fakeContext();
    await writeFile(path.join(ctx.workspace, 'hi.sh'), 'echo hi from $0\n', { mode: 0o755 });
    const result = await run({ cmd: './hi.sh' });
    assert.equal(result.status, 0);
    assert.deepEqual(ctx.linesOf('stdout'), [`hi from ${ctx.workspace}/hi.sh`]);
  });

  test('a missing sub-dir fails the task with a reason', async () => {
    ctx = await fakeContext();
    const result = await run({ cmd: 'true', 'sub-dir': 'nope' });
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', /sub-dir nope does not exist/);
  });

  test('a missing command is status 127', async () => {
    ctx = await fakeContext();
    const result = await run({ cmd: 'floe-no-such-command x', retries: 3 });
    assert.equal(result.status, 127);
    assert.equal(result.reason, 'command not found: floe-no-such-command');
    assert.deepEqual(ctx.linesOf('floe'), ['command not found: floe-no-such-command'], 'no retries of a command that cannot start');
  });

  test('timeout kills the tree and reports 124', async () => {
    ctx = await fakeContext();
    const result = await run({ shell: 'sleep 30 & echo started; sleep 30; wait', timeout: 0.3 });
    assert.equal(result.status, TIMEOUT_STATUS);
    assert.match(ctx.linesOf('floe').join('\n'), /timed out after 0.3s/);
    assert.deepEqual(groupMembers(firstItem(ctx.pgids)), []);
  });

  test('retries a bad status and stops at the first good one', async () => {
    ctx = await fakeContext();
    const counter = path.join(ctx.workspace, 'n');
    const result = await run({ shell: `echo x >> ${counter}; [ $(wc -l < ${counter}) -ge 2 ]`, retries: 2 });
    assert.equal(result.status, 0);
    assert.deepEqual(ctx.linesOf('floe'), ['retry 1 of 2']);
    assert.equal((await readFile(counter, 'utf8')).split('\n').length - 1, 2);
  });

  test('retries give up after the last attempt; good statuses come from the task', async () => {
    ctx = await fakeContext();
    const result = await run({ shell: 'exit 3', retries: 2 });
    assert.equal(result.status, 3);
    assert.deepEqual(ctx.linesOf('floe'), ['retry 1 of 2', 'retry 2 of 2']);
    ctx.lines.length = 0;
    assert.equal((await run({ shell: 'exit 3', retries: 2, good: [3] })).status, 3);
    assert.deepEqual(ctx.linesOf('floe'), []);
  });

  test('abort kills the whole tree and the task settles', async () => {
    ctx = await fakeContext();
    const ac = new AbortController();
    ctx.output = (_stream, line) => {
      if (line === 'started') ac.abort();
    };
    const result = await run({ shell: 'sleep 30 & sleep 30 & echo started; wait', retries: 2 }, ac.signal);
    assert.equal(result.status, 143);
    assert.equal(ctx.pgids.length, 1, 'no retry after an abort');
    assert.deepEqual(groupMembers(firstItem(ctx.pgids)), []);
  });

  test('a value that cannot be quoted safely fails the task instead of running', async () => {
    ctx = await fakeContext({ vars: { n: '$(id)' } });
    const result = await run({ shell: 'echo $(( {{n}} + 1 ))' });
    assert.equal(result.status, 1);
    assert.match(result.reason ?? '', /\{\{n\}\} inside \$\(\(\.\.\.\)\) must be an integer/);
    assert.deepEqual(ctx.pgids, []);
  });

  test('a value in the script of bash -c, or after eval, arrives literally and runs nothing', async () => {
    const v = `it's $(touch MARK) \`touch MARK\`; touch MARK | "\\" *`;
    ctx = await fakeContext({ vars: { v } });
    for (const raw of [
      { shell: `bash -c 'printf "%s\\n" {{v}}'` },
      { shell: `sh -c "printf '%s\\n' \\"{{v}}\\""` },
      { shell: `eval printf "'%s\\n'"`, args: ['{{v}}'] },
    ]) {
      assert.equal((await run(raw)).status, 0, JSON.stringify(raw));
    }
    assert.deepEqual(ctx.linesOf('stdout'), [v, v, v]);
    await assert.rejects(stat(path.join(ctx.workspace, 'MARK')), 'no value ran as code');
  });
});
