import { parentPort, workerData } from 'node:worker_threads';
import { runSeeds, type SeedsJob, type WorkerNote } from './seeds.js';

// One thread of runSeedsInWorkers: runs its slice of the seeds and posts each start, each pass
// and the result.
const post = (note: WorkerNote) => parentPort?.postMessage(note);
const result = await runSeeds(workerData as SeedsJob, {
  starting: (seed) => post({ kind: 'starting', seed }),
  passed: (seed) => post({ kind: 'passed', seed }),
});
post({ kind: 'done', result });
