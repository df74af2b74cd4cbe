import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, flowWith, runTable, yaml } from './check.js';
import { itemAt } from '../items.js';

/** Tasks that make a flow valid around the task under test. */
const done = '- name: done\n  listen: trigger.good\n  type: end';

runTable([
  {
    rule: 'a task needs listen',
    text: flowWith('- name: a\n  type: end'),
    error:
      /^floe\.yml:7:9: error: flows\[0\]\.tasks\[0\]\.listen: a task needs listen: the event tag that starts it, e\.g\. listen: trigger\.good$/,
    alone: true,
  },
  {
    rule: 'an empty listen is missing, placed at its key',
    text: flowWith('- name: a\n  listen:\n  type: end'),
    error: /^floe\.yml:8:9: error: flows\[0\]\.tasks\[0\]\.listen: a task needs listen/,
    alone: true,
  },
  {
    rule: 'a task listens to one tag, not a list',
    text: flowWith('- name: a\n  listen: [trigger.good]\n  type: end'),
    error: /flows\[0\]\.tasks\[0\]\.listen: listen must be one tag \(a string\); to wait for several tags use a merge/,
    alone: true,
  },
  {
    rule: 'a task with wait but no listen is told about class: merge',
    text: flowWith('- name: a\n  wait: [trigger.good]\n  type: all'),
    error: /flows\[0\]\.tasks\[0\]\.listen: a task needs listen: the event tag that starts it; to wait for tags, set class: merge/,
  },
  {
    rule: 'a task needs a type',
    text: flowWith('- name: a\n  listen: trigger.good'),
    error: /7:9: error: flows\[0\]\.tasks\[0\]\.type: a task needs a type \(known: exec, fetch, git-checkout, data, timer, end\)/,
    alone: true,
  },
  {
    rule: 'an unknown task type lists the known ones and suggests the closest',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: exe`),
    error:
      /^floe\.yml:12:15: error: flows\[0\]\.tasks\[1\]\.type: unknown task type "exe" \(known: exec, fetch, git-checkout, data, timer, end\); did you mean "exec"\?$/,
    alone: true,
  },
  {
    rule: 'git-merge is not supported: use git-checkout then exec git merge',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: git-merge\n  opts: {url: u}`),
    error:
      /flows\[0\]\.tasks\[1\]\.type: task type "git-merge" is not supported by this version; use a git-checkout task, then an exec task .*git fetch --unshallow origin \{\{from-ref\}\} && git merge FETCH_HEAD/,
    alone: true,
  },
  {
    rule: 'a task typed all or any is told about class: merge',
    text: flowWith(`${done}\n- name: a\n  wait: [trigger.good]\n  listen: trigger.good\n  type: all`),
    error: /task type "all" is a merge type; add class: merge/,
  },
  {
    rule: 'good must be integers',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: end\n  good: "0"`),
    error: /13:15: error: flows\[0\]\.tasks\[1\]\.good: good must be a list of integers like \[0, 1\], got string "0"/,
  },
  {
    rule: 'good entries must be integers',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: end\n  good: [0, x]`),
    error: /13:19: error: flows\[0\]\.tasks\[1\]\.good\[1\]: good entries must be integers, got string "x"/,
  },
  {
    rule: 'ignore-fail must be a boolean',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: end\n  ignore-fail: no`),
    error: /flows\[0\]\.tasks\[1\]\.ignore-fail: ignore-fail must be true or false, got string "no"/,
  },
  {
    rule: 'ignore-fail and use-status cannot both be true',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: end\n  ignore-fail: true\n  use-status: true`),
    error: /14:21: error: flows\[0\]\.tasks\[1\]\.use-status: ignore-fail and use-status cannot both be true/,
    alone: true,
  },
  {
    rule: 'an unknown task key is a warning with a suggestion',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: end\n  ignore-fails: true`),
    warning:
      /13:9: warning: flows\[0\]\.tasks\[1\]\.ignore-fails: unknown key "ignore-fails" in a task, ignored; did you mean "ignore-fail"\?/,
  },
  {
    rule: 'wait on a task is ignored, with a warning',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: end\n  wait: [trigger.good]`),
    warning: /flows\[0\]\.tasks\[1\]\.wait: wait is for merges \(class: merge\); a task only listens/,
  },
  {
    rule: 'opts must be a map',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: exec\n  opts: ls`),
    error: /13:15: error: flows\[0\]\.tasks\[1\]\.opts: opts must be a map \(key: value lines\), got string "ls"/,
    alone: true,
  },
  {
    rule: 'an opts problem found by the node type is placed at the opts key',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: exec\n  opts:\n    args: [x]`),
    error: /^floe\.yml:13:9: error: flows\[0\]\.tasks\[1\]\.opts: exec needs cmd or shell$/,
    alone: true,
  },
  {
    rule: 'an opts field problem is placed at the field',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: exec\n  opts:\n    cmd: 3`),
    error: /^floe\.yml:14:16: error: flows\[0\]\.tasks\[1\]\.opts\.cmd: cmd must be a string$/,
    alone: true,
  },
  {
    rule: 'missing opts are checked too, placed at the task',
    text: flowWith(`${done}\n- name: a\n  listen: trigger.good\n  type: exec`),
    error: /^floe\.yml:10:9: error: flows\[0\]\.tasks\[1\]\.opts: exec needs cmd or shell$/,
    alone: true,
  },
  {
    rule: 'a data task form problem is placed inside the form',
    text: flowWith(
      `${done}\n- name: ask\n  listen: trigger.good\n  type: data\n  opts:\n    form:\n      fields:\n        - id: ok\n          type: bool`,
    ),
    error:
      /^floe\.yml:16:17: error: flows\[0\]\.tasks\[1\]\.opts\.form\.fields\[0\]\.prompt: a form field needs a prompt \(string\), got nothing$/,
    alone: true,
  },
  {
    rule: 'the class must be task or merge',
    text: flowWith(`${done}\n- name: a\n  class: merj\n  wait: [trigger.good]`),
    error: /flows\[0\]\.tasks\[1\]\.class: class must be one of task, merge, got "merj"; did you mean "merge"\?/,
    alone: true,
  },
  {
    rule: 'task ids are unique; the error names both places',
    text: flowWith(`${done}\n- id: done\n  listen: trigger.good\n  type: end`),
    error:
      /^floe\.yml:10:13: error: flows\[0\]\.tasks\[1\]\.id: id "done" is already used by flows\[0\]\.tasks\[0\] at floe\.yml:7:15; ids must be unique/,
    alone: true,
  },
  {
    rule: 'an id made from a name collides with a written id',
    text: flowWith(`${done}\n- name: Done\n  listen: trigger.good\n  type: end`),
    error: /flows\[0\]\.tasks\[1\]\.id: id "done" is already used by flows\[0\]\.tasks\[0\]/,
  },
  {
    rule: 'a task must be a map',
    text: flowWith(`${done}\n- exec ls`),
    error: /10:9: error: flows\[0\]\.tasks\[1\]: a task must be a map/,
  },

  {
    rule: 'a merge needs wait',
    text: flowWith(`${done}\n- name: m\n  class: merge`),
    error: /^floe\.yml:10:9: error: flows\[0\]\.tasks\[1\]\.wait: merge without wait: a merge needs wait, a non-empty list of tags/,
    alone: true,
  },
  {
    rule: 'a merge with an empty wait is a merge without wait',
    text: flowWith(`${done}\n- name: m\n  class: merge\n  wait: []`),
    error: /12:9: error: flows\[0\]\.tasks\[1\]\.wait: merge without wait/,
    alone: true,
  },
  {
    rule: 'merge wait must be a list',
    text: flowWith(`${done}\n- name: m\n  class: merge\n  wait: trigger.good`),
    error: /flows\[0\]\.tasks\[1\]\.wait: wait must be a list of strings, got string "trigger\.good"/,
    alone: true,
  },
  {
    rule: 'a merge type is all or any',
    text: flowWith(`${done}\n- name: m\n  class: merge\n  type: some\n  wait: [trigger.good]`),
    error: /12:15: error: flows\[0\]\.tasks\[1\]\.type: type must be one of all, any, got "some"/,
    alone: true,
  },
  {
    rule: 'a merge does not listen',
    text: flowWith(`${done}\n- name: m\n  class: merge\n  listen: trigger.good\n  wait: [trigger.good]`),
    error:
      /12:9: error: flows\[0\]\.tasks\[1\]\.listen: a merge does not listen; it waits for the tags in wait \(e\.g\. wait: \[trigger\.good\]\)/,
    alone: true,
  },
  {
    rule: 'task fields on a merge are ignored, with a warning',
    text: flowWith(`${done}\n- name: m\n  class: merge\n  good: [0]\n  wait: [trigger.good]`),
    warning: /12:9: warning: flows\[0\]\.tasks\[1\]\.good: good is for tasks; a merge ignores it/,
  },
  {
    rule: 'the merges list holds only merges',
    text: flowWith(done, 'merges:\n  - name: m\n    class: task\n    wait: [trigger.good]'),
    error: /8:16: error: flows\[0\]\.merges\[0\]\.class: merges holds only merges; move this task to tasks/,
    alone: true,
  },
  {
    rule: 'merges listed apart are checked like merges',
    text: flowWith(done, 'merges:\n  - name: m'),
    error: /7:9: error: flows\[0\]\.merges\[0\]\.wait: merge without wait/,
  },
]);

test('tasks and merges are read into typed configs with their defaults', () => {
  const r = check(
    flowWith(yaml`
    - name: Build
      listen: trigger.good
      type: exec
      opts: {cmd: make, args: [all]}
    - id: test
      listen: task.build.good
      type: exec
      good: 1
      ignore-fail: true
      opts: {shell: make test}
    - name: Wait For Tests
      class: merge
      wait: [task.build.good, task.test.good]
    - name: done
      listen: merge.wait-for-tests.good
      type: end
  `),
  );
  assert.deepEqual(r.problems, []);
  const [build, testTask, merge, done] = itemAt(r.config!.flows, 0).nodes;
  assert.ok(build && testTask && merge && done, 'four nodes');
  assert.deepEqual(build, {
    id: 'build',
    name: 'Build',
    class: 'task',
    listen: 'trigger.good',
    type: 'exec',
    good: [0],
    ignoreFail: false,
    useStatus: false,
    opts: { cmd: 'make', args: ['all'] },
    at: { file: 'floe.yml', line: 7, col: 9, path: 'flows[0].tasks[0]' },
  });
  assert.deepEqual([testTask.id, testTask.name], ['test', 'Test']);
  assert.ok(testTask.class === 'task' && testTask.ignoreFail && testTask.good[0] === 1 && testTask.good.length === 1);
  assert.deepEqual(merge, {
    id: 'wait-for-tests',
    name: 'Wait For Tests',
    class: 'merge',
    wait: ['task.build.good', 'task.test.good'],
    type: 'all',
    at: { file: 'floe.yml', line: 17, col: 9, path: 'flows[0].tasks[2]' },
  });
  assert.equal(done.class === 'task' && done.type, 'end');
});

test('merges may be listed apart, without class; they come after the tasks', () => {
  const r = check(
    flowWith(
      yaml`
    - name: a
      listen: trigger.good
      type: exec
      opts: {cmd: a}
    - name: b
      listen: trigger.good
      type: exec
      opts: {cmd: b}
    - name: done
      listen: merge.either.good
      type: end
  `,
      'merges:\n  - id: either\n    type: any\n    wait: [task.a.good, task.b.good]',
    ),
  );
  assert.deepEqual(r.problems, []);
  const nodes = itemAt(r.config!.flows, 0).nodes;
  assert.deepEqual(
    nodes.map((n) => [n.id, n.class]),
    [
      ['a', 'task'],
      ['b', 'task'],
      ['done', 'task'],
      ['either', 'merge'],
    ],
  );
  assert.equal(nodes[3]?.class === 'merge' && nodes[3].type, 'any');
});
