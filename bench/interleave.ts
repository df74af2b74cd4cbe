export interface Interleaved {
  floor: number[];
  sample: number[];
}

export interface InterleaveOptions {
  /** Rounds of both whose figures are dropped: JIT, page cache, the first fork of a big heap. */
  warmup: number;
  /** Rounds kept: each one floor then one sample. */
  rounds: number;
  floor: () => Promise<number>;
  sample: () => Promise<number>;
}

/**
 * Floor, sample, floor, sample ... and a closing floor, so every sample sits between two floors:
 * a machine that gets busier or quieter during the run moves both alike (issue 10: measuring the
 * floor once before the runs made ratios swing from 0.77x to 2.25x between three runs).
 */
export async function interleave(o: InterleaveOptions): Promise<Interleaved> {
  for (let i = 0; i < o.warmup; i++) {
    await o.floor();
    await o.sample();
  }
  const out: Interleaved = { floor: [], sample: [] };
  for (let i = 0; i < o.rounds; i++) {
    out.floor.push(await o.floor());
    out.sample.push(await o.sample());
  }
  out.floor.push(await o.floor());
  return out;
}
