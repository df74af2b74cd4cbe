import { quoteValue } from '../quote-value.js';

/** Edit distance between two strings (insert, delete, substitute, each costing 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word`, if it is close enough to be a likely typo: within a
 * third of the word's length (at least 2 edits), differing only in case, or one a
 * shortening of the other (`bool` for `boolean`).
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3));
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === lower ? 0.5 : isAbbreviation(word, c) ? 1 : boundedDistance(word, c, limit);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** No typo is looked for in longer words: an edit distance costs the product of the lengths. */
const MAX_TYPO_LENGTH = 100;

/** editDistance, or Infinity when it is sure to exceed `limit` or the words are too long to compare. */
function boundedDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit || a.length > MAX_TYPO_LENGTH || b.length > MAX_TYPO_LENGTH) return Infinity;
  return editDistance(a, b);
}

/** `; did you mean "exec"?` or nothing. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : `; did you mean ${quoteValue(c)}?`;
}

function isAbbreviation(a: string, b: string): boolean {
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  return short.length >= 3 && long.startsWith(short);
}
