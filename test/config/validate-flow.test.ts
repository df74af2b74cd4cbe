import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, flowWith, flowWithTriggers, runTable, yaml } from './check.js';
import { itemAt } from '../items.js';

const end = '- name: done\n  listen: trigger.good\n  type: end';

runTable([
  {
    rule: 'a flow needs an id or a name',
    text: 'flows:\n  - ver: 1\n    tasks: []\n',
    error: /2:5: error: flows\[0\]\.id: a flow needs an id or a name/,
  },
  {
    rule: 'an explicit flow id must be url friendly',
    text: flowWith(end).replace('id: build', 'id: Build It'),
    error: /2:9: error: flows\[0\]\.id: a flow id "Build It" must hold only letters, digits, '-' and '_'; try "build-it"/,
  },
  {
    rule: 'ver must be an integer',
    text: flowWith(end, 'ver: abc'),
    error: /^floe\.yml:6:10: error: flows\[0\]\.ver: ver must be an integer, got string "abc"$/,
    alone: true,
  },
  {
    rule: 'ver must not be a fraction',
    text: flowWith(end, 'ver: 1.5'),
    error: /flows\[0\]\.ver: ver must be an integer, got number 1\.5/,
  },
  { rule: 'ver must be 1 or more', text: flowWith(end, 'ver: 0'), error: /flows\[0\]\.ver: ver must be 1 or more, got 0/ },
  {
    rule: 'reuse-space must be a boolean',
    text: flowWith(end, 'reuse-space: yes'),
    error: /flows\[0\]\.reuse-space: reuse-space must be true or false, got string "yes"/,
  },
  {
    rule: 'host-tags must be a list',
    text: flowWith(end, 'host-tags: linux'),
    error: /6:16: error: flows\[0\]\.host-tags: host-tags must be a list of strings, got string "linux"; write \[linux\]/,
  },
  {
    rule: 'resource-tags entries must be strings',
    text: flowWith(end, 'resource-tags: [db, 3]'),
    error: /6:25: error: flows\[0\]\.resource-tags\[1\]: resource-tags entries must be strings, got number 3/,
  },
  {
    rule: 'env entries need KEY=value',
    text: flowWith(end, 'env: [GOPATH]'),
    error: /flows\[0\]\.env\[0\]: env entry "GOPATH" must have the form KEY=value/,
  },
  {
    rule: 'env keys must be identifiers',
    text: flowWith(end, 'env: ["1X=a"]'),
    error: /flows\[0\]\.env\[0\]: env key "1X" must be letters, digits and _/,
  },
  {
    rule: 'env values must be templates that render',
    text: flowWith(end, 'env: ["A={{#x}}open"]'),
    error: /flows\[0\]\.env\[0\]: env value of A is not a valid template: Unclosed section "x"/,
  },
  {
    rule: 'the legacy subs key was renamed to triggers',
    text: flowWith(end, 'subs: []'),
    error: /6:5: error: flows\[0\]\.subs: subs was renamed to triggers; rename the key/,
    alone: true,
  },
  {
    rule: 'an unknown flow key is a warning with a suggestion',
    text: flowWith(end, 'reuse-spac: true'),
    warning: /6:5: warning: flows\[0\]\.reuse-spac: unknown key "reuse-spac" in a flow, ignored; did you mean "reuse-space"\?/,
  },
  {
    rule: 'tasks must be a list',
    text: 'flows:\n  - id: a\n    tasks:\n      name: x\n',
    error: /4:7: error: flows\[0\]\.tasks: tasks must be a list \(lines starting "- "\), got a map/,
    alone: true,
  },
  {
    rule: 'a flow without tasks needs a flow-file',
    text: 'flows:\n  - id: a\n    triggers: []\n',
    error: /2:5: error: flows\[0\]\.tasks: a flow needs tasks, or a flow-file that supplies them/,
  },
  {
    rule: 'an empty tasks list needs a flow-file too',
    text: 'flows:\n  - id: a\n    tasks: []\n',
    error: /flows\[0\]\.tasks: a flow needs tasks/,
  },
  {
    rule: 'a flow with no triggers is a warning',
    text: `flows:\n  - id: a\n    tasks:\n      - {name: done, listen: trigger.good, type: end}\n`,
    warning: /2:5: warning: flows\[0\]\.triggers: no triggers: nothing can start this flow/,
  },
  {
    rule: 'a flow with no end task is a warning',
    text: flowWith('- name: a\n  listen: trigger.good\n  type: exec\n  opts: {cmd: ls}'),
    warning: /6:5: warning: flows\[0\]\.tasks: no end task: a run ends once nothing is left to run/,
  },
  {
    rule: 'flow id and ver together must be unique; the error names the first',
    text: yaml`
      flows:
        - id: build
          flow-file: a.yml
        - id: other
          flow-file: b.yml
        - name: Build
          flow-file: c.yml
    `,
    error:
      /^floe\.yml:6:11: error: flows\[2\]\.id: flow build v1 is also defined at floe\.yml:2:9 \(flows\[0\]\); id and ver together must be unique$/,
  },
]);

