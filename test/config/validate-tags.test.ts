import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, flowWith, runTable, yaml } from './check.js';
import { itemAt } from '../items.js';

/** checkout (git-checkout) -> build (exec, use-status) and lint (exec, ignore-fail); signed merges them; done ends. */
const base = yaml`
  - name: checkout
    listen: trigger.good
    type: git-checkout
    opts: {url: git@example.com:a.git}
  - name: build
    listen: task.checkout.good
    type: exec
    use-status: true
    opts: {cmd: make}
  - name: lint
    listen: task.checkout.good
    type: exec
    ignore-fail: true
    opts: {cmd: lint}
  - id: signed
    class: merge
    wait: [task.build.0, task.lint.good]
  - name: done
    listen: merge.signed.good
    type: end
`;

/** The base flow plus one task listening to `tag` (its listen value lands at line 29, column 17). */
function listening(tag: string): string {
  return flowWith(`${base}\n- name: probe\n  listen: ${tag}\n  type: end`);
}

test('the base flow is valid', () => {
  const r = check(listening('task.build.3'));
  assert.deepEqual(r.problems, []);
});

runTable([
  {
    rule: 'a listen tag nobody emits is an error naming it and the closest tag',
    text: listening('task.chekout.good'),
    error:
      /^floe\.yml:29:17: error: flows\[0\]\.tasks\[5\]\.listen: no node in this flow can emit "task\.chekout\.good": there is no task or merge with id "chekout"; did you mean "task\.checkout\.good"\?$/,
    alone: true,
  },
  {
    rule: 'nodes never listen to system events',
    text: listening('sys.end'),
    error: /flows\[0\]\.tasks\[5\]\.listen: "sys\.end" is a system event; nodes never listen to sys\.\* tags/,
    alone: true,
  },
  {
    rule: 'a task without use-status emits no exit status tags',
    text: listening('task.checkout.1'),
    error:
      /no node in this flow can emit "task\.checkout\.1": task checkout emits only task\.checkout\.good and task\.checkout\.bad; set use-status: true on it/,
    alone: true,
  },
  {
    rule: 'a use-status task emits no good tag',
    text: listening('task.build.good'),
    error:
      /no node in this flow can emit "task\.build\.good": task build has use-status, so it emits its exit status \(task\.build\.0, task\.build\.1, \.\.\.\) instead of good or bad/,
    alone: true,
  },
  {
    rule: 'a use-status task emits no bad tag',
    text: listening('task.build.bad'),
    error: /"task\.build\.bad": task build has use-status/,
    alone: true,
  },
  {
    rule: 'listening to .bad of an ignore-fail task is a warning',
    text: listening('task.lint.bad'),
    warning:
      /^floe\.yml:29:17: warning: flows\[0\]\.tasks\[5\]\.listen: task lint has ignore-fail, so it never emits "task\.lint\.bad"; what waits for it never runs$/,
  },
  {
    rule: 'a merge tag of a task is told it is a task',
    text: listening('merge.checkout.good'),
    error: /"merge\.checkout\.good": checkout is a task, not a merge; it emits task\.checkout\.good; did you mean "task\.checkout\.good"\?/,
    alone: true,
  },
  {
    rule: 'a task tag of a merge is told it is a merge',
    text: listening('task.signed.good'),
    error: /"task\.signed\.good": signed is a merge; it emits merge\.signed\.good; did you mean "merge\.signed\.good"\?/,
    alone: true,
  },
  {
    rule: 'a merge emits only good',
    text: listening('merge.signed.bad'),
    error: /"merge\.signed\.bad": a merge emits only merge\.<id>\.good; did you mean "merge\.signed\.good"\?/,
    alone: true,
  },
  {
    rule: 'an end task emits nothing',
    text: listening('task.done.good'),
    error: /"task\.done\.good": done is an end task: reaching it ends the run, and it emits nothing/,
    alone: true,
  },
  {
    rule: 'triggers emit only trigger.good',
    text: listening('trigger.bad'),
    error: /"trigger\.bad": triggers emit only trigger\.good; did you mean "trigger\.good"\?/,
    alone: true,
  },
  {
    rule: 'a trigger id in a task tag is told triggers emit trigger.good',
    text: listening('task.start.good'),
    error: /"task\.start\.good": "start" is a trigger, and triggers emit trigger\.good/,
    alone: true,
  },
  {
    rule: 'a tag of the wrong form is explained',
    text: listening('checkout'),
    error: /"checkout": tags look like trigger\.good, task\.<id>\.good, task\.<id>\.bad or merge\.<id>\.good/,
    alone: true,
  },
  {
    rule: 'a wait tag nobody emits is an error at its place in the list',
    text: flowWith(`${base}\n- name: m2\n  class: merge\n  type: any\n  wait: [task.lint.good, task.biuld.0]`),
    error:
      /^floe\.yml:31:32: error: flows\[0\]\.tasks\[5\]\.wait\[1\]: no node in this flow can emit "task\.biuld\.0": there is no task or merge with id "biuld"; did you mean "task\.build\.0"\?$/,
    alone: true,
  },
  {
    rule: 'a tag listed twice in wait is a warning',
    text: flowWith(`${base}\n- name: m2\n  class: merge\n  wait: [task.lint.good, task.lint.good]`),
    warning: /flows\[0\]\.tasks\[5\]\.wait\[1\]: "task\.lint\.good" is already in wait; listed twice/,
  },
  {
    rule: 'an all merge of two tags of one task never fires',
    text: flowWith(
      `${base}\n- name: both\n  listen: task.checkout.good\n  type: exec\n  opts: {cmd: x}\n- name: m2\n  class: merge\n  wait: [task.both.good, task.both.bad]\n- name: after\n  listen: merge.m2.good\n  type: end`,
    ),
    warning:
      /^floe\.yml:32:9: warning: flows\[0\]\.tasks\[6\]\.wait: merge m2 waits for all of "task\.both\.good" and "task\.both\.bad", but a task emits only one tag per run, so it never fires; use type: any\?$/,
  },
  {
    rule: 'a cycle of tasks can never run',
    text: flowWith(
      `${base}\n- name: a\n  listen: task.b.good\n  type: exec\n  opts: {cmd: a}\n- name: b\n  listen: task.a.good\n  type: exec\n  opts: {cmd: b}`,
    ),
    warning:
      /^floe\.yml:28:9: warning: flows\[0\]\.tasks\[5\]: task a can never run: it listens to "task\.b\.good", emitted only by nodes that can never run themselves/,
  },
]);

