import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startHost, type ClusterOptions, type Host } from '../../src/host/host.js';
import { tempDir } from '../e2e/harness.js';

const TOKEN = 'cluster-token-for-host-tests';

/** A host on `hosts`, with its warnings and infos kept as JSON lines. */
async function hostOn(
  t: TestContext,
  hosts: string[],
  cluster: ClusterOptions,
  maxRuns?: number,
): Promise<{ host: Host; lines: string[] }> {
  const dir = await tempDir('floe-host-cluster-');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'floe.yml');
  await writeFile(
    file,
    `common:
  store-type: memory
  hosts: [${hosts.join(', ')}]
flows:
  - id: hello
    triggers: [{ name: start, type: data }]
    tasks: [{ name: done, listen: trigger.good, type: end }]
`,
  );
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const host = await startHost({ configFile: file, hostName: 'h1', tags: ['linux'], log: pino({ level: 'info' }, sink), maxRuns, cluster });
  t.after(() => host.stop());
  return { host, lines };
}

// Ports nothing listens on: the host's heartbeats to its peers fail fast, which is fine here.
const SELF = 'http://127.0.0.1:9';
const PEER = 'http://localhost:19';

test('a host listed in common.hosts joins the cluster as that entry, and hears of -max_runs', async (t) => {
  const { host, lines } = await hostOn(t, [PEER, SELF], { token: TOKEN, bind: { host: 'localhost', port: 9 }, tls: false }, 3);
  const self = host.hub.clusterView().hosts.find((h) => h.self);
  assert.equal(self?.url, SELF);
  assert.equal(self?.load?.maxRuns, 3);
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(self?.version, pkg.version, "floe's version, told to peers");
  assert.ok(
    host.hub.clusterView().hosts.some((h) => h.url === PEER && !h.self),
    'the peer is known',
  );
  assert.ok(lines.some((l) => l.includes(`this host is ${SELF} in a cluster of 2`)));
  assert.ok(!lines.some((l) => l.includes(TOKEN)), 'the token is never logged');
});

test('a host whose bind common.hosts does not list runs alone, and the log says why', async (t) => {
  const cases: Array<[ClusterOptions['bind'], boolean, RegExp]> = [
    [{ host: '127.0.0.1', port: 8085 }, false, /its bind http:\/\/127\.0\.0\.1:8085; an entry must have its scheme and port/],
    [{ host: '127.0.0.1', port: 9 }, true, /its bind https:\/\/127\.0\.0\.1:9;/],
    [{ host: '127.0.0.1', port: 0 }, false, /a port 0 bind gets its port only when it listens/],
  ];
  for (const [bind, tls, why] of cases) {
    const { host, lines } = await hostOn(t, [SELF, PEER], { token: TOKEN, bind, tls });
    const warning = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.level === 40);
    assert.ok(warning, `${JSON.stringify(bind)}: ${lines.join('\n')}`);
    assert.match(
      warning.msg,
      /^this host runs alone, without peers: no entry of common\.hosts \[http:\/\/127\.0\.0\.1:9, http:\/\/localhost:19\]/,
    );
    assert.match(warning.msg, why);
    const self = host.hub.clusterView().hosts.find((h) => h.self);
    assert.ok(self && self.url !== SELF && self.url !== PEER, `not a member: ${self?.url}`);
  }
});

test('without common.hosts a host runs alone and says nothing of it', async (t) => {
  const { host, lines } = await hostOn(t, [], { token: TOKEN, bind: { host: '127.0.0.1', port: 9 }, tls: false });
  assert.deepEqual(
    lines.map((l) => JSON.parse(l) as { level: number }).filter((l) => l.level >= 40),
    [],
  );
  assert.equal(host.hub.clusterView().hosts.length, 1);
});
