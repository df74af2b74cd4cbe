import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePorts } from './cluster-harness.js';
import { tempDir } from './harness.js';
import { isAlive, waitGone } from './proc.js';

// start.sh runs from a copy in a temp dir, so its .floe/ state lands there and not in the
// checkout; bin/ is a link to the checkout's, whose CLI is the shared build in dist/.
const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Entry {
  host: string;
  msg: string;
  [k: string]: unknown;
}

interface Script {
  dir: string;
  pid: number;
  ports: { h1: number; h2: number };
  stdout: string[];
  stderr(): string;
  /** The first stdout line that matches; rejects if start.sh exits first. */
  line(match: (line: string) => boolean): Promise<string>;
  /** The first log entry of `host` with `msg`; rejects if start.sh exits first. */
  entry(host: string, msg: string): Promise<Entry>;
  entries(host: string, msg: string): Entry[];
  exit: Promise<number | null>;
}

async function runStartSh(t: TestContext, args: string[] = []): Promise<Script> {
  const dir = await tempDir('floe-start-sh-');
  t.after(() => rm(dir, { recursive: true, force: true }));
  await copyFile(path.join(root, 'start.sh'), path.join(dir, 'start.sh'));
  await chmod(path.join(dir, 'start.sh'), 0o755);
  await symlink(path.join(root, 'bin'), path.join(dir, 'bin'));
  await mkdir(path.join(dir, 'tmp'));
  const [h1, h2] = (await freePorts(2)) as [number, number];
  await writeFile(
    path.join(dir, 'default.yml'),
    `common:
  hosts: [http://127.0.0.1:${h1}, http://127.0.0.1:${h2}]
  store-type: local
  store-root: .floe/store
  workspace-root: .floe/ws
flows:
  - id: hello
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: greet, listen: trigger.good, type: exec, opts: { shell: 'echo hi' } }
      - { name: done, listen: task.greet.good, type: end }
`,
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLOE_START_SKIP_BUILD: '1',
    FLOE_H1_PORT: String(h1),
    FLOE_H2_PORT: String(h2),
    FLOE_LOG: 'info',
    FLOE_GRACE_MS: '2000',
    TMPDIR: path.join(dir, 'tmp'),
  };
  delete env.FLOE_ADMIN;
  // Its own process group, as a terminal gives it: Ctrl-C there signals the whole group.
  const child = spawn(path.join(dir, 'start.sh'), args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.after(() => {
    // Whatever a failed test left: the hosts first (start.sh would only forward a signal).
    for (const pid of descendants(child.pid ?? -1)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const stdout: string[] = [];
  const wakers = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout.push(line);
    for (const w of [...wakers]) w();
  });
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      exited = true;
      for (const w of [...wakers]) w();
      resolve(code);
    }),
  );
  const entries = (host: string, msg: string) =>
    stdout
      .map(parseLine)
      .filter((e): e is Entry => e !== undefined)
      .filter((e) => e.host === host && e.msg === msg);
  const line = (match: (l: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = stdout.find(match);
        if (found !== undefined) {
          wakers.delete(check);
          resolve(found);
        } else if (exited) {
          wakers.delete(check);
          reject(new Error(`start.sh exited before the awaited line; stderr: ${stderr}; stdout: ${stdout.join('\n')}`));
        }
      };
      wakers.add(check);
      check();
    });
  return {
    dir,
    pid: child.pid ?? -1,
    ports: { h1, h2 },
    stdout,
    stderr: () => stderr,
    entries,
    line,
    entry: async (host, msg) => {
      await line((l) => parseLine(l)?.host === host && parseLine(l)?.msg === msg);
      return entries(host, msg)[0]!;
    },
    exit,
  };
}

