import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RunRecord } from '../src/model/run.js';
import { LevelStore } from '../src/store/level.js';
import { call } from './api-client.js';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { freePort, startCliHost, timeUntilHealthy, type CliHost } from './cli-host.js';
import { pick, TOKEN, type BenchContext, type Group } from './group.js';
import { interleave } from './interleave.js';
import { makeRow, type Row } from './row.js';
import { summarize } from './stats.js';

/*
 * A big store (100,000 archived runs, one of them with a 1,000,000-line log) and a small one
 * (10 runs, a 10-line log), filled through the LevelStore API, as the host would have left
 * them, without running a single run. Two CLI hosts serve them at once and the same request
 * goes to each in turn: the small store's answer is the floor. Answers are the same size on
 * both (10 runs, 10 lines), so only the store's size differs. Then both hosts restart in turn:
 * spawn -> GET /health answering.
 */

const CONFIG = [
  'common: { store-type: local }',
  'flows:',
  ...['build', 'deploy'].flatMap((id) => [
    `  - id: ${id}`,
    '    triggers: [{ name: start, type: data }]',
    "    tasks: [{ id: t0, listen: trigger.good, type: exec, opts: { cmd: 'true' } }]",
  ]),
  '',
].join('\n');

/** Items per answer, on both stores. */
const PAGE = 10;

function archivedRun(i: number, flow: string): RunRecord {
  const t = 1_790_000_000_000 + i * 1_000;
  return {
    ref: { flowRef: { id: flow, ver: 1 }, run: `h1-${i}` },
    adoptedBy: 'h1',
    execHost: 'h1',
    status: 'good',
    trigger: { id: 'start', type: 'data', values: { branch: 'main' }, by: 'admin' },
    createdAt: t,
    startTime: t + 1,
    endTime: t + 20,
    workspace: `/srv/floe/ws/${flow}/h1-${i}`,
    nodes: { t0: { id: 't0', status: 'good', startTime: t + 2, endTime: t + 19, exitStatus: 0, emitted: 'task.t0.good', attempts: 1 } },
  };
}

/**
 * Archives `runs` runs (flows build and deploy taking turns, or all build) and, newest, run
 * `h1-<runs + 1>` of build with a `lines`-line log, into the store a host named h1 opens in `dir`.
 */
