import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import fc from 'fast-check';
import type { PublishedEvent } from '../../src/model/events.js';
import type { OutputLine } from '../../src/model/output.js';
import type { OutputPage, OutputQuery, RunOutput, RunOutputModule } from './modules.js';

let loaded: Promise<RunOutputModule> | undefined;
/** The run page's output state, bundled from its TypeScript source with what it imports (no DOM, no fetch). */
function load(): Promise<RunOutputModule> {
  loaded ??= (async () => {
    const entry = fileURLToPath(new URL('../../../webapp/src/parts/run-output-state.ts', import.meta.url));
    const out = await build({ entryPoints: [entry], bundle: true, format: 'esm', write: false, platform: 'neutral', logLevel: 'silent' });
    const code = out.outputFiles[0]!.text;
    return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as RunOutputModule;
  })();
  return loaded;
}

const RUN = 'h1-2';
const ref = { flowRef: { id: 'count', ver: 1 }, run: RUN };
let seq = 0;

/** A host's run as far as its output goes: the lines printed, and what it answers for a page. */
class HostLog {
  readonly lines: OutputLine[] = [];

  print(node: string, texts: string[]): PublishedEvent {
    const first = this.lines.length;
    for (const line of texts) this.lines.push({ node, stream: 'stdout', line, n: this.lines.length, at: 1 });
    return {
      seq: ++seq,
      at: 1,
      host: 'h1',
      kind: 'node-output',
      tag: 'sys.node-output',
      ref,
      node,
      stream: 'stdout',
      first,
      last: this.lines.length - 1,
      lines: texts,
    };
  }

  /** What GET /flows/:flow/runs/:run answers for `q` (routes/flows.ts), taken now. */
  page(q: OutputQuery, node: string | undefined): OutputPage {
    const of = node === undefined ? this.lines : this.lines.filter((l) => l.node === node);
    if ('tail' in q) return { lines: of.slice(-q.tail) };
    const after = of.filter((l) => l.n >= q.from);
    const lines = after.slice(0, q.limit);
    return after.length > q.limit ? { lines, next: lines[lines.length - 1]!.n + 1 } : { lines };
  }

  linesOf(node: string | undefined): OutputLine[] {
    return node === undefined ? this.lines : this.lines.filter((l) => l.node === node);
  }
}

/** A read sent to the host and not yet answered; the host may take its answer then, or later. */
interface Read {
  q: OutputQuery;
  node: string | undefined;
  early: OutputPage;
  resolve: (p: OutputPage) => void;
  reject: (err: Error) => void;
}

function reader(log: HostLog, reads: Read[]) {
  return (q: OutputQuery, node: string | undefined) =>
    new Promise<OutputPage>((resolve, reject) => reads.push({ q, node, early: log.page(q, node), resolve, reject }));
}

const endEvent = (): PublishedEvent => ({ seq: ++seq, at: 1, host: 'h1', kind: 'end', tag: 'sys.end', ref, status: 'good' });

/** Lets the page's promise chains run to their next wait. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function texts(lines: readonly OutputLine[]): string[] {
  return lines.map((l) => `${l.node}:${l.line}`);
}

/** Every state a view shows is a run of the log it shows, from the first line shown: nothing out of order, twice or missing. */
function assertContiguous(m: RunOutputModule, out: RunOutput, log: HostLog, node: string | undefined, when: string): void {
  const lines = m.shownLines(out.view(node));
  const from = lines[0]?.n ?? 0;
  const want = texts(log.linesOf(node).filter((l) => l.n >= from)).slice(0, lines.length);
  assert.deepEqual(texts(lines), want, `${node ?? 'all nodes'} ${when}`);
}

/** A page on a fresh run: its output state, reading from `log`, and the reads not yet answered. */
async function freshPage(opts?: { retryMs?: number }) {
  const m = await load();
  const log = new HostLog();
  const reads: Read[] = [];
  const out = new m.RunOutput(RUN, reader(log, reads), opts);
  return { m, log, reads, out, all: out.view(undefined) };
}

/** Answers the oldest read as the host would now. */
function answerNow(reads: Read[], log: HostLog): void {
  const r = reads.shift()!;
  r.resolve(log.page(r.q, r.node));
}

