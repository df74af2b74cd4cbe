import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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

/** How many turns the event loop took while `thread` parsed `text` (0: it was parsed in place). */
async function turnsDuring(thread: FlowFileThread, text: string): Promise<number> {
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
}

test('while a large flow-file is parsed the event loop goes on; a small one is parsed in place', async (t) => {
  const thread = new FlowFileThread();
  t.after(() => thread.stop());
  assert.ok((await turnsDuring(thread, flowFile(600, OFF_THREAD_CHARS))) > 0, 'the loop turned during the parse');
  assert.equal(await turnsDuring(thread, flowFile(3)), 0, 'a small flow-file is parsed before the loop turns');
});

test('a thread that cannot start, or a module changed on disk since, leaves large flow-files parsed in place', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-flow-file-thread-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const big = flowFile(300, OFF_THREAD_CHARS);
  const want = parseFlowFile(big, 'big.yml', base, registry);

  // A module without the entry: the worker fails before it is ready.
  const lacking = path.join(dir, 'lacking.mjs');
  await writeFile(lacking, 'export const nothing = 1;\n');
  const said: string[] = [];
  const broken = new FlowFileThread({ moduleUrl: pathToFileURL(lacking).href, onInPlace: (why) => said.push(why) });
  t.after(() => broken.stop());
  assert.deepEqual(await broken.parse(big, 'big.yml', base, registry), want);
  assert.equal(await turnsDuring(broken, big), 0, 'and later ones at once, without another thread that fails');
  assert.equal(said.length, 1, said.join('; '));
  assert.match(said[0]!, /before it was ready/);

  // The host's module, rewritten after the host loaded it (a rebuild under a running host).
  const real = new URL('../../src/host/flow-file-thread.js', import.meta.url);
  const copy = path.join(dir, 'copy.mjs');
  await writeFile(copy, `export * from ${JSON.stringify(real.href)};\n`);
  const changed = new FlowFileThread({ moduleUrl: pathToFileURL(copy).href });
  t.after(() => changed.stop());
  assert.ok((await turnsDuring(changed, big)) > 0, 'as loaded, it parses on its thread');
  await changed.stop();
  await writeFile(copy, `export * from ${JSON.stringify(real.href)};\n// rebuilt\n`);
  assert.equal(await turnsDuring(changed, big), 0, 'once rewritten, in place');
});

test('a process whose large flow-file was parsed exits by itself: an idle thread holds nothing', async () => {
  const mod = new URL('../../src/host/flow-file-thread.js', import.meta.url).href;
  const script = `
    const { FlowFileThread } = await import(${JSON.stringify(mod)});
    const { parseConfig } = await import(${JSON.stringify(new URL('../../src/config/validate.js', import.meta.url).href)});
    const { createNodeRegistry } = await import(${JSON.stringify(new URL('../../src/nodes/index.js', import.meta.url).href)});
    const registry = createNodeRegistry();
    const { config } = parseConfig(${JSON.stringify(`flows:
  - id: f
    triggers: [{ name: start, type: data }]
    flow-file: big.yml
`)}, 'floe.yml', registry);
    const r = await new FlowFileThread().parse(${JSON.stringify(flowFile(300, OFF_THREAD_CHARS))}, 'big.yml', config.flows[0], registry);
    process.stdout.write(String(r.flow.nodes.length));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  // Not a timing check: a thread left holding the process would keep it for the idle period
  // (30 s) at least; the bound only keeps a broken build from hanging the suite.
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(out, '301');
  assert.equal(code, 0, 'it exited by itself, well before the thread would have ended');
});

test('once closed, as the host stops, a parse is refused rather than starting another thread', async () => {
  const thread = new FlowFileThread();
  await thread.close();
  await assert.rejects(thread.parse(flowFile(300, OFF_THREAD_CHARS), 'big.yml', base, registry), /the host is stopping/);
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