async function fillStore(dir: string, runs: number, lines: number, alternate: boolean): Promise<string> {
  const store = await LevelStore.open(path.join(dir, '.floe', 'store', 'h1'), { sync: false });
  try {
    const pending: Array<Promise<void>> = [];
    for (let i = 1; i <= runs; i++) {
      pending.push(store.archive(archivedRun(i, alternate && i % 2 === 0 ? 'deploy' : 'build')));
      // The store queues its writes; a bounded number in flight keeps memory flat.
      if (pending.length >= 1_000) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    const logRun = `h1-${runs + 1}`;
    const at = 1_790_000_000_000 + (runs + 1) * 1_000;
    for (let first = 0; first < lines; first += 1_000) {
      const batch: string[] = [];
      for (let n = first; n < Math.min(lines, first + 1_000); n++) batch.push(`line ${n} of the build log`);
      await store.appendOutput(logRun, [{ node: 't0', stream: 'stdout', at, first, lines: batch }]);
    }
    await store.archive(archivedRun(runs + 1, 'build'));
    return logRun;
  } finally {
    await store.close();
  }
}

/** One GET that must answer 200 with `size` items (runs or lines): ms. */
async function timedGet(url: string, size: (body: unknown) => number, want: number): Promise<number> {
  const t0 = performance.now();
  const a = await call('GET', url, { token: TOKEN });
  const ms = performance.now() - t0;
  if (a.status !== 200) throw new Error(`GET ${url} answered ${a.status}: ${a.text.slice(0, 200)}`);
  const got = size(JSON.parse(a.text));
  if (got !== want) throw new Error(`GET ${url} gave ${got} items, not ${want}`);
  return ms;
}

const pageSize = (b: unknown): number => (b as { payload: { runs: { archive: unknown[] } } }).payload.runs.archive.length;
const tailSize = (b: unknown): number => (b as { payload: { output: { lines: unknown[] } } }).payload.output.lines.length;

interface Served {
  host: CliHost;
  logRun: string;
}

export const archive: Group = {
  id: 'archive',
  rows: [
    { id: 'archive-page', measure: 'archive page, 100,000 archived runs' },
    { id: 'log-tail', measure: 'tail of a 1,000,000-line log' },
    { id: 'restart', measure: 'restart with 100,000 archived runs' },
  ],
  async run(ctx: BenchContext): Promise<Row[]> {
    const runs = pick(ctx, 100_000, 1_000);
    const lines = pick(ctx, 1_000_000, 20_000);
    const rounds = pick(ctx, 200, 30);
    const restarts = pick(ctx, 5, 1);
    const atTargetScale = runs === 100_000 && lines === 1_000_000;
    const bigDir = await makeTempDir('archive-big');
    const smallDir = await makeTempDir('archive-small');
    const hosts: CliHost[] = [];
    try {
      ctx.say(`archive: filling a store with ${runs.toLocaleString('en')} archived runs and a ${lines.toLocaleString('en')}-line log`);
      const t0 = performance.now();
      const bigLog = await fillStore(bigDir, runs, lines, true);
      const fillMs = performance.now() - t0;
      const smallLog = await fillStore(smallDir, PAGE, PAGE, false);
      for (const dir of [bigDir, smallDir]) await writeFile(path.join(dir, 'floe.yml'), CONFIG);

      const big: Served = { host: await startCliHost({ dir: bigDir, token: TOKEN }), logRun: bigLog };
      hosts.push(big.host);
      const small: Served = { host: await startCliHost({ dir: smallDir, token: TOKEN }), logRun: smallLog };
      hosts.push(small.host);
      const page = (s: Served) => () => timedGet(`${s.host.api}/flows/build?limit=${PAGE}`, pageSize, PAGE);
      const tail = (s: Served) => () => timedGet(`${s.host.api}/flows/build/runs/${s.logRun}?tail=${PAGE}`, tailSize, PAGE);
      ctx.say(`archive-page, log-tail: ${rounds} requests each to both hosts, in turn`);
      const pages = await interleave({ warmup: 20, rounds, floor: page(small), sample: page(big) });
      const tails = await interleave({ warmup: 20, rounds, floor: tail(small), sample: tail(big) });
      // What the dashboard asks by default, on the big store alone, for the record.
      const page50: number[] = [];
      const tail200: number[] = [];
      for (let i = 0; i < 20; i++) {
        page50.push(await timedGet(`${big.host.api}/flows/build`, pageSize, 50));
        tail200.push(await timedGet(`${big.host.api}/flows/build/runs/${big.logRun}`, tailSize, 200));
      }
      const firstStarts = { bigFirstStartMs: big.host.startMs, smallFirstStartMs: small.host.startMs };
      await Promise.all(hosts.splice(0).map((h) => h.stop()));

      ctx.say(`restart: ${restarts} restart(s) of each host, in turn`);
      const restart = (dir: string) => async () => {
        const h = await timeUntilHealthy({ dir, token: TOKEN, bind: `127.0.0.1:${await freePort()}` });
        await h.stop();
        return h.ms;
      };
      const starts = await interleave({ warmup: 0, rounds: restarts, floor: restart(smallDir), sample: restart(bigDir) });

      const sameAs10 = (v: number, floor: number): boolean => v <= 20 && (v <= 1.5 * floor || v - floor <= 2);
      const p = summarize(pages.sample);
      const pf = summarize(pages.floor).median;
      const t = summarize(tails.sample);
      const tf = summarize(tails.floor).median;
      const st = summarize(starts.sample);
      return [
        makeRow({
          id: 'archive-page',
          measure: `archive page (GET /flows/:id, ${PAGE} runs), ${runs.toLocaleString('en')} archived runs`,
          unit: 'ms',
          value: p.median,
          p90: p.p90,
          floor: pf,
          floorWhat: 'the same with 10 archived runs',
          target: '<= 20 ms, the same as with 10',
          meets: sameAs10(p.median, pf),
          atTargetScale,
          n: p.n,
          extra: { fillMs, defaultPage50Ms: summarize(page50).median },
        }),
        makeRow({
          id: 'log-tail',
          measure: `tail of a ${lines.toLocaleString('en')}-line log (GET run, tail=${PAGE})`,
          unit: 'ms',
          value: t.median,
          p90: t.p90,
          floor: tf,
          floorWhat: 'the same with a 10-line log',
          target: '<= 20 ms, the same as with 10',
          meets: sameAs10(t.median, tf),
          atTargetScale,
          n: t.n,
          extra: { defaultTail200Ms: summarize(tail200).median },
        }),
        makeRow({
          id: 'restart',
          measure: `restart with ${runs.toLocaleString('en')} archived runs, until /health answers`,
          unit: 'ms',
          value: st.median,
          p90: st.p90,
          floor: summarize(starts.floor).median,
          floorWhat: 'the same with 10 archived runs',
          target: '<= 2,000 ms',
          meets: st.median <= 2_000,
          atTargetScale,
          n: st.n,
          extra: firstStarts,
        }),
      ];
    } finally {
      await Promise.all(hosts.map((h) => h.stop()));
      await removeTempDir(bigDir);
      await removeTempDir(smallDir);
    }
  },
};
