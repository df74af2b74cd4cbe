import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunRecord } from '../src/model/run.js';
import { LevelStore } from '../src/store/level.js';
import type { ArchiveQuery } from '../src/store/store.js';
import { row, summarize, type Summary } from './stats.js';

/*
 * Target: a page of the archive costs the same with 100,000 archived runs as with 10,
 * first page or deep, overall or per flow. Run: `node dist/bench/store.js [runs]`.
 */

const REPEATS = 200;

function archivedRun(i: number): RunRecord {
  return {
    ref: { flowRef: { id: i % 2 === 0 ? 'deploy' : 'build', ver: 1 }, run: `h1-${i}` },
    adoptedBy: 'h1',
    status: 'good',
    trigger: { id: 'start', type: 'data', values: { branch: 'main' } },
    createdAt: i,
    nodes: { build: { id: 'build', status: 'good', startTime: i, endTime: i + 1, exitStatus: 0, attempts: 1 } },
  };
}

async function timeMs(fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times;
}

/**
 * Archives `count` runs into a fresh LevelStore, then times pages of it and prints them,
 * as a multiple of `floor` (the same queries on a small archive) when given.
 */
export async function benchListArchive(count: number, floor?: Record<string, Summary>): Promise<Record<string, Summary>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-bench-store-'));
  const store = await LevelStore.open(dir, { sync: false });
  try {
    for (let i = 1; i <= count; i++) await store.archive(archivedRun(i));
    // Archive positions start at 1 in a fresh store, so `before` near 1 is the oldest page.
    // Five to a page: a 10-run archive fills every page too, so the ratio compares like with like.
    const deep = Math.min(count, 101);
    const queries: Record<string, ArchiveQuery> = {
      first: { limit: 5 },
      deep: { limit: 5, before: deep },
      'first, flow': { limit: 5, flow: 'build' },
      'deep, flow': { limit: 5, flow: 'build', before: deep },
    };
    const result: Record<string, Summary> = {};
    for (const [name, q] of Object.entries(queries)) {
      const size = (await store.listArchive(q)).runs.length;
      result[name] = summarize(await timeMs(() => store.listArchive(q)));
      console.log(row(`listArchive ${String(count).padStart(6)} runs, ${name} page (${size})`, result[name], floor?.[name]));
    }
    return result;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const big = Number(process.argv[2] ?? 100_000);
  const small = await benchListArchive(10);
  await benchListArchive(big, small);
}
