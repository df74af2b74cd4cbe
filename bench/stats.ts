/** Median, p90 and friends of a sample of milliseconds (or any figure). */
export interface Summary {
  n: number;
  median: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
}

/** The value below which a fraction `q` of the sample lies (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return quantileOfSorted(s, q);
}

function quantileOfSorted(s: readonly number[], q: number): number {
  const v = s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  if (v === undefined) throw new Error('summarize: no samples');
  return v;
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    median: quantileOfSorted(s, 0.5),
    p90: quantileOfSorted(s, 0.9),
    p99: quantileOfSorted(s, 0.99),
    min: quantileOfSorted(s, 0),
    max: quantileOfSorted(s, 1),
  };
}

export function fmt(ms: number): string {
  return `${ms.toFixed(2).padStart(8)} ms`;
}

/** One line of `node dist/bench/store.js`'s output. */
export function row(label: string, s: Summary, floor?: Summary): string {
  const ratio = floor ? `   x${(s.median / floor.median).toFixed(2)} of floor` : '';
  return `${label.padEnd(44)} median ${fmt(s.median)}   p90 ${fmt(s.p90)}   n=${s.n}${ratio}`;
}