test('what follows an already-warned node is not warned about again', () => {
  const r = check(
    flowWith(
      `${base}\n- name: on-lint-fail\n  listen: task.lint.bad\n  type: exec\n  opts: {cmd: x}\n- name: after\n  listen: task.on-lint-fail.good\n  type: end`,
    ),
  );
  assert.deepEqual(r.errors, []);
  assert.equal(r.warnings.length, 1, r.warnings.join('\n'));
});

test('an any merge fires when one of its tags can come', () => {
  const r = check(
    flowWith(
      `${base}\n- name: a\n  listen: task.b.good\n  type: exec\n  opts: {cmd: a}\n- name: b\n  listen: task.a.good\n  type: exec\n  opts: {cmd: b}\n- id: m2\n  class: merge\n  type: any\n  wait: [task.a.good, task.lint.good]\n- name: after\n  listen: merge.m2.good\n  type: end`,
    ),
  );
  const unreachable = r.warnings.filter((w) => w.includes('never'));
  assert.deepEqual(
    unreachable.map((w) => /tasks\[(\d+)\]/.exec(w)?.[1]),
    ['5', '6'],
  );
});

test('listeners of a task with an unknown type are not blamed for it', () => {
  const r = check(
    flowWith(yaml`
    - name: checkout
      listen: trigger.good
      type: git-merge
    - name: build
      listen: task.checkout.good
      type: exec
      opts: {cmd: make}
    - name: done
      listen: task.build.good
      type: end
  `),
  );
  assert.equal(r.errors.length, 1, r.errors.join('\n'));
  assert.match(itemAt(r.errors, 0), /tasks\[0\]\.type: task type "git-merge" is not supported/);
  assert.deepEqual(r.warnings, []);
});
