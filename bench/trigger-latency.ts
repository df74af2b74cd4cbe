import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { triggerRun } from './api-client.js';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { startCliHost } from './cli-host.js';
import { within } from './deadline.js';
import { EventTap } from './event-tap.js';
import { dateLineMs, spawnShDate, wallNowMs } from './floors.js';
import { pick, TOKEN, type BenchContext, type Group } from './group.js';
import { interleave, type Interleaved } from './interleave.js';
import { makeRow, type Row } from './row.js';
import { summarize } from './stats.js';

/*
 * Trigger -> the task's first instruction. The task is `date +%s%N` run by `sh -c`, as the
 * floor is: the time it prints, less the wall time just before the trigger was sent, is how
 * long floe took to get a process of the task running. The floor is Node spawning the same
 * `sh -c 'date +%s%N'` and seeing it exit (issue 10's "floor of sh -c date").
 */

/** A flow whose one task prints the time it starts. */
export const DATE_TASK = "[{ id: t0, listen: trigger.good, type: exec, opts: { shell: 'date +%s%N' } }]";

/** POST a trigger of `flow` to `api`; ms until the task printed its time, as heard on `tap`. */
export async function triggerToFirstInstruction(api: string, flow: string, tap: EventTap): Promise<number> {
  const wall0 = wallNowMs();
  const run = await triggerRun(api, TOKEN, flow);
  const line = await within(tap.firstLine(run), 60_000, `run ${run}'s first output line`);
  const status = await within(tap.end(run), 60_000, `run ${run}'s end`);
  if (status !== 'good') throw new Error(`run ${run} of ${flow} ended ${status}`);
  return dateLineMs(line) - wall0;
}

/** Interleaves `sample` with the sh -c date floor; the floor's own first-instruction times go in `firstMs`. */
export async function againstShDate(
  warmup: number,
  rounds: number,
  sample: () => Promise<number>,
): Promise<Interleaved & { firstMs: number[] }> {
  const firstMs: number[] = [];
  const r = await interleave({
    warmup,
    rounds,
    floor: async () => {
      const f = await spawnShDate();
      firstMs.push(f.firstMs);
      return f.ms;
    },
    sample,
  });
  return { ...r, firstMs };
}

/** The row of a trigger latency, judged against `limit` times the floor. */
export function triggerRow(id: string, measure: string, r: Interleaved & { firstMs: number[] }, limit: number): Row {
  const s = summarize(r.sample);
  const floor = summarize(r.floor).median;
  return makeRow({
    id,
    measure,
    unit: 'ms',
    value: s.median,
    p90: s.p90,
    floor,
    floorWhat: 'node spawns sh -c date, to its exit',
    target: `<= ${limit}x floor`,
    meets: s.median / floor <= limit,
    atTargetScale: true,
    n: s.n,
    extra: { floorToDateRunningMs: summarize(r.firstMs).median },
  });
}

export const triggerHttp: Group = {
  id: 'trigger-http',
  rows: [{ id: 'trigger-http', measure: "trigger over HTTP -> task's first instruction" }],
  async run(ctx: BenchContext): Promise<Row[]> {
    const rounds = pick(ctx, 40, 5);
    const dir = await makeTempDir('trigger');
    try {
      await writeFile(
        path.join(dir, 'floe.yml'),
        `common: { store-type: local }\nflows:\n  - id: date\n    triggers: [{ name: start, type: data }]\n    tasks: ${DATE_TASK}\n`,
      );
      const host = await startCliHost({ dir, token: TOKEN });
      try {
        const tap = await EventTap.connect(host.ws, TOKEN, { firstLines: true });
        try {
          ctx.say(`trigger-http: ${rounds} triggers over HTTP, each beside a floor`);
          const r = await againstShDate(pick(ctx, 5, 2), rounds, () => triggerToFirstInstruction(host.api, 'date', tap));
          return [triggerRow('trigger-http', "trigger over HTTP -> task's first instruction", r, 1.3)];
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
