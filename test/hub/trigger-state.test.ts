import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextTimerFire } from '../../src/hub/trigger-state.js';
import type { GitRefState } from '../../src/hub/deps.js';
import { startHub } from './fakes.js';

const T0 = 1_700_000_000_000; // the manual clock's start, a multiple of 10 s

test('a timer fires next at the first multiple of its period after now', () => {
  const cases: Array<[period: number, now: number, next: number]> = [
    [10, T0, T0 + 10_000],
    [10, T0 + 3_000, T0 + 10_000],
    [10, T0 + 9_999, T0 + 10_000],
    [0.5, T0 + 250, T0 + 500],
    [3600, T0, 1_700_002_800_000],
  ];
  for (const [period, now, next] of cases) assert.equal(nextTimerFire(period, now), next, `period ${period} at ${now}`);
});

const TIMER = `
flows:
  - id: tick
    triggers:
      - { name: start, type: data }
      - { name: every, type: timer, opts: { period: 10 } }
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`;

test("a timer's state says when it fires next and on which host, and it fires then", async (t) => {
  const h = await startHub(TIMER, { clockStart: T0 + 3_000 });
  t.after(() => h.hub.stop(0));
  const flow = h.hub.findFlow('tick');
  assert.ok(flow);
  const before = await h.hub.triggerStates(flow);
  assert.deepEqual([...before], [['every', { nextFire: T0 + 10_000, owner: 'h1' }]], 'a data trigger has no state');
  await h.clock.advance(7_000);
  const fired = h.events.filter((e) => e.kind === 'trigger');
  assert.deepEqual(
    fired.map((e) => e.at),
    [T0 + 10_000],
  );
  assert.equal((await h.hub.triggerStates(flow)).get('every')?.nextFire, T0 + 20_000);
});

const POLL = `
flows:
  - id: p
    triggers: [{ name: commits, type: poll-git, opts: { url: 'file:///repo', period: 10 } }]
    tasks: [{ name: work, listen: trigger.good, type: sim }]
`;

/** A git poller whose answers the test hands out one at a time. */
function heldPoller() {
  const waiting: Array<(refs: GitRefState[]) => void> = [];
  return {
    poller: { listRefs: () => new Promise<GitRefState[]>((resolve) => waiting.push(resolve)) },
    answer(refs: GitRefState[]) {
      const next = waiting.shift();
      if (!next) throw new Error('no poll is waiting');
      next(refs);
    },
    get polling() {
      return waiting.length > 0;
    },
  };
}

test("a poll-git trigger's state: nothing seen before the first poll, then the refs and hashes seen and when", async (t) => {
  const git = heldPoller();
  const h = await startHub(POLL, { deps: { gitPoller: git.poller } });
  t.after(() => h.hub.stop(0));
  const flow = h.hub.findFlow('p');
  assert.ok(flow);
  await h.clock.advance(0);
  assert.ok(git.polling, 'the first poll is under way');
  assert.deepEqual((await h.hub.triggerStates(flow)).get('commits'), { owner: 'h1', lastSeen: {} });

  await h.clock.advance(1_000);
  git.answer([{ ref: 'refs/heads/main', hash: 'a1' }]);
  await h.clock.advance(0);
  assert.deepEqual((await h.hub.triggerStates(flow)).get('commits'), {
    owner: 'h1',
    lastSeen: { 'refs/heads/main': 'a1' },
    lastPolled: T0 + 1_000,
  });

  await h.clock.advance(10_000);
  git.answer([
    { ref: 'refs/heads/main', hash: 'a2' },
    { ref: 'refs/heads/dev', hash: 'b1' },
  ]);
  await h.clock.advance(0);
  assert.deepEqual((await h.hub.triggerStates(flow)).get('commits'), {
    owner: 'h1',
    lastSeen: { 'refs/heads/main': 'a2', 'refs/heads/dev': 'b1' },
    lastPolled: T0 + 11_000,
  });
});

test('a host that has not yet heard from every peer names no owner, and so fires nothing', async (t) => {
  const h = await startHub(TIMER, {
    edit: (c) => {
      c.common.hosts = ['http://h1.test', 'http://h2.test'];
    },
    deps: {
      cluster: { peers: { send: () => new Promise(() => {}) }, selfUrl: 'http://h1.test', version: 'test', boot: 'b' },
    },
  });
  t.after(() => h.hub.stop(0));
  const flow = h.hub.findFlow('tick');
  assert.ok(flow);
  assert.deepEqual((await h.hub.triggerStates(flow)).get('every'), { nextFire: T0 + 10_000 });
});
