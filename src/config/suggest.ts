import { quoteValue } from '../quote-value.js';

/** Edit distance between two strings (insert, delete, substitute, each costing 1). */
export function editDistance(a: string, b: string): number {
  // One row of the table at a time; `left` and `diag` carry the neighbours a full table would index.
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let distance = b.length;
  for (let i = 0; i < a.length; i++) {
    const row = [i + 1];
    let left = i + 1;
    let diag = i;
    for (const [j, up] of prev.slice(1).entries()) {
      left = Math.min(up + 1, left + 1, diag + (a[i] === b[j] ? 0 : 1));
      diag = up;
      row.push(left);
    }
    prev = row;
    distance = left;
  }
  return distance;
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
