import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startHost, type Host } from '../src/host/host.js';
import { createLogger } from '../src/host/logger.js';
import type { RunRef } from '../src/model/refs.js';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { spawnTrue } from './floors.js';
import { pick, type BenchContext, type Group } from './group.js';
import { interleave } from './interleave.js';
import { makeRow, type Row } from './row.js';
import { summarize } from './stats.js';

/*
 * Per task in a chain of `true`: a run's time from the trigger call to its end, divided by its
 * tasks. The host runs in this process, as the issue measured it, so its spawns and the
 * floor's (Node spawning /bin/true) fork the same process, with the same heap.
 */

/** A flow `c<length>`: `length` exec tasks of `true`, each listening to the one before. */
function chainFlow(length: number): string {
  const tasks = Array.from({ length }, (_, i) => {
    const listen = i === 0 ? 'trigger.good' : `task.t${i - 1}.good`;
    return `      - { id: t${i}, listen: ${listen}, type: exec, opts: { cmd: 'true' } }`;
  });
  // No end task: a flow holds at most 1,000 tasks, and the run ends good once idle anyway.
  return `  - id: c${length}\n    triggers: [{ name: start, type: data }]\n    tasks:\n${tasks.join('\n')}\n`;
}

interface ChainHost {
  /** Runs the chain of `length` once: ms per task. */
  perTask(length: number): Promise<number>;
  stop(): Promise<void>;
}

async function startChainHost(dir: string, store: 'local' | 'memory', lengths: number[]): Promise<ChainHost> {
  const conf = path.join(dir, 'floe.yml');
  await writeFile(conf, `common: { store-type: ${store} }\nflows:\n${lengths.map(chainFlow).join('')}`);
  const host: Host = await startHost({
    configFile: conf,
    hostName: 'bench',
    tags: ['master'],
    root: path.join(dir, 'ws'),
    log: createLogger({ level: 'silent', pretty: false }),
  });
  const ended = new Map<string, string>();
  const waiting = new Map<string, (status: string) => void>();
  host.hub.subscribe((e) => {
    if (e.kind !== 'end') return;
    const w = waiting.get(e.ref.run);
    if (w) w(e.status);
    else ended.set(e.ref.run, e.status);
  });
  const end = (ref: RunRef): Promise<string> => {
    const status = ended.get(ref.run);
    if (status !== undefined) return Promise.resolve(status);
    return new Promise((r) => waiting.set(ref.run, r));
  };
  return {
    perTask: async (length) => {
      const t0 = performance.now();
      const [ref] = await host.hub.trigger(`c${length}`);
      if (!ref) throw new Error(`c${length}: the trigger started no run`);
      const status = await end(ref);
      const ms = performance.now() - t0;
      ended.delete(ref.run);
      waiting.delete(ref.run);
      if (status !== 'good') throw new Error(`run ${ref.run} of a chain of ${length} ended ${status}`);
      return ms / length;
    },
    stop: () => host.stop(),
  };
}

async function withChainHost<T>(store: 'local' | 'memory', lengths: number[], use: (h: ChainHost) => Promise<T>): Promise<T> {
  const dir = await makeTempDir(`chain-${store}`);
  try {
    const h = await startChainHost(dir, store, lengths);
    try {
      return await use(h);
    } finally {
      await h.stop();
    }
  } finally {
    await removeTempDir(dir);
  }
}

export const chain20: Group = {
  id: 'chain-20',
  rows: [
    { id: 'chain-20-local', measure: 'per task, 20-task chain of true, local store' },
    { id: 'chain-20-memory', measure: 'per task, 20-task chain of true, memory store' },
  ],
  async run(ctx: BenchContext): Promise<Row[]> {
    const rounds = pick(ctx, 20, 3);
    const rows: Row[] = [];
    for (const store of ['local', 'memory'] as const) {
      ctx.say(`chain-20-${store}: ${rounds} runs of a 20-task chain, each beside a floor`);
      const r = await withChainHost(store, [20], (h) =>
        interleave({ warmup: pick(ctx, 3, 1), rounds, floor: spawnTrue, sample: () => h.perTask(20) }),
      );
      const s = summarize(r.sample);
      const floor = summarize(r.floor).median;
      rows.push(
        makeRow({
          id: `chain-20-${store}`,
          measure: `per task, 20-task chain of true, ${store} store`,
          unit: 'ms',
          value: s.median,
          p90: s.p90,
          floor,
          floorWhat: 'node spawns /bin/true',
          target: store === 'local' ? '<= 1.3x floor (goal < 0.68x)' : 'info',
          meets: store === 'local' ? s.median / floor <= 1.3 : undefined,
          atTargetScale: true,
          n: s.n,
          extra: { floorP90: summarize(r.floor).p90 },
        }),
      );
    }
    return rows;
  },
};

export const chainLong: Group = {
  id: 'chain-long',
  rows: [{ id: 'chain-long', measure: 'per task, 1,000-task chain vs 20-task chain' }],
  async run(ctx: BenchContext): Promise<Row[]> {
    const length = pick(ctx, 1000, 100);
    const rounds = pick(ctx, 3, 1);
    ctx.say(`chain-long: ${rounds} runs of a ${length}-task chain, each beside a 20-task chain`);
    // The floor is the 20-task chain's figure on the same host: the target is no growth with length.
    const r = await withChainHost('local', [20, length], async (h) => {
      // Warmed up on short chains: the same code, without a long chain's minutes.
      for (let i = 0; i < 2; i++) await h.perTask(20);
      return interleave({ warmup: 0, rounds, floor: () => h.perTask(20), sample: () => h.perTask(length) });
    });
    const s = summarize(r.sample);
    const floor = summarize(r.floor).median;
    return [
      makeRow({
        id: 'chain-long',
        measure: `per task, ${length.toLocaleString('en')}-task chain, local store`,
        unit: 'ms',
        value: s.median,
        p90: s.p90,
        floor,
        floorWhat: 'per task, 20-task chain',
        target: '<= 1.1x the 20-task figure',
        meets: s.median / floor <= 1.1,
        atTargetScale: length === 1000,
        n: s.n,
        extra: { length },
      }),
    ];
  },
};
