import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { check, flowWith, runTable, yaml } from './check.js';
import { loadConfig } from '../../src/config/validate.js';
import { fakeRegistry } from './fake-registry.js';
import { itemAt } from '../items.js';

const minimalTask = '- name: done\n  listen: trigger.good\n  type: end';

runTable([
  { rule: 'the config must be a map', text: '- a\n- b\n', error: /^floe\.yml:1:1: error: the config must be a map/ },
  {
    rule: 'an unknown top-level key is a warning with a suggestion',
    text: `flow: []\n`,
    warning: /^floe\.yml:1:1: warning: flow: unknown key "flow" in the config, ignored; did you mean "flows"\?/,
  },
  { rule: 'common must be a map', text: 'common: [a]\n', error: /1:9: error: common: common must be a map/ },
  {
    rule: 'store-type ec2 is not supported',
    text: 'common:\n  store-type: ec2\n',
    error: /2:15: error: common\.store-type: store-type ec2 is not supported by this version; use local/,
  },
  {
    rule: 'store-type must be memory or local',
    text: 'common:\n  store-type: lokal\n',
    error: /common\.store-type: store-type must be one of memory, local, got "lokal"; did you mean "local"\?/,
  },
  {
    rule: 'hosts must be a list',
    text: 'common:\n  hosts: http://a:8080\n',
    error: /common\.hosts: hosts must be a list of strings, got string "http:\/\/a:8080"; write \[http:\/\/a:8080\]/,
  },
  {
    rule: 'hosts entries must be http URLs',
    text: 'common:\n  hosts:\n    - http://a:8080\n    - 10.0.0.2:8080\n',
    error: /4:7: error: common\.hosts\[1\]: hosts entry "10\.0\.0\.2:8080" must be a URL/,
  },
  {
    rule: 'base-url must start with a slash',
    text: 'common:\n  base-url: build/api\n',
    error: /common\.base-url: base-url must start with "\/", e\.g\. "\/build\/api"/,
  },
  {
    rule: 'an unknown common key is a warning',
    text: 'common:\n  git-keys: a\n',
    warning: /2:3: warning: common\.git-keys: unknown key "git-keys" in common, ignored; did you mean "git-key"\?/,
  },
  {
    rule: 'a config without flows is a warning',
    text: 'common:\n  store-type: memory\n',
    warning: /flows: no flows: this host has nothing to run/,
  },
  { rule: 'flows must be a list', text: 'flows:\n  id: a\n', error: /2:3: error: flows: flows must be a list/ },
  { rule: 'a flow must be a map', text: 'flows:\n  - build\n', error: /2:5: error: flows\[0\]: a flow must be a map/ },
]);

test('common gets its defaults', () => {
  const r = check(flowWith(minimalTask));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.config?.common, {
    hosts: [],
    baseUrl: '/build/api',
    storeType: 'local',
    users: [],
    sessionTtlSec: 43200,
    trustedProxies: [],
  });
});

test('common fields are read as written', () => {
  const r = check(yaml`
    common:
      hosts: [http://10.0.0.2:8080, https://h3]
      base-url: /ci/api
      config-path: git@github.com:floeit/floe.git/build/FLOE.yaml
      store-type: memory
      store-root: /var/floe/store
      workspace-root: /var/floe/ws
      git-key: /home/ci/.ssh/id_rsa
      session-ttl: 600
      trusted-proxies: [10.0.0.7, 10.1.0.0/16, 'fd00::/8', '::1']
  `);
  assert.deepEqual(
    r.problems.filter((p) => p.severity === 'error'),
    [],
  );
  assert.deepEqual(r.config?.common, {
    hosts: ['http://10.0.0.2:8080', 'https://h3'],
    baseUrl: '/ci/api',
    configPath: 'git@github.com:floeit/floe.git/build/FLOE.yaml',
    storeType: 'memory',
    storeRoot: '/var/floe/store',
    workspaceRoot: '/var/floe/ws',
    gitKey: '/home/ci/.ssh/id_rsa',
    users: [],
    sessionTtlSec: 600,
    trustedProxies: ['10.0.0.7', '10.1.0.0/16', 'fd00::/8', '::1'],
  });
});

test('a trusted-proxies entry that is not an address or a CIDR range is an error at its line and column', () => {
  const r = check(yaml`
    common:
      trusted-proxies:
        - 10.0.0.1
        - proxy.local
        - 10.0.0.0/33
        - 'fd00::/129'
        - 10.0.0.0/8/1
        - 10.0.0.0/x
  `);
  assert.deepEqual(r.errors, [
    'floe.yml:4:7: error: common.trusted-proxies[1]: trusted-proxies entry "proxy.local" must be an IP address or a CIDR range, like 10.0.0.1, 10.0.0.0/8 or fd00::/8',
    'floe.yml:5:7: error: common.trusted-proxies[2]: trusted-proxies entry "10.0.0.0/33" must have a prefix length from 0 to 32 after "/"',
    'floe.yml:6:7: error: common.trusted-proxies[3]: trusted-proxies entry "fd00::/129" must have a prefix length from 0 to 128 after "/"',
    'floe.yml:7:7: error: common.trusted-proxies[4]: trusted-proxies entry "10.0.0.0/8/1" must be an IP address or a CIDR range, like 10.0.0.1, 10.0.0.0/8 or fd00::/8',
    'floe.yml:8:7: error: common.trusted-proxies[5]: trusted-proxies entry "10.0.0.0/x" must have a prefix length from 0 to 32 after "/"',
  ]);
});