test('a flow id is made from its name, and its name from its id', () => {
  const r = check(yaml`
    flows:
      - name: Build Project
        flow-file: floe.yml
      - id: danmux
        flow-file: floe.yml
  `);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.config?.flows.map((f) => [f.id, f.name, f.ver]),
    [
      ['build-project', 'Build Project', 1],
      ['danmux', 'Danmux', 1],
    ],
  );
});

test('the same flow id with another ver is a different flow', () => {
  const r = check('flows:\n  - {id: a, ver: 1, flow-file: f}\n  - {id: a, ver: 2, flow-file: f}\n');
  assert.deepEqual(r.errors, []);
});

test('a flow-file flow may leave out tasks; its tags are not checked and no end task is asked for', () => {
  const r = check(yaml`
    flows:
      - id: danmux
        env: ["GOPATH={{ws}}", "A=b=c"]
        triggers:
          - {name: start, type: data}
        flow-file: floe.yml
  `);
  assert.deepEqual(r.problems, []);
  const f = itemAt(r.config!.flows, 0);
  assert.equal(f.flowFile, 'floe.yml');
  assert.deepEqual(f.nodes, []);
  assert.deepEqual(f.env, ['GOPATH={{ws}}', 'A=b=c']);
});

test('flow fields are read with their defaults', () => {
  const r = check(flowWith(end, 'host-tags: [linux, go]\nresource-tags: [db]\nreuse-space: true\nver: 3'));
  assert.deepEqual(r.problems, []);
  const { triggers, nodes, at, ...flow } = itemAt(r.config!.flows, 0);
  assert.deepEqual(flow, {
    id: 'build',
    ver: 3,
    name: 'Build',
    reuseSpace: true,
    hostTags: ['linux', 'go'],
    resourceTags: ['db'],
    env: [],
  });
  assert.deepEqual(at, { file: 'floe.yml', line: 2, col: 5, path: 'flows[0]' });
  assert.equal(triggers.length, 1);
  assert.equal(nodes.length, 1);
});

