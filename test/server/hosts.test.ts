import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterView } from '../../src/cluster/host-view.js';
import { startApiHost } from './harness.js';

const h = await startApiHost(`common:
  hosts: [http://10.0.0.2:8080, http://10.0.0.3:8080]
flows:
  - id: hello
    triggers: [{ name: start, type: data }]
    tasks: [{ name: done, listen: trigger.good, type: end }]
`);
after(() => h.close());

test('a host on its own lists itself with its run counts, then common.hosts offline', async () => {
  const r = await h.call('GET', '/hosts');
  assert.equal(r.status, 200, r.text);
  const { hosts, tags, unreachable } = r.body.payload as { hosts: Array<Record<string, unknown>>; tags: unknown[]; unreachable: unknown[] };
  const [self, ...peers] = hosts;
  assert.ok(self);
  assert.deepEqual(
    { id: self.id, url: self.url, self: self.self, tags: self.tags, online: self.online, runs: self.runs },
    { id: 'h1', url: h.url, self: true, tags: ['master'], online: true, runs: { pending: 0, active: 0 } },
  );
  assert.deepEqual(
    peers.map((p) => ({ url: p.url, self: p.self, online: p.online, tags: p.tags })),
    [
      { url: 'http://10.0.0.2:8080', self: false, online: false, tags: [] },
      { url: 'http://10.0.0.3:8080', self: false, online: false, tags: [] },
    ],
  );
  assert.deepEqual(tags, []);
  assert.deepEqual(unreachable, [], 'a host on its own asks no one');
});

test("the hub's cluster view is served with each host's name as id, run counts as runs and the ids as runIds, and the cluster's tags", async () => {
  const view: ClusterView = {
    hosts: [
      {
        name: 'h1',
        url: 'http://127.0.0.1:8080',
        self: true,
        tags: ['master'],
        online: true,
        version: '0.1.0',
        load: { active: 0, pending: 0, maxRuns: 4 },
        runs: { pending: [], active: [] },
        heldTags: [],
        known: [],
      },
      {
        name: 'h2',
        url: 'http://10.0.0.2:8080',
        self: false,
        tags: ['linux', 'gpu'],
        online: false,
        lastContact: 1_700_000_000_000,
        offlineSince: 1_700_000_003_000,
        version: '0.1.0',
        load: { active: 2, pending: 1, maxRuns: null },
        runs: { pending: ['h2-9'], active: ['h2-7', 'h2-8'] },
        heldTags: ['db'],
        known: [{ url: 'http://127.0.0.1:8080', name: 'h1', online: true, lastContact: 1_699_999_999_000 }],
      },
      {
        name: 'h1',
        url: 'http://10.0.0.3:8080',
        self: false,
        tags: [],
        online: false,
        refused: 'same name h1 as this host',
        heldTags: [],
        known: [],
      },
    ],
    tags: [{ tag: 'db', holder: 'h2-7', waiting: ['h1-4'], manual: [{ run: 'h3-1', by: 'ana', at: 1_700_000_001_000 }] }],
  };
  const clusterTags = {
    tags: [{ tag: 'db', holder: 'h2-7', waiting: ['h1-4'], manual: [{ run: 'h3-1', by: 'ana', at: 1_700_000_001_000 }], owner: 'h3' }],
    unreachable: [{ host: 'h4', reason: 'no answer within 2000 ms' }],
  };
  const hub = h.real.host.hub;
  const real = { view: hub.clusterView.bind(hub), tags: hub.clusterTags.bind(hub) };
  hub.clusterView = () => view;
  hub.clusterTags = () => Promise.resolve(clusterTags);
  try {
    const r = await h.call('GET', '/hosts');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.payload, {
      hosts: [
        {
          id: 'h1',
          url: 'http://127.0.0.1:8080',
          self: true,
          tags: ['master'],
          online: true,
          version: '0.1.0',
          load: { active: 0, pending: 0, maxRuns: 4 },
          runs: { pending: 0, active: 0 },
          runIds: { pending: [], active: [] },
          heldTags: [],
          known: [],
        },
        {
          id: 'h2',
          url: 'http://10.0.0.2:8080',
          self: false,
          tags: ['linux', 'gpu'],
          online: false,
          lastContact: 1_700_000_000_000,
          offlineSince: 1_700_000_003_000,
          version: '0.1.0',
          load: { active: 2, pending: 1, maxRuns: null },
          runs: { pending: 1, active: 2 },
          runIds: { pending: ['h2-9'], active: ['h2-7', 'h2-8'] },
          heldTags: ['db'],
          known: [{ url: 'http://127.0.0.1:8080', name: 'h1', online: true, lastContact: 1_699_999_999_000 }],
        },
        {
          id: 'h1',
          url: 'http://10.0.0.3:8080',
          self: false,
          tags: [],
          online: false,
          refused: 'same name h1 as this host',
          heldTags: [],
          known: [],
        },
      ],
      ...clusterTags,
    });
  } finally {
    hub.clusterView = real.view;
    hub.clusterTags = real.tags;
  }
});