test('lines heard live before the first page are not shown until it comes, then shown after the lines it brings', async () => {
  const m = await load();
  const log = new HostLog();
  const reads: Read[] = [];
  // Line 1's event goes out while the page is changing: no one hears it.
  log.print('count', ['line 1']);
  const out = new m.RunOutput(RUN, reader(log, reads));
  const all = out.view(undefined);
  assert.equal(reads.length, 1, 'the tail is asked for');
  out.onEvent(log.print('count', ['line 2']));
  out.onEvent(log.print('count', ['line 3']));
  assert.deepEqual(texts(m.shownLines(all)), [], 'nothing is shown before the tail: it may hold earlier lines');
  // The host read the tail after line 1 and before line 2.
  reads.shift()!.resolve({ lines: log.lines.slice(0, 1) });
  await settle();
  assert.deepEqual(texts(m.shownLines(all)), ['count:line 1', 'count:line 2', 'count:line 3']);
  assert.equal(reads.length, 0, 'no hole, nothing more asked');
});

test('a line heard after one never heard waits unshown while the missing one is fetched', async () => {
  const { m, log, reads, out, all } = await freshPage();
  out.onEvent(log.print('count', ['line 1']));
  reads.shift()!.resolve({ lines: [] });
  await settle();
  assert.deepEqual(texts(m.shownLines(all)), ['count:line 1']);
  log.print('count', ['line 2']); // lost
  out.onEvent(log.print('count', ['line 3']));
  assert.deepEqual(texts(m.shownLines(all)), ['count:line 1'], 'line 3 waits for line 2');
  assert.equal(reads.length, 1);
  assert.deepEqual(reads[0]!.q, { from: 1, limit: 1 }, 'only the hole is asked for');
  answerNow(reads, log);
  await settle();
  assert.deepEqual(texts(m.shownLines(all)), ['count:line 1', 'count:line 2', 'count:line 3']);
});

test('a hole the host cannot fill is passed over, so the lines after it are shown', async () => {
  const { m, log, reads, out, all } = await freshPage();
  reads.shift()!.resolve({ lines: [] });
  await settle();
  log.print('count', ['line 1']);
  out.onEvent(log.print('count', ['line 2']));
  reads.shift()!.resolve({ lines: [] });
  await settle();
  assert.deepEqual(texts(m.shownLines(all)), ['count:line 2']);
  assert.equal(reads.length, 0, 'not asked for ever');
});

test('an end heard while the lines to the end are being read asks again: the read may be older than the last line', async () => {
  const { m, log, reads, out, all } = await freshPage();
  reads.shift()!.resolve({ lines: [] });
  await settle();
  out.catchUp();
  assert.equal(reads.length, 1, 'a resync reads to the end');
  log.print('count', ['line 1']); // its event lost
  out.onEvent(endEvent());
  reads.shift()!.resolve({ lines: [] }); // read before line 1
  await settle();
  assert.equal(reads.length, 1, 'read again for the end');
  answerNow(reads, log);
  await settle();
  assert.deepEqual(texts(m.shownLines(all)), ['count:line 1']);
});

test('an end heard before the first page makes the page read on to the end once it is in', async () => {
  const { m, log, reads, out, all } = await freshPage();
  log.print('count', ['line 1']); // its event lost
  out.onEvent(endEvent());
  reads.shift()!.resolve({ lines: [] }); // read before line 1
  await settle();
  assert.equal(reads.length, 1, 'read on to the end');
  answerNow(reads, log);
  await settle();
  assert.deepEqual(texts(m.shownLines(all)), ['count:line 1']);
});

test('a fill that fails is tried again, with no event to ask, and after 5 failures the lines waiting are shown', async () => {
  const { m, log, reads, out, all } = await freshPage({ retryMs: 1 });
  reads.shift()!.resolve({ lines: [] });
  await settle();
  log.print('count', ['line 1']); // lost
  out.onEvent(log.print('count', ['line 2']));
  const failNext = async () => {
    for (let waits = 0; reads.length === 0; waits++) {
      assert.ok(waits < 500, 'the fill is tried again');
      await new Promise((r) => setTimeout(r, 1));
    }
    reads.shift()!.reject(new Error('502'));
    await settle();
  };
  await failNext();
  assert.deepEqual(texts(m.shownLines(all)), [], 'line 2 still waits after a failure');
  for (let i = 0; i < 4; i++) await failNext();
  assert.deepEqual(texts(m.shownLines(all)), ['count:line 2'], 'shown past the hole after 5');
});

type Step =
  | { kind: 'print'; node: 'a' | 'b'; count: number }
  | { kind: 'deliver'; twice: boolean }
  | { kind: 'lose' }
  | { kind: 'answer'; pick: number; late: boolean }
  | { kind: 'open'; node: 'a' | 'b' | undefined }
  | { kind: 'resync' }
  | { kind: 'fail'; pick: number }
  | { kind: 'end'; deliverFirst: boolean };