runTable([
  {
    rule: 'a trigger type must be known',
    text: flowWithTriggers('- name: tick\n  type: timr\n  opts: {period: 5}'),
    error:
      /5:15: error: flows\[0\]\.triggers\[0\]\.type: unknown trigger type "timr" \(known: data, timer, poll-git\); did you mean "timer"\?/,
    alone: true,
  },
  {
    rule: 'git-push triggers are not supported: use poll-git',
    text: flowWithTriggers('- name: push\n  type: git-push\n  opts: {url: blah.blah}'),
    error: /flows\[0\]\.triggers\[0\]\.type: trigger type "git-push" is not supported by this version; use type: poll-git/,
    alone: true,
  },
  {
    rule: 'a trigger needs a type',
    text: flowWithTriggers('- name: push'),
    error: /4:9: error: flows\[0\]\.triggers\[0\]\.type: a trigger needs a type \(data, timer, poll-git\)/,
  },
  {
    rule: 'a trigger needs an id or a name',
    text: flowWithTriggers('- type: data'),
    error: /flows\[0\]\.triggers\[0\]\.id: a trigger needs an id or a name/,
  },
  {
    rule: 'a timer trigger needs a period',
    text: flowWithTriggers('- name: tick\n  type: timer'),
    error: /4:9: error: flows\[0\]\.triggers\[0\]\.opts\.period: a timer trigger needs opts\.period/,
    alone: true,
  },
  {
    rule: 'a timer period must be positive',
    text: flowWithTriggers('- name: tick\n  type: timer\n  opts:\n    period: -5'),
    error: /7:19: error: flows\[0\]\.triggers\[0\]\.opts\.period: period must be a positive number of seconds, got number -5/,
  },
  {
    rule: 'a timer period is a number of seconds',
    text: flowWithTriggers('- name: tick\n  type: timer\n  opts:\n    period: 5m'),
    error: /period must be a positive number of seconds, got string "5m"/,
  },
  {
    rule: 'a poll-git trigger needs a url',
    text: flowWithTriggers('- name: poll\n  type: poll-git\n  opts: {period: 10}'),
    error: /flows\[0\]\.triggers\[0\]\.opts\.url: a poll-git trigger needs opts\.url/,
  },
  {
    rule: 'poll-git refs must be strings',
    text: flowWithTriggers('- name: poll\n  type: poll-git\n  opts: {url: u, refs: [1]}'),
    error: /flows\[0\]\.triggers\[0\]\.opts\.refs\[0\]: refs entries must be strings/,
  },
  {
    rule: 'a poll-git ref that is not under refs/ is a warning',
    text: flowWithTriggers('- name: poll\n  type: poll-git\n  opts: {url: u, refs: main}'),
    warning:
      /flows\[0\]\.triggers\[0\]\.opts\.refs: "main" does not start with refs\/ and will match no ref; did you mean "refs\/heads\/main"\?/,
  },
  {
    rule: 'an unknown trigger opt is a warning',
    text: flowWithTriggers('- name: tick\n  type: timer\n  opts:\n    period: 5\n    perod: 6'),
    warning:
      /8:11: warning: flows\[0\]\.triggers\[0\]\.opts\.perod: unknown key "perod" in timer trigger opts, ignored; did you mean "period"\?/,
  },
  {
    rule: 'trigger opts must be a map',
    text: flowWithTriggers('- name: tick\n  type: timer\n  opts: 5'),
    error: /flows\[0\]\.triggers\[0\]\.opts: opts must be a map/,
    alone: true,
  },
  {
    rule: 'a data trigger form field type must be known, placed at the field',
    text: flowWithTriggers(
      '- name: start\n  type: data\n  opts:\n    form:\n      title: Start\n      fields:\n        - id: ref\n          prompt: Ref\n          type: txt',
    ),
    error:
      /^floe\.yml:12:23: error: flows\[0\]\.triggers\[0\]\.opts\.form\.fields\[0\]\.type: unknown field type "txt" \(known: text, string, bool, int, number\); did you mean "text"\?$/,
    alone: true,
  },
  {
    rule: 'a trigger id may not repeat a task id; the error names both places',
    text: flowWithTriggers('- name: done\n  type: data'),
    error:
      /^floe\.yml:7:15: error: flows\[0\]\.tasks\[0\]\.id: id "done" is already used by flows\[0\]\.triggers\[0\] at floe\.yml:4:15; ids must be unique within a flow/,
  },
]);

test('triggers are read into typed configs with their defaults', () => {
  const r = check(
    flowWithTriggers(yaml`
    - name: start
      type: data
      opts:
        form:
          title: Start
          fields:
            - {id: ref, prompt: Ref, type: text, value: master}
    - name: Every 5 Minutes
      type: timer
      opts: {period: 300}
    - id: commits
      type: poll-git
      opts: {url: git@github.com:floeit/floe.git, exclude-refs: refs/heads/master}
  `),
  );
  assert.deepEqual(r.problems, []);
  const [data, timer, poll] = itemAt(r.config!.flows, 0).triggers;
  assert.ok(data && timer && poll, 'three triggers');
  assert.deepEqual(data.form, { title: 'Start', fields: [{ id: 'ref', prompt: 'Ref', type: 'text', value: 'master' }] });
  assert.equal(data.type, 'data');
  assert.deepEqual([timer.id, timer.name, timer.type, timer.periodSec], ['every-5-minutes', 'Every 5 Minutes', 'timer', 300]);
  assert.deepEqual(poll.opts, {
    url: 'git@github.com:floeit/floe.git',
    period: 60,
    refs: ['refs/heads/*'],
    'exclude-refs': ['refs/heads/master'],
  });
  assert.deepEqual([poll.name, poll.periodSec], ['Commits', 60]);
  assert.deepEqual(timer.at, { file: 'floe.yml', line: 11, col: 9, path: 'flows[0].triggers[1]' });
});

test('a data trigger may have no form', () => {
  const r = check(flowWithTriggers('- name: start\n  type: data'));
  assert.deepEqual(r.problems, []);
  assert.equal(r.config!.flows[0]?.triggers[0]?.form, undefined);
});
