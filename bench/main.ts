// npm run bench: every measure of issue 10's target table, each beside its floor, in one table;
// also written, with the machine, to bench/results.json. `--quick` runs them all with small
// counts (the test suite does, so they never rot); `--only a,b` runs some; `--out FILE` writes
// the results elsewhere.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { closeConnections } from './api-client.js';
import { archive } from './archive.js';
import { chain20, chainLong } from './chain.js';
import { cleanUpOnExit } from './cleanup.js';
import { cluster } from './cluster.js';
import type { BenchContext, Group } from './group.js';
import { describeMachine } from './machine.js';
import { outputIngest } from './output-ingest.js';
import { errorRow, type Row } from './row.js';
import { runsAndMemory } from './runs-and-memory.js';
import { renderTable } from './table.js';
import { triggerHttp } from './trigger-latency.js';
import { wsFanout } from './ws-fanout.js';

const GROUPS: readonly Group[] = [chain20, chainLong, triggerHttp, cluster, outputIngest, runsAndMemory, archive, wsFanout];

const USAGE = `usage: node dist/bench/main.js [--quick] [--only ID,...] [--out FILE]
  --quick   small counts: every measure runs, verdicts of changed counts are info
  --only    groups or rows to run: ${GROUPS.map((g) => `${g.id} (${g.rows.map((r) => r.id).join(', ')})`).join('; ')}
  --out     where to write the results (default bench/results.json)
`;

/** The groups `--only` names, by their id or one of their rows' ids; throws naming what is unknown. */
function selectGroups(only: string | undefined): Group[] {
  if (only === undefined) return [...GROUPS];
  const wanted = new Set(
    only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const known = (g: Group, id: string): boolean => g.id === id || g.rows.some((r) => r.id === id);
  const unknown = [...wanted].filter((id) => !GROUPS.some((g) => known(g, id)));
  if (unknown.length > 0) throw new Error(`--only: no measure ${unknown.join(', ')}`);
  return GROUPS.filter((g) => [...wanted].some((id) => known(g, id)));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let groups: Group[];
  try {
    groups = selectGroups(values.only);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const out = path.resolve(values.out ?? fileURLToPath(new URL('../../bench/results.json', import.meta.url)));
  cleanUpOnExit();
  const t0 = performance.now();
  const ctx: BenchContext = {
    quick: values.quick ?? false,
    say: (message) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}\n`),
  };
  const machine = await describeMachine();
  ctx.say(
    `floe bench${ctx.quick ? ' --quick' : ''}: ${machine.cores} cores, node ${machine.node}, load ${machine.loadAverageStart.join(' ')}`,
  );
  const rows: Row[] = [];
  const seconds: Record<string, number> = {};
  for (const g of groups) {
    const g0 = performance.now();
    try {
      rows.push(...(await g.run(ctx)));
    } catch (err) {
      ctx.say(`${g.id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      rows.push(...g.rows.map((r) => errorRow(r.id, r.measure, err)));
    }
    seconds[g.id] = Math.round((performance.now() - g0) / 100) / 10;
  }
  closeConnections();
  machine.loadAverageEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const title = `floe bench${ctx.quick ? ' --quick (small counts)' : ''}, ${machine.date.slice(0, 10)}: ${machine.cores} cores, ${machine.totalMemoryMb} MB, node ${machine.node}, load ${machine.loadAverageStart.join(' ')} -> ${machine.loadAverageEnd.join(' ')}`;
  process.stdout.write(`${title}\n\n${renderTable(rows)}\n`);
  await mkdir(path.dirname(out), { recursive: true });
  const results = { quick: ctx.quick, machine, seconds, totalSeconds: Math.round((performance.now() - t0) / 1000), rows };
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  ctx.say(`results in ${out}`);
  return rows.some((r) => r.verdict === 'error') ? 1 : 0;
}

const code = await main();
process.exitCode = code;
// Everything is closed by now; should a stray handle keep the process alive, it still ends.
setTimeout(() => process.exit(code), 5_000).unref();
