import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/validate.js';
import { LocalFlowFiles, MAX_FLOW_FILE, classifyFlowFile } from '../../src/host/flow-files.js';
import { createLogger } from '../../src/host/logger.js';
import { createNodeRegistry } from '../../src/nodes/index.js';
import { startRealHost } from '../e2e/harness.js';
import { aliasBomb } from '../config/fixtures.js';
import { firstItem, itemAt } from '../items.js';

test('flow-file references are a file, a file in a git repository, or a URL, as the README says', () => {
  const cases: Array<[string, ReturnType<typeof classifyFlowFile>]> = [
    ['floes/floe.yaml', { kind: 'file', path: 'floes/floe.yaml' }],
    ['git@github.com:floeit/floe.git/build/FLOE.yaml', { kind: 'git', url: 'git@github.com:floeit/floe.git', path: 'build/FLOE.yaml' }],
    [
      'https://github.com/floeit/floe.git/build/FLOE.yaml',
      { kind: 'git', url: 'https://github.com/floeit/floe.git', path: 'build/FLOE.yaml' },
    ],
    ['file:///srv/repo.git/floe.yml', { kind: 'git', url: 'file:///srv/repo.git', path: 'floe.yml' }],
    [
      'https://raw.githubusercontent.com/floeit/floe/redesign/config.yaml',
      { kind: 'fetch', url: 'https://raw.githubusercontent.com/floeit/floe/redesign/config.yaml' },
    ],
  ];
  for (const [ref, want] of cases) assert.deepEqual(classifyFlowFile(ref), want, ref);
});

test('an unknown log level is a clear error, not a stack trace', () => {
  assert.throws(
    () => createLogger({ level: 'loud', pretty: false }),
    /FLOE_LOG must be one of fatal, error, warn, info, debug, trace, silent; got "loud"/,
  );
});

const flowFileConfig = `flows:
  - id: from-file
    triggers: [{ name: start, type: data }]
    flow-file: build/flow.yml
  - id: inline
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: done, listen: trigger.good, type: end }
`;

const tasks = `tasks:
  - { name: hello, listen: trigger.good, type: exec, opts: { cmd: 'true' } }
  - { name: done, listen: task.hello.good, type: end }
`;

test('a flow-file alias bomb fails its run with the place, and the host goes on running flows', async (t) => {
  const h = await startRealHost(flowFileConfig);
  t.after(() => h.close());
  await mkdir(path.join(h.dir, 'build'));
  // Six levels took 8 s of the hub's thread to expand, and the run then went on (issue 7).
  await writeFile(path.join(h.dir, 'build/flow.yml'), aliasBomb(6) + tasks);
  const bomb = firstItem(await h.host.hub.trigger('from-file'));
  const end = await h.ended(bomb.run);
  assert.equal(end.status, 'bad');
  assert.match(
    end.reason ?? '',
    /^could not load flow-file build\/flow\.yml: .*flow\.yml:6:8: error: YAML: alias \*e expands past the limit of 10000 alias expansions/,
  );
  const next = firstItem(await h.host.hub.trigger('inline'));
  assert.equal((await h.ended(next.run)).status, 'good');
  await writeFile(path.join(h.dir, 'build/flow.yml'), tasks);
  const fixed = firstItem(await h.host.hub.trigger('from-file'));
  assert.equal((await h.ended(fixed.run)).status, 'good');
});

test('a flow-file over 1 MiB fails its run', async (t) => {
  const h = await startRealHost(flowFileConfig);
  t.after(() => h.close());
  await mkdir(path.join(h.dir, 'build'));
  const padding = `# ${'x'.repeat(MAX_FLOW_FILE - tasks.length - 3)}\n`;
  await writeFile(path.join(h.dir, 'build/flow.yml'), tasks + padding);
  const fits = firstItem(await h.host.hub.trigger('from-file'));
  assert.equal((await h.ended(fits.run)).status, 'good');
  await writeFile(path.join(h.dir, 'build/flow.yml'), `${tasks + padding}#\n`);
  const big = firstItem(await h.host.hub.trigger('from-file'));
  const end = await h.ended(big.run);
  assert.equal(end.status, 'bad');
  assert.match(end.reason ?? '', /flow\.yml is larger than 1 MiB, the limit for a flow-file$/);
});

/** A loader and a flow whose flow-file is `ref`. */
function loaderFor(ref: string, dir: string) {
  const { config, problems } = parseConfig(
    `flows:\n  - id: f\n    triggers: [{ name: start, type: data }]\n    flow-file: ${JSON.stringify(ref)}\n`,
    path.join(dir, 'floe.yml'),
    createNodeRegistry(),
  );
  assert.ok(config, JSON.stringify(problems));
  const loader = new LocalFlowFiles(createNodeRegistry(), dir);
  const flow = itemAt(config.flows, 0);
  return { load: () => loader.load(flow, {}, config) };
}

test('a flow-file that is a device, not a file, is refused rather than read forever', async (t) => {
  if (!existsSync('/dev/zero')) return t.skip('no /dev/zero here');
  await assert.rejects(loaderFor('/dev/zero', os.tmpdir()).load(), /\/dev\/zero is not a regular file/);
});

test('a git flow-file that is a symlink out of the repository is not read', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-flow-file-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const repo = path.join(dir, 'repo.git');
  await mkdir(repo);
  await writeFile(path.join(dir, 'secret.yml'), tasks);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo });
  git('init', '-q');
  await symlink(path.join(dir, 'secret.yml'), path.join(repo, 'floe.yml'));
  await writeFile(path.join(repo, 'inside.yml'), tasks);
  git('add', '.');
  git('commit', '-qm', 'links');
  await assert.rejects(loaderFor(`file://${repo}/floe.yml`, dir).load(), /repo\.git\/floe\.yml leads outside the repository/);
  const inside = await loaderFor(`file://${repo}/inside.yml`, dir).load();
  assert.deepEqual(
    inside.nodes.map((n) => n.id),
    ['hello', 'done'],
  );
});

test('an http flow-file is read no further than 1 MiB, with or without a content-length', async (t) => {
  const server = createServer((req, res) => {
    if (req.url === '/declared.yml') {
      res.writeHead(200, { 'content-length': String(MAX_FLOW_FILE + 1) });
      res.write('# a\n');
      return;
    }
    // An endless body: before the limit, the load waited 60 s for it to end.
    const chunk = `# ${'x'.repeat(64 * 1024)}\n`;
    const pump = (): void => {
      while (res.write(chunk));
      res.once('drain', pump);
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await assert.rejects(
    loaderFor(`${base}/endless.yml`, os.tmpdir()).load(),
    /endless\.yml is larger than 1 MiB, the limit for a flow-file/,
  );
  await assert.rejects(
    loaderFor(`${base}/declared.yml`, os.tmpdir()).load(),
    /declared\.yml is larger than 1 MiB, the limit for a flow-file/,
  );
});
