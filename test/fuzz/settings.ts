/**
 * How many cases a property-based fuzz test tries, and from which seed. `npm test` uses the
 * fixed defaults so a failure replays exactly; `npm run fuzz -- --runs N [--seed S]` sets
 * FLOE_FUZZ_RUNS / FLOE_FUZZ_SEED for long runs. fast-check prints the seed and path of a
 * failing case; pass them back with --seed to replay it.
 */
export interface FuzzParams {
  seed: number;
  numRuns: number;
}

/** Parameters for one fuzz property; `runs` is its default size in `npm test`. */
export function fuzzParams(runs: number): FuzzParams {
  const envRuns = Number(process.env.FLOE_FUZZ_RUNS);
  const envSeed = Number(process.env.FLOE_FUZZ_SEED);
  return {
    numRuns: Number.isInteger(envRuns) && envRuns > 0 ? envRuns : runs,
    seed: Number.isInteger(envSeed) ? envSeed : 0x5eed,
  };
}