/** "h1 | {json}" as the JSON with its host; undefined for any other line. */
function parseLine(line: string): Entry | undefined {
  const m = /^(h\d) \| (\{.*)$/.exec(line);
  if (!m) return undefined;
  try {
    return { ...(JSON.parse(m[2]!) as { msg: string }), host: m[1]! };
  } catch {
    return undefined;
  }
}

/** Every process below `pid` (Linux /proc). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function hostPid(stderr: string, name: string, port: number): number {
  const m = new RegExp(`started ${name} \\(pid (\\d+)\\) on 127\\.0\\.0\\.1:${port}`).exec(stderr);
  assert.ok(m, `start.sh says which pid ${name} is: ${stderr}`);
  return Number(m[1]);
}

async function health(port: number): Promise<{ status: number; host?: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/build/api/health`);
  const body = (await res.json()) as { payload?: { host?: string } };
  return { status: res.status, host: body.payload?.host };
}

test('./start.sh with no flags runs h1 and h2 on one printed token, prefixes their logs, and stops both on Ctrl-C', async (t) => {
  const s = await runStartSh(t);
  const started = { h1: await s.entry('h1', 'host started'), h2: await s.entry('h2', 'host started') };
  const pids = { h1: hostPid(s.stderr(), 'h1', s.ports.h1), h2: hostPid(s.stderr(), 'h2', s.ports.h2) };

  assert.deepEqual(await health(s.ports.h1), { status: 200, host: 'h1' });
  assert.deepEqual(await health(s.ports.h2), { status: 200, host: 'h2' });
  for (const name of ['h1', 'h2'] as const) {
    assert.deepEqual(started[name].tags, ['linux', 'go', 'couch']);
    assert.equal(started[name].workspaces, path.join(s.dir, '.floe', 'ws', name), `${name} has its own workspace root`);
    assert.ok(existsSync(path.join(s.dir, '.floe', 'store', name)), `${name} has its own store`);
  }

  const token = /h1 and h2 share the admin token (\S+)/.exec(s.stderr())?.[1];
  assert.ok(token, s.stderr());
  for (const port of [s.ports.h1, s.ports.h2]) {
    const ok = await fetch(`http://127.0.0.1:${port}/build/api/hosts`, { headers: { 'X-Floe-Auth': token } });
    assert.equal(ok.status, 200, `the printed token works on port ${port}`);
    await ok.body?.cancel();
    const wrong = await fetch(`http://127.0.0.1:${port}/build/api/hosts`, { headers: { 'X-Floe-Auth': `${token}x` } });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
  }

  const tree = descendants(s.pid);
  assert.ok(tree.includes(pids.h1) && tree.includes(pids.h2), 'both hosts are start.sh children');
  for (const pid of tree) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // a short-lived process
    }
    assert.ok(!cmdline.includes(token), `pid ${pid}'s command line does not carry the token`);
  }

  process.kill(-s.pid, 'SIGINT'); // Ctrl-C: to start.sh's process group
  assert.equal(await s.exit, 0, s.stderr());
  for (const name of ['h1', 'h2']) {
    assert.equal(s.entries(name, 'stopping: no new runs, running tasks get a grace period').length, 1, `${name} got one signal`);
    assert.equal(s.entries(name, 'host stopped')[0]?.exitCode, 0);
  }
  for (const pid of tree) assert.ok(await waitGone(pid), `pid ${pid} is gone`);

  assert.deepEqual(
    s.stdout.filter((l) => !/^h[12] \| /.test(l)),
    [],
    'every log line is prefixed',
  );
  assert.equal(`${s.stdout.join('\n')}${s.stderr()}`.split(token).length - 1, 1, 'the token is printed once');
  assert.deepEqual(readdirSync(path.join(s.dir, 'tmp')), [], 'start.sh removes its log pipes');
});

test('when one host dies, start.sh stops the other and exits non-zero', async (t) => {
  const s = await runStartSh(t);
  await s.entry('h1', 'host started');
  await s.entry('h2', 'host started');
  const pids = { h1: hostPid(s.stderr(), 'h1', s.ports.h1), h2: hostPid(s.stderr(), 'h2', s.ports.h2) };
  const tree = descendants(s.pid);

  process.kill(pids.h2, 'SIGKILL');
  const code = await s.exit;
  assert.notEqual(code, 0);
  assert.match(s.stderr(), /h2 stopped; stopping the other host/);
  assert.equal(s.entries('h1', 'host stopped')[0]?.exitCode, 0, 'h1 stopped gracefully');
  for (const pid of tree) assert.ok(await waitGone(pid), `pid ${pid} is gone`);
  assert.equal(isAlive(pids.h1), false);
});

test('./start.sh with flags runs one host with those flags, as itself', async (t) => {
  const [port] = (await freePorts(1)) as [number];
  const s = await runStartSh(t, ['-host_name=h3', `-pub_bind=127.0.0.1:${port}`]);
  await s.line((l) => l.includes('"msg":"host started"'));
  assert.deepEqual(await health(port), { status: 200, host: 'h3' });
  assert.doesNotMatch(s.stderr(), /share the admin token/);
  assert.match(s.stderr(), /this host's admin token is/, 'the host makes and prints its own token');
  const cmdline = readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').split('\0');
  assert.ok(cmdline.includes('bin/floe.js') && cmdline.includes('-host_name=h3'), `start.sh became the host (exec): ${cmdline.join(' ')}`);
  process.kill(s.pid, 'SIGTERM');
  assert.equal(await s.exit, 0);
});
