import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(root, 'bin/floe.js');

function floe(args: string[], cwd = root) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
}

/** A CLI host in a temp dir whose timer flow runs `shell` every `period` seconds; lines are its JSON log. */
async function timerHost(t: TestContext, shell: string, period: number, args: string[] = [], env: NodeJS.ProcessEnv = process.env) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    path.join(dir, 'floe.yml'),
    `flows:
  - id: tick
    triggers: [{ name: t, type: timer, opts: { period: ${period} } }]
    tasks:
      - { name: work, listen: trigger.good, type: exec, opts: { shell: '${shell}' } }
`,
  );
  const child = spawn(process.execPath, [bin, '-conf=floe.yml', '-pub_bind=127.0.0.1:0', '-admin=t0ken', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env });
  t.after(() => child.kill('SIGKILL'));
  return { child, lines: createInterface({ input: child.stdout }) };
}

test('floe --help lists every flag and exits 0', () => {
  const r = floe(['--help']);
  assert.equal(r.status, 0);
  for (const f of ['conf', 'host_name', 'admin', 'tags', 'pub_bind', 'pub_cert', 'pub_key', 'prv_bind', 'prv_cert', 'prv_key', 'root', 'dev']) {
    assert.match(r.stdout, new RegExp(`-${f}\\b`), f);
  }
});

test('an unknown flag or a bad value exits 2 with a clear message', () => {
  const r = floe(['-host_nam=h2']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown flag -host_nam \(did you mean -host_name\?\)/);
  const bad = floe(['-pub_bind=nowhere']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /-pub_bind is host:port/);
});

test('floe check prints each flow\'s graph and exits 0 on the shipped default.yml', () => {
  const r = floe(['check', '-conf', 'default.yml']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /flow hello v1/);
  assert.match(r.stdout, /trigger\.good\s+-> greet \(exec\)/);
  assert.match(r.stdout, /0 errors/);
});

test('an invalid config: check and the host both print file:line:col errors and exit non-zero', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bad.yml');
  await writeFile(file, 'flows:\n  - id: f\n    triggers: [{ name: s, type: data }]\n    tasks:\n      - { name: a, listen: trigger.good, type: exe }\n');
  const check = floe(['check', `-conf=${file}`]);
  assert.equal(check.status, 1);
  assert.match(check.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:5:\\d+: error: .*unknown task type "exe".*did you mean "exec"`));
  const host = floe([`-conf=${file}`], dir);
  assert.equal(host.status, 1);
  assert.equal(host.stderr, check.stderr, 'the host prints exactly what check prints');
});

test('SIGTERM stops a host gracefully: running tasks finish, state persists, exit 0', async (t) => {
  const { child, lines: reader } = await timerHost(t, 'sleep 0.5; echo finished', 0.2, ['-host_name=h7']);
  const lines: Array<{ msg: string; run?: string; status?: string }> = [];
  await new Promise<void>((resolve) => {
    reader.on('line', (l) => {
      lines.push(JSON.parse(l) as { msg: string; run?: string });
      if (lines.at(-1)?.msg === 'run started') resolve();
    });
  });
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0);
  const started = lines.find((l) => l.msg === 'run started')?.run;
  const ended = lines.find((l) => l.msg === 'run ended' && l.run === started);
  assert.equal(ended?.status, 'good', 'the running task was given time to finish');
  assert.ok(lines.some((l) => l.msg === 'host stopped'));
  assert.ok(lines.every((l) => l.msg !== 'run started' || l.run === started || lines.some((e) => e.msg === 'run ended' && e.run === l.run)), 'no run left executing');
});

test('floe hash-password prints a hash of the password piped on stdin; an argument is refused with exit 2', async () => {
  const { verifyPassword } = await import('../src/server/password.js');
  const ok = spawnSync(process.execPath, [bin, 'hash-password'], { cwd: root, encoding: 'utf8', input: 'correct horse\n', timeout: 30_000 });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^scrypt\$16384\$8\$1\$\S+\n$/);
  assert.equal(await verifyPassword('correct horse', ok.stdout.trim()), true);
  const refused = floe(['hash-password', 'correct horse']);
  assert.equal(refused.status, 2);
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, /takes no arguments/);
  assert.doesNotMatch(refused.stderr, /correct horse/);
  assert.match(floe(['--help']).stdout, /floe hash-password/);
});

test('-h after a flag that takes a value is that value, not a request for help', () => {
  const r = floe(['-conf=/nonexistent/floe.yml', '-admin', '-h', '-pub_bind=127.0.0.1:0']);
  assert.equal(r.status, 1);
  assert.doesNotMatch(r.stdout, /usage:/);
  assert.match(r.stderr, /nonexistent\/floe\.yml/);
  assert.match(floe(['check', '-h']).stdout, /usage:/);
});

test('a bad FLOE_GRACE_MS is a clear error with exit code 2', () => {
  const r = spawnSync(process.execPath, [bin, '-conf=default.yml', '-pub_bind=127.0.0.1:0'], { cwd: root, encoding: 'utf8', env: { ...process.env, FLOE_GRACE_MS: 'soon' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /FLOE_GRACE_MS is a whole number of milliseconds, got "soon"/);
});

test('a second signal during the grace period exits at once with 128 + the signal number', async (t) => {
  const { child, lines } = await timerHost(t, 'sleep 30', 0.1, [], { ...process.env, FLOE_GRACE_MS: '60000' });
  await new Promise<void>((resolve) => {
    lines.on('line', (l) => {
      if ((JSON.parse(l) as { msg: string }).msg === 'run started') resolve();
    });
  });
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 143);
});