test('a trusted-proxies range that trusts everyone, or more than it says, is warned of at its line and column', () => {
  const r = check(yaml`
    common:
      trusted-proxies: [10.0.0.0/24, 0.0.0.0/0, 10.0.0.7/8, 'fe80::1%eth0']
  `);
  assert.deepEqual(
    r.warnings.filter((w) => w.includes('trusted-proxies')),
    [
      'floe.yml:2:34: warning: common.trusted-proxies[1]: trusted-proxies entry "0.0.0.0/0" trusts every client to name the address it is counted as: list only your proxies',
      'floe.yml:2:45: warning: common.trusted-proxies[2]: trusted-proxies entry "10.0.0.7/8" has bits set past its prefix, so it trusts all of 10.0.0.0/8: list the proxy alone, or write the range as that',
    ],
  );
  assert.deepEqual(r.errors, [
    'floe.yml:2:57: error: common.trusted-proxies[3]: trusted-proxies entry "fe80::1%eth0" must not have a zone id (the part from "%")',
  ]);
});

test('every problem is collected, not just the first', () => {
  const r = check(yaml`
    common:
      store-type: ec2
      hosts: nope
    flows:
      - ver: abc
  `);
  assert.deepEqual(r.errors, [
    'floe.yml:2:15: error: common.store-type: store-type ec2 is not supported by this version; use local (on disk) or memory',
    'floe.yml:3:10: error: common.hosts: hosts must be a list of strings, got string "nope"; write [nope]',
    'floe.yml:5:5: error: flows[0].id: a flow needs an id or a name',
    'floe.yml:5:5: error: flows[0].tasks: a flow needs tasks, or a flow-file that supplies them when a run starts',
    'floe.yml:5:10: error: flows[0].ver: ver must be an integer, got string "abc"',
  ]);
});

test('problems come back in file order', () => {
  const r = check(yaml`
    flows:
      - id: b
        ver: x
    common:
      store-type: ec2
  `);
  const lines = r.problems.map((p) => p.at.line);
  assert.deepEqual(
    lines,
    [...lines].sort((a, b) => a - b),
  );
});

test('a YAML syntax error stops validation with its place', () => {
  const r = check('flows:\n  - id: a\n   ver: 1\n');
  assert.equal(r.config, undefined);
  assert.match(itemAt(r.errors, 0), /^floe\.yml:3:\d+: error: YAML: /);
});

test('an empty file is a config with no flows', () => {
  const r = check('');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.config?.flows, []);
});

test('loadConfig reports a missing file as a problem and resolves Config.file', async () => {
  const missing = await loadConfig('/nonexistent/floe.yml', fakeRegistry);
  assert.equal(missing.config, undefined);
  assert.match(itemAt(missing.problems, 0).message, /^cannot read config: /);
  const file = fileURLToPath(new URL('../../../test/config/fixtures/valid-minimal.yml', import.meta.url));
  const ok = await loadConfig(file, fakeRegistry);
  assert.deepEqual(
    ok.problems.filter((p) => p.severity === 'error'),
    [],
  );
  assert.equal(ok.config?.file, file);
});

test('malformed input of any shape gives problems, never a throw', () => {
  const nasty = [
    'flows: [null]',
    'flows: [[1]]',
    'flows: [{tasks: [null, 1, [], {class: null}, {class: merge, wait: [null, 1]}]}]',
    'flows: [{id: a, triggers: [null, {type: data, opts: {form: {fields: [null, 1, {id: 1}]}}}]}]',
    'flows: [{id: a, triggers: [{type: poll-git, opts: {refs: {a: 1}, exclude-refs: [[]]}}]}]',
    'flows: [{id: a, tasks: [{id: t, listen: {a: 1}, type: [exec], good: {}, opts: [1]}]}]',
    'flows: [{__proto__: {id: x}, id: a, tasks: [{name: t, listen: trigger.good, type: exec, opts: {__proto__: 1}}]}]',
    'flows: [{id: 1, name: 2, ver: "1"}]',
    '1: 2\n',
    '"just a string"',
    '[1, 2]',
    'common: null\nflows: null\n',
    'a: &a [*a]\n',
    'x: !!binary aGVsbG8=\n',
    'flows:\n  - &f {id: a, flow-file: f}\n  - *f\n',
  ];
  for (const text of nasty) {
    const r = check(text);
    assert.ok(r.problems.length > 0 || r.config, text);
  }
});
