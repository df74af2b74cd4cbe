import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runsPerSecond } from './back-to-back.js';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { startCliHost } from './cli-host.js';
import { EventTap } from './event-tap.js';
import { bareNodeRssMb, spawnRate } from './floors.js';
import { pick, TOKEN, type BenchContext, type Group } from './group.js';
import { makeRow, type Row } from './row.js';
import { summarize } from './stats.js';

/*
 * One fresh CLI host, local store: its RSS idle, then one-task runs of `true` back to back
 * (runs per second over the first batch), then its RSS once it has run them all and settled.
 */

/** How long a host idles before its RSS is read: 2 s, 1 s in a quick run. */
const settleMs = (ctx: BenchContext): number => pick(ctx, 2_000, 1_000);

export const runsAndMemory: Group = {
  id: 'runs',
  rows: [
    { id: 'idle-rss', measure: 'idle host RSS' },
    { id: 'runs-local', measure: 'runs back to back, one host, local store' },
    { id: 'rss-after-runs', measure: 'host RSS after 10,000 runs' },
  ],
  async run(ctx: BenchContext): Promise<Row[]> {
    const timed = pick(ctx, 1000, 40);
    const total = pick(ctx, 10_000, 80);
    // Warm-up first, as for every measure: the first runs of a fresh host pay for lazy module
    // loads and the JIT (the 9,000 runs after the timed ones went at 174/s against 149/s).
    const warmup = pick(ctx, 100, 8);
    const dir = await makeTempDir('runs');
    try {
      await writeFile(
        path.join(dir, 'floe.yml'),
        "common: { store-type: local }\nflows:\n  - id: one\n    triggers: [{ name: start, type: data }]\n    tasks: [{ id: t0, listen: trigger.good, type: exec, opts: { cmd: 'true' } }]\n",
      );
      const bareRss = await bareNodeRssMb(settleMs(ctx));
      const host = await startCliHost({ dir, token: TOKEN });
      try {
        await new Promise((r) => setTimeout(r, settleMs(ctx)));
        const idle = host.rssMb();
        const tap = await EventTap.connect(host.ws, TOKEN);
        try {
          ctx.say(`runs-local: ${warmup} runs to warm up, then ${timed} one-task runs back to back, between two floors`);
          await runsPerSecond([{ api: host.api, tap }], 'one', warmup);
          const floors = [await spawnRate(timed, 8)];
          const rate = await runsPerSecond([{ api: host.api, tap }], 'one', timed);
          floors.push(await spawnRate(timed, 8));
          ctx.say(`rss-after-runs: ${total - warmup - timed} more runs`);
          const restRate = await runsPerSecond([{ api: host.api, tap }], 'one', total - warmup - timed);
          await new Promise((r) => setTimeout(r, settleMs(ctx)));
          const after = host.rssMb();
          return [
            makeRow({
              id: 'idle-rss',
              measure: 'idle host RSS, fresh start',
              unit: 'MB',
              value: idle,
              floor: bareRss,
              floorWhat: 'a bare node process, idle',
              target: '<= 60 MB',
              meets: idle <= 60,
              atTargetScale: true,
              n: 1,
              extra: { startMs: host.startMs },
            }),
            makeRow({
              id: 'runs-local',
              measure: `${timed.toLocaleString('en')} runs back to back, one host, local store (8 clients)`,
              unit: 'runs/s',
              value: rate,
              floor: summarize(floors).median,
              floorWhat: 'node spawns /bin/true, 8 at once: spawns/s',
              target: '>= 150 runs/s on 2 cores',
              meets: rate >= 150,
              atTargetScale: timed === 1000,
              n: 1,
            }),
            makeRow({
              id: 'rss-after-runs',
              measure: `host RSS after ${total.toLocaleString('en')} runs, settled`,
              unit: 'MB',
              value: after,
              floor: idle,
              floorWhat: 'the same host idle, before them',
              target: '<= floor + 20 MB',
              meets: after - idle <= 20,
              atTargetScale: total === 10_000,
              n: 1,
              extra: { laterRunsPerSec: restRate, peakRssMb: host.peakRssMb() },
            }),
          ];
        } finally {
          tap.close();
        }
      } finally {
        await host.stop();
      }
    } finally {
      await removeTempDir(dir);
    }
  },
};
