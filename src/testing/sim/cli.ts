import { availableParallelism } from 'node:os';
import { runSeedsInWorkers, type SeedsJob } from './seeds.js';
import { ALL_FAULTS, Simulation, SimulationError } from './simulation.js';

/** Defaults of `npm run sim`; the test suite uses the same. */
export const SIM_DEFAULTS = { hosts: 3, steps: 600, triggers: 40 };

const USAGE = `usage: npm run sim -- [--seeds N [--from F] [--jobs J] | --seed S] [--hosts H] [--steps N] [--triggers T]
  --seeds N     run seeds F..F+N-1 (default F=1, N=100); stop at the first that breaks an invariant
  --jobs J      worker threads for --seeds (default: one per CPU)
  --seed S      run seed S alone and print its whole trace
  --hosts H     hosts in the cluster (default ${SIM_DEFAULTS.hosts})
  --steps N     schedule steps of 1-20 ms each (default ${SIM_DEFAULTS.steps})
  --triggers T  triggers spread over the steps (default ${SIM_DEFAULTS.triggers})`;

interface Args {
  seeds: number;
  from: number;
  jobs: number;
  seed?: number;
  hosts: number;
  steps: number;
  triggers: number;
}

/** What the command prints to; a test passes its own. */
export interface Out {
  log(line: string): void;
  error(line: string): void;
}

const stdio: Out = {
  log: (line) => process.stdout.write(`${line}\n`),
  error: (line) => process.stderr.write(`${line}\n`),
};

/**
 * Runs the cluster simulation over many seeds, or one seed with its trace. Returns the exit
 * status: 0 when every seed kept the invariants, 1 at the first that did not, 2 for bad flags.
 */
export async function main(argv: string[], out: Out = stdio): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    out.error(`sim: ${args}\n${USAGE}`);
    return 2;
  }
  if (args.seed !== undefined) return runOne(args.seed, args, out);
  const started = performance.now();
  const job: SeedsJob = {
    from: args.from,
    last: args.from + args.seeds - 1,
    hosts: args.hosts,
    steps: args.steps,
    triggers: args.triggers,
  };
  let passed = 0;
  let lastReport = started;
  // Progress at most every 2 s of real time, so long runs show they are alive.
  const onSeed = () => {
    passed++;
    const now = performance.now();
    if (now - lastReport < 2_000) return;
    lastReport = now;
    out.log(`${passed} of ${args.seeds} seeds passed (${seconds(now - started)})`);
  };
  const jobs = Math.min(args.jobs, args.seeds);
  // Always in workers, even one: a seed that never yields is then reported instead of hanging us.
  const result = await runSeedsInWorkers(job, jobs, { passed: onSeed });
  if (result.failure) {
    out.error(result.failure.message);
    out.error(`FAILED at seed ${result.failure.seed} (${passed} other seeds passed)`);
    return 1;
  }
  out.log(
    `${args.seeds} seeds (${job.from}..${job.last}) kept every invariant: ${plural(args.hosts, 'host')}, ${args.steps} steps, ` +
      `${args.triggers} triggers each, ${plural(jobs, 'job')}, in ${seconds(performance.now() - started)}`,
  );
  out.log(
    `totals: ${Object.entries(result.totals)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  return 0;
}

async function runOne(seed: number, args: Args, out: Out): Promise<number> {
  const sim = new Simulation({ seed, hosts: args.hosts, faults: ALL_FAULTS });
  let failure: unknown;
  try {
    await sim.run({ steps: args.steps, triggers: args.triggers });
    await sim.heal();
    await sim.assertInvariants();
  } catch (err) {
    failure = err;
  }
  for (const line of sim.trace.lines()) out.log(line);
  out.log(
    `stats: ${Object.entries(sim.stats())
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  if (failure === undefined) {
    out.log(`seed ${seed} kept every invariant`);
    return 0;
  }
  if (failure instanceof SimulationError) out.error(`seed ${seed} FAILED:\n  ${failure.problems.join('\n  ')}`);
  else out.error(`seed ${seed} crashed the simulation: ${stackOf(failure)}`);
  return 1;
}

function parseArgs(argv: string[]): Args | string {
  const args: Args = { seeds: 100, from: 1, jobs: availableParallelism(), ...SIM_DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(seeds|from|jobs|seed|hosts|steps|triggers)(?:=(.*))?$/.exec(argv[i] ?? '');
    if (!m) return `unknown argument ${argv[i]}`;
    const name = m[1] as keyof Args;
    const raw = m[2] ?? argv[++i];
    if (raw === undefined || !/^\d+$/.test(raw)) return `--${name} needs a whole number`;
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) return `--${name} is too large`;
    if ((name === 'seeds' || name === 'hosts' || name === 'jobs') && n < 1) return `--${name} must be at least 1`;
    args[name] = n;
  }
  if (args.triggers > args.steps) return `--triggers (${args.triggers}) cannot exceed --steps (${args.steps})`;
  return args;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function stackOf(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
