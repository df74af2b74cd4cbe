/** Times are counted in 1 ms buckets up to this; slower ones land in the last. */
export const MAX_MS = 600_000;

/** Quantiles of a histogram, ms. */
export interface Quantiles {
  p50: number;
  p99: number;
  max: number;
}

/** A histogram's non-empty buckets, [ms, count], for a message between threads (2.4 MB whole). */
export type SparseCounts = Array<[number, number]>;

/** Counts of times in 1 ms buckets: 100 clients x 400,000 lines would not fit a list. */
export class Histogram {
  private readonly counts = new Uint32Array(MAX_MS + 1);
  private total = 0;

  /** One histogram holding the counts of all `parts`. */
  static merged(parts: readonly SparseCounts[]): Histogram {
    const h = new Histogram();
    for (const part of parts) for (const [ms, n] of part) h.add(ms, n);
    return h;
  }

  /** Counts `times` times of `ms`. */
  add(ms: number, times = 1): void {
    if (!Number.isFinite(ms)) return;
    this.counts[Math.min(MAX_MS, Math.max(0, Math.round(ms)))]! += times;
    this.total += times;
  }

  sparse(): SparseCounts {
    const out: SparseCounts = [];
    for (let ms = 0; ms < this.counts.length; ms++) if (this.counts[ms]! > 0) out.push([ms, this.counts[ms]!]);
    return out;
  }

  quantiles(): Quantiles {
    return { p50: this.at(0.5), p99: this.at(0.99), max: this.at(1) };
  }

  private at(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let ms = 0; ms < this.counts.length; ms++) {
      seen += this.counts[ms]!;
      if (seen >= rank) return ms;
    }
    return MAX_MS;
  }
}
