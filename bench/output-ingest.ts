import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { getJson, triggerRun } from './api-client.js';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { startCliHost, type CliHost } from './cli-host.js';
import { within } from './deadline.js';
import { EventTap } from './event-tap.js';
import { pipeLinesPerSec } from './floors.js';
import { pick, TOKEN, type BenchContext, type Group } from './group.js';
import { interleave } from './interleave.js';
import { makeRow, type Row } from './row.js';
import { summarize } from './stats.js';

/*
 * One task printing `seq 1 N`: lines per second from the trigger until every line has been
 * streamed to one websocket client and is in the store (the run's last line readable over
 * HTTP). Host RSS before the first run and after the last, once settled.
 */

/** How long a host idles before its RSS is read: 2 s, 1 s in a quick run. */
const settleMs = (ctx: BenchContext): number => pick(ctx, 2_000, 1_000);

/** ms until `check` holds, polling; rejects after `limitMs`. */
async function until(check: () => Promise<boolean>, limitMs: number, what: string): Promise<void> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function lastStoredLine(host: CliHost, flow: string, run: string): Promise<number> {
  const body = (await getJson(`${host.api}/flows/${flow}/runs/${run}?tail=1`, TOKEN)) as {
    payload: { output: { lines: Array<{ n: number }> } };
  };
  return body.payload.output.lines.at(-1)?.n ?? -1;
}

/** Runs `flow` (printing `lines` lines) once: lines per second, stored and streamed. */
async function ingest(host: CliHost, tap: EventTap, flow: string, lines: number): Promise<number> {
  const linesBefore = tap.outputLines;
  const t0 = performance.now();
  const run = await triggerRun(host.api, TOKEN, flow);
  const status = await within(tap.end(run), 600_000, `run ${run} printing ${lines} lines`);
  if (status !== 'good') throw new Error(`run ${run} printing ${lines} lines ended ${status}`);
  // Frames come in seq order, so every line's frame came before the run's end, unless the host
  // dropped this client as too slow.
  const streamed = tap.outputLines - linesBefore;
  if (streamed !== lines) throw new Error(`the websocket client got ${streamed} of ${lines} lines (close code ${tap.closeCode ?? 'none'})`);
  await until(async () => (await lastStoredLine(host, flow, run)) === lines - 1, 60_000, `run ${run}'s last line in the store`);
  return lines / ((performance.now() - t0) / 1000);
}

export const outputIngest: Group = {
  id: 'output',
  rows: [
    { id: 'output-lines', measure: 'output ingest, one task printing 1,000,000 lines' },
    { id: 'output-rss', measure: 'host RSS after the output runs' },
  ],
  async run(ctx: BenchContext): Promise<Row[]> {
    const lines = pick(ctx, 1_000_000, 20_000);
    const rounds = 1;
    const dir = await makeTempDir('output');
    try {
      await writeFile(
        path.join(dir, 'floe.yml'),
        [
          'common: { store-type: local }',
          'flows:',
          '  - id: print',
          '    triggers: [{ name: start, type: data }]',
          `    tasks: [{ id: t0, listen: trigger.good, type: exec, opts: { cmd: 'seq 1 ${lines}' } }]`,
          '  - id: warm',
          '    triggers: [{ name: start, type: data }]',
          "    tasks: [{ id: t0, listen: trigger.good, type: exec, opts: { cmd: 'seq 1 1000' } }]",
          '',
        ].join('\n'),
      );
      const host = await startCliHost({ dir, token: TOKEN });
      try {
        const tap = await EventTap.connect(host.ws, TOKEN);
        try {
          await ingest(host, tap, 'warm', 1000);
          await new Promise((r) => setTimeout(r, settleMs(ctx)));
          const rssBefore = host.rssMb();
          ctx.say(`output: ${rounds} run(s) printing ${lines.toLocaleString('en')} lines, between floors`);
          const r = await interleave({
            warmup: 0,
            rounds,
            floor: () => pipeLinesPerSec(lines),
            sample: () => ingest(host, tap, 'print', lines),
          });
          await new Promise((r) => setTimeout(r, settleMs(ctx)));
          const rssAfter = host.rssMb();
          const s = summarize(r.sample);
          const atTargetScale = lines === 1_000_000;
          return [
            makeRow({
              id: 'output-lines',
              measure: `output ingest, one task printing ${lines.toLocaleString('en')} lines (stored and streamed to 1 client)`,
              unit: 'lines/s',
              value: s.median,
              floor: summarize(r.floor).median,
              floorWhat: `node reads seq 1 ${lines} from a pipe`,
              target: '>= 500,000 lines/s',
              meets: s.median >= 500_000,
              atTargetScale,
              n: s.n,
            }),
            makeRow({
              id: 'output-rss',
              measure: 'host RSS after those runs, settled',
              unit: 'MB',
              value: rssAfter,
              floor: rssBefore,
              floorWhat: 'host RSS before them',
              target: '<= floor + 20 MB',
              meets: rssAfter - rssBefore <= 20,
              atTargetScale,
              n: 1,
              extra: { peakRssMb: host.peakRssMb() },
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