const steps = fc.array(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('print' as const),
        node: fc.constantFrom('a' as const, 'b' as const),
        count: fc.integer({ min: 1, max: 3 }),
      }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('deliver' as const), twice: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('lose' as const) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('answer' as const), pick: fc.nat(), late: fc.boolean() }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('open' as const), node: fc.constantFrom('a' as const, 'b' as const, undefined) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('resync' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('end' as const), deliverFirst: fc.boolean() }) },
  ),
  { maxLength: 60, size: 'max' },
);

test('whatever events are lost, repeated or late, and however reads race or fail, every log shown is a run of lines with no hole, and all of it at the end', async () => {
  const m = await load();
  // A first page of 4 lines puts most of a log before it; of 1,000, none.
  const tails = fc.constantFrom(4, 1000);
  await fc.assert(
    fc.asyncProperty(steps, fc.boolean(), tails, async (script: Step[], openFirst, tailLines) => {
      const log = new HostLog();
      const reads: Read[] = [];
      /** Events on their way to the page, in order. */
      const wire: PublishedEvent[] = [];
      let out: RunOutput | undefined;
      const opened = new Set<string | undefined>();
      let failures = 0;
      let endHeard = false;
      let ended = false;
      const open = (node: string | undefined) => {
        out ??= new m.RunOutput(RUN, reader(log, reads), { tailLines, retryMs: 1 });
        // The log view loads all nodes' lines too, whichever it shows (useOutputView).
        out.view(undefined);
        out.view(node);
        opened.add(undefined).add(node);
      };
      const check = (when: string) => {
        for (const node of opened) assertContiguous(m, out!, log, node, when);
      };
      if (openFirst) open(undefined);
      for (const [i, step] of script.entries()) {
        switch (step.kind) {
          case 'print':
            // A run's end is published after its last line.
            if (ended) break;
            wire.push(
              log.print(
                step.node,
                Array.from({ length: step.count }, (_, k) => `${step.node}${log.lines.length + k + 1}`),
              ),
            );
            break;
          case 'deliver': {
            const e = wire.shift();
            // Before the page listens, an event is heard by no one.
            if (e && out) {
              out.onEvent(e);
              if (step.twice) out.onEvent(e);
            }
            break;
          }
          case 'lose':
            wire.shift();
            break;
          case 'answer': {
            if (reads.length === 0) break;
            const [r] = reads.splice(step.pick % reads.length, 1);
            r!.resolve(step.late ? log.page(r!.q, r!.node) : r!.early);
            break;
          }
          case 'open':
            open(step.node);
            break;
          case 'resync':
            out?.catchUp();
            break;
          case 'fail': {
            // Fewer failures in a row than make the page give a hole up (FILL_TRIES).
            if (reads.length === 0 || failures >= 3) break;
            failures++;
            const [r] = reads.splice(step.pick % reads.length, 1);
            r!.reject(new Error('502'));
            break;
          }
          case 'end':
            // Sent after every line; heard now if the page listens, else lost.
            ended = true;
            if (out) {
              for (const e of wire.splice(0)) if (step.deliverFirst) out.onEvent(e);
              out.onEvent(endEvent());
              endHeard = true;
            }
            break;
        }
        await settle();
        if (out) check(`after step ${i} (${JSON.stringify(step)})`);
      }
      // The run ends: what is on the wire arrives, then the end (unless heard), and the host answers every
      // read (each as it was asked or as it is now: the same, as nothing more is printed). The
      // page renders meanwhile, asking again for what failed to load.
      open(undefined);
      for (const e of wire.splice(0)) out!.onEvent(e);
      // An end heard during the script is the only one: the page must act on it whenever it came.
      if (!endHeard) out!.onEvent(endEvent());
      for (let rounds = 0, quiet = 0; quiet < 3; rounds++) {
        assert.ok(rounds < 2000, 'reads end');
        for (const node of opened) out!.view(node);
        const r = reads.shift();
        if (r) r.resolve(rounds % 2 ? r.early : log.page(r.q, r.node));
        // Failed fills are tried again after a timer (1 ms here).
        await new Promise((resolve) => setTimeout(resolve, r ? 0 : 3));
        quiet = r ? 0 : quiet + 1;
      }
      for (const node of opened) {
        const lines = m.shownLines(out!.view(node));
        const from = lines[0]?.n ?? 0;
        assert.deepEqual(
          texts(lines),
          texts(log.linesOf(node).filter((l) => l.n >= from)),
          `${node ?? 'all nodes'} shows the whole log from its first line shown, at the end`,
        );
        if (tailLines === 1000) assert.equal(from, log.linesOf(node)[0]?.n ?? 0, `${node ?? 'all nodes'} from the first line`);
      }
    }),
    { numRuns: 300 },
  );
});
