import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFlowGraph } from '../../src/config/graph.js';
import { check, flowWith, yaml } from './check.js';
import { fixture } from './fixtures.js';
import { firstItem } from '../items.js';

function flows(text: string) {
  const r = check(text);
  assert.deepEqual(r.errors, []);
  return r.config!.flows;
}

test('the graph of the original example names triggers, listeners per tag and unheard tags', () => {
  const text = fixture('floe-example.yml').replace('type: git-push', 'type: poll-git').replace('type: git-merge', 'type: git-checkout');
  const [build, danmux, poller] = flows(text);
  assert.ok(build && danmux && poller, 'three flows');
  assert.equal(
    describeFlowGraph(build),
    [
      'flow build-project v1 "Build Project"  host-tags [linux, go, couch]  resource-tags [couchbase, nic]',
      '  triggers: push (poll-git blah.blah refs/heads/* every 60s), start (data: ref, from-ref)',
      '  trigger.good          -> checkout (git-checkout)',
      '  task.checkout.good    -> echo (exec), build (exec)',
      '  task.echo.good        -> signed [all: task.echo.good task.test.good task.sign-off.good]',
      '  task.build.good       -> test (exec), sign-off (data)',
      '  task.test.good        -> signed [all: task.echo.good task.test.good task.sign-off.good]',
      '  task.sign-off.good    -> signed [all: task.echo.good task.test.good task.sign-off.good]',
      '  merge.signed.good     -> final-task (exec)',
      '  task.final-task.good  -> complete (end)',
      '  unheard, the run ends bad at once:    task.checkout.bad, task.echo.bad, task.build.bad, task.test.bad, task.sign-off.bad, task.final-task.bad',
    ].join('\n'),
  );
  assert.equal(
    describeFlowGraph(danmux),
    [
      'flow danmux v1 "Danmux"  flow-file floe.yml',
      '  triggers: start (data: ref), every-5-minutes (timer 300s)',
      '  tasks: from flow-file floe.yml when a run starts',
    ].join('\n'),
  );
  assert.equal(
    describeFlowGraph(poller),
    [
      'flow poller v1 "Poller"',
      '  triggers: commits (poll-git git@github.com:danmux/danmux-hugo.git refs/heads/* every 10s)',
      '  trigger.good  -> done (end)',
    ].join('\n'),
  );
});

test('the graph shows ignore-fail, use-status statuses, any merges and unheard good tags', () => {
  const flow = firstItem(
    flows(
      flowWith(
        yaml`
    - name: test
      listen: trigger.good
      type: exec
      use-status: true
      opts: {cmd: make}
    - name: lint
      listen: trigger.good
      type: exec
      ignore-fail: true
      opts: {cmd: lint}
    - name: flaky
      listen: task.test.2
      type: exec
      opts: {cmd: retry}
    - id: either
      class: merge
      type: any
      wait: [task.test.0, task.flaky.good]
  `,
        'reuse-space: true\nenv: [GOPATH=/go]',
      ),
    ),
  );
  assert.equal(
    describeFlowGraph(flow),
    [
      'flow build v1 "Build"  reuse-space  env [GOPATH]',
      '  triggers: start (data)',
      '  trigger.good     -> test (exec, use-status), lint (exec, ignore-fail)',
      '  task.test.0      -> either [any: task.test.0 task.flaky.good]',
      '  task.test.2      -> flaky (exec)',
      '  task.flaky.good  -> either [any: task.test.0 task.flaky.good]',
      '  unheard, the run ends good once idle: task.lint.good, merge.either.good',
      '  unheard, the run ends bad at once:    task.flaky.bad',
      '  unheard exit statuses:                task.test.<status other than 0, 2>',
    ].join('\n'),
  );
});

test('a value holding a newline or an escape sequence cannot split or colour a graph line', () => {
  const text = `flows:
  - name: Odd
    ver: 1
    flow-file: "a\\nflow zzz v9\\u001b[31m.yml"
    triggers:
      - { name: start, type: data }
`;
  const [odd] = flows(text);
  assert.ok(odd);
  const graph = describeFlowGraph(odd);
  assert.equal(graph.split('\n').length, 3, graph);
  assert.match(graph, /flow-file a\\nflow zzz v9\\u001b\[31m\.yml/);
});
