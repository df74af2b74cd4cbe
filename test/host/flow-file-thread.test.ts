import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseConfig, parseFlowFile } from '../../src/config/validate.js';
import { FlowFileThread, OFF_THREAD_CHARS } from '../../src/host/flow-file-thread.js';
import { createNodeRegistry } from '../../src/nodes/index.js';
import { itemAt } from '../items.js';

const registry = createNodeRegistry();
const { config } = parseConfig(
  'flows:\n  - id: f\n    triggers: [{ name: start, type: data }]\n    flow-file: big.yml\n',
  path.resolve('floe.yml'),
  registry,
);
const base = itemAt(config!.flows, 0);

/** A flow-file of `tasks` exec tasks in a chain and an end, padded with a comment to at least `chars`. */
function flowFile(tasks: number, chars = 0, broken = false): string {
  const lines = ['tasks:'];
  for (let i = 0; i < tasks; i++)
    lines.push(`  - { name: t${i}, listen: ${i === 0 ? 'trigger.good' : `task.t${i - 1}.good`}, type: exec, opts: { cmd: 'echo ${i}' } }`);
  lines.push(`  - { name: done, listen: task.t${tasks - 1}.good, type: ${broken ? 'nope' : 'end'} }`);
  const text = lines.join('\n') + '\n';
  return text.length >= chars ? text : `${text}# ${'x'.repeat(chars - text.length)}\n`;
}

test('a large flow-file parsed on the thread gives what parsing it in place gives, good or bad', async (t) => {
  const thread = new FlowFileThread();
  t.after(() => thread.stop());
  for (const text of [
    flowFile(300, OFF_THREAD_CHARS),
    flowFile(300, OFF_THREAD_CHARS, true),
    'tasks: [unclosed\n' + '#'.repeat(OFF_THREAD_CHARS),
  ]) {
    assert.ok(text.length >= OFF_THREAD_CHARS);
    const inPlace = parseFlowFile(text, 'big.yml', base, registry);
    assert.deepEqual(await thread.parse(text, 'big.yml', base, registry), inPlace);
  }
});

test('while a large flow-file is parsed the event loop goes on; a small one is parsed in place', async (t) => {
  const thread = new FlowFileThread();
  t.after(() => thread.stop());
  const turnsDuring = async (text: string): Promise<number> => {
    let turns = 0;
    let done = false;
    const turn = (): void => {
      if (done) return;
      turns++;
      setImmediate(turn);
    };
    setImmediate(turn);
    const r = await thread.parse(text, 'big.yml', base, registry);
    done = true;
    assert.ok(r.flow, JSON.stringify(r.problems.slice(0, 3)));
    return turns;
  };
  assert.ok((await turnsDuring(flowFile(600, OFF_THREAD_CHARS))) > 0, 'the loop turned during the parse');
  assert.equal(await turnsDuring(flowFile(3)), 0, 'a small flow-file is parsed before the loop turns');
});

test('stopping the thread rejects what it was parsing, and a later parse starts another', async () => {
  const thread = new FlowFileThread();
  const pending = thread.parse(flowFile(900, 4 * OFF_THREAD_CHARS), 'big.yml', base, registry);
  const rejected = assert.rejects(pending, /the host is stopping/);
  await thread.stop();
  await rejected;
  const again = await thread.parse(flowFile(300, OFF_THREAD_CHARS), 'big.yml', base, registry);
  assert.equal(again.flow?.nodes.length, 301);
  await thread.stop();
});
