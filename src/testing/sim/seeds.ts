import { Worker } from 'node:worker_threads';
import { ALL_FAULTS, Simulation, SimulationError } from './simulation.js';

/** Which seeds to simulate, and how big each simulation is. */
export interface SeedsJob {
  /** Seeds from, from + stride, from + 2*stride, ... while <= last. */
  from: number;
  last: number;
  stride?: number;
  hosts: number;
  steps: number;
  triggers: number;
}

export interface SeedsResult {
  /** Seeds that kept every invariant. */
  passed: number;
  /** The seed that broke one (or crashed the simulation), with the full report; runs stop there. */
  failure?: { seed: number; message: string };
  /** Sums of each simulation's stats(). */
  totals: Record<string, number>;
}

/** Hears each seed begin and pass. */
export interface SeedListener {
  starting?(seed: number): void;
  passed?(seed: number): void;
}

/** Runs the seeds of `job` one after another in this thread, stopping at the first failure. */
export async function runSeeds(job: SeedsJob, on: SeedListener = {}): Promise<SeedsResult> {
  const result: SeedsResult = { passed: 0, totals: {} };
  for (let seed = job.from; seed <= job.last; seed += job.stride ?? 1) {
    on.starting?.(seed);
    // Only the tail of the trace goes into a report; a whole trace is for `--seed`.
    const sim = new Simulation({ seed, hosts: job.hosts, faults: ALL_FAULTS, traceLimit: 400 });
    try {
      await sim.run({ steps: job.steps, triggers: job.triggers });
      await sim.heal();
      await sim.assertInvariants();
    } catch (err) {
      const message = err instanceof SimulationError ? err.message : `seed ${seed} crashed the simulation: ${stackOf(err)}`;
      result.failure = { seed, message };
      return result;
    }
    result.passed++;
    for (const [k, v] of Object.entries(sim.stats())) result.totals[k] = (result.totals[k] ?? 0) + v;
    on.passed?.(seed);
  }
  return result;
}

/** What a seeds worker posts: a seed begins or passed, or the worker is done. */
export type WorkerNote = { kind: 'starting' | 'passed'; seed: number } | { kind: 'done'; result: SeedsResult };

/**
 * Runs the seeds of `job` in `jobs` worker threads, each taking every jobs-th seed. When one
 * finds a failure the others are stopped; the failure reported is the lowest seed found. A
 * seed that shows no progress for `stallMs` of real time is reported as stuck: a hub that
 * loops without ever yielding holds its thread, and only another thread can tell.
 */
export async function runSeedsInWorkers(job: SeedsJob, jobs: number, on: SeedListener = {}, stallMs = 60_000): Promise<SeedsResult> {
  const stuck: SeedsResult[] = [];
  const workers = Array.from({ length: jobs }, (_, k) => {
    const slice: SeedsJob = { ...job, from: job.from + k, stride: jobs };
    return {
      thread: new Worker(new URL('./seeds-worker.js', import.meta.url), { workerData: slice }),
      seed: slice.from,
      since: performance.now(),
    };
  });
  const stopAll = () => workers.forEach((w) => void w.thread.terminate());
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const w of workers) {
      if (now - w.since >= stallMs)
        stuck.push({ passed: 0, totals: {}, failure: { seed: w.seed, message: stuckMessage(w.seed, job, stallMs) } });
    }
    if (stuck.length > 0) stopAll();
  }, 1_000);
  try {
    const results = await Promise.all(
      workers.map(
        (w) =>
          new Promise<SeedsResult>((resolve, reject) => {
            w.thread.on('message', (note: WorkerNote) => {
              if (note.kind === 'done') {
                resolve(note.result);
                if (note.result.failure) stopAll(); // a failure ends the whole job
                return;
              }
              w.seed = note.seed;
              w.since = performance.now();
              if (note.kind === 'starting') on.starting?.(note.seed);
              else on.passed?.(note.seed);
            });
            w.thread.on('error', (err) => {
              stopAll();
              reject(err);
            });
            // Stopped early: its seeds so far are not counted. A no-op after its result.
            w.thread.on('exit', () => resolve({ passed: 0, totals: {} }));
          }),
      ),
    );
    return merge([...results, ...stuck]);
  } finally {
    clearInterval(watchdog);
  }
}

function merge(results: SeedsResult[]): SeedsResult {
  const merged: SeedsResult = { passed: 0, totals: {} };
  for (const r of results) {
    merged.passed += r.passed;
    for (const [k, v] of Object.entries(r.totals)) merged.totals[k] = (merged.totals[k] ?? 0) + v;
    if (r.failure && (!merged.failure || r.failure.seed < merged.failure.seed)) merged.failure = r.failure;
  }
  return merged;
}

function stuckMessage(seed: number, job: SeedsJob, stallMs: number): string {
  return [
    `simulation seed ${seed} made no progress for ${stallMs / 1000} s of real time: something in it runs`,
    `without ever yielding (a hub loop that feeds itself?), so it has no trace to show.`,
    `replay: npm run sim -- --seed ${seed} --hosts ${job.hosts} --steps ${job.steps} --triggers ${job.triggers}`,
    `(it hangs the same way; \`node --prof\` on it shows where)`,
  ].join('\n');
}

function stackOf(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
