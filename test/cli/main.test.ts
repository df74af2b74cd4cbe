import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
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
  const child = spawn(process.execPath, [bin, '-conf=floe.yml', '-pub_bind=127.0.0.1:0', '-admin=t0ken', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  t.after(() => child.kill('SIGKILL'));
  return { child, lines: createInterface({ input: child.stdout }) };
}

test('floe --help lists every flag and exits 0', () => {
  const r = floe(['--help']);
  assert.equal(r.status, 0);
  for (const f of [
    'conf',
    'host_name',
    'admin',
    'admin_file',
    'tags',
    'pub_bind',
    'pub_cert',
    'pub_key',
    'prv_bind',
    'prv_cert',
    'prv_key',
    'root',
    'dev',
  ]) {
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

test("floe check prints each flow's graph and exits 0 on the shipped default.yml", () => {
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
  await writeFile(
    file,
    'flows:\n  - id: f\n    triggers: [{ name: s, type: data }]\n    tasks:\n      - { name: a, listen: trigger.good, type: exe }\n',
  );
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
  assert.ok(
    lines.every((l) => l.msg !== 'run started' || l.run === started || lines.some((e) => e.msg === 'run ended' && e.run === l.run)),
    'no run left executing',
  );
});

test('floe hash-password prints a hash of the password piped on stdin; an argument is refused with exit 2', async () => {
  const { verifyPassword } = await import('../../src/server/password.js');
  const ok = spawnSync(process.execPath, [bin, 'hash-password'], {
    cwd: root,
    encoding: 'utf8',
    input: 'correct horse\n',
    timeout: 30_000,
  });
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
  const r = spawnSync(process.execPath, [bin, '-conf=default.yml', '-pub_bind=127.0.0.1:0'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, FLOE_GRACE_MS: 'soon' },
  });
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

// The admin token from -admin, -admin_file or FLOE_ADMIN (issue 7). These run the CLI of the
// build this test file is in (../../src/cli/main.js), not bin/'s dist/.
const cliHere = new URL('../../src/cli/main.js', import.meta.url).href;
const LAUNCH = `const { main } = await import(${JSON.stringify(cliHere)}); process.exit(await main(process.argv.slice(1)));`;

/** Env without any FLOE_ADMIN of the caller's, plus `extra`. */
function envWith(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  if (!('FLOE_ADMIN' in extra)) delete env.FLOE_ADMIN;
  return env;
}

function floeHere(args: string[], env = envWith(), cwd = root) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', LAUNCH, '--', ...args], { cwd, env, encoding: 'utf8', timeout: 30_000 });
}

interface LogLine {
  msg: string;
  level: number;
  [k: string]: unknown;
}

/** A CLI host of this build in `dir` on port 0; resolves once it listens, with its API URL and log. */
async function hostHere(t: TestContext, dir: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', LAUNCH, '--', '-conf=floe.yml', '-pub_bind=127.0.0.1:0', ...args], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const lines: LogLine[] = [];
  const waiters: Array<[(l: LogLine) => boolean, (l: LogLine) => void]> = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    const l = JSON.parse(text) as LogLine;
    lines.push(l);
    for (const w of waiters.filter(([match]) => match(l))) {
      waiters.splice(waiters.indexOf(w), 1);
      w[1](l);
    }
  });
  const waitLine = (match: (l: LogLine) => boolean) =>
    new Promise<LogLine>((resolve, reject) => {
      const seen = lines.find(match);
      if (seen) return resolve(seen);
      waiters.push([match, resolve]);
      child.once('exit', (code) => reject(new Error(`floe exited ${code} first: ${stderr}`)));
    });
  const listening = await waitLine((l) => l.msg.startsWith('listening on'));
  const api = `${String(listening.url)}/build/api`;
  return {
    lines,
    waitLine,
    stderr: () => stderr,
    get: (path: string, token: string) => fetch(`${api}${path}`, { headers: { 'X-Floe-Auth': token } }),
    post: (path: string, token: string, body: unknown) =>
      fetch(`${api}${path}`, {
        method: 'POST',
        headers: { 'X-Floe-Auth': token, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }),
    stop: async () => {
      child.kill('SIGTERM');
      return new Promise<number | null>((r) => child.once('exit', r));
    },
  };
}

async function floeDir(t: TestContext, yaml: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'floe.yml'), yaml);
  return dir;
}

test('FLOE_ADMIN sets the admin token, and a task does not inherit it', async (t) => {
  const dir = await floeDir(t, '');
  const out = path.join(dir, 'task-env.txt');
  await writeFile(
    path.join(dir, 'floe.yml'),
    `flows:
  - id: dump
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: env, listen: trigger.good, type: exec, opts: { shell: 'env > ${out}' } }
      - { name: done, listen: task.env.good, type: end }
`,
  );
  const h = await hostHere(t, dir, [], envWith({ FLOE_ADMIN: 'env-s3cret-t0ken' }));
  assert.equal((await h.get('/flows', 'env-s3cret-t0ken')).status, 200, 'the FLOE_ADMIN token is the admin token');
  assert.equal((await h.get('/flows', 'something-else')).status, 401);
  assert.doesNotMatch(h.stderr(), /admin token is/, 'no random token is made');
  assert.equal((await h.post('/push/data', 'env-s3cret-t0ken', { ref: { id: 'dump' } })).status, 200);
  const ended = await h.waitLine((l) => l.msg === 'run ended');
  assert.equal(ended.status, 'good');
  const taskEnv = await readFile(out, 'utf8');
  assert.match(taskEnv, /^PATH=/m, 'the task did write its environment');
  assert.doesNotMatch(taskEnv, /FLOE_ADMIN|env-s3cret-t0ken/);
  assert.equal(await h.stop(), 0);
});

test("-admin_file takes the token from the file's first line, and warns when group or others may read the file", async (t) => {
  const dir = await floeDir(t, 'flows: []\n');
  const file = path.join(dir, 'admin-token');
  await writeFile(file, '  file-t0ken  \nsecond line\n');
  await chmod(file, 0o644);
  const h = await hostHere(t, dir, [`-admin_file=${file}`], envWith());
  assert.equal((await h.get('/flows', 'file-t0ken')).status, 200, 'first line, trimmed');
  assert.equal((await h.get('/flows', 'second line')).status, 401);
  const warning = h.lines.find((l) => l.level === 40 && /admin_file/.test(l.msg));
  assert.match(String(warning?.msg), /may be read by group or others \(mode 0644\); chmod 600 it/);
  assert.ok(!JSON.stringify(h.lines).includes('file-t0ken'), 'the token is not logged');
  assert.equal(await h.stop(), 0);
});

test('an -admin_file that is missing, empty or blank on its first line is a flag error (exit 2) naming the file', async (t) => {
  const dir = await floeDir(t, 'flows: []\n');
  const empty = path.join(dir, 'empty');
  const blankFirst = path.join(dir, 'blank-first');
  await writeFile(empty, '');
  await writeFile(blankFirst, '   \nlate-token\n');
  const rows: Array<[string, RegExp]> = [
    [path.join(dir, 'missing'), /flag -admin_file: cannot read .*missing: ENOENT/],
    [empty, /flag -admin_file: the first line of .*empty is empty/],
    [blankFirst, /flag -admin_file: the first line of .*blank-first is empty/],
    [dir, /flag -admin_file: cannot read .*: EISDIR/],
  ];
  for (const [file, message] of rows) {
    const r = floeHere([`-admin_file=${file}`, '-pub_bind=127.0.0.1:0'], envWith(), dir);
    assert.equal(r.status, 2, `${file}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /late-token/);
  }
});

test('the admin token given two ways at once is a flag error (exit 2) naming both, quoting neither', async (t) => {
  const dir = await floeDir(t, 'flows: []\n');
  const file = path.join(dir, 'admin-token');
  await writeFile(file, 'from-file\n', { mode: 0o600 });
  const rows: Array<[string[], Record<string, string>, RegExp]> = [
    [['-admin=from-flag'], { FLOE_ADMIN: 'from-env' }, /given by both -admin and FLOE_ADMIN;/],
    [['-admin=from-flag', `-admin_file=${file}`], {}, /given by both -admin and -admin_file;/],
    [[`-admin_file=${file}`], { FLOE_ADMIN: 'from-env' }, /given by both -admin_file and FLOE_ADMIN;/],
    [['-admin=from-flag', `-admin_file=${file}`], { FLOE_ADMIN: 'from-env' }, /given by -admin, -admin_file and FLOE_ADMIN;/],
  ];
  for (const [args, env, message] of rows) {
    const r = floeHere([...args, '-pub_bind=127.0.0.1:0'], envWith(env), dir);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /from-(flag|file|env)/);
  }
});
