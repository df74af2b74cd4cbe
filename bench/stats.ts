/** Median, p90 and friends of a sample of milliseconds. */
export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
}

export function summarize(ms: number[]): Summary {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => {
    const v = s[Math.min(s.length - 1, Math.floor(q * s.length))];
    if (v === undefined) throw new Error('summarize: no samples');
    return v;
  };
  return { n: s.length, median: at(0.5), p90: at(0.9), min: at(0) };
}

export function fmt(ms: number): string {
  return `${ms.toFixed(2).padStart(8)} ms`;
}

export function row(label: string, s: Summary, floor?: Summary): string {
  const ratio = floor ? `   x${(s.median / floor.median).toFixed(2)} of floor` : '';
  return `${label.padEnd(44)} median ${fmt(s.median)}   p90 ${fmt(s.p90)}   n=${s.n}${ratio}`;
}
