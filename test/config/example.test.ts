import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check } from './check.js';
import { fixture } from './fixtures.js';
import { itemAt } from '../items.js';

const example = fixture('floe-example.yml');

test('the original floe example loads and reports only what this version does not support', () => {
  const r = check(example, 'floe-example.yml');
  assert.equal(r.config, undefined);
  assert.deepEqual(r.errors, [
    'floe-example.yml:17:17: error: flows[0].triggers[0].type: trigger type "git-push" is not supported by this version; use type: poll-git (opts: url, refs, period) to start runs when the repository changes',
    'floe-example.yml:35:17: error: flows[0].tasks[0].type: task type "git-merge" is not supported by this version; use a git-checkout task, then an exec task listening to it that fetches and merges the other ref (e.g. opts: {shell: "git fetch --unshallow origin {{from-ref}} && git merge FETCH_HEAD", sub-dir: <the checkout dir>})',
  ]);
  assert.deepEqual(r.warnings, []);
});

test('with git-push and git-merge replaced, the original example is valid', () => {
  const r = check(example.replace('type: git-push', 'type: poll-git').replace('type: git-merge', 'type: git-checkout'));
  assert.deepEqual(r.problems, []);
  const flows = r.config!.flows;
  assert.deepEqual(
    flows.map((f) => `${f.id}/${f.ver}`),
    ['build-project/1', 'danmux/1', 'poller/1'],
  );
  const build = itemAt(flows, 0);
  assert.deepEqual(
    build.nodes.map((n) => n.id),
    ['checkout', 'echo', 'build', 'test', 'sign-off', 'signed', 'final-task', 'complete'],
  );
  assert.deepEqual(build.hostTags, ['linux', 'go', 'couch']);
  assert.deepEqual(build.resourceTags, ['couchbase', 'nic']);
  const signOff = itemAt(build.nodes, 4);
  assert.equal(signOff.class === 'task' && signOff.listen, 'task.build.good');
  const poller = itemAt(itemAt(flows, 2).triggers, 0);
  assert.deepEqual(poller.opts, {
    url: 'git@github.com:danmux/danmux-hugo.git',
    period: 10,
    refs: ['refs/heads/*'],
    'exclude-refs': ['refs/heads/master'],
  });
  assert.equal(flows[1]?.flowFile, 'floe.yml');
  assert.equal(flows[1]?.triggers[1]?.periodSec, 300);
});
